/**
 * Capability validation: which fields of a pod its provider cannot run. Core checks before calling
 * `createPod` and fails the pod with every problem listed, instead of letting the provider half-run it.
 *
 * Pure: no I/O. Every problem is reported (not just the first), in a stable order: pod-level fields, then
 * volumes, then init, regular and ephemeral containers in spec order.
 *
 * Strictness: a field counts as requested when it is set to anything but `null`/`undefined`, an empty
 * list or an object with nothing set in it. There are no "harmless value" exceptions — a provider that
 * cannot apply `allowPrivilegeEscalation: false` or `runAsNonRoot: true` would silently run the container
 * with fewer guarantees than the pod asked for, so those are reported unless `caps.securityContext` lists
 * them. The one exception is `privileged: false`, which asks for nothing (it is the default).
 */
import type { Container, Pod, PodSpec } from "./kube/types.js";
import type { ProbeHandler, ProviderCapabilities } from "./provider.js";

/** One field of a pod the provider cannot run. */
export interface UnsupportedField {
  /** JSON path of the field, e.g. `spec.volumes[2].persistentVolumeClaim`. */
  field: string;
  /** E.g. `spec.volumes[2].persistentVolumeClaim is not supported by provider aci`. */
  message: string;
}

/** Resources every provider must accept; any other requests/limits key must be in `caps.extendedResources`. */
const STANDARD_RESOURCES = new Set(["cpu", "memory", "ephemeral-storage"]);
const PROBE_FIELDS = [
  ["liveness", "livenessProbe"],
  ["readiness", "readinessProbe"],
  ["startup", "startupProbe"],
] as const;
const PROBE_HANDLERS: readonly ProbeHandler[] = ["exec", "httpGet", "tcpSocket", "grpc"];

type EphemeralContainer = NonNullable<PodSpec["ephemeralContainers"]>[number];
type AnyContainer = Container | EphemeralContainer;

/** Every field of `pod` that `caps` does not cover; empty when the provider can run the pod. */
export function validatePodAgainstCapabilities(
  pod: Pod,
  providerName: string,
  caps: ProviderCapabilities,
): UnsupportedField[] {
  const problems: UnsupportedField[] = [];
  const spec = pod.spec;
  if (spec === undefined) return problems;

  const report = (field: string, value?: string, supported?: readonly string[]) => {
    const shown = value === undefined ? field : `${field} "${value}"`;
    const hint =
      supported === undefined ? "" : ` (supported: ${supported.length > 0 ? supported.join(", ") : "none"})`;
    problems.push({ field, message: `${shown} is not supported by provider ${providerName}${hint}` });
  };

  const restartPolicy = spec.restartPolicy ?? "Always";
  if (!(caps.restartPolicies as readonly string[]).includes(restartPolicy)) {
    report("spec.restartPolicy", restartPolicy, caps.restartPolicies);
  }
  if (spec.hostNetwork === true && !caps.hostNetwork) report("spec.hostNetwork");
  if (spec.hostPID === true && !caps.hostPID) report("spec.hostPID");
  if (spec.hostIPC === true && !caps.hostIPC) report("spec.hostIPC");
  // `hostUsers: false` asks for a user namespace: ignoring it would run the pod with less isolation.
  if (spec.hostUsers === false && caps.userNamespaces !== true) report("spec.hostUsers", "false");
  checkSecurityContext("spec.securityContext", spec.securityContext, caps, report);
  checkResources("spec.resources", spec.resources, caps, report);
  (spec.resourceClaims ?? []).forEach((_, i) => {
    report(`spec.resourceClaims[${i}]`);
  });

  (spec.volumes ?? []).forEach((volume, i) => {
    for (const [kind, source] of Object.entries(volume)) {
      if (kind === "name" || source == null) continue;
      if (!caps.volumes.includes(kind)) report(`spec.volumes[${i}].${kind}`);
    }
  });

  (spec.initContainers ?? []).forEach((c, i) => {
    const path = `spec.initContainers[${i}]`;
    if (c.restartPolicy === "Always") {
      if (!caps.sidecarContainers) report(`${path}.restartPolicy`, "Always");
    } else if (!caps.initContainers) {
      report(path);
    }
    checkContainer(path, c, caps, report);
  });
  spec.containers.forEach((c, i) => {
    checkContainer(`spec.containers[${i}]`, c, caps, report);
  });
  (spec.ephemeralContainers ?? []).forEach((c, i) => {
    const path = `spec.ephemeralContainers[${i}]`;
    if (!caps.ephemeralContainers) report(path);
    checkContainer(path, c, caps, report);
  });
  return problems;
}

/** One line for a pod status message or an Event: every problem's message, `; `-separated. */
export function unsupportedFieldsMessage(fields: readonly UnsupportedField[]): string {
  return fields.map((f) => f.message).join("; ");
}

type Report = (field: string, value?: string, supported?: readonly string[]) => void;

function checkContainer(path: string, c: AnyContainer, caps: ProviderCapabilities, report: Report): void {
  for (const [kind, field] of PROBE_FIELDS) {
    const probe = c[field];
    if (probe == null) continue;
    for (const handler of PROBE_HANDLERS) {
      if (probe[handler] != null && !caps.probes[kind].includes(handler))
        report(`${path}.${field}.${handler}`);
    }
  }
  checkSecurityContext(`${path}.securityContext`, c.securityContext, caps, report);
  checkResources(`${path}.resources`, c.resources, caps, report);
  (c.ports ?? []).forEach((port, j) => {
    const protocol = port.protocol ?? "TCP";
    if (!(caps.portProtocols as readonly string[]).includes(protocol)) {
      report(`${path}.ports[${j}].protocol`, protocol, caps.portProtocols);
    }
    // A host port binds the node's network namespace: only a provider that offers host networking has one.
    if (port.hostPort != null && port.hostPort !== 0 && !caps.hostNetwork)
      report(`${path}.ports[${j}].hostPort`);
  });
}

function checkSecurityContext(
  path: string,
  context: object | undefined,
  caps: ProviderCapabilities,
  report: Report,
): void {
  if (context == null) return;
  for (const [field, value] of Object.entries(context)) {
    if (field === "privileged") {
      if (value === true && !caps.privileged) report(`${path}.privileged`);
      continue;
    }
    if (isSet(value) && !caps.securityContext.includes(field)) report(`${path}.${field}`);
  }
}

function checkResources(
  path: string,
  resources:
    { requests?: Record<string, string>; limits?: Record<string, string>; claims?: unknown[] } | undefined,
  caps: ProviderCapabilities,
  report: Report,
): void {
  if (resources == null) return;
  for (const list of ["requests", "limits"] as const) {
    for (const name of Object.keys(resources[list] ?? {})) {
      // hugepages-* are not "standard" here: a virtual node has no host huge pages unless the provider says so.
      if (!STANDARD_RESOURCES.has(name) && !caps.extendedResources.includes(name))
        report(`${path}.${list}[${name}]`);
    }
  }
  // Dynamic resource allocation claims: no capability covers them.
  (resources.claims ?? []).forEach((_, i) => {
    report(`${path}.claims[${i}]`);
  });
}

/** Set to something: not null/undefined, not an empty list, not an object with nothing set in it. */
function isSet(value: unknown): boolean {
  if (value == null) return false;
  if (Array.isArray(value)) return value.length > 0;
  if (typeof value === "object") return Object.values(value).some(isSet);
  return true;
}
