/**
 * A Kubernetes Event recorder in the manner of client-go's, independent of the transport: it
 * correlates (dedupes, aggregates, rate limits) in memory and hands plain core/v1 Event objects
 * to an {@link EventSink}. Recording is synchronous, never throws and never waits on the API:
 * writes go through a bounded queue drained by a single writer, so a slow or failing API server
 * costs events, never pod progress.
 */
import { Backoff } from "./backoff.js";
import { systemClock, type Clock } from "./clock.js";
import { AbortedError, NotFoundError, redactSecrets } from "./errors.js";
import type { KubeEvent } from "./kube/types.js";
import { noopLogger, type Logger } from "./logger.js";

/** Stable Event reasons core emits. Values never change; users alert on them. */
export const EventReasons = {
  /** Warning: a provider call (create, update, delete) failed; core retries with backoff. */
  ProviderFailed: "ProviderFailed",
  /** Normal: "Created pod in provider". */
  PodCreated: "PodCreated",
  /** Normal: after a restart, a pod the provider already ran was taken over without restarting it. */
  PodAdopted: "PodAdopted",
  /** Normal: the provider confirmed the pod is gone. */
  PodDeleted: "PodDeleted",
  /** Warning: the provider no longer knows a pod it was running; the pod is marked failed. */
  PodLost: "ProviderPodLost",
  /** Normal: a provider pod with no API pod (this node's mark) was deleted. */
  OrphanDeleted: "OrphanDeleted",
  /** Warning: the pod needs a feature the provider's capabilities lack; it is not started. */
  UnsupportedField: "UnsupportedPodSpec",
  /** Warning: a volume could not be prepared (kubelet's reason). */
  FailedMount: "FailedMount",
  /** Warning: container config (env, files) could not be resolved; the pod waits (kubelet's reason). */
  CreateContainerConfigError: "CreateContainerConfigError",
  /** Warning: a referenced ConfigMap or key is missing and not optional. */
  MandatoryConfigMapNotFound: "MandatoryConfigMapNotFound",
  /** Warning: a referenced Secret or key is missing and not optional. */
  MandatorySecretNotFound: "MandatorySecretNotFound",
  /** Normal: an optional ConfigMap or key is missing; the pod starts without it. */
  OptionalConfigMapNotFound: "OptionalConfigMapNotFound",
  /** Normal: an optional Secret or key is missing; the pod starts without it. */
  OptionalSecretNotFound: "OptionalSecretNotFound",
  /** Warning: `envFrom` keys that are not valid variable names were skipped (kubelet's reason). */
  InvalidEnvironmentVariableNames: "InvalidEnvironmentVariableNames",
  /** Normal: the node became Ready (the provider answers). */
  NodeReady: "NodeReady",
  /** Normal: the node became NotReady (the provider's ping fails). */
  NodeNotReady: "NodeNotReady",
  /** Normal: the Node object was created. */
  RegisteredNode: "RegisteredNode",
  /** Normal: the virtual kubelet started. */
  Starting: "Starting",
  /** Warning: writing pod or node status to the API failed; retried. */
  StatusUpdateFailed: "StatusUpdateFailed",
} as const;

export type EventReason = (typeof EventReasons)[keyof typeof EventReasons];

export type EventType = "Normal" | "Warning";

/** The object an Event is about (core/v1 ObjectReference, the fields core fills). */
export interface InvolvedObject {
  kind: string;
  apiVersion: string;
  /** Empty or absent for cluster-scoped objects such as Nodes; their Events go to `default`. */
  namespace?: string;
  name: string;
  uid: string;
  resourceVersion?: string;
  /** e.g. `spec.containers{app}` for an event about one container. */
  fieldPath?: string;
}

/** What changes when a recorded Event repeats. */
export interface EventCountPatch {
  count: number;
  lastTimestamp: Date;
  message: string;
}

/**
 * Where Events go; implemented on the API in `kube/`, by a fake in tests. Rejections are
 * retried a few times, then the event is dropped.
 */
export interface EventSink {
  create(event: KubeEvent): Promise<void>;
  /**
   * Merge-patch `changes` into the existing Event `event.metadata.name` (the full event is given
   * so the sink has namespace and name). Reject with `NotFoundError` when it no longer exists
   * (events expire after an hour); the recorder then creates it again.
   */
  patch(event: KubeEvent, changes: EventCountPatch): Promise<void>;
}

