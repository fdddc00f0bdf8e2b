/**
 * The pure checks of the sharding scenario: the audit log of Lease writes, who held a node when, cloud
 * calls by a non-holder, ownership moves, the Lease write rate and renewal gaps, the fair-share bound.
 */
import { describe, expect, it } from "vitest";

import {
  callsByNonHolders,
  fairShareBound,
  holderAt,
  holderTimeline,
  leaseWriteStats,
  ownershipMoves,
  parseLeaseAudit,
  type HolderChange,
  type LeaseWrite,
} from "../ha-checks.js";
import type { CloudCall } from "../support.js";

const iso = (ms: number) => new Date(ms).toISOString().replace("Z", "123Z"); // microseconds, as the audit has
const auditLine = (event: Record<string, unknown>) => JSON.stringify(event);
const leaseEvent = (o: {
  verb?: string;
  stage?: string;
  resource?: string;
  ns?: string;
  name?: string;
  code?: number;
  holder?: string;
  at?: number;
}) => ({
  kind: "Event",
  apiVersion: "audit.k8s.io/v1",
  level: "Request",
  stage: o.stage ?? "ResponseComplete",
  verb: o.verb ?? "update",
  objectRef: {
    resource: o.resource ?? "leases",
    namespace: o.ns ?? "ha",
    name: o.name,
    apiGroup: "coordination.k8s.io",
  },
  responseStatus: { metadata: {}, code: o.code ?? 200 },
  requestObject: { metadata: { name: o.name ?? "from-body" }, spec: { holderIdentity: o.holder } },
  requestReceivedTimestamp: iso((o.at ?? 1000) - 5),
  stageTimestamp: iso(o.at ?? 1000),
});

describe("parseLeaseAudit", () => {
  it.each([
    {
      name: "an update with its holder and both timestamps",
      lines: [auditLine(leaseEvent({ name: "virtual-node-owner-n1", holder: "a", at: 2000 }))],
      want: [
        {
          receivedAt: 1995,
          completedAt: 2000,
          verb: "update",
          namespace: "ha",
          name: "virtual-node-owner-n1",
          code: 200,
          holder: "a",
        },
      ],
    },
    {
      name: "a create without objectRef.name takes the body's name",
      lines: [auditLine(leaseEvent({ verb: "create", code: 201, holder: "a" }))],
      want: [expect.objectContaining({ verb: "create", name: "from-body", code: 201 })],
    },
    {
      name: "reads, other resources, other stages and broken lines are skipped",
      lines: [
        auditLine(leaseEvent({ verb: "get", name: "x" })),
        auditLine(leaseEvent({ resource: "pods", name: "x" })),
        auditLine(leaseEvent({ stage: "ResponseStarted", name: "x" })),
        '{"kind":"Event","stage":"Respon',
        "",
      ],
      want: [],
    },
    {
      name: "sorted by completion",
      lines: [
        auditLine(leaseEvent({ name: "l2", at: 3000 })),
        auditLine(leaseEvent({ name: "l1", at: 2000 })),
      ],
      want: [expect.objectContaining({ name: "l1" }), expect.objectContaining({ name: "l2" })],
    },
  ])("$name", ({ lines, want }) => {
    expect(parseLeaseAudit(lines.join("\n"))).toEqual(want);
  });
});

const write = (o: Partial<LeaseWrite> & { at: number }): LeaseWrite => ({
  receivedAt: o.receivedAt ?? o.at,
  completedAt: o.completedAt ?? o.at,
  verb: o.verb ?? "update",
  namespace: o.namespace ?? "ha",
  name: o.name ?? "virtual-node-owner-n1",
  code: o.code ?? 200,
  holder: o.holder,
});

describe("holderTimeline / holderAt", () => {
  it.each([
    {
      name: "renewals are not changes; a release is holder ''",
      writes: [
        write({ at: 1, holder: "a" }),
        write({ at: 2, holder: "a" }),
        write({ at: 3, holder: "" }),
        write({ at: 4, holder: "b" }),
      ],
      want: {
        n1: [
          { at: 1, holder: "a" },
          { at: 3, holder: "" },
          { at: 4, holder: "b" },
        ],
      },
    },
    {
      name: "a refused write (409) changes nothing; other namespaces and member Leases are ignored",
      writes: [
        write({ at: 1, holder: "a" }),
        write({ at: 2, holder: "b", code: 409 }),
        write({ at: 3, holder: "c", namespace: "other" }),
        write({ at: 4, holder: "c", name: "virtual-node-member-c" }),
      ],
      want: { n1: [{ at: 1, holder: "a" }] },
    },
    {
      name: "a deleted Lease has no holder",
      writes: [write({ at: 1, holder: "a" }), write({ at: 2, verb: "delete" })],
      want: {
        n1: [
          { at: 1, holder: "a" },
          { at: 2, holder: "" },
        ],
      },
    },
  ])("$name", ({ writes, want }) => {
    expect(Object.fromEntries(holderTimeline(writes, "ha"))).toEqual(want);
  });

  it.each([
    { at: 0, want: "" },
    { at: 1, want: "a" },
    { at: 3.5, want: "" },
    { at: 9, want: "b" },
  ])("holder at $at is '$want'", ({ at, want }) => {
    const changes: HolderChange[] = [
      { at: 1, holder: "a" },
      { at: 3, holder: "" },
      { at: 4, holder: "b" },
    ];
    expect(holderAt(changes, at)).toBe(want);
  });
});

