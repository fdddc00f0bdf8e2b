/**
 * The ownership coordinator of several replicas against one in-memory coordination API, on a fake
 * clock: exactly one replica holds a node's fence at any instant — through start-up, a replica
 * killed, a replica partitioned from the API server, a graceful stop and a replica joining.
 */
import { describe, expect, it } from "vitest";
import { FakeClock } from "../src/clock.js";
import { OwnershipCoordinator, type OwnershipChange } from "../src/ha/coordinator.js";
import type { Fence } from "../src/ha/fence.js";
import {
  fleetDigest,
  HA_FLEET_ANNOTATION,
  HA_ROLE_LABEL,
  memberLeaseName,
  ownerLeaseName,
} from "../src/ha/lease-api.js";
import type { Lease } from "../src/kube/types.js";
import { resolveHighAvailability, type HighAvailabilityOptions } from "../src/ha/options.js";
import { rendezvousAssignment } from "../src/ha/sharding.js";
import { noopLogger } from "../src/logger.js";
import { InMemoryLeaseServer, type InMemoryLeaseView } from "./ha-support.js";

interface Replica {
  identity: string;
  api: InMemoryLeaseView;
  coordinator: OwnershipCoordinator;
  fences: Map<string, Fence>;
  changes: OwnershipChange[];
  stops: { node: string; applyShutdownPolicy: boolean; fenceHeld: boolean }[];
  /** Ends the process abruptly: no more rounds, no release, its timers gone. */
  kill(): void;
  stop(): Promise<void>;
}

function startReplica(
  server: InMemoryLeaseServer,
  clock: FakeClock,
  identity: string,
  nodeNames: string[],
  overrides: Partial<HighAvailabilityOptions> = {},
): Replica {
  const api = server.connect(identity);
  const fences = new Map<string, Fence>();
  const stops: Replica["stops"] = [];
  const changes: OwnershipChange[] = [];
  let killed = false;
  const coordinator = new OwnershipCoordinator({
    ha: resolveHighAvailability({ namespace: "ha", identity, ...overrides }, nodeNames.length),
    nodes: nodeNames,
    api,
    clock,
    logger: noopLogger,
    hooks: {
      start(node, fence) {
        fences.set(node, fence);
      },
      async stop(node, { applyShutdownPolicy }) {
        await Promise.resolve();
        stops.push({ node, applyShutdownPolicy, fenceHeld: fences.get(node)?.held ?? false });
        fences.delete(node);
      },
    },
  });
  coordinator.onOwnershipChange((c) => changes.push(c));
  const abort = new AbortController();
  const done = coordinator.run(abort.signal);
  return {
    identity,
    api,
    coordinator,
    fences,
    changes,
    stops,
    kill() {
      killed = true;
      abort.abort();
      api.partitioned = true;
    },
    async stop() {
      abort.abort();
      await done;
      if (!killed) await coordinator.releaseAll();
    },
  };
}

const nodeNames = (n: number): string[] => Array.from({ length: n }, (_, i) => `vn-${String(i)}`);

/** Advances in small steps, checking after each that no node has two fence holders. */
async function advanceChecking(clock: FakeClock, ms: number, replicas: Replica[], step = 250): Promise<void> {
  for (let t = 0; t < ms; t += step) {
    await clock.advanceAsync(Math.min(step, ms - t));
    const holders = new Map<string, string[]>();
    for (const r of replicas)
      for (const [node, fence] of r.fences)
        if (fence.held) holders.set(node, [...(holders.get(node) ?? []), r.identity]);
    for (const [node, ids] of holders) expect(ids, `${node} has one owner`).toHaveLength(1);
  }
}

async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
}

