/**
 * 20 % of provider calls fail (retryable) and 1 s latency spikes come and go: every pod converges, the
 * retries are bounded (per pod) and the backoff shows in the agent's metrics.
 */
import { useControlPlane } from "@virtual-node/testing";
import { describe, expect, inject, it } from "vitest";

import { openScenario } from "../scenario.js";
import { createDeployment, podTemplate, scaled, waitConverged, writeResult } from "../support.js";

describe("fault: provider errors on 20 % of calls and 1 s latency spikes", () => {
  it("all pods converge with bounded retries, visible in the metrics", async () => {
    const cp = await useControlPlane(inject("controlPlane"));
    const size = scaled(200, 10);
    await using s = await openScenario(cp, "provider-faults");
    await s.cloud.cloud.configure({ faults: { rate: 0.2, seed: 15 } });
    const agent = await s.startAgent("agent");
    let spikes = 0;
    const spiking = setInterval(() => {
      spikes++;
      void s.cloud.cloud.configure({ latency: spikes % 2 === 1 ? { fixedMs: 1000 } : {} });
    }, 3000);
    const startedAt = Date.now();
    try {
      await createDeployment(
        cp.kubeConfig,
        s.namespace,
        "flaky",
        size,
        podTemplate(s.nodeName, s.secretName, "flaky"),
      );
      const converged = await waitConverged(cp.kubeConfig, s.cloud.cloud, s.namespace, size, 900_000);
      const convergedMs = Date.now() - startedAt;
      clearInterval(spiking);
      await new Promise((r) => setTimeout(r, 1500)); // one more metrics snapshot
      const stats = await s.cloud.cloud.callStats();
      const failed = stats.log.filter((c) => c.outcome === "VN_RETRYABLE").length;
      const retries = await agent.metric("virtual_node_queue_retries_total");
      const creates = stats.counts.createPod ?? 0;
      const scan = await s.scan();
      await writeResult("provider-faults", {
        figures: {
          pods: `${converged.ready}/${size}`,
          convergedMs,
          createCallsPerPod: Number((creates / size).toFixed(2)),
          queueRetries: retries,
          latencySpikes: Math.ceil(spikes / 2),
        },
        failedCallsInLog: failed,
        callCounts: stats.counts,
        convergence: converged,
        secretScan: scan,
      });
      expect(converged).toMatchObject({ duplicates: 0, orphans: 0, missing: 0, restarts: 0 });
      expect(retries).toBeGreaterThan(0); // the backoff is visible in the metrics
      expect(creates / size).toBeLessThan(3); // bounded: about 1/(1-0.2) attempts per pod
      expect(scan.found).toEqual([]);
    } finally {
      clearInterval(spiking);
    }
  });
});
