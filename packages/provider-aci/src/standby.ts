/**
 * ACI standby pools: a `Microsoft.StandbyPool/standbyContainerGroupPools` pool keeps container
 * groups made from one revision of a container group profile
 * (`Microsoft.ContainerInstance/containerGroupProfiles`) provisioned and running. A container group
 * PUT whose body names the profile (`containerGroupProfile: { id, revision }`) and the pool
 * (`standbyPoolProfile: { id }`) takes one of them instead of provisioning a new one; with no ready
 * group in the pool ACI creates the group cold from the profile, unless
 * `failContainerGroupCreateOnReuseFailure` is set, when the PUT fails.
 *
 * A claimed group runs what the profile says, not what the pod says: so a pod may claim only when
 * the group the provider would create for it cold is the profile's group. {@link standbyClaim}
 * decides that (pure), and names the first difference when it is not.
 */
import { InvalidInputError } from "@virtual-node/core";
import type { ResolvedPod } from "@virtual-node/core";
import { AciAnnotations } from "./annotations.js";
import { toContainerGroup } from "./mapping.js";
import type { MappedGroup, MappingOptions } from "./mapping.js";

/** The `standbyPool` option of `createAciProvider`. */
export interface StandbyPoolOptions {
  /** Resource ID of the pool: `/subscriptions/…/resourceGroups/…/providers/Microsoft.StandbyPool/standbyContainerGroupPools/<name>`. */
  poolId: string;
  /** Resource ID of the profile the pool is made from: `/subscriptions/…/resourceGroups/…/providers/Microsoft.ContainerInstance/containerGroupProfiles/<name>`. */
  profileId: string;
  /** The profile revision the pool uses (the pool's `containerGroupProfile.revision`). */
  profileRevision: number;
  /**
   * Sent as `failContainerGroupCreateOnReuseFailure`. `false` (default): with no ready group in the
   * pool, ACI creates the group cold from the profile. `true`: the PUT fails instead; the pod stays
   * Pending and its create is retried (with core's backoff) until the pool has a ready group.
   */
  failOnReuseFailure?: boolean;
  /**
   * Which pods try the pool at all (before the fit check). `labels`: every one must be on the pod;
   * `namespaces`: the pod's namespace is one of them. Default: every pod is checked.
   */
  match?: { labels?: Record<string, string>; namespaces?: readonly string[] };
}

/** Pod annotations the provider writes (through the status) when a standby pool is configured. */
export const StandbyAnnotations = {
  /**
   * Which path the pod's group took: `standby-pool` (a pre-provisioned group was claimed; ARM's
   * `isCreatedFromStandbyPool`), `standby-fallback` (a claim was sent, the pool had no ready group
   * and ACI created the group cold from the profile), `cold` (the normal create).
   */
  startPath: "aci.virtual-node.io/start-path",
  /** Why a pod took the `cold` path (what did not fit the profile), while the agent knows it. */
  startPathReason: "aci.virtual-node.io/start-path-reason",
} as const;

/** The values of {@link StandbyAnnotations.startPath}. */
export type StartPath = "standby-pool" | "standby-fallback" | "cold";

/** api-version of claims and profile reads: 2023-05-01 (the SDK's) knows neither. */
export const STANDBY_API_VERSION = "2026-05-01";

/** A parsed ARM resource ID. */
export interface ArmResourceId {
  subscriptionId: string;
  resourceGroup: string;
  /** `Microsoft.StandbyPool/standbyContainerGroupPools`, … */
  type: string;
  name: string;
}

/** A container group profile revision as ARM returns it (`CGProfile_GetByRevisionNumber`), the parts read here. */
export interface ContainerGroupProfileResource {
  id?: string;
  name?: string;
  location?: string;
  properties?: {
    containers?: { name: string; properties?: Record<string, unknown> }[];
    initContainers?: { name: string; properties?: Record<string, unknown> }[];
    osType?: string;
    restartPolicy?: string;
    ipAddress?: Record<string, unknown>;
    volumes?: Record<string, unknown>[];
    sku?: string;
    priority?: string;
    diagnostics?: { logAnalytics?: { workspaceId?: string } };
    confidentialComputeProperties?: Record<string, unknown>;
    revision?: number;
    [other: string]: unknown;
  };
}

