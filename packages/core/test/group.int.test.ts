/**
 * Many virtual nodes in one process: one connection, one pod watch, one node watch.
 */
import { createConsoleLogger, createVirtualNodeGroup } from "@virtual-node/core";
import { MockCloud, createMockProvider } from "@virtual-node/provider-mock";
import { describe, expect, it } from "vitest";
import { apis, controlPlane, createNamespace, isReady, listPods, uniqueName, waitFor } from "./support.js";

describe("node groups", () => {
  it("runs 10 nodes in one process; pods bound to each become Ready on their own node", async () => {
    const cp = await controlPlane();
    const api = apis(cp.kubeConfig);
    const namespace = uniqueName("group");
    await createNamespace(api, namespace);
    const cloud = new MockCloud();
    const prefix = uniqueName("vn-group");
    const names = Array.from({ length: 10 }, (_, i) => `${prefix}-${String(i)}`);
    const group = createVirtualNodeGroup({
      kubeConfig: cp.kubeConfig,
      nodes: names.map((nodeName) => ({
        nodeName,
        provider: createMockProvider({ cloud }),
        internalIP: "127.0.0.1",
      })),
      logger: createConsoleLogger({ level: "error" }),
      statusPollFastMs: 200,
      leaseRenewIntervalMs: 2_000,
      qps: 500,
      burst: 1000,
      shutdown: "delete",
      kubeletApi: { enabled: false },
    });
    const running = group.run();
    try {
      await group.ready;
      expect(group.nodes.map((n) => n.nodeName)).toEqual(names);
      for (const nodeName of names) {
        const node = await api.core.readNode({ name: nodeName });
        expect(node.status?.conditions?.find((c) => c.type === "Ready")?.status).toBe("True");
        const lease = await api.coordination.readNamespacedLease({
          name: nodeName,
          namespace: "kube-node-lease",
        });
        expect(lease.spec?.holderIdentity).toBe(nodeName);
      }
      // Three pods per node, bound directly.
      for (const nodeName of names) {
        for (let i = 0; i < 3; i++) {
          await api.core.createNamespacedPod({
            namespace,
            body: {
              metadata: { name: `${nodeName}-${String(i)}` },
              spec: { nodeName, containers: [{ name: "app", image: "registry.example/app:1" }] },
            },
          });
        }
      }
      const pods = await waitFor(
        "30 ready pods",
        async () => {
          const items = await listPods(api, namespace);
          return items.length === 30 && items.every(isReady) ? items : undefined;
        },
        { timeoutMs: 60_000 },
      );
      // Each pod ran in the provider of its own node (the ownership mark is the node name).
      const groups = (await cloud.listGroups()).filter((g) => g.spec.namespace === namespace);
      expect(groups).toHaveLength(30);
      for (const pod of pods) {
        const g = groups.find((x) => x.spec.name === pod.metadata?.name);
        expect(g?.spec.nodeName).toBe(pod.spec?.nodeName);
      }
      // One pod watch and one node watch for the whole group: no per-node informers.
      const metrics = await group.metricsRegistry.getSingleMetricAsString("virtual_node_api_requests_total");
      expect(metrics).toContain('resource="leases"');
    } finally {
      await group.stop();
      await running;
    }
    for (const nodeName of names) await expect(api.core.readNode({ name: nodeName })).rejects.toThrow();
  });
});
