/**
 * The stateful part of the Cloud Run simulator: Jobs, Executions, Tasks, Services, long-running
 * Operations, Secret Manager secrets and Cloud Logging entries, moving through their states on an
 * injected clock. Objects are kept in the v2 REST (proto3 JSON) shapes the real API returns.
 */
import type { Clock } from "@virtual-node/core";
import { parseProgram } from "./program.js";
import type { Program } from "./program.js";

/** An API error in `google.rpc.Status` form, plus the HTTP status it travels with. */
export class SimError extends Error {
  constructor(
    readonly httpStatus: number,
    readonly status: string,
    message: string,
    readonly reason?: string,
    readonly retryDelaySeconds?: number,
  ) {
    super(message);
  }
}

type Json = Record<string, unknown>;

/** A JSON value as text: strings as they are, numbers printed, anything else empty. */
function str(value: unknown): string {
  return typeof value === "string" ? value : typeof value === "number" ? String(value) : "";
}

/** Timing of the simulated control plane, in clock ms. */
export interface SimTimings {
  /** Until a create/update/delete operation is done (0: the first answer is already done). */
  operationMs: number;
  /** From RunJob to the task running. */
  startMs: number;
  /** From a Service / Worker Pool / Instance create or update to Ready. */
  readyMs: number;
  /** Between task retries (OnFailure). */
  retryMs: number;
}

export interface SimCloudOptions {
  clock: Clock;
  project?: string;
  region?: string;
  timings?: Partial<SimTimings>;
  /**
   * Instances the project may run at once across Worker Pools, Services and Instances (default
   * unlimited): one more fails its rollout with a quota condition and RESOURCE_EXHAUSTED.
   */
  instanceQuota?: number;
}

interface Operation {
  name: string;
  done: boolean;
  metadata: Json;
  response?: Json;
  error?: { code: number; message: string };
}

interface ExecutionState {
  execution: Json;
  tasks: Json[];
  timers: ReturnType<Clock["setTimeout"]>[];
  operation: string;
}

interface LogRecord {
  entry: Json;
  time: number;
  seq: number;
}

const GRPC = { FAILED_PRECONDITION: 9, NOT_FOUND: 5, ALREADY_EXISTS: 6, RESOURCE_EXHAUSTED: 8 } as const;

function conditionOf(type: string, state: string, extra: Json = {}, time?: string): Json {
  return { type, state, ...(time === undefined ? {} : { lastTransitionTime: time }), ...extra };
}

/** The images the simulator treats as missing from their registry. */
export function isMissingImage(image: string): boolean {
  return image.includes("does-not-exist");
}

export class SimCloud {
  readonly clock: Clock;
  readonly project: string;
  readonly region: string;
  readonly timings: SimTimings;
  readonly jobs = new Map<string, Json>();
  readonly executions = new Map<string, ExecutionState>();
  readonly services = new Map<string, Json>();
  readonly workerPools = new Map<string, Json>();
  readonly instances = new Map<string, Json>();
  /** See {@link SimCloudOptions.instanceQuota}; tests may change it. */
  instanceQuota: number;
  readonly operations = new Map<string, Operation>();
  readonly secrets = new Map<
    string,
    { secret: Json; versions: { name: string; data: string; state: string }[] }
  >();
  readonly logs: LogRecord[] = [];
  #seq = 0;
  #serviceTimers = new Map<string, ReturnType<Clock["setTimeout"]>[]>();

  constructor(options: SimCloudOptions) {
    this.clock = options.clock;
    this.project = options.project ?? "p1";
    this.region = options.region ?? "us-central1";
    this.timings = { operationMs: 0, startMs: 1000, readyMs: 1000, retryMs: 1000, ...options.timings };
    this.instanceQuota = options.instanceQuota ?? Number.POSITIVE_INFINITY;
  }

  get parent(): string {
    return `projects/${this.project}/locations/${this.region}`;
  }

  now(): string {
    return new Date(this.clock.now()).toISOString();
  }

