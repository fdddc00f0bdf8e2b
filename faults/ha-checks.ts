/**
 * The pure checks of the sharding scenario, on what the API server and the cloud recorded: the
 * apiserver's audit log of Lease writes (exact: one event per request the API server answered) and the
 * cloud's call log with each call's replica and node.
 *
 * - who held each node's ownership Lease when (`holderTimeline`), and whether every cloud call for a node
 *   came from its holder at that moment (`callsByNonHolders`): never two owners of a node at once;
 * - how many ownership moves each node had (`ownershipMoves`): hand-overs without thrashing;
 * - the Lease write rate over a window and the gaps between one holder's renewals (`leaseWriteStats`);
 * - the fair-share bound of rendezvous hashing (`fairShareBound`).
 */
import type { CloudCall } from "./support.js";

/** Ownership Lease name of a virtual node (core's `ownerLeaseName`). */
export const OWNER_LEASE_PREFIX = "virtual-node-owner-";
/** Membership Lease name of a replica (core's `memberLeaseName`). */
export const MEMBER_LEASE_PREFIX = "virtual-node-member-";

/** One Lease write as the API server's audit log has it (stage ResponseComplete). */
export interface LeaseWrite {
  /** When the API server received the request (ms since the epoch). */
  readonly receivedAt: number;
  /** When the API server completed it (ms since the epoch). */
  readonly completedAt: number;
  readonly verb: string;
  readonly namespace: string;
  readonly name: string;
  /** HTTP status code of the answer. */
  readonly code: number;
  /** `spec.holderIdentity` of the request body ("" for a release); undefined without a body. */
  readonly holder: string | undefined;
}

interface AuditEvent {
  stage?: string;
  verb?: string;
  objectRef?: { resource?: string; namespace?: string; name?: string };
  responseStatus?: { code?: number };
  requestObject?: { metadata?: { name?: string }; spec?: { holderIdentity?: string } };
  requestReceivedTimestamp?: string;
  stageTimestamp?: string;
}

/**
 * The Lease writes (create, update, patch, delete) of an apiserver audit log in JSON lines; other events,
 * other stages and lines that are not JSON are skipped.
 */
export function parseLeaseAudit(text: string): LeaseWrite[] {
  const writes: LeaseWrite[] = [];
  for (const line of text.split("\n")) {
    if (!line.startsWith("{")) continue;
    let event: AuditEvent;
    try {
      event = JSON.parse(line) as AuditEvent;
    } catch {
      continue; // a line being written while we read
    }
    if (event.stage !== "ResponseComplete" || event.objectRef?.resource !== "leases") continue;
    const verb = event.verb ?? "";
    if (!["create", "update", "patch", "delete"].includes(verb)) continue;
    writes.push({
      receivedAt: Date.parse(event.requestReceivedTimestamp ?? ""),
      completedAt: Date.parse(event.stageTimestamp ?? ""),
      verb,
      namespace: event.objectRef.namespace ?? "",
      name: event.objectRef.name ?? event.requestObject?.metadata?.name ?? "",
      code: event.responseStatus?.code ?? 0,
      holder: event.requestObject?.spec?.holderIdentity,
    });
  }
  return writes.sort((a, b) => a.completedAt - b.completedAt);
}

const succeeded = (w: LeaseWrite) => w.code >= 200 && w.code < 300;

/** A change of a node's holder: from `at` (the write's completion) the node is `holder`'s ("" = nobody's). */
export interface HolderChange {
  readonly at: number;
  readonly holder: string;
}

/**
 * Each node's holders over time, from the successful writes of its ownership Lease in `namespace`:
 * only the changes (a renewal by the same holder is not one). A release writes holder "".
 */
export function holderTimeline(
  writes: readonly LeaseWrite[],
  namespace: string,
): Map<string, HolderChange[]> {
  const timeline = new Map<string, HolderChange[]>();
  for (const write of writes) {
    if (write.namespace !== namespace || !write.name.startsWith(OWNER_LEASE_PREFIX) || !succeeded(write))
      continue;
    const node = write.name.slice(OWNER_LEASE_PREFIX.length);
    const holder = write.verb === "delete" ? "" : (write.holder ?? "");
    const changes = timeline.get(node) ?? [];
    if (changes.at(-1)?.holder !== holder) changes.push({ at: write.completedAt, holder });
    timeline.set(node, changes);
  }
  return timeline;
}

/** The holder of a node at `at` by its timeline ("" before the first write and while released). */
export function holderAt(changes: readonly HolderChange[], at: number): string {
  let holder = "";
  for (const change of changes) {
    if (change.at > at) break;
    holder = change.holder;
  }
  return holder;
}

/** A cloud call for a node made by a replica that did not hold the node at that moment. */
export interface ForeignCall {
  readonly node: string;
  readonly caller: string;
  readonly holder: string;
  readonly at: number;
  readonly call: string;
}

/**
 * Every cloud call made for a node (its `node` tag) by a replica other than the node's holder when the
 * proxy saw the call: with one owner at a time there are none. A call arrives at the proxy after its
 * sender acted, and an owner acts only after its acquisition completed and stops before its release is
 * written (or, killed, long before the Lease expires), so no tolerance is needed; `toleranceMs` allows
 * for clocks of different processes on one machine (none here: one clock).
 */
