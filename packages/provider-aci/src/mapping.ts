/**
 * Pod → ACI container group: a pure function of the resolved pod and the provider's options.
 * Everything ACI cannot express is rejected here with the pod field named, before any call.
 */
import { createHash } from "node:crypto";
import type {
  Container,
  ContainerGroup,
  ContainerPort,
  ContainerProbe,
  EnvironmentVariable,
  ImageRegistryCredential,
  InitContainerDefinition,
  SecurityContextDefinition,
  Volume,
  VolumeMount,
} from "@azure/arm-containerinstance";
import { InvalidInputError, UnsupportedError } from "@virtual-node/core";
import type { ResolvedContainer, ResolvedPod, ResolvedVolume } from "@virtual-node/core";
import {
  NAME_RULES,
  cloudName,
  fitToShape,
  ownershipTags,
  parseQuantity,
  podResources,
  splitEnv,
} from "@virtual-node/core/provider-kit";
import type { Shape, ShapeRow } from "@virtual-node/core/provider-kit";
import { AciAnnotations } from "./annotations.js";

type K8sContainer = NonNullable<NonNullable<ResolvedPod["pod"]["spec"]>["containers"]>[number];
type K8sProbe = NonNullable<K8sContainer["livenessProbe"]>;
type K8sVolume = NonNullable<NonNullable<ResolvedPod["pod"]["spec"]>["volumes"]>[number];

/** Tag keys the provider adds next to the kit's ownership tags. */
export const AciTags = {
  /** The shape chosen for the group (`<cpu>/<memoryGB>`), reported back as billed resources. */
  shape: "virtual-node-shape",
  /** A digest of the mounted files, to tell whether a running group's files are stale. */
  files: "virtual-node-files",
} as const;

/** The GPU SKUs ACI knows (swagger `GpuSku`). */
export const GPU_SKUS = ["K80", "P100", "V100"] as const;
/** One of {@link GPU_SKUS}. */
export type GpuSku = (typeof GPU_SKUS)[number];

const GIB = 1024 ** 3;

/**
 * ACI container group sizes the provider picks from: CPU in half cores up to `maxCpu`, memory in
 * 0.5 GB steps up to `maxMemoryGB` (Linux regions allow 4 cores / 16 GB per group by default), and
 * a GPU row (up to 4 GPUs, 24 cores, 448 GB: the V100 SKU's largest size) used only by pods that
 * ask for `nvidia.com/gpu`. Half-core steps keep every group at a size ACI accepts in all regions.
 */
export function aciShapes(maxCpu = 4, maxMemoryGB = 16): ShapeRow[] {
  const name = (cpu: number, memory: number) => `${String(cpu)}/${String(memory / GIB)}`;
  return [
    {
      cpu: { min: 0.5, max: maxCpu, step: 0.5 },
      memory: { min: 0.5 * GIB, max: maxMemoryGB * GIB, step: 0.5 * GIB },
      name,
    },
    {
      cpu: { min: 1, max: 24, step: 1 },
      memory: { min: GIB, max: 448 * GIB, step: GIB },
      name,
      "nvidia.com/gpu": 4,
      gpu: true,
    },
  ];
}

/** The group-level inputs of the mapping that come from the provider's options, not the pod. */
export interface MappingOptions {
  nodeName: string;
  location: string;
  osType: "Linux" | "Windows";
  /** Subnet resource IDs: the group gets a private IP in them. */
  subnetIds?: readonly string[];
  /** DNS servers/search domains for groups (pods with `dnsPolicy: None` use their own `dnsConfig`). */
  dnsConfig?: { nameServers: string[]; searchDomains?: string[]; options?: string[] };
  /** Resource ID of the user-assigned identity every group gets unless the pod names one. */
  defaultIdentity?: string;
  /** Log Analytics workspace for container logs. */
  logAnalytics?: { workspaceId: string; workspaceKey: string };
  /** Extra tags on every group. */
  tags?: Record<string, string>;
  /** Default GPU SKU for `nvidia.com/gpu`. Default `V100`. */
  gpuSku?: GpuSku;
  /** Sizes to fit pods into (rows with `gpu: true` only for GPU pods). Default {@link aciShapes}(). */
  shapes?: readonly ShapeRow[];
  /** Registry credentials for every group (e.g. an ACR the agent's identity cannot reach). */
  registryCredentials?: readonly ImageRegistryCredential[];
}