  #id(): string {
    this.#seq += 1;
    return `${this.clock.now().toString(36)}${this.#seq.toString(36)}`;
  }

  // ---- operations -----------------------------------------------------------------------------

  #operation(
    metadataType: string,
    metadata: Json,
    finish: () => { response?: Json; error?: Operation["error"] },
    delayMs: number,
  ): Operation {
    const op: Operation = {
      name: `${this.parent}/operations/${this.#id()}`,
      done: false,
      metadata: { "@type": `type.googleapis.com/${metadataType}`, ...metadata },
    };
    this.operations.set(op.name, op);
    const complete = (): void => {
      const result = finish();
      op.done = true;
      if (result.error !== undefined) op.error = result.error;
      if (result.response !== undefined) op.response = result.response;
    };
    if (delayMs <= 0) complete();
    else this.clock.setTimeout(complete, delayMs);
    return op;
  }

  /** An operation as the API renders it. */
  renderOperation(op: Operation): Json {
    return {
      name: op.name,
      metadata: op.metadata,
      done: op.done,
      ...(op.error === undefined ? {} : { error: op.error }),
      ...(op.response === undefined ? {} : { response: op.response }),
    };
  }

  getOperation(name: string): Json {
    const op = this.operations.get(name);
    if (op === undefined) throw new SimError(404, "NOT_FOUND", `Operation ${name} not found.`);
    return this.renderOperation(op);
  }

  // ---- jobs -----------------------------------------------------------------------------------

  createJob(parent: string, jobId: string, body: Json): Json {
    const name = `${parent}/jobs/${jobId}`;
    if (this.jobs.has(name)) throw new SimError(409, "ALREADY_EXISTS", `Resource '${jobId}' already exists.`);
    if (!/^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/.test(jobId))
      throw new SimError(400, "INVALID_ARGUMENT", `Invalid job id '${jobId}'.`, "INVALID_ARGUMENT");
    const now = this.now();
    const job: Json = {
      ...body,
      name,
      uid: this.#id(),
      generation: "1",
      observedGeneration: "0",
      createTime: now,
      updateTime: now,
      reconciling: true,
      executionCount: 0,
      terminalCondition: conditionOf("Ready", "CONDITION_RECONCILING", {}, now),
      conditions: [],
      etag: `"${this.#id()}"`,
    };
    this.jobs.set(name, job);
    const image = this.#images(body).find(isMissingImage);
    return this.renderOperation(
      this.#operation(
        "google.cloud.run.v2.Job",
        { name },
        () => {
          job.reconciling = false;
          job.observedGeneration = job.generation;
          if (image !== undefined) {
            job.terminalCondition = conditionOf(
              "Ready",
              "CONDITION_FAILED",
              { reason: "CONTAINER_MISSING", message: `Image '${image}' not found.` },
              this.now(),
            );
            return { error: { code: GRPC.FAILED_PRECONDITION, message: `Image '${image}' not found.` } };
          }
          job.terminalCondition = conditionOf("Ready", "CONDITION_SUCCEEDED", {}, this.now());
          return { response: { "@type": "type.googleapis.com/google.cloud.run.v2.Job", ...job } };
        },
        this.timings.operationMs,
      ),
    );
  }

  #images(body: Json): string[] {
    const template = (body.template ?? {}) as Json;
    const task = (template.template ?? template) as Json;
    const containers = (task.containers ?? template.containers ?? []) as Json[];
    return containers.map((c) => str(c.image));
  }

  getJob(name: string): Json {
    const job = this.jobs.get(name);
    if (job === undefined) throw new SimError(404, "NOT_FOUND", `Resource '${name}' was not found`);
    return job;
  }

  updateJob(name: string, body: Json): Json {
    const job = this.getJob(name);
    Object.assign(job, { template: body.template, labels: body.labels, annotations: body.annotations });
    job.generation = String(Number(job.generation) + 1);
    job.observedGeneration = job.generation;
    job.updateTime = this.now();
    return this.renderOperation(
      this.#operation(
        "google.cloud.run.v2.Job",
        { name },
        () => ({ response: { "@type": "type.googleapis.com/google.cloud.run.v2.Job", ...job } }),
        this.timings.operationMs,
      ),
    );
  }

  deleteJob(name: string): Json {
    const job = this.getJob(name);
    for (const [execName, state] of this.executions) {
      if (state.execution.job !== name.split("/").at(-1)) continue;
      for (const timer of state.timers) this.clock.clearTimeout(timer);
      this.executions.delete(execName);
    }
    this.jobs.delete(name);
    return this.renderOperation(
      this.#operation(
        "google.cloud.run.v2.Job",
        { name },
        () => ({ response: { "@type": "type.googleapis.com/google.cloud.run.v2.Job", ...job } }),
        this.timings.operationMs,
      ),
    );
  }

  listJobs(parent: string): Json[] {
    return [...this.jobs.values()].filter((j) => String(j.name).startsWith(`${parent}/`));
  }

  runJob(name: string): Json {
    const job = this.getJob(name);
    const terminal = job.terminalCondition as Json | undefined;
    if (job.reconciling === true || terminal?.state !== "CONDITION_SUCCEEDED")
      throw new SimError(
        400,
        "FAILED_PRECONDITION",
        `Job ${name} is not ready: ${str(terminal?.message) || "reconciling"}.`,
      );
    const jobId = name.split("/").at(-1) ?? "";
    const execId = `${jobId.slice(0, 57)}-${this.#id().slice(-5)}`;
    const execName = `${name}/executions/${execId}`;
    const template = job.template as Json;
    const taskTemplate = template.template as Json;
    const now = this.now();
    const labels = { ...(job.labels as Json | undefined), ...(template.labels as Json | undefined) };
    const execution: Json = {
      name: execName,
      uid: this.#id(),
      generation: "1",
      labels: { ...labels, "run.googleapis.com/job": jobId },
      createTime: now,
      updateTime: now,
      job: jobId,
      parallelism: template.parallelism ?? 1,
      taskCount: template.taskCount ?? 1,
      template: taskTemplate,
      reconciling: true,
      conditions: [
        conditionOf("Completed", "CONDITION_PENDING", {}, now),
        conditionOf("ResourcesAvailable", "CONDITION_PENDING", {}, now),
        conditionOf("Started", "CONDITION_PENDING", {}, now),
      ],
      observedGeneration: "1",
      runningCount: 0,
      succeededCount: 0,
      failedCount: 0,
      cancelledCount: 0,
      retriedCount: 0,
      logUri: `https://console.cloud.google.com/logs/viewer?project=${this.project}`,
      etag: `"${this.#id()}"`,
    };
    const task: Json = {
      name: `${execName}/tasks/${execId}-task0`,
      uid: this.#id(),
      labels: { ...(execution.labels as Json), "run.googleapis.com/execution": execId },
      job: jobId,
      execution: execId,
      index: 0,
      retried: 0,
      createTime: now,
      containers: taskTemplate.containers,
      volumes: taskTemplate.volumes ?? [],
      maxRetries: taskTemplate.maxRetries ?? 3,
      timeout: taskTemplate.timeout ?? "600s",
      conditions: [
        conditionOf("Started", "CONDITION_PENDING", {}, now),
        conditionOf("Completed", "CONDITION_PENDING", {}, now),
      ],
    };
    const state: ExecutionState = { execution, tasks: [task], timers: [], operation: "" };
    this.executions.set(execName, state);
    job.executionCount = Number(job.executionCount ?? 0) + 1;
    job.latestCreatedExecution = { name: execName, createTime: now, completionStatus: "EXECUTION_PENDING" };
    const op = this.#operation(
      "google.cloud.run.v2.Execution",
      { ...execution },
      () => ({}),
      Number.POSITIVE_INFINITY,
    );
    state.operation = op.name;
    state.timers.push(
      this.clock.setTimeout(() => {
        this.#startAttempt(job, state);
      }, this.timings.startMs),
    );
    return this.renderOperation(op);
  }

  #setCompletion(job: Json, state: ExecutionState, status: string): void {
    const ref = job.latestCreatedExecution as Json | undefined;
    if (ref !== undefined && ref.name === state.execution.name) {
      ref.completionStatus = status;
      if (status !== "EXECUTION_RUNNING" && status !== "EXECUTION_PENDING") ref.completionTime = this.now();
    }
  }

  #startAttempt(job: Json, state: ExecutionState): void {
    const { execution } = state;
    const task = state.tasks[0];
    if (task === undefined) return;
    const now = this.now();
    execution.runningCount = 1;
    execution.reconciling = true;
    execution.startTime ??= now;
    execution.updateTime = now;
    execution.conditions = [
      conditionOf("Completed", "CONDITION_PENDING", {}, now),
      conditionOf("ResourcesAvailable", "CONDITION_SUCCEEDED", {}, now),
      conditionOf("Started", "CONDITION_SUCCEEDED", {}, now),
    ];
    task.startTime = now;
    task.conditions = [
      conditionOf("Started", "CONDITION_SUCCEEDED", {}, now),
      conditionOf("Completed", "CONDITION_PENDING", {}, now),
    ];
    this.#setCompletion(job, state, "EXECUTION_RUNNING");
    const containers = (task.containers ?? []) as Json[];
    const main = containers.find((c) => !Array.isArray(c.ports) || true) ?? {};
    const program = parseProgram(main.command as string[] | undefined, main.args as string[] | undefined);
    const jobId = String(execution.job);
    const labels = {
      "run.googleapis.com/execution_name": String(execution.name).split("/").at(-1) ?? "",
      "run.googleapis.com/task_index": "0",
      "run.googleapis.com/task_attempt": str(task.retried ?? 0),
    };
    const resource = {
      type: "cloud_run_job",
      labels: { job_name: jobId, location: this.region, project_id: this.project },
    };
    this.#runProgram(program, str(main.name), resource, labels, state.timers, (code) => {
      this.#finishAttempt(job, state, code);
    });
  }

  #finishAttempt(job: Json, state: ExecutionState, exitCode: number): void {
    const { execution } = state;
    const task = state.tasks[0];
    if (task === undefined) return;
    const now = this.now();
    task.lastAttemptResult =
      exitCode === 0
        ? { status: { code: 0, message: "" }, exitCode: 0 }
        : { status: { code: 2, message: `Task exited with exit code ${exitCode}.` }, exitCode };
    const retried = Number(task.retried ?? 0);
    if (exitCode !== 0 && retried < Number(task.maxRetries ?? 3)) {
      task.retried = retried + 1;
      execution.retriedCount = Number(execution.retriedCount ?? 0) + 1;
      execution.runningCount = 0;
      task.conditions = [
        conditionOf("Started", "CONDITION_PENDING", {}, now),
        conditionOf(
          "Completed",
          "CONDITION_PENDING",
          { reason: "IMMEDIATE_RETRY", message: `Task exited with exit code ${exitCode}; retrying.` },
          now,
        ),
      ];
      state.timers.push(
        this.clock.setTimeout(() => {
          this.#startAttempt(job, state);
        }, this.timings.retryMs),
      );
      return;
    }
    task.completionTime = now;
    execution.runningCount = 0;
    execution.reconciling = false;
    execution.completionTime = now;
    execution.updateTime = now;
    if (exitCode === 0) {
      execution.succeededCount = 1;
      task.conditions = [
        conditionOf("Started", "CONDITION_SUCCEEDED", {}, now),
        conditionOf("Completed", "CONDITION_SUCCEEDED", {}, now),
      ];
      execution.conditions = [
        conditionOf(
          "Completed",
          "CONDITION_SUCCEEDED",
          { message: "Execution completed successfully in 1s." },
          now,
        ),
        conditionOf("ResourcesAvailable", "CONDITION_SUCCEEDED", {}, now),
        conditionOf("Started", "CONDITION_SUCCEEDED", {}, now),
      ];
      this.#setCompletion(job, state, "EXECUTION_SUCCEEDED");
    } else {
      execution.failedCount = 1;
      const message = `Task ${String(task.name).split("/").at(-1)} failed with message: The container exited with an error.`;
      task.conditions = [
        conditionOf("Started", "CONDITION_SUCCEEDED", {}, now),
        conditionOf("Completed", "CONDITION_FAILED", { executionReason: "NON_ZERO_EXIT_CODE", message }, now),
      ];
      execution.conditions = [
        conditionOf(
          "Completed",
          "CONDITION_FAILED",
          { executionReason: "NON_ZERO_EXIT_CODE", message: `Task failed with exit code ${exitCode}.` },
          now,
        ),
        conditionOf("ResourcesAvailable", "CONDITION_SUCCEEDED", {}, now),
        conditionOf("Started", "CONDITION_SUCCEEDED", {}, now),
      ];
      this.#setCompletion(job, state, "EXECUTION_FAILED");
    }
    this.#finishExecutionOperation(state);
  }

  #finishExecutionOperation(state: ExecutionState): void {
    const op = this.operations.get(state.operation);
    if (op === undefined) return;
    op.done = true;
    op.response = { "@type": "type.googleapis.com/google.cloud.run.v2.Execution", ...state.execution };
  }

  /** Runs a program's steps on the clock, writing `echo` lines as log entries. */
  #runProgram(
    program: Program,
    container: string,
    resource: Json,
    labels: Record<string, string>,
    timers: ReturnType<Clock["setTimeout"]>[],
    onExit: (code: number) => void,
  ): void {
    let at = 0;
    for (const step of program.steps) {
      if (step.kind === "sleep") {
        at += step.ms;
        continue;
      }
      const run = (): void => {
        if (step.kind === "log") this.writeLog(resource, { ...labels, container_name: container }, step.text);
        else onExit(step.code);
      };
      // A small spacing keeps log lines in order with distinct timestamps.
      at += 1;
      timers.push(this.clock.setTimeout(run, at));
      if (step.kind === "exit") return;
    }
    if (!program.forever)
      timers.push(
        this.clock.setTimeout(() => {
          onExit(0);
        }, at + 1),
      );
  }

  getExecution(name: string): Json {
    const state = this.executions.get(name);
    if (state === undefined) throw new SimError(404, "NOT_FOUND", `Resource '${name}' was not found`);
    return state.execution;
  }

  /** `jobs/-` lists across jobs, as ListExecutions documents. */
  listExecutions(parent: string): Json[] {
    const all = parent.endsWith("/jobs/-");
    return [...this.executions.values()]
      .map((s) => s.execution)
      .filter((e) =>
        all
          ? String(e.name).startsWith(parent.slice(0, -1))
          : String(e.name).startsWith(`${parent}/executions/`),
      );
  }

  /** `executions/-` and `jobs/-` list across executions and jobs. */
  listTasks(parent: string): Json[] {
    const pattern = new RegExp(
      `^${parent
        .split("/")
        .map((s) => (s === "-" ? "[^/]+" : s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")))
        .join("/")}/tasks/`,
    );
    return [...this.executions.values()].flatMap((s) => s.tasks).filter((t) => pattern.test(String(t.name)));
  }

  cancelExecution(name: string): Json {
    const state = this.executions.get(name);
    if (state === undefined) throw new SimError(404, "NOT_FOUND", `Resource '${name}' was not found`);
    const { execution } = state;
    if (execution.completionTime !== undefined)
      throw new SimError(400, "FAILED_PRECONDITION", `Execution ${name} has already completed.`);
    for (const timer of state.timers) this.clock.clearTimeout(timer);
    state.timers = [];
    const now = this.now();
    execution.runningCount = 0;
    execution.cancelledCount = 1;
    execution.completionTime = now;
    execution.reconciling = false;
    execution.conditions = [
      conditionOf(
        "Completed",
        "CONDITION_FAILED",
        { executionReason: "CANCELLED", message: "The execution was cancelled." },
        now,
      ),
    ];
    const job = this.jobs.get(name.split("/executions/")[0] ?? "");
    if (job !== undefined) this.#setCompletion(job, state, "EXECUTION_CANCELLED");
    this.#finishExecutionOperation(state);
    return this.renderOperation(
      this.#operation(
        "google.cloud.run.v2.Execution",
        { name },
        () => ({ response: { "@type": "type.googleapis.com/google.cloud.run.v2.Execution", ...execution } }),
        this.timings.operationMs,
      ),
    );
  }

  // ---- services -------------------------------------------------------------------------------

  createService(parent: string, serviceId: string, body: Json): Json {
    const name = `${parent}/services/${serviceId}`;
    if (this.services.has(name))
      throw new SimError(409, "ALREADY_EXISTS", `Resource '${serviceId}' already exists.`);
    const now = this.now();
    const service: Json = {
      ...body,
      name,
      uid: this.#id(),
      generation: "1",
      observedGeneration: "1",
      createTime: now,
      updateTime: now,
      etag: `"${this.#id()}"`,
    };
    this.services.set(name, service);
    return this.renderOperation(this.#rollOut(service));
  }

  /** Starts a new revision: reconciling until ready (or failed), the operation done then. */
  #rollOut(service: Json): Operation {
    const name = String(service.name);
    for (const timer of this.#serviceTimers.get(name) ?? []) this.clock.clearTimeout(timer);
    const timers: ReturnType<Clock["setTimeout"]>[] = [];
    this.#serviceTimers.set(name, timers);
    const now = this.now();
    const serviceId = name.split("/").at(-1) ?? "";
    const revision = `${serviceId.slice(0, 40)}-${String(service.generation).padStart(5, "0")}-${this.#id().slice(-3)}`;
    service.reconciling = true;
    service.latestCreatedRevision = `${name}/revisions/${revision}`;
    service.terminalCondition = conditionOf(
      "Ready",
      "CONDITION_RECONCILING",
      { message: "Deploying revision." },
      now,
    );
    service.conditions = [
      conditionOf("RoutesReady", "CONDITION_RECONCILING", {}, now),
      conditionOf("ConfigurationsReady", "CONDITION_RECONCILING", {}, now),
    ];
    let result: { response?: Json; error?: Operation["error"] } = {};
    const op = this.#operation(
      "google.cloud.run.v2.Service",
      { name },
      () => result,
      Number.POSITIVE_INFINITY,
    );
    const template = (service.template ?? {}) as Json;
    const containers = (template.containers ?? []) as Json[];
    const missing = containers.map((c) => str(c.image)).find(isMissingImage);
    const fail = (reason: string, message: string, revisionReason?: string): void => {
      const at = this.now();
      service.reconciling = false;
      service.terminalCondition = conditionOf(
        "Ready",
        "CONDITION_FAILED",
        { reason, message, ...(revisionReason === undefined ? {} : { revisionReason }) },
        at,
      );
      service.conditions = [conditionOf("ConfigurationsReady", "CONDITION_FAILED", { reason, message }, at)];
      result = { error: { code: GRPC.FAILED_PRECONDITION, message } };
      op.done = true;
      op.error = result.error;
    };
    timers.push(
      this.clock.setTimeout(() => {
        if (missing !== undefined) {
          fail("CONTAINER_MISSING", `Image '${missing}' not found.`);
          return;
        }
        const at = this.now();
        service.reconciling = false;
        service.observedGeneration = service.generation;
        service.latestReadyRevision = service.latestCreatedRevision;
        service.uri = `https://${serviceId}-abc123-uc.a.run.app`;
        service.terminalCondition = conditionOf("Ready", "CONDITION_SUCCEEDED", {}, at);
        service.conditions = [
          conditionOf("RoutesReady", "CONDITION_SUCCEEDED", {}, at),
          conditionOf("ConfigurationsReady", "CONDITION_SUCCEEDED", {}, at),
        ];
        op.done = true;
        op.response = { "@type": "type.googleapis.com/google.cloud.run.v2.Service", ...service };
        const main =
          containers.find((c) => Array.isArray(c.ports) && c.ports.length > 0) ?? containers[0] ?? {};
        const program = parseProgram(main.command as string[] | undefined, main.args as string[] | undefined);
        const resource = {
          type: "cloud_run_revision",
          labels: {
            service_name: serviceId,
            revision_name: revision,
            location: this.region,
            project_id: this.project,
            configuration_name: serviceId,
          },
        };
        this.#runProgram(program, str(main.name), resource, { instanceId: "00abc" }, timers, (code) => {
          fail(
            "REVISION_FAILED",
            `The user-provided container exited with code ${code} instead of listening on the port.`,
            "HEALTH_CHECK_CONTAINER_ERROR",
          );
        });
      }, this.timings.readyMs),
    );
    return op;
  }

  getService(name: string): Json {
    const service = this.services.get(name);
    if (service === undefined) throw new SimError(404, "NOT_FOUND", `Resource '${name}' was not found`);
    return service;
  }

  updateService(name: string, body: Json): Json {
    const service = this.getService(name);
    Object.assign(service, {
      template: body.template,
      labels: body.labels,
      annotations: body.annotations,
      scaling: body.scaling,
    });
    service.generation = String(Number(service.generation) + 1);
    service.observedGeneration = service.generation;
    service.updateTime = this.now();
    return this.renderOperation(this.#rollOut(service));
  }

  deleteService(name: string): Json {
    const service = this.getService(name);
    for (const timer of this.#serviceTimers.get(name) ?? []) this.clock.clearTimeout(timer);
    this.#serviceTimers.delete(name);
    this.services.delete(name);
    return this.renderOperation(
      this.#operation(
        "google.cloud.run.v2.Service",
        { name },
        () => ({ response: { "@type": "type.googleapis.com/google.cloud.run.v2.Service", ...service } }),
        this.timings.operationMs,
      ),
    );
  }

  listServices(parent: string): Json[] {
    return [...this.services.values()].filter((s) => String(s.name).startsWith(`${parent}/`));
  }

  // ---- worker pools and instances -------------------------------------------------------------

  /** Instances running or being started, other than `except`'s. */
  #instancesInUse(except: string): number {
    let count = 0;
    for (const [name, pool] of this.workerPools) {
      if (name === except || (pool.terminalCondition as Json | undefined)?.state === "CONDITION_FAILED")
        continue;
      count += Number(((pool.scaling ?? {}) as Json).manualInstanceCount ?? 0);
    }
    for (const [name, instance] of this.instances) {
      if (name === except || (instance.terminalCondition as Json | undefined)?.state === "CONDITION_FAILED")
        continue;
      count += 1;
    }
    for (const [name, service] of this.services) {
      if (name === except) continue;
      count += Number(((service.scaling ?? {}) as Json).minInstanceCount ?? 0);
    }
    return count;
  }

  createWorkerPool(parent: string, workerPoolId: string, body: Json): Json {
    const name = `${parent}/workerPools/${workerPoolId}`;
    if (this.workerPools.has(name))
      throw new SimError(409, "ALREADY_EXISTS", `Resource '${workerPoolId}' already exists.`);
    if (!/^[a-z]([-a-z0-9]{0,47}[a-z0-9])?$/.test(workerPoolId))
      throw new SimError(
        400,
        "INVALID_ARGUMENT",
        `Invalid worker pool id '${workerPoolId}'.`,
        "INVALID_ARGUMENT",
      );
    const now = this.now();
    const pool: Json = {
      ...body,
      name,
      uid: this.#id(),
      generation: "1",
      observedGeneration: "0",
      createTime: now,
      updateTime: now,
      creator: "vn-agent@p1.iam.gserviceaccount.com",
      launchStage: body.launchStage ?? "GA",
      etag: `"${this.#id()}"`,
    };
    this.workerPools.set(name, pool);
    return this.renderOperation(this.#rollOutWorkerPool(pool));
  }

  /**
   * Starts a worker pool revision: reconciling until its instances run (ready) or it fails (image
   * not found, instance quota, a container that exits); the operation is done then.
   */
  #rollOutWorkerPool(pool: Json): Operation {
    const name = String(pool.name);
    for (const timer of this.#serviceTimers.get(name) ?? []) this.clock.clearTimeout(timer);
    const timers: ReturnType<Clock["setTimeout"]>[] = [];
    this.#serviceTimers.set(name, timers);
    const now = this.now();
    const poolId = name.split("/").at(-1) ?? "";
    const revision = `${poolId.slice(0, 40)}-${String(pool.generation).padStart(5, "0")}-${this.#id().slice(-3)}`;
    pool.reconciling = true;
    pool.latestCreatedRevision = `${name}/revisions/${revision}`;
    pool.terminalCondition = conditionOf(
      "Ready",
      "CONDITION_RECONCILING",
      { message: "Deploying revision." },
      now,
    );
    pool.conditions = [conditionOf("ConfigurationsReady", "CONDITION_RECONCILING", {}, now)];
    const op = this.#operation(
      "google.cloud.run.v2.WorkerPool",
      { name },
      () => ({}),
      Number.POSITIVE_INFINITY,
    );
    const template = (pool.template ?? {}) as Json;
    const containers = (template.containers ?? []) as Json[];
    const missing = containers.map((c) => str(c.image)).find(isMissingImage);
    const fail = (reason: string, message: string, code: number = GRPC.FAILED_PRECONDITION): void => {
      const at = this.now();
      pool.reconciling = false;
      pool.observedGeneration = pool.generation;
      pool.terminalCondition = conditionOf("Ready", "CONDITION_FAILED", { reason, message }, at);
      pool.conditions = [conditionOf("ConfigurationsReady", "CONDITION_FAILED", { reason, message }, at)];
      op.done = true;
      op.error = { code, message };
    };
    timers.push(
      this.clock.setTimeout(() => {
        if (missing !== undefined) {
          fail("CONTAINER_MISSING", `Image '${missing}' not found.`);
          return;
        }
        const wanted = Number(((pool.scaling ?? {}) as Json).manualInstanceCount ?? 0);
        const used = this.#instancesInUse(name);
        if (used + wanted > this.instanceQuota) {
          fail(
            "REVISION_FAILED",
            `Quota exceeded for total allowable instances per project per region: limit ${String(this.instanceQuota)}, in use ${String(used)}, requested ${String(wanted)}.`,
            GRPC.RESOURCE_EXHAUSTED,
          );
          return;
        }
        const at = this.now();
        pool.reconciling = false;
        pool.observedGeneration = pool.generation;
        pool.latestReadyRevision = pool.latestCreatedRevision;
        pool.terminalCondition = conditionOf("Ready", "CONDITION_SUCCEEDED", {}, at);
        pool.conditions = [conditionOf("ConfigurationsReady", "CONDITION_SUCCEEDED", {}, at)];
        pool.instanceSplitStatuses = [{ type: "INSTANCE_SPLIT_ALLOCATION_TYPE_LATEST", percent: 100 }];
        op.done = true;
        op.response = { "@type": "type.googleapis.com/google.cloud.run.v2.WorkerPool", ...pool };
        if (wanted === 0) return;
        const main = containers.find((c) => !Array.isArray(c.dependsOn) || true) ?? {};
        const app = containers.find((c) => Array.isArray(c.dependsOn)) ?? main;
        const program = parseProgram(app.command as string[] | undefined, app.args as string[] | undefined);
        const resource = {
          type: "cloud_run_worker_pool",
          labels: {
            worker_pool_name: poolId,
            revision_name: revision,
            location: this.region,
            project_id: this.project,
          },
        };
        this.#runProgram(program, str(app.name), resource, { instanceId: "00wp" }, timers, (code) => {
          fail(
            "REVISION_FAILED",
            `The user-provided container exited with code ${String(code)}; worker pool instances must keep running.`,
          );
        });
      }, this.timings.readyMs),
    );
    return op;
  }

  getWorkerPool(name: string): Json {
    const pool = this.workerPools.get(name);
    if (pool === undefined) throw new SimError(404, "NOT_FOUND", `Resource '${name}' was not found`);
    return pool;
  }

  listWorkerPools(parent: string): Json[] {
    return [...this.workerPools.values()].filter((p) => String(p.name).startsWith(`${parent}/`));
  }

  updateWorkerPool(name: string, body: Json): Json {
    const pool = this.getWorkerPool(name);
    Object.assign(pool, {
      template: body.template,
      labels: body.labels,
      annotations: body.annotations,
      scaling: body.scaling,
    });
    pool.generation = String(Number(pool.generation) + 1);
    pool.updateTime = this.now();
    pool.etag = `"${this.#id()}"`;
    return this.renderOperation(this.#rollOutWorkerPool(pool));
  }

  deleteWorkerPool(name: string): Json {
    const pool = this.getWorkerPool(name);
    for (const timer of this.#serviceTimers.get(name) ?? []) this.clock.clearTimeout(timer);
    this.#serviceTimers.delete(name);
    this.workerPools.delete(name);
    return this.renderOperation(
      this.#operation(
        "google.cloud.run.v2.WorkerPool",
        { name },
        () => ({ response: { "@type": "type.googleapis.com/google.cloud.run.v2.WorkerPool", ...pool } }),
        this.timings.operationMs,
      ),
    );
  }

  createInstance(parent: string, instanceId: string, body: Json): Json {
    const name = `${parent}/instances/${instanceId}`;
    if (this.instances.has(name))
      throw new SimError(409, "ALREADY_EXISTS", `Resource '${instanceId}' already exists.`);
    const now = this.now();
    const instance: Json = {
      ...body,
      name,
      uid: this.#id(),
      generation: "1",
      observedGeneration: "0",
      createTime: now,
      updateTime: now,
      reconciling: true,
      terminalCondition: conditionOf(
        "Ready",
        "CONDITION_RECONCILING",
        { message: "Starting instance." },
        now,
      ),
      conditions: [],
      etag: `"${this.#id()}"`,
    };
    this.instances.set(name, instance);
    const timers: ReturnType<Clock["setTimeout"]>[] = [];
    this.#serviceTimers.set(name, timers);
    const op = this.#operation(
      "google.cloud.run.v2.Instance",
      { name },
      () => ({}),
      Number.POSITIVE_INFINITY,
    );
    const containers = (body.containers ?? []) as Json[];
    const missing = containers.map((c) => str(c.image)).find(isMissingImage);
    const fail = (reason: string, message: string, code: number = GRPC.FAILED_PRECONDITION): void => {
      instance.reconciling = false;
      instance.observedGeneration = instance.generation;
      instance.terminalCondition = conditionOf("Ready", "CONDITION_FAILED", { reason, message }, this.now());
      op.done = true;
      op.error = { code, message };
    };
    timers.push(
      this.clock.setTimeout(() => {
        if (missing !== undefined) {
          fail("CONTAINER_MISSING", `Image '${missing}' not found.`);
          return;
        }
        const used = this.#instancesInUse(name);
        if (used + 1 > this.instanceQuota) {
          fail(
            "REVISION_FAILED",
            `Quota exceeded for total allowable instances per project per region: limit ${String(this.instanceQuota)}.`,
            GRPC.RESOURCE_EXHAUSTED,
          );
          return;
        }
        instance.reconciling = false;
        instance.observedGeneration = instance.generation;
        instance.terminalCondition = conditionOf("Ready", "CONDITION_SUCCEEDED", {}, this.now());
        instance.urls = [`https://${instanceId}-abc123-uc.a.run.app`];
        op.done = true;
        op.response = { "@type": "type.googleapis.com/google.cloud.run.v2.Instance", ...instance };
        const main = containers[0] ?? {};
        const program = parseProgram(main.command as string[] | undefined, main.args as string[] | undefined);
        const resource = {
          type: "cloud_run_instance",
          labels: { instance_name: instanceId, location: this.region, project_id: this.project },
        };
        this.#runProgram(program, str(main.name), resource, {}, timers, (code) => {
          fail("REVISION_FAILED", `The user-provided container exited with code ${String(code)}.`);
        });
      }, this.timings.readyMs),
    );
    return this.renderOperation(op);
  }

  getInstance(name: string): Json {
    const instance = this.instances.get(name);
    if (instance === undefined) throw new SimError(404, "NOT_FOUND", `Resource '${name}' was not found`);
    return instance;
  }

  listInstances(parent: string): Json[] {
    return [...this.instances.values()].filter((i) => String(i.name).startsWith(`${parent}/`));
  }

  deleteInstance(name: string): Json {
    const instance = this.getInstance(name);
    for (const timer of this.#serviceTimers.get(name) ?? []) this.clock.clearTimeout(timer);
    this.#serviceTimers.delete(name);
    this.instances.delete(name);
    return this.renderOperation(
      this.#operation(
        "google.cloud.run.v2.Instance",
        { name },
        () => ({ response: { "@type": "type.googleapis.com/google.cloud.run.v2.Instance", ...instance } }),
        this.timings.operationMs,
      ),
    );
  }

  // ---- Secret Manager -------------------------------------------------------------------------

  createSecret(parent: string, secretId: string, body: Json): Json {
    const name = `${parent}/secrets/${secretId}`;
    if (this.secrets.has(name)) throw new SimError(409, "ALREADY_EXISTS", `Secret [${name}] already exists.`);
    if (!/^[A-Za-z0-9_-]{1,255}$/.test(secretId))
      throw new SimError(400, "INVALID_ARGUMENT", `Invalid secret id '${secretId}'.`);
    const secret = { ...body, name, createTime: this.now(), etag: `"${this.#id()}"` };
    this.secrets.set(name, { secret, versions: [] });
    return secret;
  }

  getSecret(name: string): Json {
    const s = this.secrets.get(name);
    if (s === undefined)
      throw new SimError(404, "NOT_FOUND", `Secret [${name}] not found or has no versions.`);
    return s.secret;
  }

  addSecretVersion(parent: string, body: Json): Json {
    const s = this.secrets.get(parent);
    if (s === undefined) throw new SimError(404, "NOT_FOUND", `Secret [${parent}] not found.`);
    const payload = (body.payload ?? {}) as Json;
    const version = {
      name: `${parent}/versions/${s.versions.length + 1}`,
      data: str(payload.data),
      state: "ENABLED",
    };
    s.versions.push(version);
    return { name: version.name, createTime: this.now(), state: "ENABLED" };
  }

  deleteSecret(name: string): Json {
    if (!this.secrets.delete(name)) throw new SimError(404, "NOT_FOUND", `Secret [${name}] not found.`);
    return {};
  }

  /** Supports the `labels.<key>=<value>` (AND-joined) filters the provider uses. */
  listSecrets(parent: string, filter: string | null): Json[] {
    const clauses = (filter ?? "").split(/\s+AND\s+/).filter((c) => c.trim() !== "");
    return [...this.secrets.values()]
      .map((s) => s.secret)
      .filter((secret) => String(secret.name).startsWith(`${parent}/secrets/`))
      .filter((secret) =>
        clauses.every((clause) => {
          const m = /^labels\.([a-z0-9_-]+)\s*[=:]\s*"?([^"]*)"?$/.exec(clause.trim());
          if (m === null) throw new SimError(400, "INVALID_ARGUMENT", `Invalid filter clause '${clause}'.`);
          return ((secret.labels ?? {}) as Json)[m[1] ?? ""] === m[2];
        }),
      );
  }

  /** The plain value of a secret version (the simulator's view of a mounted secret). */
  secretValue(secret: string, version = "latest"): string | undefined {
    const s = this.secrets.get(
      secret.startsWith("projects/") ? secret : `projects/${this.project}/secrets/${secret}`,
    );
    const v =
      version === "latest"
        ? s?.versions.at(-1)
        : s?.versions.find((x) => x.name.endsWith(`/versions/${version}`));
    return v === undefined ? undefined : Buffer.from(v.data, "base64").toString("utf8");
  }

  // ---- Cloud Logging --------------------------------------------------------------------------

  writeLog(resource: Json, labels: Record<string, string>, text: string): void {
    const time = this.clock.now();
    this.#seq += 1;
    const seconds = Math.floor(time / 1000);
    const nanos = (time % 1000) * 1e6 + (this.#seq % 1000);
    const iso = new Date(seconds * 1000)
      .toISOString()
      .replace(".000Z", `.${String(nanos).padStart(9, "0")}Z`);
    this.logs.push({
      time,
      seq: this.#seq,
      entry: {
        logName: `projects/${this.project}/logs/run.googleapis.com%2Fstdout`,
        resource,
        textPayload: text,
        timestamp: iso,
        receiveTimestamp: iso,
        insertId: this.#seq.toString(16).padStart(8, "0"),
        labels,
        severity: "DEFAULT",
      },
    });
  }

  /** entries:list with the filter subset the provider sends (`key="value"` and timestamp comparisons, AND-joined). */
  listLogEntries(filter: string, orderBy: string | undefined): Json[] {
    const clauses = splitFilter(filter);
    const entries = this.logs.filter((record) => clauses.every((c) => c(record.entry))).map((r) => r.entry);
    return orderBy === "timestamp desc" ? entries.reverse() : entries;
  }
}

