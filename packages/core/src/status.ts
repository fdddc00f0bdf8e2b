/**
 * Provider status → Kubernetes `PodStatus`, written the way the kubelet writes it.
 *
 * Every function here is pure: no I/O and no clock (callers pass `now`). Core composes them as
 * `mergePodStatus(pod.status, buildPodStatus(pod, providerStatus, ctx), { spec: pod.spec, now })` and writes
 * `pods/status` only when `podStatusEqual(pod.status, merged)` is false.
 *
 * Kubelet behaviour mirrored (pkg/kubelet/kubelet_pods.go, pkg/kubelet/status/):
 * - phase: `getPhase` for a non-terminal pod (init containers, sidecars, restart policy);
 * - containers the runtime does not report: waiting `ContainerCreating`, or `PodInitializing` for every
 *   container of a pod that has init containers; a previously terminated status is kept as is; a
 *   previously running container that vanished gets `lastState.terminated` exit 137 `ContainerStatusUnknown`;
 * - conditions: `PodReadyToStartContainers`, `Initialized`, `Ready`, `ContainersReady`, `PodScheduled`, with
 *   the kubelet's reasons and messages; conditions the kubelet does not own (readiness gates, `DisruptionTarget`)
 *   are kept from the existing status; `lastTransitionTime` changes only when the condition status changes;
 * - `startTime` is set when the pod is first acknowledged and never changes afterwards;
 * - terminal phases are sticky and a terminated container never comes back under `Never` (status_manager).
 */

import { isIP } from "node:net";
import type {
  Container,
  KubeContainerState,
  KubeContainerStatus,
  Pod,
  PodCondition,
  PodSpec,
  PodStatus,
} from "./kube/types.js";
import {
  addExactQuantities,
  compareExactQuantities,
  parseExactQuantity,
  type ExactQuantity,
} from "./kube/quantity.js";
import type { ContainerState, ContainerStatus, PodPhase, ProviderPodStatus } from "./provider.js";

/** What {@link buildPodStatus} needs besides the pod and the provider status. */
export interface BuildPodStatusContext {
  /** The current time: used for new transition times and a first `startTime`. */
  now: Date;
  /** The node's IP: the pod's `hostIP` (the provider's is used only without it). */
  hostIP?: string;
  /** Runtime name for generated container IDs: `<runtime>://<pod uid>-<container name>`. */
  runtime: string;
  /**
   * Set when the provider cannot run ephemeral containers (`kubectl debug`): their statuses wait with
   * reason `EphemeralContainersNotSupported` and this message, instead of being left out silently.
   */
  ephemeralContainersUnsupported?: string;
}

export interface MergePodStatusOptions {
  /**
   * The pod spec. With it, container transitions follow the kubelet's `checkContainerStateTransition`
   * (restart policy, sidecars). Without it a terminated container may only leave `terminated` with evidence
   * of a restart (a higher `restartCount` or a `lastState.terminated`).
   */
  spec?: PodSpec;
  /** Transition time for conditions the merge itself flips. Default: the newest transition time in `next`. */
  now?: Date;
}

export type QOSClass = "Guaranteed" | "Burstable" | "BestEffort";

const ContainerCreating = "ContainerCreating";
const EphemeralContainersNotSupported = "EphemeralContainersNotSupported";
const PodInitializing = "PodInitializing";
const ContainerStatusUnknown = "ContainerStatusUnknown";

const PodScheduled = "PodScheduled";
const PodReadyToStartContainers = "PodReadyToStartContainers";
const Initialized = "Initialized";
const Ready = "Ready";
const ContainersReady = "ContainersReady";

const PodCompleted = "PodCompleted";
const PodFailedReason = "PodFailed";
const ContainersNotReady = "ContainersNotReady";
const ContainersNotInitialized = "ContainersNotInitialized";
const ReadinessGatesNotReady = "ReadinessGatesNotReady";

/** Condition types the kubelet owns (and therefore core owns); every other condition is kept untouched. */
const KUBELET_CONDITIONS = new Set([
  PodScheduled,
  PodReadyToStartContainers,
  Initialized,
  Ready,
  ContainersReady,
  "PodResizePending",
  "PodResizeInProgress",
]);

/** Status fields core computes; the others (`nominatedNodeName`, `resize`, ...) are carried over by the merge. */
const OWNED_FIELDS = new Set<string>([
  "phase",
  "reason",
  "message",
  "conditions",
  "hostIP",
  "hostIPs",
  "podIP",
  "podIPs",
  "startTime",
  "containerStatuses",
  "initContainerStatuses",
  "qosClass",
]);

/** `Succeeded` and `Failed`: the pod will never run again. */
export function isTerminalPhase(phase: string | undefined): phase is "Succeeded" | "Failed" {
  return phase === "Succeeded" || phase === "Failed";
}

// ---------------------------------------------------------------------------------------------------------
// buildPodStatus

/**
 * The pod status the kubelet would write for `pod` given what the provider reports (`undefined`: the
 * provider has no such pod yet). `pod.status` is read for transition times, `startTime`, the QoS class,
 * readiness-gate conditions and the previous container statuses. Feed the result through
 * {@link mergePodStatus} before writing it.
 */
