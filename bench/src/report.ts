/** Medians per system, ratios of virtual-node against each peer, terminal tables and the chart. */
import type { ScenarioId, SystemId } from "./options.js";
import { requestsPer, type ControlPlaneConfig, type RunResult } from "./scenarios.js";
import { median, round } from "./stats.js";
import { lineChartSvg, type Series } from "./svg.js";

interface MetricSpec {
  readonly key: string;
  readonly label: string;
  /** Whether a larger value is better (throughput) or worse (cost, latency). */
  readonly better: "higher" | "lower" | "none";
}

export const SCENARIO_METRICS: Readonly<Record<ScenarioId, readonly MetricSpec[]>> = {
  churn: [
    { key: "readyPodsPerSecond", label: "Ready pods/s", better: "higher" },
    { key: "gonePodsPerSecond", label: "gone pods/s", better: "higher" },
    { key: "readySeconds", label: "all Ready s", better: "lower" },
    { key: "goneSeconds", label: "all gone s", better: "lower" },
    { key: "cpuMsPerPod", label: "CPU ms/pod", better: "lower" },
    { key: "peakRssMiB", label: "peak RSS MiB", better: "lower" },
    { key: "writesPerPod", label: "writes/pod", better: "lower" },
    { key: "requestsPerPod", label: "requests/pod", better: "lower" },
  ],
  latency: [
    { key: "latencyP50Ms", label: "p50 ms", better: "lower" },
    { key: "latencyP99Ms", label: "p99 ms", better: "lower" },
    { key: "cpuMsPerPod", label: "CPU ms/pod", better: "lower" },
    { key: "cpuCores", label: "CPU cores", better: "lower" },
    { key: "peakRssMiB", label: "peak RSS MiB", better: "lower" },
    { key: "requestsPerPod", label: "requests/pod", better: "lower" },
  ],
  scale: [
    { key: "readyFraction", label: "Ready share", better: "higher" },
    { key: "readyPodsPerSecond", label: "Ready pods/s", better: "higher" },
    { key: "steadyCpuCores", label: "steady CPU cores", better: "lower" },
    { key: "steadyRssMiB", label: "steady RSS MiB", better: "lower" },
    { key: "peakRssMiB", label: "peak RSS MiB", better: "lower" },
  ],
  fleet: [
    { key: "nodes", label: "nodes", better: "none" },
    { key: "startupSeconds", label: "nodes Ready s", better: "lower" },
    { key: "readyPodsPerSecond", label: "Ready pods/s", better: "higher" },
    { key: "gonePodsPerSecond", label: "gone pods/s", better: "higher" },
    { key: "cpuMsPerPod", label: "CPU ms/pod", better: "lower" },
    { key: "cpuCores", label: "CPU cores", better: "lower" },
    { key: "peakRssMiB", label: "peak RSS MiB", better: "lower" },
    { key: "lateRenewals", label: "late renewals", better: "lower" },
    { key: "expiredLeases", label: "expired", better: "lower" },
    { key: "requestsPerPod", label: "requests/pod", better: "lower" },
  ],
  "cloud-calls": [
    { key: "readyFraction", label: "Ready share", better: "higher" },
    { key: "readsPerPodPerMinute", label: "reads/pod/min", better: "lower" },
    { key: "fewerTimes", label: "× fewer than upstream", better: "higher" },
    { key: "writesInWindow", label: "writes in window", better: "lower" },
  ],
  "many-nodes": [
    { key: "nodes", label: "nodes", better: "none" },
    { key: "processes", label: "processes", better: "none" },
    { key: "startupSeconds", label: "all Ready s", better: "lower" },
    { key: "lateRenewals", label: "late renewals", better: "lower" },
    { key: "expiredLeases", label: "expired", better: "lower" },
    { key: "cpuSecondsPerNodeMinute", label: "CPU s/node-min", better: "lower" },
    { key: "rssMiBPerNode", label: "RSS MiB/node", better: "lower" },
    { key: "peakRssMiB", label: "peak RSS MiB", better: "lower" },
    { key: "requestsPerNodeMinute", label: "req/node-min", better: "lower" },
  ],
};

const WRITE_VERBS = ["POST", "PUT", "PATCH", "DELETE", "APPLY"];

export function metricValue(run: RunResult, key: string): number {
  switch (key) {
    case "peakRssMiB":
      return run.peakRssMiB;
    case "nodes":
      return run.nodes;
    case "processes":
      return run.processes;
    case "writesPerPod":
    case "requestsPerPod": {
      if (run.pods <= 0) return Number.NaN;
      const entries = Object.entries(run.apiRequests).filter(
        ([k]) => key === "requestsPerPod" || WRITE_VERBS.includes(k.split(" ")[0] ?? ""),
      );
      return round(entries.reduce((a, [, v]) => a + v, 0) / run.pods, 3);
    }
    default:
      return run.metrics[key] ?? Number.NaN;
  }
}

export interface SystemSummary {
  readonly system: SystemId;
  readonly ok: number;
  readonly failed: number;
  readonly medians: Record<string, number>;
  /** Median per-pod (or per node-minute) requests by "VERB resource". */
  readonly requests: Record<string, number>;
  readonly errors: readonly string[];
}

export interface ScenarioSummary {
  readonly config: ControlPlaneConfig;
  readonly scenario: ScenarioId;
  readonly systems: readonly SystemSummary[];
  /** virtual-node ÷ peer, per metric. */
  readonly ratios: Record<string, Record<string, number>>;
}

