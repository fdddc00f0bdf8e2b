/**
 * `/metrics/cadvisor`: the container metrics the kubelet's embedded cAdvisor serves, with its
 * metric names, help texts and label set (`container`, `id`, `image`, `name`, `namespace`, `pod`,
 * plus `cpu="total"` on CPU and `interface` on network), built from the provider's stats
 * (`KubeletHooks.getStatsSummary`) and the API pods. Scrape configs written for real kubelets
 * (kube-prometheus' kubelet ServiceMonitor, its `image!=""` recording rules) then see
 * virtual-node pods like any other.
 *
 * What a cloud does not have is not invented: there are no cgroups, so `id` is the cgroup-like
 * path `/kubepods/pod<uid>[/<container id>]` (stable, unique), and families the provider's stats
 * cannot fill (filesystem, memory cache, throttling) are left out rather than reported as zero.
 * As in cAdvisor, each pod has a pod-level series (`container=""`, `image=""`, `name=""`) next to
 * one series per container.
 */
import type { Pod } from "../kube/types.js";
import { renderFamilies, type MetricFamily, type Sample } from "./exposition.js";
import type { ContainerStats, PodStats, StatsSummary } from "./stats-types.js";

/** The families served, in cAdvisor's names (help texts as cAdvisor writes them). */
const FAMILIES = {
  cpu: ["container_cpu_usage_seconds_total", "Cumulative cpu time consumed in seconds.", "counter"],
  memoryUsage: [
    "container_memory_usage_bytes",
    "Current memory usage in bytes, including all memory regardless of when it was accessed",
    "gauge",
  ],
  workingSet: ["container_memory_working_set_bytes", "Current working set in bytes.", "gauge"],
  rss: ["container_memory_rss", "Size of RSS in bytes.", "gauge"],
  start: [
    "container_start_time_seconds",
    "Start time of the container since unix epoch in seconds.",
    "gauge",
  ],
  lastSeen: ["container_last_seen", "Last time a container was seen by the exporter", "gauge"],
  rxBytes: ["container_network_receive_bytes_total", "Cumulative count of bytes received", "counter"],
  rxErrors: [
    "container_network_receive_errors_total",
    "Cumulative count of errors encountered while receiving",
    "counter",
  ],
  txBytes: ["container_network_transmit_bytes_total", "Cumulative count of bytes transmitted", "counter"],
  txErrors: [
    "container_network_transmit_errors_total",
    "Cumulative count of errors encountered while transmitting",
    "counter",
  ],
  scrapeError: [
    "container_scrape_error",
    "1 if there was an error while getting container metrics, 0 otherwise",
    "gauge",
  ],
} as const satisfies Record<string, readonly [string, string, MetricFamily["type"]]>;

type FamilyKey = keyof typeof FAMILIES;

/** The metric names `/metrics/cadvisor` may serve. */
export const CADVISOR_METRIC_NAMES: readonly string[] = Object.values(FAMILIES).map(([name]) => name);

/** `containerd://abc` → `abc`: cAdvisor's `name` label under containerd is the container ID. */
function containerIdOf(pod: Pod | undefined, container: string): string | undefined {
  const statuses = [
    ...(pod?.status?.containerStatuses ?? []),
    ...(pod?.status?.initContainerStatuses ?? []),
    ...(pod?.status?.ephemeralContainerStatuses ?? []),
  ];
  const id = statuses.find((s) => s.name === container)?.containerID;
  if (id === undefined || id === "") return undefined;
  const scheme = id.indexOf("://");
  return scheme < 0 ? id : id.slice(scheme + 3);
}

function imageOf(pod: Pod | undefined, container: string): string {
  const status = [
    ...(pod?.status?.containerStatuses ?? []),
    ...(pod?.status?.initContainerStatuses ?? []),
  ].find((s) => s.name === container);
  if (status?.image !== undefined && status.image !== "") return status.image;
  const spec = [...(pod?.spec?.containers ?? []), ...(pod?.spec?.initContainers ?? [])].find(
    (c) => c.name === container,
  );
  return spec?.image ?? "";
}

