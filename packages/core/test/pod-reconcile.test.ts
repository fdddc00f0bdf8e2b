import { describe, expect, it } from "vitest";
import { planReconcile, type ReconcileInput, type ReconcileTracked } from "../src/pod-reconcile.js";
import type { ProviderPodSummary } from "../src/provider.js";

const NODE = "vn-1";
const GRACE = 120_000;
const NOW = 1_000_000;

const listed = (name: string, uid: string, nodeName = NODE): ProviderPodSummary => ({
  namespace: "ns",
  name,
  uid,
  nodeName,
});
const tracked = (uid: string, extra: Partial<ReconcileTracked> = {}): ReconcileTracked => ({
  uid,
  terminal: false,
  missing: false,
  createdAt: undefined,
  ...extra,
});

function plan(overrides: Partial<ReconcileInput>) {
  const p = planReconcile({
    nodeName: NODE,
    listed: [],
    listStartedAt: NOW,
    now: NOW,
    orphanGraceMs: GRACE,
    apiUid: () => undefined,
    tracked: new Map(),
    orphanSince: new Map(),
    ...overrides,
  });
  return {
    adopt: p.adopt.map((x) => `${x.name}@${x.uid}`),
    deleteOrphans: p.deleteOrphans.map((x) => `${x.name}@${x.uid}`),
    lost: [...p.lost],
    orphanSince: Object.fromEntries(p.orphanSince),
  };
}

describe("planReconcile", () => {
  const api = (uids: Record<string, string>) => (key: string) => uids[key];

  it.each([
    {
      case: "a provider pod of an API pod the controller does not track is adopted",
      input: { listed: [listed("a", "u1")], apiUid: api({ "ns/a": "u1" }) },
      want: { adopt: ["a@u1"], deleteOrphans: [], lost: [], orphanSince: {} },
    },
    {
      case: "a tracked pod the provider lists is left alone",
      input: {
        listed: [listed("a", "u1")],
        apiUid: api({ "ns/a": "u1" }),
        tracked: new Map([["ns/a", tracked("u1")]]),
      },
      want: { adopt: [], deleteOrphans: [], lost: [], orphanSince: {} },
    },
    {
      case: "an orphan seen for the first time starts its grace clock, nothing is deleted",
      input: { listed: [listed("a", "u1")] },
      want: { adopt: [], deleteOrphans: [], lost: [], orphanSince: { "ns/a@u1": NOW } },
    },
    {
      case: "an orphan inside the grace period keeps its first sighting",
      input: { listed: [listed("a", "u1")], orphanSince: new Map([["ns/a@u1", NOW - GRACE + 1]]) },
      want: { adopt: [], deleteOrphans: [], lost: [], orphanSince: { "ns/a@u1": NOW - GRACE + 1 } },
    },
    {
      case: "an orphan absent from the API for the whole grace period is deleted and forgotten",
      input: { listed: [listed("a", "u1")], orphanSince: new Map([["ns/a@u1", NOW - GRACE]]) },
      want: { adopt: [], deleteOrphans: ["a@u1"], lost: [], orphanSince: {} },
    },
    {
      case: "a provider pod whose API pod has another UID is an orphan (same name, new pod)",
      input: { listed: [listed("a", "old")], apiUid: api({ "ns/a": "new" }) },
      want: { adopt: [], deleteOrphans: [], lost: [], orphanSince: { "ns/a@old": NOW } },
    },
    {
      case: "an orphan that is no longer listed drops out of the grace clock",
      input: { orphanSince: new Map([["ns/gone@u9", NOW - 10]]) },
      want: { adopt: [], deleteOrphans: [], lost: [], orphanSince: {} },
    },
    {
      case: "another node's pods are neither adopted nor deleted",
      input: { listed: [listed("a", "u1", "vn-2")], apiUid: api({ "ns/a": "u1" }) },
      want: { adopt: [], deleteOrphans: [], lost: [], orphanSince: {} },
    },
    {
      case: "a tracked pod the provider no longer lists is lost",
      input: { tracked: new Map([["ns/a", tracked("u1")]]) },
      want: { adopt: [], deleteOrphans: [], lost: ["ns/a"], orphanSince: {} },
    },
    {
      case: "a tracked pod listed with another UID is lost",
      input: { listed: [listed("a", "u0")], tracked: new Map([["ns/a", tracked("u1")]]) },
      want: { adopt: [], deleteOrphans: [], lost: ["ns/a"], orphanSince: { "ns/a@u0": NOW } },
    },
    {
      case: "terminal and already-missing pods are not lost again",
      input: {
        tracked: new Map([
          ["ns/t", tracked("u1", { terminal: true })],
          ["ns/m", tracked("u2", { missing: true })],
        ]),
      },
      want: { adopt: [], deleteOrphans: [], lost: [], orphanSince: {} },
    },
    {
      case: "a pod created after the list started may not be in it yet: not lost",
      input: { tracked: new Map([["ns/a", tracked("u1", { createdAt: NOW })]]) },
      want: { adopt: [], deleteOrphans: [], lost: [], orphanSince: {} },
    },
    {
      case: "a pod created before the list started and missing from it is lost",
      input: { tracked: new Map([["ns/a", tracked("u1", { createdAt: NOW - 1 })]]) },
      want: { adopt: [], deleteOrphans: [], lost: ["ns/a"], orphanSince: {} },
    },
  ])("$case", ({ input, want }) => {
    expect(plan(input)).toEqual(want);
  });
});
