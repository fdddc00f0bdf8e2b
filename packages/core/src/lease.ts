/**
 * The node lease (`coordination.k8s.io/v1` in `kube-node-lease`), renewed like the kubelet's:
 * every `renewIntervalMs` (a quarter of the duration), with conflict handling, fast retries with
 * backoff on failure, re-creation when deleted, and an owner reference to the Node's current UID so
 * the lease is garbage-collected with the Node.
 */
import { describeError } from "./errors.js";
import { isAlreadyExists, isConflict, isNotFound, type KubeClient } from "./kube/client.js";
import { NODE_LEASE_NAMESPACE, paths, toMicroTime } from "./kube/api.js";
import type { Lease } from "./kube/types.js";
import type { Logger } from "./logger.js";
import type { NodeMetrics } from "./metrics.js";
import { isAborted, sleepUnlessAborted } from "./sleep.js";

export interface LeaseOptions {
  client: KubeClient;
  nodeName: string;
  /** Lease duration. Default 40 s (kubelet). */
  durationSeconds: number;
  /** Renew interval. Default 10 s (25 % of the duration, kubelet). */
  renewIntervalMs: number;
  logger: Logger;
  metrics?: NodeMetrics;
  /** UID of the Node, for the owner reference. Read on every renew, so a re-created Node is followed. */
  nodeUid: () => string | undefined;
}

export class NodeLease {
  private lease: Lease | undefined;
  private readonly options: LeaseOptions;
  /** Time of the last successful renewal (ms since epoch). */
  lastRenewed = 0;

  constructor(options: LeaseOptions) {
    this.options = options;
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
        failures++;
        this.options.metrics?.leaseRenewFailures.inc();
        // Kubelet: 200 ms doubling up to 7 s, then keep trying at the cap.
        delay = Math.min(7_000, 200 * 2 ** (failures - 1));
        this.options.logger.warn({ error: describeError(error), retryInMs: delay }, "lease renewal failed");
      }
      await sleepUnlessAborted(delay, signal);
    }
  }

  /** One renewal: update the cached lease, or get/create it when needed. */
  async renew(signal?: AbortSignal): Promise<void> {
    const started = performance.now();
    const { client, nodeName } = this.options;
    const now = toMicroTime(new Date());
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
    this.lastRenewed = Date.now();
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