export function callsByNonHolders(
  calls: readonly CloudCall[],
  timeline: ReadonlyMap<string, readonly HolderChange[]>,
  toleranceMs = 0,
): ForeignCall[] {
  const foreign: ForeignCall[] = [];
  for (const call of calls) {
    if (call.node === undefined) continue;
    const changes = timeline.get(call.node) ?? [];
    const caller = call.caller ?? "<none>";
    const holder = holderAt(changes, call.at);
    if (holder === caller) continue;
    // Within the tolerance of a change to or from the caller: clock granularity, not a second owner.
    const near = changes.some(
      (c, i) =>
        Math.abs(c.at - call.at) <= toleranceMs && (c.holder === caller || changes[i - 1]?.holder === caller),
    );
    if (near) continue;
    foreign.push({ node: call.node, caller, holder, at: call.at, call: `${call.method} ${call.path}` });
  }
  return foreign;
}

/**
 * Ownership moves per node since `from`: changes from one replica to another, a release followed by an
 * acquisition counting once (a→""→b is one move, a→""→a none). The initial acquisition is not a move.
 */
export function ownershipMoves(
  timeline: ReadonlyMap<string, readonly HolderChange[]>,
  from = Number.NEGATIVE_INFINITY,
): Map<string, number> {
  const moves = new Map<string, number>();
  for (const [node, changes] of timeline) {
    let last = holderAt(changes, from);
    let count = 0;
    for (const change of changes) {
      if (change.at <= from || change.holder === "") continue;
      if (last !== "" && change.holder !== last) count++;
      last = change.holder;
    }
    moves.set(node, count);
  }
  return moves;
}

/** What the HA Leases of a namespace cost the API server over a window. */
export interface LeaseWriteStats {
  readonly windowMs: number;
  /** Successful writes of ownership Leases in the window. */
  readonly ownerWrites: number;
  /** Successful writes of membership Leases in the window. */
  readonly memberWrites: number;
  /** Writes answered with an error (409 conflicts, …) in the window. */
  readonly failedWrites: number;
  /** (owner + member writes) per second. */
  readonly perSecond: number;
  /** Longest gap between two successful writes of one ownership Lease by the same holder. */
  readonly maxRenewalGapMs: number;
  /** Renewal gaps longer than `lateAfterMs`: a renewal that missed its round. */
  readonly lateRenewals: number;
}

/**
 * The Lease writes of `namespace` received in [from, to), and the renewal gaps of each ownership Lease
 * (successive successful writes by the same holder; the first write in the window is measured from the
 * holder's write before it).
 */
export function leaseWriteStats(
  writes: readonly LeaseWrite[],
  options: { namespace: string; from: number; to: number; lateAfterMs: number },
): LeaseWriteStats {
  const { namespace, from, to, lateAfterMs } = options;
  let ownerWrites = 0;
  let memberWrites = 0;
  let failedWrites = 0;
  let maxRenewalGapMs = 0;
  let lateRenewals = 0;
  const lastWrite = new Map<string, LeaseWrite>();
  for (const write of [...writes].sort((a, b) => a.receivedAt - b.receivedAt)) {
    if (write.namespace !== namespace || write.receivedAt >= to) continue;
    const inWindow = write.receivedAt >= from;
    if (!succeeded(write)) {
      if (inWindow) failedWrites++;
      continue;
    }
    const owner = write.name.startsWith(OWNER_LEASE_PREFIX);
    if (inWindow && owner) ownerWrites++;
    if (inWindow && write.name.startsWith(MEMBER_LEASE_PREFIX)) memberWrites++;
    if (!owner) continue;
    const previous = lastWrite.get(write.name);
    lastWrite.set(write.name, write);
    if (!inWindow || previous === undefined || previous.holder !== write.holder || write.holder === "")
      continue;
    const gap = write.receivedAt - previous.receivedAt;
    maxRenewalGapMs = Math.max(maxRenewalGapMs, gap);
    if (gap > lateAfterMs) lateRenewals++;
  }
  const windowMs = to - from;
  return {
    windowMs,
    ownerWrites,
    memberWrites,
    failedWrites,
    perSecond: windowMs > 0 ? ((ownerWrites + memberWrites) * 1000) / windowMs : 0,
    maxRenewalGapMs,
    lateRenewals,
  };
}

/**
 * The range of nodes one of `replicas` replicas may hold out of `nodes` under rendezvous hashing: each
 * node picks a replica uniformly, so a replica's count is binomial(n, 1/m); `sigmas` standard deviations
 * either side of n/m (docs/high-availability.md states 6 σ over 1,000 nodes), clamped to [0, n].
 */
export function fairShareBound(
  nodes: number,
  replicas: number,
  sigmas: number,
): { min: number; max: number } {
  if (!Number.isInteger(nodes) || nodes < 0)
    throw new RangeError(`nodes must be a whole number ≥ 0, got ${nodes}`);
  if (!Number.isInteger(replicas) || replicas < 1)
    throw new RangeError(`replicas must be a whole number ≥ 1, got ${replicas}`);
  const mean = nodes / replicas;
  const sd = Math.sqrt(nodes * (1 / replicas) * (1 - 1 / replicas));
  return {
    min: Math.max(0, Math.ceil(mean - sigmas * sd)),
    max: Math.min(nodes, Math.floor(mean + sigmas * sd)),
  };
}