/** Inputs of {@link renderCadvisorMetrics}. */
export interface CadvisorInput {
  /** The node's summary; undefined when the provider's stats failed (`container_scrape_error 1`). */
  summary: StatsSummary | undefined;
  /** The API pods bound to the node, for images and container IDs. */
  pods: readonly Pod[];
  /** Scrape time (ms since the epoch), for `container_last_seen`. */
  now: number;
}

/** The kubelet's `/metrics/cadvisor` body for one node. */
export function renderCadvisorMetrics({ summary, pods, now }: CadvisorInput): string {
  const samples = new Map<FamilyKey, Sample[]>((Object.keys(FAMILIES) as FamilyKey[]).map((k) => [k, []]));
  const add = (key: FamilyKey, labels: Record<string, string>, value: number | undefined, time?: string) => {
    if (value === undefined || !Number.isFinite(value)) return;
    samples.get(key)?.push({ labels, value, ...(time === undefined ? {} : { time }) });
  };
  add("scrapeError", {}, summary === undefined ? 1 : 0);
  const byUid = new Map(pods.map((p) => [p.metadata?.uid ?? "", p]));
  for (const stats of summary?.pods ?? []) {
    const pod = byUid.get(stats.podRef.uid);
    const podId = `/kubepods/pod${stats.podRef.uid}`;
    const base = { namespace: stats.podRef.namespace, pod: stats.podRef.name };
    const podLabels = { ...base, container: "", id: podId, image: "", name: "" };
    addUsage(add, podLabels, stats, stats.startTime, now);
    addNetwork(add, podLabels, stats);
    for (const container of stats.containers) {
      const name = containerIdOf(pod, container.name) ?? container.name;
      const labels = {
        ...base,
        container: container.name,
        id: `${podId}/${name}`,
        image: imageOf(pod, container.name),
        name,
      };
      addUsage(add, labels, container, container.startTime, now);
    }
  }
  return renderFamilies(
    (Object.entries(FAMILIES) as [FamilyKey, (typeof FAMILIES)[FamilyKey]][]).map(
      ([key, [name, help, type]]) => ({ name, help, type, samples: samples.get(key) ?? [] }),
    ),
  );
}

type Add = (key: FamilyKey, labels: Record<string, string>, value: number | undefined, time?: string) => void;

function addUsage(
  add: Add,
  labels: Record<string, string>,
  stats: Pick<ContainerStats | PodStats, "cpu" | "memory">,
  startTime: string,
  now: number,
): void {
  const { cpu, memory } = stats;
  const nanoSeconds = cpu?.usageCoreNanoSeconds;
  add(
    "cpu",
    { ...labels, cpu: "total" },
    nanoSeconds === undefined ? undefined : nanoSeconds / 1e9,
    cpu?.time,
  );
  add("memoryUsage", labels, memory?.usageBytes, memory?.time);
  add("workingSet", labels, memory?.workingSetBytes, memory?.time);
  add("rss", labels, memory?.rssBytes, memory?.time);
  const started = Date.parse(startTime);
  if (Number.isFinite(started) && started > 0) add("start", labels, started / 1000);
  add("lastSeen", labels, Math.floor(now / 1000));
}

function addNetwork(add: Add, labels: Record<string, string>, stats: PodStats): void {
  const network = stats.network;
  if (network === undefined) return;
  const interfaces =
    network.interfaces ??
    (network.name === undefined
      ? []
      : [
          {
            name: network.name,
            ...(network.rxBytes === undefined ? {} : { rxBytes: network.rxBytes }),
            ...(network.rxErrors === undefined ? {} : { rxErrors: network.rxErrors }),
            ...(network.txBytes === undefined ? {} : { txBytes: network.txBytes }),
            ...(network.txErrors === undefined ? {} : { txErrors: network.txErrors }),
          },
        ]);
  for (const i of interfaces) {
    const l = { ...labels, interface: i.name };
    add("rxBytes", l, i.rxBytes, network.time);
    add("rxErrors", l, i.rxErrors, network.time);
    add("txBytes", l, i.txBytes, network.time);
    add("txErrors", l, i.txErrors, network.time);
  }
}