/** The mapped group plus what the provider needs to know about the choice. */
export interface MappedGroup {
  name: string;
  group: ContainerGroup;
  shape: Shape;
  /** Digest of all mounted file contents (for change detection). */
  filesDigest: string;
}

/** The ACI container group name of a pod: the kit's hashed, valid, deterministic name. */
export function containerGroupName(ref: ResolvedPod["ref"]): string {
  return cloudName(ref, NAME_RULES.aciContainerGroup);
}

/** Maps a resolved pod to the ACI container group that runs it. Throws typed errors naming the field. */
export function toContainerGroup(pod: ResolvedPod, options: MappingOptions): MappedGroup {
  const spec = pod.pod.spec;
  if (spec === undefined || spec.containers.length === 0 || pod.containers.length === 0) {
    throw new InvalidInputError("the pod has no containers", { field: "spec.containers" });
  }
  const annotations = pod.pod.metadata?.annotations ?? {};
  const name = containerGroupName(pod.ref);

  const resources = podResources(pod.pod);
  const wantsGpu = (resources.limits["nvidia.com/gpu"] ?? resources.requests["nvidia.com/gpu"] ?? 0) > 0;
  const table = (options.shapes ?? aciShapes()).filter((row) => (row.gpu === true) === wantsGpu);
  const fit = fitToShape(resources, table, { use: "max", extendedResources: ["nvidia.com/gpu"] });
  if (!fit.ok)
    throw new InvalidInputError(`the pod does not fit an ACI container group: ${fit.reason}`, {
      field: "spec.containers[].resources",
    });
  const shape = fit.shape;

  const volumes = mapVolumes(pod, spec.volumes ?? []);
  const gpu = gpuRequest(pod, annotations, options);

  const containers: Container[] = spec.containers.map((c, i) => {
    const resolved = resolvedContainer(pod.containers, c.name, `spec.containers[${String(i)}]`);
    const field = `spec.containers[${String(i)}]`;
    return {
      name: c.name,
      image: requireImage(c.image, field),
      command: commandOf(c, resolved, annotations, field),
      ports: portsOf(c, field),
      environmentVariables: envOf(resolved),
      resources: containerResources(pod, i, shape, gpu),
      volumeMounts: mountsOf(c.volumeMounts ?? [], volumes, field),
      livenessProbe: probeOf(c.livenessProbe, c, `${field}.livenessProbe`),
      readinessProbe: probeOf(c.readinessProbe, c, `${field}.readinessProbe`),
      securityContext: securityOf(c.securityContext, spec.securityContext, `${field}.securityContext`),
    };
  });
  const initContainers: InitContainerDefinition[] = (spec.initContainers ?? []).map((c, i) => {
    const field = `spec.initContainers[${String(i)}]`;
    if (c.restartPolicy === "Always")
      throw new UnsupportedError("sidecar containers are not supported by ACI", {
        field: `${field}.restartPolicy`,
      });
    const resolved = resolvedContainer(pod.initContainers, c.name, field);
    return {
      name: c.name,
      image: requireImage(c.image, field),
      command: commandOf(c, resolved, annotations, field),
      environmentVariables: envOf(resolved),
      volumeMounts: mountsOf(c.volumeMounts ?? [], volumes, field),
      securityContext: securityOf(c.securityContext, spec.securityContext, `${field}.securityContext`),
    };
  });

  for (const key of ["hostNetwork", "hostPID", "hostIPC"] as const) {
    if (spec[key] === true)
      throw new UnsupportedError(`${key} is not supported by ACI`, { field: `spec.${key}` });
  }

  const group: ContainerGroup = {
    location: options.location,
    tags: {
      ...options.tags,
      ...ownershipTags(pod.ref, options.nodeName),
      [AciTags.shape]: shape.name,
      [AciTags.files]: volumes.digest,
    },
    osType: options.osType,
    restartPolicy: spec.restartPolicy ?? "Always",
    containers,
    ...(initContainers.length > 0 ? { initContainers } : {}),
    ...(volumes.volumes.length > 0 ? { volumes: volumes.volumes } : {}),
  };

  const credentials = registryCredentials(pod, options);
  if (credentials.length > 0) group.imageRegistryCredentials = credentials;

  const identity = annotations[AciAnnotations.identity] ?? options.defaultIdentity;
  if (identity !== undefined)
    group.identity = { type: "UserAssigned", userAssignedIdentities: { [identity]: {} } };

  const priority = annotations[AciAnnotations.priority];
  if (priority !== undefined) {
    if (priority !== "Spot" && priority !== "Regular")
      throw new InvalidInputError(`priority must be Spot or Regular, got "${priority}"`, {
        field: `metadata.annotations[${AciAnnotations.priority}]`,
      });
    group.priority = priority;
  }
  const sku = annotations[AciAnnotations.sku];
  if (sku !== undefined) {
    if (sku !== "Standard" && sku !== "Dedicated" && sku !== "Confidential")
      throw new InvalidInputError(`sku must be Standard, Dedicated or Confidential, got "${sku}"`, {
        field: `metadata.annotations[${AciAnnotations.sku}]`,
      });
    group.sku = sku;
    const policy = annotations[AciAnnotations.ccePolicy];
    if (sku === "Confidential" && policy !== undefined)
      group.confidentialComputeProperties = { ccePolicy: policy };
  }

  const ports = containers.flatMap((c) => c.ports ?? []);
  const ipType = annotations[AciAnnotations.ipAddressType];
  const dnsNameLabel = annotations[AciAnnotations.dnsNameLabel];
  const subnets = options.subnetIds ?? [];
  if (ipType !== undefined && ipType !== "Public" && ipType !== "Private")
    throw new InvalidInputError(`ip-address-type must be Public or Private, got "${ipType}"`, {
      field: `metadata.annotations[${AciAnnotations.ipAddressType}]`,
    });
  const type = ipType ?? (dnsNameLabel !== undefined ? "Public" : subnets.length > 0 ? "Private" : "Public");
  if (type === "Private") {
    if (subnets.length === 0)
      throw new InvalidInputError("a private IP needs the subnetIds option", {
        field: `metadata.annotations[${AciAnnotations.ipAddressType}]`,
      });
    group.subnetIds = subnets.map((id) => ({ id }));
  }
  if (ports.length > 0 || dnsNameLabel !== undefined) {
    group.ipAddress = {
      type,
      ports: (ports.length > 0 ? ports : [{ port: 80, protocol: "TCP" }]).map((p) => ({
        port: p.port,
        protocol: p.protocol ?? "TCP",
      })),
      ...(dnsNameLabel === undefined ? {} : { dnsNameLabel }),
    };
  }

  const dns =
    spec.dnsPolicy === "None" && spec.dnsConfig !== undefined
      ? {
          nameServers: spec.dnsConfig.nameservers ?? [],
          searchDomains: spec.dnsConfig.searches ?? [],
          options: (spec.dnsConfig.options ?? []).map((o) =>
            o.value === undefined ? (o.name ?? "") : `${o.name ?? ""}:${o.value}`,
          ),
        }
      : options.dnsConfig;
  if (dns !== undefined) {
    if (dns.nameServers.length === 0)
      throw new InvalidInputError("dnsConfig needs at least one nameserver", {
        field: "spec.dnsConfig.nameservers",
      });
    const searches = dns.searchDomains ?? [];
    const opts = dns.options ?? [];
    group.dnsConfig = {
      nameServers: [...dns.nameServers],
      ...(searches.length > 0 ? { searchDomains: searches.join(" ") } : {}),
      ...(opts.length > 0 ? { options: opts.join(" ") } : {}),
    };
  }
  if (options.logAnalytics !== undefined) {
    group.diagnostics = {
      logAnalytics: {
        workspaceId: options.logAnalytics.workspaceId,
        workspaceKey: options.logAnalytics.workspaceKey,
      },
    };
  }
  return { name, group, shape, filesDigest: volumes.digest };
}

