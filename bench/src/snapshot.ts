/**
 * Before/after in one run: `npm run bench -- snapshot` copies the built core, provider-mock and agent into a
 * folder; the system `virtual-node-before` runs that copy while `virtual-node` runs the working tree, so both
 * share the control plane, the rounds and the machine's load. The copy resolves `@virtual-node/*` from its own
 * `node_modules` and every other dependency from the repository's.
 */
import { cp, mkdir, rm, stat, writeFile } from "node:fs/promises";
import { dirname, isAbsolute, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** The repository (bench/src or bench/dist → two levels up). */
export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");

/** The agent entry point inside a snapshot folder. */
export const snapshotAgent = (dir: string): string => join(dir, "vn-agent.js");

const PACKAGES = [
  ["packages/core", "@virtual-node/core"],
  ["packages/provider-mock", "@virtual-node/provider-mock"],
] as const;

/**
 * Copies the current builds (run `npm run build` first) into `dir`, replacing what was there. `dir` must be
 * inside the repository: the copy finds its other dependencies in the repository's `node_modules`.
 */
export async function writeSnapshot(dir: string, note: string): Promise<void> {
  const inside = relative(repoRoot, resolve(dir));
  if (inside.startsWith("..") || isAbsolute(inside)) {
    throw new Error(`snapshot folder ${dir} must be inside ${repoRoot} (dependencies resolve from there)`);
  }
  const agent = join(repoRoot, "bench", "dist", "children", "vn-agent.js");
  await stat(agent);
  await rm(dir, { recursive: true, force: true });
  for (const [from, name] of PACKAGES) {
    const to = join(dir, "node_modules", name);
    await mkdir(to, { recursive: true });
    await cp(join(repoRoot, from, "package.json"), join(to, "package.json"));
    await cp(join(repoRoot, from, "dist"), join(to, "dist"), { recursive: true });
  }
  await cp(agent, snapshotAgent(dir));
  await writeFile(join(dir, "SOURCE"), `${note}\n`);
}
