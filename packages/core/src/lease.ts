/**
 * The node lease (`coordination.k8s.io/v1` in `kube-node-lease`), renewed like the kubelet's:
 * every `renewIntervalMs` (a quarter of the duration), with conflict handling, fast retries with
 * backoff on failure, re-creation when deleted, and an owner reference to the Node's current UID so
 * the lease is garbage-collected with the Node.
 */
import { Backoff } from "./backoff.js";
import { type Clock, systemClock } from "./clock.js";
import { describeError } from "./errors.js";
import { isAlreadyExists, isConflict, isNotFound } from "./kube/client.js";
import { NODE_LEASE_NAMESPACE, paths, toMicroTime } from "./kube/api.js";
import type { LeaseApi } from "./kube/node-api.js";
import type { Lease } from "./kube/types.js";
import type { Logger } from "./logger.js";
import type { NodeMetrics } from "./metrics.js";
import { isAborted, Waker } from "./sleep.js";

export interface LeaseOptions {
  /** The three calls the lease makes; a `KubeClient` satisfies it. */
  client: LeaseApi;
  nodeName: string;
  /** Lease duration. Default 40 s (kubelet). */
  durationSeconds: number;
  /** Renew interval. Default 10 s (25 % of the duration, kubelet). */
  renewIntervalMs: number;
  logger: Logger;
  metrics?: NodeMetrics;
  /** UID of the Node, for the owner reference. Read on every renew, so a re-created Node is followed. */
  nodeUid: () => string | undefined;
  /** Renew timer, retry delays and `renewTime`. Default: the system clock. */
  clock?: Clock;
}

/** Kubelet: retry a failed renewal after 200 ms, doubling up to 7 s, then keep trying at the cap. */
const RENEW_RETRY = { baseMs: 200, maxMs: 7_000, jitter: "none" } as const;

export class NodeLease {
  private lease: Lease | undefined;
  private readonly options: LeaseOptions;
  /** Time of the last successful renewal (ms since epoch). */
  lastRenewed = 0;
  private readonly clock: Clock;
  private readonly backoff = new Backoff(RENEW_RETRY);
  private readonly waker: Waker;

  constructor(options: LeaseOptions) {
    this.options = options;
    this.clock = options.clock ?? systemClock;
    this.waker = new Waker(this.clock);
  }

  /** Renews until `signal` aborts. */
  async run(signal: AbortSignal): Promise<void> {
    let failures = 0;
    while (!signal.aborted) {
      let delay = this.options.renewIntervalMs;
      try {
        await this.renew(signal);
        failures = 0;
      } catch (error) {
        if (isAborted(signal)) break;
        this.options.metrics?.leaseRenewFailures.inc();
        delay = this.backoff.nextDelay(failures++);
        this.options.logger.warn({ error: describeError(error), retryInMs: delay }, "lease renewal failed");
      }
      await this.waker.sleep(delay, signal);
    }
  }

  /** Renews now instead of at the next timer or retry (the API server answers again). */
  renewNow(): void {
    this.waker.wake();
  }

  /** One renewal: update the cached lease, or get/create it when needed. */
  async renew(signal?: AbortSignal): Promise<void> {
    const started = performance.now();
    const { client, nodeName } = this.options;
    const now = toMicroTime(new Date(this.clock.now()));
    const path = paths.lease(NODE_LEASE_NAMESPACE, nodeName);
    for (let attempt = 0; attempt < 3; attempt++) {
      if (this.lease === undefined) {
        try {
          this.lease = await client.get<Lease>(path, { signal });
        } catch (error) {
          if (!isNotFound(error)) throw error;
          try {
            this.lease = await client.create<Lease>(
              paths.leases(NODE_LEASE_NAMESPACE),
              this.desired(undefined, now),
              {
                signal,
              },
            );
            this.done(started);
            return;
          } catch (createError) {
            if (!isAlreadyExists(createError)) throw createError;
            continue;
          }
        }
      }
      try {
        this.lease = await client.replace<Lease>(path, this.desired(this.lease, now), { signal });
        this.done(started);
        return;
      } catch (error) {
        // Conflict: someone else wrote it; NotFound: it was deleted. Either way start over.
        if (isConflict(error) || isNotFound(error)) {
          this.lease = undefined;
          continue;
        }
        throw error;
      }
    }
    throw new Error("lease renewal kept conflicting");
  }

  /** Deletes the lease (used when the node is deleted on shutdown). */
  forget(): void {
    this.lease = undefined;
  }

  private done(started: number): void {
    this.lastRenewed = this.clock.now();
    this.options.metrics?.leaseRenewSeconds.observe((performance.now() - started) / 1000);
  }

  private desired(current: Lease | undefined, now: string): Lease {
    const uid = this.options.nodeUid();
    const ownerReferences =
      uid === undefined
        ? current?.metadata?.ownerReferences
        : [{ apiVersion: "v1", kind: "Node", name: this.options.nodeName, uid }];
    return {
      apiVersion: "coordination.k8s.io/v1",
      kind: "Lease",
      metadata: {
        ...current?.metadata,
        name: this.options.nodeName,
        namespace: NODE_LEASE_NAMESPACE,
        ownerReferences,
      },
      spec: {
        ...current?.spec,
        holderIdentity: this.options.nodeName,
        leaseDurationSeconds: this.options.durationSeconds,
        // client-node types MicroTime as a Date subclass; on the wire it must be a 6-digit string.
        renewTime: now as unknown as Date,
      },
    };
  }
}
