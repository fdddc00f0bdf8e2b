/**
 * One run = one system, one scenario, one round, on a fresh namespace and fresh node name(s). Every run
 * measures the agent's CPU seconds (/proc utime+stime), its peak RSS (VmHWM, summed over processes) and the
 * API requests it caused (apiserver_request_total difference, minus the harness's own requests).
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";

import { spawnComponent, type HttpTls } from "@virtual-node/testing";

import type { LoadJob, LoadReport } from "./children/load.js";
import type { CloudCallFigures, CloudProviderId } from "./cloud-calls.js";
import {
  createNamespace,
  deleteNodes,
  diffCounts,
  purgeNamespace,
  scrapeRequestTotals,
  sleep,
  waitNodesReady,
  type RequestCounts,
} from "./kube.js";
import { LeaseObserver, PodObserver, summarizeLeases, type LeaseSummary } from "./observer.js";
import type { BenchOptions, ScenarioId, SystemId } from "./options.js";
import { podName } from "./pod.js";
import { ProcWatcher, sampleProcesses } from "./procstat.js";
import { cumulativeCurve, quantile, round } from "./stats.js";
import { childScript, SYSTEMS, type RunningAgent, type SystemContext } from "./systems.js";

export type ControlPlaneConfig = "limits-off" | "limits-on";

export interface RunResult {
  readonly scenario: ScenarioId;
  readonly config: ControlPlaneConfig;
  readonly system: SystemId;
  readonly round: number;
  readonly ok: boolean;
  readonly error?: string;
  readonly pods: number;
  readonly nodes: number;
  readonly processes: number;
  readonly startedAt: string;
  /** Agent CPU seconds over the measured window. */
  readonly cpuSeconds: number;
  readonly windowSeconds: number;
  /** Sum of the agent processes' VmHWM. */
  readonly peakRssMiB: number;
  /** Sum of VmRSS at the end of the window. */
  readonly rssMiB: number;
  /** Agent's API requests in the window (harness requests removed). */
  readonly apiRequests: RequestCounts;
  readonly metrics: Record<string, number>;
  readonly readyCurve?: [number, number][];
  readonly lease?: LeaseSummary;
  /** cloud-calls: the provider the agent ran, and its cloud calls in the steady window. */
  readonly provider?: CloudProviderId;
  readonly cloudCalls?: CloudCallFigures;
}

export interface RunnerContext extends SystemContext {
  readonly options: BenchOptions;
  readonly server: string;
  readonly metricsTls: HttpTls;
  readonly harnessKubeconfig: string;
  readonly config: ControlPlaneConfig;
  readonly progress: (line: string) => void;
}

const mib = (kib: number): number => round(kib / 1024, 1);

/**
 * Requests counted for the agent. Left out: non-resource requests (discovery, /openapi: the control plane's
 * own components make them all the time) and watches of resources no agent watches in these scenarios
 * (kube-controller-manager's and kube-scheduler's informers re-watch every few minutes).
 */
export function attributable(key: string): boolean {
  const [verb = "", resource = ""] = key.split(" ");
  if (resource === "" || resource.startsWith("/") || resource === "(none)") return false;
  if (verb === "WATCH") return ["pods", "nodes", "leases"].includes(resource);
  return true;
}

interface Measured {
  cpu0: number;
  metrics0: RequestCounts;
  t0: number;
}

async function begin(ctx: RunnerContext, agent: RunningAgent): Promise<Measured> {
  return {
    cpu0: sampleProcesses(agent.pids()).cpuSeconds,
    metrics0: await scrapeRequestTotals(ctx.server, ctx.metricsTls),
    t0: Date.now(),
  };
}

async function end(ctx: RunnerContext, agent: RunningAgent, m: Measured, harness: RequestCounts) {
  const s = sampleProcesses(agent.pids());
  const metrics1 = await scrapeRequestTotals(ctx.server, ctx.metricsTls);
  const api = Object.fromEntries(
    Object.entries(diffCounts(metrics1, m.metrics0, harness)).filter(([key]) => attributable(key)),
  );
  return {
    cpuSeconds: round(s.cpuSeconds - m.cpu0, 3),
    windowSeconds: round((Date.now() - m.t0) / 1000, 2),
    peakRssMiB: mib(s.hwmKiB),
    rssMiB: mib(s.rssKiB),
    apiRequests: api,
  };
}