export function buildPodStatus(
  pod: Pod,
  provider: ProviderPodStatus | undefined,
  ctx: BuildPodStatusContext,
): PodStatus {
  const spec = specOf(pod);
  const existing: PodStatus = pod.status ?? {};
  const initSpecs = spec.initContainers ?? [];
  const reportedRegular = (provider?.containers ?? []).filter((s) =>
    spec.containers.some((c) => c.name === s.name),
  );
  const shared: ConversionContext = {
    podUID: pod.metadata?.uid ?? "",
    runtime: ctx.runtime,
    deleting: pod.metadata?.deletionTimestamp != null,
    defaultWaiting: initSpecs.length > 0 ? PodInitializing : ContainerCreating,
    anyRegularCreated: reportedRegular.some(providerContainerHasRun),
  };

  const initContainerStatuses = initSpecs.map((c) =>
    toApiContainerStatus(
      c,
      isSidecar(c) ? "sidecar" : "init",
      findByName(provider?.initContainers, c.name),
      findByName(existing.initContainerStatuses, c.name),
      shared,
    ),
  );
  const containerStatuses = spec.containers.map((c) =>
    toApiContainerStatus(
      c,
      "regular",
      findByName(provider?.containers, c.name),
      findByName(existing.containerStatuses, c.name),
      shared,
    ),
  );

  const ephemeralContainerStatuses = (spec.ephemeralContainers ?? []).map((c) => {
    const reported = findByName(provider?.ephemeralContainers, c.name);
    const previous = findByName(existing.ephemeralContainerStatuses, c.name);
    if (reported === undefined && ctx.ephemeralContainersUnsupported !== undefined) {
      return compact<KubeContainerStatus>({
        name: c.name,
        state: {
          waiting: { reason: EphemeralContainersNotSupported, message: ctx.ephemeralContainersUnsupported },
        },
        lastState: {},
        ready: false,
        restartCount: 0,
        image: c.image ?? "",
        imageID: "",
      });
    }
    return toApiContainerStatus(c, "regular", reported, previous, {
      ...shared,
      defaultWaiting: ContainerCreating,
    });
  });

  const phase = provider?.phase ?? derivePhase(spec, initContainerStatuses, containerStatuses);
  const readyToStart =
    provider !== undefined &&
    !isTerminalPhase(phase) &&
    ((provider.podIPs?.length ?? 0) > 0 ||
      [...(provider.initContainers ?? []), ...provider.containers].some(providerContainerHasRun));

  // One host IP for a pod: the node's, which is also what a `status.hostIP` env var resolves to.
  // The provider's is used only when core has none.
  const hostIP = ctx.hostIP ?? provider?.hostIP ?? existing.hostIP;
  let podIPs = sortPodIPs(provider?.podIPs ?? [], hostIP);
  if (podIPs.length === 0 && spec.hostNetwork === true && hostIP !== undefined) podIPs = [hostIP];
  if (podIPs.length === 0) podIPs = existingPodIPs(existing);

  const samePhase = phase === existing.phase;
  return compact<PodStatus>({
    phase,
    conditions: podConditions(
      spec,
      phase,
      initContainerStatuses,
      containerStatuses,
      existing.conditions,
      readyToStart,
      ctx.now,
    ),
    hostIP,
    hostIPs: hostIP === undefined ? undefined : [{ ip: hostIP }],
    podIP: podIPs[0],
    podIPs: podIPs.length === 0 ? undefined : podIPs.map((ip) => ({ ip })),
    startTime: toDate(existing.startTime) ?? provider?.startTime ?? ctx.now,
    initContainerStatuses: initSpecs.length === 0 ? undefined : initContainerStatuses,
    containerStatuses,
    ephemeralContainerStatuses:
      ephemeralContainerStatuses.length === 0 ? undefined : ephemeralContainerStatuses,
    qosClass: existing.qosClass ?? computeQOSClass(pod),
    // Like the kubelet: the reason/message of an unchanged phase survive until something replaces them.
    reason: provider?.reason ?? (samePhase ? existing.reason : undefined),
    message: provider?.message ?? (samePhase ? existing.message : undefined),
  });
}

type ContainerKind = "regular" | "init" | "sidecar";

interface ConversionContext {
  podUID: string;
  runtime: string;
  deleting: boolean;
  defaultWaiting: string;
  /** Some regular container has been created: init containers the provider no longer reports have finished. */
  anyRegularCreated: boolean;
}

function toApiContainerStatus(
  container: Container,
  kind: ContainerKind,
  reported: ContainerStatus | undefined,
  previous: KubeContainerStatus | undefined,
  ctx: ConversionContext,
): KubeContainerStatus {
  if (reported === undefined) return unreportedContainerStatus(container, kind, previous, ctx);

  const state = toApiState(reported.state);
  let lastState: KubeContainerState;
  let restartCount = reported.restartCount ?? previous?.restartCount ?? 0;
  if (reported.lastState !== undefined) {
    lastState = toApiState(reported.lastState);
  } else if (previous?.state?.terminated !== undefined && state.terminated === undefined) {
    // The provider restarted a container without telling us about the previous run: that run is the one we saw.
    lastState = reviveState(previous.state);
    if (reported.restartCount === undefined) restartCount = previous.restartCount + 1;
  } else {
    lastState = reviveState(previous?.lastState);
  }

  const hasRun = state.waiting === undefined || lastState.terminated !== undefined;
  const containerID =
    reported.containerID ?? (hasRun ? `${ctx.runtime}://${ctx.podUID}-${container.name}` : undefined);
  if (state.terminated !== undefined && containerID !== undefined) state.terminated.containerID = containerID;

  const running = state.running !== undefined;
  const started = running && (reported.started ?? true);
  const ready =
    kind === "init" ? state.terminated?.exitCode === 0 : running && started && (reported.ready ?? true);

  return compact<KubeContainerStatus>({
    name: container.name,
    state,
    lastState,
    ready,
    started,
    restartCount,
    image: reported.image ?? container.image ?? "",
    imageID: reported.imageID ?? "",
    containerID,
  });
}

