/** `@virtual-node/core/config`: pod configuration resolution (env, volumes, tokens), as the kubelet does it. */
export {
  expandVars,
  expandVarsTracked,
  type ExpandResult,
  type TrackedVar,
  type TrackedVarLookup,
  type VarLookup,
} from "../config/expand.js";
export {
  createInMemoryConfigSource,
  matchesSelector,
  type ClusterTrustBundleData,
  type ClusterTrustBundleQuery,
  type ConfigSource,
  type InMemoryConfigSourceData,
  type ServiceAccountToken,
  type ServiceAccountTokenRequest,
} from "../config/source.js";
export {
  resolvePersistentVolumeClaim,
  type PersistentVolumeClaimSource,
  type PersistentVolumeContext,
} from "../config/persistent-volume.js";
export {
  ConfigReasons,
  containerWaitingReason,
  resolvePodConfig,
  tokenRefreshTime,
  type ConfigReason,
  type ConfigWarning,
  type ResolvePodConfigOptions,
  type ResolvePodConfigResult,
} from "../config/resolve.js";
