/**
 * Node lifecycle and lease against the real control plane, judged by the real node lifecycle
 * controller (the shared control plane runs it with a 20 s grace period).
 */
import { createMockProvider } from "@virtual-node/provider-mock";
import { beforeAll, describe, expect, it } from "vitest";
import type { ControlPlaneHandle } from "@virtual-node/testing";
import {
  apis,
  controlPlane,
  startNode,
  startNodeWithKubeletApi,
  uniqueName,
  waitFor,
  type Apis,
} from "./support.js";

const readyOf = (node: { status?: { conditions?: { type: string; status: string; reason?: string }[] } }) =>
  node.status?.conditions?.find((c) => c.type === "Ready");

describe("node lifecycle and lease", () => {
  let cp: ControlPlaneHandle;
  let api: Apis;

  beforeAll(async () => {
    cp = await controlPlane();
    api = apis(cp.kubeConfig);
  });

  it("registers the node with labels, taints, capacity, conditions, addresses and endpoints", async () => {
    const nodeName = uniqueName("vn-reg");
    const identity = await cp.nodeIdentity(nodeName);
    const running = await startNode(identity.kubeConfig, nodeName, createMockProvider(), {
      kubeletPort: 10555,
    });
    try {
      const node = await api.core.readNode({ name: nodeName });
      expect(node.metadata?.labels).toMatchObject({
        type: "virtual-kubelet",
        "kubernetes.io/os": "linux",
        "kubernetes.io/arch": "amd64",
        "kubernetes.io/hostname": nodeName,
      });
      expect(node.metadata?.labels?.["topology.kubernetes.io/region"]).toBeTruthy();
      expect(node.spec?.taints).toContainEqual(
        expect.objectContaining({ key: "virtual-kubelet.io/provider", value: "mock", effect: "NoSchedule" }),
      );
      expect(node.status?.capacity?.pods).toBeTruthy();
      expect(node.status?.capacity?.cpu).toBeTruthy();
      expect(node.status?.allocatable?.memory).toBeTruthy();
      expect(readyOf(node)).toMatchObject({ status: "True", reason: "KubeletReady" });
      expect(node.status?.addresses?.map((a) => ({ ...a }))).toContainEqual({
        type: "InternalIP",
        address: "127.0.0.1",
      });
      expect(node.status?.daemonEndpoints?.kubeletEndpoint?.Port).toBe(10555);
      expect(node.status?.nodeInfo?.kubeletVersion).toMatch(/^v1\./);
      const lease = await api.coordination.readNamespacedLease({
        name: nodeName,
        namespace: "kube-node-lease",
      });
      expect(lease.spec?.holderIdentity).toBe(nodeName);
      expect(lease.spec?.leaseDurationSeconds).toBe(40);
      expect(lease.metadata?.ownerReferences?.[0]).toMatchObject({
        kind: "Node",
        name: nodeName,
        uid: node.metadata?.uid,
      });
    } finally {
      await running.stop();
    }
  });

  it("adopts an existing node and keeps labels, annotations and taints that others added", async () => {
    const nodeName = uniqueName("vn-adopt");
    const first = await startNode(cp.kubeConfig, nodeName, createMockProvider(), {
      labels: { team: "a", old: "x" },
    });
    await first.stop();
    // Someone else labels and taints the node while the agent is down; read-modify-write again on a
    // 409 (the controller-manager writes a Node it has just seen, e.g. its lifecycle annotations).
    const node = await waitFor("the Node edited by someone else", async () => {
      const current = await api.core.readNode({ name: nodeName });
      const edited = {
        ...current,
        metadata: {
          ...current.metadata,
          labels: { ...current.metadata?.labels, "example.com/owner": "ops" },
          annotations: { ...current.metadata?.annotations, "example.com/note": "keep" },
        },
        spec: {
          ...current.spec,
          taints: [...(current.spec?.taints ?? []), { key: "example.com/maintenance", effect: "NoSchedule" }],
        },
      };
      return api.core.replaceNode({ name: nodeName, body: edited });
    });

    const second = await startNode(cp.kubeConfig, nodeName, createMockProvider(), { labels: { team: "b" } });
    try {
      const adopted = await api.core.readNode({ name: nodeName });
      expect(adopted.metadata?.uid).toBe(node.metadata?.uid);
      expect(adopted.metadata?.labels?.["example.com/owner"]).toBe("ops");
      expect(adopted.metadata?.labels?.team).toBe("b");
      // A label we applied before and no longer want is removed.
      expect(adopted.metadata?.labels?.old).toBeUndefined();
      expect(adopted.metadata?.annotations?.["example.com/note"]).toBe("keep");
      expect(adopted.spec?.taints?.map((t) => t.key)).toEqual(
        expect.arrayContaining(["example.com/maintenance", "virtual-kubelet.io/provider"]),
      );
    } finally {
      await second.stop();
    }
  });

  it("recreates a deleted Node and a deleted Lease, and keeps the lease owned by the current Node", async () => {
    const nodeName = uniqueName("vn-recreate");
    const running = await startNodeWithKubeletApi(cp.kubeConfig, nodeName, createMockProvider());
    try {
      const before = await waitFor("declared features", async () => {
        const n = await api.core.readNode({ name: nodeName });
        return n.status?.declaredFeatures?.includes("ExtendWebSocketsToKubelet") === true ? n : undefined;
      });
      await api.core.deleteNode({ name: nodeName });
      const after = await waitFor(
        "node recreated",
        async () => {
          const n = await api.core.readNode({ name: nodeName });
          return n.metadata?.uid !== before.metadata?.uid && readyOf(n)?.status === "True" ? n : undefined;
        },
        { timeoutMs: 30_000 },
      );
      // The re-created Node declares the kubelet API's features again (they used to be lost until a restart).
      expect(after.status?.declaredFeatures).toContain("ExtendWebSocketsToKubelet");
      await waitFor("lease owned by the new node", async () => {
        const l = await api.coordination.readNamespacedLease({
          name: nodeName,
          namespace: "kube-node-lease",
        });
        return l.metadata?.ownerReferences?.[0]?.uid === after.metadata?.uid;
      });

      const lease = await api.coordination.readNamespacedLease({
        name: nodeName,
        namespace: "kube-node-lease",
      });
      await api.coordination.deleteNamespacedLease({ name: nodeName, namespace: "kube-node-lease" });
      const renewed = await waitFor(
        "lease recreated",
        async () => {
          const l = await api.coordination.readNamespacedLease({
            name: nodeName,
            namespace: "kube-node-lease",
          });
          return l.metadata?.uid !== lease.metadata?.uid ? l : undefined;
        },
        { timeoutMs: 20_000 },
      );
      expect(renewed.spec?.holderIdentity).toBe(nodeName);
    } finally {
      await running.stop();
    }
  });

  it("keeps the node Ready while running; the node lifecycle controller marks it unreachable after the agent stops", async () => {
    const nodeName = uniqueName("vn-stop");
    const running = await startNode(cp.kubeConfig, nodeName, createMockProvider());
    // Longer than the 20 s grace period: the real controller must see fresh leases.
    await new Promise((r) => setTimeout(r, 25_000));
    expect(readyOf(await api.core.readNode({ name: nodeName }))?.status).toBe("True");
    await running.stop(); // shutdown "leave": like a killed agent, nothing is written
    const node = await waitFor(
      "node Ready=Unknown",
      async () => {
        const n = await api.core.readNode({ name: nodeName });
        return readyOf(n)?.status === "Unknown" ? n : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 1_000 },
    );
    expect(readyOf(node)?.reason).toBe("NodeStatusUnknown");
    await waitFor("unreachable taint", async () => {
      const n = await api.core.readNode({ name: nodeName });
      return n.spec?.taints?.some((t) => t.key === "node.kubernetes.io/unreachable");
    });
  });

  it("sets Ready=False with a reason when the provider ping fails, and Ready=True when it recovers", async () => {
    const nodeName = uniqueName("vn-ping");
    const provider = createMockProvider();
    let healthy = true;
    const originalPing = provider.ping.bind(provider);
    provider.ping = async (options) => {
      if (!healthy) throw new Error("backend unreachable");
      await originalPing(options);
    };
    const running = await startNode(cp.kubeConfig, nodeName, provider);
    try {
      healthy = false;
      const notReady = await waitFor("Ready=False", async () => {
        const c = readyOf(await api.core.readNode({ name: nodeName }));
        return c?.status === "False" ? c : undefined;
      });
      expect(notReady.reason).toBe("ProviderUnhealthy");
      healthy = true;
      await waitFor(
        "Ready=True again",
        async () => readyOf(await api.core.readNode({ name: nodeName }))?.status === "True",
      );
    } finally {
      await running.stop();
    }
  });

  it("applies the shutdown policies: cordon, notReady and delete", async () => {
    for (const shutdown of ["cordon", "notReady", "delete"] as const) {
      const nodeName = uniqueName(`vn-${shutdown.toLowerCase()}`);
      const running = await startNode(cp.kubeConfig, nodeName, createMockProvider(), { shutdown });
      await running.stop();
      if (shutdown === "delete") {
        await expect(api.core.readNode({ name: nodeName })).rejects.toThrow();
        continue;
      }
      const node = await api.core.readNode({ name: nodeName });
      if (shutdown === "cordon") expect(node.spec?.unschedulable).toBe(true);
      else expect(readyOf(node)).toMatchObject({ status: "False", reason: "KubeletStopped" });
    }
  });
});