function unreportedContainerStatus(
  container: Container,
  kind: ContainerKind,
  previous: KubeContainerStatus | undefined,
  ctx: ConversionContext,
): KubeContainerStatus {
  if (previous?.state?.terminated !== undefined) return reviveContainerStatus(previous);
  const status: KubeContainerStatus = {
    name: container.name,
    state: { waiting: { reason: ctx.defaultWaiting } },
    lastState: reviveState(previous?.lastState),
    ready: false,
    started: false,
    restartCount: previous?.restartCount ?? 0,
    image: container.image ?? "",
    imageID: "",
  };
  if (kind === "init" && ctx.anyRegularCreated) {
    // The pod got past its init containers, so a regular init container the provider dropped has finished.
    status.state = {
      terminated: {
        exitCode: 0,
        reason: "Completed",
        message: "init container not reported by the provider after the pod initialized; assumed completed",
      },
    };
    status.ready = true;
    return status;
  }
  if (previous?.state?.running !== undefined && status.lastState?.terminated === undefined) {
    // kubelet: a container that used to run and vanished is recorded as terminated, so the pod does not
    // fall back to Pending and "never ran" stays distinguishable from "ran and was lost".
    status.lastState = {
      terminated: {
        exitCode: 137,
        reason: ContainerStatusUnknown,
        message:
          "The container could not be located when the pod was deleted.  The container used to be Running",
      },
    };
    if (!ctx.deleting) status.restartCount += 1;
  }
  return status;
}

function toApiState(state: ContainerState): KubeContainerState {
  if ("waiting" in state)
    return { waiting: compact({ reason: state.waiting.reason, message: state.waiting.message }) };
  if ("running" in state) return { running: { startedAt: state.running.startedAt } };
  const t = state.terminated;
  return {
    terminated: compact({
      exitCode: t.exitCode,
      // CRI runtimes report Completed/Error when nothing more specific (OOMKilled, ...) is known.
      reason: t.reason ?? (t.exitCode === 0 ? "Completed" : "Error"),
      message: t.message,
      signal: t.signal,
      startedAt: t.startedAt,
      finishedAt: t.finishedAt,
    }),
  };
}

function providerContainerHasRun(s: ContainerStatus): boolean {
  return !("waiting" in s.state) || s.lastState !== undefined;
}

function isSidecar(c: Container): boolean {
  return c.restartPolicy === "Always";
}

// ---------------------------------------------------------------------------------------------------------
// Phase (kubelet getPhase, for a pod that is not being terminated)

function derivePhase(
  spec: PodSpec,
  initStatuses: readonly KubeContainerStatus[],
  statuses: readonly KubeContainerStatus[],
): PodPhase {
  const restartPolicy = spec.restartPolicy ?? "Always";
  let pendingInit = 0;
  let pendingSidecars = 0;
  let failedInit = 0;
  let running = 0;
  let waiting = 0;
  let stopped = 0;
  let succeeded = 0;

  for (const c of spec.initContainers ?? []) {
    const s = findByName(initStatuses, c.name);
    if (isSidecar(c)) {
      if (s?.state?.running !== undefined) {
        if (s.started !== true) pendingSidecars++;
        running++;
      } else if (s?.state?.terminated === undefined && !hasTerminatedBefore(s)) {
        pendingSidecars++;
        waiting++;
      }
      continue;
    }
    const terminated = s?.state?.terminated;
    if (terminated !== undefined) {
      if (terminated.exitCode !== 0) failedInit++;
    } else if (s?.state?.waiting !== undefined && s.lastState?.terminated !== undefined) {
      if (s.lastState.terminated.exitCode !== 0) failedInit++;
    } else {
      pendingInit++;
    }
  }

  for (const c of spec.containers) {
    const s = findByName(statuses, c.name);
    if (s?.state?.running !== undefined) {
      running++;
    } else if (s?.state?.terminated !== undefined) {
      stopped++;
      if (s.state.terminated.exitCode === 0) succeeded++;
    } else if (hasTerminatedBefore(s)) {
      stopped++;
    } else {
      waiting++;
    }
  }

  if (failedInit > 0 && restartPolicy === "Never") return "Failed";
  const podHasInitialized = spec.containers.some((c) => {
    const s = findByName(statuses, c.name);
    return s !== undefined && (s.state?.waiting === undefined || hasTerminatedBefore(s));
  });
  if (pendingInit > 0 || (pendingSidecars > 0 && !podHasInitialized) || waiting > 0) return "Pending";
  if (running > 0) return "Running";
  if (stopped > 0) {
    if (restartPolicy === "Always") return "Running"; // every container is on its way back up
    if (stopped === succeeded) return "Succeeded";
    if (restartPolicy === "Never") return "Failed";
    return "Running"; // OnFailure: the failed ones restart
  }
  return "Pending";
}

/**
 * A waiting container that ran before (kubelet: `lastTerminationState.terminated` is set). A provider that
 * reports `restartCount > 0` without a `lastState` is taken at its word too.
 */
function hasTerminatedBefore(s: KubeContainerStatus | undefined): boolean {
  return s !== undefined && (s.lastState?.terminated !== undefined || s.restartCount > 0);
}

// ---------------------------------------------------------------------------------------------------------
// Conditions (kubelet pkg/kubelet/status/generate.go)

