/**
 * Which replica acts for which node: rendezvous (highest-random-weight) hashing of each node over
 * the live replicas, plus the rules that make hand-overs calm — take free nodes you are preferred
 * for at once, others only after a grace; give a node to a newly preferred replica only once it has
 * been live for a stabilisation period; change a bounded number of nodes per round. Pure functions:
 * the coordinator feeds them what it observed.
 */
import { createHash } from "node:crypto";

/** The weight of `member` for `node`: a 48-bit integer from SHA-256 (uniform, stable everywhere). */
export function rendezvousWeight(node: string, member: string): number {
  return createHash("sha256").update(member).update("\0").update(node).digest().readUIntBE(0, 6);
}

/** The member with the highest weight for `node` (ties, practically impossible, by identity). */
export function preferredMember(node: string, members: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestWeight = -1;
  for (const member of members) {
    const weight = rendezvousWeight(node, member);
    if (weight > bestWeight || (weight === bestWeight && best !== undefined && member < best)) {
      best = member;
      bestWeight = weight;
    }
  }
  return best;
}

/** The preferred member of every node: the assignment the fleet converges to. */
export function rendezvousAssignment(
  nodes: readonly string[],
  members: readonly string[],
): Map<string, string | undefined> {
  return new Map(nodes.map((node) => [node, preferredMember(node, members)]));
}

/** How a node's ownership Lease looks to this replica. */
export type NodeHolding =
  | { state: "self" }
  /** Held by another replica and not expired. */
  | { state: "other"; holder: string }
  /** No holder, released, or expired; for how long this replica has seen it so. */
  | { state: "free"; freeForMs: number };

/** A live replica (its membership Lease is fresh) and how long this replica has seen it live. */
export interface LiveMember {
  identity: string;
  liveForMs: number;
}

export interface OwnershipPlanInput {
  self: string;
  nodes: readonly string[];
  /** Live members, this replica included. */
  members: readonly LiveMember[];
  /** Missing nodes count as free since forever. */
  holdings: ReadonlyMap<string, NodeHolding>;
  stabilizationMs: number;
  freeGraceMs: number;
  maxChangesPerRound: number;
}

export interface OwnershipPlan {
  /** Free nodes to take now, preferred ones first. */
  acquire: string[];
  /** Owned nodes to hand to their (settled) preferred replica. */
  release: string[];
}

/** One round's decisions for replica `self`. */
export function planOwnership(input: OwnershipPlanInput): OwnershipPlan {
  const identities = input.members.map((m) => m.identity);
  if (!identities.includes(input.self)) identities.push(input.self);
  const liveFor = new Map(input.members.map((m) => [m.identity, m.liveForMs]));
  const preferredFree: string[] = [];
  const unclaimedFree: string[] = [];
  const release: string[] = [];
  for (const node of input.nodes) {
    const holding = input.holdings.get(node) ?? { state: "free", freeForMs: Number.POSITIVE_INFINITY };
    const preferred = preferredMember(node, identities);
    if (holding.state === "free") {
      if (preferred === input.self) preferredFree.push(node);
      // The preferred replica gets the first chance; if it does not take the node, anyone may.
      else if (holding.freeForMs >= input.freeGraceMs) unclaimedFree.push(node);
    } else if (holding.state === "self" && preferred !== undefined && preferred !== input.self) {
      if ((liveFor.get(preferred) ?? 0) >= input.stabilizationMs) release.push(node);
    }
  }
  const cap = Math.max(1, input.maxChangesPerRound);
  return {
    acquire: [...preferredFree, ...unclaimedFree].slice(0, cap),
    release: release.slice(0, cap),
  };
}
