/**
 * The virtual-node agent under test, in its own process: core with the mock provider (in-process mock
 * cloud, zero latency), one node or a group of nodes sharing one connection and one pod watch.
 * Options are core's defaults except the client-side rate limit, which the benchmark sets for every agent.
 *
 * Usage: node vn-agent.js '<AgentJob JSON>'   (prints READY once every node is registered and synced)
 */
import { createConsoleLogger, createVirtualNodeGroup, loadKubeConfig } from "@virtual-node/core";
import { MockCloud, createMockProvider } from "@virtual-node/provider-mock";

export interface AgentJob {
  readonly kubeconfig: string;
  readonly nodeNames: readonly string[];
  /** 0 = no client-side limit. */
  readonly qps: number;
  /** Extra shared options (experiments); core's defaults otherwise. */
  readonly options?: Record<string, number | string | boolean>;
}

const job = JSON.parse(process.argv[2] ?? "{}") as AgentJob;
// core's loader, as the ready agent uses it: client-node's KubeConfig would load its whole generated API.
const kubeConfig = loadKubeConfig({ file: job.kubeconfig });
const cloud = new MockCloud();
const node = { capacity: { pods: "110000" }, allocatable: { pods: "110000" } };
const group = createVirtualNodeGroup({
  nodes: job.nodeNames.map((nodeName) => ({
    nodeName,
    provider: createMockProvider({ cloud, node }),
    internalIP: "127.0.0.1",
  })),
  kubeConfig,
  qps: job.qps,
  burst: job.qps === 0 ? 0 : job.qps * 2,
  logger: createConsoleLogger({ level: process.env.VIRTUAL_NODE_BENCH_LOG === "debug" ? "debug" : "warn" }),
  shutdown: "leave",
  // The benchmark measures the pod path; a kubelet API listener per node is not part of it.
  kubeletApi: { enabled: false },
  ...job.options,
});
// Memory breakdown for heap investigations: one JSON line per second on stderr (the process log).
if (process.env.VIRTUAL_NODE_BENCH_MEMORY === "1") {
  // With --expose-gc (`--vn-node-arg=--expose-gc`) every line is taken after a full GC: live data only.
  const collect = (globalThis as { gc?: () => void }).gc;
  setInterval(() => {
    collect?.();
    const m = process.memoryUsage();
    const mib = (b: number) => Math.round(b / 104857.6) / 10;
    process.stderr.write(
      `${JSON.stringify({ t: Date.now(), rss: mib(m.rss), heapTotal: mib(m.heapTotal), heapUsed: mib(m.heapUsed), external: mib(m.external), arrayBuffers: mib(m.arrayBuffers) })}\n`,
    );
  }, 1000).unref();
}
// Where a backlog sits (fleet investigations): every 10 s one JSON line on stderr with the work queues'
// depth, pod syncs and status writes so far, and the API requests so far (from core's own metrics).
if (process.env.VIRTUAL_NODE_BENCH_METRICS === "1") {
  const sum = async (name: string, pick: (labels: Record<string, unknown>) => string = () => "all") => {
    const metric = group.metricsRegistry.getSingleMetric(name);
    const out: Record<string, number> = {};
    // Histograms list _bucket, _sum and _count series: count them by _count.
    const values = ((await metric?.get())?.values ?? []) as {
      value: number;
      labels: Record<string, unknown>;
      metricName?: string;
    }[];
    for (const v of values) {
      if (v.metricName !== undefined && v.metricName !== name && !v.metricName.endsWith("_count")) continue;
      const key = pick(v.labels);
      out[key] = (out[key] ?? 0) + v.value;
    }
    return out;
  };
  setInterval(() => {
    void (async () => {
      const line = {
        t: Date.now(),
        queueDepth: (await sum("virtual_node_queue_depth")).all ?? 0,
        syncs: await sum("virtual_node_pod_sync_duration_seconds", (l) => String(l.result)),
        statusWrites: await sum("virtual_node_pod_status_writes_total", (l) => String(l.result)),
        api: await sum("virtual_node_api_requests_total", (l) => `${String(l.verb)} ${String(l.resource)}`),
        pendingOldestSeconds: Math.max(
          0,
          ...Object.values(await sum("virtual_node_pod_pending_oldest_seconds", (l) => String(l.node))),
        ),
      };
      process.stderr.write(`${JSON.stringify(line)}\n`);
    })();
  }, 10_000).unref();
}
const controller = new AbortController();
process.on("SIGTERM", () => {
  controller.abort();
});
process.on("SIGINT", () => {
  controller.abort();
});
void group.ready.then(() => process.stdout.write("READY\n"));
await group.run(controller.signal);
// Timers of the mock cloud may still be armed; the profile (--cpu-prof) is written on exit.
process.exit(0);
