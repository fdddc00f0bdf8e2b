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

  it("worker pools: Running, then Failed with the reason when the quota is exhausted or the container exits", async () => {
    const ok = script("wp-ok", "echo up; sleep 86400", "Always");
    await withTime(provider.createPod(ok, signal()));
    const running = await until(ok, (s) => s?.phase === "Running");
    expect(running?.containers[0]?.state).toHaveProperty("running");
    expect(server.sim.cloud.workerPools.size).toBeGreaterThanOrEqual(1);

    server.sim.cloud.instanceQuota = 0;
    const over = script("wp-quota", "sleep 86400", "Always");
    await withTime(provider.createPod(over, signal()));
    const quota = await until(over, (s) => s?.phase === "Failed");
    server.sim.cloud.instanceQuota = Number.POSITIVE_INFINITY;
    expect(quota?.reason).toBe("QuotaExceeded");
    expect(quota?.message).toContain("Quota exceeded");

    const crash = script("wp-exit", "echo bye; exit 3", "Always");
    await withTime(provider.createPod(crash, signal()));
    const exited = await until(crash, (s) => s?.phase === "Failed");
    expect(exited?.reason).toBe("RevisionFailed");
    expect(exited?.message).toContain("exited with code 3");
    expect(exited?.containers[0]?.state).toHaveProperty("waiting.reason", "CrashLoopBackOff");

    // Update rolls out a new revision; delete waits for the operation.
    const image = ok.pod.spec?.containers[0];
    if (image !== undefined) image.image = "busybox:1.37";
    await withTime(provider.updatePod(ok, { ...signal(), reason: "spec" }));
    const stored = [...server.sim.cloud.workerPools.values()].find((p) => String(p.name).includes("wp-ok"));
    expect(String(stored?.generation)).toBe("2");
    expect(await until(ok, (s) => s?.phase === "Running")).toBeDefined();
    for (const pod of [ok, over, crash]) await withTime(provider.deletePod(pod.ref, 30, signal()));
    expect([...server.sim.cloud.workerPools.keys()].filter((k) => k.includes("wp-"))).toEqual([]);
  });

  it('longRunning "service": a pod that declares a port becomes a Service with its URL, one without a Worker Pool', async () => {
    const services = simulatorProvider(server.port, clock, { longRunning: "service" });
    try {
      const web = script("web", "sleep 86400", "Always");
      const c = web.pod.spec?.containers[0];
      if (c !== undefined) c.ports = [{ containerPort: 8080 }];
      const worker = script("worker", "sleep 86400", "Always");
      await withTime(services.createPod(web, signal()));
      await withTime(services.createPod(worker, signal()));
      const status = await withTime(services.getPodStatus(web.ref, signal()));
      expect(status).toBeDefined();
      for (let i = 0; i < 20; i++) {
        const s = await services.getPodStatus(web.ref, signal());
        if (s?.phase === "Running") {
          expect(s.annotations?.["run.virtual-node.io/url"]).toMatch(/^https:\/\/.*\.run\.app$/);
          break;
        }
        await clock.advanceAsync(500);
      }
      expect([...server.sim.cloud.services.keys()].some((k) => k.includes("web"))).toBe(true);
      expect([...server.sim.cloud.workerPools.keys()].some((k) => k.includes("worker"))).toBe(true);
      expect([...server.sim.cloud.services.keys()].some((k) => k.includes("worker"))).toBe(false);
      await withTime(services.deletePod(web.ref, 30, signal()));
      await withTime(services.deletePod(worker.ref, 30, signal()));
      expect([...server.sim.cloud.services.keys()].some((k) => k.includes("web"))).toBe(false);
    } finally {
      await services.close();
    }
  });

  it('longRunning "instance": a Cloud Run Instance, Running from ListInstances, deleted through its operation', async () => {
    const instances = simulatorProvider(server.port, clock, { longRunning: "instance" });
    try {
      const pod = script("inst", "echo hi; sleep 86400", "Always");
      await withTime(instances.createPod(pod, signal()));
      expect([...server.sim.cloud.instances.keys()].some((k) => k.includes("inst"))).toBe(true);
      let status: ProviderPodStatus | undefined;
      for (let i = 0; i < 20 && status?.phase !== "Running"; i++) {
        await clock.advanceAsync(500);
        status = await instances.getPodStatus(pod.ref, signal());
      }
      expect(status?.phase, JSON.stringify(status)).toBe("Running");
      expect(status?.annotations?.["run.virtual-node.io/url"]).toMatch(/\.run\.app$/);
      expect(server.sim.counts()["run.ListInstances"]).toBeGreaterThanOrEqual(1);
      const missing = script("inst-missing", "sleep 86400", "Always", "gcr.io/x/does-not-exist:1");
      await withTime(instances.createPod(missing, signal()));
      let failed: ProviderPodStatus | undefined;
      for (let i = 0; i < 20 && failed?.phase !== "Failed"; i++) {
        await clock.advanceAsync(500);
        failed = await instances.getPodStatus(missing.ref, signal());
      }
      expect(failed?.reason).toBe("ContainerMissing");
      await withTime(instances.deletePod(pod.ref, 30, signal()));
      await withTime(instances.deletePod(missing.ref, 30, signal()));
      expect([...server.sim.cloud.instances.keys()].filter((k) => k.includes("inst"))).toEqual([]);
    } finally {
      await instances.close();
    }
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
    [{ project: "p1", region: "us-central1", longRunning: "pod" as "service" }, "longRunning"],
    [{ project: "p1", region: "us-central1", launchStage: "PREVIEW" as "BETA" }, "launchStage"],
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
      longRunning: "workerPool",
      secrets: "reject",
      onFailureMaxRetries: 3,
      defaultJobTimeoutSeconds: 86_400,
      name: "cloudrun",
    });
  });
});