export async function runLoad(
  ctx: RunnerContext,
  label: string,
  job: Omit<LoadJob, "kubeconfig" | "out">,
): Promise<LoadReport> {
  const out = join(ctx.logDir, `${label}-load-${job.mode}.json`);
  const proc = spawnComponent({
    name: `${label}-load-${job.mode}`,
    command: process.execPath,
    args: [
      childScript("load"),
      JSON.stringify({ ...job, kubeconfig: ctx.harnessKubeconfig, out } satisfies LoadJob),
    ],
    logFile: join(ctx.logDir, `${label}-load-${job.mode}.log`),
    keepAlive: true,
  });
  const exit = await proc.exited;
  if (exit.code !== 0) throw new Error(`load process (${job.mode}) failed: ${await proc.logTail(10)}`);
  const report = JSON.parse(await readFile(out, "utf8")) as LoadReport;
  if (report.failures > 0)
    throw new Error(`load process (${job.mode}): ${report.failures} request(s) failed`);
  return report;
}

/** What one load process does, apart from what the runner fills in. */
export type LoadPhase = Omit<LoadJob, "kubeconfig" | "out" | "mode">;

/** Creates `load.count` pods and waits (the phase timeout) until `observer` has seen every one Ready. */
export async function createUntilReady(
  ctx: RunnerContext,
  label: string,
  observer: PodObserver,
  load: LoadPhase,
  alive: () => boolean,
): Promise<LoadReport> {
  return loadUntil(ctx, label, observer, { ...load, mode: "create" }, alive);
}

/** Deletes `load.count` pods (the run's grace period) and waits until `observer` has seen every one gone. */
export async function deleteUntilGone(
  ctx: RunnerContext,
  label: string,
  observer: PodObserver,
  load: LoadPhase,
  alive: () => boolean,
): Promise<LoadReport> {
  const grace = ctx.options.deleteGraceSeconds;
  return loadUntil(
    ctx,
    label,
    observer,
    { ...load, mode: "delete", ...(grace === undefined ? {} : { graceSeconds: grace }) },
    alive,
  );
}

/** Runs one load process, then waits (the phase timeout) until `observer` has seen its effect on every pod. */
async function loadUntil(
  ctx: RunnerContext,
  label: string,
  observer: PodObserver,
  job: LoadPhase & Pick<LoadJob, "mode">,
  alive: () => boolean,
): Promise<LoadReport> {
  const n = job.count;
  const report = await runLoad(ctx, label, job);
  const seen = job.mode === "create" ? observer.readyAt : observer.goneAt;
  const what = job.mode === "create" ? "Ready" : "gone";
  await observer.until(
    `all pods ${what}`,
    () => seen.size >= n,
    ctx.options.phaseTimeoutSeconds * 1000,
    () => `${seen.size}/${n} ${what}`,
    alive,
  );
  return report;
}

function shortId(system: SystemId): string {
  const ids: Record<SystemId, string> = {
    "virtual-node": "vn",
    "virtual-node-before": "vnb",
    "virtual-kubelet": "vk",
    kwok: "kwok",
    "raw-writer": "raw",
  };
  return ids[system];
}

/** Starts the agent for `nodeNames` and waits until they are Ready. */
async function startAgent(
  ctx: RunnerContext,
  system: SystemId,
  nodeNames: readonly string[],
  label: string,
): Promise<{ agent: RunningAgent; startupSeconds: number }> {
  const started = Date.now();
  const agent = await SYSTEMS[system].start(nodeNames, ctx, label);
  try {
    await waitNodesReady(ctx.admin, nodeNames, Math.max(120_000, nodeNames.length * 1000), () =>
      agent.alive(),
    );
  } catch (error) {
    await agent.stop();
    const tail = await agent.processes[0]?.logTail(15);
    throw new Error(`${error instanceof Error ? error.message : String(error)}\n${tail ?? ""}`, {
      cause: error,
    });
  }
  return { agent, startupSeconds: round((Date.now() - started) / 1000, 2) };
}

