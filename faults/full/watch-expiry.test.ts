/**
 * The agent's pod watch expires (410 Gone). Its connections to the apiserver are cut through the proxy
 * (the open ones blackholed for good, new ones held), pods are created and deleted meanwhile, etcd is
 * compacted to its current revision, then new connections flow again: the agent's next watch from its
 * old resourceVersion is answered 410 and it re-lists. The control plane runs without the apiserver's
 * watch cache, so that the watch reads etcd and the compaction is what expires it (with the cache, the
 * same 410 comes once the cache's window has moved past the resourceVersion, e.g. after an apiserver
 * restart). Measured: recovery after the cut is lifted (goal < 60 s). No pod lost or recreated, every
 * status reconciled, no cloud group left for a deleted pod.
 */
import { describe, expect, it } from "vitest";

import { WITHOUT_WATCH_CACHE, expectRecovered, openScenario, ownControlPlane } from "../scenario.js";
import { compactEtcd, listPods, nodeReady, scaled, waitFor, writeResult } from "../support.js";

describe("fault: the agent's pod watch expires (410) after an etcd compaction", () => {
  const controlPlane = ownControlPlane({
    ...WITHOUT_WATCH_CACHE,
    nodeMonitorGracePeriod: "20s",
    nodeMonitorPeriod: "2s",
  });

  it("re-lists after the 410 and reconciles: no pod lost or recreated, recovery < 60 s", async () => {
    const size = scaled(100, 10);
    const grown = size * 2;
    const final = Math.round(size * 1.5);
    const cp = controlPlane();
    await using s = await openScenario(cp, "watch-expiry");
    const agent = await s.startAgent("agent");
    const startsBefore = await s.deployApp(size, 300_000);
    const expiredBefore = await agent.metric("virtual_node_informer_restarts_total", 'reason="expired"');

    // The cut: open connections forward nothing any more, new ones are held.
    const blackholed = s.cutApiServer();
    const cutAt = Date.now();
    await s.scaleApp(grown);
    await waitFor(
      `${String(grown)} pods created`,
      async () => (await listPods(cp.kubeConfig, s.namespace)).length >= grown,
      60_000,
      250,
    );
    await s.scaleApp(final);
    const compactedTo = await compactEtcd(cp.ports.etcdClient);
    s.restoreApiServer();
    const restoredAt = Date.now();

    const recovery = await s.awaitRecovery(final, 180_000);
    const { converged } = recovery;
    const recoveryMs = recovery.at === undefined ? undefined : recovery.at - restoredAt;
    await waitFor("node Ready", async () => (await nodeReady(cp.kubeConfig, s.nodeName)) === "True", 30_000);
    await new Promise((r) => setTimeout(r, 1500)); // one more metrics snapshot
    const expired =
      (await agent.metric("virtual_node_informer_restarts_total", 'reason="expired"')) - expiredBefore;
    const { restarted, recreated } = await s.podsKept(startsBefore);
    const scan = await s.scan();
    await writeResult("watch-expiry", {
      figures: {
        pods: converged === undefined ? "not converged" : `${String(converged.ready)}/${String(final)}`,
        recoveryAfterRestoreMs: recoveryMs ?? "not recovered within 180 s",
        goalMs: 60_000,
        watchExpiries: expired,
        recreated: recreated.length,
        restarted: restarted.length,
      },
      cutMs: restoredAt - cutAt,
      blackholedConnections: blackholed,
      compactedToRevision: compactedTo,
      convergence: converged ?? String(recovery.failure),
      secretScan: scan,
    });
    expect(scan.found).toEqual([]);
    expectRecovered(recovery);
    expect(expired).toBeGreaterThan(0); // the 410 path, not a re-list after errors
    expect(restarted).toEqual([]);
    expect(recreated).toEqual([]);
    expect(recoveryMs).toBeLessThan(60_000);
  });
});