function resolvedContainer(
  list: readonly ResolvedContainer[],
  name: string,
  field: string,
): ResolvedContainer {
  const found = list.find((c) => c.name === name);
  if (found === undefined) throw new InvalidInputError(`container ${name} was not resolved`, { field });
  return found;
}

function requireImage(image: string | undefined, field: string): string {
  if (image === undefined || image === "")
    throw new InvalidInputError("a container needs an image", { field: `${field}.image` });
  return image;
}

/**
 * ACI has one exec-form `command` (entrypoint and arguments together). Pod `command` + `args` map
 * onto it directly; `args` without `command` needs the image's entrypoint, which ACI cannot keep:
 * it comes from the pod annotation `aci.virtual-node.io/entrypoint.<container>` (a JSON array) or
 * the pod is rejected naming the field.
 */
function commandOf(
  c: K8sContainer,
  resolved: ResolvedContainer,
  annotations: Record<string, string>,
  field: string,
): string[] | undefined {
  const command = resolved.command ?? c.command;
  const args = resolved.args ?? c.args;
  if (command !== undefined && command.length > 0) return [...command, ...(args ?? [])];
  if (args === undefined || args.length === 0) return undefined;
  const key = `${AciAnnotations.entrypointPrefix}${c.name}`;
  const entry = annotations[key];
  if (entry === undefined) {
    throw new InvalidInputError(
      `ACI cannot replace an image's arguments while keeping its entrypoint: set command, or give the entrypoint in the annotation ${key}`,
      { field: `${field}.args` },
    );
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(entry);
  } catch {
    parsed = undefined;
  }
  if (!Array.isArray(parsed) || parsed.length === 0 || !parsed.every((p) => typeof p === "string"))
    throw new InvalidInputError(`annotation ${key} must be a JSON array of strings`, {
      field: `metadata.annotations[${key}]`,
    });
  return [...parsed, ...args];
}

