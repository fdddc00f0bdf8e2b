/** What the ACI provider can run; core rejects any pod needing more before calling it. */
import { minimalCapabilities } from "@virtual-node/core";
import type { ProviderCapabilities } from "@virtual-node/core";
import { SUPPORTED_SECURITY_FIELDS } from "./mapping.js";

/**
 * ACI capabilities: init containers (no sidecars: ACI init containers cannot keep running),
 * exec/httpGet liveness and readiness probes (ACI has no startup probe, no tcpSocket or grpc
 * handler), privileged and the securityContext fields ACI's `SecurityContextDefinition` has, TCP
 * and UDP ports, GPUs, Azure Files PVCs and git repos beyond the file volumes. Mounted files are
 * "updated" by reporting that a restart is needed (or redeploying, see `fileUpdates`).
 */
export const aciCapabilities: ProviderCapabilities = {
  ...minimalCapabilities,
  volumes: [
    "emptyDir",
    "configMap",
    "secret",
    "projected",
    "downwardAPI",
    "gitRepo",
    "persistentVolumeClaim",
  ],
  initContainers: true,
  sidecarContainers: false,
  ephemeralContainers: false,
  probes: { liveness: ["exec", "httpGet"], readiness: ["exec", "httpGet"], startup: [] },
  privileged: true,
  securityContext: SUPPORTED_SECURITY_FIELDS.filter((f) => f !== "privileged"),
  restartPolicies: ["Always", "OnFailure", "Never"],
  portProtocols: ["TCP", "UDP"],
  extendedResources: ["nvidia.com/gpu"],
  mountedFileUpdates: true,
  podIPBeforeStart: false,
};