function podConditions(
  spec: PodSpec,
  phase: string,
  initStatuses: readonly KubeContainerStatus[],
  statuses: readonly KubeContainerStatus[],
  existing: readonly PodCondition[] | undefined,
  readyToStart: boolean,
  now: Date,
): PodCondition[] {
  const previous = existing ?? [];
  const others = previous.filter((c) => !KUBELET_CONDITIONS.has(c.type)).map(reviveCondition);
  const containersReady = containersReadyCondition(spec, phase, initStatuses, statuses);
  const owned: PodCondition[] = [
    { type: PodReadyToStartContainers, status: readyToStart ? "True" : "False" },
    initializedCondition(spec, phase, initStatuses, statuses),
    readyCondition(spec, containersReady, others),
    containersReady,
    { type: PodScheduled, status: "True" },
  ];
  return [...others, ...owned.map((c) => withTransitionTime(c, previous, now))];
}

function containersReadyCondition(
  spec: PodSpec,
  phase: string,
  initStatuses: readonly KubeContainerStatus[],
  statuses: readonly KubeContainerStatus[],
): PodCondition {
  if (phase === "Succeeded") return { type: ContainersReady, status: "False", reason: PodCompleted };
  if (phase === "Failed") return { type: ContainersReady, status: "False", reason: PodFailedReason };
  const unready = [
    ...(spec.initContainers ?? [])
      .filter(isSidecar)
      .filter((c) => findByName(initStatuses, c.name)?.ready !== true),
    ...spec.containers.filter((c) => findByName(statuses, c.name)?.ready !== true),
  ].map((c) => c.name);
  if (unready.length > 0) {
    return {
      type: ContainersReady,
      status: "False",
      reason: ContainersNotReady,
      message: `containers with unready status: ${goList(unready)}`,
    };
  }
  return { type: ContainersReady, status: "True" };
}

function readyCondition(
  spec: PodSpec,
  containersReady: PodCondition,
  others: readonly PodCondition[],
): PodCondition {
  if (containersReady.status !== "True") return compact({ ...containersReady, type: Ready });
  const problems: string[] = [];
  for (const gate of spec.readinessGates ?? []) {
    const condition = others.find((c) => c.type === gate.conditionType);
    if (condition === undefined) {
      problems.push(`corresponding condition of pod readiness gate "${gate.conditionType}" does not exist.`);
    } else if (condition.status !== "True") {
      problems.push(
        `the status of pod readiness gate "${gate.conditionType}" is not "True", but ${condition.status}`,
      );
    }
  }
  if (problems.length > 0) {
    return { type: Ready, status: "False", reason: ReadinessGatesNotReady, message: problems.join(", ") };
  }
  return { type: Ready, status: "True" };
}

function initializedCondition(
  spec: PodSpec,
  phase: string,
  initStatuses: readonly KubeContainerStatus[],
  statuses: readonly KubeContainerStatus[],
): PodCondition {
  if (phase === "Succeeded") return { type: Initialized, status: "True", reason: PodCompleted };
  // A regular container that started means the pod initialized (sidecars may be restarting since).
  if (statuses.some((s) => s.state?.running !== undefined || s.state?.terminated !== undefined)) {
    return { type: Initialized, status: "True" };
  }
  const incomplete = (spec.initContainers ?? [])
    .filter((c) => {
      const s = findByName(initStatuses, c.name);
      return isSidecar(c) ? s?.started !== true : s?.ready !== true;
    })
    .map((c) => c.name);
  if (incomplete.length > 0) {
    return {
      type: Initialized,
      status: "False",
      reason: ContainersNotInitialized,
      message: `containers with incomplete status: ${goList(incomplete)}`,
    };
  }
  return { type: Initialized, status: "True" };
}

function withTransitionTime(
  condition: PodCondition,
  previous: readonly PodCondition[],
  now: Date,
): PodCondition {
  const old = previous.find((c) => c.type === condition.type);
  const kept =
    old !== undefined && old.status === condition.status ? toDate(old.lastTransitionTime) : undefined;
  return { ...condition, lastTransitionTime: kept ?? now };
}

/** Go's `%s` of a `[]string`, as in the kubelet's messages: `[a b]`. */
function goList(names: readonly string[]): string {
  return `[${names.join(" ")}]`;
}

// ---------------------------------------------------------------------------------------------------------
// mergePodStatus

/**
 * Combines the status in the API (`existing`) with a freshly built one (`next`), enforcing what users rely on:
 * - a terminal phase (Succeeded/Failed) never changes again; its reason, message, kubelet conditions and
 *   terminated container states are kept (kubelet: "pods are not allowed to transition out of terminal phases");
 * - Running never regresses to Pending;
 * - a terminated container does not return to running/waiting when it cannot have been restarted
 *   (kubelet `checkContainerStateTransition`: restartPolicy Never, or OnFailure after exit 0); the old
 *   terminated status is kept;
 * - `startTime` and `qosClass` never change once set;
 * - conditions the kubelet does not own (readiness gates, DisruptionTarget, ...) and status fields core does
 *   not compute (`nominatedNodeName`, `resize`, ...) are kept from `existing`;
 * - in a terminal phase `Ready`/`ContainersReady` are False (kubelet: no "terminal but ready" status).
 */
