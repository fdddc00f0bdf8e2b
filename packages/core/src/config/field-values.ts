/**
 * Field references: the values of `fieldRef` and `resourceFieldRef` (env vars and downward-API files),
 * the node's and the pod's IPs, like the kubelet's `podFieldSelectorRuntimeValue` and
 * `ExtractFieldPathAsString`.
 */
import { ConfigError } from "../errors.js";
import type { Container } from "../kube/types.js";
import {
  exactQuantityMilliValue,
  exactQuantityValue,
  parseExactQuantity,
  type ExactQuantity,
} from "../kube/quantity.js";
import { ConfigReasons } from "./reasons.js";
import { formatMap, qualifiedNameProblem, splitSubscript } from "./field-refs.js";
import type { ObjectFieldSelector, ResourceFieldSelector, ResourceList } from "./types.js";
import { ZERO, ONE, toNumber, own } from "./resolve-shared.js";
import type { ResolveScope } from "./scope.js";

export class FieldValues {
  constructor(private readonly scope: ResolveScope) {}

  // ---------------------------------------------------------------------------------------------
  // Downward API

  /** `podFieldSelectorRuntimeValue`: the env var flavour, with node and IP fields. */
  envFieldValue(selector: ObjectFieldSelector, field: string): string {
    const apiVersion = selector.apiVersion ?? "v1";
    if (apiVersion !== "v1" && apiVersion !== "") {
      throw new ConfigError(
        ConfigReasons.InvalidFieldPath,
        `${field}: unsupported pod version: ${apiVersion}`,
        { field },
      );
    }
    const spec = this.scope.pod.spec;
    switch (selector.fieldPath) {
      case "spec.nodeName":
        return spec?.nodeName !== undefined && spec.nodeName !== ""
          ? spec.nodeName
          : this.scope.options.nodeName;
      case "spec.serviceAccountName":
        return spec?.serviceAccountName ?? "";
      case "status.hostIP":
        return this.hostIPs(field)[0] ?? "";
      case "status.hostIPs":
        return this.hostIPs(field).join(",");
      case "status.podIP":
        return this.podIPs(field)[0] ?? "";
      case "status.podIPs":
        return this.podIPs(field).join(",");
      default:
        return this.objectFieldValue(selector.fieldPath, field);
    }
  }

  hostIPs(field: string): string[] {
    const { hostIP, hostIPs } = this.scope.options;
    const list = hostIPs !== undefined && hostIPs.length > 0 ? hostIPs : hostIP !== undefined ? [hostIP] : [];
    const first = hostIP ?? list[0];
    if (first === undefined || first === "") {
      throw new ConfigError(
        ConfigReasons.HostIPNotAvailable,
        `${field}: status.hostIP is not known: the node has no host IP configured`,
        { field },
      );
    }
    return [first, ...list.filter((ip) => ip !== first)];
  }

  podIPs(field: string): string[] {
    const { podIP, podIPs } = this.scope.options;
    const list =
      podIPs !== undefined && podIPs.length > 0 ? podIPs : podIP !== undefined && podIP !== "" ? [podIP] : [];
    if (list.length === 0) {
      throw new ConfigError(
        ConfigReasons.PodIPNotAvailable,
        `${field}: the pod IP is not known before the pod starts: the provider does not pre-allocate pod IPs (capabilities.podIPBeforeStart is false), so status.podIP/status.podIPs cannot be put in env vars`,
        { field },
      );
    }
    return list;
  }

