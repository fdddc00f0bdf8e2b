/**
 * Pure status mapping `Cloud Run object → ProviderPodStatus`. A Job pod's state comes from its
 * (single) Execution's counts and conditions, exit codes and signals from its Task's
 * `lastAttemptResult`; a Worker Pool, Service or Instance pod's from its conditions, `reconciling`
 * and generations. Every non-running state carries a reason and message: never a silent Pending.
 * There is no pod IP: nothing on Cloud Run is routable from the cluster.
 */
import { billedFromShape, parseQuantity } from "@virtual-node/core/provider-kit";
import type { BilledResources, ContainerState, ContainerStatus, ProviderPodStatus } from "@virtual-node/core";
import type { protos } from "@google-cloud/run";
import { IGNORED_PULL_SECRETS_ANNOTATION, SHAPE_ANNOTATION } from "./mapping.js";

type Job = protos.google.cloud.run.v2.IJob;
type Execution = protos.google.cloud.run.v2.IExecution;
type Task = protos.google.cloud.run.v2.ITask;
type Service = protos.google.cloud.run.v2.IService;
type WorkerPool = protos.google.cloud.run.v2.IWorkerPool;
type Instance = protos.google.cloud.run.v2.IInstance;
type Condition = protos.google.cloud.run.v2.ICondition;
type Timestamp = protos.google.protobuf.ITimestamp;
type CloudContainer = protos.google.cloud.run.v2.IContainer;

/** What one pod is on Cloud Run: a Job with its latest Execution (and Tasks), a Worker Pool, a Service or an Instance. */
export type CloudRunObject =
  | { kind: "job"; job: Job; execution?: Execution; tasks?: Task[] }
  | { kind: "workerPool"; workerPool: WorkerPool }
  | { kind: "service"; service: Service }
  | { kind: "instance"; instance: Instance };

/** A protobuf timestamp (seconds may be a string or Long) as a Date. */
export function toDate(ts: Timestamp | null | undefined): Date | undefined {
  if (ts == null) return undefined;
  const seconds = Number(ts.seconds ?? 0);
  if (!Number.isFinite(seconds) || seconds === 0) return undefined;
  return new Date(seconds * 1000 + Math.floor((ts.nanos ?? 0) / 1e6));
}

/** Enum values arrive as names from the client library, but may be numbers. */
function enumName(value: unknown): string {
  return typeof value === "string" ? value : typeof value === "number" ? String(value) : "";
}

function num(value: unknown): number {
  return Number(value ?? 0);
}

function pascal(reason: string): string {
  return reason
    .toLowerCase()
    .split("_")
    .map((w) => w.charAt(0).toUpperCase() + w.slice(1))
    .join("");
}

/** The Kubernetes waiting reason for a Cloud Run condition reason. */
function waitingReason(reason: string): string {
  switch (reason) {
    case "CONTAINER_MISSING":
    case "CONTAINER_IMAGE_UNAUTHORIZED":
    case "CONTAINER_IMAGE_AUTHORIZATION_CHECK_FAILED":
      return "ErrImagePull";
    case "SECRETS_ACCESS_CHECK_FAILED":
      return "CreateContainerConfigError";
    case "CONTAINER_PERMISSION_DENIED":
    case "ENCRYPTION_KEY_PERMISSION_DENIED":
    case "ENCRYPTION_KEY_CHECK_FAILED":
      return "CreateContainerError";
    default:
      return "ContainerCreating";
  }
}

function failedCondition(conditions: readonly Condition[] | null | undefined): Condition | undefined {
  return conditions?.find((c) => enumName(c.state) === "CONDITION_FAILED");
}

function reasonOf(c: Condition): string {
  for (const r of [c.reason, c.revisionReason, c.executionReason]) {
    const name = enumName(r);
    if (name !== "" && !name.endsWith("_UNDEFINED") && name !== "0") return name;
  }
  return c.type ?? "Failed";
}

function containersOf(
  template: { containers?: CloudContainer[] | null } | null | undefined,
): CloudContainer[] {
  return template?.containers ?? [];
}