function getPath(entry: Json, path: string): unknown {
  let value: unknown = entry;
  for (const part of path.match(/"[^"]+"|[^.]+/g) ?? []) {
    const key = part.startsWith('"') ? part.slice(1, -1) : part;
    value = typeof value === "object" && value !== null ? (value as Json)[key] : undefined;
  }
  return value;
}

function splitFilter(filter: string): ((entry: Json) => boolean)[] {
  const out: ((entry: Json) => boolean)[] = [];
  for (const raw of filter.split(/\s+AND\s+/)) {
    const clause = raw.trim();
    if (clause === "") continue;
    const m = /^([A-Za-z_.]+(?:\."[^"]+")?)\s*(>=|<=|=|>|<)\s*"([^"]*)"$/.exec(clause);
    if (m === null) throw new SimError(400, "INVALID_ARGUMENT", `Unparseable filter: ${clause}`);
    const [, path = "", op, value = ""] = m;
    if (path === "timestamp") {
      const at = normalizeTime(value);
      out.push((entry) => {
        const ts = normalizeTime(String(entry.timestamp));
        return op === ">="
          ? ts >= at
          : op === ">"
            ? ts > at
            : op === "<="
              ? ts <= at
              : op === "<"
                ? ts < at
                : ts === at;
      });
    } else {
      if (op !== "=") throw new SimError(400, "INVALID_ARGUMENT", `Unsupported operator in ${clause}`);
      out.push((entry) => getPath(entry, path) === value);
    }
  }
  return out;
}

/** RFC 3339 with a 9-digit fraction and Z, so timestamps compare as strings. */
function normalizeTime(value: string): string {
  const m = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?Z$/.exec(value);
  if (m === null) {
    const ms = Date.parse(value);
    if (Number.isNaN(ms))
      throw new SimError(400, "INVALID_ARGUMENT", `Invalid timestamp "${value}" in filter`);
    return normalizeTime(new Date(ms).toISOString());
  }
  return `${m[1] ?? ""}.${(m[2] ?? "").padEnd(9, "0")}Z`;
}
