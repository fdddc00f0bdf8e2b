/**
 * One replica's side of high availability: it keeps its membership Lease fresh, renews the
 * ownership Leases it holds (extending their fences), observes everyone else's Leases, and each
 * round applies the sharding plan (`sharding.ts`) — acquiring free nodes, handing nodes to their
 * settled preferred replica. Decisions use only the local clock: a foreign Lease counts as expired
 * one lease duration after this replica *observed* its last change (client-go's rule, immune to
 * clock skew between machines).
 */
import type { Clock, TimerHandle } from "../clock.js";
import { describeError } from "../errors.js";
import { isAborted } from "../sleep.js";
import { isConflict, isNotFound } from "../kube/client.js";
import { toMicroTime } from "../kube/api.js";
import type { Lease } from "../kube/types.js";
import type { Logger } from "../logger.js";
import { Fence } from "./fence.js";
import {
  fleetDigest,
  HA_FLEET_ANNOTATION,
  HA_NODE_ANNOTATION,
  HA_ROLE_LABEL,
  memberLeaseName,
  ownerLeaseName,
  type LeaseApi,
} from "./lease-api.js";
import type { HaMetrics } from "./metrics.js";
import type { ResolvedHighAvailability } from "./options.js";
import { planOwnership, type LiveMember, type NodeHolding } from "./sharding.js";

/** Why ownership of a node changed. */
export type OwnershipReason =
  /** This replica took the node's Lease. */
  | "acquired"
  /** Handed over on stop. */
  | "released"
  /** Handed to the replica the sharding prefers, once it had settled. */
  | "rebalanced"
  /** Another replica holds the Lease now, or it was deleted. */
  | "lost"
  /** Renewals did not succeed within the renew deadline: this replica stopped writing. */
  | "fenced";

/** One ownership change of this replica, for tests, the CLI and metrics. */
export interface OwnershipChange {
  /** The virtual node whose ownership changed. */
  nodeName: string;
  /** True when this replica now acts for the node. */
  owned: boolean;
  /** Why it changed. */
  reason: OwnershipReason;
}

/** What the coordinator asks of the node runtimes. */
export interface OwnershipHooks {
  /** Ownership gained: start the node's controllers, their writes gated by `fence`. */
  start(nodeName: string, fence: Fence): void;
  /**
   * Ownership ends: stop the node's controllers; resolves once none of their writes is in flight.
   * `applyShutdownPolicy` is true only when the whole fleet stops (no other live replica).
   */
  stop(nodeName: string, options: { applyShutdownPolicy: boolean }): Promise<void>;
}

export interface OwnershipCoordinatorOptions {
  ha: ResolvedHighAvailability;
  nodes: readonly string[];
  api: LeaseApi;
  /** A monotonic clock in production (fences must not move with wall-clock steps). */
  clock: Clock;
  logger: Logger;
  hooks: OwnershipHooks;
  metrics?: HaMetrics;
}

interface Owned {
  lease: Lease;
  fence: Fence;
  lastRenewStart: number;
  lapseTimer: TimerHandle | undefined;
}

interface Observation {
  resourceVersion: string;
  /** Local time this replica first saw this resourceVersion. */
  at: number;
}

export class OwnershipCoordinator {
  readonly #o: OwnershipCoordinatorOptions;
  readonly #owned = new Map<string, Owned>();
  readonly #observations = new Map<string, Observation>();
  /** Local time a member was first seen live (continuously since). */
  readonly #memberSince = new Map<string, number>();
  /** Local time a node's ownership Lease was first seen absent. */
  readonly #absentSince = new Map<string, number>();
  readonly #listeners = new Set<(change: OwnershipChange) => void>();
  readonly #stopping = new Set<Promise<void>>();
  readonly #fleet: string;
  readonly #startedAt: number;
  #member: Lease | undefined;
  #memberRenewStart = Number.NEGATIVE_INFINITY;
  #wake: (() => void) | undefined;
  #rounds = 0;
  #roundWaiters: (() => void)[] = [];
  #closed = false;

