import { ApiException, V1MicroTime, type V1Lease, type V1Node } from "@kubernetes/client-node";

import { model } from "../../src/kube-objects.js";

/** Taint carried by the test nodes (as virtual-kubelet nodes usually do); test pods tolerate it. */
export const VIRTUAL_NODE_TAINT = {
  key: "virtual-kubelet.io/provider",
  value: "test",
  effect: "NoSchedule",
} as const;
export const NODE_SELECTOR_LABEL = "virtual-node.test/node";
export const NODE_LEASE_NAMESPACE = "kube-node-lease";

/** HTTP status of a client-node error, or undefined for anything else. */
export function statusOf(error: unknown): number | undefined {
  return error instanceof ApiException ? error.code : undefined;
}

/** Resolves to the HTTP status the call failed with (fails the test when it succeeds). */
export async function failureStatus(call: Promise<unknown>): Promise<number | undefined> {
  try {
    await call;
  } catch (error) {
    return statusOf(error);
  }
  throw new Error("expected the API call to be rejected");
}

/** A Ready node object as a kubelet would register it. */
export function readyNode(name: string): V1Node {
  const now = new Date();
  const resources = { cpu: "8", memory: "32Gi", pods: "110" };
  return model<V1Node>({
    metadata: {
      name,
      labels: { "kubernetes.io/hostname": name, "kubernetes.io/os": "linux", [NODE_SELECTOR_LABEL]: name },
    },
    spec: { taints: [{ ...VIRTUAL_NODE_TAINT }] },
    status: {
      conditions: [
        {
          type: "Ready",
          status: "True",
          reason: "KubeletReady",
          message: "test kubelet is ready",
          lastHeartbeatTime: now,
          lastTransitionTime: now,
        },
      ],
      capacity: resources,
      allocatable: resources,
      addresses: [{ type: "InternalIP", address: "127.0.0.1" }],
    },
  });
}

export function nodeLease(name: string): V1Lease {
  return model<V1Lease>({
    metadata: { name, namespace: NODE_LEASE_NAMESPACE },
    spec: { holderIdentity: name, leaseDurationSeconds: 40, renewTime: new V1MicroTime() },
  });
}
