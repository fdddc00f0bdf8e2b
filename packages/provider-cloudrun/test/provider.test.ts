import { FakeClock, errorCode } from "@virtual-node/core";
import type { ProviderPodStatus, ResolvedPod } from "@virtual-node/core";
import { makeResolvedPod } from "@virtual-node/testing/conformance";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { resolveOptions } from "../src/options.js";
import type { CloudRunProvider } from "../src/provider.js";
import { startSimulator } from "./simulator/server.js";
import type { SimulatorServer } from "./simulator/server.js";
import { simulatorProvider } from "./support/provider.js";

const signal = (): { signal: AbortSignal } => ({ signal: new AbortController().signal });

function script(
  name: string,
  sh: string,
  restartPolicy: "Never" | "OnFailure" | "Always",
  image = "busybox:1.36",
) {
  const pod = makeResolvedPod({ name, restartPolicy, image, nodeName: "vn-a" });
  const command = ["sh", "-c", sh];
  const c = pod.pod.spec?.containers[0];
  if (c !== undefined) c.command = command;
  const r = pod.containers[0];
  if (r !== undefined) r.command = command;
  return pod;
}

async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  let out = "";
  for await (const chunk of stream) out += String(chunk);
  return out;
}

describe("createCloudRunProvider on the simulator", () => {
  const clock = new FakeClock();
  let server: SimulatorServer;
  let provider: CloudRunProvider;

  /** Advances virtual time until `read` accepts (never sleeps for real). */
  async function until(
    pod: ResolvedPod,
    accept: (s: ProviderPodStatus | undefined) => boolean,
    limitMs = 60_000,
  ): Promise<ProviderPodStatus | undefined> {
    for (let waited = 0; waited <= limitMs; waited += 250) {
      const status = await provider.getPodStatus(pod.ref, signal());
      if (accept(status)) return status;
      await clock.advanceAsync(250);
    }
    throw new Error(`timed out: ${JSON.stringify(await provider.getPodStatus(pod.ref, signal()))}`);
  }

  /** Runs `promise` while moving virtual time forward. */
  async function withTime<T>(promise: Promise<T>, stepMs = 100, limitMs = 60_000): Promise<T> {
    const state = { settled: false };
    const watched = promise.finally(() => {
      state.settled = true;
    });
    // Observed now: a rejection must not count as unhandled while time moves.
    watched.catch(() => undefined);
    for (let waited = 0; !state.settled && waited < limitMs; waited += stepMs)
      await clock.advanceAsync(stepMs);
    return watched;
  }

  beforeAll(async () => {
    server = await startSimulator({
      clock,
      timings: { operationMs: 3000, startMs: 1000, readyMs: 1000, retryMs: 500 },
    });
    provider = simulatorProvider(server.port, clock);
  });
  afterAll(async () => {
    expect(server.sim.violations).toEqual([]);
    await provider.close();
    await server.close();
  });

  it("waits for the create operation with single GETs, then runs the job", async () => {
    const pod = script("lro", "echo one; echo two; exit 0", "Never");
    const before = server.sim.counts();
    await withTime(provider.createPod(pod, signal()));
    const after = server.sim.counts();
    const delta = (op: string) => (after[op] ?? 0) - (before[op] ?? 0);
    expect(delta("run.projects.locations.jobs.create")).toBe(1);
    expect(delta("run.projects.locations.operations.get")).toBeGreaterThanOrEqual(1);
    expect(delta("run.projects.locations.jobs.run")).toBe(1);
    const status = await until(pod, (s) => s?.phase === "Succeeded");
    expect(status?.containers[0]?.state).toHaveProperty("terminated.exitCode", 0);
  });

  it("reads the job's log from Cloud Logging, with tail and timestamps", async () => {
    const pod = script("logs", "echo first line; echo second line; echo third line; exit 0", "Never");
    await withTime(provider.createPod(pod, signal()));
    await until(pod, (s) => s?.phase === "Succeeded");
    const all = await provider.getContainerLogs(
      pod.ref,
      "main",
      { follow: false, timestamps: false, previous: false },
      signal(),
    );
    expect(await readAll(all)).toBe("first line\nsecond line\nthird line\n");
    const tail = await provider.getContainerLogs(
      pod.ref,
      "main",
      { follow: false, timestamps: true, previous: false, tailLines: 1 },
      signal(),
    );
    expect(await readAll(tail)).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d+Z third line\n$/);
    // A followed log of a finished job ends by itself.
    const followed = await provider.getContainerLogs(
      pod.ref,
      "main",
      { follow: true, timestamps: false, previous: false },
      signal(),
    );
    expect(await withTime(readAll(followed))).toBe("first line\nsecond line\nthird line\n");
    await expect(
      provider.getContainerLogs(
        pod.ref,
        "nope",
        { follow: false, timestamps: false, previous: false },
        signal(),
      ),
    ).rejects.toMatchObject({ code: "VN_NOT_FOUND" });
  });

  it("OnFailure: retries the task, then fails with the exit code and restart count", async () => {
    const pod = script("retry", "exit 2", "OnFailure");
    await withTime(provider.createPod(pod, signal()));
    const status = await until(pod, (s) => s?.phase === "Failed");
    expect(status?.containers[0]?.state).toHaveProperty("terminated.exitCode", 2);
    expect(status?.containers[0]?.restartCount).toBe(3);
  });

  it("an image that does not exist: Failed with Cloud Run's reason, for a job and a worker pool", async () => {
    const job = script("noimage-job", "exit 0", "Never", "gcr.io/x/does-not-exist:1");
    await withTime(provider.createPod(job, signal()));
    const jobStatus = await until(job, (s) => s?.phase === "Failed");
    expect(jobStatus?.reason).toBe("ContainerMissing");
    expect(jobStatus?.message).toContain("not found");
    const svc = script("noimage-svc", "sleep 86400", "Always", "gcr.io/x/does-not-exist:1");
    await withTime(provider.createPod(svc, signal()));
    const svcStatus = await until(svc, (s) => s?.phase === "Failed");
    expect(svcStatus?.reason).toBe("ContainerMissing");
    expect(svcStatus?.containers[0]?.state).toHaveProperty("waiting.reason", "ErrImagePull");
  });

  it("delete cancels a running execution, deletes the job and its mirrored secrets", async () => {
    const pod = script("cancel", "sleep 86400", "Never");
    pod.containers[0]?.env.push({
      name: "TOKEN",
      value: "tok-123",
      secret: true,
      source: { kind: "secret", name: "s", key: "t" },
    });
    await withTime(provider.createPod(pod, signal()));
    await until(pod, (s) => s?.phase === "Running");
    const secretsBefore = [...server.sim.cloud.secrets.keys()].filter((k) => k.includes("cancel"));
    expect(secretsBefore).toHaveLength(1);
    const before = server.sim.counts();
    await withTime(provider.deletePod(pod.ref, 30, signal()));
    const after = server.sim.counts();
    expect(
      (after["run.projects.locations.jobs.executions.cancel"] ?? 0) -
        (before["run.projects.locations.jobs.executions.cancel"] ?? 0),
    ).toBe(1);
    expect(
      (after["run.projects.locations.jobs.delete"] ?? 0) -
        (before["run.projects.locations.jobs.delete"] ?? 0),
    ).toBe(1);
    expect([...server.sim.cloud.secrets.keys()].filter((k) => k.includes("cancel"))).toEqual([]);
    expect(await provider.getPodStatus(pod.ref, signal())).toBeUndefined();
    for (const r of server.sim.requests)
      if (!r.operation.startsWith("secretmanager.")) expect(r.rawBody).not.toContain("tok-123");
  });

  it("lists only this node's pods (adoption and orphan cleanup stay on their node)", async () => {
    const mine = script("mine", "sleep 86400", "Always");
    const other = makeResolvedPod({ name: "theirs", nodeName: "vn-b" });
    await withTime(provider.createPod(mine, signal()));
    await withTime(provider.createPod(other, signal()));
    const a = await provider.listPods("vn-a", signal());
    const b = await provider.listPods("vn-b", signal());
    expect(a.some((p) => p.name === "mine")).toBe(true);
    expect(a.some((p) => p.name === "theirs")).toBe(false);
    expect(b.map((p) => p.name)).toEqual(["theirs"]);
  });

  it("throttling: RESOURCE_EXHAUSTED with RetryInfo is retried after the delay on reads, typed on writes", async () => {
    const pod = script("throttled", "sleep 86400", "Always");
    server.sim.inject({
      operation: "run.CreateWorkerPool",
      httpStatus: 429,
      status: "RESOURCE_EXHAUSTED",
      retryDelaySeconds: 3,
    });
    const error = await withTime(provider.createPod(pod, signal())).then(
      () => undefined,
      (e: unknown) => e as { code?: string; cloudCode?: string; retryAfterMs?: number },
    );
    expect(errorCode(error)).toBe("VN_RETRYABLE");
    expect(error?.cloudCode).toBe("RESOURCE_EXHAUSTED");
    expect(error?.retryAfterMs).toBe(3000);
    // Core retries the create later: it goes through.
    await withTime(provider.createPod(pod, signal()));

    server.sim.inject({
      operation: "run.projects.locations.jobs.list",
      httpStatus: 429,
      status: "RESOURCE_EXHAUSTED",
      retryDelaySeconds: 2,
    });
    const before = server.sim.counts()["run.projects.locations.jobs.list"] ?? 0;
    await clock.advanceAsync(20_000); // the list is stale: the next read lists again
    const start = clock.now();
    const status = await withTime(provider.getPodStatus(pod.ref, signal()));
    expect(status).toBeDefined();
    expect(clock.now() - start).toBeGreaterThanOrEqual(2000);
    expect((server.sim.counts()["run.projects.locations.jobs.list"] ?? 0) - before).toBe(2);
  });
});

