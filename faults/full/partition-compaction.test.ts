/**
 * The agent partitioned from the apiserver for 2 minutes (every open connection blackholed, new ones
 * held) while pods are created and deleted and etcd is compacted; the node goes NotReady meanwhile
 * (Kubernetes' default node-monitor grace, 50 s). The control plane runs without the apiserver's watch
 * cache, so that the agent's watches read etcd and meet the compaction. On return: the Node is Ready
 * again, every status is reconciled, no pod lost or recreated, no cloud group left for a deleted pod.
 * Measured: time to Ready and time to reconcile after the partition ends.
 */
import { CoreV1Api } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";

import { WITHOUT_WATCH_CACHE, expectRecovered, openScenario, ownControlPlane } from "../scenario.js";
import { compactEtcd, listPods, nodeReady, podStarts, scaled, waitFor, writeResult } from "../support.js";

const PARTITION_MS = 120_000;

describe("fault: the agent partitioned from the apiserver for 2 minutes, etcd compacted meanwhile", () => {
  // Kubernetes' default node-monitor timings: the node is marked Unknown 50 s into the partition.
  const controlPlane = ownControlPlane(WITHOUT_WATCH_CACHE);

  it("on return: Node Ready, statuses reconciled, no pod lost or recreated", async () => {
    const size = scaled(100, 10);
    const grown = Math.round(size * 1.5);
    const deleted = Math.max(2, Math.round(size * 0.2));
    const cp = controlPlane();
    await using s = await openScenario(cp, "partition-compaction");
    await s.startAgent("agent");
    const startsBefore = await s.deployApp(size, 300_000);

    const blackholed = s.cutApiServer();
    const partitionedAt = Date.now();
    const elapsed = () => Date.now() - partitionedAt;
    const sleepUntil = async (ms: number) => {
      if (elapsed() < ms) await new Promise((r) => setTimeout(r, ms - elapsed()));
    };
    // Pods created, pods deleted (the ReplicaSet replaces them), all while the agent cannot see it.
    await s.scaleApp(grown);
    await sleepUntil(20_000);
    const core = cp.kubeConfig.makeApiClient(CoreV1Api);
    const victims = (await listPods(cp.kubeConfig, s.namespace))
      .filter((p) => startsBefore.has(p.metadata?.uid ?? ""))
      .slice(0, deleted);
    for (const pod of victims)
      await core.deleteNamespacedPod({ namespace: s.namespace, name: pod.metadata?.name ?? "" });
    const deletedUids = new Set(victims.map((p) => p.metadata?.uid ?? ""));
    const notReadyDuring = await waitFor(
      "the node marked not Ready during the partition",
      async () => {
        const ready = await nodeReady(cp.kubeConfig, s.nodeName);
        return ready !== "True" ? (ready ?? "absent") : undefined;
      },
      PARTITION_MS - 30_000,
      1000,
    ).catch(() => "stayed Ready");
    await sleepUntil(PARTITION_MS - 15_000);
    const compactedTo = await compactEtcd(cp.ports.etcdClient);
    await sleepUntil(PARTITION_MS);
    s.restoreApiServer();
    const returnedAt = Date.now();

    let readyAt: number | undefined;
    const recovery = await s.awaitRecovery(grown, 180_000, {
      before: async () => {
        readyAt = await waitFor(
          "node Ready after the partition",
          async () => ((await nodeReady(cp.kubeConfig, s.nodeName)) === "True" ? Date.now() : undefined),
          180_000,
          250,
        );
      },
    });
    const { converged } = recovery;
    const reconciledAt = recovery.at;
    const startsAfter = await podStarts(cp.kubeConfig, s.namespace);
    const survivors = new Map([...startsBefore].filter(([uid]) => !deletedUids.has(uid)));
    const lost = [...survivors.keys()].filter((uid) => !startsAfter.has(uid));
    const { restarted, recreated } = await s.podsKept(survivors);
    const scan = await s.scan();
    await writeResult("partition-compaction", {
      figures: {
        pods: converged === undefined ? "not converged" : `${String(converged.ready)}/${String(grown)}`,
        nodeDuringPartition: notReadyDuring === "stayed Ready" ? "stayed Ready" : `Ready=${notReadyDuring}`,
        nodeReadyAfterReturnMs: readyAt === undefined ? "not Ready within 180 s" : readyAt - returnedAt,
        reconciledAfterReturnMs:
          reconciledAt === undefined ? "not reconciled within 180 s" : reconciledAt - returnedAt,
        lost: lost.length,
        recreated: recreated.length,
        restarted: restarted.length,
      },
      partitionMs: returnedAt - partitionedAt,
      podsDeletedDuringPartition: deletedUids.size,
      blackholedConnections: blackholed,
      compactedToRevision: compactedTo,
      convergence: converged ?? String(recovery.failure),
      secretScan: scan,
    });
    expect(scan.found).toEqual([]);
    expectRecovered(recovery);
    expect(notReadyDuring).not.toBe("stayed Ready"); // the partition was real
    expect(lost).toEqual([]);
    expect(restarted).toEqual([]);
    expect(recreated).toEqual([]);
  });
});
