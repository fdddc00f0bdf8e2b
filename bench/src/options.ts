/** Benchmark sizes and switches: defaults (about 20 minutes on 2 cores), `--quick` (about 2), flags. */
import { join } from "node:path";
import { parseArgs } from "node:util";

import { CLOUD_PROVIDERS, type CloudProviderId } from "./cloud-calls.js";

export const SYSTEM_IDS = [
  "virtual-node",
  "virtual-node-before",
  "virtual-kubelet",
  "kwok",
  "raw-writer",
] as const;
export type SystemId = (typeof SYSTEM_IDS)[number];
/** Run when `--systems` is not given: `virtual-node-before` only on request (it needs a snapshot). */
export const DEFAULT_SYSTEM_IDS: readonly SystemId[] = SYSTEM_IDS.filter((s) => s !== "virtual-node-before");

export const SCENARIOS = ["churn", "latency", "scale", "many-nodes", "fleet", "cloud-calls"] as const;
export type ScenarioId = (typeof SCENARIOS)[number];
/**
 * Run when `--scenarios` is not given: the fleet (tens of thousands of pods, `--fleet`) and cloud-calls
 * (minutes per cloud provider) only on request.
 */
export const DEFAULT_SCENARIOS: readonly ScenarioId[] = SCENARIOS.filter(
  (s) => s !== "fleet" && s !== "cloud-calls",
);
/** The systems of `--fleet`: virtual-kubelet runs one node per process, the raw writer is no agent. */
export const FLEET_SYSTEM_IDS: readonly SystemId[] = ["virtual-node", "kwok"];

export interface BenchOptions {
  readonly quick: boolean;
  readonly systems: readonly SystemId[];
  readonly scenarios: readonly ScenarioId[];
  /** Rounds of the A B A B alternation (churn, in both control-plane configurations). */
  readonly rounds: number;
  /** Rounds of the longer scenarios (latency, scale, many-nodes). */
  readonly longRounds: number;
  readonly churnPods: number;
  /** Rounds of churn on the second control plane (server-side request limits on); 0 skips it. */
  readonly limitsOnRounds: number;
  readonly latencyRate: number;
  readonly latencySeconds: number;
  readonly scalePods: number;
  /** Steady-state window after all pods are Ready (scale). */
  readonly scaleSteadySeconds: number;
  readonly manyNodes: number;
  /** Fleet: virtual nodes in one agent process. */
  readonly fleetNodes: number;
  /** Fleet: pods spread over them, created then deleted. */
  readonly fleetPods: number;
  /** Observation window of the many-nodes scenario. */
  readonly manyNodesSeconds: number;
  /** cloud-calls: pods per provider, made Ready, then held steady. */
  readonly cloudPods: number;
  /** cloud-calls: the steady window in which cloud calls are counted. */
  readonly cloudSteadySeconds: number;
  /**
   * cloud-calls: wait this long after the last pod is Ready before the window opens, so every provider
   * has left its fast status interval (2 s while something changes) for its slow one (15 s).
   */
  readonly cloudSettleSeconds: number;
  /** cloud-calls: the providers, each against its simulator. */
  readonly cloudProviders: readonly CloudProviderId[];
  /** virtual-kubelet runs one node per process: at most this many processes. */
  readonly vkMaxProcesses: number;
  /** Client-side QPS given to every agent; 0 = unlimited (KWOK's own setting; the raw writer has none). */
  readonly clientQps: number;
  /** Grace period of the churn deletes; undefined = the pod's default (30 s), as `kubectl delete` does. */
  readonly deleteGraceSeconds: number | undefined;
  /** Run virtual-kubelet with its stock client-side throttles (5 QPS client, 10/s work queues). */
  readonly vkStock: boolean;
  /** virtual-kubelet --pod-sync-workers. Default: its own (10). */
  readonly vkWorkers: number;
  /** Scale: stop waiting for all pods Ready after this long and measure anyway (reported as Ready fraction). */
  readonly scaleReadyTimeoutSeconds: number;
  /** Creates/deletes in flight in the load process. */
  readonly loadConcurrency: number;
  /** Give up on a phase after this long. */
  readonly phaseTimeoutSeconds: number;
  /** Extra `createVirtualNodeGroup` options for the virtual-node agent (experiments), e.g. podSyncConcurrency. */
  readonly vnOptions: Readonly<Record<string, number | string | boolean>>;
  /** Extra `node` flags for the virtual-node agent only (V8 heap experiments), e.g. --max-semi-space-size=2. */
  readonly vnNodeArgs: readonly string[];
  /** `node --cpu-prof` for the virtual-node agent; profiles go to the results folder. */
  readonly profile: boolean;
  readonly resultsDir: string;
  /** The snapshot `virtual-node-before` runs (made by the `snapshot` command). */
  readonly beforeDir: string;
  readonly keepLogs: boolean;
}

