/**
 * A keyed work queue in the manner of client-go's `workqueue`: a key is queued at most once
 * however often it is added, never runs concurrently with itself (added while running means
 * "run again afterwards"), and failures are retried with per-key exponential backoff.
 *
 * The concurrency limit is a plain counter rather than p-queue: p-queue would own the pending
 * tasks, but dedupe and the dirty/processing bookkeeping need the pending *keys*, and once that
 * bookkeeping exists the limit is a single comparison.
 */
import { ItemExponentialRateLimiter, withRetryAfter, type RateLimiter } from "./backoff.js";
import { systemClock, type Clock, type TimerHandle } from "./clock.js";
import { AbortedError, InvalidInputError } from "./errors.js";
import { noopLogger, type Logger } from "./logger.js";

/** What a handler may return: ask for another run later even though this one succeeded (polling). */
export interface SyncResult {
  requeueAfterMs?: number;
}

/**
 * Processes one key. Resolving counts as success (the key's backoff is forgotten); rejecting
 * schedules a rate-limited retry. `signal` aborts on `shutDown({ drain: false })`.
 */
export type SyncHandler<K extends string = string> = (
  key: K,
  signal: AbortSignal,
  // `void`, not `undefined`: then `async () => {}` and `cond ? Promise.reject(e) : Promise.resolve()`
  // both type-check as handlers, which a union of promise types does not allow.
  // eslint-disable-next-line @typescript-eslint/no-invalid-void-type
) => Promise<SyncResult | void>;

/**
 * Metric events, one concern each so they map onto counters/histograms directly. The gauges
 * client-go updates on a ticker (unfinished work, longest running processor) are read from
 * {@link WorkQueue.stats} at scrape time instead.
 */
export type WorkQueueMetric =
  | { type: "depth"; queue: string; depth: number }
  | { type: "add"; queue: string; key: string }
  /** Time from the (first) add to the start of the run it caused. */
  | { type: "latency"; queue: string; key: string; ms: number }
  | { type: "workDuration"; queue: string; key: string; ms: number; outcome: "success" | "error" }
  | { type: "retry"; queue: string; key: string; delayMs: number; requeues: number };

export interface WorkQueueStats {
  /** Keys ready to run, not counting those in flight or delayed. */
  depth: number;
  inFlight: number;
  /** Keys with a pending delayed add (`addAfter`, `addRateLimited`, `requeueAfterMs`). */
  waiting: number;
  /** How long the oldest in-flight run has been running (0 when idle). */
  longestRunningMs: number;
  /** Sum of the running times of all in-flight runs. */
  unfinishedWorkMs: number;
}

export interface WorkQueueOptions<K extends string = string> {
  /** Used in logs and metrics. Default `workqueue`. */
  name?: string;
  /** Maximum simultaneous handler runs (distinct keys). Default 1. */
  concurrency?: number;
  clock?: Clock;
  /** Default: per-key exponential, 5 ms to 1000 s, equal jitter. */
  rateLimiter?: RateLimiter<K>;
  /** Called synchronously on each metric event; exceptions are swallowed. */
  onMetrics?: (metric: WorkQueueMetric) => void;
  logger?: Logger;
}

export interface ShutDownOptions {
  /**
   * `true` (default): in-flight runs finish normally. `false`: their signal is aborted first.
   * Either way, queued and delayed keys are dropped; reconcilers resync from a full list on start.
   */
  drain?: boolean;
}

function requeueAfterOf(result: unknown): number | undefined {
  if (typeof result !== "object" || result === null) return undefined;
  const ms = (result as SyncResult).requeueAfterMs;
  return typeof ms === "number" && !Number.isNaN(ms) ? ms : undefined;
}

export class WorkQueue<K extends string = string> {
  readonly name: string;
  readonly #concurrency: number;
  readonly #clock: Clock;
  readonly #rateLimiter: RateLimiter<K>;
  readonly #onMetrics: ((metric: WorkQueueMetric) => void) | undefined;
  readonly #logger: Logger;

