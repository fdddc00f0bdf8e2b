/**
 * `@virtual-node/core/kubelet-api`: the kubelet HTTPS API (logs, exec/attach/port-forward, stats,
 * metrics; docs/kubelet-api.md). The SPDY/3.1 framer behind exec and port-forward is internal.
 */
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
} from "../kubelet-api/stats-types.js";
export {
  createKubeletApiServer,
  KubeletApiServer,
  type KubeletApiEndpoint,
  type KubeletApiNode,
  type KubeletApiServerOptions,
  type KubeletApiSessionCounts,
} from "../kubelet-api/server.js";
export { kubeletPortFor, WEBSOCKET_NODE_FEATURE, type KubeletApiOptions } from "../kubelet-api/options.js";
export {
  KubeletAuth,
  requestAttributes,
  verbOf,
  type AuthorizationAttributes,
  type KubeletAuthOptions,
  type UserInfo,
} from "../kubelet-api/auth.js";
export {
  CertificateManager,
  createSelfSignedCertificate,
  createServingCertificateRequest,
  describeCertificate,
  KUBELET_SERVING_SIGNER,
  type ServingCertificate,
  type ServingCertificateOptions,
} from "../kubelet-api/certificates.js";
export { parseLogOptions } from "../kubelet-api/logs.js";
export { completeSummary, cpuAndMemoryOnly, renderResourceMetrics } from "../kubelet-api/stats.js";
export {
  SPDY_REMOTECOMMAND_PROTOCOLS,
  WEBSOCKET_REMOTECOMMAND_PROTOCOLS,
} from "../kubelet-api/remotecommand.js";
export { PORT_FORWARD_PROTOCOL, PORT_FORWARD_TUNNEL_PROTOCOL } from "../kubelet-api/portforward.js";