/** virtual-kubelet's own default of `--pod-sync-workers` (`DefaultPodSyncWorkers`). */
export const VK_DEFAULT_WORKERS = 10;

export const FULL_DEFAULTS = {
  rounds: 3,
  longRounds: 1,
  churnPods: 2000,
  limitsOnRounds: 1,
  latencyRate: 50,
  latencySeconds: 60,
  scalePods: 10_000,
  scaleSteadySeconds: 10,
  scaleReadyTimeoutSeconds: 300,
  manyNodes: 500,
  manyNodesSeconds: 30,
  fleetNodes: 500,
  fleetPods: 50_000,
  cloudPods: 1000,
  cloudSteadySeconds: 120,
  cloudSettleSeconds: 30,
  vkMaxProcesses: 50,
  deleteGraceSeconds: undefined,
} as const;

/** A smoke run: every scenario and system once, tiny sizes, short grace periods, limits-off control plane only. */
export const QUICK_DEFAULTS = {
  rounds: 1,
  longRounds: 1,
  churnPods: 100,
  limitsOnRounds: 0,
  latencyRate: 20,
  latencySeconds: 4,
  scalePods: 200,
  scaleSteadySeconds: 2,
  scaleReadyTimeoutSeconds: 60,
  manyNodes: 10,
  manyNodesSeconds: 6,
  fleetNodes: 5,
  fleetPods: 200,
  cloudPods: 20,
  cloudSteadySeconds: 20,
  cloudSettleSeconds: 30,
  vkMaxProcesses: 3,
  deleteGraceSeconds: 2,
} as const;

export const USAGE = `Usage: npm run bench -- [build] [options]

  build                     only build virtual-kubelet and KWOK (cached under ~/.cache/virtual-node/go-tools)
  snapshot                  copy the built core, provider-mock and agent to --before DIR: the system
                            virtual-node-before then runs that copy, for before/after in one run

Options (sizes default to the full run, about 20 minutes on 2 cores):
  --quick                   a smoke run: one round, tiny sizes, 2 s delete grace, no limits-on pass (about 2 minutes)
  --systems a,b             of ${SYSTEM_IDS.join(", ")} (default: all but virtual-node-before)
  --scenarios a,b           of ${SCENARIOS.join(", ")} (default: all but fleet and cloud-calls)
  --fleet                   the fleet scenario only (not part of CI): --fleet-nodes virtual nodes in one
                            process, --fleet-pods pods spread over them, created and deleted; systems
                            ${FLEET_SYSTEM_IDS.join(", ")} unless --systems says otherwise
  --fleet-nodes N           (default ${FULL_DEFAULTS.fleetNodes})
  --fleet-pods N            (default ${FULL_DEFAULTS.fleetPods})
  --cloud-pods N            cloud-calls: pods per provider, made Ready then held steady (default ${FULL_DEFAULTS.cloudPods})
  --cloud-steady-seconds N  cloud-calls: the steady window whose cloud calls are counted (default ${FULL_DEFAULTS.cloudSteadySeconds})
  --cloud-settle-seconds N  cloud-calls: wait after the last pod is Ready before the window (default ${FULL_DEFAULTS.cloudSettleSeconds})
  --cloud-providers a,b     cloud-calls: of ${CLOUD_PROVIDERS.join(", ")} (default: all), each against its simulator
  --rounds N                churn rounds, A B A B alternation (default ${FULL_DEFAULTS.rounds})
  --long-rounds N           rounds of latency, scale and many-nodes (default ${FULL_DEFAULTS.longRounds})
  --churn-pods N            (default ${FULL_DEFAULTS.churnPods})
  --limits-on-rounds N      churn rounds with server-side request limits on; 0 skips (default ${FULL_DEFAULTS.limitsOnRounds})
  --delete-grace-seconds N  grace period of the churn deletes (default: the pod's, 30 s)
  --latency-rate N          pods per second (default ${FULL_DEFAULTS.latencyRate})
  --latency-seconds N       (default ${FULL_DEFAULTS.latencySeconds})
  --scale-pods N            (default ${FULL_DEFAULTS.scalePods})
  --scale-steady-seconds N  (default ${FULL_DEFAULTS.scaleSteadySeconds})
  --scale-ready-timeout N   measure steady state anyway after N s (default ${FULL_DEFAULTS.scaleReadyTimeoutSeconds})
  --many-nodes N            (default ${FULL_DEFAULTS.manyNodes})
  --many-nodes-seconds N    (default ${FULL_DEFAULTS.manyNodesSeconds})
  --vk-max-processes N      virtual-kubelet processes in many-nodes (default ${FULL_DEFAULTS.vkMaxProcesses})
  --client-qps N            client-side QPS of every agent, 0 = unlimited (default 0)
  --vk-stock                virtual-kubelet with its stock throttles (client 5 QPS, queues 10/s)
  --vk-workers N            virtual-kubelet --pod-sync-workers (default 10, its own; the benchmark's
                            build guards its mock provider's pod map with a mutex)
  --load-concurrency N      requests in flight in the load process (default 64)
  --phase-timeout N         seconds before a phase is declared failed (default 600)
  --vn-option key=value     extra option for the virtual-node agent (repeatable), e.g. podSyncConcurrency=128
  --vn-node-arg FLAG        extra node flag for the virtual-node agent only (repeatable; not for
                            virtual-node-before, so a snapshot of the same build is the A/B control),
                            e.g. --vn-node-arg=--max-semi-space-size=2
  --profile                 run the virtual-node agent under node --cpu-prof
  --results DIR             (default bench/results)
  --before DIR              the snapshot virtual-node-before runs (default bench/results/before)
  --keep-logs               keep the temporary folder with every process log
`;