export async function runOnce(
  ctx: RunnerContext,
  scenario: ScenarioId,
  system: SystemId,
  round_: number,
): Promise<RunResult> {
  const id = `${Date.now().toString(36)}${Math.floor(Math.random() * 1296).toString(36)}`;
  const label = `${ctx.config === "limits-off" ? "off" : "on"}-${scenario}-r${round_}-${shortId(system)}`;
  const namespace = `bench-${id}`;
  const base = {
    scenario,
    config: ctx.config,
    system,
    round: round_,
    startedAt: new Date().toISOString(),
  };
  const runCtx: RunnerContext = { ...ctx, runId: id };
  let nodeNames: string[] = [`bench-${shortId(system)}-${id}`];
  let agent: RunningAgent | undefined;
  try {
    if (scenario === "cloud-calls") throw new Error("cloud-calls runs per provider: runCloudCalls");
    if (scenario === "many-nodes") {
      const count =
        system === "virtual-kubelet"
          ? Math.min(ctx.options.manyNodes, ctx.options.vkMaxProcesses)
          : ctx.options.manyNodes;
      nodeNames = Array.from(
        { length: count },
        (_, i) => `bench-${shortId(system)}-${id}-${String(i).padStart(4, "0")}`,
      );
      const started = await startAgent(runCtx, system, nodeNames, label);
      agent = started.agent;
      return { ...base, ...(await manyNodes(runCtx, agent, nodeNames, started.startupSeconds)) };
    }
    if (scenario === "fleet") {
      if (SYSTEMS[system].nodesPerProcess < ctx.options.fleetNodes)
        throw new Error(
          `${system} runs ${String(SYSTEMS[system].nodesPerProcess)} node(s) per process: not a fleet`,
        );
      nodeNames = Array.from(
        { length: ctx.options.fleetNodes },
        (_, i) => `bench-${shortId(system)}-${id}-${String(i).padStart(4, "0")}`,
      );
      await createNamespace(ctx.admin, namespace);
      const leases = new LeaseObserver(ctx.admin, nodeNames);
      await leases.start();
      try {
        const started = await startAgent(runCtx, system, nodeNames, label);
        agent = started.agent;
        return { ...base, ...(await fleet(runCtx, agent, namespace, nodeNames, label, started, leases)) };
      } finally {
        await leases.stop();
      }
    }
    await createNamespace(ctx.admin, namespace);
    agent = (await startAgent(runCtx, system, nodeNames, label)).agent;
    const nodeName = nodeNames[0] ?? "";
    const body =
      scenario === "churn"
        ? await churn(runCtx, agent, namespace, nodeName, label)
        : scenario === "latency"
          ? await latency(runCtx, agent, namespace, nodeName, label)
          : await scale(runCtx, agent, namespace, nodeName, label);
    return { ...base, ...body };
  } catch (error) {
    const dead = agent?.processes.find((p) => p.exitStatus() !== undefined);
    const tail = dead === undefined ? "" : `\n${dead.name} log:\n${await dead.logTail(12)}`;
    return {
      ...base,
      ok: false,
      error: `${error instanceof Error ? error.message : String(error)}${tail}`,
      pods: 0,
      nodes: nodeNames.length,
      processes: agent?.processes.length ?? 0,
      cpuSeconds: Number.NaN,
      windowSeconds: 0,
      peakRssMiB: Number.NaN,
      rssMiB: Number.NaN,
      apiRequests: {},
      metrics: {},
    };
  } finally {
    await agent?.stop();
    if (scenario !== "many-nodes") await purgeNamespace(ctx.admin, namespace, 300_000).catch(() => undefined);
    await deleteNodes(ctx.admin, nodeNames);
  }
}

type Body = Omit<RunResult, "scenario" | "config" | "system" | "round" | "startedAt">;

/**
 * Creates `load.count` pods at full speed, waits until all are Ready, deletes them, waits until all are
 * gone; the agent measured over the whole window (churn and fleet).
 */
async function createThenDelete(ctx: RunnerContext, agent: RunningAgent, label: string, load: LoadPhase) {
  const observer = new PodObserver(ctx.admin, load.namespace);
  await observer.start();
  const watcher = new ProcWatcher(() => agent.pids());
  const m = await begin(ctx, agent);
  const alive = () => agent.alive();
  const created = await createUntilReady(ctx, label, observer, load, alive);
  const readyAt = [...observer.readyAt.values()];
  const allReady = Math.max(...readyAt);
  const deleted = await deleteUntilGone(ctx, label, observer, load, alive);
  const allGone = Math.max(...observer.goneAt.values());
  const result = await end(ctx, agent, m, { ...created.requests, ...deleted.requests });
  watcher.stop();
  await observer.stop();
  return { created, deleted, allReady, allGone, readyAt, result, watcher };
}

