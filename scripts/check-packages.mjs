// publint and attw (are-the-types-wrong) on every published workspace package.
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";

const root = JSON.parse(readFileSync("package.json", "utf8"));
let failed = false;
for (const dir of root.workspaces) {
  const pkg = JSON.parse(readFileSync(`${dir}/package.json`, "utf8"));
  if (pkg.private) continue;
  for (const [cmd, args] of [
    ["publint", ["--strict", dir]],
    ["attw", ["--pack", dir, "--profile", "esm-only", "--format", "table-flipped"]],
  ]) {
    try {
      execFileSync("npx", ["--no-install", cmd, ...args], { stdio: "inherit" });
    } catch {
      console.error(`${cmd} failed for ${pkg.name}`);
      failed = true;
    }
  }
}
process.exit(failed ? 1 : 0);
