/**
 * Mock cloud state → provider status: the second pure translation a provider needs.
 *
 * No `phase`: the mock cloud states no pod outcome of its own (its `Terminated` stage only says that
 * nothing will run again, as ECS's `STOPPED` does), so the phase is core's to derive from the
 * container states with the kubelet's rules (`buildPodStatus`), the one place that derivation lives.
 */
import type { ContainerState, ContainerStatus, ProviderPodStatus } from "@virtual-node/core";
import { billedFromShape } from "@virtual-node/core/provider-kit";
import type { MockContainerState, MockGroupState, MockTermination } from "./types.js";

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

/** One mock container's state as the provider reports it (a `containerID` once it has run). */
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

/** A mock group's state as the provider reports it: containers, IPs, start time and billed shape. */
export function toProviderPodStatus(state: MockGroupState): ProviderPodStatus {
  return {
    podIPs: [state.podIP],
    hostIP: state.hostIP,
    startTime: new Date(state.createdAt),
    initContainers: state.initContainers.map(toContainerStatus),
    containers: state.containers.map(toContainerStatus),
    // What the cloud bills: core writes it to the pod annotation and the billed counters.
    ...(state.shape === undefined ? {} : { billed: billedFromShape(state.shape) }),
  };
}
