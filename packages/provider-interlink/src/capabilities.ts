/**
 * What an interLink site can run. interLink hands the whole pod to a site plugin (SLURM,
 * HTCondor, Docker, a remote cluster), which runs containers with Apptainer/Singularity/Docker:
 * init containers yes, probes and host namespaces no (a batch job has no kubelet beside it), and
 * no exec/attach/port-forward in the API (interLink#185), so those hooks are absent and core's
 * kubelet API answers 501 for them.
 */
import { minimalCapabilities } from "@virtual-node/core";
import type { ProviderCapabilities } from "@virtual-node/core";

/** Options that change the declared capabilities. */
export interface CapabilityOptions {
  /** The site mounts PersistentVolumeClaims. */
  persistentVolumes: boolean;
  /** Extended resources (accelerators) pods may request. */
  extendedResources: readonly string[];
}

/** The capabilities of an interLink site. */
export function interLinkCapabilities(options: CapabilityOptions): ProviderCapabilities {
  return {
    ...minimalCapabilities,
    volumes: [
      "emptyDir",
      "configMap",
      "secret",
      "projected",
      "downwardAPI",
      ...(options.persistentVolumes ? ["persistentVolumeClaim"] : []),
    ],
    initContainers: true,
    // A sidecar (restartPolicy: Always init container) needs a supervisor the plugins do not have.
    sidecarContainers: false,
    restartPolicies: ["Always", "OnFailure", "Never"],
    portProtocols: ["TCP", "UDP"],
    extendedResources: options.extendedResources,
    // The API has no call to replace a running job's files.
    mountedFileUpdates: false,
    podIPBeforeStart: false,
  };
}
