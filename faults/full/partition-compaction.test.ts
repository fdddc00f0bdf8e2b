/**
 * The agent partitioned from the apiserver for 2 minutes (every open connection blackholed, new ones
 * held) while pods are created and deleted and etcd is compacted; the node goes NotReady meanwhile
 * (Kubernetes' default node-monitor grace, 50 s). The control plane runs without the apiserver's watch
 * cache, so that the agent's watches read etcd and meet the compaction. On return: the Node is Ready
 * again, every status is reconciled, no pod lost or recreated, no cloud group left for a deleted pod.
 * Measured: time to Ready and time to reconcile after the partition ends.
 */
import { CoreV1Api } from "@kubernetes/client-node";
import { startControlPlane, type ControlPlane } from "@virtual-node/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { openScenario } from "../scenario.js";
import {
  compactEtcd,
  createDeployment,
  listPods,
  nodeReady,
  podStarts,
  podTemplate,
  recreatedPods,
  restartedSince,
  scaleDeployment,
  scaled,
  waitConverged,
  waitFor,
  writeResult,
} from "../support.js";

const PARTITION_MS = 120_000;

describe("fault: the agent partitioned from the apiserver for 2 minutes, etcd compacted meanwhile", () => {
  let cp: ControlPlane;
  beforeAll(async () => {
    // Kubernetes' default node-monitor timings: the node is marked Unknown 50 s into the partition.
    cp = await startControlPlane({
      apiServerRequestLimits: false,
      extraArgs: { apiServer: ["--watch-cache=false"] },
    });
  });
  afterAll(async () => {
    await cp.stop();
  });

  it("on return: Node Ready, statuses reconciled, no pod lost or recreated", async () => {
    const size = scaled(100, 10);
    const grown = Math.round(size * 1.5);
    const deleted = Math.max(2, Math.round(size * 0.2));
    await using s = await openScenario(cp, "partition-compaction");
    await s.startAgent("agent");
    await createDeployment(
      cp.kubeConfig,
      s.namespace,
      "app",
      size,
      podTemplate(s.nodeName, s.secretName, "app"),
    );
    await waitConverged(cp.kubeConfig, s.cloud.cloud, s.namespace, size, 300_000);
    const startsBefore = await podStarts(cp.kubeConfig, s.namespace);

    const blackholed = s.apiProxy.blackholeConnections();
    s.apiProxy.setFaults({ stall: true });
    const partitionedAt = Date.now();
    const elapsed = () => Date.now() - partitionedAt;
    const sleepUntil = async (ms: number) => {
      if (elapsed() < ms) await new Promise((r) => setTimeout(r, ms - elapsed()));
    };
    // Pods created, pods deleted (the ReplicaSet replaces them), all while the agent cannot see it.
    await scaleDeployment(cp.kubeConfig, s.namespace, "app", grown);
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
    s.apiProxy.setFaults({});
    const returnedAt = Date.now();

    let readyAt: number | undefined;
    let converged: Awaited<ReturnType<typeof waitConverged>> | undefined;
    let failure: unknown;
    try {
      readyAt = await waitFor(
        "node Ready after the partition",
        async () => ((await nodeReady(cp.kubeConfig, s.nodeName)) === "True" ? Date.now() : undefined),
        180_000,
        250,
      );
      converged = await waitConverged(cp.kubeConfig, s.cloud.cloud, s.namespace, grown, 180_000);
    } catch (error) {
      failure = error;
    }
    const reconciledAt = converged === undefined ? undefined : Date.now();
    const startsAfter = await podStarts(cp.kubeConfig, s.namespace);
    const survivors = new Map([...startsBefore].filter(([uid]) => !deletedUids.has(uid)));
    const lost = [...survivors.keys()].filter((uid) => !startsAfter.has(uid));
    const restarted = restartedSince(survivors, startsAfter);
    const recreated = await recreatedPods(s.cloud.cloud);
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
      convergence: converged ?? String(failure),
      secretScan: scan,
    });
    expect(scan.found).toEqual([]);
    if (failure !== undefined) throw failure instanceof Error ? failure : new Error(JSON.stringify(failure));
    expect(notReadyDuring).not.toBe("stayed Ready"); // the partition was real
    expect(converged).toMatchObject({ duplicates: 0, orphans: 0, missing: 0, restarts: 0 });
    expect(lost).toEqual([]);
    expect(restarted).toEqual([]);
    expect(recreated).toEqual([]);
  });
});