function portsOf(c: K8sContainer, field: string): ContainerPort[] | undefined {
  const ports = (c.ports ?? []).map((p, i) => {
    const protocol = p.protocol ?? "TCP";
    if (protocol !== "TCP" && protocol !== "UDP")
      throw new UnsupportedError(`ACI supports TCP and UDP ports, not ${protocol}`, {
        field: `${field}.ports[${String(i)}].protocol`,
      });
    if (p.hostPort !== undefined && p.hostPort !== p.containerPort)
      throw new UnsupportedError("ACI cannot map a host port to a different container port", {
        field: `${field}.ports[${String(i)}].hostPort`,
      });
    return { port: p.containerPort, protocol };
  });
  return ports.length > 0 ? ports : undefined;
}

/** Env with every Secret-derived value as an ACI `secureValue` (never returned by ACI, never logged). */
function envOf(resolved: ResolvedContainer): EnvironmentVariable[] {
  // The kit decides what is secret; declaration order is kept.
  const secure = new Set(splitEnv(resolved).secret);
  return resolved.env.map((e) =>
    secure.has(e) ? { name: e.name, secureValue: e.value } : { name: e.name, value: e.value },
  );
}

interface GpuAsk {
  count: number;
  sku: GpuSku;
  /** Index of the container that asked for it. */
  container: number;
}

function gpuRequest(
  pod: ResolvedPod,
  annotations: Record<string, string>,
  options: MappingOptions,
): GpuAsk | undefined {
  const containers = pod.pod.spec?.containers ?? [];
  let ask: GpuAsk | undefined;
  containers.forEach((c, i) => {
    const raw = c.resources?.limits?.["nvidia.com/gpu"] ?? c.resources?.requests?.["nvidia.com/gpu"];
    if (raw === undefined) return;
    const count = Number(raw);
    if (!Number.isInteger(count) || count < 1)
      throw new InvalidInputError(`nvidia.com/gpu must be a whole number, got ${raw}`, {
        field: `spec.containers[${String(i)}].resources.limits[nvidia.com/gpu]`,
      });
    const sku = annotations[AciAnnotations.gpuSku] ?? options.gpuSku ?? "V100";
    if (!(GPU_SKUS as readonly string[]).includes(sku))
      throw new InvalidInputError(`GPU SKU must be one of ${GPU_SKUS.join(", ")}, got "${sku}"`, {
        field: `metadata.annotations[${AciAnnotations.gpuSku}]`,
      });
    if (ask !== undefined) {
      throw new UnsupportedError("only one container per ACI group may request GPUs", {
        field: `spec.containers[${String(i)}].resources.limits[nvidia.com/gpu]`,
      });
    }
    ask = { count, sku: sku as GpuSku, container: i };
  });
  return ask;
}