/** The size recorded at create time (the main container's limits), as billed resources. */
function billedOf(
  annotations: Record<string, string> | null | undefined,
  containers: CloudContainer[],
): BilledResources | undefined {
  const limits = containers.find((c) => c.resources?.limits?.cpu !== undefined)?.resources?.limits;
  if (limits?.cpu === undefined || limits.memory === undefined) return undefined;
  const cpu = parseQuantity(limits.cpu);
  const memory = parseQuantity(limits.memory);
  const billed = billedFromShape({ name: annotations?.[SHAPE_ANNOTATION] ?? "", cpu, memory });
  return annotations?.[SHAPE_ANNOTATION] === undefined
    ? { vcpu: billed.vcpu, memoryGiB: billed.memoryGiB }
    : billed;
}

function each(
  containers: CloudContainer[],
  state: (name: string, index: number) => Omit<ContainerStatus, "name">,
): ContainerStatus[] {
  const names = containers.length === 0 ? ["main"] : containers.map((c, i) => c.name ?? `container-${i}`);
  return names.map((name, i) => ({ name, ...state(name, i) }));
}

/** Pod annotations the provider publishes (through core's status channel) about the pod's Cloud Run objects. */
export const CloudRunStatusAnnotations = {
  /** Full resource name of the Job, Worker Pool, Service or Instance (`projects/…/locations/…/jobs/…`). */
  resource: "run.virtual-node.io/resource",
  /** Full resource name of the Job's Execution that runs the pod. */
  execution: "run.virtual-node.io/execution",
  /** The Service's (or Instance's first) URL (`https://…run.app`), once Cloud Run assigned one. */
  url: "run.virtual-node.io/url",
} as const;

/** A Warning (once per pod: a fixed id) when the pod names pull secrets Cloud Run cannot use. */
function pullSecretEvents(
  annotations: Record<string, string> | null | undefined,
): Pick<ProviderPodStatus, "events"> {
  const names = annotations?.[IGNORED_PULL_SECRETS_ANNOTATION];
  if (names === undefined || names === "") return {};
  return {
    events: [
      {
        id: "ImagePullSecretsIgnored",
        type: "Warning",
        reason: "ImagePullSecretsIgnored",
        message: `Cloud Run pulls images with the service account and has no registry credentials: imagePullSecrets ${names} are not used (grant the service account roles/artifactregistry.reader, or use a remote repository for other registries)`,
      },
    ],
  };
}

function publishedAnnotations(
  values: Partial<Record<keyof typeof CloudRunStatusAnnotations, string | null | undefined>>,
): Record<string, string> | undefined {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(values)) {
    if (value != null && value !== "")
      out[CloudRunStatusAnnotations[key as keyof typeof CloudRunStatusAnnotations]] = value;
  }
  return Object.keys(out).length === 0 ? undefined : out;
}

