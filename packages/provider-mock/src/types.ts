/**
 * The mock cloud's own API types. They are deliberately *not* Kubernetes types: a real provider
 * talks to a backend with its own vocabulary, and the mock does the same so that the provider
 * adapter (`mapping.ts`, `status.ts`) shows the two translations a real provider needs.
 *
 * Everything here is JSON-safe (times are epoch milliseconds, file contents base64) because the
 * same objects travel over the mock cloud's HTTP API.
 */
import type { ErrorCode, ValueSource } from "@virtual-node/core";

export type MockRestartPolicy = "Always" | "OnFailure" | "Never";

/** Identifies a container group. An empty or absent `uid` matches any UID. */
export interface MockRef {
  namespace: string;
  name: string;
  uid?: string;
}

export interface MockEnvVar {
  name: string;
  value: string;
  /** The value came from a Secret; a real cloud would store it as a secure value. */
  secret: boolean;
  source: ValueSource;
}

export interface MockFile {
  path: string;
  mode: number;
  secret: boolean;
  /** File content, base64. */
  base64: string;
}

/** A Secret a mock volume uses, by reference: the mock cloud keeps names, never the values. */
export interface MockSecretRef {
  namespace: string;
  name: string;
  /** The Secret's keys, sorted. */
  keys: string[];
}

/** A `persistentVolumeClaim` volume as the mock cloud mounts it (the PV core resolved). */
export interface MockPersistentVolume {
  claimName: string;
  volumeName: string;
  readOnly: boolean;
  accessModes: string[];
  volumeMode: string;
  capacity?: string;
  storageClassName?: string;
  csi?: {
    driver: string;
    volumeHandle: string;
    volumeAttributes: Record<string, string>;
    fsType?: string;
    nodePublishSecret?: MockSecretRef;
    nodeStageSecret?: MockSecretRef;
  };
  nfs?: { server: string; path: string };
  azureFile?: { shareName: string; secret: MockSecretRef };
}

export interface MockVolumeSpec {
  name: string;
  kind: string;
  files: MockFile[];
  emptyDir?: { medium?: string; sizeLimit?: string };
  persistentVolume?: MockPersistentVolume;
}

export interface MockPort {
  containerPort: number;
  protocol: "TCP" | "UDP" | "SCTP";
  name?: string;
}

export interface MockContainerSpec {
  name: string;
  image: string;
  command?: string[];
  args?: string[];
  env: MockEnvVar[];
  ports?: MockPort[];
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  volumeMounts?: { name: string; mountPath: string; readOnly?: boolean; subPath?: string }[];
  /** `Always` on an init container makes it a sidecar. */
  restartPolicy?: "Always";
  /** How long one run lasts; `null` runs forever. Absent: the cloud default. */
  runDurationMs?: number | null;
  /** Exit code at the end of a run. Absent: the cloud default (0). */
  exitCode?: number;
  /** `false`: never becomes ready. */
  ready?: boolean;
  readyDelayMs?: number;
  /** Fixed resource use reported by `stats` while it runs; absent fields follow the simulated wave. */
  usage?: MockUsage;
}

/**
 * Resource use a container reports instead of the simulated figures (e.g. to drive an autoscaler):
 * from the `cpu-usage`/`memory-usage` annotations at create, or `setUsage` at run time.
 */
export interface MockUsage {
  /** CPU in nanocores (`250m` = 250,000,000). */
  cpuNanoCores?: number;
  /** Working set in bytes. */
  memoryBytes?: number;
}

/**
 * A run-time usage change (`MockCloudApi.setUsage`, `PUT /admin/usage/{ns}/{name}`): Kubernetes
 * quantities (`cpu: "750m"`, `memory: "256Mi"`); `null` returns that figure to the simulated wave,
 * an absent field leaves it as it is.
 */
export interface MockUsageUpdate {
  cpu?: string | null;
  memory?: string | null;
  /** Only this container; all containers of the group when absent. */
  container?: string;
}

/** What the mock cloud is asked to run: one "container group" per pod. */
/** A mock cloud size: `cpu` in cores, `memory` in bytes. */
export interface MockShape {
  name: string;
  cpu: number;
  memory: number;
}

