/**
 * The provider contract: what a backend (a cloud container service, an HPC site, a simulator)
 * implements so that core can present it as a Kubernetes node.
 *
 * A {@link Provider} is four small roles: {@link PodLifecycle} (required: create, update, delete,
 * get status, list), {@link StatusSource} (batched or pushed status), {@link NodeInfo} (health,
 * capacity, labels) and {@link KubeletHooks} (logs, exec, attach, port-forward, stats). Core
 * adapts to what is missing: without `getPodStatuses` it polls pod by pod; without
 * `subscribeStatus` it polls at all.
 *
 * Rules every method follows:
 * - it honours `options.signal` and rejects with `AbortedError` (or the signal's reason) once aborted;
 * - it throws the typed errors from `errors.ts` (`NotFoundError`, `InvalidInputError`,
 *   `UnsupportedError`, `RetryableError` with `retryAfterMs`, `PermanentError`), never bare strings,
 *   and never puts credentials in messages;
 * - `createPod` is idempotent (a pod that exists with the same UID is not duplicated) and
 *   `deletePod` of a missing pod succeeds.
 */
import type { Duplex, Readable, Writable } from "node:stream";
import type { Pod, Taint } from "./kube/types.js";
import type { ResolvedPod } from "./pod-config.js";
import type { ProviderStatsSummary } from "./kubelet-api/stats-types.js";

/** Every provider call gets one. */
export interface CallOptions {
  signal: AbortSignal;
}

/** What changed when core calls `updatePod`. */
export interface UpdateOptions extends CallOptions {
  /**
   * `spec`: mutable spec fields (images, activeDeadlineSeconds, ...). `volumes`: only mounted files
   * changed (a referenced ConfigMap/Secret was edited, or a service-account token was refreshed);
   * apply the new files and keep env as started, like the kubelet.
   */
  reason: "spec" | "volumes";
}

/** Identifies a pod in the provider. `uid` distinguishes a re-created pod with the same name. */
export interface PodRef {
  namespace: string;
  name: string;
  uid: string;
}

export type PodPhase = "Pending" | "Running" | "Succeeded" | "Failed" | "Unknown";

export type ContainerState =
  | { waiting: { reason: string; message?: string } }
  | { running: { startedAt: Date } }
  | {
      terminated: {
        exitCode: number;
        reason?: string;
        message?: string;
        signal?: number;
        startedAt?: Date;
        finishedAt?: Date;
      };
    };

/** Status of one container, in provider-neutral form. */
export interface ContainerStatus {
  name: string;
  state: ContainerState;
  /** The previous run's terminal state, when the provider restarted the container. */
  lastState?: ContainerState;
  /** Readiness; core ANDs it with "running". Default: true once running. */
  ready?: boolean;
  /** Whether the startup probe passed. Default: true once running. */
  started?: boolean;
  restartCount?: number;
  /** `<runtime>://<id>`, e.g. `aci://…`; core fills `mock://<uid>/<name>` style IDs if absent. */
  containerID?: string;
  image?: string;
  imageID?: string;
}

/**
 * What a provider reports about a pod. Core derives the Kubernetes `PodStatus` from it
 * (phase if absent, conditions, IPs, times) with a pure function (`status.ts`).
 */
export interface ProviderPodStatus {
  /** Optional: when absent core derives it from container states and the restart policy. */
  phase?: PodPhase;
  /** A machine-readable reason for the phase, e.g. `ProviderFailed`, `Evicted`. */
  reason?: string;
  message?: string;
  podIPs?: string[];
  /**
   * Ignored when the node has an InternalIP (always, with `createVirtualNode`): a pod's `hostIP` is
   * the node's, the same value its `status.hostIP` env var and downward-API files resolve to.
   */
  hostIP?: string;
  startTime?: Date;
  initContainers?: ContainerStatus[];
  containers: ContainerStatus[];
  /** Ephemeral containers (`kubectl debug`), for providers that declare `ephemeralContainers`. */
  ephemeralContainers?: ContainerStatus[];
  /** The size the cloud bills for this pod (the shape the provider chose); see `BilledResources`. */
  billed?: BilledResources;
  /**
   * Pod annotations the provider publishes (a cloud resource ID, a URL). Core merges them into the
   * pod's `metadata.annotations` through `pods/status` when a value differs and never removes a key.
   * Keys must be qualified names with a prefix (`aci.virtual-node.io/container-group`); others are
   * dropped with a warning, since the API server would reject the whole write.
   */
  annotations?: Record<string, string>;
  /**
   * Cloud-side events about the pod (ACI's instance-view events, a site's scheduler messages). Core
   * records each `id` once per pod as a Kubernetes Event on the pod, so a provider can report the
   * cloud's whole recent list on every status without duplicates.
   */
  events?: ProviderPodEvent[];
}