/** The claim: a container group PUT body (wire form, api-version {@link STANDBY_API_VERSION}). */
export interface StandbyClaimRequest {
  location: string;
  tags: Record<string, string>;
  properties: {
    containerGroupProfile: { id: string; revision: number };
    standbyPoolProfile: { id: string; failContainerGroupCreateOnReuseFailure: boolean };
    /** The profile's containers by name; everything else comes from the profile. */
    containers: { name: string; properties: Record<string, never> }[];
  };
}

/** What {@link standbyClaim} decided. Both carry the cold mapping (the fallback and the status use it). */
export type StandbyDecision =
  | { path: "claim"; mapped: MappedGroup; request: StandbyClaimRequest }
  | { path: "cold"; mapped: MappedGroup; reason: string };

/** Tag on claimed groups: a claim was sent (tells `standby-fallback` from `cold` after a restart). */
export const STANDBY_TAG = "virtual-node-start";

const ARM_ID = /^\/subscriptions\/([^/]+)\/resourceGroups\/([^/]+)\/providers\/([^/]+\/[^/]+)\/([^/]+)$/i;

/** Parses `/subscriptions/<s>/resourceGroups/<rg>/providers/<ns>/<type>/<name>`; undefined when it is not one. */
export function parseArmId(id: string): ArmResourceId | undefined {
  const m = ARM_ID.exec(id);
  if (m === null) return undefined;
  const [, subscriptionId = "", resourceGroup = "", type = "", name = ""] = m;
  return { subscriptionId, resourceGroup, type, name };
}

function fail(option: string, message: string): never {
  throw new InvalidInputError(`option ${option}: ${message}`, { field: `options.${option}` });
}

/**
 * Checks the `standbyPool` option: both IDs parsed (type, names, the provider's subscription),
 * a positive integer revision, a well-formed `match`. Throws `InvalidInputError` naming the field.
 */
export function validateStandbyPool(pool: StandbyPoolOptions, subscriptionId: string): void {
  const check = (key: "poolId" | "profileId", type: string, name: RegExp, rule: string) => {
    const value: unknown = pool[key];
    const parsed = typeof value === "string" ? parseArmId(value) : undefined;
    if (parsed === undefined || parsed.type.toLowerCase() !== type.toLowerCase())
      fail(`standbyPool.${key}`, `must be a ${type} resource ID (/subscriptions/…/providers/${type}/<name>)`);
    if (!name.test(parsed.name)) fail(`standbyPool.${key}`, `name "${parsed.name}" must be ${rule}`);
    if (parsed.subscriptionId.toLowerCase() !== subscriptionId.toLowerCase())
      fail(`standbyPool.${key}`, `must be in the provider's subscription ${subscriptionId}`);
  };
  const raw: unknown = pool; // options may come from untyped configuration files
  if (typeof raw !== "object" || raw === null) fail("standbyPool", "must be an object");
  check(
    "poolId",
    "Microsoft.StandbyPool/standbyContainerGroupPools",
    /^[a-zA-Z0-9-]{3,24}$/,
    "3-24 letters, digits or hyphens",
  );
  check(
    "profileId",
    "Microsoft.ContainerInstance/containerGroupProfiles",
    /^[a-zA-Z0-9]([-a-zA-Z0-9]{0,61}[a-zA-Z0-9])?$/,
    "1-63 letters, digits or inner hyphens",
  );
  if (!Number.isInteger(pool.profileRevision) || pool.profileRevision < 1)
    fail("standbyPool.profileRevision", "must be a positive integer");
  if (pool.failOnReuseFailure !== undefined && typeof pool.failOnReuseFailure !== "boolean")
    fail("standbyPool.failOnReuseFailure", "must be a boolean");
  const match = pool.match;
  if (match !== undefined) {
    for (const [k, v] of Object.entries(match.labels ?? {}))
      if (typeof v !== "string") fail(`standbyPool.match.labels.${k}`, "must be a string");
    if (match.namespaces !== undefined && (!Array.isArray(match.namespaces) || match.namespaces.length === 0))
      fail("standbyPool.match.namespaces", "must be a non-empty list of namespaces");
  }
}

/** Inputs of {@link standbyClaim} beyond the pod and the profile. */
export interface StandbyClaimOptions {
  /** The provider's mapping options (the cold group is mapped with them). */
  mapping: MappingOptions;
  pool: StandbyPoolOptions;
}

