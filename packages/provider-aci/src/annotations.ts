/**
 * Pod annotations the ACI provider reads. All are optional; each is documented in docs/providers/aci.md.
 */
export const AciAnnotations = {
  /** GPU SKU for `nvidia.com/gpu` (`K80`, `P100`, `V100`); default from the `gpuSku` option. */
  gpuSku: "aci.virtual-node.io/gpu-sku",
  /** `Spot` runs the group at Spot priority (evictable, cheaper); default `Regular`. */
  priority: "aci.virtual-node.io/priority",
  /** `Confidential` runs the group on the confidential SKU; `Dedicated` on dedicated hosts. */
  sku: "aci.virtual-node.io/sku",
  /** The confidential computing enforcement (CCE) policy, base64, for the confidential SKU. */
  ccePolicy: "aci.virtual-node.io/cce-policy",
  /** Resource ID of a user-assigned managed identity for the group (overrides `defaultIdentity`). */
  identity: "aci.virtual-node.io/identity",
  /** DNS name label of a public IP (`<label>.<region>.azurecontainer.io`); implies a public IP. */
  dnsNameLabel: "aci.virtual-node.io/dns-name-label",
  /** `Public` or `Private` (the latter needs `subnetIds`); default Private with a subnet, else Public when ports exist. */
  ipAddressType: "aci.virtual-node.io/ip-address-type",
  /**
   * The image entrypoint of a container whose pod gives `args` but no `command`: a JSON array, for
   * container `c` under `aci.virtual-node.io/entrypoint.c`. ACI has one `command` field (exec form
   * entrypoint + arguments) and cannot keep an image's entrypoint while replacing its arguments.
   */
  entrypointPrefix: "aci.virtual-node.io/entrypoint.",
  /** `never`: the pod never claims from the standby pool (option `standbyPool`), even when it fits. */
  standbyPool: "aci.virtual-node.io/standby-pool",
} as const;