/** One cloud-side event about a pod; see {@link ProviderPodStatus.events}. */
export interface ProviderPodEvent {
  /** Stable identity of the event in the cloud (e.g. name + first timestamp): recorded once per pod. */
  id: string;
  type: "Normal" | "Warning";
  /** UpperCamelCase, e.g. `Pulling`, `BackOff`, `SpotInterrupted`. */
  reason: string;
  message: string;
}

/**
 * What the cloud bills for a running pod. Core writes it to the pod annotation
 * `virtual-node.io/billed-resources` and accumulates `virtual_node_pod_billed_*_seconds_total`.
 */
export interface BilledResources {
  vcpu: number;
  memoryGiB: number;
  /** The cloud's name for the size, e.g. Fargate `1024/2048` or ACI `1.5 cores / 3 GB`. */
  shape?: string;
}

/** A pod as the provider lists it: enough to adopt it after a restart or to clean it up. */
export interface ProviderPodSummary extends PodRef {
  /** The node name recorded when the pod was created: the ownership mark for orphan cleanup. */
  nodeName: string;
  status?: ProviderPodStatus;
}

/** Which pod features the provider can run. Core rejects a pod that needs more, before any call. */
export interface ProviderCapabilities {
  /** Volume kinds, by their field name in `PodSpec.volumes[]` (`configMap`, `secret`, `emptyDir`, `projected`, `downwardAPI`, ...). */
  volumes: readonly string[];
  initContainers: boolean;
  /** Init containers with `restartPolicy: Always`. */
  sidecarContainers: boolean;
  ephemeralContainers: boolean;
  /** Probe handlers supported, per probe kind (`exec`, `httpGet`, `tcpSocket`, `grpc`). */
  probes: {
    liveness: readonly ProbeHandler[];
    readiness: readonly ProbeHandler[];
    startup: readonly ProbeHandler[];
  };
  hostNetwork: boolean;
  hostPID: boolean;
  hostIPC: boolean;
  privileged: boolean;
  /** securityContext fields supported beyond `privileged` (e.g. `runAsUser`, `capabilities`). */
  securityContext: readonly string[];
  restartPolicies: readonly ("Always" | "OnFailure" | "Never")[];
  portProtocols: readonly ("TCP" | "UDP" | "SCTP")[];
  /** Extended resource names accepted in requests/limits, e.g. `nvidia.com/gpu`. */
  extendedResources: readonly string[];
  /** The provider can replace mounted ConfigMap/Secret files of a running pod (`updatePod` is called). */
  mountedFileUpdates: boolean;
  /** The provider knows the pod IP before containers start, so `status.podIP` env can be resolved. */
  podIPBeforeStart: boolean;
  /**
   * Pods with `hostUsers: false` (a user namespace) run isolated that way. Default false: such pods
   * are rejected rather than run with less isolation than they asked for.
   */
  userNamespaces?: boolean;
}

export type ProbeHandler = "exec" | "httpGet" | "tcpSocket" | "grpc";

/** Node description a provider may contribute; core merges it with its own defaults. */
export interface NodeDescription {
  capacity?: Record<string, string>;
  allocatable?: Record<string, string>;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  taints?: Taint[];
  /** Extra conditions (e.g. `QuotaExhausted`); Ready is owned by core. */
  conditions?: { type: string; status: "True" | "False" | "Unknown"; reason?: string; message?: string }[];
  addresses?: { type: string; address: string }[];
  operatingSystem?: string;
  architecture?: string;
  kernelVersion?: string;
  osImage?: string;
  containerRuntimeVersion?: string;
  region?: string;
  zone?: string;
  instanceType?: string;
}

export type StatusListener = (ref: PodRef, status: ProviderPodStatus | undefined) => void;

