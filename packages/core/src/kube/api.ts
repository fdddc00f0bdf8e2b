/**
 * Paths, formats and small request helpers for the handful of API resources a node touches.
 */
import type { Lease, Node, Pod } from "./types.js";

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
  configMaps: (ns: string) => `/api/v1/namespaces/${ns}/configmaps`,
  secrets: (ns: string) => `/api/v1/namespaces/${ns}/secrets`,
  allServices: "/api/v1/services",
  persistentVolumeClaim: (ns: string, name: string) =>
    `/api/v1/namespaces/${ns}/persistentvolumeclaims/${name}`,
  persistentVolume: (name: string) => `/api/v1/persistentvolumes/${name}`,
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

export type { Lease, Node, Pod };
