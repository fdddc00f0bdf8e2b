/**
 * Sharding: a fleet of 24 virtual nodes (one `createVirtualNodeGroup` per process) served by 3 HA agent
 * replicas as separate processes, 2 pods on each node, default HA timings (lease 15 s, renew deadline
 * 10 s, retry 2 s). The control plane runs with an audit policy that logs every Lease write, so what the
 * Leases cost and who held a node when come from the API server itself, exactly.
 *
 * 1. The three replicas settle on the rendezvous assignment; each holds a fair share.
 * 2. A steady 60 s window: the HA Lease writes per second against the model
 *    `nodes / retryPeriod + replicas / retryPeriod`, and the renewal gaps (late renewals: 0).
 * 3. One replica SIGKILLed: its nodes are taken over by the two others within the failover bound
 *    (docs/high-availability.md, "Failover bound", with the per-round cap).
 * 4. A fresh replica joins: it gets the nodes rendezvous hashing gives it, not before its stabilisation
 *    period, each at most once, and then nothing moves (no thrashing).
 *
 * Throughout: every cloud call for a node came from the node's holder at that moment (the cloud's call
 * log, each call tagged with its replica and node, against the audit's holder timeline), and per node the
 * call log has one run of calls per owner, in the order the Lease moved (the two-replicas check). No pod
 * duplicated, re-created or restarted; no Secret value in a log or a cloud request.
 */
