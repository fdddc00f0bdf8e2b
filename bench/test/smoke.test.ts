/**
 * Smoke test of the benchmark harness (not the benchmark): virtual-kubelet and KWOK resolve (or build, the
 * first time: minutes), and every system under test starts on the shared control plane, gets a handful of
 * pods Ready and deletes them, with CPU, memory and API requests measured.
 */
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { inject, describe, expect, it, beforeAll, afterAll } from "vitest";
import { useControlPlane, type ControlPlaneHandle } from "@virtual-node/testing";

import { CLOUD_PROVIDERS } from "../src/cloud-calls.js";
import { runCloudCalls } from "../src/cloud-scenario.js";
import { clientFor, parseRequestTotals, diffCounts } from "../src/kube.js";
import { summarizeLeases } from "../src/observer.js";
import { parseOptions, SYSTEM_IDS, type SystemId } from "../src/options.js";
import { parseStatCpuSeconds, parseStatusMemory, sampleProcess } from "../src/procstat.js";
import { summarize } from "../src/report.js";
import { repoRoot, writeSnapshot } from "../src/snapshot.js";
import { attributable, runOnce, type RunnerContext } from "../src/scenarios.js";
import { lineChartSvg } from "../src/svg.js";
import { AGENT_NODE_FLAGS, childScript } from "../src/systems.js";
import { ensureTools, kwokStagesConfig, patchVirtualKubeletRoot, type BuiltTools } from "../src/tools.js";

describe("pure pieces", () => {
  it("parses apiserver_request_total and attributes requests", () => {
    const before = parseRequestTotals(
      'apiserver_request_total{code="200",component="apiserver",dry_run="",group="",resource="pods",scope="resource",subresource="status",verb="PUT",version="v1"} 3\n',
    );
    const after = parseRequestTotals(
      [
        "# HELP apiserver_request_total x",
        'apiserver_request_total{code="200",component="apiserver",dry_run="",group="",resource="pods",scope="resource",subresource="status",verb="PUT",version="v1"} 10',
        'apiserver_request_total{code="409",component="apiserver",dry_run="",group="",resource="pods",scope="resource",subresource="status",verb="PUT",version="v1"} 2',
        'apiserver_request_total{code="201",component="apiserver",dry_run="",group="",resource="pods",scope="resource",subresource="",verb="POST",version="v1"} 5',
      ].join("\n"),
    );
    expect(diffCounts(after, before, { "POST pods": 5 })).toEqual({ "PUT pods/status": 9 });
    expect(attributable("PUT pods/status")).toBe(true);
    expect(attributable("GET /openapi/v3")).toBe(false);
    expect(attributable("WATCH configmaps")).toBe(false);
    expect(attributable("WATCH pods")).toBe(true);
  });

  it("reads /proc", () => {
    expect(parseStatCpuSeconds("42 (a (b) c) S 1 2 3 4 5 6 7 8 9 10 250 50 0 0")).toBe(3);
    expect(parseStatusMemory("VmHWM:\t  2048 kB\nVmRSS:\t  1024 kB\n")).toEqual({
      rssKiB: 1024,
      hwmKiB: 2048,
    });
    const self = sampleProcess(process.pid);
    expect(self?.rssKiB).toBeGreaterThan(0);
  });

  it("runs the agent with the node flags of the shipped image", async () => {
    const dockerfile = await readFile(join(repoRoot, "deploy", "Dockerfile"), "utf8");
    const entrypoint = /^ENTRYPOINT (\[.*\])$/m.exec(dockerfile)?.[1] ?? "[]";
    const flags = (JSON.parse(entrypoint) as string[]).filter((a) => a.startsWith("--"));
    expect(flags).toEqual(AGENT_NODE_FLAGS);
  });

  it("counts late lease renewals", () => {
    const s = summarizeLeases(new Map([["n", [1_000, 11_000, 30_000]]]), 0, 35_000, 15_000, 40_000);
    expect(s).toMatchObject({ renewals: 3, late: 1, expired: 0 });
  });

  it("draws a chart and parses options", async () => {
    const svg = lineChartSvg({
      title: "t",
      xLabel: "x",
      yLabel: "y",
      series: [
        {
          name: "a<b",
          color: "#000",
          points: [
            [0, 0],
            [1.5, 10],
          ],
        },
      ],
    });
    expect(svg).toContain("<polyline");
    expect(svg).toContain("a&lt;b");
    const quick = parseOptions(["--quick", "--systems", "kwok,virtual-node"], "/tmp/r").options;
    expect(quick.systems).toEqual(["virtual-node", "kwok"]);
    expect(quick.rounds).toBe(1);
    expect(parseOptions(["build"], "/tmp/r").command).toBe("build");
    expect(parseOptions(["snapshot"], "/tmp/r").options.beforeDir).toBe("/tmp/r/before");
    expect(parseOptions([], "/tmp/r").options.systems).not.toContain("virtual-node-before");
    await expect(writeSnapshot("/tmp/elsewhere", "x")).rejects.toThrow(/inside/);
    expect(() => parseOptions(["--systems", "nope"], "/tmp/r")).toThrow(/unknown/);
    expect(parseOptions([], "/tmp/r").options.scenarios).not.toContain("fleet");
    const fleet = parseOptions(["--fleet"], "/tmp/r").options;
    expect([fleet.scenarios, fleet.systems, fleet.fleetNodes, fleet.fleetPods]).toEqual([
      ["fleet"],
      ["virtual-node", "kwok"],
      500,
      50_000,
    ]);
    expect(parseOptions(["--vn-node-arg=--max-semi-space-size=2"], "/tmp/r").options.vnNodeArgs).toEqual([
      "--max-semi-space-size=2",
    ]);
  });
});