export function mergePodStatus(
  existing: PodStatus | undefined,
  next: PodStatus,
  options: MergePodStatusOptions = {},
): PodStatus {
  if (existing === undefined) return next;
  const carried = Object.fromEntries(
    Object.entries(existing).filter(([key, value]) => !OWNED_FIELDS.has(key) && value != null),
  ) as PodStatus;
  const out: PodStatus = { ...carried, ...compact(next) };

  const stickyTerminal = isTerminalPhase(existing.phase) && next.phase !== existing.phase;
  const specInit = new Map((options.spec?.initContainers ?? []).map((c) => [c.name, c] as const));
  const podPolicy = options.spec === undefined ? undefined : (options.spec.restartPolicy ?? "Always");

  const regular = mergeContainerStatuses(
    existing.containerStatuses,
    next.containerStatuses,
    stickyTerminal,
    () => podPolicy,
  );
  const init = mergeContainerStatuses(
    existing.initContainerStatuses,
    next.initContainerStatuses,
    stickyTerminal,
    (name) => {
      const c = specInit.get(name);
      return c !== undefined && isSidecar(c) ? "Always" : podPolicy;
    },
  );
  out.containerStatuses = regular.statuses;
  out.initContainerStatuses = init.statuses;

  if (stickyTerminal) {
    out.phase = existing.phase;
    out.reason = existing.reason;
    out.message = existing.message;
  } else if (existing.phase === "Running" && next.phase === "Pending") {
    out.phase = "Running";
  }

  out.startTime = toDate(existing.startTime) ?? next.startTime;
  out.qosClass = existing.qosClass ?? next.qosClass;
  out.conditions = mergeConditions(existing.conditions ?? [], next.conditions ?? [], stickyTerminal);

  const fallbackNow = options.now ?? newestTransition(next.conditions) ?? toDate(next.startTime);
  if (isTerminalPhase(out.phase)) {
    const reason = out.phase === "Succeeded" ? PodCompleted : PodFailedReason;
    out.conditions = forceNotReady(out.conditions, existing.conditions, reason, undefined, fallbackNow);
  } else if (regular.restored || init.restored) {
    const unready = [
      ...(out.initContainerStatuses ?? []).filter((s) => {
        const c = specInit.get(s.name);
        return c !== undefined && isSidecar(c) && !s.ready;
      }),
      ...(out.containerStatuses ?? []).filter((s) => !s.ready),
    ].map((s) => s.name);
    if (unready.length > 0) {
      const message = `containers with unready status: ${goList(unready)}`;
      out.conditions = forceNotReady(
        out.conditions,
        existing.conditions,
        ContainersNotReady,
        message,
        fallbackNow,
      );
    }
  }
  return compact(out);
}

function mergeContainerStatuses(
  previous: readonly KubeContainerStatus[] | undefined,
  next: readonly KubeContainerStatus[] | undefined,
  keepAllTerminated: boolean,
  policyOf: (name: string) => string | undefined,
): { statuses: KubeContainerStatus[] | undefined; restored: boolean } {
  if (next === undefined) {
    return {
      statuses: keepAllTerminated ? previous?.map(reviveContainerStatus) : undefined,
      restored: false,
    };
  }
  let restored = false;
  const statuses = next.map((status) => {
    const old = findByName(previous, status.name);
    const oldTerminated = old?.state?.terminated;
    if (old === undefined || oldTerminated === undefined || status.state?.terminated !== undefined)
      return status;
    if (
      keepAllTerminated ||
      !canLeaveTerminated(old, oldTerminated.exitCode, status, policyOf(status.name))
    ) {
      restored = true;
      return reviveContainerStatus(old);
    }
    return status;
  });
  return { statuses, restored };
}

/** kubelet `checkContainerStateTransition`, plus a restart-evidence rule when the restart policy is unknown. */
function canLeaveTerminated(
  old: KubeContainerStatus,
  exitCode: number,
  next: KubeContainerStatus,
  restartPolicy: string | undefined,
): boolean {
  switch (restartPolicy) {
    case "Always":
      return true;
    case "OnFailure":
      return exitCode !== 0;
    case "Never":
      return false;
    default:
      return next.restartCount > old.restartCount || next.lastState?.terminated !== undefined;
  }
}

function mergeConditions(
  existing: readonly PodCondition[],
  next: readonly PodCondition[],
  preferExistingOwned: boolean,
): PodCondition[] {
  const others = existing.filter((c) => !KUBELET_CONDITIONS.has(c.type)).map(reviveCondition);
  const extra = next.filter((c) => !KUBELET_CONDITIONS.has(c.type) && !others.some((o) => o.type === c.type));
  let owned = next.filter((c) => KUBELET_CONDITIONS.has(c.type));
  if (preferExistingOwned) {
    owned = owned.map((c) => {
      const old = existing.find((o) => o.type === c.type);
      return old === undefined ? c : reviveCondition(old);
    });
  }
  return [...others, ...extra, ...owned];
}

/** Sets Ready and ContainersReady to False where they are True. */
function forceNotReady(
  conditions: PodCondition[],
  existing: readonly PodCondition[] | undefined,
  reason: string,
  message: string | undefined,
  now: Date | undefined,
): PodCondition[] {
  return conditions.map((c) => {
    if ((c.type !== Ready && c.type !== ContainersReady) || c.status !== "True") return c;
    const old = existing?.find((o) => o.type === c.type);
    const kept = old?.status === "False" ? toDate(old.lastTransitionTime) : undefined;
    return compact<PodCondition>({
      type: c.type,
      status: "False",
      reason,
      message,
      lastTransitionTime: kept ?? now,
    });
  });
}

function newestTransition(conditions: readonly PodCondition[] | undefined): Date | undefined {
  let newest: Date | undefined;
  for (const c of conditions ?? []) {
    const t = toDate(c.lastTransitionTime);
    if (t !== undefined && (newest === undefined || t > newest)) newest = t;
  }
  return newest;
}

// ---------------------------------------------------------------------------------------------------------
// Helpers for pods that never reach the provider or are gone from it

