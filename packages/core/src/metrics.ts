/**
 * Prometheus metrics through prom-client (the de-facto Node registry: exposition format,
 * histograms and default process metrics done right). Metrics go on a registry the user owns,
 * so an agent can expose them next to its own; names are prefixed `virtual_node_`.
 * Series are not labelled per node: with hundreds of nodes in one process that would multiply
 * every series; per-node state lives in the Node and Lease objects themselves.
 */
import { Counter, Gauge, Histogram, Registry } from "prom-client";

export interface NodeMetrics {
  registry: Registry;
  queueDepth: Gauge;
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
  pods: Gauge<"phase">;
  /** vCPU-seconds billed by the cloud for Running pods (`ProviderPodStatus.billed`). */
  podBilledVcpuSeconds: Counter<"provider" | "namespace">;
  /** GiB-seconds of memory billed by the cloud for Running pods. */
  podBilledMemoryGiBSeconds: Counter<"provider" | "namespace">;
  /**
   * Called before the billed counters are read (each scrape), so usage is charged up to the
   * scrape and not only up to the last status change. Each node adds its meter's flush.
   */
  billingFlushers: Set<() => void>;
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
  const metrics: NodeMetrics = {
    registry,
    billingFlushers,
    queueDepth: new Gauge({
      name: "virtual_node_queue_depth",
      help: "Pod keys waiting in the work queue.",
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
      help: "Pods on this process's virtual nodes by phase.",
      labelNames: ["phase"],
      registers,
    }),
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