/** Job pod: the Execution's counts and conditions, the Task's exit code. */
export function jobStatus(job: Job, execution?: Execution, tasks?: readonly Task[]): ProviderPodStatus {
  const containers = containersOf(job.template?.template);
  const image = (i: number) => containers[i]?.image ?? undefined;
  const billed = billedOf(job.annotations, containers);
  const annotations = publishedAnnotations({ resource: job.name, execution: execution?.name });
  const base = {
    ...(billed === undefined ? {} : { billed }),
    ...(annotations === undefined ? {} : { annotations }),
    ...pullSecretEvents(job.annotations),
  };
  if (execution == null) {
    const terminal = job.terminalCondition;
    if (terminal != null && enumName(terminal.state) === "CONDITION_FAILED") {
      const reason = reasonOf(terminal);
      const message = terminal.message ?? `Cloud Run job failed: ${reason}`;
      return {
        ...base,
        phase: "Failed",
        reason: pascal(reason),
        message,
        containers: each(containers, (_n, i) => ({
          state: { waiting: { reason: waitingReason(reason), message } },
          image: image(i),
        })),
      };
    }
    return {
      ...base,
      phase: "Pending",
      reason: "JobCreating",
      message: "Cloud Run is creating the job",
      containers: each(containers, (_n, i) => ({
        state: { waiting: { reason: "ContainerCreating", message: "job is being created" } },
        image: image(i),
      })),
    };
  }
  const task = tasks?.[0];
  const startedAt = toDate(task?.startTime) ?? toDate(execution.startTime);
  const finishedAt = toDate(task?.completionTime) ?? toDate(execution.completionTime);
  const restartCount = num(task?.retried ?? execution.retriedCount);
  const startTime = toDate(execution.startTime) ?? toDate(execution.createTime);
  const common = { ...base, ...(startTime === undefined ? {} : { startTime }) };
  const terminated = (
    exitCode: number,
    reason: string,
    message?: string,
    signal?: number,
  ): ContainerState => ({
    terminated: {
      exitCode,
      reason,
      ...(message === undefined ? {} : { message }),
      ...(signal === undefined ? {} : { signal }),
      ...(startedAt === undefined ? {} : { startedAt }),
      ...(finishedAt === undefined ? {} : { finishedAt }),
    },
  });
  const result = task?.lastAttemptResult;
  const signal = num((result as { termSignal?: number } | null | undefined)?.termSignal);
  const exitFromTask = (): { code: number; signal?: number } | undefined => {
    if (result == null) return undefined;
    if (signal > 0) return { code: 128 + signal, signal };
    return { code: num(result.exitCode) };
  };

  if (num(execution.succeededCount) >= Math.max(1, num(execution.taskCount))) {
    return {
      ...common,
      phase: "Succeeded",
      containers: each(containers, (_n, i) => ({
        state: terminated(0, "Completed"),
        restartCount,
        image: image(i),
      })),
    };
  }
  if (num(execution.cancelledCount) > 0) {
    const exit = exitFromTask();
    const message = failedCondition(execution.conditions)?.message ?? "the execution was cancelled";
    return {
      ...common,
      phase: "Failed",
      reason: "Cancelled",
      message,
      containers: each(containers, (_n, i) => ({
        state: terminated(exit?.code ?? 137, "Cancelled", message, exit?.signal ?? 9),
        restartCount,
        image: image(i),
      })),
    };
  }
  if (num(execution.failedCount) > 0) {
    const exit = exitFromTask();
    const condition = failedCondition(task?.conditions) ?? failedCondition(execution.conditions);
    const message =
      condition?.message ??
      result?.status?.message ??
      (exit === undefined ? "the task failed" : `the task exited with code ${exit.code}`);
    const code = exit?.code ?? 1;
    return {
      ...common,
      phase: "Failed",
      reason: "Error",
      message,
      containers: each(containers, (_n, i) => ({
        state: terminated(code, i === 0 ? "Error" : "Completed", message, exit?.signal),
        restartCount,
        image: image(i),
      })),
    };
  }
  if (num(execution.runningCount) > 0) {
    return {
      ...common,
      phase: "Running",
      containers: each(containers, (_n, i) => ({
        state: { running: { startedAt: startedAt ?? new Date(0) } },
        restartCount,
        ready: true,
        started: true,
        image: image(i),
        ...(result != null && restartCount > 0
          ? { lastState: terminated(exitFromTask()?.code ?? 1, "Error") }
          : {}),
      })),
    };
  }
  if (restartCount > 0) {
    // Between two attempts of an OnFailure pod: the kubelet shows a back-off, the pod stays Running.
    const exit = exitFromTask();
    return {
      ...common,
      phase: "Running",
      containers: each(containers, (_n, i) => ({
        state: {
          waiting: {
            reason: "CrashLoopBackOff",
            message: `restarting after exit code ${exit?.code ?? "unknown"}`,
          },
        },
        restartCount,
        image: image(i),
        ...(exit === undefined ? {} : { lastState: terminated(exit.code, "Error", undefined, exit.signal) }),
      })),
    };
  }
  const failed = failedCondition(execution.conditions);
  if (failed !== undefined) {
    const reason = reasonOf(failed);
    const message = failed.message ?? reason;
    return {
      ...common,
      phase: "Failed",
      reason: pascal(reason),
      message,
      containers: each(containers, (_n, i) => ({
        state: { waiting: { reason: waitingReason(reason), message } },
        image: image(i),
      })),
    };
  }
  const pending = execution.conditions?.find(
    (c) => enumName(c.state) !== "CONDITION_SUCCEEDED" && c.type !== "Completed",
  );
  const message = pending?.message || `waiting for ${pending?.type ?? "the execution"} to start`;
  return {
    ...common,
    phase: "Pending",
    containers: each(containers, (_n, i) => ({
      state: { waiting: { reason: "ContainerCreating", message } },
      image: image(i),
    })),
  };
}

/** What the long-running kinds share for status: conditions, generations, the revisions. */
interface Deployed {
  name?: string | null;
  annotations?: Record<string, string> | null;
  createTime?: Timestamp | null;
  updateTime?: Timestamp | null;
  terminalCondition?: Condition | null;
  reconciling?: boolean | null;
  generation?: number | string | { toString(): string } | null;
  observedGeneration?: number | string | { toString(): string } | null;
  /** Services and Worker Pools roll out revisions; an Instance has none. */
  latestReadyRevision?: string | null;
  latestCreatedRevision?: string | null;
}