/**
 * The status of a pod core fails on purpose: refused before it reached the provider (unsupported fields, a
 * permanent provider error) or lost by the provider. Mirrors the kubelet:
 * - a pod none of whose containers ever ran gets what `rejectPod` writes: phase Failed, `reason`, `message`,
 *   the QoS class and a start time, and no container statuses (the kubelet writes none for a rejected pod);
 * - a pod that ran is terminated like {@link terminatedPodStatus} (containers not yet terminated become
 *   exit 137 `ContainerStatusUnknown`), with phase Failed and the given reason and message.
 * Conditions: PodScheduled True and Ready/ContainersReady False with reason `PodFailed`, as for any Failed pod.
 * The kubelet prefixes admission rejections with `Pod was rejected: `; `message` is written as given, because
 * core also uses this for pods the provider lost.
 */
export function failedPodStatus(pod: Pod, reason: string, message: string, now: Date): PodStatus {
  const existing: PodStatus = pod.status ?? {};
  const ran = [...(existing.initContainerStatuses ?? []), ...(existing.containerStatuses ?? [])].some(
    (s) =>
      s.state?.running !== undefined ||
      s.state?.terminated !== undefined ||
      s.lastState?.terminated !== undefined,
  );
  if (ran) {
    return { ...terminatedPodStatus(pod, { ...existing, phase: "Failed" }, now), reason, message };
  }
  const previous = existing.conditions ?? [];
  const owned: PodCondition[] = [
    { type: Ready, status: "False", reason: PodFailedReason },
    { type: ContainersReady, status: "False", reason: PodFailedReason },
    { type: PodScheduled, status: "True" },
  ];
  return compact<PodStatus>({
    phase: "Failed",
    reason,
    message,
    conditions: [
      ...previous.filter((c) => !KUBELET_CONDITIONS.has(c.type)).map(reviveCondition),
      ...owned.map((c) => withTransitionTime(c, previous, now)),
    ],
    startTime: toDate(existing.startTime) ?? now,
    qosClass: existing.qosClass ?? computeQOSClass(pod),
  });
}

/**
 * A Pending pod whose containers cannot be created yet, e.g. `CreateContainerConfigError` for a missing
 * ConfigMap or Secret: the affected containers are `waiting: { reason, message }`, the others keep the
 * default waiting reason. The kubelet sets no pod-level reason for this, so neither does this function.
 *
 * `containerNames` defaults to the first init container when the pod has init containers (they start one at
 * a time, so the first one is the one that fails), else to every regular container.
 */
export function pendingWithContainerWaiting(
  pod: Pod,
  reason: string,
  message: string,
  now: Date,
  containerNames?: readonly string[],
): PodStatus {
  const spec = specOf(pod);
  const existing: PodStatus = pod.status ?? {};
  const initSpecs = spec.initContainers ?? [];
  const firstInit = initSpecs[0];
  const affected = new Set(
    containerNames ?? (firstInit === undefined ? spec.containers.map((c) => c.name) : [firstInit.name]),
  );
  const defaultWaiting = initSpecs.length > 0 ? PodInitializing : ContainerCreating;
  const waitingStatus = (c: Container, previous: KubeContainerStatus | undefined): KubeContainerStatus => {
    if (previous?.state?.terminated !== undefined && !affected.has(c.name))
      return reviveContainerStatus(previous);
    return {
      name: c.name,
      state: { waiting: affected.has(c.name) ? compact({ reason, message }) : { reason: defaultWaiting } },
      lastState: reviveState(previous?.lastState),
      ready: false,
      started: false,
      restartCount: previous?.restartCount ?? 0,
      image: c.image ?? "",
      imageID: "",
    };
  };
  const initContainerStatuses = initSpecs.map((c) =>
    waitingStatus(c, findByName(existing.initContainerStatuses, c.name)),
  );
  const containerStatuses = spec.containers.map((c) =>
    waitingStatus(c, findByName(existing.containerStatuses, c.name)),
  );
  const podIPs = existingPodIPs(existing);
  return compact<PodStatus>({
    phase: "Pending",
    conditions: podConditions(
      spec,
      "Pending",
      initContainerStatuses,
      containerStatuses,
      existing.conditions,
      false,
      now,
    ),
    hostIP: existing.hostIP,
    hostIPs: existing.hostIP === undefined ? undefined : [{ ip: existing.hostIP }],
    podIP: podIPs[0],
    podIPs: podIPs.length === 0 ? undefined : podIPs.map((ip) => ({ ip })),
    startTime: toDate(existing.startTime) ?? now,
    initContainerStatuses: initSpecs.length === 0 ? undefined : initContainerStatuses,
    containerStatuses,
    qosClass: existing.qosClass ?? computeQOSClass(pod),
  });
}

/**
 * The final status of a pod the provider confirmed deleted, mirroring the kubelet's `TerminatePod`:
 * - container states already terminated are kept — so when the provider reported final states, build them
 *   with {@link buildPodStatus} first and pass that as `existing`;
 * - every other container is recorded as `terminated { exitCode: 137, reason: "ContainerStatusUnknown" }`:
 *   we cannot know whether it stopped cleanly, and the kubelet never reports an unseen exit as a success.
 *   Regular containers of a pod that never initialized stay waiting, and so do the init containers after
 *   the first that never started (kubelet `hasPodInitialized`/`initializedContainers`);
 * - the phase becomes terminal: an existing terminal phase is kept, else Succeeded when every regular
 *   container terminated with exit code 0 (kubelet `getPhase` with `podIsTerminal`), else Failed;
 * - Ready/ContainersReady are False (`PodCompleted`/`PodFailed`) and PodReadyToStartContainers False.
 */