const round = (n: number, step: number) => Math.round(n / step) * step;

/**
 * Per-container requests inside the chosen shape: each container gets its own request (rounded
 * up to 0.01 core / 0.1 GB; a default of 0.1/0.1 when it asks for nothing), and the first
 * container gets what remains of the shape, so the group's total is exactly the shape ACI bills.
 * Limits (where given) stay within the shape and not below the request, as ACI requires.
 */
function containerResources(pod: ResolvedPod, index: number, shape: Shape, gpu: GpuAsk | undefined) {
  const containers = pod.pod.spec?.containers ?? [];
  const shapeGB = shape.memory / GIB;
  const own = (c: K8sContainer) => {
    const r = c.resources?.requests ?? {};
    const l = c.resources?.limits ?? {};
    const cpu = r.cpu ?? l.cpu;
    const memory = r.memory ?? l.memory;
    return {
      cpu: cpu === undefined ? 0.1 : Math.max(0.01, Math.ceil(parse(cpu) * 100) / 100),
      memoryInGB: memory === undefined ? 0.1 : Math.max(0.1, Math.ceil((parse(memory) / GIB) * 10) / 10),
    };
  };
  const others = containers.filter((_, i) => i !== 0).map(own);
  let requests: { cpu: number; memoryInGB: number };
  const current = containers[index];
  if (current === undefined) throw new InvalidInputError("container index out of range");
  if (index === 0) {
    requests = {
      cpu: round(Math.max(0.01, shape.cpu - others.reduce((s, o) => s + o.cpu, 0)), 0.01),
      memoryInGB: round(Math.max(0.1, shapeGB - others.reduce((s, o) => s + o.memoryInGB, 0)), 0.1),
    };
  } else {
    requests = own(current);
  }
  const limits = current.resources?.limits;
  const out: {
    requests: { cpu: number; memoryInGB: number; gpu?: { count: number; sku: GpuSku } };
    limits?: { cpu?: number; memoryInGB?: number };
  } = {
    requests: {
      ...requests,
      ...(gpu?.container === index ? { gpu: { count: gpu.count, sku: gpu.sku } } : {}),
    },
  };
  if (limits?.cpu !== undefined || limits?.memory !== undefined) {
    out.limits = {
      ...(limits.cpu === undefined
        ? {}
        : { cpu: Math.min(shape.cpu, Math.max(requests.cpu, Math.ceil(parse(limits.cpu) * 100) / 100)) }),
      ...(limits.memory === undefined
        ? {}
        : {
            memoryInGB: Math.min(
              shapeGB,
              Math.max(requests.memoryInGB, Math.ceil((parse(limits.memory) / GIB) * 10) / 10),
            ),
          }),
    };
  }
  return out;
}

const parse = (value: string | number): number => parseQuantity(value);

