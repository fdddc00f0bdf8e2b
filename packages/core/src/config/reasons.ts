/**
 * The stable reasons of pod configuration problems: `ConfigError.reason`, warning reasons and
 * the Event reasons core records for them. Kept apart from `resolve.ts` so the volume resolvers and
 * the pod controller share them without importing the resolver.
 */

/** Event reasons used in `ConfigError.reason` and in warnings. */
export const ConfigReasons = {
  MandatoryConfigMapNotFound: "MandatoryConfigMapNotFound",
  MandatorySecretNotFound: "MandatorySecretNotFound",
  MandatoryConfigMapKeyNotFound: "MandatoryConfigMapKeyNotFound",
  MandatorySecretKeyNotFound: "MandatorySecretKeyNotFound",
  OptionalConfigMapNotFound: "OptionalConfigMapNotFound",
  OptionalSecretNotFound: "OptionalSecretNotFound",
  OptionalConfigMapKeyNotFound: "OptionalConfigMapKeyNotFound",
  OptionalSecretKeyNotFound: "OptionalSecretKeyNotFound",
  InvalidEnvironmentVariableNames: "InvalidEnvironmentVariableNames",
  PodIPNotAvailable: "PodIPNotAvailable",
  HostIPNotAvailable: "HostIPNotAvailable",
  InvalidFieldPath: "InvalidFieldPath",
  InvalidResourceFieldRef: "InvalidResourceFieldRef",
  InvalidVolumeSource: "InvalidVolumeSource",
  ServiceAccountTokenUnavailable: "ServiceAccountTokenUnavailable",
  ClusterTrustBundleUnavailable: "ClusterTrustBundleUnavailable",
  ClusterTrustBundleNotFound: "ClusterTrustBundleNotFound",
  /** The claim a `persistentVolumeClaim` volume names does not exist (yet). */
  PersistentVolumeClaimNotFound: "PersistentVolumeClaimNotFound",
  /** The claim exists but is not `Bound` to a PersistentVolume (yet). */
  PersistentVolumeClaimNotBound: "PersistentVolumeClaimNotBound",
  /** The claim is being deleted: the kubelet refuses to start a pod on it. */
  PersistentVolumeClaimTerminating: "PersistentVolumeClaimTerminating",
  /** The claim is bound, but its PersistentVolume cannot be read (yet). */
  PersistentVolumeNotFound: "PersistentVolumeNotFound",
  /** The PersistentVolume's `claimRef` does not point at the claim (a binding in progress). */
  PersistentVolumeClaimMismatch: "PersistentVolumeClaimMismatch",
} as const;

/** One of {@link ConfigReasons}. */
export type ConfigReason = (typeof ConfigReasons)[keyof typeof ConfigReasons];

/** Reasons a pod waits on its volumes: the kubelet has not mounted them, so no container is being created. */
const VOLUME_WAIT_REASONS = new Set<string>([
  ConfigReasons.PersistentVolumeClaimNotFound,
  ConfigReasons.PersistentVolumeClaimNotBound,
  ConfigReasons.PersistentVolumeClaimTerminating,
  ConfigReasons.PersistentVolumeNotFound,
  ConfigReasons.PersistentVolumeClaimMismatch,
]);

/**
 * The waiting reason the kubelet shows on the containers of a pod that waits for `reason`:
 * `ContainerCreating` while its volumes cannot be mounted (the kubelet's volume manager blocks
 * before any container is created), `CreateContainerConfigError` for everything else.
 */
export function containerWaitingReason(reason: string): "ContainerCreating" | "CreateContainerConfigError" {
  return VOLUME_WAIT_REASONS.has(reason) ? "ContainerCreating" : "CreateContainerConfigError";
}
