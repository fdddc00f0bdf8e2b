/**
 * `/stats/summary` and `/metrics/resource`: completes what the provider reports into the
 * kubelet's Summary shape, and renders the kubelet's resource metrics
 * (`pkg/kubelet/metrics/collectors/resource_metrics.go`) in the Prometheus text format, with the
 * samples' own timestamps as the kubelet writes them (metrics-server reads this endpoint).
 */
import type {
  ContainerStats,
  CPUStats,
  MemoryStats,
  NodeStats,
  PodStats,
  ProviderStatsSummary,
  StatsSummary,
} from "./stats-types.js";
import { renderFamilies, type MetricFamily, type Sample } from "./exposition.js";

function sum(values: readonly (number | undefined)[]): number | undefined {
  const present = values.filter((v): v is number => v !== undefined);
  return present.length === 0 ? undefined : present.reduce((a, b) => a + b, 0);
}

function latest(times: readonly (string | undefined)[], fallback: string): string {
  let best: string | undefined;
  let bestMs = -Infinity;
  for (const t of times) {
    if (t === undefined) continue;
    const ms = Date.parse(t);
    if (ms > bestMs) {
      bestMs = ms;
      best = t;
    }
  }
  return best ?? fallback;
}

function sumCpu(parts: readonly (CPUStats | undefined)[], now: string): CPUStats | undefined {
  const present = parts.filter((p): p is CPUStats => p !== undefined);
  if (present.length === 0) return undefined;
  const cpu: CPUStats = {
    time: latest(
      present.map((p) => p.time),
      now,
    ),
  };
  const nano = sum(present.map((p) => p.usageNanoCores));
  const total = sum(present.map((p) => p.usageCoreNanoSeconds));
  if (nano !== undefined) cpu.usageNanoCores = nano;
  if (total !== undefined) cpu.usageCoreNanoSeconds = total;
  return cpu;
}

function sumMemory(parts: readonly (MemoryStats | undefined)[], now: string): MemoryStats | undefined {
  const present = parts.filter((p): p is MemoryStats => p !== undefined);
  if (present.length === 0) return undefined;
  const memory: MemoryStats = {
    time: latest(
      present.map((p) => p.time),
      now,
    ),
  };
  for (const key of ["usageBytes", "workingSetBytes", "rssBytes", "pageFaults", "majorPageFaults"] as const) {
    const v = sum(present.map((p) => p[key]));
    if (v !== undefined) memory[key] = v;
  }
  return memory;
}

/**
 * The full Summary: pod CPU/memory summed from containers when the provider left them out, node
 * CPU/memory summed from pods when absent, and `nodeName`/`startTime` filled in.
 */
export function completeSummary(
  nodeName: string,
  startTime: Date,
  reported: ProviderStatsSummary,
  now = new Date(),
): StatsSummary {
  const nowIso = now.toISOString();
  const pods: PodStats[] = reported.pods.map((pod) => {
    const completed: PodStats = { ...pod, containers: [...pod.containers] };
    completed.cpu ??= sumCpu(
      pod.containers.map((c) => c.cpu),
      nowIso,
    );
    completed.memory ??= sumMemory(
      pod.containers.map((c) => c.memory),
      nowIso,
    );
    if (completed.cpu === undefined) delete completed.cpu;
    if (completed.memory === undefined) delete completed.memory;
    return completed;
  });
  const node: NodeStats = {
    ...reported.node,
    nodeName,
    startTime: reported.node?.startTime ?? startTime.toISOString(),
  };
  node.cpu ??= sumCpu(
    pods.map((p) => p.cpu),
    nowIso,
  ) ?? { time: nowIso, usageNanoCores: 0, usageCoreNanoSeconds: 0 };
  node.memory ??= sumMemory(
    pods.map((p) => p.memory),
    nowIso,
  ) ?? { time: nowIso, usageBytes: 0, workingSetBytes: 0 };
  return { node, pods };
}

/** `?only_cpu_and_memory=true`: the kubelet's CPU-and-memory-only view. */
export function cpuAndMemoryOnly(summary: StatsSummary): StatsSummary {
  const container = (c: ContainerStats): ContainerStats => ({
    name: c.name,
    startTime: c.startTime,
    ...(c.cpu === undefined ? {} : { cpu: c.cpu }),
    ...(c.memory === undefined ? {} : { memory: c.memory }),
  });
  return {
    node: {
      nodeName: summary.node.nodeName,
      startTime: summary.node.startTime,
      ...(summary.node.cpu === undefined ? {} : { cpu: summary.node.cpu }),
      ...(summary.node.memory === undefined ? {} : { memory: summary.node.memory }),
      ...(summary.node.systemContainers === undefined
        ? {}
        : { systemContainers: summary.node.systemContainers.map(container) }),
    },
    pods: summary.pods.map((p) => ({
      podRef: p.podRef,
      startTime: p.startTime,
      containers: p.containers.map(container),
      ...(p.cpu === undefined ? {} : { cpu: p.cpu }),
      ...(p.memory === undefined ? {} : { memory: p.memory }),
    })),
  };
}

