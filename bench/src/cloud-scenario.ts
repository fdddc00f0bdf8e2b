/**
 * The cloud-calls scenario, one provider per run: its simulator in one process, the virtual-node agent on
 * that provider (real SDK client) in another, on the bench's control plane. `cloudPods` pods are created and
 * made Ready, the agent settles, then a steady window of `cloudSteadySeconds` in which nothing changes;
 * the simulator's own request log is tallied at both ends of the window. Then the pods are deleted.
 */
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";

import type { Pod } from "@virtual-node/core";
import { spawnComponent, type ComponentProcess } from "@virtual-node/testing";

import type { CloudAgentJob } from "./children/cloud-agent.js";
import type { SimJob, SimReady } from "./children/cloud-sim.js";
import {
  cloudCallFigures,
  type CloudCallsSummary,
  type CloudProviderId,
  type SimTally,
} from "./cloud-calls.js";
import {
  createNamespace,
  deleteNodes,
  isPodReady,
  purgeNamespace,
  sleep,
  waitNodesReady,
  waitUntil,
} from "./kube.js";
import { PodObserver } from "./observer.js";
import { sampleProcesses } from "./procstat.js";
import {
  createUntilReady,
  deleteUntilGone,
  type LoadPhase,
  type RunnerContext,
  type RunResult,
} from "./scenarios.js";
import { round } from "./stats.js";
import { childScript } from "./systems.js";

async function simTally(control: string): Promise<SimTally> {
  const res = await fetch(`${control}/calls`);
  if (!res.ok) throw new Error(`simulator control endpoint: HTTP ${String(res.status)}`);
  return (await res.json()) as SimTally;
}

async function startSimulator(
  ctx: RunnerContext,
  provider: CloudProviderId,
  label: string,
): Promise<{ proc: ComponentProcess; ready: SimReady }> {
  const out = join(ctx.logDir, `${label}-sim.json`);
  const job: SimJob = { provider, out };
  const proc = spawnComponent({
    name: `${label}-sim`,
    command: process.execPath,
    // The simulators are the providers' TypeScript test code, run as they are.
    args: ["--experimental-transform-types", "--no-warnings", childScript("cloud-sim"), JSON.stringify(job)],
    logFile: join(ctx.logDir, `${label}-sim.log`),
  });
  try {
    await waitUntil(
      `the ${provider} simulator`,
      () => {
        if (proc.exitStatus() !== undefined) throw new Error(`the ${provider} simulator exited`);
        return Promise.resolve(existsSync(out));
      },
      60_000,
      100,
    );
  } catch (error) {
    await proc.stop();
    throw new Error(`${error instanceof Error ? error.message : String(error)}\n${await proc.logTail(15)}`, {
      cause: error,
    });
  }
  return { proc, ready: JSON.parse(await readFile(out, "utf8")) as SimReady };
}

async function countReady(ctx: RunnerContext, namespace: string): Promise<number> {
  const list = await ctx.admin.get<{ items?: Pod[] }>(`/api/v1/namespaces/${namespace}/pods`);
  return (list.items ?? []).filter(isPodReady).length;
}