describe("ownership coordinator", () => {
  it("a single replica takes every node on its first round, with fences held", async () => {
    const clock = new FakeClock();
    const server = new InMemoryLeaseServer();
    const nodes = nodeNames(6);
    const a = startReplica(server, clock, "a", nodes);
    await a.coordinator.firstRound();
    expect(a.coordinator.ownedNodes()).toEqual(nodes);
    for (const node of nodes) {
      expect(a.fences.get(node)?.held).toBe(true);
      const lease = server.leases.get(ownerLeaseName(node));
      expect(lease?.spec?.holderIdentity).toBe("a");
      expect(lease?.spec?.leaseDurationSeconds).toBe(15);
      expect(lease?.metadata?.labels?.["virtual-node.io/ha-role"]).toBe("owner");
    }
    // Renewals keep the fences held; one write per owned node per retry period, plus membership.
    const before = server.writes.length;
    await advanceChecking(clock, 20_000, [a]);
    expect(a.coordinator.ownedNodes()).toEqual(nodes);
    const perPeriod = (server.writes.length - before) / 10;
    expect(perPeriod).toBeGreaterThanOrEqual(6);
    expect(perPeriod).toBeLessThanOrEqual(7.5);
    await a.stop();
    // The last replica stopping applies the shutdown policy (no peer to hand over to).
    expect(a.stops.every((s) => s.applyShutdownPolicy && s.fenceHeld)).toBe(true);
    for (const node of nodes) expect(server.holder(ownerLeaseName(node))).toBe("");
  });

  it("two replicas converge to the rendezvous assignment; each node moves at most once", async () => {
    const clock = new FakeClock();
    const server = new InMemoryLeaseServer();
    const nodes = nodeNames(24);
    const a = startReplica(server, clock, "a", nodes);
    await a.coordinator.firstRound();
    // At most max(8, nodes/4) acquisitions per round.
    expect(a.coordinator.ownedNodes()).toHaveLength(8);
    await advanceChecking(clock, 4_000, [a]);
    const b = startReplica(server, clock, "b", nodes);
    await b.coordinator.firstRound();
    expect(a.coordinator.ownedNodes()).toHaveLength(24);
    expect(b.coordinator.ownedNodes()).toEqual([]);
    // Nothing moves before b has been live for the stabilisation period (2 × 15 s).
    await advanceChecking(clock, 25_000, [a, b]);
    expect(a.coordinator.ownedNodes()).toHaveLength(24);
    await advanceChecking(clock, 15_000, [a, b]);
    const want = rendezvousAssignment(nodes, ["a", "b"]);
    expect(a.coordinator.ownedNodes()).toEqual(nodes.filter((n) => want.get(n) === "a"));
    expect(b.coordinator.ownedNodes()).toEqual(nodes.filter((n) => want.get(n) === "b"));
    expect(b.coordinator.ownedNodes().length).toBeGreaterThan(0);
    // Steady: no further moves.
    const moves = a.changes.length + b.changes.length;
    await advanceChecking(clock, 60_000, [a, b]);
    expect(a.changes.length + b.changes.length).toBe(moves);
    for (const node of nodes)
      expect(b.changes.filter((c) => c.nodeName === node).length).toBeLessThanOrEqual(1);
    // A node handed over was stopped with its fence already revoked, and without the shutdown policy.
    expect(a.stops.every((s) => !s.applyShutdownPolicy && !s.fenceHeld)).toBe(true);
    await a.stop();
    await b.stop();
  });

  it("when the owner is killed, the other replica takes over after one lease duration, never earlier", async () => {
    const clock = new FakeClock();
    const server = new InMemoryLeaseServer();
    const nodes = nodeNames(8);
    const a = startReplica(server, clock, "a", nodes);
    await a.coordinator.firstRound();
    const b = startReplica(server, clock, "b", nodes);
    await advanceChecking(clock, 3_000, [a, b]);
    expect(a.coordinator.ownedNodes()).toHaveLength(8);
    const killedAt = clock.now();
    a.kill();
    // b saw a's last renewal at most one retry period before the kill; 15 s after that, it may act.
    await advanceChecking(clock, 12_000, [a, b]);
    expect(b.coordinator.ownedNodes()).toEqual([]);
    const acquiredAt = new Map<string, number>();
    b.coordinator.onOwnershipChange((c) => {
      if (c.owned) acquiredAt.set(c.nodeName, clock.now());
    });
    await advanceChecking(clock, 8_000, [a, b], 50);
    expect(b.coordinator.ownedNodes()).toEqual(nodes);
    for (const node of nodes) {
      const took = (acquiredAt.get(node) ?? Infinity) - killedAt;
      expect(took).toBeGreaterThan(12_000);
      expect(took).toBeLessThanOrEqual(17_100);
      const lease = server.leases.get(ownerLeaseName(node));
      expect(lease?.spec?.holderIdentity).toBe("b");
      expect(lease?.spec?.leaseTransitions).toBe(1);
    }
    await b.stop();
  });

  it("a replica whose ownership Leases expired is not ranked, even while its membership Lease is fresher", async () => {
    // A dead replica renewed its membership up to a retry period after its ownership Leases (their
    // renewals drift apart in phase). Its nodes must go at their own Leases' expiry, not wait for
    // the membership's: a holder whose ownership Lease lapsed has fenced itself, it cannot act.
    const clock = new FakeClock();
    const server = new InMemoryLeaseServer();
    const nodes = nodeNames(8);
    const ghost = server.connect("ghost");
    const lease = (name: string, role: string, extra: Record<string, string> = {}): Lease => ({
      apiVersion: "coordination.k8s.io/v1",
      kind: "Lease",
      metadata: { name, namespace: "ha", labels: { [HA_ROLE_LABEL]: role }, annotations: extra },
      spec: {
        holderIdentity: "x",
        leaseDurationSeconds: 15,
        renewTime: new Date(clock.now()).toISOString() as unknown as Date,
      },
    });
    for (const node of nodes) await ghost.create(lease(ownerLeaseName(node), "owner"));
    const member = await ghost.create(
      lease(memberLeaseName("x"), "member", { [HA_FLEET_ANNOTATION]: fleetDigest(nodes) }),
    );
    const ownedSince = clock.now();
    const b = startReplica(server, clock, "b", nodes);
    await b.coordinator.firstRound();
    expect(b.coordinator.ownedNodes()).toEqual([]);
    await clock.advanceAsync(1_900);
    // The ghost's last membership renewal, 1.9 s after its ownership Leases' last.
    await ghost.replace({
      ...member,
      spec: { ...member.spec, renewTime: new Date(clock.now()).toISOString() as unknown as Date },
    });
    const want = rendezvousAssignment(nodes, ["x", "b"]);
    expect([...want.values()], "some nodes prefer the dead replica").toContain("x");
    const acquiredAt = new Map<string, number>();
    b.coordinator.onOwnershipChange((c) => {
      if (c.owned) acquiredAt.set(c.nodeName, clock.now());
    });
    await advanceChecking(clock, 20_000, [b], 50);
    expect(b.coordinator.ownedNodes()).toEqual(nodes);
    for (const node of nodes)
      expect((acquiredAt.get(node) ?? Infinity) - ownedSince).toBeLessThanOrEqual(15_100);
    await b.stop();
  });

  it("a replica cut off from the API server fences itself before the lease can expire", async () => {
    const clock = new FakeClock();
    const server = new InMemoryLeaseServer();
    const nodes = nodeNames(4);
    const a = startReplica(server, clock, "a", nodes);
    await a.coordinator.firstRound();
    const b = startReplica(server, clock, "b", nodes);
    await advanceChecking(clock, 2_000, [a, b]);
    a.api.partitioned = true;
    const cutAt = clock.now();
    let fencedAt = 0;
    a.coordinator.onOwnershipChange((c) => {
      if (c.reason === "fenced") fencedAt ||= clock.now();
    });
    let takenAt = 0;
    b.coordinator.onOwnershipChange((c) => {
      if (c.owned) takenAt ||= clock.now();
    });
    await advanceChecking(clock, 25_000, [a, b], 50);
    expect(a.coordinator.ownedNodes()).toEqual([]);
    expect(b.coordinator.ownedNodes()).toEqual(nodes);
    // Fenced within the renew deadline of the last successful renewal; taken over after the lease duration.
    expect(fencedAt - cutAt).toBeLessThanOrEqual(10_000);
    expect(takenAt).toBeGreaterThan(fencedAt);
    expect(takenAt - fencedAt).toBeGreaterThanOrEqual(3_000);
    expect(a.changes.filter((c) => !c.owned).every((c) => c.reason === "fenced")).toBe(true);
    // The partition heals: a comes back as a member; after stabilisation it gets its share back,
    // and nothing thrashes.
    a.api.partitioned = false;
    a.api.resync();
    await advanceChecking(clock, 60_000, [a, b]);
    const want = rendezvousAssignment(nodes, ["a", "b"]);
    expect(a.coordinator.ownedNodes()).toEqual(nodes.filter((n) => want.get(n) === "a"));
    expect(b.coordinator.ownedNodes()).toEqual(nodes.filter((n) => want.get(n) === "b"));
    await a.stop();
    await b.stop();
  });

  it("a graceful stop hands the nodes over at once, without the shutdown policy", async () => {
    const clock = new FakeClock();
    const server = new InMemoryLeaseServer();
    const nodes = nodeNames(5);
    const a = startReplica(server, clock, "a", nodes);
    await a.coordinator.firstRound();
    const b = startReplica(server, clock, "b", nodes);
    await advanceChecking(clock, 4_000, [a, b]);
    expect(a.coordinator.ownedNodes()).toEqual(nodes);
    const stoppedAt = clock.now();
    await a.stop();
    await settle();
    await clock.advanceAsync(10);
    expect(b.coordinator.ownedNodes()).toEqual(nodes);
    expect(clock.now() - stoppedAt).toBeLessThan(100);
    expect(a.stops.map((s) => s.applyShutdownPolicy)).toEqual(nodes.map(() => false));
    expect(a.changes.filter((c) => !c.owned).map((c) => c.reason)).toEqual(nodes.map(() => "released"));
    // Its membership Lease is gone too.
    expect([...server.leases.keys()].filter((k) => k.startsWith("virtual-node-member-"))).toEqual([
      "virtual-node-member-b",
    ]);
    await b.stop();
  });

  it("a stale view loses the race: a 409 leaves the node to the replica that wrote first", async () => {
    const clock = new FakeClock();
    const server = new InMemoryLeaseServer();
    const nodes = nodeNames(3);
    const a = startReplica(server, clock, "a", nodes);
    await a.coordinator.firstRound();
    // b's cache never saw a's Leases: it believes every node is free and tries to create them.
    const b = startReplica(server, clock, "b", nodes);
    b.api.forget();
    await b.coordinator.firstRound();
    expect(b.coordinator.ownedNodes()).toEqual([]);
    expect(b.fences.size).toBe(0);
    for (const node of nodes) expect(server.holder(ownerLeaseName(node))).toBe("a");
    expect(a.coordinator.ownedNodes()).toEqual(nodes);
    await advanceChecking(clock, 4_000, [a, b]);
    expect(a.coordinator.ownedNodes()).toEqual(nodes);
    await a.stop();
    await b.stop();
  });

  it("releases on stop even when its copy of the Lease is stale, and renews on top of a foreign edit", async () => {
    const clock = new FakeClock();
    const server = new InMemoryLeaseServer();
    const nodes = nodeNames(2);
    const a = startReplica(server, clock, "a", nodes);
    await a.coordinator.firstRound();
    // Someone (kubectl label) edits a's Lease: a's resourceVersion is stale now.
    const admin = server.connect("admin");
    const name = ownerLeaseName(nodes[0] ?? "");
    const current = await admin.get(name);
    await admin.replace({
      ...current,
      metadata: { ...current?.metadata, labels: { ...current?.metadata?.labels, team: "x" } },
    });
    await advanceChecking(clock, 2_000, [a]);
    // The renewal hit a 409, re-read, saw itself still the holder, and renewed: still the owner.
    expect(a.coordinator.ownedNodes()).toEqual(nodes);
    expect(server.leases.get(name)?.metadata?.labels?.team).toBe("x");
    await admin.replace({ ...(await admin.get(name)), metadata: { ...(await admin.get(name))?.metadata } });
    await a.stop();
    for (const node of nodes) expect(server.holder(ownerLeaseName(node))).toBe("");
  });

  it("refuses timings that would let two replicas act at once", () => {
    expect(() => resolveHighAvailability({ namespace: "ha", renewDeadlineSeconds: 15 }, 1)).toThrow(
      expect.objectContaining({ field: "highAvailability.renewDeadlineSeconds" }),
    );
    expect(() =>
      resolveHighAvailability({ namespace: "ha", renewDeadlineSeconds: 2, retryPeriodSeconds: 2 }, 1),
    ).toThrow(/1.2 × retryPeriodSeconds/);
    expect(() => resolveHighAvailability({ namespace: "Not_A_Namespace" }, 1)).toThrow(
      expect.objectContaining({ field: "highAvailability.namespace" }),
    );
    const resolved = resolveHighAvailability({ namespace: "ha" }, 500);
    expect(resolved).toMatchObject({
      leaseDurationMs: 15_000,
      renewDeadlineMs: 10_000,
      retryPeriodMs: 2_000,
      maxChangesPerRound: 125,
    });
    expect(resolved.identity).toMatch(/-\d+$/);
  });
});