function probeOf(probe: K8sProbe | undefined, c: K8sContainer, field: string): ContainerProbe | undefined {
  if (probe === undefined) return undefined;
  const timing = {
    ...(probe.initialDelaySeconds === undefined ? {} : { initialDelaySeconds: probe.initialDelaySeconds }),
    ...(probe.periodSeconds === undefined ? {} : { periodSeconds: probe.periodSeconds }),
    ...(probe.failureThreshold === undefined ? {} : { failureThreshold: probe.failureThreshold }),
    ...(probe.successThreshold === undefined ? {} : { successThreshold: probe.successThreshold }),
    ...(probe.timeoutSeconds === undefined ? {} : { timeoutSeconds: probe.timeoutSeconds }),
  };
  if (probe.exec !== undefined) return { exec: { command: [...(probe.exec.command ?? [])] }, ...timing };
  if (probe.httpGet !== undefined) {
    const h = probe.httpGet;
    let port: number | undefined;
    if (typeof h.port === "number") port = h.port;
    else if (/^\d+$/.test(h.port)) port = Number(h.port);
    else port = c.ports?.find((p) => p.name === h.port)?.containerPort;
    if (port === undefined)
      throw new InvalidInputError(`probe port "${String(h.port)}" names no container port`, {
        field: `${field}.httpGet.port`,
      });
    if (h.host !== undefined)
      throw new UnsupportedError("ACI probes cannot set a host", { field: `${field}.httpGet.host` });
    const scheme = (h.scheme ?? "HTTP").toLowerCase();
    return {
      httpGet: {
        port,
        ...(h.path === undefined ? {} : { path: h.path }),
        scheme: scheme === "https" ? "https" : "http",
        ...(h.httpHeaders === undefined
          ? {}
          : { httpHeaders: h.httpHeaders.map((x) => ({ name: x.name, value: x.value })) }),
      },
      ...timing,
    };
  }
  const kind = probe.tcpSocket !== undefined ? "tcpSocket" : probe.grpc !== undefined ? "grpc" : "handler";
  throw new UnsupportedError(`ACI probes support exec and httpGet, not ${kind}`, {
    field: `${field}.${kind}`,
  });
}

type K8sSecurity = NonNullable<K8sContainer["securityContext"]>;
type K8sPodSecurity = NonNullable<NonNullable<ResolvedPod["pod"]["spec"]>["securityContext"]>;

/** The securityContext fields ACI accepts; anything else is rejected with its field. */
export const SUPPORTED_SECURITY_FIELDS = [
  "privileged",
  "allowPrivilegeEscalation",
  "capabilities",
  "runAsUser",
  "runAsGroup",
  "runAsNonRoot",
  "seccompProfile",
] as const;

function securityOf(
  sc: K8sSecurity | undefined,
  podSc: K8sPodSecurity | undefined,
  field: string,
): SecurityContextDefinition | undefined {
  for (const [key, value] of Object.entries(podSc ?? {})) {
    if (value === undefined) continue;
    if (!["runAsUser", "runAsGroup", "runAsNonRoot", "seccompProfile"].includes(key))
      throw new UnsupportedError(`pod securityContext.${key} is not supported by ACI`, {
        field: `spec.securityContext.${key}`,
      });
  }
  for (const [key, value] of Object.entries(sc ?? {})) {
    if (value === undefined) continue;
    if (!(SUPPORTED_SECURITY_FIELDS as readonly string[]).includes(key))
      throw new UnsupportedError(`securityContext.${key} is not supported by ACI`, {
        field: `${field}.${key}`,
      });
  }
  const runAsUser = sc?.runAsUser ?? podSc?.runAsUser;
  const runAsGroup = sc?.runAsGroup ?? podSc?.runAsGroup;
  const nonRoot = sc?.runAsNonRoot ?? podSc?.runAsNonRoot;
  if (nonRoot === true && (runAsUser === undefined || runAsUser === 0))
    throw new UnsupportedError("ACI cannot verify runAsNonRoot against the image; set a nonzero runAsUser", {
      field: `${field}.runAsNonRoot`,
    });
  const seccomp = sc?.seccompProfile ?? podSc?.seccompProfile;
  if (seccomp !== undefined && seccomp.type !== "RuntimeDefault")
    throw new UnsupportedError(
      `seccompProfile ${seccomp.type} is not supported by ACI (RuntimeDefault is its default)`,
      { field: `${field}.seccompProfile` },
    );
  const out: SecurityContextDefinition = {
    ...(sc?.privileged === undefined ? {} : { privileged: sc.privileged }),
    ...(sc?.allowPrivilegeEscalation === undefined
      ? {}
      : { allowPrivilegeEscalation: sc.allowPrivilegeEscalation }),
    ...(sc?.capabilities === undefined
      ? {}
      : {
          capabilities: {
            ...(sc.capabilities.add ? { add: [...sc.capabilities.add] } : {}),
            ...(sc.capabilities.drop ? { drop: [...sc.capabilities.drop] } : {}),
          },
        }),
    ...(runAsUser === undefined ? {} : { runAsUser }),
    ...(runAsGroup === undefined ? {} : { runAsGroup }),
  };
  return Object.keys(out).length > 0 ? out : undefined;
}

