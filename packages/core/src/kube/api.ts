/**
 * Paths, formats and small request helpers for the handful of API resources a node touches.
 */
import type { Lease, Node, Pod } from "./types.js";
import { isConflict, isNotFound, type KubeClient } from "./client.js";

export const paths = {
  pods: "/api/v1/pods",
  pod: (ns: string, name: string) => `/api/v1/namespaces/${ns}/pods/${name}`,
  podStatus: (ns: string, name: string) => `/api/v1/namespaces/${ns}/pods/${name}/status`,
  nodes: "/api/v1/nodes",
  node: (name: string) => `/api/v1/nodes/${name}`,
  nodeStatus: (name: string) => `/api/v1/nodes/${name}/status`,
  leases: (ns: string) => `/apis/coordination.k8s.io/v1/namespaces/${ns}/leases`,
  lease: (ns: string, name: string) => `/apis/coordination.k8s.io/v1/namespaces/${ns}/leases/${name}`,
  events: (ns: string) => `/api/v1/namespaces/${ns}/events`,
  event: (ns: string, name: string) => `/api/v1/namespaces/${ns}/events/${name}`,
  configMap: (ns: string, name: string) => `/api/v1/namespaces/${ns}/configmaps/${name}`,
  secret: (ns: string, name: string) => `/api/v1/namespaces/${ns}/secrets/${name}`,
  services: (ns: string) => `/api/v1/namespaces/${ns}/services`,
  serviceAccountToken: (ns: string, name: string) => `/api/v1/namespaces/${ns}/serviceaccounts/${name}/token`,
} as const;

export const NODE_LEASE_NAMESPACE = "kube-node-lease";

/**
 * `metav1.MicroTime` wants exactly six fractional digits; a plain `Date` serializes with three
 * and the API server rejects it.
 */
export function toMicroTime(date: Date): string {
  return date.toISOString().replace(/\.(\d{3})Z$/, ".$1000Z");
}

/** `metav1.Time`: RFC 3339 with second precision, as the API server stores it. */
export function toTime(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, "Z");
}

/** Reads a time field that may be a `Date` (client-node objects) or a string (raw JSON). */
export function timeOf(value: Date | string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const t = value instanceof Date ? value.getTime() : Date.parse(value);
  return Number.isNaN(t) ? undefined : t;
}

/**
 * Read-modify-write with conflict retry: `mutate` gets the latest object and returns the one to
 * write (or undefined to skip).
 */
export async function updateWithRetry<T extends { metadata?: { resourceVersion?: string } }>(
  client: KubeClient,
  path: string,
  mutate: (current: T) => T | undefined,
  options: { signal?: AbortSignal; attempts?: number; writePath?: string } = {},
): Promise<T | undefined> {
  const attempts = options.attempts ?? 5;
  for (let i = 0; ; i++) {
    const current = await client.get<T>(path, { signal: options.signal });
    const next = mutate(current);
    if (next === undefined) return current;
    try {
      return await client.replace<T>(options.writePath ?? path, next, { signal: options.signal });
    } catch (error) {
      if (!isConflict(error) || i + 1 >= attempts) throw error;
    }
  }
}

export async function getOrUndefined<T>(
  client: KubeClient,
  path: string,
  signal?: AbortSignal,
): Promise<T | undefined> {
  try {
    return await client.get<T>(path, { signal });
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
}

export type { Lease, Node, Pod };
