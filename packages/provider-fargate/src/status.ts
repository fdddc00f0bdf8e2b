/**
 * ECS task → pod status: the other pure half of the provider. Reads only the task (as
 * DescribeTasks returns it with tags) and the time, so it can be table-tested.
 */
import type { Container as EcsContainer, Task } from "@aws-sdk/client-ecs";
import type { ContainerStatus, ProviderPodStatus } from "@virtual-node/core";
import { FILE_WRITER_CONTAINER, ROLES_TAG, parseRoles } from "./roles.js";
import type { ContainerRoles } from "./roles.js";

/** Options of {@link taskToPodStatus}. */
export interface TaskStatusOptions {
  /** Now, in ms (the provider's clock). */
  now: number;
  /** A task not RUNNING this long after it was created is reported Failed. */
  startDeadlineMs: number;
}

/**
 * `stoppedReason` prefix of a task the provider stopped because it did not start in time. It differs
 * from the delete prefix (`virtual-node:`), so the stopped task still reports its pod (Failed).
 */
export const DEADLINE_STOP_REASON = "virtual-node-deadline: the task did not reach RUNNING in time";

/** Pod annotations the provider publishes (through core's status channel). */
export const FargateStatusAnnotations = {
  /** The ECS task ARN running the pod. */
  taskArn: "fargate.virtual-node.io/task-arn",
  /** The Fargate task size chosen for the pod, `<cpu units>/<memory MiB>` (e.g. `1024/2048`). */
  taskSize: "fargate.virtual-node.io/task-size",
} as const;

/** The error kind at the start of a `stoppedReason` (`CannotPullContainerError: …`), if any. */
export function stoppedReasonKind(reason: string | undefined): string | undefined {
  const match = /^([A-Za-z]+(?:Error|Exception))\b/.exec(reason ?? "");
  return match?.[1];
}

const STARTING = new Set(["PROVISIONING", "PENDING", "ACTIVATING"]);

function podIPs(task: Task): string[] {
  const ips = new Set<string>();
  for (const attachment of task.attachments ?? []) {
    if (attachment.type !== "ElasticNetworkInterface" && attachment.type !== "eni") continue;
    for (const d of attachment.details ?? []) {
      if (d.name === "privateIPv4Address" && d.value) ips.add(d.value);
    }
  }
  for (const c of task.containers ?? []) {
    for (const ni of c.networkInterfaces ?? []) if (ni.privateIpv4Address) ips.add(ni.privateIpv4Address);
  }
  return [...ips];
}

function terminatedReason(exitCode: number, containerReason: string | undefined): string {
  if (containerReason?.startsWith("OutOfMemoryError") === true) return "OOMKilled";
  return exitCode === 0 ? "Completed" : "Error";
}

function containerStatus(
  c: EcsContainer,
  task: Task,
  roles: ContainerRoles,
  waitingReason: string,
  taskStopped: boolean,
): ContainerStatus {
  const name = c.name ?? "";
  const base = {
    name,
    ...(c.image === undefined ? {} : { image: c.image }),
    ...(c.imageDigest === undefined ? {} : { imageID: c.imageDigest }),
    ...(c.runtimeId === undefined ? {} : { containerID: `ecs://${c.runtimeId}` }),
    restartCount: 0,
  };
  if (c.lastStatus === "STOPPED" || (taskStopped && c.lastStatus !== "RUNNING")) {
    const started = c.runtimeId !== undefined;
    const exitCode = c.exitCode ?? (started ? 137 : 1);
    const message = c.reason ?? (started ? undefined : task.stoppedReason);
    const reason =
      c.exitCode === undefined && !started
        ? (stoppedReasonKind(task.stoppedReason) ?? task.stopCode ?? "ContainerCannotRun")
        : terminatedReason(exitCode, c.reason);
    return {
      ...base,
      state: {
        terminated: {
          exitCode,
          reason,
          ...(message === undefined ? {} : { message }),
          ...(task.startedAt === undefined ? {} : { startedAt: task.startedAt }),
          ...(task.executionStoppedAt === undefined && task.stoppedAt === undefined
            ? {}
            : { finishedAt: task.executionStoppedAt ?? task.stoppedAt }),
        },
      },
      ready: false,
      started: false,
    };
  }
  if (c.lastStatus === "RUNNING") {
    const checked = roles.health.includes(name);
    const ready = checked ? c.healthStatus === "HEALTHY" : true;
    return {
      ...base,
      state: { running: { startedAt: task.startedAt ?? task.createdAt ?? new Date(0) } },
      ready,
      started: true,
    };
  }
  return { ...base, state: { waiting: { reason: waitingReason } }, ready: false, started: false };
}

