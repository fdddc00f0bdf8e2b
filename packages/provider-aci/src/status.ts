/**
 * ACI container group → provider-neutral pod status: a pure function. Missing optional fields
 * (no instance view, no events, no IP) never block a status: they become waiting states with a
 * reason, so a pod is never silently Pending.
 */
import type {
  ContainerGroup,
  ContainerState as AciContainerState,
  Event as AciEvent,
} from "@azure/arm-containerinstance";
import type {
  ContainerState,
  ContainerStatus,
  ProviderPodEvent,
  ProviderPodStatus,
} from "@virtual-node/core";
import { AciTags } from "./mapping.js";

/** Provisioning states in which ACI is still working on the group. */
const IN_PROGRESS = new Set(["Accepted", "Pending", "Creating", "Updating", "Repairing", "NotSpecified"]);

/** Inputs of {@link toPodStatus} that do not come from the group itself. */
export interface StatusContext {
  /** Now, for the stuck-provisioning deadline. */
  now: number;
  /** Since when the group has been provisioning (the create/update time the provider recorded). */
  provisioningSince?: number;
  /** How long provisioning may take before the pod fails. Default 10 minutes. */
  provisioningDeadlineMs?: number;
  /** A failure the provider saw on the group's long-running operation (ARM error code and message). */
  operationError?: { code: string; message: string };
}

function date(value: Date | string | undefined): Date | undefined {
  if (value === undefined) return undefined;
  const d = value instanceof Date ? value : new Date(value);
  return Number.isNaN(d.getTime()) ? undefined : d;
}

/** One ACI container state as a Kubernetes container state. */
export function toContainerState(
  state: AciContainerState | undefined,
  fallbackReason = "ContainerCreating",
): ContainerState {
  switch (state?.state) {
    case "Running": {
      const startedAt = date(state.startTime);
      return { running: { startedAt: startedAt ?? new Date(0) } };
    }
    case "Terminated": {
      // ACI omits exitCode in some failure modes; "always an exit code" means a nonzero fallback then.
      const exitCode = state.exitCode ?? (state.detailStatus === "Completed" ? 0 : 1);
      const startedAt = date(state.startTime);
      const finishedAt = date(state.finishTime);
      return {
        terminated: {
          exitCode,
          reason: exitCode === 0 ? "Completed" : "Error",
          ...(state.detailStatus ? { message: state.detailStatus } : {}),
          ...(startedAt ? { startedAt } : {}),
          ...(finishedAt ? { finishedAt } : {}),
        },
      };
    }
    case "Waiting":
    default: {
      const detail = state?.detailStatus;
      return {
        waiting: { reason: waitingReason(detail) ?? fallbackReason, ...(detail ? { message: detail } : {}) },
      };
    }
  }
}

/** ACI's `detailStatus` → a kubelet-like waiting reason. */
function waitingReason(detail: string | undefined): string | undefined {
  if (detail === undefined || detail === "") return undefined;
  if (/pull/i.test(detail) && /back ?off|fail|err/i.test(detail)) return "ImagePullBackOff";
  if (/pull/i.test(detail)) return "ContainerCreating";
  if (/init/i.test(detail)) return "PodInitializing";
  if (/crash|back ?off/i.test(detail)) return "CrashLoopBackOff";
  return /^[A-Za-z]+$/.test(detail) ? detail : "ContainerCreating";
}

interface InstanceViewish {
  restartCount?: number;
  currentState?: AciContainerState;
  previousState?: AciContainerState;
  events?: AciEvent[];
}

function containerStatus(
  name: string,
  image: string | undefined,
  iv: InstanceViewish | undefined,
  groupName: string,
  fallback: string,
): ContainerStatus {
  const state = toContainerState(iv?.currentState, fallback);
  const last = iv?.previousState?.state === undefined ? undefined : toContainerState(iv.previousState);
  return {
    name,
    state,
    ...(last !== undefined ? { lastState: last } : {}),
    restartCount: iv?.restartCount ?? 0,
    containerID: `aci://${groupName}/${name}`,
    ...(image !== undefined ? { image } : {}),
  };
}

function billedOf(group: ContainerGroup): ProviderPodStatus["billed"] {
  const shape = group.tags?.[AciTags.shape];
  const m = shape === undefined ? null : /^([\d.]+)\/([\d.]+)$/.exec(shape);
  if (m === null) return undefined;
  const vcpu = Number(m[1]);
  const memoryGiB = Number(m[2]);
  return { vcpu, memoryGiB, shape: `${String(vcpu)} cores / ${String(memoryGiB)} GB` };
}

/** The latest few event messages of the group and its containers, for failure messages. */
function recentEventText(group: ContainerGroup): string {
  const events = [
    ...(group.instanceView?.events ?? []),
    ...group.containers.flatMap((c) => c.instanceView?.events ?? []),
    ...(group.initContainers ?? []).flatMap((c) => c.instanceView?.events ?? []),
  ]
    .filter((e) => e.type === "Warning" || e.name === "Failed" || e.name === "FailedMount")
    .map((e) => `${e.name ?? "Event"}: ${e.message ?? ""}`);
  return [...new Set(events)].slice(-3).join("; ");
}

