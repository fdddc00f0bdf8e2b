/**
 * What Cloud Run can run, for core's pre-flight check: pods needing anything else are rejected
 * with the field named before any call to Google.
 */
import type { ProviderCapabilities } from "@virtual-node/core";

/**
 * Capabilities for a secret mode. With `mirror`, Secret, ConfigMap, projected and downward-API
 * volumes are mounted from Secret Manager; with `reject`, only emptyDir and PVC (NFS, Filestore,
 * Cloud Storage) volumes are accepted.
 */
export function cloudRunCapabilities(secrets: "mirror" | "reject"): ProviderCapabilities {
  return {
    volumes:
      secrets === "mirror"
        ? ["emptyDir", "persistentVolumeClaim", "secret", "configMap", "projected", "downwardAPI"]
        : ["emptyDir", "persistentVolumeClaim"],
    // Only sidecars: Cloud Run starts containers in dependsOn order but runs none to completion first.
    initContainers: false,
    sidecarContainers: true,
    ephemeralContainers: false,
    probes: { liveness: ["httpGet", "grpc"], readiness: [], startup: ["httpGet", "tcpSocket", "grpc"] },
    hostNetwork: false,
    hostPID: false,
    hostIPC: false,
    privileged: false,
    securityContext: [],
    restartPolicies: ["Always", "OnFailure", "Never"],
    portProtocols: ["TCP"],
    extendedResources: ["nvidia.com/gpu"],
    mountedFileUpdates: false,
    podIPBeforeStart: false,
  };
}