  // Ready keys in FIFO order; `#head` avoids O(n) shifts.
  #queue: K[] = [];
  #head = 0;
  // client-go's "dirty" set: keys that need a run, with the time of their first add.
  readonly #dirty = new Map<K, number>();
  // Keys running now, with their start time; a dirty key in here waits for the run to finish.
  readonly #processing = new Map<K, number>();
  readonly #waiting = new Map<K, { due: number; timer: TimerHandle }>();

  #handler: SyncHandler<K> | undefined;
  readonly #abort = new AbortController();
  #shuttingDown = false;
  readonly #stopped: Promise<void>;
  #resolveStopped: () => void = () => undefined;

  constructor(options: WorkQueueOptions<K> = {}) {
    const concurrency = options.concurrency ?? 1;
    if (!Number.isInteger(concurrency) || concurrency < 1) {
      throw new InvalidInputError(`work queue concurrency must be a positive integer, got ${concurrency}`);
    }
    this.name = options.name ?? "workqueue";
    this.#concurrency = concurrency;
    this.#clock = options.clock ?? systemClock;
    this.#rateLimiter = options.rateLimiter ?? new ItemExponentialRateLimiter<K>();
    this.#onMetrics = options.onMetrics;
    this.#logger = (options.logger ?? noopLogger).child({ queue: this.name });
    this.#stopped = new Promise<void>((resolve) => {
      this.#resolveStopped = resolve;
    });
  }

  /** Keys ready to run (not in flight, not delayed). */
  get len(): number {
    return this.#queue.length - this.#head;
  }

  /** Handler runs in progress. */
  get inFlight(): number {
    return this.#processing.size;
  }

  get shuttingDown(): boolean {
    return this.#shuttingDown;
  }

  stats(): WorkQueueStats {
    const now = this.#clock.now();
    let longest = 0;
    let total = 0;
    for (const started of this.#processing.values()) {
      longest = Math.max(longest, now - started);
      total += now - started;
    }
    return {
      depth: this.len,
      inFlight: this.inFlight,
      waiting: this.#waiting.size,
      longestRunningMs: longest,
      unfinishedWorkMs: total,
    };
  }

  /** Queue `key` unless it is already queued; if it is running, run it once more afterwards. */
  add(key: K): void {
    if (this.#shuttingDown) return;
    this.#emit({ type: "add", queue: this.name, key });
    if (this.#dirty.has(key)) return;
    this.#dirty.set(key, this.#clock.now());
    if (this.#processing.has(key)) return;
    this.#push(key);
    this.#pump();
  }

  /** Add `key` after `ms`. Only the earliest pending due time per key is kept. */
  addAfter(key: K, ms: number): void {
    if (this.#shuttingDown) return;
    if (!(ms > 0)) {
      this.add(key);
      return;
    }
    const due = this.#clock.now() + ms;
    const existing = this.#waiting.get(key);
    if (existing !== undefined) {
      if (existing.due <= due) return;
      this.#clock.clearTimeout(existing.timer);
    }
    const timer = this.#clock.setTimeout(() => {
      this.#waiting.delete(key);
      this.add(key);
    }, ms);
    this.#waiting.set(key, { due, timer });
  }

  /** Add `key` after its backoff delay (at least the error's `retryAfterMs`); counts a failure. */
  addRateLimited(key: K, error?: unknown): void {
    if (this.#shuttingDown) return;
    const delayMs = withRetryAfter(this.#rateLimiter.when(key, error), error);
    this.#emit({
      type: "retry",
      queue: this.name,
      key,
      delayMs,
      requeues: this.#rateLimiter.numRequeues(key),
    });
    this.addAfter(key, delayMs);
  }

  /**
   * Runs every key that waits for a delayed add now (its backoff counter is kept). For when the
   * cause of the failures is known to be over — the API server answers again — so keys do not wait
   * out delays that grew during the outage.
   */
  retryWaitingNow(): void {
    if (this.#shuttingDown) return;
    const keys = [...this.#waiting.keys()];
    for (const [, { timer }] of this.#waiting) this.#clock.clearTimeout(timer);
    this.#waiting.clear();
    for (const key of keys) this.add(key);
  }

  /** Reset the key's backoff; done automatically when its handler succeeds. */
  forget(key: K): void {
    this.#rateLimiter.forget(key);
  }

  numRequeues(key: K): number {
    return this.#rateLimiter.numRequeues(key);
  }

  /**
   * Start running `handler` on queued keys, up to `concurrency` at once. Call once. The promise
   * resolves when the queue has been shut down and its last run has settled (like client-go's
   * blocking `Run`); it never rejects, since handler failures are retried, not surfaced.
   */
  process(handler: SyncHandler<K>): Promise<void> {
    if (this.#handler !== undefined)
      throw new InvalidInputError(`work queue ${this.name}: process() called twice`);
    this.#handler = handler;
    this.#pump();
    return this.#stopped;
  }

  /**
   * Stop: no new runs start, adds are ignored, delayed adds are cancelled. Resolves once every
   * in-flight run has settled. Calling it again returns the same promise; `drain: false` on a
   * later call still aborts the runs.
   */
  shutDown(options: ShutDownOptions = {}): Promise<void> {
    if (options.drain === false && !this.#abort.signal.aborted) {
      this.#abort.abort(new AbortedError(`work queue ${this.name} shut down`));
    }
    if (this.#shuttingDown) return this.#stopped;
    this.#shuttingDown = true;
    for (const { timer } of this.#waiting.values()) this.#clock.clearTimeout(timer);
    this.#waiting.clear();
    this.#queue = [];
    this.#head = 0;
    this.#dirty.clear();
    this.#emit({ type: "depth", queue: this.name, depth: 0 });
    if (this.#processing.size === 0) this.#resolveStopped();
    return this.#stopped;
  }

  #push(key: K): void {
    this.#queue.push(key);
    this.#emit({ type: "depth", queue: this.name, depth: this.len });
  }

  #shift(): K | undefined {
    if (this.#head >= this.#queue.length) return undefined;
    const key = this.#queue[this.#head++];
    // Compact once the consumed prefix dominates, keeping memory bounded without O(n) shifts.
    if (this.#head > 1024 && this.#head * 2 > this.#queue.length) {
      this.#queue = this.#queue.slice(this.#head);
      this.#head = 0;
    }
    return key;
  }

  #pump(): void {
    const handler = this.#handler;
    if (handler === undefined || this.#shuttingDown) return;
    // Re-entrant on purpose: a handler that adds keys synchronously re-enters here; all state is
    // updated before the handler is called, so nested and outer loops see a consistent queue.
    while (this.#processing.size < this.#concurrency) {
      const key = this.#shift();
      if (key === undefined) return;
      const now = this.#clock.now();
      const addedAt = this.#dirty.get(key) ?? now;
      this.#dirty.delete(key);
      this.#processing.set(key, now);
      this.#emit({ type: "depth", queue: this.name, depth: this.len });
      this.#emit({ type: "latency", queue: this.name, key, ms: now - addedAt });
      void this.#run(key, handler, now);
    }
  }

  async #run(key: K, handler: SyncHandler<K>, started: number): Promise<void> {
    let result: unknown;
    let failed = false;
    let error: unknown;
    try {
      result = await handler(key, this.#abort.signal);
    } catch (caught) {
      failed = true;
      error = caught;
    }
    this.#processing.delete(key);
    this.#emit({
      type: "workDuration",
      queue: this.name,
      key,
      ms: this.#clock.now() - started,
      outcome: failed ? "error" : "success",
    });

    if (this.#shuttingDown) {
      if (failed) this.#logger.debug({ key, err: error }, "sync failed during shutdown");
      if (this.#processing.size === 0) this.#resolveStopped();
      return;
    }

    // Re-queue a key added during its run before scheduling retries, so an immediate retry
    // (delay 0) finds it dirty and is not queued twice.
    if (this.#dirty.has(key)) this.#push(key);
    if (failed) {
      this.addRateLimited(key, error);
      this.#logger.warn(
        { key, err: error, requeues: this.#rateLimiter.numRequeues(key) },
        "sync failed; retrying with backoff",
      );
    } else {
      this.#rateLimiter.forget(key);
      const after = requeueAfterOf(result);
      if (after !== undefined) this.addAfter(key, after);
    }
    this.#pump();
  }

  #emit(metric: WorkQueueMetric): void {
    if (this.#onMetrics === undefined) return;
    try {
      this.#onMetrics(metric);
    } catch {
      // A broken metrics hook must not stall the queue.
    }
  }
}