describe("callsByNonHolders", () => {
  const timeline = new Map<string, HolderChange[]>([
    [
      "n1",
      [
        { at: 10, holder: "a" },
        { at: 20, holder: "" },
        { at: 25, holder: "b" },
      ],
    ],
  ]);
  const call = (at: number, caller: string | undefined, node: string | undefined = "n1"): CloudCall => ({
    at,
    method: "GET",
    path: "/pods",
    caller,
    node,
  });
  it.each([
    { name: "the holder's calls", calls: [call(11, "a"), call(19, "a"), call(26, "b")], want: [] },
    {
      name: "a call by the old owner after its release (two owners)",
      calls: [call(21, "a")],
      want: [{ node: "n1", caller: "a", holder: "", at: 21, call: "GET /pods" }],
    },
    {
      name: "a call by the next owner before it acquired",
      calls: [call(15, "b")],
      want: [{ node: "n1", caller: "b", holder: "a", at: 15, call: "GET /pods" }],
    },
    {
      name: "a call before any owner, and one without a caller",
      calls: [call(5, "a"), call(12, undefined)],
      want: [
        { node: "n1", caller: "a", holder: "", at: 5, call: "GET /pods" },
        { node: "n1", caller: "<none>", holder: "a", at: 12, call: "GET /pods" },
      ],
    },
    {
      name: "calls without a node tag are not judged here",
      calls: [{ at: 5, method: "GET", path: "/ping", caller: "z" }],
      want: [],
    },
  ])("$name", ({ calls, want }) => {
    expect(callsByNonHolders(calls, timeline)).toEqual(want);
  });

  it("a tolerance forgives calls that close to a change of the caller", () => {
    expect(callsByNonHolders([call(24, "b"), call(21, "a")], timeline, 2)).toHaveLength(0);
    expect(callsByNonHolders([call(22, "b")], timeline, 2)).toHaveLength(1);
  });
});

describe("ownershipMoves", () => {
  const changes = (...cs: [number, string][]) => cs.map(([at, holder]) => ({ at, holder }));
  it.each([
    {
      name: "the first acquisition is not a move",
      timeline: { n: changes([1, "a"]) },
      from: undefined,
      want: 0,
    },
    { name: "a → b", timeline: { n: changes([1, "a"], [5, "b"]) }, from: undefined, want: 1 },
    {
      name: "a → released → b is one move",
      timeline: { n: changes([1, "a"], [4, ""], [5, "b"]) },
      from: undefined,
      want: 1,
    },
    {
      name: "a → released → a is none",
      timeline: { n: changes([1, "a"], [4, ""], [5, "a"]) },
      from: undefined,
      want: 0,
    },
    {
      name: "thrashing a → b → a → b",
      timeline: { n: changes([1, "a"], [2, "b"], [3, "a"], [4, "b"]) },
      from: undefined,
      want: 3,
    },
    {
      name: "only moves after `from`",
      timeline: { n: changes([1, "a"], [2, "b"], [9, "c"]) },
      from: 5,
      want: 1,
    },
  ])("$name", ({ timeline, from, want }) => {
    expect(ownershipMoves(new Map(Object.entries(timeline)), from).get("n")).toBe(want);
  });
});

describe("leaseWriteStats", () => {
  const owner = (at: number, holder: string, o: Partial<LeaseWrite> = {}) => write({ at, holder, ...o });
  const member = (at: number) => write({ at, holder: "a", name: "virtual-node-member-a" });
  it.each([
    {
      name: "counts owner and member writes received in [from, to)",
      writes: [
        owner(0, "a"),
        owner(2000, "a"),
        member(2000),
        owner(4000, "a"),
        member(4000),
        owner(10_000, "a"),
      ],
      want: {
        windowMs: 10_000,
        ownerWrites: 3,
        memberWrites: 2,
        failedWrites: 0,
        perSecond: 0.5,
        maxRenewalGapMs: 2000,
        lateRenewals: 0,
      },
    },
    {
      name: "a renewal gap over lateAfterMs is late; the gap from before the window counts",
      writes: [owner(-3000, "a"), owner(2000, "a"), owner(4000, "a")],
      want: { ownerWrites: 2, maxRenewalGapMs: 5000, lateRenewals: 1 },
    },
    {
      name: "a change of holder or a release is not a renewal; refused writes are counted apart",
      writes: [owner(1000, "a"), owner(7000, "b"), owner(8000, "", {}), owner(9000, "c", { code: 409 })],
      want: { ownerWrites: 3, failedWrites: 1, maxRenewalGapMs: 0, lateRenewals: 0 },
    },
    {
      name: "other namespaces are not counted",
      writes: [owner(1000, "a", { namespace: "kube-node-lease" })],
      want: { ownerWrites: 0, perSecond: 0 },
    },
  ])("$name", ({ writes, want }) => {
    expect(
      leaseWriteStats(writes, { namespace: "ha", from: 0, to: 10_000, lateAfterMs: 4000 }),
    ).toMatchObject(want);
  });
});

describe("fairShareBound", () => {
  it.each([
    { nodes: 24, replicas: 3, sigmas: 3, want: { min: 2, max: 14 } },
    { nodes: 1000, replicas: 4, sigmas: 6, want: { min: 168, max: 332 } },
    { nodes: 10, replicas: 1, sigmas: 6, want: { min: 10, max: 10 } },
    { nodes: 2, replicas: 8, sigmas: 6, want: { min: 0, max: 2 } },
  ])("$nodes nodes over $replicas replicas, $sigmas σ", ({ nodes, replicas, sigmas, want }) => {
    expect(fairShareBound(nodes, replicas, sigmas)).toEqual(want);
  });
  it.each([
    { nodes: -1, replicas: 2, field: "nodes" },
    { nodes: 3, replicas: 0, field: "replicas" },
    { nodes: 2.5, replicas: 2, field: "nodes" },
  ])("refuses $field = bad", ({ nodes, replicas, field }) => {
    expect(() => fairShareBound(nodes, replicas, 3)).toThrow(new RegExp(`^${field} must be`));
  });
});