/**
 * Decides whether `pod` may claim a group of the pool made from `profile`, and builds the claim.
 *
 * The rule: the pod must opt in (`match`, and not annotated `aci.virtual-node.io/standby-pool:
 * never`), and the container group the provider would create for it cold must be the profile's
 * group: same OS, restart policy, SKU, priority, IP address (type, ports, DNS label), volumes, init
 * containers, and per container (same names, same order) image, command, ports, environment,
 * resource requests and limits (GPU included), volume mounts, probes and security context; the
 * Log Analytics workspace too. It must also need nothing a pre-provisioned group cannot be given:
 * no Secret-sourced environment (`secureValue`) and no files (Secret / ConfigMap / projected /
 * downward-API / token volumes, which carry the pod's own content), no managed identity and no DNS
 * configuration (neither is part of a profile). Not compared: the group's name, location and tags
 * (sent with the claim), registry credentials (the pool pulled the images) and subnets (the pool
 * resource has its own). Throws only what {@link toContainerGroup} throws for an invalid pod.
 */
export function standbyClaim(
  pod: ResolvedPod,
  profile: ContainerGroupProfileResource,
  options: StandbyClaimOptions,
): StandbyDecision {
  const mapped = toContainerGroup(pod, options.mapping);
  const cold = (reason: string): StandbyDecision => ({ path: "cold", mapped, reason });
  const meta = pod.pod.metadata ?? {};
  if (meta.annotations?.[AciAnnotations.standbyPool] === "never")
    return cold(`annotation ${AciAnnotations.standbyPool}: never`);
  const match = options.pool.match;
  if (match?.namespaces !== undefined && !match.namespaces.includes(pod.ref.namespace))
    return cold(`namespace ${pod.ref.namespace} is not in standbyPool.match.namespaces`);
  for (const [k, v] of Object.entries(match?.labels ?? {}))
    if (meta.labels?.[k] !== v) return cold(`label ${k}=${v} of standbyPool.match.labels is not on the pod`);

  const g = mapped.group;
  const secure = [...g.containers, ...(g.initContainers ?? [])].find((c) =>
    (c.environmentVariables ?? []).some((e) => e.secureValue !== undefined),
  );
  if (secure !== undefined)
    return cold(
      `container ${secure.name} has Secret-sourced environment; a pre-provisioned group cannot be given it`,
    );
  const files = (g.volumes ?? []).find((v) => v.secret !== undefined);
  if (files !== undefined)
    return cold(
      `volume ${files.name} carries the pod's files (Secret/ConfigMap/projected/token); a pre-provisioned group cannot be given them`,
    );
  if (g.identity !== undefined) return cold("the pod's group needs a managed identity; a profile has none");
  if (g.dnsConfig !== undefined) return cold("the pod's group needs a DNS configuration; a profile has none");

  const p = profile.properties ?? {};
  const wanted = comparable({
    osType: g.osType,
    restartPolicy: g.restartPolicy ?? "Always",
    sku: g.sku ?? "Standard",
    priority: g.priority ?? "Regular",
    ipAddress: ipView(g.ipAddress),
    volumes: volumesView(g.volumes),
    confidentialComputeProperties: g.confidentialComputeProperties,
    logAnalyticsWorkspace: g.diagnostics?.logAnalytics?.workspaceId,
    initContainers: (g.initContainers ?? []).map((c) => containerView(c)),
    containers: g.containers.map((c) => containerView(c)),
  });
  const offered = comparable({
    osType: p.osType,
    restartPolicy: p.restartPolicy ?? "Always",
    sku: p.sku ?? "Standard",
    priority: p.priority ?? "Regular",
    ipAddress: ipView(p.ipAddress),
    volumes: volumesView(p.volumes),
    confidentialComputeProperties: p.confidentialComputeProperties,
    logAnalyticsWorkspace: p.diagnostics?.logAnalytics?.workspaceId,
    initContainers: (p.initContainers ?? []).map((c) => containerView({ name: c.name, ...c.properties })),
    containers: (p.containers ?? []).map((c) => containerView({ name: c.name, ...c.properties })),
  });
  const diff = firstDifference(wanted, offered, "");
  if (diff !== undefined)
    return cold(`does not match profile revision ${String(options.pool.profileRevision)}: ${diff}`);

  return {
    path: "claim",
    mapped,
    request: {
      location: options.mapping.location,
      tags: { ...g.tags, [STANDBY_TAG]: "standby-claim" },
      properties: {
        containerGroupProfile: { id: options.pool.profileId, revision: options.pool.profileRevision },
        standbyPoolProfile: {
          id: options.pool.poolId,
          failContainerGroupCreateOnReuseFailure: options.pool.failOnReuseFailure ?? false,
        },
        containers: g.containers.map((c) => ({ name: c.name, properties: {} })),
      },
    },
  };
}

