/**
 * The node a Fargate provider presents: capacity from configuration (defaults from Fargate's
 * default account quotas), region/zone/instance-type labels.
 */
import type { NodeDescription } from "@virtual-node/core";
import type { ResolvedFargateOptions } from "./options.js";

/** Capacity when the options give none: Fargate's default On-Demand vCPU quota (4000). */
export const DEFAULT_CAPACITY = { cpu: "4000", memory: "30000Gi", pods: "1000" } as const;

/** The node description; `zone` is known once a task reported its Availability Zone (single subnet only). */
export function describeFargateNode(
  options: ResolvedFargateOptions,
  region: string,
  zone: string | undefined,
): NodeDescription {
  const capacity = { ...DEFAULT_CAPACITY, ...options.capacity };
  const singleSubnet = options.subnets.length === 1 && zone !== undefined;
  return {
    capacity: { ...capacity },
    allocatable: { ...capacity },
    labels: {
      "node.kubernetes.io/instance-type": "fargate",
      "topology.kubernetes.io/region": region,
      ...(singleSubnet ? { "topology.kubernetes.io/zone": zone } : {}),
      "kubernetes.io/os": "linux",
      "kubernetes.io/arch": options.cpuArchitecture === "ARM64" ? "arm64" : "amd64",
    },
    operatingSystem: "linux",
    architecture: options.cpuArchitecture === "ARM64" ? "arm64" : "amd64",
    region,
    ...(singleSubnet ? { zone } : {}),
    instanceType: "fargate",
    containerRuntimeVersion: "ecs://fargate",
  };
}
