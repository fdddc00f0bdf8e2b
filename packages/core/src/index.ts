/**
 * `@virtual-node/core`: what an agent builder and a provider author use. Everything else lives in
 * documented subpaths (docs/architecture.md, "Public surface"):
 * `@virtual-node/core/provider-kit` (the shared pieces of cloud providers), `/status` (pod status
 * derivation), `/config` (pod configuration resolution), `/kubelet-api` (the kubelet HTTPS API),
 * `/building-blocks` (work queue, backoff, events, metrics) and `/kube` (the Kubernetes client).
 */

// Entry points
export {
  createVirtualNode,
  createVirtualNodeGroup,
  type NodeOptions,
  type SharedOptions,
  type VirtualNode,
  type VirtualNodeGroup,
  type VirtualNodeGroupOptions,
  type VirtualNodeOptions,
} from "./virtual-node.js";
export type { ShutdownPolicy } from "./node-controller.js";
export type { HighAvailabilityOptions } from "./ha/options.js";
export type { OwnershipChange, OwnershipReason } from "./ha/coordinator.js";
export { NotOwnerError } from "./ha/fence.js";
export type { KubeletApiOptions } from "./kubelet-api/options.js";
export {
  loadKubeConfig,
  type KubeConfigCluster,
  type KubeConfigSource,
  type KubeHttpsOptions,
  type LoadKubeConfigOptions,
} from "./kube/kubeconfig.js";

// The provider contract, in roles
export {
  minimalCapabilities,
  podKey,
  podRefOf,
  type BilledResources,
  type CallOptions,
  type ContainerLogOptions,
  type ContainerState,
  type ContainerStatus,
  type ExecResult,
  type ExecStreams,
  type KubeletHooks,
  type NodeDescription,
  type NodeInfo,
  type PodLifecycle,
  type PodPhase,
  type PodRef,
  type ProbeHandler,
  type Provider,
  type ProviderCapabilities,
  type ProviderPodStatus,
  type ProviderPodEvent,
  type ProviderPodSummary,
  type StatusListener,
  type StatusSource,
  type TerminalSize,
  type UpdateOptions,
} from "./provider.js";
export type { ProviderStatsSummary } from "./kubelet-api/stats-types.js";
export type {
  ImagePullCredential,
  ResolvedContainer,
  ResolvedEnvVar,
  ResolvedFile,
  ResolvedPersistentVolume,
  ResolvedPod,
  ResolvedSecretData,
  ResolvedVolume,
  ValueSource,
} from "./pod-config.js";
export type { Container, Pod } from "./kube/types.js";

// Errors: meaning by type and stable code
export {
  AbortedError,
  ConfigError,
  describeError,
  errorCode,
  ErrorCodes,
  InvalidInputError,
  isRetryable,
  NotFoundError,
  PermanentError,
  redactSecrets,
  RetryableError,
  throwIfAborted,
  UnsupportedError,
  VirtualNodeError,
  type ErrorCode,
  type VirtualNodeErrorOptions,
} from "./errors.js";

// Time and logging
export {
  createSystemClock,
  FakeClock,
  systemClock,
  type Clock,
  type SystemClockOptions,
  type TimerHandle,
} from "./clock.js";
export {
  createConsoleLogger,
  noopLogger,
  type ConsoleLoggerOptions,
  type Logger,
  type LogLevel,
} from "./logger.js";
