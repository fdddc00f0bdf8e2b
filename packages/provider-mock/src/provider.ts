/**
 * The provider adapter: the whole `Provider` contract over the mock cloud's API. This is the file
 * a provider author copies — each method is one translation (`mapping.ts`), one cloud call, and
 * one translation back (`status.ts`). Everything hard (latency, faults, lifecycle) lives in the
 * backend, as it does for a real cloud.
 */
import { podKey, throwIfAborted } from "@virtual-node/core";
import type {
  CallOptions,
  NodeDescription,
  PodRef,
  Provider,
  ProviderCapabilities,
  ProviderPodStatus,
  ProviderPodSummary,
  StatusListener,
} from "@virtual-node/core";
import { parseOwnership } from "@virtual-node/core/provider-kit";
import { createMockKubeletHooks } from "./kubelet-hooks.js";
import type { MockKubeletHooks, MockKubeletHooksOptions } from "./kubelet-hooks.js";
import { toMockGroupSpec } from "./mapping.js";
import { MockCloud } from "./mock-cloud.js";
import { toProviderPodStatus } from "./status.js";
import type { MockCloudApi, MockGroupInfo, MockGroupState } from "./types.js";

/** Everything the simulator runs. */
export const mockCapabilities: ProviderCapabilities = {
  volumes: ["emptyDir", "configMap", "secret", "projected", "downwardAPI", "persistentVolumeClaim"],
  initContainers: true,
  sidecarContainers: true,
  ephemeralContainers: false,
  probes: {
    liveness: ["exec", "httpGet", "tcpSocket"],
    readiness: ["exec", "httpGet", "tcpSocket"],
    startup: ["exec", "httpGet", "tcpSocket"],
  },
  hostNetwork: false,
  hostPID: false,
  hostIPC: false,
  privileged: false,
  securityContext: [
    "runAsUser",
    "runAsGroup",
    "runAsNonRoot",
    "readOnlyRootFilesystem",
    "allowPrivilegeEscalation",
  ],
  restartPolicies: ["Always", "OnFailure", "Never"],
  portProtocols: ["TCP", "UDP"],
  extendedResources: ["nvidia.com/gpu"],
  mountedFileUpdates: true,
  podIPBeforeStart: true,
};

/** The node the mock describes; `options.node` overrides it field by field (maps are merged). */
export const mockNodeDescription: NodeDescription = {
  capacity: { cpu: "1000", memory: "4Ti", pods: "10000", "nvidia.com/gpu": "8" },
  allocatable: { cpu: "1000", memory: "4Ti", pods: "10000", "nvidia.com/gpu": "8" },
  labels: {
    "topology.kubernetes.io/region": "mock-region-1",
    "topology.kubernetes.io/zone": "mock-region-1a",
    "node.kubernetes.io/instance-type": "mock.large",
  },
  region: "mock-region-1",
  zone: "mock-region-1a",
  instanceType: "mock.large",
  operatingSystem: "linux",
  architecture: "amd64",
  kernelVersion: "mock",
  osImage: "virtual-node mock",
  containerRuntimeVersion: "mock://0.1.0",
};

export interface MockProviderOptions {
  /** The backend: an in-process `MockCloud` or a `connectMockCloud(url)` client (default: a new `MockCloud`). */
  cloud?: MockCloudApi;
  /** Provider name (default `mock`). */
  name?: string;
  capabilities?: Partial<ProviderCapabilities>;
  node?: NodeDescription;
  /** Offer `subscribeStatus` (default true); false leaves core to poll. */
  pushStatus?: boolean;
  /** Largest `getPodStatuses` batch (default 100). */
  statusBatchSize?: number;
  /** Options of the kubelet API hooks (logs, exec, attach, port-forward, stats). */
  kubeletHooks?: MockKubeletHooksOptions;
}

export interface MockProvider extends Provider {
  getContainerLogs: MockKubeletHooks["getContainerLogs"];
  exec: MockKubeletHooks["exec"];
  attach: MockKubeletHooks["attach"];
  portForward: MockKubeletHooks["portForward"];
  getStatsSummary: MockKubeletHooks["getStatsSummary"];
  /** The backend, for inspection (`getGroup`, `callStats`) and fault control (`configure`). */
  readonly cloud: MockCloudApi;
  readonly statusBatchSize: number;
  getPodStatuses(
    refs: readonly PodRef[],
    options: CallOptions,
  ): Promise<Map<string, ProviderPodStatus | undefined>>;
  ping(options: CallOptions): Promise<void>;
  describeNode(nodeName: string, options: CallOptions): Promise<NodeDescription>;
  /** What the cloud received for a pod: the group spec (resolved env, volume files) and its state. */
  getGroup(namespace: string, name: string): Promise<MockGroupInfo | undefined>;
}