  constructor(options: OwnershipCoordinatorOptions) {
    this.#o = options;
    this.#fleet = fleetDigest(options.nodes);
    this.#startedAt = options.clock.now();
  }

  /** This replica's identity. */
  get identity(): string {
    return this.#o.ha.identity;
  }

  /** The nodes this replica acts for now. */
  ownedNodes(): string[] {
    return this.#o.nodes.filter((n) => this.#owned.has(n));
  }

  /** Subscribes to ownership changes; returns the unsubscribe function. */
  onOwnershipChange(listener: (change: OwnershipChange) => void): () => void {
    this.#listeners.add(listener);
    return () => {
      this.#listeners.delete(listener);
    };
  }

  /** Resolves after the first complete round (membership written, first ownership decisions made). */
  async firstRound(): Promise<void> {
    if (this.#rounds > 0) return;
    await new Promise<void>((resolve) => this.#roundWaiters.push(resolve));
  }

  /** Rounds every retry period (sooner when a Lease is released or expires) until `signal` aborts. */
  async run(signal: AbortSignal): Promise<void> {
    const unsubscribe = this.#o.api.onChange((lease, deleted) => {
      // A release or a deletion frees something now: decide at once rather than next period.
      if (deleted || (lease.spec?.holderIdentity ?? "") === "") this.#wake?.();
    });
    try {
      while (!signal.aborted) {
        try {
          await this.round(signal);
        } catch (error) {
          if (isAborted(signal)) break;
          this.#o.logger.warn({ error: describeError(error) }, "ownership round failed");
        }
        await this.#sleep(this.#nextRoundIn(), signal);
      }
    } finally {
      unsubscribe();
    }
  }