type Family = MetricFamily;

function sample(labels: Record<string, string>, value: number, time?: string): Sample {
  return { labels, value, ...(time === undefined ? {} : { time }) };
}

/** The kubelet's `/metrics/resource` for a summary (`scrapeError`: the summary could not be read). */
export function renderResourceMetrics(summary: StatsSummary | undefined): string {
  const families: Family[] = [
    {
      name: "container_cpu_usage_seconds_total",
      help: "[STABLE] Cumulative cpu time consumed by the container in core-seconds",
      type: "counter",
      samples: [],
    },
    {
      name: "container_memory_working_set_bytes",
      help: "[STABLE] Current working set of the container in bytes",
      type: "gauge",
      samples: [],
    },
    {
      name: "container_start_time_seconds",
      help: "[STABLE] Start time of the container since unix epoch in seconds",
      type: "gauge",
      samples: [],
    },
    {
      name: "node_cpu_usage_seconds_total",
      help: "[STABLE] Cumulative cpu time consumed by the node in core-seconds",
      type: "counter",
      samples: [],
    },
    {
      name: "node_memory_working_set_bytes",
      help: "[STABLE] Current working set of the node in bytes",
      type: "gauge",
      samples: [],
    },
    {
      name: "pod_cpu_usage_seconds_total",
      help: "[STABLE] Cumulative cpu time consumed by the pod in core-seconds",
      type: "counter",
      samples: [],
    },
    {
      name: "pod_memory_working_set_bytes",
      help: "[STABLE] Current working set of the pod in bytes",
      type: "gauge",
      samples: [],
    },
    {
      name: "resource_scrape_error",
      help: "[STABLE] 1 if there was an error while getting container metrics, 0 otherwise",
      type: "gauge",
      samples: [],
    },
    {
      name: "scrape_error",
      help: "[ALPHA] (Deprecated since 1.29.0) 1 if there was an error while getting container metrics, 0 otherwise",
      type: "gauge",
      samples: [],
    },
  ];
  const family = (name: string): Family => {
    const f = families.find((x) => x.name === name);
    if (f === undefined) throw new Error(`unknown family ${name}`);
    return f;
  };
  const errorValue = summary === undefined ? 1 : 0;
  family("resource_scrape_error").samples.push(sample({}, errorValue));
  family("scrape_error").samples.push(sample({}, errorValue));
  if (summary !== undefined) {
    const { node } = summary;
    if (node.cpu?.usageCoreNanoSeconds !== undefined)
      family("node_cpu_usage_seconds_total").samples.push(
        sample({}, node.cpu.usageCoreNanoSeconds / 1e9, node.cpu.time),
      );
    if (node.memory?.workingSetBytes !== undefined)
      family("node_memory_working_set_bytes").samples.push(
        sample({}, node.memory.workingSetBytes, node.memory.time),
      );
    for (const pod of summary.pods) {
      const podLabels = { pod: pod.podRef.name, namespace: pod.podRef.namespace };
      for (const c of pod.containers) {
        const l = { ...podLabels, container: c.name };
        const start = Date.parse(c.startTime);
        if (Number.isFinite(start) && start > 0)
          family("container_start_time_seconds").samples.push(sample(l, start / 1000));
        if (c.cpu?.usageCoreNanoSeconds !== undefined)
          family("container_cpu_usage_seconds_total").samples.push(
            sample(l, c.cpu.usageCoreNanoSeconds / 1e9, c.cpu.time),
          );
        if (c.memory?.workingSetBytes !== undefined)
          family("container_memory_working_set_bytes").samples.push(
            sample(l, c.memory.workingSetBytes, c.memory.time),
          );
      }
      if (pod.cpu?.usageCoreNanoSeconds !== undefined)
        family("pod_cpu_usage_seconds_total").samples.push(
          sample(podLabels, pod.cpu.usageCoreNanoSeconds / 1e9, pod.cpu.time),
        );
      if (pod.memory?.workingSetBytes !== undefined)
        family("pod_memory_working_set_bytes").samples.push(
          sample(podLabels, pod.memory.workingSetBytes, pod.memory.time),
        );
    }
  }
  return renderFamilies(families);
}