  /** `fieldpath.ExtractFieldPathAsString`: the metadata fields, also used by downward API volumes. */
  objectFieldValue(fieldPath: string, field: string): string {
    const metadata = this.scope.pod.metadata;
    const subscripted = splitSubscript(fieldPath);
    if (subscripted) {
      const [path, key] = subscripted;
      if (path === "metadata.annotations" || path === "metadata.labels") {
        const annotations = path === "metadata.annotations";
        const problem = qualifiedNameProblem(annotations ? key.toLowerCase() : key);
        if (problem !== undefined) {
          throw new ConfigError(
            ConfigReasons.InvalidFieldPath,
            `${field}: invalid key subscript in ${fieldPath}: ${problem}`,
            {
              field,
            },
          );
        }
        return own(annotations ? metadata?.annotations : metadata?.labels, key) ?? "";
      }
      throw new ConfigError(
        ConfigReasons.InvalidFieldPath,
        `${field}: fieldPath "${fieldPath}" does not support subscript`,
        {
          field,
        },
      );
    }
    switch (fieldPath) {
      case "metadata.annotations":
        return formatMap(metadata?.annotations ?? {});
      case "metadata.labels":
        return formatMap(metadata?.labels ?? {});
      case "metadata.name":
        return metadata?.name ?? "";
      case "metadata.namespace":
        return this.scope.namespace;
      case "metadata.uid":
        return metadata?.uid ?? "";
      default:
        throw new ConfigError(
          ConfigReasons.InvalidFieldPath,
          `${field}: unsupported fieldPath: ${fieldPath}`,
          { field },
        );
    }
  }

  /**
   * `resource.ExtractContainerResourceValue` on a container whose unset limits were filled from
   * node allocatable. Env: the own container, or a named one (init containers named there are not
   * defaulted, as in the kubelet); volumes: always a named container, always defaulted.
   */
  resourceValue(
    selector: ResourceFieldSelector,
    self: Container | undefined,
    field: string,
    use: "env" | "volume",
  ): string {
    const fail = (message: string): never => {
      throw new ConfigError(ConfigReasons.InvalidResourceFieldRef, `${field}: ${message}`, { field });
    };
    let container = use === "env" && (selector.containerName ?? "") === "" ? self : undefined;
    let defaulted = true;
    if (!container) {
      const name = selector.containerName ?? "";
      container = this.scope.pod.spec?.containers.find((c) => c.name === name);
      if (!container) {
        container = this.scope.pod.spec?.initContainers?.find((c) => c.name === name);
        defaulted = use === "volume";
      }
      if (!container) return fail(`container ${name} not found`);
    }
    const limits: ResourceList = { ...container.resources?.limits };
    if (defaulted) {
      const allocatable = this.scope.options.nodeAllocatable ?? {};
      for (const resource of ["cpu", "memory", "ephemeral-storage"]) {
        const current = own(limits, resource);
        const fallback = own(allocatable, resource);
        if ((current === undefined || parseExactQuantity(current)?.num === 0n) && fallback !== undefined) {
          limits[resource] = fallback;
        }
      }
    }
    const requests: ResourceList = { ...container.resources?.requests };

    let divisor = ONE;
    if (selector.divisor !== undefined && selector.divisor !== "") {
      const parsed = parseExactQuantity(selector.divisor);
      if (!parsed) return fail(`invalid divisor quantity "${selector.divisor}"`);
      if (parsed.num !== 0n) divisor = parsed;
    }
    const quantity = (list: ResourceList, name: string): ExactQuantity => {
      const raw = own(list, name);
      if (raw === undefined) return ZERO;
      return parseExactQuantity(raw) ?? fail(`invalid quantity "${raw}" for ${name}`);
    };
    const dot = selector.resource.indexOf(".");
    const kind = selector.resource.slice(0, dot);
    const name = selector.resource.slice(dot + 1);
    const list = kind === "limits" ? limits : kind === "requests" ? requests : undefined;
    if (dot <= 0 || list === undefined) return fail(`unsupported container resource : ${selector.resource}`);
    let ratio: number;
    if (name === "cpu") {
      ratio =
        toNumber(exactQuantityMilliValue(quantity(list, name))) / toNumber(exactQuantityMilliValue(divisor));
    } else if (name === "memory" || name === "ephemeral-storage" || name.startsWith("hugepages-")) {
      ratio = toNumber(exactQuantityValue(quantity(list, name))) / toNumber(exactQuantityValue(divisor));
    } else {
      return fail(`unsupported container resource : ${selector.resource}`);
    }
    const rounded = Math.ceil(ratio);
    if (!Number.isFinite(rounded)) return fail(`divisor "${selector.divisor ?? ""}" is too small`);
    return BigInt(rounded).toString();
  }
}