/**
 * The pod status of an ECS task (with `include: ["TAGS"]` for the container roles):
 * PROVISIONING / PENDING / ACTIVATING → Pending (`TaskProvisioning`, … reasons); RUNNING →
 * Running, container health → readiness; STOPPED → Succeeded only when every app container
 * exited 0, else Failed with the exit codes, `stopCode` and `stoppedReason` (the reason is the
 * error kind, e.g. `CannotPullContainerError`, `ResourceInitializationError`, or the stop code,
 * e.g. `SpotInterruption`). A task that is not RUNNING `startDeadlineMs` after creation is Failed
 * (`StartDeadlineExceeded`).
 */
export function taskToPodStatus(task: Task, options: TaskStatusOptions): ProviderPodStatus {
  const tags = new Map((task.tags ?? []).map((t) => [t.key ?? "", t.value ?? ""]));
  const roles = parseRoles(tags.get(ROLES_TAG));
  const initNames = new Set([...roles.init, ...roles.sidecar]);
  const last = task.lastStatus ?? "PROVISIONING";
  const stopped = last === "STOPPED";
  const waitingApp = roles.init.length > 0 ? "PodInitializing" : "ContainerCreating";
  const visible = (task.containers ?? []).filter((c) => c.name !== FILE_WRITER_CONTAINER);
  const inits = visible
    .filter((c) => initNames.has(c.name ?? ""))
    .sort((a, b) => [...initNames].indexOf(a.name ?? "") - [...initNames].indexOf(b.name ?? ""));
  const apps = visible.filter((c) => !initNames.has(c.name ?? ""));
  const initContainers = inits.map((c) => containerStatus(c, task, roles, "ContainerCreating", stopped));
  const containers = apps.map((c) => containerStatus(c, task, roles, waitingApp, stopped));
  const ips = podIPs(task);
  const common: Omit<ProviderPodStatus, "containers"> = {
    ...(ips.length > 0 ? { podIPs: ips } : {}),
    ...(task.createdAt === undefined ? {} : { startTime: task.createdAt }),
    ...billedOf(task),
    ...annotationsOf(task),
  };
  if (stopped && task.stoppedReason?.startsWith(DEADLINE_STOP_REASON) === true) {
    return {
      ...common,
      phase: "Failed",
      reason: "StartDeadlineExceeded",
      message: `${task.stoppedReason} (stopped by the provider)`,
      initContainers,
      containers,
    };
  }
  if (stopped) {
    const allZero =
      containers.length > 0 &&
      containers.every((c) => "terminated" in c.state && c.state.terminated.exitCode === 0);
    const kind = stoppedReasonKind(task.stoppedReason);
    const codes = containers
      .map((c) => ("terminated" in c.state ? `${c.name}=${c.state.terminated.exitCode}` : undefined))
      .filter((s) => s !== undefined);
    const message = [task.stopCode, task.stoppedReason].filter(Boolean).join(": ");
    return {
      ...common,
      phase: allZero ? "Succeeded" : "Failed",
      ...(allZero ? {} : { reason: kind ?? task.stopCode ?? "TaskStopped" }),
      message: allZero
        ? message
        : `${message}${codes.length > 0 ? ` (exit codes: ${codes.join(", ")})` : ""}`,
      initContainers,
      containers,
    };
  }
  const created = task.createdAt?.getTime();
  if (STARTING.has(last) && created !== undefined && options.now - created > options.startDeadlineMs) {
    return {
      ...common,
      phase: "Failed",
      reason: "StartDeadlineExceeded",
      message: `ECS task still ${last} ${Math.round((options.now - created) / 1000)} s after it was created`,
      initContainers,
      containers,
    };
  }
  if (STARTING.has(last) || task.startedAt === undefined) {
    return {
      ...common,
      phase: "Pending",
      reason: `Task${last.charAt(0)}${last.slice(1).toLowerCase()}`,
      message: `ECS task is ${last}`,
      initContainers,
      containers,
    };
  }
  // RUNNING, or going down (DEACTIVATING / STOPPING / DEPROVISIONING) after it ran.
  return {
    ...common,
    phase: "Running",
    ...(last === "RUNNING" ? {} : { reason: "TaskStopping", message: `ECS task is ${last}` }),
    initContainers,
    containers,
  };
}

function annotationsOf(task: Task): Pick<ProviderPodStatus, "annotations"> {
  const annotations: Record<string, string> = {};
  if (task.taskArn !== undefined) annotations[FargateStatusAnnotations.taskArn] = task.taskArn;
  if (task.cpu !== undefined && task.memory !== undefined)
    annotations[FargateStatusAnnotations.taskSize] = `${task.cpu}/${task.memory}`;
  return Object.keys(annotations).length === 0 ? {} : { annotations };
}

function billedOf(task: Task): Pick<ProviderPodStatus, "billed"> {
  const cpu = Number(task.cpu);
  const memory = Number(task.memory);
  if (!(cpu > 0) || !(memory > 0)) return {};
  return {
    billed: { vcpu: cpu / 1024, memoryGiB: memory / 1024, shape: `${task.cpu ?? ""}/${task.memory ?? ""}` },
  };
}