export function summarize(runs: readonly RunResult[], systems: readonly SystemId[]): ScenarioSummary[] {
  const out: ScenarioSummary[] = [];
  const keys = [...new Set(runs.map((r) => `${r.config}|${r.scenario}`))];
  for (const key of keys) {
    const [config, scenario] = key.split("|") as [ControlPlaneConfig, ScenarioId];
    const specs = SCENARIO_METRICS[scenario];
    const summaries: SystemSummary[] = systems.map((system) => {
      const mine = runs.filter((r) => r.config === config && r.scenario === scenario && r.system === system);
      const ok = mine.filter((r) => r.ok);
      const medians = Object.fromEntries(
        specs.map((s) => [s.key, round(median(ok.map((r) => metricValue(r, s.key))), 3)]),
      );
      const perRun = ok.map(requestsPer);
      const requestKeys = [...new Set(perRun.flatMap((r) => Object.keys(r)))];
      const requests = Object.fromEntries(
        requestKeys
          .map((k) => [k, round(median(perRun.map((r) => r[k] ?? 0)), 3)] as const)
          .filter(([, v]) => v > 0)
          .sort((a, b) => b[1] - a[1]),
      );
      return {
        system,
        ok: ok.length,
        failed: mine.length - ok.length,
        medians,
        requests,
        errors: mine.filter((r) => !r.ok).map((r) => r.error ?? "failed"),
      };
    });
    const vn = summaries.find((s) => s.system === "virtual-node");
    const ratios: Record<string, Record<string, number>> = {};
    if (vn) {
      for (const peer of summaries.filter((s) => s.system !== "virtual-node")) {
        ratios[peer.system] = Object.fromEntries(
          specs
            .filter((s) => s.better !== "none")
            .map((s) => [
              s.key,
              round((vn.medians[s.key] ?? Number.NaN) / (peer.medians[s.key] ?? Number.NaN), 2),
            ]),
        );
      }
    }
    out.push({ config, scenario, systems: summaries, ratios });
  }
  return out;
}

export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0)))
      .join("  ")
      .trimEnd();
  return [line(header), widths.map((w) => "-".repeat(w)).join("  "), ...rows.map(line)].join("\n");
}

const show = (v: number | undefined): string =>
  v === undefined || !Number.isFinite(v)
    ? "—"
    : Math.abs(v) >= 100
      ? String(Math.round(v))
      : String(round(v, 2));

export function formatSummaries(summaries: readonly ScenarioSummary[]): string {
  const blocks: string[] = [];
  for (const s of summaries) {
    const specs = SCENARIO_METRICS[s.scenario];
    const rounds = Math.max(...s.systems.map((x) => x.ok + x.failed));
    blocks.push(
      `\n== ${s.scenario} (server-side request limits ${s.config === "limits-off" ? "off" : "on"}; medians of ${rounds} round(s)) ==`,
    );
    blocks.push(
      table(
        ["system", ...specs.map((m) => m.label), "ok"],
        s.systems.map((x) => [
          x.system,
          ...specs.map((m) => show(x.medians[m.key])),
          `${x.ok}/${x.ok + x.failed}`,
        ]),
      ),
    );
    const ratioRows = Object.entries(s.ratios).map(([peer, r]) => [
      `virtual-node ÷ ${peer}`,
      ...specs.map((m) => (m.better === "none" ? "" : `${show(r[m.key])}×`)),
      "",
    ]);
    if (ratioRows.length > 0) {
      blocks.push(
        table(
          ["ratio (higher-is-better: >1 wins; costs: <1 wins)", ...specs.map((m) => m.label), ""],
          ratioRows,
        ),
      );
    }
    for (const x of s.systems) {
      const top = Object.entries(x.requests)
        .slice(0, 8)
        .map(([k, v]) => `${k} ${v}`)
        .join(", ");
      if (top !== "")
        blocks.push(
          `  ${x.system} API requests per ${s.scenario === "many-nodes" ? "node-minute" : "pod"}: ${top}`,
        );
      for (const e of x.errors) blocks.push(`  ${x.system} FAILED: ${e.split("\n")[0] ?? ""}`);
    }
  }
  return blocks.join("\n");
}

export const SYSTEM_COLORS: Readonly<Record<SystemId, string>> = {
  "virtual-node": "#1f77b4",
  "virtual-node-before": "#9ecae1",
  "virtual-kubelet": "#d62728",
  kwok: "#2ca02c",
  "raw-writer": "#7f7f7f",
};

/** Pods Ready over time in the churn scenario (limits off): the median round of each system. */
export function readyChart(
  runs: readonly RunResult[],
  systems: readonly SystemId[],
  subtitle: string,
): string | undefined {
  const series: Series[] = [];
  for (const system of systems) {
    const mine = runs
      .filter(
        (r) =>
          r.ok && r.scenario === "churn" && r.config === "limits-off" && r.system === system && r.readyCurve,
      )
      .sort((a, b) => (a.metrics.readySeconds ?? 0) - (b.metrics.readySeconds ?? 0));
    const mid = mine[Math.floor((mine.length - 1) / 2)];
    if (mid?.readyCurve) series.push({ name: system, color: SYSTEM_COLORS[system], points: mid.readyCurve });
  }
  if (series.length === 0) return undefined;
  return lineChartSvg({
    title: "Churn: pods Ready over time (median round per system)",
    subtitle,
    xLabel: "seconds since the load process sent its first create",
    yLabel: "pods Ready (observed by a watch)",
    series,
  });
}