/**
 * A provider is the intersection of four roles; only {@link PodLifecycle} is required. Implement the
 * roles your backend can play: core adapts to the rest (polls without {@link StatusSource}, answers
 * 501 for a missing {@link KubeletHooks} member, reports a default node without {@link NodeInfo}).
 */
export type Provider = PodLifecycle & StatusSource & NodeInfo & KubeletHooks;

/** Role 1 (required): running pods. Every method is idempotent by pod UID. */
export interface PodLifecycle {
  /** Short lowercase name, used in the default taint `virtual-kubelet.io/provider=<name>`. */
  readonly name: string;
  readonly capabilities: ProviderCapabilities;

  /** Start the pod. Idempotent by UID. May return before containers run. */
  createPod(pod: ResolvedPod, options: CallOptions): Promise<void>;
  /**
   * Apply a change of the pod's mutable fields (`reason: "spec"`), or of its mounted files
   * (`reason: "volumes"`, only for providers that declare `mountedFileUpdates`).
   */
  updatePod(pod: ResolvedPod, options: UpdateOptions): Promise<void>;
  /**
   * Stop the pod, giving containers `gracePeriodSeconds` to exit, and release its resources.
   * A missing pod is not an error. Resolves once the provider confirms the pod is gone or stopped.
   */
  deletePod(ref: PodRef, gracePeriodSeconds: number, options: CallOptions): Promise<void>;
  /** Current status, or `undefined` when the provider has no such pod (same namespace, name and UID). */
  getPodStatus(ref: PodRef, options: CallOptions): Promise<ProviderPodStatus | undefined>;
  /** Every pod the provider holds for `nodeName` (with ownership marks), for adoption and orphan cleanup. */
  listPods(nodeName: string, options: CallOptions): Promise<ProviderPodSummary[]>;
  /**
   * For providers that declare `podIPBeforeStart`: the IPs the pod will have, reserved before
   * `createPod` (idempotent by UID). Core calls it only for pods whose env or downward-API files
   * need `status.podIP(s)`; without it such pods fail with `PodIPNotAvailable`. Core calls
   * `deletePod` for a pod it allocated IPs for, also when `createPod` never ran.
   */
  allocatePodIPs?(ref: PodRef, options: CallOptions): Promise<string[]>;
}

/**
 * Role 2 (optional): cheaper status than one {@link PodLifecycle.getPodStatus} per pod. The kit's
 * `createListStatusSource` implements `getPodStatuses` from one list call per interval.
 */
export interface StatusSource {
  /**
   * Batched status: one call for many pods (ECS DescribeTasks takes 100). Missing pods map to `undefined`.
   * Core prefers it over `getPodStatus` when present.
   */
  getPodStatuses?(
    refs: readonly PodRef[],
    options: CallOptions,
  ): Promise<Map<string, ProviderPodStatus | undefined>>;
  /** Largest batch `getPodStatuses` accepts (default 100). */
  readonly statusBatchSize?: number;
  /**
   * Push status: the provider calls `listener` whenever a pod's status changes. Returns an unsubscribe
   * function. Core still polls slowly as a safety net.
   */
  subscribeStatus?(nodeName: string, listener: StatusListener): () => void;
}

/** Role 3 (optional): what the node looks like and whether the backend is healthy. */
export interface NodeInfo {
  /** Health of the backend; a rejection sets the node `Ready=False` with the error as message. */
  ping?(options: CallOptions): Promise<void>;
  /** Capacity, labels, taints, conditions, addresses, ... Called at start and on each node status report. */
  describeNode?(nodeName: string, options: CallOptions): Promise<NodeDescription>;
}

/**
 * Role 4 (optional): what the kubelet HTTPS API serves (`kubectl logs/exec/attach/port-forward`,
 * metrics-server). Each member is optional; the kubelet API answers 501 for a missing one.
 */