export function terminatedPodStatus(pod: Pod, existing: PodStatus | undefined, now: Date): PodStatus {
  const spec = specOf(pod);
  const base: PodStatus = existing ?? pod.status ?? {};
  const initSpecs = spec.initContainers ?? [];
  const defaultWaiting = initSpecs.length > 0 ? PodInitializing : ContainerCreating;
  const withDefaults = (specs: readonly Container[], statuses: readonly KubeContainerStatus[] | undefined) =>
    specs.map((c): KubeContainerStatus => {
      const previous = findByName(statuses, c.name);
      if (previous !== undefined) return reviveContainerStatus(previous);
      return {
        name: c.name,
        state: { waiting: { reason: defaultWaiting } },
        lastState: {},
        ready: false,
        started: false,
        restartCount: 0,
        image: c.image ?? "",
        imageID: "",
      };
    });
  const terminate = (s: KubeContainerStatus): KubeContainerStatus => {
    if (s.state?.terminated !== undefined) return s;
    return {
      ...s,
      ready: false,
      started: false,
      state: {
        terminated: compact({
          exitCode: 137,
          reason: ContainerStatusUnknown,
          message: "The container could not be located when the pod was terminated",
          startedAt: s.state?.running?.startedAt,
          finishedAt: s.state?.running === undefined ? undefined : now,
        }),
      },
    };
  };

  let containerStatuses = withDefaults(spec.containers, base.containerStatuses);
  if (hasPodInitialized(spec, base)) containerStatuses = containerStatuses.map(terminate);
  let initContainerStatuses = withDefaults(initSpecs, base.initContainerStatuses);
  const attempted = initializedPrefixLength(initContainerStatuses);
  initContainerStatuses = initContainerStatuses.map((s, i) => (i < attempted ? terminate(s) : s));

  let phase: PodPhase;
  if (isTerminalPhase(base.phase)) phase = base.phase;
  else if (containerStatuses.every((s) => s.state?.terminated?.exitCode === 0)) phase = "Succeeded";
  else phase = "Failed";

  return compact<PodStatus>({
    ...base,
    phase,
    conditions: podConditions(
      spec,
      phase,
      initContainerStatuses,
      containerStatuses,
      base.conditions,
      false,
      now,
    ),
    startTime: toDate(base.startTime) ?? now,
    initContainerStatuses: initSpecs.length === 0 ? undefined : initContainerStatuses,
    containerStatuses,
    qosClass: base.qosClass ?? computeQOSClass(pod),
  });
}

/** kubelet `hasPodInitialized`: no init containers, a regular container left waiting, or the last init container succeeded. */
function hasPodInitialized(spec: PodSpec, status: PodStatus): boolean {
  if ((spec.initContainers ?? []).length === 0) return true;
  if (
    (status.containerStatuses ?? []).some(
      (s) => s.lastState?.terminated !== undefined || s.state?.waiting === undefined,
    )
  ) {
    return true;
  }
  const last = status.initContainerStatuses?.at(-1);
  return last?.lastState?.terminated?.exitCode === 0 || last?.state?.terminated?.exitCode === 0;
}

/** kubelet `initializedContainers`: all but the trailing never-started init containers, and at least the first. */
function initializedPrefixLength(statuses: readonly KubeContainerStatus[]): number {
  for (let i = statuses.length - 1; i >= 0; i--) {
    const s = statuses[i];
    if (s !== undefined && (s.state?.waiting === undefined || s.lastState?.terminated !== undefined))
      return i + 1;
  }
  return Math.min(1, statuses.length);
}

// ---------------------------------------------------------------------------------------------------------
// Equality

const TIME_KEYS = new Set(["startTime", "lastTransitionTime", "startedAt", "finishedAt"]);
/** Fields that change without meaning anything (the kubelet never sets `lastProbeTime` on pods either). */
const IGNORED_KEYS = new Set(["lastProbeTime"]);
const LIST_KEYS: Readonly<Record<string, string>> = {
  conditions: "type",
  containerStatuses: "name",
  initContainerStatuses: "name",
  ephemeralContainerStatuses: "name",
};

/**
 * Whether two pod statuses say the same thing, so core writes `pods/status` only on a real change.
 * Ignores `lastProbeTime`; compares times at RFC 3339 second precision (what the API stores) whether they
 * are `Date`s or strings; treats `null`, absent, `[]` and `{}` alike (as the API's semantic equality does);
 * compares conditions by type and container statuses by name, regardless of order.
 */
export function podStatusEqual(a: PodStatus | undefined, b: PodStatus | undefined): boolean {
  return JSON.stringify(canonical(a)) === JSON.stringify(canonical(b));
}

function canonical(value: unknown, key?: string): unknown {
  if (value === null || value === undefined) return undefined;
  if (value instanceof Date || (key !== undefined && TIME_KEYS.has(key))) {
    return rfc3339Seconds(value) ?? (typeof value === "string" ? value : undefined);
  }
  if (Array.isArray(value)) {
    const items: unknown[] = value.map((item) => canonical(item)).filter((item) => item !== undefined);
    if (items.length === 0) return undefined;
    const sortKey = key === undefined ? undefined : LIST_KEYS[key];
    if (sortKey !== undefined) {
      const keyOf = (item: unknown) => String((item as Record<string, unknown>)[sortKey]);
      items.sort((x, y) => (keyOf(x) < keyOf(y) ? -1 : keyOf(x) > keyOf(y) ? 1 : 0));
    }
    return items;
  }
  if (typeof value === "object") {
    const out: Record<string, unknown> = {};
    const record = value as Record<string, unknown>;
    for (const k of Object.keys(record).sort()) {
      if (IGNORED_KEYS.has(k)) continue;
      const v = canonical(record[k], k);
      if (v !== undefined) out[k] = v;
    }
    return Object.keys(out).length === 0 ? undefined : out;
  }
  return value;
}

