/**
 * The coordination Leases of high availability: their names and labels, and the port the
 * coordinator reads and writes them through — a watch cache plus optimistic-concurrency writes.
 * `createKubeLeaseApi` is the API-server implementation; tests use an in-memory one.
 */
import { createHash } from "node:crypto";
import { isNotFound, type KubeClient } from "../kube/client.js";
import { paths } from "../kube/api.js";
import { Reflector } from "../kube/reflector.js";
import type { Lease } from "../kube/types.js";
import type { Logger } from "../logger.js";

/** Label on every HA Lease: `owner` (one per virtual node) or `member` (one per replica). */
export const HA_ROLE_LABEL = "virtual-node.io/ha-role";
/** Annotation of an ownership Lease: the virtual node it is for. */
export const HA_NODE_ANNOTATION = "virtual-node.io/node";
/**
 * Annotation of a membership Lease: a digest of the replica's node list. Replicas only share nodes
 * with members of the same fleet, so two fleets may use one namespace.
 */
export const HA_FLEET_ANNOTATION = "virtual-node.io/ha-fleet";

const OWNER_PREFIX = "virtual-node-owner-";
const MEMBER_PREFIX = "virtual-node-member-";

/** Longest node name whose ownership Lease name still fits a DNS subdomain (253). */
export const MAX_HA_NODE_NAME = 253 - OWNER_PREFIX.length;

/** `virtual-node-owner-<nodeName>`. */
export function ownerLeaseName(nodeName: string): string {
  return `${OWNER_PREFIX}${nodeName}`;
}

/** `virtual-node-member-<identity>`, the identity made a DNS name (plus a digest when it had to change). */
export function memberLeaseName(identity: string): string {
  const clean = identity
    .toLowerCase()
    .replace(/[^a-z0-9.-]+/g, "-")
    .replace(/^[^a-z0-9]+|[^a-z0-9]+$/g, "");
  if (clean === identity && clean.length > 0 && clean.length <= 200) return `${MEMBER_PREFIX}${clean}`;
  const digest = createHash("sha256").update(identity).digest("hex").slice(0, 10);
  return `${MEMBER_PREFIX}${clean.slice(0, 180) || "x"}-${digest}`;
}

/** The fleet digest of a node list (order does not matter). */
export function fleetDigest(nodeNames: readonly string[]): string {
  return createHash("sha256")
    .update([...nodeNames].sort().join("\n"))
    .digest("hex")
    .slice(0, 16);
}

/** Options of one Lease write. */
export interface LeaseWriteOptions {
  signal?: AbortSignal;
}

/**
 * The Leases of one namespace as the coordinator needs them. Writes reject with `KubeApiError`:
 * 409 (`isConflict`) when the resourceVersion is stale or the Lease already exists — someone else
 * won the race — and 404 (`isNotFound`) when it is gone.
 */
export interface LeaseApi {
  /** The HA Leases of the namespace as last observed (a watch cache), by name. */
  observed(): ReadonlyMap<string, Lease>;
  /** Called after every change of {@link observed}, with the Lease and whether it was deleted. */
  onChange(listener: (lease: Lease, deleted: boolean) => void): () => void;
  /** A fresh read, bypassing the cache. `undefined` when absent. */
  get(name: string, options?: LeaseWriteOptions): Promise<Lease | undefined>;
  create(lease: Lease, options?: LeaseWriteOptions): Promise<Lease>;
  /** Replaces the Lease with `lease.metadata.resourceVersion` as the precondition. */
  replace(lease: Lease, options?: LeaseWriteOptions): Promise<Lease>;
  /** Deletes the Lease; absent is fine. */
  delete(name: string, options?: LeaseWriteOptions): Promise<void>;
  /** Keeps {@link observed} current until `signal` aborts. */
  run(signal: AbortSignal): Promise<void>;
  /** Resolves once {@link observed} holds a first complete list. */
  waitForSync(signal: AbortSignal): Promise<void>;
}

/** The Leases of `namespace` through the API server: one watch, writes with resourceVersion. */
export function createKubeLeaseApi(client: KubeClient, namespace: string, logger: Logger): LeaseApi {
  const byName = new Map<string, Lease>();
  const listeners = new Set<(lease: Lease, deleted: boolean) => void>();
  const changed = (lease: Lease, deleted: boolean): void => {
    for (const listener of listeners) listener(lease, deleted);
  };
  const reflector = new Reflector<Lease>({
    client,
    path: paths.leases(namespace),
    labelSelector: HA_ROLE_LABEL,
    logger,
    handlers: {
      onUpsert: (lease) => {
        byName.set(lease.metadata?.name ?? "", lease);
        changed(lease, false);
      },
      onDelete: (lease) => {
        byName.delete(lease.metadata?.name ?? "");
        changed(lease, true);
      },
    },
  });
  return {
    observed: () => byName,
    onChange(listener) {
      listeners.add(listener);
      return () => {
        listeners.delete(listener);
      };
    },
    async get(name, options) {
      try {
        return await client.get<Lease>(paths.lease(namespace, name), options);
      } catch (error) {
        if (isNotFound(error)) return undefined;
        throw error;
      }
    },
    create: async (lease, options) => client.create<Lease>(paths.leases(namespace), lease, options),
    replace: async (lease, options) =>
      client.replace<Lease>(paths.lease(namespace, lease.metadata?.name ?? ""), lease, options),
    async delete(name, options) {
      try {
        await client.delete(paths.lease(namespace, name), undefined, options);
      } catch (error) {
        if (!isNotFound(error)) throw error;
      }
    },
    run: async (signal) => reflector.run(signal),
    waitForSync: async (signal) => reflector.waitForSync(signal),
  };
}