async function churn(
  ctx: RunnerContext,
  agent: RunningAgent,
  namespace: string,
  nodeName: string,
  label: string,
): Promise<Body> {
  const n = ctx.options.churnPods;
  const load = {
    namespace,
    nodeName,
    prefix: "p",
    count: n,
    rate: 0,
    concurrency: ctx.options.loadConcurrency,
  };
  const { created, deleted, allReady, allGone, readyAt, result, watcher } = await createThenDelete(
    ctx,
    agent,
    label,
    load,
  );
  const readySeconds = (allReady - created.startedAt) / 1000;
  const goneSeconds = (allGone - deleted.startedAt) / 1000;
  return {
    ok: true,
    pods: n,
    nodes: 1,
    processes: agent.processes.length,
    ...result,
    metrics: {
      createSeconds: round((created.finishedAt - created.startedAt) / 1000, 3),
      readySeconds: round(readySeconds, 3),
      readyPodsPerSecond: round(n / readySeconds, 1),
      deleteRequestSeconds: round((deleted.finishedAt - deleted.startedAt) / 1000, 3),
      goneSeconds: round(goneSeconds, 3),
      gonePodsPerSecond: round(n / goneSeconds, 1),
      cpuMsPerPod: round((result.cpuSeconds * 1000) / n, 3),
      sampledPeakRssMiB: mib(watcher.peakRssKiB),
    },
    readyCurve: cumulativeCurve(readyAt, created.startedAt),
  };
}

async function latency(
  ctx: RunnerContext,
  agent: RunningAgent,
  namespace: string,
  nodeName: string,
  label: string,
): Promise<Body> {
  const n = Math.round(ctx.options.latencyRate * ctx.options.latencySeconds);
  const observer = new PodObserver(ctx.admin, namespace);
  await observer.start();
  const m = await begin(ctx, agent);
  const created = await createUntilReady(
    ctx,
    label,
    observer,
    {
      namespace,
      nodeName,
      prefix: "p",
      count: n,
      rate: ctx.options.latencyRate,
      concurrency: ctx.options.loadConcurrency,
    },
    () => agent.alive(),
  );
  const result = await end(ctx, agent, m, created.requests);
  await observer.stop();
  const latencies = created.sentAt.map(
    (sent, i) => (observer.readyAt.get(podName("p", i)) ?? Number.NaN) - sent,
  );
  return {
    ok: true,
    pods: n,
    nodes: 1,
    processes: agent.processes.length,
    ...result,
    metrics: {
      latencyP50Ms: round(quantile(latencies, 0.5), 1),
      latencyP90Ms: round(quantile(latencies, 0.9), 1),
      latencyP99Ms: round(quantile(latencies, 0.99), 1),
      latencyMaxMs: round(quantile(latencies, 1), 1),
      cpuMsPerPod: round((result.cpuSeconds * 1000) / n, 3),
      cpuCores: round(result.cpuSeconds / result.windowSeconds, 3),
    },
  };
}

async function scale(
  ctx: RunnerContext,
  agent: RunningAgent,
  namespace: string,
  nodeName: string,
  label: string,
): Promise<Body> {
  const n = ctx.options.scalePods;
  const observer = new PodObserver(ctx.admin, namespace);
  await observer.start();
  const m = await begin(ctx, agent);
  const created = await runLoad(ctx, label, {
    namespace,
    nodeName,
    prefix: "p",
    count: n,
    rate: 0,
    concurrency: ctx.options.loadConcurrency,
    mode: "create",
  });
  // Agents that cannot get every pod Ready in time are measured anyway; the Ready share says so.
  await observer
    .until("all pods Ready", () => observer.readyAt.size >= n, ctx.options.scaleReadyTimeoutSeconds * 1000)
    .catch(() => undefined);
  if (!agent.alive()) throw new Error(`the agent exited: ${(await agent.processes[0]?.logTail(8)) ?? ""}`);
  const readyCount = observer.readyAt.size;
  const allReady = readyCount >= n ? Math.max(...observer.readyAt.values()) : Number.NaN;
  await observer.stop();
  // Steady state: every pod Ready, nothing changing; let the last writes settle first.
  await sleep(5000);
  const steady0 = sampleProcesses(agent.pids());
  const steadyStart = Date.now();
  await sleep(ctx.options.scaleSteadySeconds * 1000);
  const steady1 = sampleProcesses(agent.pids());
  const steadySeconds = (Date.now() - steadyStart) / 1000;
  const result = await end(ctx, agent, m, created.requests);
  const readySeconds = (allReady - created.startedAt) / 1000;
  return {
    ok: true,
    pods: n,
    nodes: 1,
    processes: agent.processes.length,
    ...result,
    metrics: {
      readyFraction: round(readyCount / n, 3),
      readySeconds: round(readySeconds, 3),
      readyPodsPerSecond: round(n / readySeconds, 1),
      steadyCpuCores: round((steady1.cpuSeconds - steady0.cpuSeconds) / Math.max(steadySeconds, 0.001), 4),
      steadyRssMiB: mib(steady1.rssKiB),
      rssKiBPerPod: round(steady1.rssKiB / n, 2),
    },
  };
}