export interface KubeletHooks {
  /**
   * A container's log as a byte stream (`kubectl logs`). Honour `follow` (keep the stream open and
   * append new lines until `options.signal` aborts), `tailLines`, `sinceSeconds`/`sinceTime`,
   * `timestamps` (RFC 3339 nanosecond prefix and a space, like the kubelet) and `previous`. Core
   * enforces `limitBytes` and destroys the stream when the client goes away. Throw `NotFoundError`
   * for an unknown pod or container, `InvalidInputError` when there is nothing to read (e.g. no
   * previous run).
   */
  getContainerLogs?(
    ref: PodRef,
    container: string,
    logOptions: ContainerLogOptions,
    options: CallOptions,
  ): Promise<NodeJS.ReadableStream | Readable>;
  /**
   * Runs `command` in a container (`kubectl exec`) and resolves with its exit code once it ended.
   * Streams are present only when the client asked for them; with `tty` stdout and stderr are one
   * stream (`stderr` is absent). End `stdout`/`stderr` is not required: core closes them after.
   */
  exec?(
    ref: PodRef,
    container: string,
    command: readonly string[],
    streams: ExecStreams,
    options: CallOptions,
  ): Promise<ExecResult>;
  /** Attaches to a container's main process (`kubectl attach`); resolves when it or the session ends. */
  attach?(ref: PodRef, container: string, streams: ExecStreams, options: CallOptions): Promise<ExecResult>;
  /**
   * Forwards one connection to `port` in the pod (`kubectl port-forward`): copy between `stream` and
   * the port both ways and resolve when both directions ended. Throw to report an error to the client.
   */
  portForward?(ref: PodRef, port: number, stream: Duplex, options: CallOptions): Promise<void>;
  /**
   * CPU, memory (and more) of the node and its pods in the kubelet's stats/v1alpha1 shape, for
   * `/stats/summary` and `/metrics/resource` (metrics-server, `kubectl top`). `pods` lists the pods
   * bound to the node; report those you know. Core fills `nodeName`, `startTime` and, when absent,
   * node and pod totals summed from the containers.
   */
  getStatsSummary?(
    nodeName: string,
    pods: readonly PodRef[],
    options: CallOptions,
  ): Promise<ProviderStatsSummary>;
}

/** Options of {@link KubeletHooks.getContainerLogs}, as the kubelet receives them (`PodLogOptions`). */
export interface ContainerLogOptions {
  follow: boolean;
  /** Last N lines only. */
  tailLines?: number;
  /** Only lines newer than this many seconds. Exclusive with `sinceTime`. */
  sinceSeconds?: number;
  /** Only lines at or after this time. */
  sinceTime?: Date;
  /** Prefix each line with its RFC 3339 (nanosecond) timestamp and a space. */
  timestamps: boolean;
  /** Stop after this many bytes (core also enforces it). */
  limitBytes?: number;
  /** The previous (terminated) run of a restarted container. */
  previous: boolean;
}

export interface TerminalSize {
  width: number;
  height: number;
}

/** The client's streams of an exec or attach session. */
export interface ExecStreams {
  /** Present when the client sends input (`-i`); ends when the client closes its stdin. */
  stdin?: Readable;
  stdout?: Writable;
  /** Absent with `tty` (a terminal has one output stream). */
  stderr?: Writable;
  tty: boolean;
  /** Terminal size changes (with `tty`); the first value is the initial size. Ends with the session. */
  resize?: AsyncIterable<TerminalSize>;
}

export interface ExecResult {
  exitCode: number;
}

/** Key used by core for a pod: `namespace/name`. */
export function podKey(ref: { namespace: string; name: string }): string {
  return `${ref.namespace}/${ref.name}`;
}

/** The `PodRef` of an API pod. */
export function podRefOf(pod: Pod): PodRef {
  return {
    namespace: pod.metadata?.namespace ?? "default",
    name: pod.metadata?.name ?? "",
    uid: pod.metadata?.uid ?? "",
  };
}

/** Capabilities of a provider that runs only the basics; spread and override. */
export const minimalCapabilities: ProviderCapabilities = {
  volumes: ["emptyDir", "configMap", "secret", "projected", "downwardAPI"],
  initContainers: false,
  sidecarContainers: false,
  ephemeralContainers: false,
  probes: { liveness: [], readiness: [], startup: [] },
  hostNetwork: false,
  hostPID: false,
  hostIPC: false,
  privileged: false,
  securityContext: [],
  restartPolicies: ["Always", "OnFailure", "Never"],
  portProtocols: ["TCP"],
  extendedResources: [],
  mountedFileUpdates: false,
  podIPBeforeStart: false,
};