/** ACI container group (with instance view when available) → `ProviderPodStatus`. */
export function toPodStatus(group: ContainerGroup, context: StatusContext): ProviderPodStatus {
  const name = group.name ?? "";
  const provisioning = group.provisioningState ?? "NotSpecified";
  const fallback = provisioning === "Failed" ? "ProvisioningFailed" : "ContainerCreating";
  const initContainers = (group.initContainers ?? []).map((c) =>
    containerStatus(c.name, c.image, c.instanceView, name, "PodInitializing"),
  );
  const initsDone = initContainers.every((c) => "terminated" in c.state && c.state.terminated.exitCode === 0);
  const containers = group.containers.map((c) =>
    containerStatus(
      c.name,
      c.image,
      c.instanceView,
      name,
      initContainers.length > 0 && !initsDone ? "PodInitializing" : fallback,
    ),
  );
  const ip = group.ipAddress?.ip;
  const starts = [...initContainers, ...containers]
    .map((c) =>
      "running" in c.state
        ? c.state.running.startedAt
        : "terminated" in c.state
          ? c.state.terminated.startedAt
          : undefined,
    )
    .filter((d): d is Date => d !== undefined && d.getTime() > 0)
    .sort((a, b) => a.getTime() - b.getTime());
  const status: ProviderPodStatus = {
    containers,
    ...(initContainers.length > 0 ? { initContainers } : {}),
    ...(ip ? { podIPs: [ip] } : {}),
    ...(starts[0] ? { startTime: starts[0] } : {}),
  };
  const billed = billedOf(group);
  if (billed) status.billed = billed;
  const events = podEventsOf(group);
  if (events.length > 0) status.events = events;
  if (name !== "") status.annotations = { [CONTAINER_GROUP_ANNOTATION]: group.id ?? name };

  const detail = recentEventText(group);
  if (context.operationError !== undefined) {
    return {
      ...status,
      phase: "Failed",
      reason: "ProviderFailed",
      message: `${context.operationError.code}: ${context.operationError.message}`,
    };
  }
  if (provisioning === "Failed") {
    const failedInit = initContainers.find(
      (c) => "terminated" in c.state && c.state.terminated.exitCode !== 0,
    );
    const message =
      failedInit !== undefined
        ? `init container ${failedInit.name} failed`
        : `ACI provisioning failed${detail ? `: ${detail}` : ""}`;
    return { ...status, phase: "Failed", reason: "ProviderFailed", message };
  }
  if (IN_PROGRESS.has(provisioning) && context.provisioningSince !== undefined) {
    const deadline = context.provisioningDeadlineMs ?? 600_000;
    if (context.now - context.provisioningSince > deadline) {
      return {
        ...status,
        phase: "Failed",
        reason: "ProvisioningDeadlineExceeded",
        message: `ACI did not finish provisioning within ${String(Math.round(deadline / 1000))} s (state ${provisioning})${detail ? `: ${detail}` : ""}`,
      };
    }
  }
  if (group.instanceView?.state === "Stopped") {
    return { ...status, phase: "Failed", reason: "Stopped", message: "the container group was stopped" };
  }
  return status;
}

/** How many of a group's most recent ACI events a status carries (ACI keeps a short list itself). */
export const MAX_POD_EVENTS = 20;

/** The pod annotation holding the container group's ARM resource ID (or its name before ARM gave one). */
export const CONTAINER_GROUP_ANNOTATION = "aci.virtual-node.io/container-group";

/**
 * The group's and its containers' ACI events as provider events, newest {@link MAX_POD_EVENTS}.
 * The id is `container/name/firstTimestamp/count`: core records each id once per pod, so an event
 * is reported once, and again when ACI's count for it grows (a repeated pull failure, a restart).
 */
export function podEventsOf(group: ContainerGroup): ProviderPodEvent[] {
  const all: { at: number; event: ProviderPodEvent }[] = [];
  const visit = (events: AciEvent[] | undefined, container?: string) => {
    for (const e of events ?? []) {
      const first = date(e.firstTimestamp);
      const last = date(e.lastTimestamp) ?? first;
      const count = e.count ?? 1;
      const name = e.name ?? "AciEvent";
      all.push({
        at: last?.getTime() ?? 0,
        event: {
          id: `${container ?? ""}/${name}/${first?.toISOString() ?? ""}/${String(count)}`,
          type: e.type === "Warning" ? "Warning" : "Normal",
          reason: /^[A-Za-z][A-Za-z0-9]*$/.test(name) ? name : "AciEvent",
          message: `${container === undefined ? "" : `container ${container}: `}${e.message ?? name}${count > 1 ? ` (x${String(count)})` : ""}`,
        },
      });
    }
  };
  visit(group.instanceView?.events);
  for (const c of group.initContainers ?? []) visit(c.instanceView?.events, c.name);
  for (const c of group.containers) visit(c.instanceView?.events, c.name);
  // Stable sort: events without timestamps keep ACI's order.
  return all
    .sort((a, b) => a.at - b.at)
    .slice(-MAX_POD_EVENTS)
    .map((x) => x.event);
}
