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

describe("fault: the agent's pod watch expires (410) after an etcd compaction", () => {
  let cp: ControlPlane;
  beforeAll(async () => {
    cp = await startControlPlane({
      apiServerRequestLimits: false,
      extraArgs: { apiServer: ["--watch-cache=false"] },
      nodeMonitorGracePeriod: "20s",
      nodeMonitorPeriod: "2s",
    });
  });
  afterAll(async () => {
    await cp.stop();
  });

  it("re-lists after the 410 and reconciles: no pod lost or recreated, recovery < 60 s", async () => {
    const size = scaled(100, 10);
    const grown = size * 2;
    const final = Math.round(size * 1.5);
    await using s = await openScenario(cp, "watch-expiry");
    const agent = await s.startAgent("agent");
    await createDeployment(
      cp.kubeConfig,
      s.namespace,
      "app",
      size,
      podTemplate(s.nodeName, s.secretName, "app"),
    );
    await waitConverged(cp.kubeConfig, s.cloud.cloud, s.namespace, size, 300_000);
    const startsBefore = await podStarts(cp.kubeConfig, s.namespace);
    const expiredBefore = await agent.metric("virtual_node_informer_restarts_total", 'reason="expired"');

    // The cut: open connections forward nothing any more, new ones are held.
    const blackholed = s.apiProxy.blackholeConnections();
    s.apiProxy.setFaults({ stall: true });
    const cutAt = Date.now();
    await scaleDeployment(cp.kubeConfig, s.namespace, "app", grown);
    await waitFor(
      `${String(grown)} pods created`,
      async () => (await listPods(cp.kubeConfig, s.namespace)).length >= grown,
      60_000,
      250,
    );
    await scaleDeployment(cp.kubeConfig, s.namespace, "app", final);
    const compactedTo = await compactEtcd(cp.ports.etcdClient);
    s.apiProxy.setFaults({});
    const restoredAt = Date.now();

    let converged: Awaited<ReturnType<typeof waitConverged>> | undefined;
    let failure: unknown;
    try {
      // Waits past the goal so that the figure is measured even when the goal is missed.
      converged = await waitConverged(cp.kubeConfig, s.cloud.cloud, s.namespace, final, 180_000);
    } catch (error) {
      failure = error;
    }
    const recoveryMs = converged === undefined ? undefined : Date.now() - restoredAt;
    await waitFor("node Ready", async () => (await nodeReady(cp.kubeConfig, s.nodeName)) === "True", 30_000);
    await new Promise((r) => setTimeout(r, 1500)); // one more metrics snapshot
    const expired =
      (await agent.metric("virtual_node_informer_restarts_total", 'reason="expired"')) - expiredBefore;
    const restarted = restartedSince(startsBefore, await podStarts(cp.kubeConfig, s.namespace));
    const recreated = await recreatedPods(s.cloud.cloud);
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
      convergence: converged ?? String(failure),
      secretScan: scan,
    });
    expect(scan.found).toEqual([]);
    if (failure !== undefined) throw failure instanceof Error ? failure : new Error(JSON.stringify(failure));
    expect(expired).toBeGreaterThan(0); // the 410 path, not a re-list after errors
    expect(converged).toMatchObject({ duplicates: 0, orphans: 0, missing: 0, restarts: 0 });
    expect(restarted).toEqual([]);
    expect(recreated).toEqual([]);
    expect(recoveryMs).toBeLessThan(60_000);
  });
});
