/** The cloud-calls scenario's pure pieces: read/write classification, window figures, report, options. */
import { describe, expect, it } from "vitest";

import {
  cloudCallFigures,
  CLOUD_PROVIDERS,
  formatCloudCalls,
  isReadCall,
  tally,
  UPSTREAM,
  type CloudProviderId,
  type SimTally,
} from "../src/cloud-calls.js";
import { parseOptions } from "../src/options.js";
import { table } from "../src/report.js";

describe("isReadCall", () => {
  it.each<[CloudProviderId, string, string, boolean]>([
    ["aci", "ContainerGroups_ListByResourceGroup", "GET", true],
    ["aci", "ContainerGroups_Get", "GET", true],
    ["aci", "Location_ListUsage", "GET", true],
    ["aci", "ContainerGroups_CreateOrUpdate", "PUT", false],
    ["aci", "ContainerGroups_Delete", "DELETE", false],
    ["aci", "Containers_ExecuteCommand", "POST", false],
    ["fargate", "DescribeTasks", "POST", true],
    ["fargate", "ListTasks", "POST", true],
    ["fargate", "GetLogEvents", "POST", true],
    ["fargate", "ListSecrets", "POST", true],
    ["fargate", "RunTask", "POST", false],
    ["fargate", "StopTask", "POST", false],
    ["fargate", "RegisterTaskDefinition", "POST", false],
    ["fargate", "Listing", "POST", false],
    ["cloudrun", "run.projects.locations.jobs.executions.list", "GET", true],
    ["cloudrun", "run.ListWorkerPools", "GET", true],
    ["cloudrun", "run.projects.locations.operations.get", "GET", true],
    ["cloudrun", "run.CreateWorkerPool", "POST", false],
    ["cloudrun", "run.projects.locations.jobs.run", "POST", false],
    ["cloudrun", "run.DeleteWorkerPool", "DELETE", false],
    ["interlink", "status", "GET", true],
    ["interlink", "pinglink", "POST", true],
    ["interlink", "getLogs", "GET", true],
    ["interlink", "create", "POST", false],
    ["interlink", "delete", "DELETE", false],
  ])("%s %s (%s) → read %s", (provider, operation, method, read) => {
    expect(isReadCall(provider, operation, method)).toBe(read);
  });
});

describe("cloudCallFigures", () => {
  const before: SimTally = tally(
    [
      ...Array.from({ length: 1000 }, () => ({ operation: "create", method: "POST" })),
      ...Array.from({ length: 50 }, () => ({ operation: "status", method: "GET" })),
    ],
    0,
  );

  it("counts only the window, splits reads from writes, per pod per minute, against upstream", () => {
    // 120 s at 1,000 pods: 8 status lists, 12 pings, no write.
    const after = tally(
      [
        ...Array.from({ length: 1000 }, () => ({ operation: "create", method: "POST" })),
        ...Array.from({ length: 58 }, () => ({ operation: "status", method: "GET" })),
        ...Array.from({ length: 12 }, () => ({ operation: "pinglink", method: "GET" })),
      ],
      0,
    );
    const f = cloudCallFigures("interlink", before, after, 1000, 120);
    expect(f.reads).toBe(20);
    expect(f.writes).toBe(0);
    expect(f.readsPerPodPerMinute).toBe(0.01);
    expect(f.operations).toEqual([
      { operation: "pinglink", kind: "read", calls: 12, perPodPerMinute: 0.006 },
      { operation: "status", kind: "read", calls: 8, perPodPerMinute: 0.004 },
    ]);
    expect(f.fewerTimes).toBe(1200);
    expect(f.goalMet).toBe(true);
    expect(f.violations).toBe(0);
  });

  it("reports writes in the window and a missed goal", () => {
    const after = tally(
      [
        ...Array.from({ length: 1003 }, () => ({ operation: "create", method: "POST" })),
        ...Array.from({ length: 50 + 600 }, () => ({ operation: "status", method: "GET" })),
      ],
      2,
    );
    const f = cloudCallFigures("interlink", before, after, 100, 60);
    expect([f.reads, f.writes, f.readsPerPodPerMinute, f.fewerTimes, f.goalMet, f.violations]).toEqual([
      600,
      3,
      6,
      2,
      false,
      2,
    ]);
  });

  it("no read at all: no ratio, goal met", () => {
    const f = cloudCallFigures("aci", before, before, 10, 10);
    expect([f.reads, f.writes, f.fewerTimes, f.goalMet, f.operations]).toEqual([0, 0, undefined, true, []]);
  });

  it("names the bad argument", () => {
    expect(() => cloudCallFigures("aci", before, before, 0, 10)).toThrow(/pods must be positive/);
    expect(() => cloudCallFigures("aci", before, before, 10, 0)).toThrow(/windowSeconds must be positive/);
  });

  it("has upstream's published figures (Cloud Run: none, a naive 5 s poll)", () => {
    expect(Object.fromEntries(CLOUD_PROVIDERS.map((p) => [p, UPSTREAM[p].perPodPerMinute]))).toEqual({
      aci: 24,
      fargate: 12,
      cloudrun: 12,
      interlink: 12,
    });
    expect(UPSTREAM.cloudrun.project).toBeUndefined();
  });
});

describe("report and options", () => {
  it("prints one row per provider and each one's operations", () => {
    const after = tally(
      Array.from({ length: 8 }, () => ({ operation: "ListTasks", method: "POST" })),
      0,
    );
    const figures = cloudCallFigures("fargate", tally([], 0), after, 1000, 120);
    const text = formatCloudCalls(
      [
        { provider: "fargate", ok: true, pods: 1000, readyFraction: 1, figures },
        { provider: "aci", ok: false, error: "boom\nmore", pods: 0, readyFraction: 0 },
      ],
      table,
    );
    expect(text).toContain("1000 steady pods per provider, 120 s window");
    expect(text).toMatch(
      /fargate\s+1000\/1000\s+0\.0040\s+12 \(virtual-kubelet\/aws-fargate\)\s+3000×\s+met\s+0\s+0/,
    );
    expect(text).toContain("fargate calls in the window: ListTasks 8 (read, 0.0040/pod/min)");
    expect(text).toContain("aci FAILED: boom");
    expect(text).not.toContain("more");
  });

  it("parses the cloud-calls options; the scenario is not in the default set", () => {
    expect(parseOptions([], "/tmp/r").options.scenarios).not.toContain("cloud-calls");
    const o = parseOptions(
      [
        "--scenarios",
        "cloud-calls",
        "--cloud-pods",
        "5",
        "--cloud-steady-seconds",
        "10",
        "--cloud-providers",
        "interlink,aci",
      ],
      "/tmp/r",
    ).options;
    expect([o.scenarios, o.cloudPods, o.cloudSteadySeconds, o.cloudProviders, o.cloudSettleSeconds]).toEqual([
      ["cloud-calls"],
      5,
      10,
      ["aci", "interlink"],
      30,
    ]);
    const full = parseOptions(["--scenarios", "cloud-calls"], "/tmp/r").options;
    expect([full.cloudPods, full.cloudSteadySeconds, full.cloudProviders]).toEqual([
      1000,
      120,
      ["aci", "fargate", "cloudrun", "interlink"],
    ]);
    expect(() => parseOptions(["--cloud-providers", "gke"], "/tmp/r")).toThrow(
      /--cloud-providers: unknown gke/,
    );
    expect(() => parseOptions(["--cloud-pods=many"], "/tmp/r")).toThrow(/--cloud-pods must be/);
  });
});
