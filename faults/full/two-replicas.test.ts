/**
 * Two HA replicas of the agent for one virtual node, pods running. The active replica is SIGKILLed (the
 * other takes over when the Lease expires), a fresh standby joins, then the active one is SIGTERMed (an
 * immediate hand-over). Checked from the cloud's own call log — every request carries its replica's
 * identity, recorded by the proxy in front of the cloud — that the replicas' calls never interleave: one
 * run of calls per owner, in the order the Lease changed hands. Measured: failover after SIGKILL and
 * after SIGTERM (to the new owner's Lease and to its first cloud call). No pod duplicated or restarted.
 */
import { CoordinationV1Api, type KubeConfig } from "@kubernetes/client-node";
import { useControlPlane } from "@virtual-node/testing";
import { describe, expect, inject, it } from "vitest";

import { openScenario } from "../scenario.js";
import {
  callerRuns,
  createDeployment,
  podStarts,
  podTemplate,
  recreatedPods,
  restartedSince,
  scaleDeployment,
  scaled,
  waitConverged,
  waitFor,
  writeResult,
  type AgentProcess,
} from "../support.js";

/** Polls the ownership Lease's holder every 100 ms and keeps each change with its time. */
function followHolder(kc: KubeConfig, namespace: string, name: string) {
  const coordination = kc.makeApiClient(CoordinationV1Api);
  const changes: { at: number; holder: string }[] = [];
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      try {
        const lease = await coordination.readNamespacedLease({ namespace, name });
        const holder = lease.spec?.holderIdentity ?? "";
        if (changes.at(-1)?.holder !== holder) changes.push({ at: Date.now(), holder });
      } catch {
        // not created yet
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  return {
    changes,
    holder: () => changes.at(-1)?.holder ?? "",
    async stop() {
      stopped = true;
      await loop;
    },
  };
}

describe("fault: two HA replicas, the active one SIGKILLed then SIGTERMed", () => {
  it("never two active at once (from the cloud's call log); bounded failover; no pod duplicated or restarted", async () => {
    const cp = await useControlPlane(inject("controlPlane"));
    const size = scaled(50, 5);
    await using s = await openScenario(cp, "two-replicas", { highAvailability: true });
    const leaseName = `virtual-node-owner-${s.nodeName}`;
    const holder = followHolder(cp.kubeConfig, s.namespace, leaseName);
    const replicas = new Map<string, AgentProcess>();
    const startReplica = async (identity: string) => {
      replicas.set(
        identity,
        await s.startAgent(identity, { highAvailability: { namespace: s.namespace, identity } }),
      );
    };
    try {
      await startReplica("replica-a");
      await waitFor("replica-a holds the node", () => holder.holder() === "replica-a", 60_000, 200);
      await startReplica("replica-b");
      await createDeployment(
        cp.kubeConfig,
        s.namespace,
        "app",
        size,
        podTemplate(s.nodeName, s.secretName, "app"),
      );
      await waitConverged(cp.kubeConfig, s.cloud.cloud, s.namespace, size, 300_000);
      const startsBefore = await podStarts(cp.kubeConfig, s.namespace);

      // 1. SIGKILL of the active replica: the standby takes over once the Lease has expired.
      const killed = holder.holder();
      const killedAt = Date.now();
      await replicas.get(killed)?.kill();
      const afterKill = await waitFor(
        "a new owner after the SIGKILL",
        () => {
          const now = holder.holder();
          return now !== "" && now !== killed ? now : undefined;
        },
        60_000,
        100,
      );
      const killLeaseMs = (holder.changes.at(-1)?.at ?? 0) - killedAt;
      const killFirstCall = await waitFor(
        "the new owner's first cloud call",
        () => s.cloud.calls.find((c) => c.caller === afterKill && c.at > killedAt),
        30_000,
        100,
      );
      // The new owner acts: more pods.
      await scaleDeployment(cp.kubeConfig, s.namespace, "app", size + 5);
      await waitConverged(cp.kubeConfig, s.cloud.cloud, s.namespace, size + 5, 300_000);

      // 2. A fresh standby joins; SIGTERM of the active replica hands the node over at once.
      await startReplica("replica-c");
      await new Promise((r) => setTimeout(r, 5_000)); // the owner sees the new member's Lease
      const terminated = holder.holder();
      const termAt = Date.now();
      await replicas.get(terminated)?.terminate();
      const afterTerm = await waitFor(
        "a new owner after the SIGTERM",
        () => {
          const now = holder.holder();
          return now !== "" && now !== terminated ? now : undefined;
        },
        60_000,
        100,
      );
      const termLeaseMs = (holder.changes.at(-1)?.at ?? 0) - termAt;
      const termFirstCall = await waitFor(
        "the new owner's first cloud call",
        () => s.cloud.calls.find((c) => c.caller === afterTerm && c.at > termAt),
        30_000,
        100,
      );
      await scaleDeployment(cp.kubeConfig, s.namespace, "app", size + 10);
      const converged = await waitConverged(cp.kubeConfig, s.cloud.cloud, s.namespace, size + 10, 300_000);
      await new Promise((r) => setTimeout(r, 3_000)); // a few more calls of the last owner
      await holder.stop();

      const runs = callerRuns(s.cloud.calls);
      const owners = holder.changes.map((c) => c.holder).filter((h) => h !== "");
      const ownersInOrder = owners.filter((h, i) => h !== owners[i - 1]);
      const restarted = restartedSince(startsBefore, await podStarts(cp.kubeConfig, s.namespace));
      const recreated = await recreatedPods(s.cloud.cloud);
      const scan = await s.scan();
      await writeResult("two-replicas", {
        figures: {
          pods: `${converged.ready}/${size + 10}`,
          sigkillFailoverLeaseMs: killLeaseMs,
          sigkillFailoverFirstCloudCallMs: killFirstCall.at - killedAt,
          sigtermHandOverLeaseMs: termLeaseMs,
          sigtermHandOverFirstCloudCallMs: termFirstCall.at - termAt,
          callerRuns: runs.length,
          owners: ownersInOrder.length,
          duplicates: converged.duplicates,
          restarts: converged.restarts + restarted.length,
        },
        runs: runs.map((r) => ({
          ...r,
          from: new Date(r.from).toISOString(),
          to: new Date(r.to).toISOString(),
        })),
        holderChanges: holder.changes.map((c) => ({ ...c, at: new Date(c.at).toISOString() })),
        cloudCalls: s.cloud.calls.length,
        recreated,
        convergence: converged,
        secretScan: scan,
      });
      // Every call carries a caller; the runs are exactly the owners, in the order the Lease moved.
      expect(s.cloud.calls.filter((c) => c.caller === undefined)).toEqual([]);
      expect(runs.map((r) => r.caller)).toEqual(ownersInOrder);
      expect(ownersInOrder).toEqual(expect.arrayContaining([killed, afterKill, afterTerm]));
      expect(killFirstCall.at - killedAt).toBeLessThan(20_000);
      expect(termFirstCall.at - termAt).toBeLessThan(5_000);
      expect(converged).toMatchObject({ duplicates: 0, orphans: 0, missing: 0, restarts: 0 });
      expect(restarted).toEqual([]);
      expect(recreated).toEqual([]);
      expect(scan.found).toEqual([]);
    } finally {
      await holder.stop();
    }
  });
});
