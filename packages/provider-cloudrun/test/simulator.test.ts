import { FakeClock } from "@virtual-node/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CloudRunClients } from "../src/clients.js";
import { parseProgram } from "./simulator/program.js";
import { loadRunDiscovery, loadRunProtos, matchRoute, validateRequest } from "./simulator/schema.js";
import type { SimulatorServer } from "./simulator/server.js";
import { startSimWithClients } from "./support/sim.js";

const parent = "projects/p1/locations/us-central1";

function job(command: string[], image = "busybox:1.36", maxRetries = 0) {
  return {
    labels: { "virtual-node-node": "vn1" },
    template: {
      taskCount: 1,
      parallelism: 1,
      template: { maxRetries, timeout: { seconds: 600 }, containers: [{ name: "main", image, command }] },
    },
  };
}

describe("schema validation (discovery document)", () => {
  const set = loadRunDiscovery();
  const route = (method: string, path: string) => {
    const m = matchRoute(set, method, path);
    if (m === undefined) throw new Error(`no route for ${method} ${path}`);
    return m.route;
  };
  const q = (s: string) => new URLSearchParams(s);

  it("accepts a well-formed createJob", () => {
    const r = route("POST", `/v2/${parent}/jobs`);
    expect(r.id).toBe("run.projects.locations.jobs.create");
    const body = {
      template: {
        template: { containers: [{ image: "x", env: [{ name: "A", value: "b" }] }], timeout: "30s" },
      },
    };
    expect(validateRequest(set, r, q("jobId=j1&$alt=json;enum-encoding=int"), body)).toEqual([]);
  });

  it("rejects unknown members, wrong types, bad enums, bad durations, missing required fields, output-only fields", () => {
    const r = route("POST", `/v2/${parent}/jobs`);
    const body = {
      bogus: 1,
      reconciling: true,
      template: {
        taskCount: "many",
        template: {
          timeout: "30 seconds",
          executionEnvironment: "EXECUTION_ENVIRONMENT_GEN9",
          containers: [{ env: [{ value: "x" }] }],
        },
      },
    };
    const paths = validateRequest(set, r, q("jobId=j1&nope=1"), body).map((v) => `${v.path}: ${v.message}`);
    expect(paths).toEqual(
      expect.arrayContaining([
        "?nope: unknown query parameter",
        "body.bogus: unknown field",
        "body.reconciling: output-only field set in a request",
        'body.template.taskCount: expected an integer, got "many"',
        'body.template.template.timeout: invalid Duration "30 seconds"',
        expect.stringContaining("body.template.template.executionEnvironment: invalid enum value") as string,
        "body.template.template.containers[0].image: required field missing",
        "body.template.template.containers[0].env[0].name: required field missing",
      ]),
    );
  });

  it("accepts enums as numbers only with enum-encoding=int", () => {
    const r = route("POST", `/v2/${parent}/jobs`);
    const body = { template: { template: { containers: [{ image: "x" }], executionEnvironment: 2 } } };
    expect(validateRequest(set, r, q("jobId=j&$alt=json;enum-encoding=int"), body)).toEqual([]);
    expect(validateRequest(set, r, q("jobId=j"), body)).toHaveLength(1);
  });
});

describe("program reading", () => {
  it("reads echo/sleep/exit scripts", () => {
    expect(parseProgram(["sh", "-c", "echo hi; sleep 2; exit 3"], undefined)).toEqual({
      steps: [
        { kind: "log", text: "hi" },
        { kind: "sleep", ms: 2000 },
        { kind: "exit", code: 3 },
      ],
      forever: false,
    });
    expect(parseProgram(["sh", "-c", "sleep 86400"], undefined).forever).toBe(true);
    expect(parseProgram(undefined, undefined).forever).toBe(true);
  });
});

