/**
 * The sharding algorithm as pure functions: rendezvous hashing spreads nodes fairly and moves only
 * what it must when a replica joins or leaves; one round's plan respects holders, the grace for
 * free nodes, the stabilisation period and the per-round cap.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  planOwnership,
  preferredMember,
  rendezvousAssignment,
  type NodeHolding,
} from "../src/ha/sharding.js";

const identity = fc.stringMatching(/^[a-z][a-z0-9-]{2,20}$/);
const memberSets = (min: number, max: number) => fc.uniqueArray(identity, { minLength: min, maxLength: max });
const nodes = (count: number, prefix = "vn"): string[] =>
  Array.from({ length: count }, (_, i) => `${prefix}-${String(i)}`);

describe("rendezvous assignment", () => {
  it("gives every member a fair share (within 6 standard deviations of n/m)", () => {
    fc.assert(
      fc.property(memberSets(2, 8), fc.stringMatching(/^[a-z]{1,8}$/), (members, prefix) => {
        const n = 1000;
        const counts = new Map<string, number>();
        for (const owner of rendezvousAssignment(nodes(n, prefix), members).values())
          counts.set(owner ?? "", (counts.get(owner ?? "") ?? 0) + 1);
        const p = 1 / members.length;
        const sd = Math.sqrt(n * p * (1 - p));
        for (const m of members) expect(Math.abs((counts.get(m) ?? 0) - n * p)).toBeLessThan(6 * sd);
      }),
      { numRuns: 20 },
    );
  });

  it("moves only nodes to a joining member, and only the leaver's nodes when one leaves", () => {
    fc.assert(
      fc.property(memberSets(2, 7), identity, (members, joiner) => {
        fc.pre(!members.includes(joiner));
        const all = nodes(300);
        const before = rendezvousAssignment(all, members);
        const joined = rendezvousAssignment(all, [...members, joiner]);
        let moved = 0;
        for (const node of all) {
          if (joined.get(node) !== before.get(node)) {
            expect(joined.get(node)).toBe(joiner);
            moved++;
          }
        }
        // About 1/(m+1) of the nodes move, never all of them.
        expect(moved).toBeGreaterThan(0);
        expect(moved).toBeLessThan(all.length / 2);
        const leaver = members[0] ?? "";
        const left = rendezvousAssignment(
          all,
          members.filter((m) => m !== leaver),
        );
        for (const node of all)
          if (before.get(node) !== leaver) expect(left.get(node)).toBe(before.get(node));
      }),
      { numRuns: 30 },
    );
  });

  it("is independent of the order members are listed in", () => {
    fc.assert(
      fc.property(memberSets(1, 6), fc.stringMatching(/^[a-z0-9-]{1,30}$/), (members, node) => {
        expect(preferredMember(node, [...members].reverse())).toBe(preferredMember(node, members));
      }),
    );
  });
});

const holdingArb: fc.Arbitrary<NodeHolding> = fc.oneof(
  fc.constant<NodeHolding>({ state: "self" }),
  fc.record({ state: fc.constant("other" as const), holder: identity }),
  fc.record({ state: fc.constant("free" as const), freeForMs: fc.nat(60_000) }),
);

describe("planOwnership", () => {
  it("never takes a held node, releases only to a settled preferred member, and respects the cap", () => {
    fc.assert(
      fc.property(
        memberSets(1, 5),
        fc.array(fc.nat(120_000), { minLength: 5, maxLength: 5 }),
        fc.array(holdingArb, { minLength: 40, maxLength: 40 }),
        fc.integer({ min: 1, max: 12 }),
        (others, liveFor, holdingList, cap) => {
          const self = "self-replica";
          const members = [
            { identity: self, liveForMs: 1_000 },
            ...others.filter((o) => o !== self).map((o, i) => ({ identity: o, liveForMs: liveFor[i] ?? 0 })),
          ];
          const all = nodes(40);
          const holdings = new Map(all.map((n, i) => [n, holdingList[i] ?? { state: "self" as const }]));
          const input = {
            self,
            nodes: all,
            members,
            holdings,
            stabilizationMs: 30_000,
            freeGraceMs: 15_000,
            maxChangesPerRound: cap,
          };
          const plan = planOwnership(input);
          expect(plan.acquire.length).toBeLessThanOrEqual(cap);
          expect(plan.release.length).toBeLessThanOrEqual(cap);
          const ids = members.map((m) => m.identity);
          for (const node of plan.acquire) {
            const h = holdings.get(node);
            expect(h?.state).toBe("free");
            // Someone else's preferred node only after the grace.
            if (h?.state === "free" && preferredMember(node, ids) !== self)
              expect(h.freeForMs).toBeGreaterThanOrEqual(15_000);
          }
          for (const node of plan.release) {
            expect(holdings.get(node)?.state).toBe("self");
            const to = preferredMember(node, ids);
            expect(to).not.toBe(self);
            expect(members.find((m) => m.identity === to)?.liveForMs).toBeGreaterThanOrEqual(30_000);
          }
        },
      ),
    );
  });

  it("takes preferred free nodes before others' and hands nothing to a replica that just joined", () => {
    const all = nodes(50);
    const members = [
      { identity: "a", liveForMs: 100_000 },
      { identity: "b", liveForMs: 5_000 },
    ];
    const holdings = new Map<string, NodeHolding>(all.map((n) => [n, { state: "self" }]));
    const input = {
      self: "a",
      nodes: all,
      members,
      holdings,
      stabilizationMs: 30_000,
      freeGraceMs: 15_000,
      maxChangesPerRound: 100,
    };
    expect(planOwnership(input).release).toEqual([]);
    const settled = planOwnership({
      ...input,
      members: [
        { identity: "a", liveForMs: 100_000 },
        { identity: "b", liveForMs: 30_000 },
      ],
    });
    const forB = all.filter((n) => preferredMember(n, ["a", "b"]) === "b");
    expect(settled.release).toEqual(forB);
    // All free: a takes its own at once, b's only after the grace.
    const free = new Map<string, NodeHolding>(all.map((n) => [n, { state: "free", freeForMs: 1_000 }]));
    const early = planOwnership({ ...input, holdings: free });
    expect(early.acquire).toEqual(all.filter((n) => !forB.includes(n)));
    const late = planOwnership({
      ...input,
      holdings: new Map(all.map((n) => [n, { state: "free", freeForMs: 20_000 }])),
    });
    expect(late.acquire.slice(0, all.length - forB.length)).toEqual(all.filter((n) => !forB.includes(n)));
    expect(late.acquire).toHaveLength(all.length);
  });
});