/**
 * A long-running pod (Worker Pool, Service, Instance): a failed terminal condition → Failed with
 * its reason; ready and rolled out (not reconciling, observedGeneration caught up, the latest
 * revision ready) → Running; otherwise Pending with the condition's message.
 */
function deployedStatus(
  resource: Deployed,
  containers: CloudContainer[],
  url: string | null | undefined,
  revisions: boolean,
  deploying: string,
): ProviderPodStatus {
  const image = (i: number) => containers[i]?.image ?? undefined;
  const billed = billedOf(resource.annotations, containers);
  const created = toDate(resource.createTime);
  const annotations = publishedAnnotations({ resource: resource.name, url });
  const base = {
    ...(billed === undefined ? {} : { billed }),
    ...(annotations === undefined ? {} : { annotations }),
    ...pullSecretEvents(resource.annotations),
    ...(created === undefined ? {} : { startTime: created }),
  };
  const terminal = resource.terminalCondition;
  const state = enumName(terminal?.state);
  if (terminal != null && state === "CONDITION_FAILED") {
    const reason = reasonOf(terminal);
    const message = terminal.message ?? reason;
    // Cloud Run has no quota reason code: quota failures say so in the message.
    const quota = /\bquota\b/i.test(message);
    return {
      ...base,
      phase: "Failed",
      reason: quota ? "QuotaExceeded" : pascal(reason),
      message,
      containers: each(containers, (_n, i) => ({
        state: {
          waiting: {
            reason: quota
              ? "CreateContainerError"
              : reason === "REVISION_FAILED"
                ? "CrashLoopBackOff"
                : waitingReason(reason),
            message,
          },
        },
        image: image(i),
      })),
    };
  }
  const caughtUp =
    resource.reconciling !== true && num(resource.observedGeneration) >= num(resource.generation);
  const rolledOut =
    caughtUp && (!revisions || resource.latestReadyRevision === resource.latestCreatedRevision);
  const hasReady = revisions && (resource.latestReadyRevision ?? "") !== "";
  if ((state === "CONDITION_SUCCEEDED" && rolledOut) || hasReady) {
    const startedAt =
      toDate(terminal?.lastTransitionTime) ?? toDate(resource.updateTime) ?? created ?? new Date(0);
    return {
      ...base,
      phase: "Running",
      containers: each(containers, (_n, i) => ({
        state: { running: { startedAt } },
        ready: true,
        started: true,
        image: image(i),
      })),
    };
  }
  const message = terminal?.message || deploying;
  return {
    ...base,
    phase: "Pending",
    containers: each(containers, (_n, i) => ({
      state: { waiting: { reason: "ContainerCreating", message } },
      image: image(i),
    })),
  };
}

/** Service pod: ready revision → Running; a failed terminal condition → Failed with its reason. */
export function serviceStatus(service: Service): ProviderPodStatus {
  return deployedStatus(
    service,
    containersOf(service.template),
    service.uri,
    true,
    "Cloud Run is deploying the revision",
  );
}

/**
 * Worker Pool pod: its one manual instance runs once the revision is ready (not reconciling,
 * observedGeneration caught up) → Running; a failed terminal condition (image not found, quota,
 * permission, a container that exits) → Failed with the condition's reason and message.
 */
export function workerPoolStatus(workerPool: WorkerPool): ProviderPodStatus {
  return deployedStatus(
    workerPool,
    containersOf(workerPool.template),
    undefined,
    true,
    "Cloud Run is deploying the worker pool revision",
  );
}

/** Instance pod: ready terminal condition, caught up → Running; failed → Failed with its reason. */
export function instanceStatus(instance: Instance): ProviderPodStatus {
  return deployedStatus(
    instance,
    instance.containers ?? [],
    instance.urls?.[0],
    false,
    "Cloud Run is starting the instance",
  );
}

/** The pod status of any Cloud Run object. */
export function toPodStatus(object: CloudRunObject): ProviderPodStatus {
  switch (object.kind) {
    case "job":
      return jobStatus(object.job, object.execution, object.tasks);
    case "workerPool":
      return workerPoolStatus(object.workerPool);
    case "service":
      return serviceStatus(object.service);
    case "instance":
      return instanceStatus(object.instance);
  }
}
