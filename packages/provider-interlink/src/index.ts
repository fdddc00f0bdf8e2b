// @virtual-node/provider-interlink — a flat list of named exports; one concern per module.

export { createInterLinkProvider, type InterLinkProvider } from "./provider.js";
export {
  INTERLINK_LIMITS,
  validateOptions,
  type InterLinkProviderOptions,
  type InterLinkTimeouts,
  type InterLinkTlsOptions,
  type ResolvedEndpoint,
  type ValidatedOptions,
} from "./options.js";
export { interLinkCapabilities, type CapabilityOptions } from "./capabilities.js";
export {
  envSecretName,
  JOB_ID_ANNOTATION,
  toCreateRequest,
  wirePodRef,
  type CreateRequestOptions,
} from "./mapping.js";
export {
  SITE_JOB_ID_ANNOTATION,
  statusFingerprint,
  toContainerState,
  toProviderPodStatus,
  type DeclaredContainers,
  type StatusContext,
} from "./status.js";
export { describeFromPing, parsePing } from "./node.js";
export { logPage, logRequest, parseLogText } from "./logs.js";
export {
  InterLinkClient,
  type InterLinkCall,
  type InterLinkClientOptions,
  type InterLinkResponse,
} from "./client.js";
export type {
  ContainerLogOpts,
  CreateStruct,
  InterLinkPodStatus,
  LogStruct,
  PingResponse,
  PodCreateRequests,
  WireConfigMap,
  WireContainerState,
  WireContainerStatus,
  WireSecret,
} from "./api-types.js";
