/**
 * The high-availability options and their resolution: client-go leaderelection defaults, checked so
 * that the fence always lapses before another replica may take a node over.
 */
import * as os from "node:os";
import { InvalidInputError } from "../errors.js";

/**
 * Run several agent replicas for the same virtual nodes; each node is acted for by exactly one of
 * them at a time, the holder of its ownership Lease (docs/high-availability.md).
 */
export interface HighAvailabilityOptions {
  /** This replica's identity, unique among replicas. Default: `${os.hostname()}-${process.pid}`. */
  identity?: string;
  /**
   * Namespace of the ownership Leases (coordination.k8s.io/v1), one per virtual node, named
   * `virtual-node-owner-<nodeName>`, plus one membership Lease per replica. Required.
   */
  namespace: string;
  /** How long a Lease is valid after its last renewal, as other replicas see it. Default 15 s. */
  leaseDurationSeconds?: number;
  /** A replica that has not renewed a node's Lease for this long stops acting for it. Default 10 s. */
  renewDeadlineSeconds?: number;
  /** Interval of renewals and of ownership decisions. Default 2 s. */
  retryPeriodSeconds?: number;
}

/** The options with defaults applied, in milliseconds. */
export interface ResolvedHighAvailability {
  identity: string;
  namespace: string;
  leaseDurationMs: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
  /** A new replica must have been live this long before others hand nodes to it (2 × lease duration). */
  stabilizationMs: number;
  /** A free node preferred by another live replica is left to it for this long (one lease duration). */
  freeGraceMs: number;
  /** At most this many nodes are acquired, and this many released, per round. */
  maxChangesPerRound: number;
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

function seconds(value: number | undefined, fallback: number, field: string): number {
  const v = value ?? fallback;
  if (!Number.isFinite(v) || v <= 0)
    throw new InvalidInputError(`${field} must be a positive number of seconds, got ${String(v)}`, { field });
  return Math.round(v * 1000);
}

/** Applies defaults and checks the timing invariants; `nodeCount` sizes the per-round cap. */
export function resolveHighAvailability(
  options: HighAvailabilityOptions,
  nodeCount: number,
): ResolvedHighAvailability {
  const namespace = options.namespace as string | undefined;
  if (namespace === undefined || namespace.length > 63 || !DNS_LABEL.test(namespace)) {
    throw new InvalidInputError(
      `highAvailability.namespace ${JSON.stringify(namespace)} is not a valid namespace name`,
      { field: "highAvailability.namespace" },
    );
  }
  const identity = options.identity ?? `${os.hostname()}-${String(process.pid)}`;
  if (identity.length === 0 || identity.length > 128) {
    throw new InvalidInputError("highAvailability.identity must be 1 to 128 characters", {
      field: "highAvailability.identity",
    });
  }
  const leaseDurationMs = seconds(options.leaseDurationSeconds, 15, "highAvailability.leaseDurationSeconds");
  const renewDeadlineMs = seconds(options.renewDeadlineSeconds, 10, "highAvailability.renewDeadlineSeconds");
  const retryPeriodMs = seconds(options.retryPeriodSeconds, 2, "highAvailability.retryPeriodSeconds");
  // The margin leaseDuration − renewDeadline is what protects against two owners: the old owner
  // stops writing at renewDeadline, the others take over no earlier than leaseDuration.
  if (renewDeadlineMs >= leaseDurationMs) {
    throw new InvalidInputError(
      "highAvailability.renewDeadlineSeconds must be shorter than leaseDurationSeconds",
      { field: "highAvailability.renewDeadlineSeconds" },
    );
  }
  // client-go: renewDeadline > 1.2 × retryPeriod, so at least one retry fits before the fence lapses.
  if (renewDeadlineMs <= 1.2 * retryPeriodMs) {
    throw new InvalidInputError(
      "highAvailability.renewDeadlineSeconds must be more than 1.2 × retryPeriodSeconds",
      { field: "highAvailability.renewDeadlineSeconds" },
    );
  }
  return {
    identity,
    namespace,
    leaseDurationMs,
    renewDeadlineMs,
    retryPeriodMs,
    stabilizationMs: 2 * leaseDurationMs,
    freeGraceMs: leaseDurationMs,
    maxChangesPerRound: Math.max(8, Math.ceil(nodeCount / 4)),
  };
}