function int(value: string | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) throw new Error(`--${name} must be a non-negative number, got ${value}`);
  return n;
}

function list<T extends string>(
  value: string | undefined,
  all: readonly T[],
  name: string,
  fallback: readonly T[] = all,
): readonly T[] {
  if (value === undefined) return fallback;
  const picked = value.split(",").map((s) => s.trim()) as T[];
  for (const p of picked)
    if (!all.includes(p)) throw new Error(`--${name}: unknown ${p} (one of ${all.join(", ")})`);
  return all.filter((a) => picked.includes(a));
}

export interface ParsedCommand {
  readonly command: "run" | "build" | "snapshot" | "help";
  readonly options: BenchOptions;
}

export function parseOptions(argv: readonly string[], defaultResultsDir: string): ParsedCommand {
  const { values, positionals } = parseArgs({
    args: [...argv],
    allowPositionals: true,
    strict: true,
    options: {
      quick: { type: "boolean", default: false },
      systems: { type: "string" },
      scenarios: { type: "string" },
      rounds: { type: "string" },
      "long-rounds": { type: "string" },
      "churn-pods": { type: "string" },
      "limits-on-rounds": { type: "string" },
      "latency-rate": { type: "string" },
      "latency-seconds": { type: "string" },
      "scale-pods": { type: "string" },
      "scale-steady-seconds": { type: "string" },
      "many-nodes": { type: "string" },
      fleet: { type: "boolean", default: false },
      "fleet-nodes": { type: "string" },
      "fleet-pods": { type: "string" },
      "cloud-pods": { type: "string" },
      "cloud-steady-seconds": { type: "string" },
      "cloud-providers": { type: "string" },
      "cloud-settle-seconds": { type: "string" },
      "many-nodes-seconds": { type: "string" },
      "vk-max-processes": { type: "string" },
      "client-qps": { type: "string" },
      "delete-grace-seconds": { type: "string" },
      "scale-ready-timeout": { type: "string" },
      "vk-stock": { type: "boolean", default: false },
      "vk-workers": { type: "string" },
      "load-concurrency": { type: "string" },
      "phase-timeout": { type: "string" },
      profile: { type: "boolean", default: false },
      "vn-option": { type: "string", multiple: true },
      "vn-node-arg": { type: "string", multiple: true },
      results: { type: "string" },
      before: { type: "string" },
      "keep-logs": { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  const d = values.quick ? QUICK_DEFAULTS : FULL_DEFAULTS;
  const options: BenchOptions = {
    quick: values.quick,
    systems: list(
      values.systems,
      SYSTEM_IDS,
      "systems",
      values.fleet ? FLEET_SYSTEM_IDS : DEFAULT_SYSTEM_IDS,
    ),
    scenarios: values.fleet ? ["fleet"] : list(values.scenarios, SCENARIOS, "scenarios", DEFAULT_SCENARIOS),
    fleetNodes: Math.max(1, int(values["fleet-nodes"], d.fleetNodes, "fleet-nodes")),
    fleetPods: Math.max(1, int(values["fleet-pods"], d.fleetPods, "fleet-pods")),
    cloudPods: Math.max(1, int(values["cloud-pods"], d.cloudPods, "cloud-pods")),
    cloudSteadySeconds: Math.max(
      1,
      int(values["cloud-steady-seconds"], d.cloudSteadySeconds, "cloud-steady-seconds"),
    ),
    cloudSettleSeconds: int(values["cloud-settle-seconds"], d.cloudSettleSeconds, "cloud-settle-seconds"),
    cloudProviders: list(values["cloud-providers"], CLOUD_PROVIDERS, "cloud-providers"),
    rounds: Math.max(1, int(values.rounds, d.rounds, "rounds")),
    longRounds: Math.max(1, int(values["long-rounds"], d.longRounds, "long-rounds")),
    churnPods: Math.max(1, int(values["churn-pods"], d.churnPods, "churn-pods")),
    limitsOnRounds: int(values["limits-on-rounds"], d.limitsOnRounds, "limits-on-rounds"),
    latencyRate: Math.max(1, int(values["latency-rate"], d.latencyRate, "latency-rate")),
    latencySeconds: Math.max(1, int(values["latency-seconds"], d.latencySeconds, "latency-seconds")),
    scalePods: Math.max(1, int(values["scale-pods"], d.scalePods, "scale-pods")),
    scaleSteadySeconds: int(values["scale-steady-seconds"], d.scaleSteadySeconds, "scale-steady-seconds"),
    manyNodes: Math.max(1, int(values["many-nodes"], d.manyNodes, "many-nodes")),
    manyNodesSeconds: Math.max(
      1,
      int(values["many-nodes-seconds"], d.manyNodesSeconds, "many-nodes-seconds"),
    ),
    vkMaxProcesses: Math.max(1, int(values["vk-max-processes"], d.vkMaxProcesses, "vk-max-processes")),
    clientQps: int(values["client-qps"], 0, "client-qps"),
    deleteGraceSeconds:
      values["delete-grace-seconds"] === undefined
        ? d.deleteGraceSeconds
        : int(values["delete-grace-seconds"], 0, "delete-grace-seconds"),
    vkStock: values["vk-stock"],
    vkWorkers: Math.max(1, int(values["vk-workers"], VK_DEFAULT_WORKERS, "vk-workers")),
    scaleReadyTimeoutSeconds: Math.max(
      1,
      int(values["scale-ready-timeout"], d.scaleReadyTimeoutSeconds, "scale-ready-timeout"),
    ),
    loadConcurrency: Math.max(1, int(values["load-concurrency"], 64, "load-concurrency")),
    phaseTimeoutSeconds: Math.max(10, int(values["phase-timeout"], 600, "phase-timeout")),
    vnOptions: Object.fromEntries(
      (values["vn-option"] ?? []).map((kv) => {
        const eq = kv.indexOf("=");
        if (eq <= 0) throw new Error(`--vn-option wants key=value, got ${kv}`);
        const raw = kv.slice(eq + 1);
        const value =
          raw === "true" ? true : raw === "false" ? false : Number.isFinite(Number(raw)) ? Number(raw) : raw;
        return [kv.slice(0, eq), value];
      }),
    ),
    vnNodeArgs: values["vn-node-arg"] ?? [],
    profile: values.profile,
    resultsDir: values.results ?? defaultResultsDir,
    beforeDir: values.before ?? join(values.results ?? defaultResultsDir, "before"),
    keepLogs: values["keep-logs"],
  };
  const [first, ...rest] = positionals;
  if (rest.length > 0) throw new Error(`unexpected arguments: ${rest.join(" ")}`);
  const command = values.help
    ? "help"
    : first === undefined
      ? "run"
      : first === "build" || first === "snapshot"
        ? first
        : undefined;
  if (command === undefined) throw new Error(`unknown command ${first ?? ""}`);
  return { command, options };
}
