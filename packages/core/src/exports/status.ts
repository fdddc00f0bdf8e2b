/** `@virtual-node/core/status`: the pure pod-status rules (the kubelet's) and the capability gate. */
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
} from "../status.js";
export {
  unsupportedFieldsMessage,
  validatePodAgainstCapabilities,
  type UnsupportedField,
} from "../validate.js";