function rfc3339Seconds(value: unknown): string | undefined {
  const date = toDate(value);
  if (date === undefined) return undefined;
  return new Date(Math.floor(date.getTime() / 1000) * 1000).toISOString().replace(".000Z", "Z");
}

// ---------------------------------------------------------------------------------------------------------
// QoS class (kubelet/apiserver ComputePodQOS)

/**
 * The pod's QoS class from its cpu/memory requests and limits: Guaranteed when every container (or the pod-level
 * `spec.resources`, when set) has cpu and memory limits equal to its requests, BestEffort when nothing is requested
 * or limited, else Burstable. Requests missing next to a limit count as equal to the limit, as the API defaults them.
 */
export function computeQOSClass(pod: Pod): QOSClass {
  const spec = specOf(pod);
  const requests = new Map<string, ExactQuantity>();
  const limits = new Map<string, ExactQuantity>();
  let guaranteed = true;

  /** Adds one container's (or the pod's) cpu/memory; false when it lacks a cpu or a memory limit. */
  const account = (
    resources: { requests?: Record<string, string>; limits?: Record<string, string> } | undefined,
  ): boolean => {
    const declaredLimits = resources?.limits ?? {};
    const declaredRequests = { ...declaredLimits, ...(resources?.requests ?? {}) };
    for (const [name, quantity] of Object.entries(declaredRequests)) {
      const value = qosQuantity(name, quantity);
      if (value !== undefined) requests.set(name, addQuantity(requests.get(name), value));
    }
    const found = new Set<string>();
    for (const [name, quantity] of Object.entries(declaredLimits)) {
      const value = qosQuantity(name, quantity);
      if (value === undefined) continue;
      found.add(name);
      limits.set(name, addQuantity(limits.get(name), value));
    }
    return found.has("cpu") && found.has("memory");
  };

  const podLevel = spec.resources;
  if (podLevel !== undefined && (hasEntries(podLevel.requests) || hasEntries(podLevel.limits))) {
    guaranteed = account(podLevel);
  } else {
    for (const c of [...spec.containers, ...(spec.initContainers ?? [])]) {
      guaranteed = account(c.resources) && guaranteed;
    }
  }

  if (requests.size === 0 && limits.size === 0) return "BestEffort";
  if (guaranteed) {
    for (const [name, request] of requests) {
      const limit = limits.get(name);
      if (limit === undefined || compareExactQuantities(limit, request) !== 0) {
        guaranteed = false;
        break;
      }
    }
  }
  return guaranteed && requests.size === limits.size ? "Guaranteed" : "Burstable";
}

function qosQuantity(name: string, quantity: string): ExactQuantity | undefined {
  if (name !== "cpu" && name !== "memory") return undefined;
  const value = parseExactQuantity(quantity);
  return value !== undefined && value.num > 0n ? value : undefined;
}

function addQuantity(a: ExactQuantity | undefined, b: ExactQuantity): ExactQuantity {
  return a === undefined ? b : addExactQuantities(a, b);
}

function hasEntries(record: Record<string, string> | undefined): boolean {
  return record !== undefined && Object.keys(record).length > 0;
}

// ---------------------------------------------------------------------------------------------------------
// Small helpers

function specOf(pod: Pod): PodSpec {
  return pod.spec ?? { containers: [] };
}

function findByName<T extends { name: string }>(
  items: readonly T[] | undefined,
  name: string,
): T | undefined {
  return items?.find((item) => item.name === name);
}

function existingPodIPs(status: PodStatus): string[] {
  const ips = (status.podIPs ?? []).map((p) => p.ip);
  if (ips.length > 0) return ips;
  return status.podIP === undefined || status.podIP === "" ? [] : [status.podIP];
}

/**
 * kubelet `sortPodIPs`: the first IP of the node's family (IPv4 unless the host IP is IPv6), then the first of
 * the other family; anything that is not an IP is dropped.
 */
function sortPodIPs(ips: readonly string[], hostIP: string | undefined): string[] {
  const primary = hostIP !== undefined && isIP(hostIP) === 6 ? 6 : 4;
  const secondary = primary === 4 ? 6 : 4;
  const first = ips.find((ip) => isIP(ip) === primary);
  const second = ips.find((ip) => isIP(ip) === secondary);
  return [first, second].filter((ip): ip is string => ip !== undefined);
}

/** A `Date` from a `Date` or an RFC 3339 string (informer objects carry either); `undefined` when invalid. */
function toDate(value: unknown): Date | undefined {
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? undefined : value;
  if (typeof value === "string" && value !== "") {
    const date = new Date(value);
    return Number.isNaN(date.getTime()) ? undefined : date;
  }
  return undefined;
}

function reviveState(state: KubeContainerState | undefined): KubeContainerState {
  if (state === undefined) return {};
  const out: KubeContainerState = {};
  if (state.waiting != null) out.waiting = { ...state.waiting };
  if (state.running != null) out.running = compact({ startedAt: toDate(state.running.startedAt) });
  if (state.terminated != null) {
    out.terminated = compact({
      ...state.terminated,
      startedAt: toDate(state.terminated.startedAt),
      finishedAt: toDate(state.terminated.finishedAt),
    });
  }
  return out;
}

function reviveContainerStatus(status: KubeContainerStatus): KubeContainerStatus {
  return { ...status, state: reviveState(status.state), lastState: reviveState(status.lastState) };
}

function reviveCondition(condition: PodCondition): PodCondition {
  return compact({
    ...condition,
    lastTransitionTime: toDate(condition.lastTransitionTime),
    lastProbeTime: toDate(condition.lastProbeTime),
  });
}

/** Drops keys whose value is `undefined`, so statuses serialize and compare cleanly. */
function compact<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}
