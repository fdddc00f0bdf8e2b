/**
 * The cloud-calls scenario's pure half: which providers, what upstream does, which simulator operations
 * are reads, and the figures from two tallies of the simulator's request log (window start, window end).
 */
import { round } from "./stats.js";

export const CLOUD_PROVIDERS = ["aci", "fargate", "cloudrun", "interlink"] as const;
export type CloudProviderId = (typeof CLOUD_PROVIDERS)[number];

export interface UpstreamReads {
  /** The upstream virtual kubelet, or undefined (Cloud Run has none). */
  readonly project: string | undefined;
  /** Its status reads per pod per minute at steady state (or, without one, a naive per-pod 5 s poll). */
  readonly perPodPerMinute: number;
  readonly basis: string;
}

/** Upstream's published steady-state behaviour (issue 17): the figure each provider is compared with. */
export const UPSTREAM: Readonly<Record<CloudProviderId, UpstreamReads>> = {
  aci: {
    project: "virtual-kubelet/azure-aci",
    perPodPerMinute: 24,
    basis: "2 GETs per pod every 5 s",
  },
  fargate: {
    project: "virtual-kubelet/aws-fargate",
    perPodPerMinute: 12,
    basis: "1 DescribeTasks per pod every 5 s",
  },
  cloudrun: {
    project: undefined,
    perPodPerMinute: 12,
    basis: "no upstream virtual kubelet: a naive per-pod poll every 5 s",
  },
  interlink: {
    project: "interlink-hq/interLink",
    perPodPerMinute: 12,
    basis: "1 status call per pod every 5 s",
  },
};

/** The goal of issue 17: at least this many times fewer reads than upstream. */
export const FEWER_GOAL = 50;

/** One request as a simulator recorded it. */
export interface RecordedCall {
  readonly operation: string;
  readonly method: string;
}

/** Every call a simulator recorded so far, counted by operation (and HTTP method). */
export interface SimTally {
  readonly calls: readonly { operation: string; method: string; count: number }[];
  /** Requests (or answers) the simulator found not to match the vendor's schema. */
  readonly violations: number;
}

/** Counts recorded requests by operation and method. */
export function tally(requests: readonly RecordedCall[], violations: number): SimTally {
  const counts = new Map<string, { operation: string; method: string; count: number }>();
  for (const r of requests) {
    const key = `${r.method} ${r.operation}`;
    const entry = counts.get(key) ?? { operation: r.operation, method: r.method, count: 0 };
    entry.count++;
    counts.set(key, entry);
  }
  return { calls: [...counts.values()], violations };
}

/**
 * Whether a recorded operation only reads. ARM (ACI): the HTTP method, GET. ECS and the other AWS JSON
 * APIs (all POST): `Describe*`, `List*`, `Get*`. Cloud Run (REST method ids such as
 * `run.projects.locations.jobs.executions.list` or `run.ListWorkerPools`): the last segment starts with
 * get or list. interLink: `/status`, `/getLogs`, `/pinglink`.
 */
export function isReadCall(provider: CloudProviderId, operation: string, method: string): boolean {
  switch (provider) {
    case "aci":
      return method.toUpperCase() === "GET";
    case "fargate":
      return /^(Describe|List|Get)[A-Z]/.test(operation);
    case "cloudrun":
      return /^(get|list)/i.test(operation.split(".").pop() ?? "");
    case "interlink":
      return ["status", "getLogs", "pinglink"].includes(operation);
  }
}

export interface OperationCount {
  readonly operation: string;
  readonly kind: "read" | "write";
  readonly calls: number;
  readonly perPodPerMinute: number;
}

export interface CloudCallFigures {
  readonly provider: CloudProviderId;
  readonly pods: number;
  readonly windowSeconds: number;
  readonly reads: number;
  readonly writes: number;
  readonly readsPerPodPerMinute: number;
  /** The window's calls by operation, most first. */
  readonly operations: readonly OperationCount[];
  readonly upstream: UpstreamReads;
  /** upstream ÷ ours; undefined when there was no read at all in the window. */
  readonly fewerTimes: number | undefined;
  readonly goalMet: boolean;
  /** Schema violations the simulator recorded in the window. */
  readonly violations: number;
}

