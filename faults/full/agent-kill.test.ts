/**
 * The agent SIGKILLed and restarted 5 times during a churn (pods added and removed): 0 duplicate and 0
 * orphan provider pods, 0 restarts of running pods. Measured: convergence after the last restart.
 */
import { startControlPlane, type ControlPlane } from "@virtual-node/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { openScenario } from "../scenario.js";
import {
  createDeployment,
  podTemplate,
  scaleDeployment,
  scaled,
  waitConverged,
  writeResult,
} from "../support.js";

describe("fault: the agent SIGKILLed 5 times during churn", () => {
  let cp: ControlPlane;
  beforeAll(async () => {
    cp = await startControlPlane({
      apiServerRequestLimits: false,
      nodeMonitorGracePeriod: "20s",
      nodeMonitorPeriod: "2s",
    });
  });
  afterAll(async () => {
    await cp.stop();
  });

  it("adopts its pods each time: no duplicate, orphan or restart", async () => {
    const size = scaled(500, 10);
    await using s = await openScenario(cp, "agent-kill");
    await s.startAgent("agent");
    await createDeployment(
      cp.kubeConfig,
      s.namespace,
      "churn",
      size,
      podTemplate(s.nodeName, s.secretName, "churn"),
    );
    await waitConverged(cp.kubeConfig, s.cloud.cloud, s.namespace, size, 600_000);
    const kills: { at: string; replicas: number }[] = [];
    let replicas = size;
    for (let i = 0; i < 5; i++) {
      // Churn: alternately grow and shrink by a fifth while the agent is down and coming back.
      replicas = i % 2 === 0 ? replicas + Math.ceil(size / 5) : replicas - Math.ceil(size / 10);
      await scaleDeployment(cp.kubeConfig, s.namespace, "churn", replicas);
      await new Promise((r) => setTimeout(r, 1500));
      await s.agents.at(-1)?.kill();
      kills.push({ at: new Date().toISOString(), replicas });
      await new Promise((r) => setTimeout(r, 3000));
      await s.startAgent("agent");
    }
    const lastStart = Date.now();
    const converged = await waitConverged(cp.kubeConfig, s.cloud.cloud, s.namespace, replicas, 900_000);
    const scan = await s.scan();
    await writeResult("agent-kill", {
      figures: {
        kills: kills.length,
        pods: `${converged.ready}/${replicas}`,
        duplicates: converged.duplicates,
        orphans: converged.orphans,
        restarts: converged.restarts,
        convergedAfterLastRestartMs: Date.now() - lastStart,
      },
      kills,
      createPodCalls: (await s.cloud.cloud.callStats()).counts.createPod ?? 0,
      convergence: converged,
      secretScan: scan,
    });
    expect(converged).toMatchObject({ duplicates: 0, orphans: 0, missing: 0, restarts: 0 });
    expect(scan.found).toEqual([]);
  });
});