/** One provider: create → Ready → settle → steady window (counted) → delete → gone. */
export async function runCloudCalls(
  ctx: RunnerContext,
  provider: CloudProviderId,
  round_: number,
): Promise<RunResult> {
  const id = `${Date.now().toString(36)}${Math.floor(Math.random() * 1296).toString(36)}`;
  const label = `${ctx.config === "limits-off" ? "off" : "on"}-cloud-calls-r${round_}-${provider}`;
  const namespace = `bench-${id}`;
  const nodeName = `bench-cc-${provider}-${id}`;
  const n = ctx.options.cloudPods;
  const base = {
    scenario: "cloud-calls" as const,
    config: ctx.config,
    system: "virtual-node" as const,
    provider,
    round: round_,
    startedAt: new Date().toISOString(),
    nodes: 1,
  };
  let sim: ComponentProcess | undefined;
  let agent: ComponentProcess | undefined;
  try {
    const started = await startSimulator(ctx, provider, label);
    sim = started.proc;
    const { control } = started.ready;
    await createNamespace(ctx.admin, namespace);
    const job: CloudAgentJob = {
      kubeconfig: ctx.kubeconfigs["virtual-node"],
      nodeName,
      provider,
      endpoint: started.ready.endpoint,
      ...(started.ready.caPem === undefined ? {} : { caPem: started.ready.caPem }),
    };
    const agentProc = spawnComponent({
      name: `${label}-agent`,
      command: process.execPath,
      args: [childScript("cloud-agent"), JSON.stringify(job)],
      logFile: join(ctx.logDir, `${label}-agent.log`),
    });
    agent = agentProc;
    const alive = () => agentProc.exitStatus() === undefined && sim?.exitStatus() === undefined;
    await waitNodesReady(ctx.admin, [nodeName], 120_000, alive);
    const observer = new PodObserver(ctx.admin, namespace);
    await observer.start();
    try {
      const load: LoadPhase = {
        namespace,
        nodeName,
        prefix: "p",
        count: n,
        rate: 0,
        concurrency: ctx.options.loadConcurrency,
      };
      const created = await createUntilReady(ctx, label, observer, load, alive);
      const readySeconds = (Math.max(...observer.readyAt.values()) - created.startedAt) / 1000;
      ctx.progress(
        `  ${provider}: ${n} pods Ready in ${round(readySeconds, 1)} s; settling ${ctx.options.cloudSettleSeconds} s, then a ${ctx.options.cloudSteadySeconds} s steady window`,
      );
      await sleep(ctx.options.cloudSettleSeconds * 1000);
      const pids = [agentProc.pid].filter((p): p is number => p !== undefined);
      const cpu0 = sampleProcesses(pids).cpuSeconds;
      const before = await simTally(control);
      const t0 = Date.now();
      await sleep(ctx.options.cloudSteadySeconds * 1000);
      const after = await simTally(control);
      const windowSeconds = (Date.now() - t0) / 1000;
      const s1 = sampleProcesses(pids);
      const readyAtEnd = await countReady(ctx, namespace);
      if (!alive()) throw new Error("the agent or the simulator exited during the steady window");
      const figures = cloudCallFigures(provider, before, after, n, windowSeconds);
      const deleted = await deleteUntilGone(ctx, label, observer, load, alive);
      const goneSeconds = (Math.max(...observer.goneAt.values()) - deleted.startedAt) / 1000;
      const afterDelete = await simTally(control);
      const deletePhase = cloudCallFigures(provider, after, afterDelete, n, Math.max(goneSeconds, 0.001));
      return {
        ...base,
        ok: true,
        pods: n,
        processes: 1,
        cpuSeconds: round(s1.cpuSeconds - cpu0, 3),
        windowSeconds: figures.windowSeconds,
        peakRssMiB: round(s1.hwmKiB / 1024, 1),
        rssMiB: round(s1.rssKiB / 1024, 1),
        apiRequests: {},
        cloudCalls: figures,
        metrics: {
          readyFraction: round(readyAtEnd / n, 3),
          readySeconds: round(readySeconds, 3),
          readsPerPodPerMinute: figures.readsPerPodPerMinute,
          upstreamPerPodPerMinute: figures.upstream.perPodPerMinute,
          fewerTimes: figures.fewerTimes ?? Number.POSITIVE_INFINITY,
          readsInWindow: figures.reads,
          writesInWindow: figures.writes,
          violations: figures.violations + deletePhase.violations,
          deletePhaseWrites: deletePhase.writes,
          goneSeconds: round(goneSeconds, 3),
          steadyCpuCores: round((s1.cpuSeconds - cpu0) / windowSeconds, 4),
        },
      };
    } finally {
      await observer.stop();
    }
  } catch (error) {
    const dead = [agent, sim].find((p) => p?.exitStatus() !== undefined);
    const tail = dead === undefined ? "" : `\n${dead.name} log:\n${await dead.logTail(12)}`;
    return {
      ...base,
      ok: false,
      error: `${error instanceof Error ? error.message : String(error)}${tail}`,
      pods: 0,
      processes: agent === undefined ? 0 : 1,
      cpuSeconds: Number.NaN,
      windowSeconds: 0,
      peakRssMiB: Number.NaN,
      rssMiB: Number.NaN,
      apiRequests: {},
      metrics: {},
    };
  } finally {
    await agent?.stop({ timeoutMs: 15_000 });
    await purgeNamespace(ctx.admin, namespace, 300_000).catch(() => undefined);
    await deleteNodes(ctx.admin, [nodeName]);
    await sim?.stop({ timeoutMs: 5_000 });
  }
}

/** The cloud-calls lines of the report, one per run. */
export function cloudCallsSummaries(runs: readonly RunResult[]): CloudCallsSummary[] {
  return runs.flatMap((r) =>
    r.scenario !== "cloud-calls" || r.provider === undefined
      ? []
      : [
          {
            provider: r.provider,
            ok: r.ok,
            ...(r.error === undefined ? {} : { error: r.error }),
            pods: r.cloudCalls?.pods ?? r.pods,
            readyFraction: r.metrics.readyFraction ?? 0,
            ...(r.cloudCalls === undefined ? {} : { figures: r.cloudCalls }),
          },
        ],
  );
}