export interface EventRecorder {
  /** Record an event. Synchronous and infallible: it only updates memory and queues a write. */
  event(object: InvolvedObject, type: EventType, reason: string, message: string): void;
  /** Resolves once every queued write has been attempted. */
  flush(): Promise<void>;
  /** Stop recording, abandon retry waits, and resolve once queued writes have been attempted. */
  close(): Promise<void>;
  stats(): EventRecorderStats;
}

export interface EventRecorderStats {
  /** Writes waiting for the sink. */
  queued: number;
  /** Events the sink accepted (creates and patches). */
  written: number;
  /** Writes given up after the sink kept failing. */
  failed: number;
  /** Events dropped by the per-object spam filter. */
  filtered: number;
  /** Events dropped because the write queue was full. */
  dropped: number;
}

export interface EventRecorderOptions {
  sink: EventSink;
  /** `source.component` and `reportingComponent`. Default `virtual-node`. */
  component?: string;
  /** `source.host` and `reportingInstance`: the node name. */
  host: string;
  clock?: Clock;
  logger?: Logger;
  /** Identical events within this window are counted on one Event. Default 10 min (client-go). */
  aggregateWindowMs?: number;
  /** Distinct messages per (object, type, reason) in the window before they are combined. Default 10. */
  maxSimilar?: number;
  /** Per-object token bucket: burst. Default 25 (client-go). */
  spamBurst?: number;
  /** Per-object token bucket: one token back every this many ms. Default 5 min (client-go). */
  spamRefillMs?: number;
  /** Bound of the write queue. Default 1000. */
  maxQueued?: number;
  /** Attempts per write before dropping it. Default 3. */
  maxAttempts?: number;
  /** Entries kept per correlation cache (LRU). Default 4096 (client-go). */
  cacheSize?: number;
}

/** Insertion-ordered Map as LRU: bounded memory however many objects come and go. */
class Lru<V> {
  readonly #max: number;
  readonly #map = new Map<string, V>();
  constructor(max: number) {
    this.#max = Math.max(1, max);
  }
  get(key: string): V | undefined {
    const value = this.#map.get(key);
    if (value !== undefined) {
      this.#map.delete(key);
      this.#map.set(key, value);
    }
    return value;
  }
  set(key: string, value: V): void {
    this.#map.delete(key);
    this.#map.set(key, value);
    if (this.#map.size > this.#max) {
      const oldest = this.#map.keys().next();
      if (oldest.done !== true) this.#map.delete(oldest.value);
    }
  }
}

interface Observed {
  name: string;
  count: number;
  firstMs: number;
  lastMs: number;
  /** Whether the sink has accepted a create for this Event: later repeats are patches. */
  created: boolean;
}

interface Similar {
  messages: Set<string>;
  lastMs: number;
}

interface Bucket {
  tokens: number;
  lastMs: number;
}

interface PendingWrite {
  observed: Observed;
  event: KubeEvent;
}

const COMBINED_PREFIX = "(combined from similar events): ";
// events.k8s.io caps `note` at 1 kB; keeping core/v1 messages as short keeps them portable.
const MAX_MESSAGE = 1024;
// Longest DNS subdomain: the name of the Event object itself must be one.
const MAX_NAME = 253;

function truncate(message: string): string {
  return message.length <= MAX_MESSAGE ? message : `${message.slice(0, MAX_MESSAGE - 1)}…`;
}

class Recorder implements EventRecorder {
  readonly #sink: EventSink;
  readonly #component: string;
  readonly #host: string;
  readonly #clock: Clock;
  readonly #logger: Logger;
  readonly #windowMs: number;
  readonly #maxSimilar: number;
  readonly #burst: number;
  readonly #refillMs: number;
  readonly #maxQueued: number;
  readonly #maxAttempts: number;
  readonly #observed: Lru<Observed>;
  readonly #similar: Lru<Similar>;
  readonly #buckets: Lru<Bucket>;
  readonly #abort = new AbortController();
  readonly #retryBackoff = new Backoff({ baseMs: 1000, maxMs: 10_000, jitter: "equal" });

