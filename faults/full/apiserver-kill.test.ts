/**
 * kube-apiserver SIGKILLed and restarted (same flags, port and data) during a churn of 1,000 pods
 * (FAULTS_SCALE scales it): every pod converges, none lost, none duplicated, none restarted; measured:
 * the time until the Node is Ready again after the apiserver is back (goal < 15 s; black-box figure to
 * beat: +253 s) and until all pods converge.
 */
import { startControlPlane, type ControlPlane } from "@virtual-node/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { openScenario } from "../scenario.js";
import {
  createDeployment,
  nodeReady,
  podTemplate,
  scaleDeployment,
  scaled,
  waitConverged,
  waitFor,
  writeResult,
} from "../support.js";

describe("fault: kube-apiserver SIGKILLed during churn", () => {
  let cp: ControlPlane;
  beforeAll(async () => {
    // Kubernetes' default node-monitor timings, as in the black-box run.
    cp = await startControlPlane({ apiServerRequestLimits: false });
  });
  afterAll(async () => {
    await cp.stop();
  });

  it("converges with no pod lost, duplicated or restarted; the node is Ready again soon after", async () => {
    const total = scaled(1000, 10);
    const start = Math.round(total * 0.6);
    await using s = await openScenario(cp, "apiserver-kill");
    await s.startAgent("agent");
    await createDeployment(
      cp.kubeConfig,
      s.namespace,
      "churn",
      start,
      podTemplate(s.nodeName, s.secretName, "churn"),
    );
    await waitConverged(cp.kubeConfig, s.cloud.cloud, s.namespace, start, 600_000);

    await scaleDeployment(cp.kubeConfig, s.namespace, "churn", total);
    const outageMs = 25_000;
    const killedAt = Date.now();
    await cp.kill("kube-apiserver");
    await new Promise((r) => setTimeout(r, outageMs));
    await cp.start("kube-apiserver");
    const backAt = Date.now();
    const readyAt = await waitFor(
      "node Ready after the outage",
      async () => ((await nodeReady(cp.kubeConfig, s.nodeName)) === "True" ? Date.now() : undefined),
      300_000,
      250,
    );
    const converged = await waitConverged(cp.kubeConfig, s.cloud.cloud, s.namespace, total, 900_000);
    const convergedAt = Date.now();
    const scan = await s.scan();
    const creates = (await s.cloud.cloud.callStats()).counts.createPod ?? 0;
    await writeResult("apiserver-kill", {
      figures: {
        pods: `${converged.ready}/${total}`,
        duplicates: converged.duplicates,
        orphans: converged.orphans,
        restarts: converged.restarts,
        nodeReadyAfterApiserverBackMs: readyAt - backAt,
        convergedAfterApiserverBackMs: convergedAt - backAt,
      },
      outageMs: backAt - killedAt,
      createPodCalls: creates,
      convergence: converged,
      secretScan: scan,
    });
    expect(converged).toMatchObject({
      pods: total,
      ready: total,
      duplicates: 0,
      orphans: 0,
      missing: 0,
      restarts: 0,
    });
    expect(scan.found).toEqual([]);
    expect(readyAt - backAt).toBeLessThan(15_000);
  });
});