interface MappedVolumes {
  volumes: Volume[];
  /** Pod volume name → ACI volumes with the sub-path (relative to the mount) each mounts at. */
  mounts: Map<string, { name: string; subdir: string }[]>;
  digest: string;
}

/**
 * Volumes. ACI secret volumes hold flat files (`name → base64`), so a file volume with nested
 * paths becomes one ACI secret volume per directory, mounted at the matching sub-path. ConfigMap
 * files travel the same way (2023-05-01 has no configMap volume); ACI never returns their content.
 */
function mapVolumes(pod: ResolvedPod, specVolumes: readonly K8sVolume[]): MappedVolumes {
  const volumes: Volume[] = [];
  const mounts = new Map<string, { name: string; subdir: string }[]>();
  const digest = createHash("sha256");
  const byName = new Map(pod.volumes.map((v) => [v.name, v]));
  specVolumes.forEach((sv, i) => {
    const field = `spec.volumes[${String(i)}]`;
    const resolved = byName.get(sv.name);
    if (sv.emptyDir !== undefined) {
      volumes.push({ name: sv.name, emptyDir: {} });
      mounts.set(sv.name, [{ name: sv.name, subdir: "" }]);
      return;
    }
    if (sv.gitRepo !== undefined) {
      volumes.push({
        name: sv.name,
        gitRepo: {
          repository: sv.gitRepo.repository,
          ...(sv.gitRepo.revision === undefined ? {} : { revision: sv.gitRepo.revision }),
          ...(sv.gitRepo.directory === undefined ? {} : { directory: sv.gitRepo.directory }),
        },
      });
      mounts.set(sv.name, [{ name: sv.name, subdir: "" }]);
      return;
    }
    if (sv.persistentVolumeClaim !== undefined) {
      volumes.push({ name: sv.name, azureFile: azureFileOf(resolved, `${field}.persistentVolumeClaim`) });
      mounts.set(sv.name, [{ name: sv.name, subdir: "" }]);
      return;
    }
    if (
      sv.configMap !== undefined ||
      sv.secret !== undefined ||
      sv.projected !== undefined ||
      sv.downwardAPI !== undefined
    ) {
      const files = resolved?.files ?? [];
      const dirs = new Map<string, Record<string, string>>();
      for (const f of files) {
        const slash = f.path.lastIndexOf("/");
        const dir = slash < 0 ? "" : f.path.slice(0, slash);
        const base = f.path.slice(slash + 1);
        const entry = dirs.get(dir) ?? {};
        entry[base] = Buffer.from(f.content).toString("base64");
        dirs.set(dir, entry);
        digest.update(`${sv.name}/${f.path}\0`).update(f.content).update("\0");
      }
      if (dirs.size === 0) dirs.set("", {});
      const list: { name: string; subdir: string }[] = [];
      for (const [dir, secret] of dirs) {
        const volumeName =
          dir === "" ? sv.name : `${sv.name}-${createHash("sha256").update(dir).digest("hex").slice(0, 8)}`;
        volumes.push({ name: volumeName, secret });
        list.push({ name: volumeName, subdir: dir });
      }
      mounts.set(sv.name, list);
      return;
    }
    const kind = Object.keys(sv).find((k) => k !== "name") ?? "unknown";
    throw new UnsupportedError(`volume kind ${kind} is not supported by ACI`, { field: `${field}.${kind}` });
  });
  return { volumes, mounts, digest: digest.digest("hex").slice(0, 16) };
}

function secretValue(data: Record<string, Uint8Array> | undefined, key: string): string | undefined {
  const v = data?.[key];
  return v === undefined ? undefined : Buffer.from(v).toString("utf8");
}

/**
 * An Azure Files share from the bound PV: CSI `file.csi.azure.com` (share and account from the
 * volume attributes, else from the volume handle `rg#account#share#…`; key from the node-stage or
 * node-publish Secret) or in-tree `azureFile` (share name; account and key from its Secret).
 */
