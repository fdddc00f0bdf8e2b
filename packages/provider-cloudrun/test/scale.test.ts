/**
 * Call count at 1 000 steady pods: 500 running Jobs and 500 ready Worker Pools, status asked for all
 * of them once a second (as core's status loop would, in batches) for two virtual minutes. The
 * provider must answer from shared list calls, not per pod. The figure is printed for the report.
 */
import { FakeClock } from "@virtual-node/core";
import type { PodRef } from "@virtual-node/core";
import { makeResolvedPod } from "@virtual-node/testing/conformance";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mapPod, specResource } from "../src/mapping.js";
import type { MappingOptions } from "../src/mapping.js";
import type { CloudRunProvider } from "../src/provider.js";
import { startSimulator } from "./simulator/server.js";
import type { SimulatorServer } from "./simulator/server.js";
import { simulatorProvider } from "./support/provider.js";

const POD_COUNT = Number(process.env.CLOUDRUN_SCALE_PODS ?? 1000);

const mapping: MappingOptions = {
  onFailureMaxRetries: 3,
  defaultJobTimeoutSeconds: 86_400,
  secrets: "reject",
  serviceIngress: "INGRESS_TRAFFIC_INTERNAL_ONLY",
  gpuType: "nvidia-l4",
};

describe("1 000 steady pods", () => {
  const clock = new FakeClock();
  let server: SimulatorServer;
  let provider: CloudRunProvider;
  const refs: PodRef[] = [];

  beforeAll(async () => {
    server = await startSimulator({ clock, timings: { operationMs: 0, startMs: 100, readyMs: 100 } });
    const cloud = server.sim.cloud;
    // Created straight in the simulator (the create path has its own tests): only status is measured.
    for (let i = 0; i < POD_COUNT; i++) {
      const pod = makeResolvedPod({
        name: `pod-${i}`,
        nodeName: "vn-scale",
        behaviour: "run",
        restartPolicy: i % 2 === 0 ? "Never" : "Always",
      });
      refs.push(pod.ref);
      const spec = mapPod(pod, mapping);
      // As the client library would send it: Durations as "Ns".
      const json = JSON.parse(
        JSON.stringify(specResource(spec), (_key, value: unknown) =>
          value !== null && typeof value === "object" && Object.keys(value).join() === "seconds"
            ? `${String((value as { seconds: number }).seconds)}s`
            : value,
        ),
      ) as Record<string, unknown>;
      if (spec.kind === "job") {
        cloud.createJob(cloud.parent, spec.id, json);
        cloud.runJob(`${cloud.parent}/jobs/${spec.id}`);
      } else cloud.createWorkerPool(cloud.parent, spec.id, json);
    }
    await clock.advanceAsync(1000);
    provider = simulatorProvider(server.port, clock, {
      secrets: "reject",
      statusIntervals: { fastMs: 2000, slowMs: 15_000 },
    });
  });

  afterAll(async () => {
    await provider.close();
    await server.close();
  });

  it("answers every status from a few list pages per interval", async () => {
    const first = await provider.getPodStatuses(refs, { signal: new AbortController().signal });
    expect([...first.values()].every((s) => s?.phase === "Running")).toBe(true);
    const before = server.sim.requests.length;
    const minutes = 2;
    for (let second = 0; second < minutes * 60; second++) {
      await clock.advanceAsync(1000);
      await provider.getPodStatuses(refs, { signal: new AbortController().signal });
    }
    const calls = server.sim.requests.slice(before);
    const perMinute = calls.length / minutes;
    const byOperation: Record<string, number> = {};
    for (const c of calls) byOperation[c.operation] = (byOperation[c.operation] ?? 0) + 1;
    console.log(`[cloudrun scale] ${POD_COUNT} steady pods: ${perMinute} API calls per minute`, byOperation);
    // Per 15 s (slow interval): ListExecutions (1 page of 500), ListJobs (1), ListWorkerPools (1),
    // ListServices (1, for pods created as Services) = 4.
    expect(perMinute).toBeLessThanOrEqual(16);
    expect(Object.keys(byOperation).sort()).toEqual([
      "run.ListWorkerPools",
      "run.projects.locations.jobs.executions.list",
      "run.projects.locations.jobs.list",
      "run.projects.locations.services.list",
    ]);
    expect(server.sim.violations).toEqual([]);
  });
});
