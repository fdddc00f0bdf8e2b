/**
 * The two virtual nodes of the cloud-bursting example: an "on-premises" node with a small pod
 * capacity that workloads prefer, and a tainted "burst" node that takes the overflow. Both run on
 * provider-mock here; in production the burst node is a cloud provider (Fargate, ACI, Cloud Run)
 * and the on-premises capacity is real kubelets — the scheduling rules are the same.
 */
import type { NodeOptions } from "@virtual-node/core";
import type { Taint } from "@virtual-node/core/kube";
import { createMockProvider, type MockCloudApi, type MockProvider } from "@virtual-node/provider-mock";

/** Node label that tells the two kinds of capacity apart; the Deployment prefers `on-prem`. */
export const SITE_LABEL = "cloud-bursting.virtual-node.io/site";

/** Taint on the burst node: only pods that tolerate it (opt in to paying for cloud capacity) go there. */
export const BURST_TAINT: Taint = { key: "virtual-node.io/burst", value: "true", effect: "NoSchedule" };

/**
 * The default virtual-kubelet taint, kept on both nodes so that pods which never asked for a
 * virtual node (DaemonSets, other teams' Deployments) stay off them.
 */
export const PROVIDER_TAINT: Taint = {
  key: "virtual-kubelet.io/provider",
  value: "mock",
  effect: "NoSchedule",
};

export interface BurstingNodesOptions {
  /** Name prefix; the nodes are `<prefix>-onprem` and `<prefix>-burst`. */
  prefix: string;
  /** Pod capacity of the on-premises node (the scheduler's `pods` resource). Default 10. */
  onPremPods?: number;
  /** The mock cloud behind both providers (one cloud, two nodes, like two sites of one test backend). */
  cloud: MockCloudApi;
  /** InternalIP of both nodes (where their kubelet API is reachable). */
  internalIP?: string;
  /** Kubelet API ports of the two nodes, when the kubelet API is served (metrics-server scrapes it). */
  kubeletPorts?: { onPrem: number; burst: number };
}

export interface BurstingNodes {
  readonly onPrem: { readonly nodeName: string; readonly provider: MockProvider };
  readonly burst: { readonly nodeName: string; readonly provider: MockProvider };
  /** For `createVirtualNodeGroup({ nodes })`. */
  readonly nodes: NodeOptions[];
}

/** The node options of the example's two nodes. */
export function burstingNodes(options: BurstingNodesOptions): BurstingNodes {
  const pods = String(options.onPremPods ?? 10);
  const onPrem = {
    nodeName: `${options.prefix}-onprem`,
    provider: createMockProvider({
      cloud: options.cloud,
      // Both capacity and allocatable: the scheduler's NodeResourcesFit counts pods against allocatable.
      node: { capacity: { pods }, allocatable: { pods } },
    }),
  };
  const burst = {
    nodeName: `${options.prefix}-burst`,
    provider: createMockProvider({ cloud: options.cloud }),
  };
  const common = (port: number | undefined) => ({
    ...(options.internalIP === undefined ? {} : { internalIP: options.internalIP }),
    ...(port === undefined ? {} : { kubeletPort: port }),
  });
  return {
    onPrem,
    burst,
    nodes: [
      {
        ...onPrem,
        labels: { [SITE_LABEL]: "on-prem" },
        taints: [PROVIDER_TAINT],
        ...common(options.kubeletPorts?.onPrem),
      },
      {
        ...burst,
        labels: { [SITE_LABEL]: "burst" },
        taints: [PROVIDER_TAINT, BURST_TAINT],
        ...common(options.kubeletPorts?.burst),
      },
    ],
  };
}