function azureFileOf(resolved: ResolvedVolume | undefined, field: string) {
  const pv = resolved?.persistentVolume;
  if (pv === undefined) throw new InvalidInputError("the claim is not bound to a volume yet", { field });
  if (pv.volumeMode === "Block")
    throw new UnsupportedError("ACI mounts file systems, not block volumes", { field });
  let shareName: string | undefined;
  let account: string | undefined;
  let key: string | undefined;
  if (pv.csi !== undefined) {
    if (pv.csi.driver !== "file.csi.azure.com")
      throw new UnsupportedError(
        `ACI mounts Azure Files only; CSI driver ${pv.csi.driver} is not supported`,
        { field },
      );
    const attrs = pv.csi.volumeAttributes;
    const handle = pv.csi.volumeHandle.split("#");
    shareName = attrs.shareName ?? attrs.sharename ?? handle[2];
    const secret = pv.csi.nodeStageSecret ?? pv.csi.nodePublishSecret;
    account =
      attrs.storageAccount ??
      attrs.storageaccount ??
      secretValue(secret?.data, "azurestorageaccountname") ??
      handle[1];
    key = secretValue(secret?.data, "azurestorageaccountkey");
  } else if (pv.azureFile !== undefined) {
    shareName = pv.azureFile.shareName;
    account = secretValue(pv.azureFile.secret.data, "azurestorageaccountname");
    key = secretValue(pv.azureFile.secret.data, "azurestorageaccountkey");
  } else {
    throw new UnsupportedError("ACI mounts Azure Files only (file.csi.azure.com or azureFile)", { field });
  }
  if (shareName === undefined || shareName === "")
    throw new InvalidInputError(`PV ${pv.volumeName} names no file share`, { field });
  if (account === undefined || account === "")
    throw new InvalidInputError(`PV ${pv.volumeName} names no storage account`, { field });
  if (key === undefined || key === "")
    throw new InvalidInputError(
      `PV ${pv.volumeName} has no storage account key (azurestorageaccountkey in its Secret)`,
      { field },
    );
  return {
    shareName,
    storageAccountName: account,
    storageAccountKey: key,
    ...(pv.readOnly ? { readOnly: true } : {}),
  };
}

function mountsOf(
  mounts: NonNullable<K8sContainer["volumeMounts"]>,
  volumes: MappedVolumes,
  field: string,
): VolumeMount[] | undefined {
  const out: VolumeMount[] = [];
  mounts.forEach((m, i) => {
    const f = `${field}.volumeMounts[${String(i)}]`;
    if (m.subPath !== undefined && m.subPath !== "")
      throw new UnsupportedError("ACI cannot mount a subPath", { field: `${f}.subPath` });
    if (m.subPathExpr !== undefined)
      throw new UnsupportedError("ACI cannot mount a subPathExpr", { field: `${f}.subPathExpr` });
    const targets = volumes.mounts.get(m.name);
    if (targets === undefined)
      throw new InvalidInputError(`volume ${m.name} is not defined`, { field: `${f}.name` });
    const base = m.mountPath.replace(/\/+$/, "");
    for (const t of targets) {
      out.push({
        name: t.name,
        mountPath: t.subdir === "" ? m.mountPath : `${base}/${t.subdir}`,
        ...(m.readOnly === true ? { readOnly: true } : {}),
      });
    }
  });
  return out.length > 0 ? out : undefined;
}

/**
 * The configured credentials plus the pod's pull-secret logins (resolved by core) → ACI registry
 * credentials. `password` is ARM's secret field (`x-ms-secret`: never returned by a GET). ACI wants
 * a bare login server, so a scheme and path (`https://index.docker.io/v1/`) are dropped.
 */
function registryCredentials(pod: ResolvedPod, options: MappingOptions): ImageRegistryCredential[] {
  const out: ImageRegistryCredential[] = [...(options.registryCredentials ?? [])];
  for (const login of pod.imagePullSecrets ?? []) {
    const server = login.server.replace(/^https?:\/\//, "").replace(/\/.*$/, "");
    if (out.some((c) => c.server === server)) continue; // the first login for a server wins, as in the kubelet's keyring order
    out.push({ server, username: login.username, password: login.password });
  }
  return out;
}