  // Keyed by Event name; Map order is FIFO and re-setting a key keeps its place, so a repeat of
  // an Event still waiting for its write updates that write instead of queueing another.
  readonly #pending = new Map<string, PendingWrite>();
  #writing = false;
  #scheduled = false;
  #closed = false;
  #idleWaiters: (() => void)[] = [];
  #counter = 0;
  readonly #stats = { written: 0, failed: 0, filtered: 0, dropped: 0 };

  constructor(options: EventRecorderOptions) {
    this.#sink = options.sink;
    this.#component = options.component ?? "virtual-node";
    this.#host = options.host;
    this.#clock = options.clock ?? systemClock;
    this.#logger = (options.logger ?? noopLogger).child({ component: "events" });
    this.#windowMs = options.aggregateWindowMs ?? 600_000;
    this.#maxSimilar = options.maxSimilar ?? 10;
    this.#burst = options.spamBurst ?? 25;
    this.#refillMs = options.spamRefillMs ?? 300_000;
    this.#maxQueued = options.maxQueued ?? 1000;
    this.#maxAttempts = Math.max(1, options.maxAttempts ?? 3);
    const cacheSize = options.cacheSize ?? 4096;
    this.#observed = new Lru(cacheSize);
    this.#similar = new Lru(cacheSize);
    this.#buckets = new Lru(cacheSize);
  }

  event(object: InvolvedObject, type: EventType, reason: string, message: string): void {
    try {
      this.#record(object, type, reason, message);
    } catch (error) {
      this.#logger.debug({ err: error, reason }, "event not recorded");
    }
  }

