/**
 * Pure node mapping: interLink's ping answer → the node's capacity, taints and labels.
 *
 * `/pinglink` answers either a `PingResponse` JSON (status, resources, taints) or, from older
 * sites, plain text; readiness is the HTTP status alone, as interLink's own virtual kubelet decides
 * it. Taints follow interLink's rule: present (even empty) replaces the site's taints, absent
 * keeps the configured ones.
 */
import type { NodeDescription } from "@virtual-node/core";
import type { PingResponse } from "./api-types.js";

/** Parses a ping body; `undefined` for a plain-text (or otherwise unstructured) answer. */
export function parsePing(text: string): PingResponse | undefined {
  const trimmed = text.trim();
  if (!trimmed.startsWith("{")) return undefined;
  try {
    const value = JSON.parse(trimmed) as PingResponse | null;
    return typeof value === "object" && value !== null && !Array.isArray(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

type Taint = NonNullable<NodeDescription["taints"]>[number];

const EFFECTS = new Set(["NoSchedule", "PreferNoSchedule", "NoExecute"]);

function taintsOf(ping: PingResponse): Taint[] | undefined {
  if (ping.taints === undefined) return undefined;
  return (ping.taints ?? [])
    .filter((t) => typeof t.key === "string" && t.key !== "")
    .map((t) => ({
      key: t.key,
      ...(t.value === undefined || t.value === "" ? {} : { value: t.value }),
      // interLink maps an unknown effect to NoSchedule.
      effect: EFFECTS.has(t.effect) ? t.effect : "NoSchedule",
    }));
}

/** The node description from a ping answer over the configured defaults (the site's figures win). */
export function describeFromPing(ping: PingResponse | undefined, defaults: NodeDescription): NodeDescription {
  const site: Record<string, string> = {};
  const resources = ping?.resources;
  if (resources?.cpu) site.cpu = resources.cpu;
  if (resources?.memory) site.memory = resources.memory;
  if (resources?.pods) site.pods = resources.pods;
  for (const a of resources?.accelerators ?? []) {
    if (a.resourceType && a.available) site[a.resourceType] = a.available;
  }
  const capacity = { ...defaults.capacity, ...site };
  const taints = ping === undefined ? undefined : taintsOf(ping);
  const description: NodeDescription = {
    ...defaults,
    operatingSystem: defaults.operatingSystem ?? "linux",
    architecture: defaults.architecture ?? "amd64",
  };
  if (Object.keys(capacity).length > 0) {
    description.capacity = capacity;
    description.allocatable = { ...(defaults.allocatable ?? defaults.capacity), ...site };
  }
  if (taints !== undefined) description.taints = taints;
  return description;
}
