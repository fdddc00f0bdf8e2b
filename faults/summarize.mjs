// Collects faults/results/*.json into faults/results/summary.json and prints the figures as a
// Markdown table (the one in docs/reliability.md).
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const dir = join(import.meta.dirname, "results");
const results = readdirSync(dir)
  .filter((f) => f.endsWith(".json") && f !== "summary.json")
  .map((f) => JSON.parse(readFileSync(join(dir, f), "utf8")));
const leaks = results.reduce((n, r) => n + (r.secretScan?.found?.length ?? 0), 0);
const scanned = results.reduce((n, r) => n + (r.secretScan?.bytesScanned ?? 0), 0);
writeFileSync(
  join(dir, "summary.json"),
  `${JSON.stringify({ date: new Date().toISOString(), scenarios: results.length, secretLeaks: leaks, bytesScanned: scanned, results }, null, 2)}\n`,
);
const cell = (v) => (typeof v === "object" ? JSON.stringify(v) : String(v));
console.log("| scenario | figures | secrets found |");
console.log("| --- | --- | --- |");
for (const r of results) {
  const figures = Object.entries(r.figures ?? {})
    .map(([k, v]) => `${k}: ${cell(v)}`)
    .join("; ");
  console.log(
    `| ${r.scenario} | ${figures} | ${r.secretScan === undefined ? "n/a" : r.secretScan.found.length} |`,
  );
}
console.log(`\nsecret scan: ${leaks} found in ${scanned} bytes of agent logs and cloud requests`);
