/**
 * Pure status mapping: one element of interLink's `/status` answer → `ProviderPodStatus`.
 *
 * interLink reports Kubernetes container statuses (waiting / running / terminated) and no pod
 * phase, so the phase is left to core's single derivation (`buildPodStatus`: container and
 * init-container states with the restart policy), which also keeps terminal phases sticky. A
 * container the site does not report yet (a queued job often has an empty `containers`) is
 * `waiting: ContainerCreating`, so a pod is never silently Pending without a reason.
 */
import type { ContainerState, ContainerStatus, ProviderPodStatus } from "@virtual-node/core";
import type { InterLinkPodStatus, WireContainerState, WireContainerStatus } from "./api-types.js";

/** The containers the pod declares, so missing ones can be reported as waiting. */
export interface DeclaredContainers {
  initContainers: readonly string[];
  containers: readonly string[];
}

function date(value: string | undefined): Date | undefined {
  if (value === undefined || value === "" || value.startsWith("0001-")) return undefined;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? undefined : new Date(ms);
}

/** A wire container state → core's; an empty state (some plugins send `{}`) is waiting. */
export function toContainerState(
  state: WireContainerState | undefined,
  jobId: string | undefined,
  seenAt: Date = new Date(0),
): ContainerState {
  if (state?.terminated !== undefined) {
    const t = state.terminated;
    const startedAt = date(t.startedAt);
    const finishedAt = date(t.finishedAt);
    return {
      terminated: {
        exitCode: t.exitCode,
        ...(t.reason === undefined || t.reason === "" ? {} : { reason: t.reason }),
        ...(t.message === undefined || t.message === "" ? {} : { message: t.message }),
        ...(t.signal === undefined || t.signal === 0 ? {} : { signal: t.signal }),
        ...(startedAt === undefined ? {} : { startedAt }),
        ...(finishedAt === undefined ? {} : { finishedAt }),
      },
    };
  }
  if (state?.running !== undefined) {
    // A site that does not say when the job started: the time the answer was seen is the best bound.
    return { running: { startedAt: date(state.running.startedAt) ?? seenAt } };
  }
  const waiting = state?.waiting;
  if (waiting !== undefined && waiting.reason !== undefined && waiting.reason !== "") {
    return { waiting: { reason: waiting.reason, ...(waiting.message ? { message: waiting.message } : {}) } };
  }
  return {
    waiting: {
      reason: "ContainerCreating",
      message: jobId === undefined || jobId === "" ? "submitted to the site" : `site job ${jobId} is queued`,
    },
  };
}

function toContainerStatus(
  wire: WireContainerStatus | undefined,
  name: string,
  jobId: string | undefined,
  seenAt: Date | undefined,
): ContainerStatus {
  const state = toContainerState(wire?.state, jobId, seenAt);
  const lastState =
    wire?.lastState !== undefined &&
    (wire.lastState.terminated !== undefined || wire.lastState.running !== undefined)
      ? toContainerState(wire.lastState, jobId, seenAt)
      : undefined;
  return {
    name,
    state,
    ...(lastState === undefined ? {} : { lastState }),
    ...(wire?.ready === undefined ? {} : { ready: wire.ready }),
    ...(wire?.started === undefined || wire.started === null ? {} : { started: wire.started }),
    ...(wire?.restartCount === undefined ? {} : { restartCount: wire.restartCount }),
    // Core expects `<runtime>://<id>`; a bare site ID gets the interlink scheme.
    ...(wire?.containerID === undefined || wire.containerID === ""
      ? {}
      : {
          containerID: wire.containerID.includes("://")
            ? wire.containerID
            : `interlink://${wire.containerID}`,
        }),
    ...(wire?.image === undefined || wire.image === "" ? {} : { image: wire.image }),
    ...(wire?.imageID === undefined || wire.imageID === "" ? {} : { imageID: wire.imageID }),
  };
}

function containers(
  wire: readonly WireContainerStatus[] | null | undefined,
  declared: readonly string[],
  jobId: string | undefined,
  seenAt: Date | undefined,
): ContainerStatus[] {
  const list = wire ?? [];
  const names = declared.length > 0 ? declared : list.map((c) => c.name);
  return names.map((name) =>
    toContainerStatus(
      list.find((c) => c.name === name),
      name,
      jobId,
      seenAt,
    ),
  );
}

/**
 * The pod annotation the provider publishes (through core's status channel) with the site's job ID:
 * after an agent restart, a create of an annotated pod looks the job up instead of submitting anew.
 */
export const SITE_JOB_ID_ANNOTATION = "interlink.virtual-node.io/job-id";

/** Context of {@link toProviderPodStatus}. */
export interface StatusContext {
  /** The containers the pod declares (missing ones are reported waiting). */
  declared?: DeclaredContainers;
  /** When the site first reported the pod running: the start time of a running state without `startedAt`. */
  seenAt?: Date;
}

/**
 * interLink `PodStatus` → `ProviderPodStatus`, in the order the pod declares its containers.
 * `phase` is left out: interLink reports no pod phase, and core derives it.
 */
export function toProviderPodStatus(
  status: InterLinkPodStatus,
  context: StatusContext = {},
): ProviderPodStatus {
  const jobId = status.JID;
  const { declared, seenAt } = context;
  const init = containers(status.initContainers, declared?.initContainers ?? [], jobId, seenAt);
  return {
    ...(init.length === 0 ? {} : { initContainers: init }),
    containers: containers(status.containers, declared?.containers ?? [], jobId, seenAt),
    ...(jobId === undefined || jobId === "" ? {} : { annotations: { [SITE_JOB_ID_ANNOTATION]: jobId } }),
  };
}

/** A fingerprint of a status answer: changes whenever anything the status depends on does. */
export function statusFingerprint(status: InterLinkPodStatus): string {
  return JSON.stringify([status.JID, status.initContainers ?? [], status.containers ?? []]);
}
