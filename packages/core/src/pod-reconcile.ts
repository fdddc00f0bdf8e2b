/**
 * The continuous reconcile's decisions, apart from the I/O: given what the provider lists and what
 * the API and the controller know, which provider pods to adopt, which orphans to delete (only after
 * a grace period of continuous absence) and which tracked pods the provider lost.
 */
import { podKey, type ProviderPodSummary } from "./provider.js";

/** What the controller tracks for a key, as far as the reconcile cares. */
export interface ReconcileTracked {
  readonly uid: string;
  readonly terminal: boolean;
  readonly missing: boolean;
  /** When its create in the provider finished (clock ms), if this process created it. */
  readonly createdAt: number | undefined;
}

export interface ReconcileInput {
  readonly nodeName: string;
  /** The provider's pods, listed at `listStartedAt`. */
  readonly listed: readonly ProviderPodSummary[];
  readonly listStartedAt: number;
  readonly now: number;
  readonly orphanGraceMs: number;
  /** The UID of the API pod with this key, or undefined when the API has none. */
  readonly apiUid: (key: string) => string | undefined;
  readonly tracked: ReadonlyMap<string, ReconcileTracked>;
  /** `key@uid` → when the provider pod was first seen without an API pod. */
  readonly orphanSince: ReadonlyMap<string, number>;
}

export interface ReconcilePlan {
  /** Provider pods of an API pod the controller does not track: track them (no create). */
  readonly adopt: readonly ProviderPodSummary[];
  /** Provider pods without an API pod for longer than the grace period: delete them. */
  readonly deleteOrphans: readonly ProviderPodSummary[];
  /** Tracked keys the provider no longer lists: lost (the sync fails them). */
  readonly lost: readonly string[];
  /** The orphan clock after this round (deleted and reappeared pods dropped). */
  readonly orphanSince: ReadonlyMap<string, number>;
}

const identity = (key: string, uid: string): string => `${key}@${uid}`;

export function planReconcile(input: ReconcileInput): ReconcilePlan {
  const adopt: ProviderPodSummary[] = [];
  const deleteOrphans: ProviderPodSummary[] = [];
  const orphanSince = new Map<string, number>();
  const listedIds = new Set<string>();
  for (const p of input.listed) {
    const key = podKey(p);
    const id = identity(key, p.uid);
    listedIds.add(id);
    if (p.nodeName !== input.nodeName) continue;
    if (input.apiUid(key) === p.uid) {
      if (!input.tracked.has(key)) adopt.push(p);
      continue;
    }
    const since = input.orphanSince.get(id);
    if (since === undefined) orphanSince.set(id, input.now);
    else if (input.now - since >= input.orphanGraceMs) deleteOrphans.push(p);
    else orphanSince.set(id, since);
  }
  const lost: string[] = [];
  for (const [key, t] of input.tracked) {
    // A pod created after the list started may not be in it yet: the next round decides.
    if (t.createdAt !== undefined && t.createdAt >= input.listStartedAt) continue;
    if (!t.terminal && !t.missing && !listedIds.has(identity(key, t.uid))) lost.push(key);
  }
  return { adopt, deleteOrphans, lost, orphanSince };
}
