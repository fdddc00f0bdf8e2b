// @virtual-node/core — a flat list of named exports; one concern per module.

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

// Provider contract
export {
  minimalCapabilities,
  podKey,
  podRefOf,
  type BilledResources,
  type CallOptions,
  type ContainerState,
  type ContainerStatus,
  type NodeDescription,
  type PodPhase,
  type PodRef,
  type ProbeHandler,
  type Provider,
  type ProviderCapabilities,
  type ProviderPodStatus,
  type ProviderPodSummary,
  type StatusListener,
  type UpdateOptions,
} from "./provider.js";
export type {
  ResolvedContainer,
  ResolvedEnvVar,
  ResolvedFile,
  ResolvedPersistentVolume,
  ResolvedPod,
  ResolvedSecretData,
  ResolvedVolume,
  ValueSource,
} from "./pod-config.js";

// Errors
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

// Pod status (pure)
export {
  buildPodStatus,
  computeQOSClass,
  failedPodStatus,
  isTerminalPhase,
  mergePodStatus,
  pendingWithContainerWaiting,
  podStatusEqual,
  terminatedPodStatus,
  type BuildPodStatusContext,
  type MergePodStatusOptions,
  type QOSClass,
} from "./status.js";
export {
  unsupportedFieldsMessage,
  validatePodAgainstCapabilities,
  type UnsupportedField,
} from "./validate.js";

// Pod configuration
export {
  expandVars,
  expandVarsTracked,
  type ExpandResult,
  type TrackedVar,
  type TrackedVarLookup,
  type VarLookup,
} from "./config/expand.js";
export {
  createInMemoryConfigSource,
  matchesSelector,
  type ClusterTrustBundleData,
  type ClusterTrustBundleQuery,
  type ConfigSource,
  type InMemoryConfigSourceData,
  type ServiceAccountToken,
  type ServiceAccountTokenRequest,
} from "./config/source.js";
export {
  ConfigReasons,
  resolvePodConfig,
  tokenRefreshTime,
  type ConfigReason,
  type ConfigWarning,
  type ResolvePodConfigOptions,
  type ResolvePodConfigResult,
} from "./config/resolve.js";

// Building blocks
export {
  WorkQueue,
  type ShutDownOptions,
  type SyncHandler,
  type SyncResult,
  type WorkQueueMetric,
  type WorkQueueOptions,
  type WorkQueueStats,
} from "./work-queue.js";
export {
  Backoff,
  exponentialDelay,
  ItemExponentialRateLimiter,
  jitteredDelay,
  retryAfterMs,
  seededRandom,
  withRetryAfter,
  type BackoffOptions,
  type ItemExponentialRateLimiterOptions,
  type JitterMode,
  type RandomSource,
  type RateLimiter,
} from "./backoff.js";
export {
  createSystemClock,
  FakeClock,
  systemClock,
  type Clock,
  type SystemClockOptions,
  type TimerHandle,
} from "./clock.js";
export {
  createEventRecorder,
  EventReasons,
  type EventCountPatch,
  type EventReason,
  type EventRecorder,
  type EventRecorderOptions,
  type EventRecorderStats,
  type EventSink,
  type EventType,
  type InvolvedObject,
} from "./events.js";
export {
  createConsoleLogger,
  noopLogger,
  type ConsoleLoggerOptions,
  type Logger,
  type LogLevel,
} from "./logger.js";
export { createMetrics, type NodeMetrics } from "./metrics.js";
export {
  LAST_APPLIED_ANNOTATION,
  mergeOwnedMap,
  mergeOwnedTaints,
  type ShutdownPolicy,
} from "./node-controller.js";

// Kubernetes access (advanced)
export { KubeApiError, KubeClient, type KubeClientOptions } from "./kube/client.js";
export { Reflector, type ReflectorHandlers, type ReflectorOptions } from "./kube/reflector.js";
export { toMicroTime } from "./kube/api.js";
export type {
  ConfigMap,
  Container,
  Lease,
  Node,
  NodeCondition,
  ObjectMeta,
  Pod,
  PodCondition,
  PodSpec,
  PodStatus,
  Secret,
  Service,
  Taint,
} from "./kube/types.js";

// Kubelet API (logs, exec/attach, port-forward, stats, metrics; see docs/kubelet-api.md)
export type { ContainerLogOptions, ExecResult, ExecStreams, TerminalSize } from "./provider.js";
export type {
  ContainerStats,
  CPUStats,
  FsStats,
  InterfaceStats,
  MemoryStats,
  NetworkStats,
  NodeStats,
  PodReference,
  PodStats,
  ProviderStatsSummary,
  StatsSummary,
  SwapStats,
  VolumeStats,
} from "./kubelet-api/stats-types.js";
export {
  createKubeletApiServer,
  KubeletApiServer,
  type KubeletApiEndpoint,
  type KubeletApiSessionCounts,
  type KubeletApiNode,
  type KubeletApiServerOptions,
} from "./kubelet-api/server.js";
export { kubeletPortFor, WEBSOCKET_NODE_FEATURE, type KubeletApiOptions } from "./kubelet-api/options.js";
export {
  KubeletAuth,
  requestAttributes,
  verbOf,
  type AuthorizationAttributes,
  type KubeletAuthOptions,
  type UserInfo,
} from "./kubelet-api/auth.js";
export {
  CertificateManager,
  createSelfSignedCertificate,
  createServingCertificateRequest,
  describeCertificate,
  KUBELET_SERVING_SIGNER,
  type ServingCertificate,
  type ServingCertificateOptions,
} from "./kubelet-api/certificates.js";
export { parseLogOptions } from "./kubelet-api/logs.js";
export { completeSummary, cpuAndMemoryOnly, renderResourceMetrics } from "./kubelet-api/stats.js";
export {
  SPDY_REMOTECOMMAND_PROTOCOLS,
  WEBSOCKET_REMOTECOMMAND_PROTOCOLS,
} from "./kubelet-api/remotecommand.js";
export { PORT_FORWARD_PROTOCOL, PORT_FORWARD_TUNNEL_PROTOCOL } from "./kubelet-api/portforward.js";
export { SpdyConnection, SpdyStream, type SpdyConnectionOptions } from "./kubelet-api/spdy/connection.js";
export {
  decodeControlFrame,
  encodeDataFrame,
  encodeGoAway,
  encodeHeadersFrame,
  encodePing,
  encodeRstStream,
  encodeSettings,
  encodeSynReply,
  encodeSynStream,
  encodeWindowUpdate,
  FLAG_FIN,
  FLAG_UNIDIRECTIONAL,
  FrameParser,
  FrameType,
  GoAwayStatus,
  RstStatus,
  SpdyProtocolError,
  type Frame as SpdyFrame,
} from "./kubelet-api/spdy/frames.js";
export {
  decodeHeaderBlock,
  encodeHeaderBlock,
  HeaderCompressor,
  HeaderDecompressor,
  type SpdyHeaders,
} from "./kubelet-api/spdy/header-codec.js";
export { SPDY3_DICTIONARY } from "./kubelet-api/spdy/dictionary.js";
