/**
 * An agent restarting onto its own Node after others tainted it (the lifecycle controller's
 * `unreachable` taints while the agent was down), with the Node identity: NodeRestriction refuses
 * every change to the Node's taints by the node itself, a reordering included. The fault suite's
 * agent-kill scenario saw a restarted agent get 403 "not allowed to modify taints" on every retry;
 * the merge now keeps the Node's taints in place (unit-tested in node-controller.test.ts). This test
 * does not reproduce that 403 reliably (the lifecycle controller lifts the taints of a Ready node
 * within moments), so it guards the restart path only.
 */
import { PatchStrategy, setHeaderOptions } from "@kubernetes/client-node";
import { createMockProvider } from "@virtual-node/provider-mock";
import { describe, expect, it } from "vitest";
import { apis, controlPlane, startNode, uniqueName, waitFor } from "./support.js";

describe("agent restart onto a Node tainted by others (Node identity)", () => {
  it("adopts the Node with its taints as they are and reports Ready", async () => {
    const cp = await controlPlane();
    const api = apis(cp.kubeConfig);
    const nodeName = uniqueName("vn-restart");
    const identity = await cp.nodeIdentity(nodeName);
    const cloud = createMockProvider();
    const first = await startNode(identity.kubeConfig, nodeName, cloud);
    await first.stop(); // shutdown "leave": the Node stays

    // As the node lifecycle controller does for a node that stopped reporting: appended taints.
    const node = await api.core.readNode({ name: nodeName });
    const added = [
      { key: "node.kubernetes.io/unreachable", effect: "NoSchedule" },
      { key: "node.kubernetes.io/unreachable", effect: "NoExecute", timeAdded: new Date() },
    ];
    await api.core.patchNode(
      { name: nodeName, body: { spec: { taints: [...(node.spec?.taints ?? []), ...added] } } },
      setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
    );

    const second = await startNode(identity.kubeConfig, nodeName, createMockProvider());
    try {
      const adopted = await waitFor("node Ready after the restart", async () => {
        const n = await api.core.readNode({ name: nodeName });
        return n.status?.conditions?.find((c) => c.type === "Ready")?.status === "True" ? n : undefined;
      });
      // Ours is kept; the lifecycle controller lifts its own `unreachable` taints once Ready.
      expect(adopted.spec?.taints?.[0]).toMatchObject({ key: "virtual-kubelet.io/provider" });
    } finally {
      await second.stop();
      await api.core.deleteNode({ name: nodeName }).catch(() => undefined);
    }
  });
});