export interface MockGroupSpec {
  namespace: string;
  name: string;
  /** The pod UID (a re-created pod with the same name is a new group). */
  uid: string;
  /** The node the group runs for; the cloud filters `listPods` by it (`GET /pods?node=`). */
  nodeName: string;
  labels?: Record<string, string>;
  /**
   * Cloud tags, returned with every state like ARM or ECS tags. The provider puts the kit's
   * `ownershipTags` here and reads them back with `parseOwnership` to adopt its groups.
   */
  tags?: Record<string, string>;
  /**
   * The size the group runs at (and the mock cloud "bills"): the provider picks it from
   * `MOCK_SHAPES` with the kit's `fitToShape`, as a Fargate or ACI provider picks a task size.
   */
  shape?: MockShape;
  restartPolicy: MockRestartPolicy;
  /** Time spent in "ContainerCreating" before the first container starts. */
  startDelayMs?: number;
  /** How long containers take to stop after a delete (capped by the grace period). */
  stopDelayMs?: number;
  /** Make `createPod` fail with this error code; `times` limits it to the first N attempts. */
  failCreate?: { code: ErrorCode; times?: number };
  initContainers: MockContainerSpec[];
  containers: MockContainerSpec[];
  volumes: MockVolumeSpec[];
}

export interface MockTermination {
  exitCode: number;
  reason: string;
  signal?: number;
  startedAt: number;
  finishedAt: number;
}

export interface MockContainerState {
  name: string;
  image: string;
  /** `mock://<uid>/<name>/<run>`; changes on each restart. */
  containerId: string;
  state: "waiting" | "running" | "terminated";
  /** Waiting or terminated reason (`ContainerCreating`, `PodInitializing`, `CrashLoopBackOff`, `Completed`, `Error`). */
  reason?: string;
  message?: string;
  startedAt?: number;
  finishedAt?: number;
  exitCode?: number;
  signal?: number;
  ready: boolean;
  started: boolean;
  restartCount: number;
  lastTermination?: MockTermination;
  /** Init container with `restartPolicy: Always`. */
  sidecar?: boolean;
}

export type MockGroupStage = "Creating" | "Initializing" | "Running" | "Terminated" | "Stopping";

/** The cloud's view of a container group. */
export interface MockGroupState {
  namespace: string;
  name: string;
  uid: string;
  nodeName: string;
  restartPolicy: MockRestartPolicy;
  stage: MockGroupStage;
  createdAt: number;
  podIP: string;
  hostIP: string;
  /** Bumped on every observable change. */
  revision: number;
  /** The spec's tags (ownership marks). */
  tags?: Record<string, string>;
  /** The spec's shape: what the group is billed for. */
  shape?: MockShape;
  initContainers: MockContainerState[];
  containers: MockContainerState[];
}

/** Inspection: what the cloud received for a group, and where it is now. */
export interface MockGroupInfo {
  spec: MockGroupSpec;
  state: MockGroupState;
  /** Number of accepted `updatePod` calls. */
  updates: number;
}

export type MockCloudEvent =
  | { type: "status"; state: MockGroupState }
  | { type: "deleted"; ref: Required<MockRef> & { nodeName: string } }
  /** Sent first on every (re)subscription: the current state of every group of the node. */
  | { type: "sync"; states: MockGroupState[] };

export type MockCloudListener = (event: MockCloudEvent) => void;

export interface MockLogLine {
  /** Epoch milliseconds. */
  time: number;
  text: string;
}

export interface MockLogQuery {
  /** Last N lines only. */
  tailLines?: number;
  /** Lines of the previous run (after a restart). */
  previous?: boolean;
  /** Lines at or after this epoch-millisecond time. */
  sinceTime?: number;
}

export interface MockContainerStats {
  name: string;
  /** Current CPU use in nanocores. */
  cpuNanoCores: number;
  /** CPU time used since the container (re)started, in core-nanoseconds. */
  cpuUsageCoreNanoSeconds: number;
  memoryWorkingSetBytes: number;
}

export interface MockPodStats {
  time: number;
  containers: MockContainerStats[];
}

export interface MockExecResult {
  stdout: string;
  stderr: string;
  exitCode: number;
}

export interface MockLatency {
  /** Added to every faultable call. */
  fixedMs?: number;
  /** Up to this much more, from the seeded generator. */
  jitterMs?: number;
}