describe("harness against the shared control plane", () => {
  let cp: ControlPlaneHandle;
  let tools: BuiltTools;
  let ctx: RunnerContext;
  let logDir: string;

  beforeAll(async () => {
    for (const child of ["vn-agent", "raw-writer", "load", "cloud-agent", "cloud-sim"] as const) {
      if (!existsSync(childScript(child)))
        throw new Error(`${childScript(child)} is missing: run npm run build first`);
    }
    cp = await useControlPlane(inject("controlPlane"));
    // Cached after the first build (which takes minutes on 2 cores); .ci/run builds them upfront.
    tools = await ensureTools();
    logDir = await mkdtemp(join(tmpdir(), "virtual-node-bench-smoke-"));
    const harness = await cp.mintClientIdentity({ user: "bench-smoke:harness", groups: ["system:masters"] });
    const kubeconfigs = {} as Record<SystemId, string>;
    for (const system of SYSTEM_IDS) {
      kubeconfigs[system] = (
        await cp.mintClientIdentity({ user: `bench-smoke:${system}`, groups: ["system:masters"] })
      ).kubeconfigPath;
    }
    const { options } = parseOptions(
      ["--quick", "--churn-pods", "5", "--delete-grace-seconds", "1", "--phase-timeout", "90"],
      logDir,
    );
    ctx = {
      tools,
      kubeconfigs,
      admin: clientFor(harness.kubeconfigPath),
      logDir,
      clientQps: 0,
      vkStock: false,
      vkWorkers: 1,
      vnOptions: {},
      vnNodeArgs: [],
      profileDir: undefined,
      // Inside the repository (git-ignored): the snapshot resolves its dependencies from there.
      beforeDir: join(repoRoot, "bench", "results", `smoke-before-${process.pid}`),
      runId: "",
      options,
      server: cp.server,
      metricsTls: { ca: cp.caCertPem, cert: harness.certPem, key: harness.keyPem },
      harnessKubeconfig: harness.kubeconfigPath,
      config: "limits-off",
      progress: () => undefined,
    };
  });

  afterAll(async () => {
    ctx.admin.close();
    await rm(logDir, { recursive: true, force: true });
    await rm(ctx.beforeDir, { recursive: true, force: true });
  });

  it("built virtual-kubelet with the benchmark knobs and KWOK with its stages", async () => {
    expect(tools.virtualKubelet.stamp.version).toBe("v1.14.1");
    const root = await readFile(
      join(tools.virtualKubelet.dir, "module-src/cmd/virtual-kubelet/internal/commands/root/root.go"),
      "utf8",
    );
    expect(patchVirtualKubeletRoot(root)).toContain("benchQueueOverrides()");
    expect(await kwokStagesConfig(tools.kwok)).toContain("name: pod-ready");
  });

  it.each(SYSTEM_IDS)("%s starts, gets 5 pods Ready, deletes them, and is measured", async (system) => {
    // virtual-node-before runs a snapshot: here, of the same builds.
    if (system === "virtual-node-before") await writeSnapshot(ctx.beforeDir, "smoke test");
    const run = await runOnce(ctx, "churn", system, 1);
    expect(run.error).toBeUndefined();
    expect(run.ok).toBe(true);
    expect(run.metrics.readyPodsPerSecond).toBeGreaterThan(0);
    expect(run.metrics.gonePodsPerSecond).toBeGreaterThan(0);
    expect(run.peakRssMiB).toBeGreaterThan(0);
    expect(run.cpuSeconds).toBeGreaterThanOrEqual(0);
    const statusWrites =
      (run.apiRequests["PUT pods/status"] ?? 0) + (run.apiRequests["PATCH pods/status"] ?? 0);
    expect(statusWrites).toBeGreaterThanOrEqual(5);
    const [summary] = summarize([run], [system]);
    expect(summary?.systems[0]?.ok).toBe(1);
  });

  it.each(["virtual-node", "kwok"] as const)(
    "fleet: %s serves 3 nodes in one process, 9 pods spread over them become Ready and go, leases watched",
    async (system) => {
      const fleetCtx = { ...ctx, options: { ...ctx.options, fleetNodes: 3, fleetPods: 9 } };
      const run = await runOnce(fleetCtx, "fleet", system, 1);
      expect(run.error).toBeUndefined();
      expect([run.ok, run.nodes, run.pods, run.processes]).toEqual([true, 3, 9, 1]);
      expect(run.metrics.readyPodsPerSecond).toBeGreaterThan(0);
      expect(run.metrics.gonePodsPerSecond).toBeGreaterThan(0);
      expect(run.lease?.expired).toBe(0);
      expect(run.apiRequests["DELETE pods"]).toBeGreaterThanOrEqual(9);
    },
  );

  it.each(CLOUD_PROVIDERS)(
    "cloud-calls: the agent on %s gets 5 pods Ready on its simulator; the steady window has reads only, the delete one cloud write per pod",
    async (provider) => {
      const cloudCtx = {
        ...ctx,
        options: { ...ctx.options, cloudPods: 5, cloudSteadySeconds: 10, cloudSettleSeconds: 5 },
      };
      const run = await runCloudCalls(cloudCtx, provider, 1);
      expect(run.error).toBeUndefined();
      expect([run.ok, run.provider, run.pods, run.metrics.readyFraction]).toEqual([true, provider, 5, 1]);
      const figures = run.cloudCalls;
      expect(figures?.windowSeconds).toBeGreaterThanOrEqual(10);
      expect(figures?.writes).toBe(0);
      expect(figures?.violations).toBe(0);
      expect(figures?.operations.every((o) => o.kind === "read")).toBe(true);
      expect(figures?.reads).toBe(figures?.operations.reduce((a, o) => a + o.calls, 0));
      // The calls are counted from the simulator's log: the deletes reach the cloud, one (or more) per pod.
      expect(run.metrics.deletePhaseWrites).toBeGreaterThanOrEqual(5);
    },
  );

  it("fleet refuses virtual-kubelet (one node per process) with a message", async () => {
    const run = await runOnce(
      { ...ctx, options: { ...ctx.options, fleetNodes: 3, fleetPods: 3 } },
      "fleet",
      "virtual-kubelet",
      1,
    );
    expect(run.ok).toBe(false);
    expect(run.error).toMatch(/1 node\(s\) per process: not a fleet/);
  });
});
