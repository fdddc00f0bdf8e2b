/**
 * Prometheus metrics through prom-client (the de-facto Node registry: exposition format,
 * histograms and default process metrics done right). Metrics go on a registry the user owns,
 * so an agent can expose them next to its own; names are prefixed `virtual_node_`.
 * Event metrics (calls, syncs, latencies) are not labelled per node: with hundreds of nodes in
 * one process that would multiply every histogram. The per-node gauges (pods by phase, Ready,
 * lease age, stuck pods, queue depth) are a handful of series per node and are computed at
 * scrape time from what each node registered with {@link NodeMetrics.addNode}.
 * deploy/observability/ holds the dashboard and alerts built on these names (docs/observability.md).
 */
import { Counter, Gauge, Histogram, Registry } from "prom-client";
import { systemClock, type Clock } from "./clock.js";
import type { Pod } from "./kube/types.js";
import { providerApiMetrics, type ProviderApiMetrics } from "./provider-kit/rate-limit.js";

/** What one node contributes to the per-node gauges; read at every scrape. */
export interface NodeMetricsSource {
  /**
   * Pods, e.g. the informer's store. Only those whose `spec.nodeName` is this node count, so the
   * nodes of a group can share one function over the group's store: it is read once per scrape.
   */
  readonly listPods: () => Iterable<Pod>;
  /** The node's Ready condition as last written: undefined before the Node exists. */
  readonly ready: () => boolean | undefined;
  /** Last successful lease renewal, ms since the epoch; 0 before the first. */
  readonly lastLeaseRenewMs: () => number;
}

/** The phases `virtual_node_pods` always reports (0 when empty), as kube-state-metrics does. */
const POD_PHASES = ["Pending", "Running", "Succeeded", "Failed", "Unknown"] as const;

export interface NodeMetrics {
  registry: Registry;
  /** Keys waiting in a node's work queue (`{node}`; unlabelled when set without one). */
  queueDepth: Gauge<"node">;
  queueAdds: Counter;
  queueRetries: Counter;
  syncSeconds: Histogram<"result">;
  providerCalls: Counter<"operation" | "result">;
  providerSeconds: Histogram<"operation">;
  statusWrites: Counter<"result">;
  leaseRenewSeconds: Histogram;
  leaseRenewFailures: Counter;
  informerRestarts: Counter<"resource" | "reason">;
  apiRequests: Counter<"verb" | "resource" | "code">;
  /** Pods bound to each registered node, by phase (collected at scrape time). */
  pods: Gauge<"node" | "phase">;
  /** 1 when a registered node's Ready condition is True, 0 when False. */
  nodeReady: Gauge<"node">;
  /** Unix time of a registered node's last successful lease renewal. */
  leaseLastRenew: Gauge<"node">;
  /** Age of a node's oldest Pending pod that is not being deleted (0 when none). */
  podPendingOldest: Gauge<"node">;
  /** How long past its `deletionTimestamp` a node's oldest terminating pod is (0 when none). */
  podTerminatingOverdue: Gauge<"node">;
  /** Pod creation → first seen Running, as the API reports both. */
  podStartSeconds: Histogram;
  /** The provider kit's cloud-API metrics (calls, throttles, rate-limit waits), always exported. */
  providerApi: ProviderApiMetrics;
  /** vCPU-seconds billed by the cloud for Running pods (`ProviderPodStatus.billed`). */
  podBilledVcpuSeconds: Counter<"provider" | "namespace">;
  /** GiB-seconds of memory billed by the cloud for Running pods. */
  podBilledMemoryGiBSeconds: Counter<"provider" | "namespace">;
  /**
   * Called before the billed counters are read (each scrape), so usage is charged up to the
   * scrape and not only up to the last status change. Each node adds its meter's flush.
   */
  billingFlushers: Set<() => void>;
  /**
   * Registers a node for the per-node gauges; returns the function that removes it (and its
   * series). `clock` dates the ages (default: the system clock).
   */
  addNode(nodeName: string, source: NodeMetricsSource, clock?: Clock): () => void;
}

interface RegisteredNode {
  source: NodeMetricsSource;
  clock: Clock;
}

