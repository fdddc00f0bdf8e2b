/**
 * Mock cloud state → provider status: the second pure translation a provider needs. The phase
 * follows the kubelet's rules (`getPhase`), so the mock reports what a real node would.
 */
import type { ContainerState, ContainerStatus, PodPhase, ProviderPodStatus } from "@virtual-node/core";
import { billedFromShape } from "@virtual-node/core/provider-kit";
import type { MockContainerState, MockGroupState, MockRestartPolicy, MockTermination } from "./types.js";

function terminatedState(t: MockTermination): ContainerState {
  return {
    terminated: {
      exitCode: t.exitCode,
      reason: t.reason,
      ...(t.signal === undefined ? {} : { signal: t.signal }),
      startedAt: new Date(t.startedAt),
      finishedAt: new Date(t.finishedAt),
    },
  };
}

function stateOf(c: MockContainerState): ContainerState {
  switch (c.state) {
    case "running":
      return { running: { startedAt: new Date(c.startedAt ?? 0) } };
    case "terminated":
      return terminatedState({
        exitCode: c.exitCode ?? 0,
        reason: c.reason ?? (c.exitCode === 0 ? "Completed" : "Error"),
        ...(c.signal === undefined ? {} : { signal: c.signal }),
        startedAt: c.startedAt ?? 0,
        finishedAt: c.finishedAt ?? 0,
      });
    case "waiting":
      return {
        waiting: {
          reason: c.reason ?? "ContainerCreating",
          ...(c.message === undefined ? {} : { message: c.message }),
        },
      };
  }
}

export function toContainerStatus(c: MockContainerState): ContainerStatus {
  const status: ContainerStatus = {
    name: c.name,
    state: stateOf(c),
    ready: c.ready,
    started: c.started,
    restartCount: c.restartCount,
    image: c.image,
  };
  if (c.state !== "waiting" || c.lastTermination !== undefined) status.containerID = c.containerId;
  if (c.lastTermination !== undefined) status.lastState = terminatedState(c.lastTermination);
  return status;
}

/**
 * The pod phase from container states, as the kubelet computes it: Pending until init containers
 * succeed and every container has started; Failed/Succeeded only when nothing will restart.
 */
export function derivePhase(
  restartPolicy: MockRestartPolicy,
  initContainers: readonly MockContainerState[],
  containers: readonly MockContainerState[],
): PodPhase {
  let initPending = false;
  for (const c of initContainers) {
    if (c.sidecar === true) continue;
    if (c.state === "terminated" && c.exitCode === 0) continue;
    if (c.state === "terminated" && restartPolicy === "Never") return "Failed";
    initPending = true;
  }
  if (initPending) return "Pending";

  let waiting = 0;
  let running = 0;
  let stopped = 0;
  let succeeded = 0;
  for (const c of containers) {
    if (c.state === "running") running++;
    else if (c.state === "terminated") {
      stopped++;
      if (c.exitCode === 0) succeeded++;
    } else if (c.lastTermination !== undefined) stopped++;
    else waiting++;
  }
  if (waiting > 0) return "Pending";
  if (running > 0) return "Running";
  if (stopped > 0) {
    if (restartPolicy === "Always") return "Running";
    if (stopped === succeeded) return "Succeeded";
    if (restartPolicy === "Never") return "Failed";
    return "Running";
  }
  return "Pending";
}

export function toProviderPodStatus(state: MockGroupState): ProviderPodStatus {
  return {
    phase: derivePhase(state.restartPolicy, state.initContainers, state.containers),
    podIPs: [state.podIP],
    hostIP: state.hostIP,
    startTime: new Date(state.createdAt),
    initContainers: state.initContainers.map(toContainerStatus),
    containers: state.containers.map(toContainerStatus),
    // What the cloud bills: core writes it to the pod annotation and the billed counters.
    ...(state.shape === undefined ? {} : { billed: billedFromShape(state.shape) }),
  };
}