import { writeFile, readFile, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { CoordinationV1Api, CoreV1Api } from "@kubernetes/client-node";
import { startControlPlane, type ControlPlane } from "@virtual-node/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { preferredMember } from "../../packages/core/src/ha/sharding.js";
import {
  OWNER_LEASE_PREFIX,
  callsByNonHolders,
  fairShareBound,
  holderTimeline,
  leaseWriteStats,
  ownershipMoves,
  parseLeaseAudit,
} from "../ha-checks.js";
import { openScenario } from "../scenario.js";
import {
  callerRuns,
  podStarts,
  podTemplate,
  recreatedPods,
  restartedSince,
  waitConverged,
  waitFor,
  writeResult,
  type AgentProcess,
} from "../support.js";

const NODES = 24;
const PODS_PER_NODE = 2;
const LEASE_MS = 15_000;
const RETRY_MS = 2_000;
const STABILIZATION_MS = 2 * LEASE_MS;
const CAP = Math.max(8, Math.ceil(NODES / 4));
const STEADY_MS = 60_000;

/** The audit policy: every Lease write with its request body (the holder), nothing else. */
const AUDIT_POLICY = {
  apiVersion: "audit.k8s.io/v1",
  kind: "Policy",
  omitStages: ["RequestReceived"],
  rules: [
    {
      level: "Request",
      resources: [{ group: "coordination.k8s.io", resources: ["leases"] }],
      verbs: ["create", "update", "patch", "delete"],
    },
    { level: "None" },
  ],
};

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const assignment = (nodes: readonly string[], members: readonly string[]) =>
  new Map(nodes.map((node) => [node, preferredMember(node, members) ?? ""]));

const counts = (holders: ReadonlyMap<string, string>) => {
  const out: Record<string, number> = {};
  for (const holder of holders.values()) out[holder] = (out[holder] ?? 0) + 1;
  return out;
};

const sameAssignment = (a: ReadonlyMap<string, string>, b: ReadonlyMap<string, string>) =>
  a.size === b.size && [...a].every(([node, holder]) => b.get(node) === holder);

describe("fault: sharding 24 nodes over 3 HA replicas; one SIGKILLed, a fresh one joins", () => {
  let cp: ControlPlane;
  let auditDir: string;
  let auditLog: string;
  beforeAll(async () => {
    auditDir = await mkdtemp(join(tmpdir(), "vn-fault-sharding-audit-"));
    auditLog = join(auditDir, "audit.log");
    const policy = join(auditDir, "policy.json");
    await writeFile(policy, JSON.stringify(AUDIT_POLICY));
    cp = await startControlPlane({
      extraArgs: {
        apiServer: [
          `--audit-policy-file=${policy}`,
          `--audit-log-path=${auditLog}`,
          "--audit-log-mode=blocking",
        ],
      },
    });
  });
  afterAll(async () => {
    await cp.stop();
    await rm(auditDir, { recursive: true, force: true });
  });

  it("fair shares, Lease write rate as modelled, bounded take-over, calm re-balancing, never two owners", async () => {
    await using s = await openScenario(cp, "sharding", { highAvailability: true });
    const nodes = Array.from({ length: NODES }, (_, i) => `${s.nodeName}-${String(i).padStart(2, "0")}`);
    const coordination = cp.kubeConfig.makeApiClient(CoordinationV1Api);
    /** node → holder of its ownership Lease now, as the API server has it. */
    const holders = async () => {
      const leases = await coordination.listNamespacedLease({
        namespace: s.namespace,
        labelSelector: "virtual-node.io/ha-role=owner",
      });
      const out = new Map<string, string>();
      for (const lease of leases.items) {
        const name = lease.metadata?.name ?? "";
        if (name.startsWith(OWNER_LEASE_PREFIX))
          out.set(name.slice(OWNER_LEASE_PREFIX.length), lease.spec?.holderIdentity ?? "");
      }
      return out;
    };
    const replicas = new Map<string, AgentProcess>();
    const startReplica = async (identity: string) => {
      const agent = await s.startAgent(identity, {
        nodeNames: nodes,
        highAvailability: { namespace: s.namespace, identity },
      });
      replicas.set(identity, agent);
      return agent;
    };
    const settle = async (what: string, members: readonly string[], timeoutMs: number) => {
      const want = assignment(nodes, members);
      return waitFor(
        what,
        async () => {
          const now = await holders();
          return sameAssignment(now, want) ? now : undefined;
        },
        timeoutMs,
        250,
      );
    };

    // 1. Three replicas at once: they settle on the rendezvous assignment.
    const first = ["replica-a", "replica-b", "replica-c"];
    const startedAt = Date.now();
    await Promise.all(first.map(startReplica));
    const settled = await settle("the rendezvous assignment over a, b, c", first, 120_000);
    const settledMs = Date.now() - startedAt;
    const shares = counts(settled);
    const bound = fairShareBound(NODES, first.length, 3);

    // Pods on every node, created by the owners.
    const core = cp.kubeConfig.makeApiClient(CoreV1Api);
    for (const node of nodes) {
      for (let i = 0; i < PODS_PER_NODE; i++) {
        const template = podTemplate(node, s.secretName, "app");
        await core.createNamespacedPod({
          namespace: s.namespace,
          body: {
            metadata: { name: `${node}-${String(i)}`, labels: template.metadata.labels },
            spec: template.spec,
          },
        });
      }
    }
    const pods = NODES * PODS_PER_NODE;
    await waitConverged(cp.kubeConfig, s.cloud.cloud, s.namespace, pods, 180_000);
    const startsBefore = await podStarts(cp.kubeConfig, s.namespace);

    // 2. The steady window: nothing happens but renewals.
    const steadyFrom = Date.now();
    await sleep(STEADY_MS);
    const steadyTo = Date.now();
    const steadyHolders = await holders();

    // 3. SIGKILL of one replica: the two others take its nodes over.
    const killed = "replica-b";
    const lost = nodes.filter((n) => steadyHolders.get(n) === killed);
    const survivors = first.filter((r) => r !== killed);
    const killedAt = Date.now();
    await replicas.get(killed)?.kill();
    await waitFor(
      `the ${String(lost.length)} nodes of ${killed} held by others`,
      async () => {
        const now = await holders();
        return lost.every((n) => (now.get(n) ?? killed) !== killed && now.get(n) !== "");
      },
      60_000,
      100,
    );
    const afterKill = await settle("the rendezvous assignment over a, c", survivors, 30_000);
    // A few more calls by the new owners, then the fresh replica.
    await sleep(3_000);

    // 4. A fresh replica: it gets its share only after its stabilisation period, each node once.
    const fresh = "replica-d";
    const finalMembers = [...survivors, fresh];
    const freshAt = Date.now();
    await startReplica(fresh);
    await settle("the rendezvous assignment over a, c, d", finalMembers, STABILIZATION_MS + 90_000);
    const freshSettledAt = Date.now();
    // Then nothing moves any more.
    await sleep(20_000);
    const finalHolders = await holders();
    const converged = await waitConverged(cp.kubeConfig, s.cloud.cloud, s.namespace, pods, 60_000);
    await sleep(1_000); // the audit events of the last writes

    // ---- What the API server and the cloud recorded
    const writes = parseLeaseAudit(await readFile(auditLog, "utf8"));
    const timeline = holderTimeline(writes, s.namespace);
    const steady = leaseWriteStats(writes, {
      namespace: s.namespace,
      from: steadyFrom,
      to: steadyTo,
      lateAfterMs: 2 * RETRY_MS,
    });
    const modelPerSecond = (NODES + first.length) / (RETRY_MS / 1000);
    // Kube-node-lease heartbeats in the same window, for comparison (not HA writes).
    const heartbeats = writes.filter(
      (w) => w.namespace === "kube-node-lease" && w.receivedAt >= steadyFrom && w.receivedAt < steadyTo,
    ).length;

    const takeOver = (node: string) =>
      timeline.get(node)?.find((c) => c.at > killedAt && c.holder !== "" && c.holder !== killed)?.at;
    const takeOverMs = Math.max(...lost.map((n) => (takeOver(n) ?? Infinity) - killedAt));
    const firstCallMs = Math.max(
      ...lost.map((n) => {
        const call = s.cloud.calls.find((c) => c.node === n && c.at > killedAt && c.caller !== killed);
        return (call?.at ?? Infinity) - killedAt;
      }),
    );
    // docs/high-availability.md, "Failover bound": leaseDuration after the last renewal, plus one retry
    // period per batch beyond the per-round cap (each survivor takes its own preferred nodes).
    const batches = Math.max(
      1,
      ...survivors.map((r) => Math.ceil(lost.filter((n) => afterKill.get(n) === r).length / CAP)),
    );
    const modelTakeOverMs = LEASE_MS + (batches - 1) * RETRY_MS;

    const freshFirstGain = Math.min(
      ...[...timeline.values()].map((changes) => changes.find((c) => c.holder === fresh)?.at ?? Infinity),
    );
    const movesToFresh = ownershipMoves(timeline, freshAt);
    const movesAfterSettle = ownershipMoves(timeline, freshSettledAt);
    const wantToFresh = nodes.filter((n) => finalHolders.get(n) === fresh);
    const initialMoves = ownershipMoves(timeline);
    const sum = (m: ReadonlyMap<string, number>) => [...m.values()].reduce((a, b) => a + b, 0);

    // Never two owners: every call for a node by its holder at that moment; per node one run per owner.
    const foreign = callsByNonHolders(s.cloud.calls, timeline);
    const untagged = s.cloud.calls.filter((c) => c.node === undefined || c.caller === undefined);
    const runMismatches = nodes.flatMap((node) => {
      const runs = callerRuns(s.cloud.calls.filter((c) => c.node === node)).map((r) => r.caller);
      const owners = (timeline.get(node) ?? []).map((c) => c.holder).filter((h) => h !== "");
      const ownersInOrder = owners.filter((h, i) => h !== owners[i - 1]);
      return runs.join(" ") === ownersInOrder.join(" ") ? [] : [{ node, runs, owners: ownersInOrder }];
    });
    const restarted = restartedSince(startsBefore, await podStarts(cp.kubeConfig, s.namespace));
    const recreated = await recreatedPods(s.cloud.cloud);
    const scan = await s.scan();

    await writeResult("sharding", {
      figures: {
        nodes: NODES,
        replicas: first.length,
        pods: `${String(converged.ready)}/${String(pods)}`,
        timings: "lease 15 s / deadline 10 s / retry 2 s",
        settledAfterStartMs: settledMs,
        shares,
        fairShareBound3Sigma: bound,
        steadyWindowMs: steady.windowMs,
        haLeaseWritesPerSecond: Number(steady.perSecond.toFixed(2)),
        modelWritesPerSecond: modelPerSecond,
        ownerLeaseWrites: steady.ownerWrites,
        memberLeaseWrites: steady.memberWrites,
        failedLeaseWrites: steady.failedWrites,
        maxRenewalGapMs: steady.maxRenewalGapMs,
        lateRenewals: steady.lateRenewals,
        nodeHeartbeatsPerSecond: Number(((heartbeats * 1000) / steady.windowMs).toFixed(2)),
        killedReplicaNodes: lost.length,
        takeOverLeaseMs: takeOverMs,
        takeOverFirstCloudCallMs: firstCallMs,
        modelTakeOverMs,
        freshFirstNodeAfterMs: freshFirstGain - freshAt,
        stabilizationMs: STABILIZATION_MS,
        freshSettledAfterMs: freshSettledAt - freshAt,
        nodesMovedToFresh: sum(movesToFresh),
        nodesPreferringFresh: wantToFresh.length,
        movesAfterSettled: sum(movesAfterSettle),
        movesWholeRun: sum(initialMoves),
        finalShares: counts(finalHolders),
        callsByNonHolders: foreign.length,
        perNodeRunMismatches: runMismatches.length,
        duplicates: converged.duplicates,
        recreated: recreated.length,
        restarted: restarted.length,
      },
      cloudCalls: s.cloud.calls.length,
      untaggedCalls: untagged.length,
      leaseWritesAudited: writes.length,
      foreign: foreign.slice(0, 20),
      runMismatches: runMismatches.slice(0, 10),
      convergence: converged,
      secretScan: scan,
    });

    // 1. Fair shares: the documented assignment, each replica within 3 σ of n/m.
    for (const replica of first) {
      expect(shares[replica] ?? 0).toBeGreaterThanOrEqual(bound.min);
      expect(shares[replica] ?? 0).toBeLessThanOrEqual(bound.max);
    }
    // 2. The write rate: at most the model (a round is no shorter than the retry period), and no less
    // than 80 % of it (rounds stretched by slow writes); no renewal missed its round.
    expect(steady.perSecond).toBeLessThanOrEqual(modelPerSecond * 1.05);
    expect(steady.perSecond).toBeGreaterThanOrEqual(modelPerSecond * 0.8);
    expect(steady.lateRenewals).toBe(0);
    // 3. Take-over within the bound (+ 3 s for the Lease write and runtime start on this machine), < 20 s.
    expect(lost.length).toBeGreaterThan(0);
    expect(takeOverMs).toBeLessThanOrEqual(modelTakeOverMs + 3_000);
    expect(firstCallMs).toBeLessThan(20_000);
    // 4. The fresh replica: not before its stabilisation period, exactly its nodes, each once, then calm.
    expect(freshFirstGain - freshAt).toBeGreaterThanOrEqual(STABILIZATION_MS);
    expect(sum(movesToFresh)).toBe(wantToFresh.length);
    expect([...movesToFresh.values()].every((n) => n <= 1)).toBe(true);
    expect(sum(movesAfterSettle)).toBe(0);
    // Never two owners, from the cloud's call log.
    expect(untagged).toEqual([]);
    expect(foreign).toEqual([]);
    expect(runMismatches).toEqual([]);
    // Pods: none lost, duplicated, re-created or restarted; no secret leaked.
    expect(converged).toMatchObject({ duplicates: 0, orphans: 0, missing: 0, restarts: 0 });
    expect(restarted).toEqual([]);
    expect(recreated).toEqual([]);
    expect(scan.found).toEqual([]);
  });
});