  /** One round: renew what is due, observe, plan, release, acquire. */
  async round(signal?: AbortSignal): Promise<void> {
    const { ha, clock } = this.#o;
    const plan = planOwnership({
      self: ha.identity,
      nodes: this.#o.nodes,
      members: this.#liveMembers(),
      holdings: this.#holdings(),
      stabilizationMs: ha.stabilizationMs,
      freeGraceMs: ha.freeGraceMs,
      maxChangesPerRound: ha.maxChangesPerRound,
    });
    const due = clock.now() - ha.retryPeriodMs * 0.9;
    const writes: Promise<void>[] = [];
    if (this.#memberRenewStart <= due) writes.push(this.#renewMembership(signal));
    for (const [node, owned] of this.#owned)
      if (owned.lastRenewStart <= due) writes.push(this.#renew(node, owned, signal));
    // Acquisitions alongside the renewals: a take-over must not wait for this replica's own writes.
    for (const node of plan.acquire) writes.push(this.#acquire(node, signal));
    await Promise.all(writes);
    if (this.#isClosed()) return;
    await Promise.all(plan.release.map(async (node) => this.#release(node, "rebalanced", signal)));
    this.#rounds++;
    for (const waiter of this.#roundWaiters.splice(0)) waiter();
  }

  /**
   * Stops acting for every node: stops their runtimes (running the shutdown policy only when no
   * other replica is live), then releases their Leases and the membership Lease, so another
   * replica takes over at once. Call after {@link run} ended.
   */
  async releaseAll(): Promise<void> {
    this.#closed = true;
    await Promise.allSettled(this.#stopping);
    const peersLive = this.#liveMembers().some((m) => m.identity !== this.#o.ha.identity);
    // Leave the membership first: when the peers see the releases, they already rank the nodes
    // without this replica, so each node's new preferred owner takes it at once.
    try {
      await this.#withDeadline(undefined, async (s) =>
        this.#o.api.delete(memberLeaseName(this.#o.ha.identity), { signal: s }),
      );
    } catch (error) {
      this.#o.logger.warn({ error: describeError(error) }, "could not delete the membership lease");
    }
    await Promise.allSettled(
      [...this.#owned.keys()].map(async (node) => {
        try {
          await this.#o.hooks.stop(node, { applyShutdownPolicy: !peersLive });
        } catch (error) {
          this.#o.logger.warn({ node, error: describeError(error) }, "stopping the node failed");
        }
        await this.#release(node, "released");
      }),
    );
  }

  /** A method, not the field: TypeScript would narrow the field across the awaits. */
  #isClosed(): boolean {
    return this.#closed;
  }

  #liveMembers(): LiveMember[] {
    const { ha, clock } = this.#o;
    const now = clock.now();
    const live: LiveMember[] = [];
    const seen = new Set<string>();
    const lapsed = this.#lapsedHolders(now);
    for (const lease of this.#o.api.observed().values()) {
      if (lease.metadata?.labels?.[HA_ROLE_LABEL] !== "member") continue;
      if (lease.metadata.annotations?.[HA_FLEET_ANNOTATION] !== this.#fleet) continue;
      const identity = lease.spec?.holderIdentity ?? "";
      if (identity === "" || identity === ha.identity || lapsed.has(identity)) continue;
      if (this.#expired(lease, now)) continue;
      // Only for ranking, never for safety: a member whose own renewTime is a lease duration old is
      // dead, even if this replica (just started) has not yet watched it go stale. Clock skew can
      // only skew the balance; taking a node still waits for its ownership Lease to expire.
      const renewed = Date.parse(String(lease.spec?.renewTime ?? ""));
      if (Number.isFinite(renewed) && now - renewed > durationMs(lease)) continue;
      seen.add(identity);
      const since = this.#memberSince.get(identity) ?? now;
      this.#memberSince.set(identity, since);
      live.push({ identity, liveForMs: now - since });
    }
    for (const identity of this.#memberSince.keys())
      if (!seen.has(identity)) this.#memberSince.delete(identity);
    live.push({ identity: ha.identity, liveForMs: now - this.#startedAt });
    return live;
  }

  /**
   * Holders of one of this fleet's ownership Leases that has expired as this replica observes it.
   * Such a holder fenced itself before that expiry, so it is not acting; ranking it would leave its
   * nodes waiting for its membership Lease, which it may have renewed up to a retry period later.
   */
  #lapsedHolders(now: number): Set<string> {
    const lapsed = new Set<string>();
    for (const node of this.#o.nodes) {
      const lease = this.#o.api.observed().get(ownerLeaseName(node));
      const holder = lease?.spec?.holderIdentity ?? "";
      if (lease !== undefined && holder !== "" && this.#expired(lease, now)) lapsed.add(holder);
    }
    return lapsed;
  }

  #holdings(): Map<string, NodeHolding> {
    const now = this.#o.clock.now();
    const holdings = new Map<string, NodeHolding>();
    for (const node of this.#o.nodes) {
      if (this.#owned.has(node)) {
        holdings.set(node, { state: "self" });
        continue;
      }
      const lease = this.#o.api.observed().get(ownerLeaseName(node));
      if (lease === undefined) {
        const since = this.#absentSince.get(node) ?? now;
        this.#absentSince.set(node, since);
        holdings.set(node, { state: "free", freeForMs: now - since });
        continue;
      }
      this.#absentSince.delete(node);
      const holder = lease.spec?.holderIdentity ?? "";
      const at = this.#observe(lease, now);
      if (holder === "") holdings.set(node, { state: "free", freeForMs: now - at });
      // Our own Lease from before (a fence lapsed, or a restart with a stable identity): ours to retake.
      else if (holder === this.#o.ha.identity) holdings.set(node, { state: "free", freeForMs: Infinity });
      else if (this.#expired(lease, now))
        holdings.set(node, { state: "free", freeForMs: now - (at + durationMs(lease)) });
      else holdings.set(node, { state: "other", holder });
    }
    return holdings;
  }

  /** Local time this replica first saw the Lease's current resourceVersion. */
  #observe(lease: Lease, now: number): number {
    const name = lease.metadata?.name ?? "";
    const rv = lease.metadata?.resourceVersion ?? "";
    const known = this.#observations.get(name);
    if (known?.resourceVersion === rv) return known.at;
    this.#observations.set(name, { resourceVersion: rv, at: now });
    return now;
  }

  #expired(lease: Lease, now: number): boolean {
    return now >= this.#observe(lease, now) + durationMs(lease);
  }

  #nextRoundIn(): number {
    // Wake at the earliest foreign expiry, so a take-over does not wait for the next period.
    const now = this.#o.clock.now();
    let next = this.#o.ha.retryPeriodMs;
    for (const lease of this.#o.api.observed().values()) {
      const holder = lease.spec?.holderIdentity ?? "";
      if (holder === "" || holder === this.#o.ha.identity) continue;
      const expiresIn = this.#observe(lease, now) + durationMs(lease) - now;
      if (expiresIn >= 0) next = Math.min(next, expiresIn + 1);
    }
    return next;
  }

  async #renewMembership(signal: AbortSignal | undefined): Promise<void> {
    const { ha, clock } = this.#o;
    const started = clock.now();
    const name = memberLeaseName(ha.identity);
    const body: Lease = {
      apiVersion: "coordination.k8s.io/v1",
      kind: "Lease",
      metadata: {
        ...this.#member?.metadata,
        name,
        namespace: ha.namespace,
        labels: { [HA_ROLE_LABEL]: "member" },
        annotations: { [HA_FLEET_ANNOTATION]: this.#fleet },
      },
      spec: {
        holderIdentity: ha.identity,
        leaseDurationSeconds: Math.ceil(ha.leaseDurationMs / 1000),
        acquireTime: (this.#member?.spec?.acquireTime ?? microTime(this.#o.clock)) as unknown as Date,
        renewTime: microTime(this.#o.clock) as unknown as Date,
      },
    };
    const api = this.#o.api;
    try {
      this.#member = await this.#withDeadline(signal, async (s) => {
        try {
          return this.#member === undefined
            ? await api.create(body, { signal: s })
            : await api.replace(body, { signal: s });
        } catch (error) {
          if (!isConflict(error) && !isNotFound(error)) throw error;
        }
        // Our version is stale, or the Lease survives from a previous run: it is ours by name.
        const fresh = await api.get(name, { signal: s });
        const metadata = { ...body.metadata, resourceVersion: fresh?.metadata?.resourceVersion };
        if (fresh === undefined) return api.create({ ...body, metadata }, { signal: s });
        return api.replace({ ...body, metadata }, { signal: s });
      });
      this.#memberRenewStart = started;
    } catch (error) {
      this.#member = undefined;
      this.#o.logger.warn({ error: describeError(error) }, "membership lease renewal failed");
    }
  }

  async #renew(node: string, owned: Owned, signal: AbortSignal | undefined): Promise<void> {
    const started = this.#o.clock.now();
    owned.lastRenewStart = started;
    const body = this.#ownerBody(node, owned.lease, owned.lease.spec?.acquireTime);
    try {
      owned.lease = await this.#withDeadline(signal, async (s) => {
        try {
          return await this.#o.api.replace(body, { signal: s });
        } catch (error) {
          if (!isConflict(error)) throw error;
          // Someone wrote it: still ours (e.g. a label added)? Then renew on top of that version.
          const fresh = await this.#o.api.get(ownerLeaseName(node), { signal: s });
          if (fresh?.spec?.holderIdentity !== this.#o.ha.identity) throw error;
          return this.#o.api.replace(this.#ownerBody(node, fresh, fresh.spec.acquireTime), { signal: s });
        }
      });
    } catch (error) {
      if (this.#owned.get(node) !== owned) return;
      if (isConflict(error) || isNotFound(error)) {
        this.#lose(node, "lost");
        return;
      }
      // The fence lapses by itself at its deadline; until then, later rounds retry.
      this.#o.logger.warn({ node, error: describeError(error) }, "ownership lease renewal failed");
      return;
    }
    if (this.#owned.get(node) !== owned) return;
    owned.fence.renewed(started);
    this.#scheduleLapse(node, owned);
  }

  async #acquire(node: string, signal: AbortSignal | undefined): Promise<void> {
    if (this.#closed || this.#owned.has(node)) return;
    const { ha, clock } = this.#o;
    const started = clock.now();
    const current = this.#o.api.observed().get(ownerLeaseName(node));
    const takeover = (current?.spec?.holderIdentity ?? "") !== ha.identity;
    const body = this.#ownerBody(node, current, takeover ? undefined : current?.spec?.acquireTime);
    if (current !== undefined && takeover && body.spec)
      body.spec.leaseTransitions = (current.spec?.leaseTransitions ?? 0) + 1;
    let lease: Lease;
    try {
      lease = await this.#withDeadline(signal, async (s) =>
        current === undefined
          ? this.#o.api.create(body, { signal: s })
          : this.#o.api.replace(body, { signal: s }),
      );
    } catch (error) {
      // 409: another replica was faster (or our cache is behind); the next round looks again.
      if (!isConflict(error) && !isNotFound(error))
        this.#o.logger.warn({ node, error: describeError(error) }, "could not acquire the ownership lease");
      return;
    }
    if (this.#isClosed()) {
      // stop() came while the request was in flight: give the node straight back.
      await this.#writeRelease(node, lease);
      return;
    }
    const fence = new Fence(node, clock, ha.renewDeadlineMs);
    fence.renewed(started);
    const owned: Owned = { lease, fence, lastRenewStart: started, lapseTimer: undefined };
    this.#owned.set(node, owned);
    this.#scheduleLapse(node, owned);
    this.#o.metrics?.ownedNodes.inc();
    this.#o.metrics?.transitions.inc({ reason: "acquired" });
    this.#o.logger.info({ node, identity: ha.identity }, "acting for the node (ownership lease acquired)");
    this.#o.hooks.start(node, fence);
    this.#emit({ nodeName: node, owned: true, reason: "acquired" });
  }

  #scheduleLapse(node: string, owned: Owned): void {
    const { clock } = this.#o;
    clock.clearTimeout(owned.lapseTimer);
    owned.lapseTimer = clock.setTimeout(() => {
      if (this.#owned.get(node) === owned && !owned.fence.held) this.#lose(node, "fenced");
    }, owned.fence.heldUntil - clock.now());
  }

  /** Ownership ended without a release write: revoke at once, then stop the runtime. */
  #lose(node: string, reason: "lost" | "fenced"): void {
    const owned = this.#forget(node, reason);
    if (!owned) return;
    this.#o.logger.warn({ node, reason }, "no longer acting for the node");
    this.#track(this.#stopRuntime(node));
  }

  async #release(node: string, reason: "rebalanced" | "released", signal?: AbortSignal): Promise<void> {
    const owned = this.#owned.get(node);
    if (!owned) return;
    if (reason === "rebalanced") {
      // Stop every write before the Lease says someone else may act.
      this.#forget(node, reason);
      await this.#stopRuntime(node);
    } else {
      this.#forget(node, reason);
    }
    this.#o.logger.info({ node, reason }, "handing the node over");
    await this.#writeRelease(node, owned.lease, signal);
  }

  #forget(node: string, reason: OwnershipReason): Owned | undefined {
    const owned = this.#owned.get(node);
    if (!owned) return undefined;
    this.#owned.delete(node);
    owned.fence.revoke(reason);
    this.#o.clock.clearTimeout(owned.lapseTimer);
    this.#o.metrics?.ownedNodes.dec();
    this.#o.metrics?.transitions.inc({ reason });
    this.#emit({ nodeName: node, owned: false, reason });
    return owned;
  }

  async #stopRuntime(node: string): Promise<void> {
    try {
      await this.#o.hooks.stop(node, { applyShutdownPolicy: false });
    } catch (error) {
      this.#o.logger.warn({ node, error: describeError(error) }, "stopping the node failed");
    }
  }

  /** client-go's release: no holder, a one-second duration, so others take over at once. */
  async #writeRelease(node: string, lease: Lease, signal?: AbortSignal): Promise<void> {
    const released = (from: Lease): Lease => {
      const body = this.#ownerBody(node, from, from.spec?.acquireTime);
      if (body.spec) {
        body.spec.holderIdentity = "";
        body.spec.leaseDurationSeconds = 1;
      }
      return body;
    };
    try {
      await this.#withDeadline(signal, async (s) => {
        try {
          await this.#o.api.replace(released(lease), { signal: s });
        } catch (error) {
          if (!isConflict(error)) throw error;
          // Our version is stale (e.g. a renewal cut short by stop() still landed): release the
          // current one if it is still ours; if someone else holds it, there is nothing to release.
          const fresh = await this.#o.api.get(ownerLeaseName(node), { signal: s });
          if (fresh?.spec?.holderIdentity === this.#o.ha.identity)
            await this.#o.api.replace(released(fresh), { signal: s });
        }
      });
    } catch (error) {
      // 409/404: someone already moved on; anything else: the Lease expires on its own.
      if (!isConflict(error) && !isNotFound(error))
        this.#o.logger.warn({ node, error: describeError(error) }, "could not release the ownership lease");
    }
  }

  #ownerBody(node: string, current: Lease | undefined, acquireTime: Date | undefined): Lease {
    const { ha } = this.#o;
    const now = microTime(this.#o.clock);
    return {
      apiVersion: "coordination.k8s.io/v1",
      kind: "Lease",
      metadata: {
        ...(current?.metadata?.resourceVersion === undefined
          ? {}
          : { resourceVersion: current.metadata.resourceVersion }),
        name: ownerLeaseName(node),
        namespace: ha.namespace,
        labels: { ...current?.metadata?.labels, [HA_ROLE_LABEL]: "owner" },
        annotations: { ...current?.metadata?.annotations, [HA_NODE_ANNOTATION]: node },
      },
      spec: {
        holderIdentity: ha.identity,
        leaseDurationSeconds: Math.ceil(ha.leaseDurationMs / 1000),
        // client-node types MicroTime as a Date; on the wire it must be a six-digit string.
        acquireTime: (acquireTime ?? now) as unknown as Date,
        renewTime: now as unknown as Date,
        leaseTransitions: current?.spec?.leaseTransitions ?? 0,
      },
    };
  }

  /** Runs a Lease request with the renew deadline as its timeout (a hung request must not stall rounds). */
  async #withDeadline<T>(
    signal: AbortSignal | undefined,
    fn: (signal: AbortSignal) => Promise<T>,
  ): Promise<T> {
    const { clock, ha } = this.#o;
    const timeout = new AbortController();
    const timer = clock.setTimeout(() => {
      timeout.abort();
    }, ha.renewDeadlineMs);
    try {
      return await fn(signal ? AbortSignal.any([signal, timeout.signal]) : timeout.signal);
    } finally {
      clock.clearTimeout(timer);
    }
  }

  #track(stop: Promise<void>): void {
    this.#stopping.add(stop);
    void stop.finally(() => this.#stopping.delete(stop));
  }

  #emit(change: OwnershipChange): void {
    for (const listener of this.#listeners) {
      try {
        listener(change);
      } catch (error) {
        this.#o.logger.warn({ error: describeError(error) }, "ownership listener failed");
      }
    }
  }

  async #sleep(ms: number, signal: AbortSignal): Promise<void> {
    if (signal.aborted) return;
    const { clock } = this.#o;
    await new Promise<void>((resolve) => {
      const done = (): void => {
        clock.clearTimeout(timer);
        signal.removeEventListener("abort", done);
        if (this.#wake === done) this.#wake = undefined;
        resolve();
      };
      const timer = clock.setTimeout(done, ms);
      this.#wake = done;
      signal.addEventListener("abort", done, { once: true });
    });
  }
}

function durationMs(lease: Lease): number {
  return (lease.spec?.leaseDurationSeconds ?? 0) * 1000;
}

/** Lease timestamps from the injected clock (wall time in production, fake time in tests). */
function microTime(clock: Clock): string {
  return toMicroTime(new Date(clock.now()));
}
