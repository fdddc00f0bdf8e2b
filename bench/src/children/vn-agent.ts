/**
 * The virtual-node agent under test, in its own process: core with the mock provider (in-process mock
 * cloud, zero latency), one node or a group of nodes sharing one connection and one pod watch.
 * Options are core's defaults except the client-side rate limit, which the benchmark sets for every agent.
 *
 * Usage: node vn-agent.js '<AgentJob JSON>'   (prints READY once every node is registered and synced)
 */
import { KubeConfig } from "@kubernetes/client-node";
import { createConsoleLogger, createVirtualNodeGroup } from "@virtual-node/core";
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
const kubeConfig = new KubeConfig();
kubeConfig.loadFromFile(job.kubeconfig);
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