function ageSeconds(now: number, time: Date | string | undefined): number {
  if (time === undefined) return 0;
  const ms = new Date(time).getTime();
  return Number.isFinite(ms) ? Math.max(0, (now - ms) / 1000) : 0;
}

/** The registered nodes' pods, by node; each distinct `listPods` is read once. */
function podsByNode(nodes: ReadonlyMap<string, RegisteredNode>): Map<string, Pod[]> {
  const byNode = new Map<string, Pod[]>([...nodes.keys()].map((n) => [n, []]));
  const read = new Set<NodeMetricsSource["listPods"]>();
  for (const { source } of nodes.values()) {
    if (read.has(source.listPods)) continue;
    read.add(source.listPods);
    for (const pod of source.listPods()) {
      const node = pod.spec?.nodeName ?? "";
      if (nodes.get(node)?.source.listPods === source.listPods) byNode.get(node)?.push(pod);
    }
  }
  return byNode;
}

const cache = new WeakMap<Registry, NodeMetrics>();

/** Metrics on `registry` (created once per registry, shared by every node using it). */
export function createMetrics(registry: Registry = new Registry()): NodeMetrics {
  const existing = cache.get(registry);
  if (existing) return existing;
  const registers = [registry];
  const billingFlushers = new Set<() => void>();
  // Both counters flush: whichever prom-client collects first charges usage up to now.
  const flushBilling = (): void => {
    for (const flush of billingFlushers) flush();
  };
  const nodes = new Map<string, RegisteredNode>();
  /** A collect function: reset, then `set` for each registered node with its pods. */
  const perNode = (
    set: (gauge: Gauge, node: string, pods: readonly Pod[], registered: RegisteredNode) => void,
    withPods = false,
  ): ((this: Gauge) => void) =>
    function (this: Gauge) {
      this.reset();
      const pods = withPods ? podsByNode(nodes) : undefined;
      for (const [node, registered] of nodes) set(this, node, pods?.get(node) ?? [], registered);
    };
  const oldestOf = (
    pods: readonly Pod[],
    now: number,
    pick: (pod: Pod) => Date | string | undefined,
  ): number => pods.reduce((oldest, pod) => Math.max(oldest, ageSeconds(now, pick(pod))), 0);
  const metrics: NodeMetrics = {
    registry,
    billingFlushers,
    queueDepth: new Gauge({
      name: "virtual_node_queue_depth",
      help: "Pod keys waiting in the work queue.",
      labelNames: ["node"],
      registers,
    }),
    queueAdds: new Counter({
      name: "virtual_node_queue_adds_total",
      help: "Keys added to the work queue.",
      registers,
    }),
    queueRetries: new Counter({
      name: "virtual_node_queue_retries_total",
      help: "Keys re-queued with backoff after a failed sync.",
      registers,
    }),
    syncSeconds: new Histogram({
      name: "virtual_node_pod_sync_duration_seconds",
      help: "Duration of one pod sync.",
      labelNames: ["result"],
      buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30],
      registers,
    }),
    providerCalls: new Counter({
      name: "virtual_node_provider_calls_total",
      help: "Provider calls by operation and result (ok or error code).",
      labelNames: ["operation", "result"],
      registers,
    }),
    providerSeconds: new Histogram({
      name: "virtual_node_provider_call_duration_seconds",
      help: "Provider call latency by operation.",
      labelNames: ["operation"],
      buckets: [0.001, 0.01, 0.05, 0.1, 0.5, 1, 5, 30, 120],
      registers,
    }),
    statusWrites: new Counter({
      name: "virtual_node_pod_status_writes_total",
      help: "pods/status writes by result (ok, conflict, error).",
      labelNames: ["result"],
      registers,
    }),
    leaseRenewSeconds: new Histogram({
      name: "virtual_node_lease_renew_duration_seconds",
      help: "Node lease renewal latency.",
      buckets: [0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
      registers,
    }),
    leaseRenewFailures: new Counter({
      name: "virtual_node_lease_renew_failures_total",
      help: "Failed node lease renewals.",
      registers,
    }),
    informerRestarts: new Counter({
      name: "virtual_node_informer_restarts_total",
      help: "Watch restarts by resource and reason (error, expired).",
      labelNames: ["resource", "reason"],
      registers,
    }),
    apiRequests: new Counter({
      name: "virtual_node_api_requests_total",
      help: "Kubernetes API requests by verb, resource and status code.",
      labelNames: ["verb", "resource", "code"],
      registers,
    }),
    pods: new Gauge({
      name: "virtual_node_pods",
      help: "Pods bound to the node, by phase (status.phase as the API has it).",
      labelNames: ["node", "phase"],
      registers,
      collect: perNode((gauge, node, pods) => {
        const byPhase = new Map<string, number>(POD_PHASES.map((p) => [p, 0]));
        for (const pod of pods) {
          const phase = pod.status?.phase ?? "Pending";
          byPhase.set(phase, (byPhase.get(phase) ?? 0) + 1);
        }
        for (const [phase, count] of byPhase) gauge.set({ node, phase }, count);
      }, true),
    }),
    nodeReady: new Gauge({
      name: "virtual_node_node_ready",
      help: "1 when the node's Ready condition is True, 0 when it is False.",
      labelNames: ["node"],
      registers,
      collect: perNode((gauge, node, _pods, { source }) => {
        const ready = source.ready();
        if (ready !== undefined) gauge.set({ node }, ready ? 1 : 0);
      }),
    }),
    leaseLastRenew: new Gauge({
      name: "virtual_node_lease_last_renew_timestamp_seconds",
      help: "Unix time of the node's last successful lease renewal.",
      labelNames: ["node"],
      registers,
      collect: perNode((gauge, node, _pods, { source }) => {
        const renewed = source.lastLeaseRenewMs();
        if (renewed > 0) gauge.set({ node }, renewed / 1000);
      }),
    }),
    podPendingOldest: new Gauge({
      name: "virtual_node_pod_pending_oldest_seconds",
      help: "Age of the node's oldest Pending pod that is not being deleted (0 when none).",
      labelNames: ["node"],
      registers,
      collect: perNode((gauge, node, pods, { clock }) => {
        const pending = pods.filter(
          (p) => (p.status?.phase ?? "Pending") === "Pending" && p.metadata?.deletionTimestamp === undefined,
        );
        gauge.set(
          { node },
          oldestOf(pending, clock.now(), (p) => p.metadata?.creationTimestamp),
        );
      }, true),
    }),
    podTerminatingOverdue: new Gauge({
      name: "virtual_node_pod_terminating_overdue_seconds",
      help: "How long the node's oldest terminating pod has outlived its deletionTimestamp (0 when none).",
      labelNames: ["node"],
      registers,
      collect: perNode((gauge, node, pods, { clock }) => {
        gauge.set(
          { node },
          oldestOf(pods, clock.now(), (p) => p.metadata?.deletionTimestamp),
        );
      }, true),
    }),
    podStartSeconds: new Histogram({
      name: "virtual_node_pod_start_duration_seconds",
      help: "Pod creation to first seen Running (image pulls and cloud provisioning included).",
      buckets: [0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300, 600, 1800],
      registers,
    }),
    providerApi: providerApiMetrics(registry),
    addNode(nodeName, source, clock = systemClock) {
      nodes.set(nodeName, { source, clock });
      return () => {
        if (nodes.get(nodeName)?.source !== source) return;
        nodes.delete(nodeName);
        for (const gauge of [
          metrics.nodeReady,
          metrics.leaseLastRenew,
          metrics.podPendingOldest,
          metrics.podTerminatingOverdue,
        ])
          gauge.remove({ node: nodeName });
        for (const phase of POD_PHASES) metrics.pods.remove({ node: nodeName, phase });
        metrics.queueDepth.remove({ node: nodeName });
      };
    },
    podBilledVcpuSeconds: new Counter({
      name: "virtual_node_pod_billed_vcpu_seconds_total",
      help: "vCPU-seconds the cloud bills for Running pods (the shape the provider chose), by provider and namespace.",
      labelNames: ["provider", "namespace"],
      registers,
      collect: flushBilling,
    }),
    podBilledMemoryGiBSeconds: new Counter({
      name: "virtual_node_pod_billed_memory_gib_seconds_total",
      help: "GiB-seconds of memory the cloud bills for Running pods, by provider and namespace.",
      labelNames: ["provider", "namespace"],
      registers,
      collect: flushBilling,
    }),
  };
  cache.set(registry, metrics);
  return metrics;
}
