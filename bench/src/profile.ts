/** Reads V8 `.cpuprofile` files (`node --cpu-prof`) and ranks where the time went. */
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";

interface CpuProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: CpuProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileSummary {
  readonly totalMs: number;
  /** Self time by script (package dist file, or a `(program)`-like pseudo frame). */
  readonly byFile: readonly [string, number][];
  /** Self time by function. */
  readonly bySelf: readonly [string, number][];
  /** Inclusive time by function (each sample counted once per function on its stack). */
  readonly byTotal: readonly [string, number][];
}

const shortUrl = (url: string): string =>
  url
    .replace(/^file:\/\/.*?\/node_modules\//, "")
    .replace(/^file:\/\/.*?\/(packages|bench)\//, "$1/")
    .replace(/chunk-[A-Za-z0-9]+\.js/, "chunk.js");

export function summarizeCpuProfile(profile: CpuProfile, top = 25): ProfileSummary {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const self = new Map<number, number>();
  profile.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
  const label = (n: CpuProfileNode): string =>
    `${n.callFrame.functionName || "(anonymous)"} ${shortUrl(n.callFrame.url)}:${n.callFrame.lineNumber + 1}`;
  const byFile = new Map<string, number>();
  const bySelf = new Map<string, number>();
  const byTotal = new Map<string, number>();
  let total = 0;
  for (const [id, us] of self) {
    const n = byId.get(id);
    if (n === undefined) continue;
    total += us;
    const file = shortUrl(n.callFrame.url) || `(${n.callFrame.functionName})`;
    byFile.set(file, (byFile.get(file) ?? 0) + us);
    bySelf.set(label(n), (bySelf.get(label(n)) ?? 0) + us);
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const node = byId.get(cur);
      if (node === undefined) break;
      const key = label(node);
      if (seen.has(key)) continue;
      seen.add(key);
      byTotal.set(key, (byTotal.get(key) ?? 0) + us);
    }
  }
  const rank = (m: Map<string, number>): [string, number][] =>
    [...m]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([k, v]) => [k, Math.round(v / 100) / 10]);
  return {
    totalMs: Math.round(total / 1000),
    byFile: rank(byFile),
    bySelf: rank(bySelf),
    byTotal: rank(byTotal),
  };
}

/** Summaries of every `.cpuprofile` in `dir`, formatted for the terminal. */
export async function formatProfiles(dir: string, top = 15): Promise<string> {
  const files = (await readdir(dir).catch(() => [] as string[])).filter((f) => f.endsWith(".cpuprofile"));
  const blocks: string[] = [];
  for (const f of files.sort()) {
    const s = summarizeCpuProfile(JSON.parse(await readFile(join(dir, f), "utf8")) as CpuProfile, top);
    const pct = (ms: number): string => `${((100 * ms) / Math.max(1, s.totalMs)).toFixed(1).padStart(5)}%`;
    const lines = (rows: readonly [string, number][]): string =>
      rows.map(([k, ms]) => `  ${String(Math.round(ms)).padStart(7)} ms ${pct(ms)}  ${k}`).join("\n");
    blocks.push(
      `${f}: ${s.totalMs} ms sampled`,
      "self time by file:",
      lines(s.byFile.slice(0, 8)),
      "self time by function:",
      lines(s.bySelf),
      "inclusive time by function:",
      lines(s.byTotal),
    );
  }
  return blocks.join("\n");
}