/**
 * Fleet scale: many virtual nodes in one process and tens of thousands of pods spread over them, created
 * (at full speed), all Ready, deleted, all gone; every node's lease watched throughout (late renewals are
 * those more than 15 s apart, expired ones more than the 40 s lease duration).
 */
async function fleet(
  ctx: RunnerContext,
  agent: RunningAgent,
  namespace: string,
  nodeNames: readonly string[],
  label: string,
  started: { startupSeconds: number },
  leases: LeaseObserver,
): Promise<Body> {
  const n = ctx.options.fleetPods;
  const from = performance.timeOrigin + performance.now();
  const load = {
    namespace,
    nodeName: nodeNames[0] ?? "",
    nodeNames,
    prefix: "p",
    count: n,
    rate: 0,
    concurrency: ctx.options.loadConcurrency,
  };
  const { created, deleted, allReady, allGone, result, watcher } = await createThenDelete(
    ctx,
    agent,
    label,
    load,
  );
  const to = performance.timeOrigin + performance.now();
  const lease = summarizeLeases(leases.renewals, from, to, 15_000, 40_000);
  const readySeconds = (allReady - created.startedAt) / 1000;
  const goneSeconds = (allGone - deleted.startedAt) / 1000;
  return {
    ok: true,
    pods: n,
    nodes: nodeNames.length,
    processes: agent.processes.length,
    ...result,
    lease,
    metrics: {
      startupSeconds: started.startupSeconds,
      readySeconds: round(readySeconds, 3),
      readyPodsPerSecond: round(n / readySeconds, 1),
      goneSeconds: round(goneSeconds, 3),
      gonePodsPerSecond: round(n / goneSeconds, 1),
      cpuMsPerPod: round((result.cpuSeconds * 1000) / n, 3),
      cpuCores: round(result.cpuSeconds / result.windowSeconds, 3),
      sampledPeakRssMiB: mib(watcher.peakRssKiB),
      lateRenewals: lease.late,
      expiredLeases: lease.expired,
      renewalGapP99Seconds: round(lease.gapP99Ms / 1000, 2),
    },
  };
}

async function manyNodes(
  ctx: RunnerContext,
  agent: RunningAgent,
  nodeNames: readonly string[],
  startupSeconds: number,
): Promise<Body> {
  // Let the one-off work after registration settle (kube-controller-manager's TTL annotation, events).
  await sleep(5000);
  const leases = new LeaseObserver(ctx.admin, nodeNames);
  await leases.start();
  const m = await begin(ctx, agent);
  const from = performance.timeOrigin + performance.now();
  await sleep(ctx.options.manyNodesSeconds * 1000);
  const to = performance.timeOrigin + performance.now();
  const result = await end(ctx, agent, m, {});
  await leases.stop();
  const lease = summarizeLeases(leases.renewals, from, to, 15_000, 40_000);
  const nodeMinutes = (nodeNames.length * result.windowSeconds) / 60;
  const requests = Object.values(result.apiRequests).reduce((a, b) => a + b, 0);
  return {
    ok: true,
    pods: 0,
    nodes: nodeNames.length,
    processes: agent.processes.length,
    ...result,
    lease,
    metrics: {
      startupSeconds,
      cpuSecondsPerNodeMinute: round(result.cpuSeconds / nodeMinutes, 4),
      rssMiBPerNode: round(result.rssMiB / nodeNames.length, 2),
      lateRenewals: lease.late,
      expiredLeases: lease.expired,
      renewalGapP99Seconds: round(lease.gapP99Ms / 1000, 2),
      requestsPerNodeMinute: round(requests / nodeMinutes, 2),
    },
  };
}

/** Per-pod (or per node-minute) API requests, by verb and resource. */
export function requestsPer(result: RunResult): Record<string, number> {
  const divisor = result.scenario === "many-nodes" ? (result.nodes * result.windowSeconds) / 60 : result.pods;
  if (divisor <= 0) return {};
  return Object.fromEntries(
    Object.entries(result.apiRequests)
      .map(([k, v]) => [k, round(v / divisor, 3)] as const)
      .filter(([, v]) => v >= 0.005)
      .sort((a, b) => b[1] - a[1]),
  );
}