/** The window's figures: `after` minus `before`, split read/write, per pod per minute, against upstream. */
export function cloudCallFigures(
  provider: CloudProviderId,
  before: SimTally,
  after: SimTally,
  pods: number,
  windowSeconds: number,
): CloudCallFigures {
  if (!(pods > 0)) throw new Error(`pods must be positive, got ${String(pods)}`);
  if (!(windowSeconds > 0)) throw new Error(`windowSeconds must be positive, got ${String(windowSeconds)}`);
  const earlier = new Map(before.calls.map((c) => [`${c.method} ${c.operation}`, c.count]));
  const byOperation = new Map<string, { kind: "read" | "write"; calls: number }>();
  for (const c of after.calls) {
    const calls = c.count - (earlier.get(`${c.method} ${c.operation}`) ?? 0);
    if (calls <= 0) continue;
    const kind = isReadCall(provider, c.operation, c.method) ? "read" : "write";
    const entry = byOperation.get(c.operation) ?? { kind, calls: 0 };
    entry.calls += calls;
    if (kind === "write") entry.kind = "write";
    byOperation.set(c.operation, entry);
  }
  const podMinutes = (pods * windowSeconds) / 60;
  const operations = [...byOperation]
    .map(([operation, e]) => ({
      operation,
      kind: e.kind,
      calls: e.calls,
      perPodPerMinute: round(e.calls / podMinutes, 5),
    }))
    .sort((a, b) => b.calls - a.calls || a.operation.localeCompare(b.operation));
  const sum = (kind: "read" | "write") =>
    operations.filter((o) => o.kind === kind).reduce((a, o) => a + o.calls, 0);
  const reads = sum("read");
  const readsPerPodPerMinute = reads / podMinutes;
  const upstream = UPSTREAM[provider];
  const fewerTimes = reads === 0 ? undefined : round(upstream.perPodPerMinute / readsPerPodPerMinute, 1);
  return {
    provider,
    pods,
    windowSeconds: round(windowSeconds, 2),
    reads,
    writes: sum("write"),
    readsPerPodPerMinute: round(readsPerPodPerMinute, 5),
    operations,
    upstream,
    fewerTimes,
    goalMet: fewerTimes === undefined || fewerTimes >= FEWER_GOAL,
    violations: after.violations - before.violations,
  };
}

/** One provider's line of the cloud-calls report (the JSON's `cloudCalls`). */
export interface CloudCallsSummary {
  readonly provider: CloudProviderId;
  readonly ok: boolean;
  readonly error?: string;
  readonly pods: number;
  /** Pods Ready at the end of the window ÷ pods. */
  readonly readyFraction: number;
  readonly figures?: CloudCallFigures;
}

const fmt = (v: number): string =>
  v === 0 ? "0" : v >= 100 ? String(Math.round(v)) : v >= 1 ? String(round(v, 1)) : v.toPrecision(2);

/** The terminal table of the cloud-calls scenario: one row per provider, then each one's operations. */
export function formatCloudCalls(
  rows: readonly CloudCallsSummary[],
  table: (header: readonly string[], rows: readonly (readonly string[])[]) => string,
): string {
  if (rows.length === 0) return "";
  const first = rows.find((r) => r.figures !== undefined)?.figures;
  const lines = [
    `\n== cloud-calls (${first === undefined ? "?" : String(first.pods)} steady pods per provider, ` +
      `${first === undefined ? "?" : String(Math.round(first.windowSeconds))} s window; ` +
      "calls from each simulator's own request log) ==",
    table(
      [
        "provider",
        "Ready",
        "reads/pod/min",
        "upstream/pod/min",
        "× fewer",
        `goal ≥ ${String(FEWER_GOAL)}×`,
        "writes in window",
        "violations",
      ],
      rows.map((r) => {
        const f = r.figures;
        if (f === undefined) return [r.provider, "—", "—", "—", "—", "FAILED", "—", "—"];
        return [
          r.provider,
          `${String(Math.round(r.readyFraction * r.pods))}/${String(r.pods)}`,
          fmt(f.readsPerPodPerMinute),
          `${String(f.upstream.perPodPerMinute)} (${f.upstream.project ?? "n/a: naive 5 s poll"})`,
          f.fewerTimes === undefined ? "∞ (0 reads)" : `${fmt(f.fewerTimes)}×`,
          f.goalMet ? "met" : "NOT met",
          String(f.writes),
          String(f.violations),
        ];
      }),
    ),
  ];
  for (const r of rows) {
    if (r.figures !== undefined) {
      const ops = r.figures.operations
        .map((o) => `${o.operation} ${String(o.calls)} (${o.kind}, ${fmt(o.perPodPerMinute)}/pod/min)`)
        .join(", ");
      lines.push(`  ${r.provider} calls in the window: ${ops === "" ? "none" : ops}`);
    }
    if (r.error !== undefined) lines.push(`  ${r.provider} FAILED: ${r.error.split("\n")[0] ?? ""}`);
  }
  return lines.join("\n");
}