/** The fields of a container that decide what it runs (SDK and wire forms share their names). */
function containerView(container: { name: string }): Record<string, unknown> {
  const c = container as Record<string, unknown> & { name: string };
  const env = (c.environmentVariables as { name: string; value?: string }[] | undefined) ?? [];
  return {
    name: c.name,
    image: c.image,
    command: c.command,
    ports: ((c.ports as { port: number; protocol?: string }[] | undefined) ?? []).map((x) => ({
      port: x.port,
      protocol: x.protocol ?? "TCP",
    })),
    environmentVariables: [...env]
      .map((e) => ({ name: e.name, value: e.value ?? "" }))
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)),
    resources: c.resources,
    volumeMounts: (
      (c.volumeMounts as { name: string; mountPath: string; readOnly?: boolean }[] | undefined) ?? []
    ).map((m) => ({ name: m.name, mountPath: m.mountPath, readOnly: m.readOnly ?? false })),
    livenessProbe: c.livenessProbe,
    readinessProbe: c.readinessProbe,
    securityContext: c.securityContext,
  };
}

/** Volumes without storage keys (ARM never returns them; the pool's groups have the profile's). */
function volumesView(volumes: readonly object[] | undefined): unknown {
  return (volumes ?? []).map((v) => {
    const { azureFile, ...rest } = v as { azureFile?: Record<string, unknown> };
    if (azureFile === undefined) return rest;
    const file = { ...azureFile };
    delete file.storageAccountKey;
    return { ...rest, azureFile: file };
  });
}

function ipView(ip: unknown): unknown {
  if (ip === undefined || ip === null) return undefined;
  const x = ip as { type?: string; ports?: { port: number; protocol?: string }[]; dnsNameLabel?: string };
  return {
    type: x.type,
    ports: (x.ports ?? []).map((p) => ({ port: p.port, protocol: p.protocol ?? "TCP" })),
    dnsNameLabel: x.dnsNameLabel,
  };
}

/** Drops what is absent either way (undefined, null, empty arrays and objects, `readOnly: false`). */
function comparable(value: unknown): unknown {
  if (Array.isArray(value)) {
    const items = value.map(comparable);
    return items.length === 0 ? undefined : items;
  }
  if (typeof value === "object" && value !== null) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      const c = comparable(v);
      if (c !== undefined && !(k === "readOnly" && c === false)) out[k] = c;
    }
    return Object.keys(out).length === 0 ? undefined : out;
  }
  return value ?? undefined;
}

/** The first path where the pod's group and the profile differ, with both values. */
function firstDifference(wanted: unknown, offered: unknown, path: string): string | undefined {
  const show = (v: unknown) => (v === undefined ? "none" : JSON.stringify(v));
  const here = path === "" ? "group" : path;
  if (Array.isArray(wanted) && Array.isArray(offered)) {
    if (wanted.length !== offered.length)
      return `${here}: the pod has ${String(wanted.length)}, the profile ${String(offered.length)}`;
    for (let i = 0; i < wanted.length; i++) {
      const d = firstDifference(wanted[i], offered[i], `${path}[${String(i)}]`);
      if (d !== undefined) return d;
    }
    return undefined;
  }
  const isObject = (v: unknown): v is Record<string, unknown> =>
    typeof v === "object" && v !== null && !Array.isArray(v);
  if (isObject(wanted) && isObject(offered)) {
    for (const k of new Set([...Object.keys(wanted), ...Object.keys(offered)])) {
      const d = firstDifference(wanted[k], offered[k], path === "" ? k : `${path}.${k}`);
      if (d !== undefined) return d;
    }
    return undefined;
  }
  if (JSON.stringify(wanted) === JSON.stringify(offered)) return undefined;
  return `${here}: the pod's ${show(wanted)}, the profile's ${show(offered)}`;
}
