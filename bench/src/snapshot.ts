/**
 * Before/after in one run: `npm run bench -- snapshot` copies the built core, provider-mock and agent into a
 * folder; the system `virtual-node-before` runs that copy while `virtual-node` runs the working tree, so both
 * share the control plane, the rounds and the machine's load. The copy resolves `@virtual-node/*` from its own
 * `node_modules` and every other dependency from the repository's.
 */
import { cp, mkdir, rm, stat, writeFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");

/** The agent entry point inside a snapshot folder. */
export const snapshotAgent = (dir: string): string => join(dir, "vn-agent.js");

const PACKAGES = [
  ["packages/core", "@virtual-node/core"],
  ["packages/provider-mock", "@virtual-node/provider-mock"],
] as const;

/** Copies the current builds (run `npm run build` first) into `dir`, replacing what was there. */
export async function writeSnapshot(dir: string, note: string): Promise<void> {
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
