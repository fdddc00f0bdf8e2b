/**
 * The production transport: the real Google clients with `transport: "grpc"` (their default) over
 * insecure channel credentials to the simulator's gRPC face, which serves the same state and
 * validation as the HTTP face. Everything here travels as protobuf over HTTP/2: the face records
 * each gRPC method, and every call is validated against the same schemas as a REST request.
 */
import { FakeClock, errorCode } from "@virtual-node/core";
import type { ProviderPodStatus, ResolvedPod } from "@virtual-node/core";
import { makeResolvedPod } from "@virtual-node/testing/conformance";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CloudRunProvider } from "../src/provider.js";
import type { GrpcFace } from "./simulator/grpc.js";
import type { SimulatorServer } from "./simulator/server.js";
import { grpcProviderOptions, startGrpcSimulator } from "./support/grpc.js";
import { simulatorProvider } from "./support/provider.js";

const signal = (): { signal: AbortSignal } => ({ signal: new AbortController().signal });

function script(name: string, sh: string, restartPolicy: "Never" | "OnFailure" | "Always"): ResolvedPod {
  const pod = makeResolvedPod({ name, restartPolicy, image: "busybox:1.36", nodeName: "vn-grpc" });
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

describe("the gRPC transport (transport: grpc) against the simulator's gRPC face", () => {
  const clock = new FakeClock();
  let server: SimulatorServer;
  let face: GrpcFace;
  let close: () => Promise<void>;
  let provider: CloudRunProvider;

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

  async function withTime<T>(promise: Promise<T>, stepMs = 100, limitMs = 60_000): Promise<T> {
    const state = { settled: false };
    const watched = promise.finally(() => {
      state.settled = true;
    });
    watched.catch(() => undefined);
    for (let waited = 0; !state.settled && waited < limitMs; waited += stepMs)
      await clock.advanceAsync(stepMs);
    return watched;
  }

  /** The gRPC methods called while `run` ran. */
  async function grpcCalls(run: () => Promise<unknown>): Promise<string[]> {
    const before = face.calls.length;
    await run();
    return face.calls.slice(before);
  }

  beforeAll(async () => {
    const sim = await startGrpcSimulator({
      clock,
      timings: { operationMs: 2000, startMs: 1000, readyMs: 1500, retryMs: 500 },
    });
    server = sim.server;
    face = sim.face;
    close = () => sim.close();
    // The HTTP port is never used: every client is pointed at the gRPC face.
    provider = simulatorProvider(server.port, clock, grpcProviderOptions(face.port, clock));
  });
  afterAll(async () => {
    expect(server.sim.violations).toEqual([]);
    await provider.close();
    await close();
  });

  it("a worker pool pod: create → Running (ListWorkerPools) → delete through its operation, all over gRPC", async () => {
    const pod = script("pool", "echo started; sleep 86400", "Always");
    const created = await grpcCalls(() => withTime(provider.createPod(pod, signal())));
    expect(created).toEqual([
      "/google.cloud.run.v2.WorkerPools/GetWorkerPool",
      "/google.cloud.run.v2.WorkerPools/CreateWorkerPool",
    ]);
    const reads = await grpcCalls(async () => {
      const running = await until(pod, (s) => s?.phase === "Running");
      expect(running?.containers[0]?.ready).toBe(true);
      expect(running?.annotations?.["run.virtual-node.io/resource"]).toMatch(
        /^projects\/p1\/locations\/us-central1\/workerPools\//,
      );
    });
    expect(reads).toContain("/google.cloud.run.v2.WorkerPools/ListWorkerPools");
    expect(reads).not.toContain("/google.cloud.run.v2.WorkerPools/GetWorkerPool");
    // The worker pool as the gRPC request carried it: one manual instance.
    const stored = [...server.sim.cloud.workerPools.values()][0];
    expect(stored?.scaling).toEqual({ manualInstanceCount: 1 });

    const logs = await provider.getContainerLogs(
      pod.ref,
      "main",
      { follow: false, timestamps: false, previous: false },
      signal(),
    );
    expect(await readAll(logs)).toBe("started\n");
    expect(face.calls).toContain("/google.logging.v2.LoggingServiceV2/ListLogEntries");

    const deleted = await grpcCalls(() => withTime(provider.deletePod(pod.ref, 30, signal())));
    expect(deleted).toContain("/google.cloud.run.v2.WorkerPools/DeleteWorkerPool");
    // The delete operation is not done at once (operationMs 2000): polled through google.longrunning.Operations.
    expect(deleted).toContain("/google.longrunning.Operations/GetOperation");
    expect(server.sim.cloud.workerPools.size).toBe(0);
    expect(await provider.getPodStatus(pod.ref, signal())).toBeUndefined();
  });

  it("a job pod: CreateJob's operation polled over gRPC, RunJob, exit code from ListTasks", async () => {
    const pod = script("job", "echo working; exit 4", "Never");
    const created = await grpcCalls(() => withTime(provider.createPod(pod, signal())));
    expect(
      created.filter((c) => c === "/google.longrunning.Operations/GetOperation").length,
    ).toBeGreaterThanOrEqual(1);
    expect(created).toContain("/google.cloud.run.v2.Jobs/CreateJob");
    expect(created).toContain("/google.cloud.run.v2.Jobs/RunJob");
    const failed = await grpcCalls(async () => {
      const status = await until(pod, (s) => s?.phase === "Failed");
      expect(status?.containers[0]?.state).toHaveProperty("terminated.exitCode", 4);
    });
    expect(failed).toContain("/google.cloud.run.v2.Executions/ListExecutions");
    expect(failed).toContain("/google.cloud.run.v2.Tasks/ListTasks");
    await withTime(provider.deletePod(pod.ref, 30, signal()));
  });

  it("Secret values travel to Secret Manager over gRPC, never in a Run request", async () => {
    const pod = script("secret", "sleep 86400", "Always");
    pod.containers[0]?.env.push({
      name: "API_KEY",
      value: "grpc-secret-value",
      secret: true,
      source: { kind: "secret", name: "k", key: "v" },
    });
    const calls = await grpcCalls(() => withTime(provider.createPod(pod, signal())));
    expect(calls).toContain("/google.cloud.secretmanager.v1.SecretManagerService/AddSecretVersion");
    const pool = [...server.sim.cloud.workerPools.values()].find((p) => String(p.name).includes("secret"));
    expect(JSON.stringify(pool)).not.toContain("grpc-secret-value");
    for (const r of server.sim.requests) {
      if (r.operation.startsWith("secretmanager.")) continue;
      expect(r.rawBody).not.toContain("grpc-secret-value");
      expect(r.rawBody).not.toContain(Buffer.from("grpc-secret-value").toString("base64"));
    }
    await withTime(provider.deletePod(pod.ref, 30, signal()));
  });

  it("gRPC statuses map to typed errors: RESOURCE_EXHAUSTED with RetryInfo → retryable after the delay; NOT_FOUND → absent", async () => {
    const pod = script("throttled", "sleep 86400", "Always");
    server.sim.inject({
      operation: "run.CreateWorkerPool",
      httpStatus: 429,
      status: "RESOURCE_EXHAUSTED",
      message: "Quota exceeded for quota metric 'Write requests'.",
      retryDelaySeconds: 3,
    });
    const error = await withTime(provider.createPod(pod, signal())).then(
      () => undefined,
      (e: unknown) => e as { cloudCode?: string; retryAfterMs?: number; message?: string; cause?: unknown },
    );
    expect(errorCode(error)).toBe("VN_RETRYABLE");
    expect(error?.cloudCode).toBe("RESOURCE_EXHAUSTED");
    // From the google.rpc.RetryInfo in grpc-status-details-bin (gRPC has no Retry-After header).
    expect(error?.retryAfterMs).toBe(3000);
    expect(error?.message).toContain("Quota exceeded");
    expect((error?.cause as { code?: number } | undefined)?.code).toBe(8);
    await withTime(provider.createPod(pod, signal()));

    // Reads are retried after the RetryInfo delay.
    server.sim.inject({
      operation: "run.ListWorkerPools",
      httpStatus: 429,
      status: "RESOURCE_EXHAUSTED",
      retryDelaySeconds: 2,
    });
    await clock.advanceAsync(20_000);
    const start = clock.now();
    expect(await withTime(provider.getPodStatus(pod.ref, signal()))).toBeDefined();
    expect(clock.now() - start).toBeGreaterThanOrEqual(2000);

    // NOT_FOUND: a pod that is not on Cloud Run is simply absent; deleting it is no error.
    const ghost = script("ghost", "sleep 1", "Always");
    const calls = await grpcCalls(() => withTime(provider.deletePod(ghost.ref, 30, signal())));
    expect(calls).toContain("/google.cloud.run.v2.WorkerPools/GetWorkerPool");
    await expect(provider.updatePod(ghost, { ...signal(), reason: "spec" })).rejects.toMatchObject({
      code: "VN_NOT_FOUND",
    });

    // FAILED_PRECONDITION and INVALID_ARGUMENT come back as their typed errors too.
    server.sim.inject({
      operation: "run.CreateWorkerPool",
      httpStatus: 400,
      status: "INVALID_ARGUMENT",
      message: "bad field",
    });
    const invalid = await withTime(provider.createPod(script("bad", "sleep 1", "Always"), signal())).then(
      () => undefined,
      (e: unknown) => e as { cloudCode?: string },
    );
    expect(invalid?.cloudCode).toBe("INVALID_ARGUMENT");
    expect(errorCode(invalid)).toBe("VN_INVALID_INPUT");
    await withTime(provider.deletePod(pod.ref, 30, signal()));
  });
});