describe("schema validation (Worker Pool and Instance protos)", () => {
  const set = loadRunProtos();
  const route = (method: string, path: string) => {
    const m = matchRoute(set, method, path);
    if (m === undefined) throw new Error(`no route for ${method} ${path}`);
    return m;
  };
  const q = (s: string) => new URLSearchParams(s);
  const pool = { template: { containers: [{ image: "busybox" }] }, scaling: { manualInstanceCount: 1 } };

  it("routes every Worker Pool and Instance method from the protos' google.api.http rules", () => {
    expect(
      [
        route("POST", `/v2/${parent}/workerPools`),
        route("GET", `/v2/${parent}/workerPools`),
        route("GET", `/v2/${parent}/workerPools/w1`),
        route("PATCH", `/v2/${parent}/workerPools/w1`),
        route("DELETE", `/v2/${parent}/workerPools/w1`),
        route("POST", `/v2/${parent}/instances`),
        route("GET", `/v2/${parent}/instances/i1`),
        route("POST", `/v2/${parent}/instances/i1:stop`),
      ].map((m) => m.route.id),
    ).toEqual([
      "run.CreateWorkerPool",
      "run.ListWorkerPools",
      "run.GetWorkerPool",
      "run.UpdateWorkerPool",
      "run.DeleteWorkerPool",
      "run.CreateInstance",
      "run.GetInstance",
      "run.StopInstance",
    ]);
    expect(route("PATCH", `/v2/${parent}/workerPools/w1`).params).toEqual({
      "workerPool.name": `${parent}/workerPools/w1`,
    });
  });

  it("accepts a well-formed CreateWorkerPool and UpdateWorkerPool", () => {
    const create = route("POST", `/v2/${parent}/workerPools`).route;
    expect(validateRequest(set, create, q("workerPoolId=w1&$alt=json;enum-encoding=int"), pool)).toEqual([]);
    const update = route("PATCH", `/v2/${parent}/workerPools/w1`).route;
    expect(
      validateRequest(set, update, q("updateMask=template&forceNewRevision=true"), {
        ...pool,
        name: `${parent}/workerPools/w1`,
      }),
    ).toEqual([]);
  });

  it("rejects unknown fields, wrong types, bad enums, missing required fields and output-only fields", () => {
    const create = route("POST", `/v2/${parent}/workerPools`).route;
    const body = {
      bogus: true,
      reconciling: true,
      uid: "x",
      launchStage: "SOON",
      scaling: { manualInstanceCount: "one", minInstanceCount: 1 },
      template: {
        containers: [{ name: "main", env: [{ value: "v" }], resources: { limits: { cpu: 1 } } }],
        encryptionKeyShutdownDuration: "ten minutes",
        nodeSelector: {},
      },
    };
    const found = validateRequest(set, create, q("nope=1"), body).map((v) => `${v.path}: ${v.message}`);
    expect(found).toEqual(
      expect.arrayContaining([
        "?nope: unknown query parameter",
        "?workerPoolId: required query parameter missing",
        "body.bogus: unknown field",
        "body.reconciling: output-only field set in a request",
        "body.uid: output-only field set in a request",
        expect.stringContaining("body.launchStage: invalid enum value") as string,
        'body.scaling.manualInstanceCount: expected an integer, got "one"',
        "body.scaling.minInstanceCount: unknown field",
        "body.template.containers[0].image: required field missing",
        "body.template.containers[0].env[0].name: required field missing",
        "body.template.containers[0].resources.limits.cpu: expected a string, got number",
        'body.template.encryptionKeyShutdownDuration: invalid Duration "ten minutes"',
        "body.template.nodeSelector.accelerator: required field missing",
      ]),
    );
    expect(validateRequest(set, create, q("workerPoolId=w1"), {}).map((v) => v.path)).toEqual([
      "body.template",
    ]);
  });

  it("an Instance needs its containers", () => {
    const create = route("POST", `/v2/${parent}/instances`).route;
    expect(validateRequest(set, create, q("instanceId=i1"), { containers: [{ image: "x" }] })).toEqual([]);
    expect(validateRequest(set, create, q("instanceId=i1"), { labels: {} }).map((v) => v.path)).toEqual([
      "body.containers",
    ]);
  });
});

