// @virtual-node/provider-cloudrun — a flat list of named exports; one concern per module.
export { createCloudRunProvider, type CloudRunProvider } from "./provider.js";
export { resolveOptions, type CloudRunProviderOptions, type ResolvedCloudRunOptions } from "./options.js";
export {
  createCloudRunClients,
  type CloudRunClientSettings,
  type CloudRunClients,
  type CloudRunTransport,
} from "./clients.js";
export {
  MAX_CONTAINERS,
  SHAPE_ANNOTATION,
  cloudRunId,
  mapPod,
  planSecrets,
  resourceKindFor,
  secretIdPrefix,
  specResource,
  type CloudRunInstance,
  type CloudRunJob,
  type CloudRunKind,
  type CloudRunService,
  type CloudRunWorkerPool,
  type CloudRunSpec,
  type LongRunningKind,
  type MappingOptions,
  type SecretMirror,
  type SecretVersions,
} from "./mapping.js";
export {
  CloudRunStatusAnnotations,
  instanceStatus,
  jobStatus,
  serviceStatus,
  workerPoolStatus,
  toDate,
  toPodStatus,
  type CloudRunObject,
} from "./status.js";
export { CLOUD_RUN_GPU_SHAPES, CLOUD_RUN_SHAPES, memoryLimit } from "./shapes.js";
export { cloudRunCapabilities } from "./capabilities.js";
export { CLOUD_RUN_RATE_LIMITS } from "./limits.js";
export { DEFAULT_CAPACITY, describeCloudRunNode } from "./node.js";
export { logFilter, readContainerLogs, type LogReaderDeps, type LogTarget } from "./logs.js";
export { deleteMirroredSecrets, mirrorSecrets, type SecretMirrorDeps } from "./secrets.js";
