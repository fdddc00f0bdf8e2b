import { describe, expect, it } from "vitest";

import { mergePatchOf } from "../src/kube/merge-patch.js";
import { podStatusPatch } from "../src/kube/pod-api.js";

describe("mergePatchOf", () => {
  it("carries only what changed, nulls what went, and replaces arrays whole", () => {
    const before = {
      phase: "Pending",
      hostIP: "10.0.0.1",
      conditions: [{ type: "PodScheduled", status: "True" }],
      containerStatuses: [{ name: "a", state: { waiting: { reason: "ContainerCreating" } } }],
    };
    const after = {
      phase: "Running",
      hostIP: "10.0.0.1",
      conditions: [
        { type: "PodScheduled", status: "True" },
        { type: "Ready", status: "True" },
      ],
      containerStatuses: [{ name: "a", state: { running: { startedAt: "2026-12-01T10:00:00Z" } } }],
      podIP: undefined,
    };
    expect(mergePatchOf(before, after)).toEqual({
      phase: "Running",
      conditions: after.conditions,
      containerStatuses: after.containerStatuses,
    });
    expect(mergePatchOf({ a: { b: 1, c: 2 } }, { a: { b: 1 } })).toEqual({ a: { c: null } });
    expect(mergePatchOf({ a: 1 }, { a: 1 })).toBeUndefined();
  });

  it("compares a Date with the RFC 3339 seconds the API server returns for it", () => {
    const at = new Date("2026-12-01T10:00:00.731Z");
    expect(mergePatchOf({ startTime: "2026-12-01T10:00:00Z" }, { startTime: at })).toBeUndefined();
    expect(mergePatchOf({}, { startTime: at })).toEqual({ startTime: "2026-12-01T10:00:00Z" });
    expect(mergePatchOf({ s: [{ t: "2026-12-01T10:00:00Z" }] }, { s: [{ t: at }] })).toBeUndefined();
  });
});

describe("podStatusPatch", () => {
  it("preconditions the change on the resourceVersion it was computed from", () => {
    const pod = {
      metadata: { name: "p", namespace: "n", uid: "u1", resourceVersion: "42", managedFields: [] },
      spec: { containers: [{ name: "a", image: "x" }] },
      status: { phase: "Pending" },
    };
    expect(podStatusPatch(pod, { phase: "Running" })).toEqual({
      metadata: { resourceVersion: "42" },
      status: { phase: "Running" },
    });
    expect(podStatusPatch(pod, { phase: "Pending" })).toBeUndefined();
  });
});