describe("simulator behind the real @google-cloud clients (REST fallback)", () => {
  const clock = new FakeClock();
  let server: SimulatorServer;
  let clients: CloudRunClients;

  beforeAll(async () => {
    ({ server, clients } = await startSimWithClients(clock, {
      startMs: 1000,
      retryMs: 500,
      operationMs: 2000,
    }));
  });
  afterAll(async () => {
    await clients.close();
    await server.close();
  });

  it("creates a job through an LRO, runs it, and reports a failing task's exit code", async () => {
    const [op] = await clients.jobs.createJob({
      parent,
      jobId: "fails",
      job: job(["sh", "-c", "echo bye; exit 7"]),
    });
    expect(op.done).toBe(false);
    expect((await clients.jobs.checkCreateJobProgress(op.name ?? "")).done).toBe(false);
    await clock.advanceAsync(2000);
    const done = await clients.jobs.checkCreateJobProgress(op.name ?? "");
    expect(done.done).toBe(true);
    expect((done.result as { name?: string } | undefined)?.name).toBe(`${parent}/jobs/fails`);

    const [run] = await clients.jobs.runJob({ name: `${parent}/jobs/fails` });
    expect(run.done).toBe(false);
    const [pending] = await clients.executions.listExecutions(
      { parent: `${parent}/jobs/-` },
      { autoPaginate: false },
    );
    expect(pending).toHaveLength(1);
    expect(pending[0]?.runningCount).toBe(0);
    await clock.advanceAsync(1000);
    const [running] = await clients.executions.listExecutions(
      { parent: `${parent}/jobs/-` },
      { autoPaginate: false },
    );
    expect(running[0]?.runningCount).toBe(1);
    await clock.advanceAsync(10);
    const [finished] = await clients.executions.listExecutions(
      { parent: `${parent}/jobs/-` },
      { autoPaginate: false },
    );
    expect(finished[0]?.failedCount).toBe(1);
    const [tasks] = await clients.tasks.listTasks(
      { parent: finished[0]?.name ?? "" },
      { autoPaginate: false },
    );
    expect(tasks[0]?.lastAttemptResult?.exitCode).toBe(7);
    expect(server.sim.violations).toEqual([]);
  });

  it("retries a failing task up to maxRetries, then succeeds or fails", async () => {
    await clients.jobs.createJob({
      parent,
      jobId: "retry",
      job: job(["sh", "-c", "exit 2"], "busybox:1.36", 2),
    });
    await clock.advanceAsync(2000);
    await clients.jobs.runJob({ name: `${parent}/jobs/retry` });
    await clock.advanceAsync(1000 + 10 + 500 + 10 + 500 + 10);
    const [tasks] = await clients.tasks.listTasks(
      { parent: `${parent}/jobs/retry/executions/-` },
      { autoPaginate: false },
    );
    expect(tasks[0]?.retried).toBe(2);
    expect(tasks[0]?.lastAttemptResult?.exitCode).toBe(2);
    expect(tasks[0]?.completionTime).toBeTruthy();
  });

  it("cancels a running execution", async () => {
    await clients.jobs.createJob({ parent, jobId: "long", job: job(["sh", "-c", "sleep 86400"]) });
    await clock.advanceAsync(2000);
    const [run] = await clients.jobs.runJob({ name: `${parent}/jobs/long` });
    const execName = (run.metadata as { name?: string } | undefined)?.name ?? "";
    expect(execName).toContain(`${parent}/jobs/long/executions/`);
    await clock.advanceAsync(1000);
    await clients.executions.cancelExecution({ name: execName });
    const [execution] = await clients.executions.getExecution({ name: execName });
    expect(execution.cancelledCount).toBe(1);
  });

  it("fails a job whose image is missing with CONTAINER_MISSING", async () => {
    const [op] = await clients.jobs.createJob({
      parent,
      jobId: "noimage",
      job: job(["true"], "gcr.io/x/does-not-exist"),
    });
    await clock.advanceAsync(2000);
    const checked = await clients.jobs.checkCreateJobProgress(op.name ?? "");
    expect(checked.error).toBeTruthy();
    const [j] = await clients.jobs.getJob({ name: `${parent}/jobs/noimage` });
    expect(j.terminalCondition?.reason).toBe("CONTAINER_MISSING");
  });

  it("rolls a service out to Ready", async () => {
    await clients.services.createService({
      parent,
      serviceId: "web",
      service: {
        template: {
          containers: [{ image: "nginx", ports: [{ containerPort: 80 }] }],
          scaling: { minInstanceCount: 1, maxInstanceCount: 1 },
        },
      },
    });
    const [before] = await clients.services.getService({ name: `${parent}/services/web` });
    expect(before.reconciling).toBe(true);
    await clock.advanceAsync(1000);
    const [after] = await clients.services.getService({ name: `${parent}/services/web` });
    expect(after.reconciling).toBe(false);
    expect(after.terminalCondition?.state).toBe("CONDITION_SUCCEEDED");
    expect(after.latestReadyRevision).toBe(after.latestCreatedRevision);
  });

  it("worker pools: create through an LRO → ready; update → a new generation; delete through an LRO", async () => {
    const [op] = await clients.workerPools.createWorkerPool({
      parent,
      workerPoolId: "pool",
      workerPool: {
        labels: { "virtual-node-node": "vn1" },
        template: { containers: [{ name: "main", image: "busybox", command: ["sleep", "86400"] }] },
        scaling: { manualInstanceCount: 1 },
      },
    });
    expect(op.done).toBe(false);
    const [creating] = await clients.workerPools.getWorkerPool({ name: `${parent}/workerPools/pool` });
    expect(creating.reconciling).toBe(true);
    expect(creating.terminalCondition?.state).toBe("CONDITION_RECONCILING");
    expect(String(creating.observedGeneration)).toBe("0");
    await clock.advanceAsync(1000);
    const done = await clients.workerPools.checkCreateWorkerPoolProgress(op.name ?? "");
    expect(done.done).toBe(true);
    const [ready] = await clients.workerPools.getWorkerPool({ name: `${parent}/workerPools/pool` });
    expect(ready.reconciling).toBe(false);
    expect(ready.terminalCondition?.state).toBe("CONDITION_SUCCEEDED");
    expect(String(ready.observedGeneration)).toBe(String(ready.generation));
    expect(ready.latestReadyRevision).toBe(ready.latestCreatedRevision);

    await clients.workerPools.updateWorkerPool({
      workerPool: {
        name: ready.name,
        labels: ready.labels,
        template: { containers: [{ image: "busybox:1.37" }] },
        scaling: { manualInstanceCount: 1 },
      },
    });
    const [updating] = await clients.workerPools.getWorkerPool({ name: `${parent}/workerPools/pool` });
    expect(String(updating.generation)).toBe("2");
    expect(updating.reconciling).toBe(true);
    expect(updating.latestReadyRevision).not.toBe(updating.latestCreatedRevision);
    await clock.advanceAsync(1000);
    const [list] = await clients.workerPools.listWorkerPools({ parent }, { autoPaginate: false });
    expect(list.map((p) => [p.name, String(p.observedGeneration), p.terminalCondition?.state])).toEqual([
      [`${parent}/workerPools/pool`, "2", "CONDITION_SUCCEEDED"],
    ]);

    const [del] = await clients.workerPools.deleteWorkerPool({ name: `${parent}/workerPools/pool` });
    expect(del.done).toBe(false);
    await clock.advanceAsync(2000);
    expect((await clients.workerPools.checkDeleteWorkerPoolProgress(del.name ?? "")).done).toBe(true);
    const gone = await clients.workerPools.getWorkerPool({ name: `${parent}/workerPools/pool` }).then(
      () => undefined,
      (e: unknown) => e as { code?: number },
    );
    expect(gone?.code).toBe(5);
  });

  it.each([
    [
      "an image that does not exist",
      "gcr.io/x/does-not-exist:1",
      ["sleep", "86400"],
      2,
      "CONTAINER_MISSING",
      9,
    ],
    ["the instance quota", "busybox", ["sleep", "86400"], 0, "REVISION_FAILED", 8],
    ["a container that exits", "busybox", ["sh", "-c", "exit 3"], 2, "REVISION_FAILED", 9],
  ])(
    "worker pools fail on %s, with the condition and the operation's error",
    async (_t, image, command, quota, reason, code) => {
      server.sim.cloud.instanceQuota = quota;
      const id = `fail-${String(code)}-${reason.length}-${image.length}-${command.length}`;
      const [op] = await clients.workerPools.createWorkerPool({
        parent,
        workerPoolId: id,
        workerPool: { template: { containers: [{ image, command }] }, scaling: { manualInstanceCount: 1 } },
      });
      await clock.advanceAsync(1100);
      server.sim.cloud.instanceQuota = Number.POSITIVE_INFINITY;
      const [pool] = await clients.workerPools.getWorkerPool({ name: `${parent}/workerPools/${id}` });
      expect(pool.terminalCondition?.state).toBe("CONDITION_FAILED");
      expect(pool.terminalCondition?.reason).toBe(reason);
      expect(pool.terminalCondition?.message).toBeTruthy();
      const checked = await clients.workerPools.checkCreateWorkerPoolProgress(op.name ?? "");
      expect(checked.done).toBe(true);
      expect(checked.latestResponse.error?.code).toBe(code);
      await clients.workerPools.deleteWorkerPool({ name: `${parent}/workerPools/${id}` });
    },
  );

  it("answers a validation error (and records a violation) for a wrongly shaped request", async () => {
    const before = server.sim.violations.length;
    const error = await clients.jobs
      .createJob({
        parent,
        jobId: "bad",
        job: { template: { template: { containers: [{ name: "nameonly" }] } } },
      })
      .then(
        () => undefined,
        (e: unknown) => e as { code?: number; message?: string },
      );
    expect(error?.code).toBe(3);
    expect(error?.message).toContain("image");
    expect(server.sim.violations.slice(before).map((v) => v.path)).toEqual([
      "body.template.template.containers[0].image",
    ]);
    server.sim.violations.splice(before);
  });

  it("throttles with RESOURCE_EXHAUSTED, RetryInfo and Retry-After", async () => {
    server.sim.inject({
      operation: "run.projects.locations.jobs.get",
      httpStatus: 429,
      status: "RESOURCE_EXHAUSTED",
      retryDelaySeconds: 3,
    });
    const error = await clients.jobs.getJob({ name: `${parent}/jobs/long` }).then(
      () => undefined,
      (e: unknown) => e as { code?: number },
    );
    expect(error?.code).toBe(8);
    const [j] = await clients.jobs.getJob({ name: `${parent}/jobs/long` });
    expect(j.name).toBe(`${parent}/jobs/long`);
  });

  it("serves Secret Manager and Cloud Logging, validated against the libraries' descriptors", async () => {
    await clients.secrets.createSecret({
      parent: "projects/p1",
      secretId: "s1",
      secret: { replication: { automatic: {} }, labels: { owner: "vn" } },
    });
    await clients.secrets.addSecretVersion({
      parent: "projects/p1/secrets/s1",
      payload: { data: Buffer.from("hunter2") },
    });
    expect(server.sim.cloud.secretValue("s1")).toBe("hunter2");
    const [listed] = await clients.secrets.listSecrets(
      { parent: "projects/p1", filter: "labels.owner=vn" },
      { autoPaginate: false },
    );
    expect(listed.map((s) => s.name)).toEqual(["projects/p1/secrets/s1"]);
    const [, , response] = await clients.logging.getEntries({
      resourceNames: ["projects/p1"],
      filter:
        'resource.type="cloud_run_job" AND resource.labels.job_name="fails" AND timestamp>="2000-01-01T00:00:00Z"',
      orderBy: "timestamp asc",
      autoPaginate: false,
    });
    const entries = (response as { entries?: { textPayload?: string }[] } | undefined)?.entries ?? [];
    expect(entries.map((e) => e.textPayload)).toEqual(["bye"]);
    expect(server.sim.violations).toEqual([]);
  });
});
