/**
 * The node a Cloud Run provider presents: capacity from configuration (Cloud Run's quotas are not
 * readable through the Run API), region labels, Linux/amd64. Core adds the default taint
 * `virtual-kubelet.io/provider=cloudrun:NoSchedule` and owns the Ready condition (`ping`).
 */
import type { NodeDescription } from "@virtual-node/core";
import type { ResolvedCloudRunOptions } from "./options.js";

/** Default capacity: generous, since Cloud Run scales per project quota, not per node. */
export const DEFAULT_CAPACITY: Readonly<Record<string, string>> = {
  cpu: "1000",
  memory: "4Ti",
  pods: "1000",
  "nvidia.com/gpu": "0",
};

/** The node description for `nodeName`. */
export function describeCloudRunNode(_nodeName: string, options: ResolvedCloudRunOptions): NodeDescription {
  const capacity = { ...DEFAULT_CAPACITY, ...options.capacity };
  return {
    capacity,
    allocatable: capacity,
    labels: {
      "topology.kubernetes.io/region": options.region,
      "node.kubernetes.io/instance-type": "cloud-run",
      "cloud.google.com/project": options.project,
    },
    region: options.region,
    instanceType: "cloud-run",
    operatingSystem: "linux",
    architecture: "amd64",
    kernelVersion: "gvisor",
    osImage: "Google Cloud Run",
    containerRuntimeVersion: "cloudrun://v2",
  };
}