  stats(): EventRecorderStats {
    return { queued: this.#pending.size, ...this.#stats };
  }

  flush(): Promise<void> {
    if (!this.#writing && !this.#scheduled && this.#pending.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  close(): Promise<void> {
    this.#closed = true;
    this.#abort.abort(new AbortedError("event recorder closed"));
    return this.flush();
  }

  #record(object: InvolvedObject, type: EventType, reason: string, rawMessage: string): void {
    if (this.#closed) return;
    const now = this.#clock.now();
    // Messages often carry provider error text; credentials must not land in the cluster.
    const message = truncate(redactSecrets(rawMessage));
    const objectKey = JSON.stringify([
      object.kind,
      object.apiVersion,
      object.namespace ?? "",
      object.name,
      object.uid,
      object.fieldPath ?? "",
    ]);
    const groupKey = `${objectKey}\u0000${type}\u0000${reason}`;

    // Aggregation: past `maxSimilar` distinct messages for one (object, type, reason) in the
    // window, everything goes to a single combined Event carrying the latest message.
    let similar = this.#similar.get(groupKey);
    if (similar === undefined || now - similar.lastMs > this.#windowMs)
      similar = { messages: new Set(), lastMs: now };
    if (similar.messages.size <= this.#maxSimilar) similar.messages.add(message);
    similar.lastMs = now;
    this.#similar.set(groupKey, similar);
    const combined = similar.messages.size > this.#maxSimilar;
    const eventKey = combined ? `${groupKey}\u0000combined` : `${groupKey}\u0000${message}`;
    const eventMessage = combined ? `${COMBINED_PREFIX}${message}` : message;

    // Dedupe: a repeat within the window bumps the count of the same Event.
    let observed = this.#observed.get(eventKey);
    if (observed === undefined || now - observed.lastMs > this.#windowMs) {
      observed = {
        name: this.#eventName(object.name, now),
        count: 0,
        firstMs: now,
        lastMs: now,
        created: false,
      };
    }
    observed.count++;
    observed.lastMs = now;
    this.#observed.set(eventKey, observed);

    // Spam filter after dedupe, as in client-go: a filtered repeat still counts, so the next
    // write that gets through reports the true count.
    if (!this.#takeToken(objectKey, now)) {
      this.#stats.filtered++;
      return;
    }

    const event = this.#build(object, type, reason, eventMessage, observed);
    if (!this.#pending.has(observed.name) && this.#pending.size >= this.#maxQueued) {
      this.#stats.dropped++;
      return;
    }
    this.#pending.set(observed.name, { observed, event });
    this.#schedule();
  }

  #takeToken(objectKey: string, now: number): boolean {
    let bucket = this.#buckets.get(objectKey);
    if (bucket === undefined) {
      bucket = { tokens: this.#burst, lastMs: now };
    } else if (this.#refillMs > 0) {
      bucket.tokens = Math.min(this.#burst, bucket.tokens + (now - bucket.lastMs) / this.#refillMs);
      bucket.lastMs = now;
    }
    this.#buckets.set(objectKey, bucket);
    if (bucket.tokens < 1) return false;
    bucket.tokens -= 1;
    return true;
  }

  /** `<object name>.<hex>` like client-go's `%v.%x` of UnixNano; a counter stands in for the nanoseconds. */
  #eventName(objectName: string, now: number): string {
    const suffix = (BigInt(Math.floor(now)) * 1_000_000n + BigInt(this.#counter++ % 1_000_000)).toString(16);
    return `${objectName.slice(0, MAX_NAME - suffix.length - 1)}.${suffix}`;
  }

  #build(
    object: InvolvedObject,
    type: EventType,
    reason: string,
    message: string,
    observed: Observed,
  ): KubeEvent {
    const namespace = object.namespace ?? "";

    return {
      metadata: { name: observed.name, namespace: namespace === "" ? "default" : namespace },
      involvedObject: {
        kind: object.kind,
        apiVersion: object.apiVersion,
        name: object.name,
        uid: object.uid,
        ...(namespace === "" ? {} : { namespace }),
        ...(object.resourceVersion === undefined ? {} : { resourceVersion: object.resourceVersion }),
        ...(object.fieldPath === undefined ? {} : { fieldPath: object.fieldPath }),
      },
      reason,
      message,
      type,
      count: observed.count,
      firstTimestamp: new Date(observed.firstMs),
      lastTimestamp: new Date(observed.lastMs),
      source: { component: this.#component, host: this.#host },
      reportingComponent: this.#component,
      reportingInstance: this.#host,
    };
  }

  // Writes start on a microtask so recording never runs sink code on the caller's stack, and
  // a burst recorded in one tick is coalesced before the first write.
  #schedule(): void {
    if (this.#writing || this.#scheduled) return;
    this.#scheduled = true;
    queueMicrotask(() => {
      this.#scheduled = false;
      void this.#drain();
    });
  }

  async #drain(): Promise<void> {
    if (this.#writing) return;
    this.#writing = true;
    try {
      for (
        let next = this.#pending.entries().next();
        next.done !== true;
        next = this.#pending.entries().next()
      ) {
        const [name, write] = next.value;
        this.#pending.delete(name);
        await this.#write(write);
      }
    } finally {
      this.#writing = false;
      const waiters = this.#idleWaiters;
      this.#idleWaiters = [];
      for (const resolve of waiters) resolve();
    }
  }

  async #write({ observed, event }: PendingWrite): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        await this.#send(observed, event);
        this.#stats.written++;
        return;
      } catch (error) {
        if (attempt + 1 >= this.#maxAttempts || this.#abort.signal.aborted) {
          this.#stats.failed++;
          this.#logger.warn(
            { err: error, event: event.metadata.name, reason: event.reason, attempts: attempt + 1 },
            "dropping event after failed writes",
          );
          return;
        }
        try {
          await this.#clock.sleep(this.#retryBackoff.nextDelay(attempt, error), this.#abort.signal);
        } catch {
          // Closed while waiting: make the last attempt now instead of waiting out the backoff.
        }
      }
    }
  }

  async #send(observed: Observed, event: KubeEvent): Promise<void> {
    if (observed.created) {
      try {
        await this.#sink.patch(event, {
          count: event.count ?? 1,
          lastTimestamp: event.lastTimestamp ?? new Date(observed.lastMs),
          message: event.message ?? "",
        });
        return;
      } catch (error) {
        if (!(error instanceof NotFoundError)) throw error;
        // Expired or deleted under us: recreate it, keeping the accumulated count.
      }
    }
    await this.#sink.create(event);
    observed.created = true;
  }
}

/** An {@link EventRecorder} writing to `options.sink`. */
export function createEventRecorder(options: EventRecorderOptions): EventRecorder {
  return new Recorder(options);
}
