/**
 * `@virtual-node/provider-fargate`: Kubernetes pods as ECS tasks on AWS Fargate.
 *
 * ```ts
 * const provider = createFargateProvider({ cluster: "vn", subnets: ["subnet-0abc"], ... });
 * ```
 */
export { createFargateProvider, SECRETS_TAG, STOP_REASON_PREFIX } from "./provider.js";
export type { FargateProvider } from "./provider.js";
export { resolveFargateOptions, DEFAULT_FILE_WRITER_IMAGE } from "./options.js";
export type {
  CapacityProviderEntry,
  FargateProviderOptions,
  ResolvedFargateOptions,
  SecretMirroringOptions,
} from "./options.js";
export {
  MAX_SECRET_BYTES,
  MAX_STOP_TIMEOUT_SECONDS,
  MAX_TASK_DEFINITION_BYTES,
  healthCheckOf,
  mapPodToTask,
  mirrorDocuments,
  mirrorGroup,
  mirrorSlot,
  parseEfsVolumeHandle,
  planSecretMirrors,
  pullLoginFor,
  registryOf,
  podMirrorName,
  secretMirrorName,
  ssmParameters,
  startedByFor,
} from "./mapping.js";
export type { FargateTaskSpec, MappingContext, MirrorSlot, MirroredValue, SecretSource } from "./mapping.js";
export {
  DEADLINE_STOP_REASON,
  FargateStatusAnnotations,
  stoppedReasonKind,
  taskToPodStatus,
} from "./status.js";
export type { TaskStatusOptions } from "./status.js";
export { FILE_WRITER_CONTAINER, ROLES_TAG, formatRoles, parseRoles } from "./roles.js";
export type { ContainerRoles } from "./roles.js";
export { FARGATE_CPU_MEMORY, FARGATE_SHAPES } from "./sizes.js";
export type { FargateCpuRow, FargateShape } from "./sizes.js";
export { ECS_LIMITS } from "./limits.js";
export { UPDATE_NOT_APPLIED, planTaskUpdate } from "./update.js";
export type { TaskUpdatePlan } from "./update.js";
export { fargateCapabilities } from "./capabilities.js";
export { FargateAnnotations } from "./annotations.js";
export { DEFAULT_CAPACITY, describeFargateNode } from "./node.js";
export { containerLogs } from "./logs.js";
export type { ContainerLogsInput } from "./logs.js";
export { SecretMirror, MIRROR_NODE_TAG } from "./secret-mirror.js";
export type { MirrorBackend } from "./secret-mirror.js";
export { SsmParameterMirror, SSM_DELETE_BATCH, SSM_DESCRIBE_PAGE } from "./ssm-mirror.js";
export type { SsmMirrorOptions } from "./ssm-mirror.js";
export {
  DEFAULT_SSM_PREFIX,
  SSM_ARN_RESERVE,
  SSM_MAX_DEPTH,
  SSM_MAX_GROUP,
  SSM_MAX_LEAF,
  SSM_MAX_NAME,
  SSM_MAX_NAME_WITH_ARN,
  SSM_VALUE_LIMITS,
  checkSsmName,
  partitionAndAccount,
  ssmGroupOf,
  ssmLeaf,
  ssmParameterArn,
  ssmPodGroup,
  ssmSecretGroup,
} from "./ssm-names.js";