describe("options", () => {
  it.each([
    [{ project: "", region: "us-central1" }, "project"],
    [{ project: "p1", region: "mars" }, "region"],
    [{ project: "p1", region: "us-central1", serviceAccount: "nope" }, "serviceAccount"],
    [{ project: "p1", region: "us-central1", labels: { Bad: "x" } }, "labels.Bad"],
    [{ project: "p1", region: "us-central1", vpc: {} }, "vpc"],
    [{ project: "p1", region: "us-central1", onFailureMaxRetries: -1 }, "onFailureMaxRetries"],
    [{ project: "p1", region: "us-central1", transport: "http2" as "grpc" }, "transport"],
  ])("%o → error naming %s", (options, field) => {
    let error: unknown;
    try {
      resolveOptions(options);
    } catch (e) {
      error = e;
    }
    expect(errorCode(error)).toBe("VN_INVALID_INPUT");
    expect((error as { field?: string }).field).toBe(field);
    expect(String(error)).toContain(field);
  });
  it("fills defaults", () => {
    expect(resolveOptions({ project: "p1", region: "us-central1" })).toMatchObject({
      transport: "grpc",
      secrets: "reject",
      onFailureMaxRetries: 3,
      defaultJobTimeoutSeconds: 86_400,
      name: "cloudrun",
    });
  });
});
