/**
 * The kubelet's Summary API shape (`k8s.io/kubelet/pkg/apis/stats/v1alpha1`), as served at
 * `/stats/summary` and read by metrics-server and the upstream e2e suite. Field names are the JSON
 * names; times are RFC 3339 strings; every counter is optional, as in the kubelet.
 */

export interface CPUStats {
  time: string;
  /** Average usage over the last sample window, in nanocores. */
  usageNanoCores?: number;
  /** Cumulative usage since the container started, in core-nanoseconds. */
  usageCoreNanoSeconds?: number;
}

export interface MemoryStats {
  time: string;
  availableBytes?: number;
  usageBytes?: number;
  workingSetBytes?: number;
  rssBytes?: number;
  pageFaults?: number;
  majorPageFaults?: number;
}

export interface FsStats {
  time: string;
  availableBytes?: number;
  capacityBytes?: number;
  usedBytes?: number;
  inodesFree?: number;
  inodes?: number;
  inodesUsed?: number;
}

export interface InterfaceStats {
  name: string;
  rxBytes?: number;
  rxErrors?: number;
  txBytes?: number;
  txErrors?: number;
}

/** The default interface's counters are inlined (Go's embedded struct), plus all interfaces. */
export interface NetworkStats extends Partial<InterfaceStats> {
  time: string;
  interfaces?: InterfaceStats[];
}

export interface SwapStats {
  time: string;
  swapAvailableBytes?: number;
  swapUsageBytes?: number;
}

export interface ContainerStats {
  name: string;
  startTime: string;
  cpu?: CPUStats;
  memory?: MemoryStats;
  rootfs?: FsStats;
  logs?: FsStats;
  swap?: SwapStats;
}

export interface PodReference {
  name: string;
  namespace: string;
  uid: string;
}

export interface VolumeStats extends FsStats {
  name?: string;
  pvcRef?: { name: string; namespace: string };
}

export interface PodStats {
  podRef: PodReference;
  startTime: string;
  containers: ContainerStats[];
  cpu?: CPUStats;
  memory?: MemoryStats;
  network?: NetworkStats;
  volume?: VolumeStats[];
  "ephemeral-storage"?: FsStats;
  process_stats?: { process_count?: number };
  swap?: SwapStats;
}

export interface NodeStats {
  nodeName: string;
  systemContainers?: ContainerStats[];
  startTime: string;
  cpu?: CPUStats;
  memory?: MemoryStats;
  network?: NetworkStats;
  fs?: FsStats;
  runtime?: { imageFs?: FsStats; containerFs?: FsStats };
  rlimit?: { time: string; maxpid?: number; curproc?: number };
  swap?: SwapStats;
}

/** `GET /stats/summary`. */
export interface StatsSummary {
  node: NodeStats;
  pods: PodStats[];
}

/** What a provider returns from `getStatsSummary`; core completes the node part. */
export interface ProviderStatsSummary {
  node?: Partial<NodeStats>;
  pods: PodStats[];
}
