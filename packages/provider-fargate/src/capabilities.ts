/**
 * What a pod may ask of Fargate. Core rejects a pod that needs more before the provider sees it
 * (an Event names the field): no GPUs or other extended resources, no host namespaces, no
 * privileged containers, exec probes only (ECS container health checks run commands).
 *
 * ECS Exec is not built: the provider has no `exec`, `attach` or `portForward` hook (that absence is
 * the contract's declaration), so the kubelet API answers those requests with 501 naming the hook.
 */
import type { ProviderCapabilities } from "@virtual-node/core";

/** The Fargate provider's capability declaration. */
export const fargateCapabilities: ProviderCapabilities = {
  volumes: ["emptyDir", "configMap", "secret", "projected", "downwardAPI", "persistentVolumeClaim"],
  initContainers: true,
  sidecarContainers: true,
  ephemeralContainers: false,
  probes: { liveness: ["exec"], readiness: ["exec"], startup: [] },
  hostNetwork: false,
  hostPID: false,
  hostIPC: false,
  privileged: false,
  securityContext: ["runAsUser", "runAsGroup", "readOnlyRootFilesystem", "capabilities", "runAsNonRoot"],
  restartPolicies: ["Always", "OnFailure", "Never"],
  portProtocols: ["TCP", "UDP"],
  extendedResources: [],
  mountedFileUpdates: false,
  podIPBeforeStart: false,
};
