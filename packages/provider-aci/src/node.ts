/**
 * The virtual node's description: capacity from the options, else from ACI's regional usage
 * quotas (`Location_ListUsage`: container groups → pods, standard cores → cpu), labels for region
 * and OS. Core adds the default `virtual-kubelet.io/provider=aci` taint.
 */
import type { ContainerInstanceManagementClient } from "@azure/arm-containerinstance";
import type { NodeDescription } from "@virtual-node/core";
import type { CloudCaller } from "@virtual-node/core/provider-kit";
import type { AciProviderOptions } from "./options.js";

/** Capacity when neither the options nor the usage API say more. */
export const DEFAULT_CAPACITY: Readonly<Record<string, string>> = {
  cpu: "800",
  memory: "4Ti",
  pods: "5000",
  "nvidia.com/gpu": "0",
};

/** Builds the node description (one usage call; its failure falls back to the defaults). */
export async function describeAciNode(
  client: ContainerInstanceManagementClient,
  call: CloudCaller,
  options: AciProviderOptions,
  _nodeName: string,
  signal: AbortSignal,
): Promise<NodeDescription> {
  let capacity: Record<string, string> = { ...DEFAULT_CAPACITY };
  if (options.capacity !== undefined) {
    capacity = { ...capacity, ...options.capacity };
  } else {
    const usages = await call(
      "Location.ListUsage",
      async (s) => {
        const out = [];
        for await (const u of client.location.listUsage(options.region, { abortSignal: s })) out.push(u);
        return out;
      },
      { signal },
    );
    for (const u of usages) {
      const free = Math.max(0, (u.limit ?? 0) - (u.currentValue ?? 0));
      if (u.name?.value === "ContainerGroups") capacity.pods = String(free);
      if (u.name?.value === "StandardCores") capacity.cpu = String(free);
    }
  }
  const os = (options.osType ?? "Linux").toLowerCase();
  return {
    capacity,
    allocatable: capacity,
    labels: {
      "topology.kubernetes.io/region": options.region,
      "kubernetes.io/os": os,
      "virtual-node.io/provider": "aci",
    },
    operatingSystem: os,
    architecture: "amd64",
    region: options.region,
    instanceType: "aci",
  };
}