export interface MockFaults {
  /** Probability (0..1) that a call throws `RetryableError`. */
  rate?: number;
  /** Probability (0..1) that a create succeeds in the cloud but the call still throws (a crash mid-create). */
  crashOnCreateRate?: number;
  /** Seed of the fault and jitter generators; the same seed and call order give the same faults. */
  seed?: number;
  /** Only these operations get faults (default: all faultable ones). */
  operations?: MockOperation[];
}

/** Settings an admin can change at run time. */
export interface MockCloudSettings {
  latency: MockLatency;
  faults: MockFaults;
}

export type MockOperation =
  | "createPod"
  | "updatePod"
  | "deletePod"
  | "getPod"
  | "listPods"
  | "getStatuses"
  | "ping"
  | "reservePodIP"
  | "logs"
  | "stats"
  | "exec";

export interface MockCallRecord {
  seq: number;
  op: MockOperation;
  /** `namespace/name` when the call is about one group. */
  key?: string;
  at: number;
  /** `ok`, or the error code the call failed with. */
  outcome: "ok" | "pending" | ErrorCode | "VN_UNKNOWN";
}

export interface MockCallStats {
  /** Calls per operation, including failed ones. */
  counts: Partial<Record<MockOperation, number>>;
  /** The most recent calls (bounded), oldest first. */
  log: MockCallRecord[];
}

export interface MockCloudInfo {
  hostIP: string;
  podCIDR: string;
  groups: number;
}

export interface MockCallOptions {
  signal?: AbortSignal;
}

/**
 * The interface shared by the in-process {@link MockCloud} and the HTTP client from
 * `connectMockCloud`, so a provider cannot tell them apart.
 */
export interface MockCloudApi {
  /** Creates a group (idempotent by UID; a different UID replaces the old group). */
  createPod(spec: MockGroupSpec, options?: MockCallOptions): Promise<MockGroupState>;
  /** Replaces the mutable parts (images, env, files) of an existing group. */
  updatePod(spec: MockGroupSpec, options?: MockCallOptions): Promise<MockGroupState>;
  /** Stops and removes a group; resolves once it is gone. A missing group is not an error. */
  deletePod(ref: MockRef, gracePeriodSeconds: number, options?: MockCallOptions): Promise<void>;
  getPod(ref: MockRef, options?: MockCallOptions): Promise<MockGroupState | undefined>;
  /** Groups created by `nodeName` (all groups when absent). */
  listPods(nodeName: string | undefined, options?: MockCallOptions): Promise<MockGroupState[]>;
  /** One call for many groups, in the order asked; missing groups are `undefined`. */
  getStatuses(refs: readonly MockRef[], options?: MockCallOptions): Promise<(MockGroupState | undefined)[]>;
  ping(options?: MockCallOptions): Promise<MockCloudInfo>;
  /** Reserves the pod IP that a later create of this pod (same UID) gets. Idempotent. */
  reservePodIP(ref: MockRef, options?: MockCallOptions): Promise<string>;
  logs(
    ref: MockRef,
    container: string,
    query?: MockLogQuery,
    options?: MockCallOptions,
  ): Promise<MockLogLine[]>;
  stats(ref: MockRef, options?: MockCallOptions): Promise<MockPodStats>;
  exec(
    ref: MockRef,
    container: string,
    command: readonly string[],
    input?: { stdin?: string },
    options?: MockCallOptions,
  ): Promise<MockExecResult>;
  /** Push events for the groups of `nodeName` (all when absent). Returns an unsubscribe function. */
  watch(nodeName: string | undefined, listener: MockCloudListener): () => void;

  // Inspection and admin: never delayed, never faulted.
  getGroup(namespace: string, name: string): Promise<MockGroupInfo | undefined>;
  listGroups(): Promise<MockGroupInfo[]>;
  callStats(): Promise<MockCallStats>;
  resetCallStats(): Promise<void>;
  configure(settings: Partial<MockCloudSettings>): Promise<void>;
  /**
   * Sets the CPU/memory use that `stats` reports for a group's containers from now on (the group's
   * current UID). Rejects a malformed quantity with `InvalidInputError` naming the field, a missing
   * group or container with `NotFoundError`. Resolves with the group's stats right after the change.
   */
  setUsage(namespace: string, name: string, update: MockUsageUpdate): Promise<MockPodStats>;
}