function mergeNode(
  base: NodeDescription,
  override: NodeDescription | undefined,
  hostIP: string,
): NodeDescription {
  const merged: NodeDescription = {
    ...base,
    addresses: [{ type: "InternalIP", address: hostIP }],
    ...override,
  };
  for (const key of ["capacity", "allocatable", "labels", "annotations"] as const) {
    if (base[key] !== undefined || override?.[key] !== undefined)
      merged[key] = { ...base[key], ...override?.[key] };
  }
  return merged;
}

function refOf(x: PodRef): PodRef {
  return { namespace: x.namespace, name: x.name, uid: x.uid };
}

/**
 * A listed group as a pod summary, decided by its ownership tags (the kit's `parseOwnership`), as a
 * real cloud's provider must: a group without this node's marks is not ours to adopt or clean up.
 */
function summaryOf(state: MockGroupState, nodeName: string): ProviderPodSummary[] {
  const owner = parseOwnership(state.tags);
  if (owner?.nodeName !== nodeName) return [];
  return [{ ...owner, status: toProviderPodStatus(state) }];
}

export function createMockProvider(options: MockProviderOptions = {}): MockProvider {
  const cloud = options.cloud ?? new MockCloud();
  const capabilities: ProviderCapabilities = { ...mockCapabilities, ...options.capabilities };

  const provider: MockProvider = {
    name: options.name ?? "mock",
    capabilities,
    cloud,
    statusBatchSize: options.statusBatchSize ?? 100,

    async createPod(pod, { signal }) {
      throwIfAborted(signal);
      await cloud.createPod(toMockGroupSpec(pod, { capabilities }), { signal });
    },

    async updatePod(pod, { signal }) {
      throwIfAborted(signal);
      await cloud.updatePod(toMockGroupSpec(pod, { capabilities }), { signal });
    },

    async deletePod(ref, gracePeriodSeconds, { signal }) {
      throwIfAborted(signal);
      await cloud.deletePod(ref, gracePeriodSeconds, { signal });
    },

    async allocatePodIPs(ref, { signal }) {
      throwIfAborted(signal);
      return [await cloud.reservePodIP(ref, { signal })];
    },

    async getPodStatus(ref, { signal }) {
      throwIfAborted(signal);
      const state = await cloud.getPod(ref, { signal });
      return state === undefined ? undefined : toProviderPodStatus(state);
    },

    async listPods(nodeName, { signal }) {
      throwIfAborted(signal);
      return (await cloud.listPods(nodeName, { signal })).flatMap((state) => summaryOf(state, nodeName));
    },

    async getPodStatuses(refs, { signal }) {
      throwIfAborted(signal);
      const states = await cloud.getStatuses(refs, { signal });
      const statuses = new Map<string, ProviderPodStatus | undefined>();
      refs.forEach((ref, i) => {
        const state = states[i];
        statuses.set(podKey(ref), state === undefined ? undefined : toProviderPodStatus(state));
      });
      return statuses;
    },

    async ping({ signal }) {
      throwIfAborted(signal);
      await cloud.ping({ signal });
    },

    async describeNode(_nodeName, { signal }) {
      throwIfAborted(signal);
      const info = await cloud.ping({ signal });
      return mergeNode(mockNodeDescription, options.node, info.hostIP);
    },

    getGroup: (namespace, name) => cloud.getGroup(namespace, name),

    ...createMockKubeletHooks(cloud, options.kubeletHooks),
  };

  if (options.pushStatus !== false) {
    provider.subscribeStatus = (nodeName: string, listener: StatusListener) =>
      cloud.watch(nodeName, (event) => {
        if (event.type === "deleted") listener(refOf(event.ref), undefined);
        else
          for (const state of event.type === "sync" ? event.states : [event.state])
            listener(refOf(state), toProviderPodStatus(state));
      });
  }
  return provider;
}
