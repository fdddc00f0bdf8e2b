/**
 * `@virtual-node/provider-aci`: Kubernetes pods as Azure Container Instances container groups.
 *
 * ```ts
 * import { createAciProvider } from "@virtual-node/provider-aci";
 * const provider = createAciProvider({ subscriptionId, resourceGroup: "vn-rg", region: "westeurope" });
 * ```
 */
export { AciAnnotations } from "./annotations.js";
export { aciCapabilities } from "./capabilities.js";
export { MarkerScanner, bridgeAttach, bridgeExec, directCommand, shellLine, shellQuote } from "./exec.js";
export type { AttachBridgeRequest, ExecBridgeRequest } from "./exec.js";
export { FOLLOW_TAIL_LINES, fetchLogPage, parseAciLog } from "./logs.js";
export type { LogPageRequest } from "./logs.js";
export {
  AciTags,
  GPU_SKUS,
  SUPPORTED_SECURITY_FIELDS,
  aciShapes,
  containerGroupName,
  toContainerGroup,
} from "./mapping.js";
export type { GpuSku, MappedGroup, MappingOptions } from "./mapping.js";
export { DEFAULT_CAPACITY, describeAciNode } from "./node.js";
export { ACI_RATE_LIMITS, validateOptions } from "./options.js";
export type { AciProviderOptions, WebSocketLike } from "./options.js";
export { CLAIM_HEADER, getProfileRevision, standbyPolicy } from "./profile.js";
export { createAciProvider, operationFailure } from "./provider.js";
export type { AciProvider } from "./provider.js";
export {
  STANDBY_API_VERSION,
  STANDBY_TAG,
  StandbyAnnotations,
  parseArmId,
  standbyClaim,
  validateStandbyPool,
} from "./standby.js";
export type {
  ArmResourceId,
  ContainerGroupProfileResource,
  StandbyClaimOptions,
  StandbyClaimRequest,
  StandbyDecision,
  StandbyPoolOptions,
  StartPath,
} from "./standby.js";
export {
  CONTAINER_GROUP_ANNOTATION,
  MAX_POD_EVENTS,
  podEventsOf,
  toContainerState,
  toPodStatus,
} from "./status.js";
export type { StatusContext } from "./status.js";
