/**
 * Cloud bursting on the real control plane (kube-scheduler, the ReplicaSet and Job controllers,
 * the harness kubectl): two virtual nodes in one group — "on-prem" with room for 10 pods and a
 * tainted "burst" node — and the example's Deployment, which prefers on-prem and tolerates burst.
 *
 * What it proves, and what it measures for docs/cloud-bursting.md:
 * - 5 → 30 replicas: on-prem fills to its capacity, the overflow (20) lands on the burst node;
 * - 30 → 5: the ReplicaSet deletes the burst pods first. Not because they are "burst": its
 *   downscale ranking (k8s pkg/controller ActivePodsWithRanks) prefers, after unscheduled / not
 *   running / not ready and `controller.kubernetes.io/pod-deletion-cost`, the pods whose node holds
 *   MORE replicas of the set — here the burst node (20 > 10);
 * - 5 → 14 → 5: now on-prem holds more (10 > 4), so on-prem pods go first and burst pods stay; a
 *   negative pod-deletion-cost on the burst pods restores burst-first. The example's doc says so;
 * - a Job that selects the burst node runs there only, and completes.
 */
import { MockCloud } from "@virtual-node/provider-mock";
import { createConsoleLogger, createVirtualNodeGroup } from "@virtual-node/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ControlPlaneHandle } from "@virtual-node/testing";
import {
  apis,
  controlPlane,
  createNamespace,
  uniqueName,
  waitFor,
  type Apis,
} from "../../../packages/core/test/support.js";
import { burstingNodes, type BurstingNodes } from "../src/nodes.js";
import { activePods, apply, kubectlOk, manifest, placement, settled } from "./support.js";

const DELETION_COST = "controller.kubernetes.io/pod-deletion-cost";

describe("cloud bursting across an on-prem and a burst virtual node", () => {
  let cp: ControlPlaneHandle;
  let api: Apis;
  let ns: string;
  let nodes: BurstingNodes;
  let stop: () => Promise<void>;

  beforeAll(async () => {
    cp = await controlPlane();
    api = apis(cp.kubeConfig);
    ns = uniqueName("burst");
    await createNamespace(api, ns);
    const cloud = new MockCloud();
    nodes = burstingNodes({ prefix: uniqueName("vn-site"), cloud, onPremPods: 10 });
    const group = createVirtualNodeGroup({
      kubeConfig: cp.kubeConfig,
      nodes: nodes.nodes,
      logger: createConsoleLogger({ level: "error" }),
      statusPollFastMs: 200,
      qps: 200,
      burst: 400,
      shutdown: "delete",
      kubeletApi: { enabled: false },
    });
    const running = group.run();
    await group.ready;
    stop = async () => {
      await group.stop();
      await running;
      cloud.dispose();
    };
  });

  afterAll(async () => {
    await api.core.deleteNamespace({ name: ns }).catch(() => undefined);
    await stop();
  });

  const on = (pods: Awaited<ReturnType<typeof activePods>>) => {
    const counts = placement(pods);
    return { onPrem: counts[nodes.onPrem.nodeName] ?? 0, burst: counts[nodes.burst.nodeName] ?? 0 };
  };

  async function scale(replicas: number): Promise<Awaited<ReturnType<typeof settled>>> {
    await kubectlOk(cp, ["scale", "-n", ns, "deployment/burst-web", `--replicas=${String(replicas)}`]);
    return settled(api, ns, replicas);
  }

  it("5 → 30 bursts the overflow onto the burst node; 30 → 5 removes the burst pods first", async () => {
    await apply(cp, ns, await manifest("deployment.yaml"));
    const five = await settled(api, ns, 5);
    expect(on(five)).toEqual({ onPrem: 5, burst: 0 });

    const thirty = await scale(30);
    expect(on(thirty)).toEqual({ onPrem: 10, burst: 20 });
    const node = await api.core.readNode({ name: nodes.onPrem.nodeName });
    expect(node.status?.allocatable?.pods).toBe("10");

    const before = new Map(thirty.map((p) => [p.metadata?.name ?? "", p.spec?.nodeName ?? ""]));
    const back = await scale(5);
    expect(on(back)).toEqual({ onPrem: 5, burst: 0 });
    // Every survivor was already running on-prem: nothing was rescheduled, the burst pods went.
    for (const pod of back) expect(before.get(pod.metadata?.name ?? "")).toBe(nodes.onPrem.nodeName);
    // The mock cloud no longer runs anything for the burst node (no orphaned cloud resource).
    await waitFor("burst node's cloud groups gone", async () => {
      const left = await nodes.burst.provider.listPods(nodes.burst.nodeName, {
        signal: AbortSignal.timeout(5000),
      });
      return left.filter((p) => p.namespace === ns).length === 0;
    });
  });

  it("co-location decides the downscale: with fewer replicas on the burst node, a negative pod-deletion-cost keeps burst-first", async () => {
    // 5 → 14: on-prem 10, burst 4. Without a cost the ReplicaSet ranks on-prem pods (10 on their
    // node) before burst pods (4 on theirs) and deletes 9 on-prem pods.
    const fourteen = await scale(14);
    expect(on(fourteen)).toEqual({ onPrem: 10, burst: 4 });
    const withoutCost = await scale(5);
    expect(on(withoutCost)).toEqual({ onPrem: 1, burst: 4 });

    // Back to the burst state the hard way: 5 → 14 again fills on-prem (9 free) first.
    await scale(5 + 9);
    // Annotate what runs on the burst node as cheaper to delete (what a burst-aware controller or
    // the platform team's agent does), then scale down: every burst pod goes first.
    const current = await activePods(api, ns);
    expect(on(current)).toEqual({ onPrem: 10, burst: 4 });
    for (const pod of current.filter((p) => p.spec?.nodeName === nodes.burst.nodeName)) {
      await kubectlOk(cp, ["annotate", "-n", ns, `pod/${pod.metadata?.name ?? ""}`, `${DELETION_COST}=-100`]);
    }
    const withCost = await scale(5);
    expect(on(withCost)).toEqual({ onPrem: 5, burst: 0 });
  });

  it("a Job that selects the burst node runs there only", async () => {
    await apply(cp, ns, await manifest("job.yaml"));
    const job = await waitFor(
      "burst-batch to complete",
      async () => {
        const j = await api.batch.readNamespacedJob({ name: "burst-batch", namespace: ns });
        return (j.status?.succeeded ?? 0) >= 4 ? j : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 500 },
    );
    expect(job.status?.failed ?? 0).toBe(0);
    const pods = await api.core.listNamespacedPod({ namespace: ns, labelSelector: "job-name=burst-batch" });
    expect(pods.items.length).toBeGreaterThanOrEqual(4);
    for (const pod of pods.items) {
      expect(pod.spec?.nodeName).toBe(nodes.burst.nodeName);
      expect(pod.status?.phase).toBe("Succeeded");
    }
  });
});
