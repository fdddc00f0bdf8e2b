/**
 * A supervised list+watch cache (client-go's Reflector + Store), because client-node informers
 * have stopped for good after errors and stalled silently on half-open connections.
 *
 * - lists (paginated), then watches from the list's resourceVersion with bookmarks;
 * - 410 Gone / `Expired` → re-list; any other failure → re-watch after capped, jittered backoff;
 * - a watchdog restarts a watch that has been silent longer than `silenceTimeoutMs`
 *   (bookmarks arrive about once a minute, so silence means a stalled stream);
 * - on re-list, objects that vanished meanwhile are reported as deleted;
 * - {@link Reflector.retryNow} ends the backoff at once (the API server answers again).
 */
import { Backoff } from "../backoff.js";
import { type Clock, systemClock, type TimerHandle } from "../clock.js";
import { AbortedError, describeError } from "../errors.js";
import type { Logger } from "../logger.js";
import { isAborted, Waker } from "../sleep.js";
import { isGone, KubeApiError, type KubeClient, type WatchEventType } from "./client.js";

export interface KubeObject {
  metadata?: { name?: string; namespace?: string; resourceVersion?: string; uid?: string };
}

export interface ReflectorHandlers<T> {
  onUpsert(object: T, previous: T | undefined): void;
  onDelete(object: T): void;
  /** After every (re-)list has been applied. */
  onSynced?(): void;
}

export interface ReflectorOptions<T> {
  client: Pick<KubeClient, "get" | "watch">;
  /** Collection path, e.g. `/api/v1/pods`. */
  path: string;
  fieldSelector?: string;
  labelSelector?: string;
  handlers: ReflectorHandlers<T>;
  logger: Logger;
  /** Default 180 s. */
  silenceTimeoutMs?: number;
  /** Server-side watch timeout; jittered like client-go (5–10 min). */
  watchTimeoutSeconds?: number;
  /** Max backoff between failed attempts. Default 30 s. */
  maxBackoffMs?: number;
  /** Drives the backoff and the watchdog. Default: the system clock. */
  clock?: Clock;
  pageSize?: number;
  onRestart?: (reason: string) => void;
  /**
   * Applied to every listed or watched object before it is stored or handed on, e.g. to drop fields
   * nobody reads (`withoutManagedFields`). May change the object in place.
   */
  transform?: (object: T) => T;
}

interface ListResult<T> {
  metadata?: { resourceVersion?: string; continue?: string };
  items?: T[];
}

export function objectKey(object: KubeObject): string {
  const m = object.metadata;
  return m?.namespace ? `${m.namespace}/${m.name ?? ""}` : (m?.name ?? "");
}

export class Reflector<T extends KubeObject> {
  readonly store = new Map<string, T>();
  private synced = false;
  private resourceVersion = "";
  private readonly options: ReflectorOptions<T>;
  private syncedWaiters: (() => void)[] = [];
  private readonly clock: Clock;
  // 500 ms doubling to the cap, spread over [d/2, d] so many reflectors do not retry in lockstep.
  private readonly backoff: Backoff;
  private readonly waker: Waker;
  private failures = 0;

  constructor(options: ReflectorOptions<T>) {
    this.options = options;
    this.clock = options.clock ?? systemClock;
    this.waker = new Waker(this.clock);
    this.backoff = new Backoff({ baseMs: 500, maxMs: options.maxBackoffMs ?? 30_000, jitter: "equal" });
  }

  /**
   * Ends a backoff wait now and starts the next one from the base delay: the API server answers
   * again, so waiting out a delay grown during the outage only keeps the cache stale.
   */
  retryNow(): void {
    this.failures = 0;
    this.waker.wake();
  }

  get hasSynced(): boolean {
    return this.synced;
  }

  /** Resolves after the first list has been applied. */
  async waitForSync(signal?: AbortSignal): Promise<void> {
    if (this.synced) return;
    await new Promise<void>((resolve, reject) => {
      this.syncedWaiters.push(resolve);
      signal?.addEventListener("abort", () => {
        reject(new AbortedError());
      });
    });
  }

  /** Runs until `signal` aborts. Never throws otherwise. */
  async run(signal: AbortSignal): Promise<void> {
    let needList = true;
    while (!signal.aborted) {
      try {
        if (needList) {
          await this.list(signal);
          needList = false;
        }
        await this.watchOnce(signal);
        this.failures = 0;
      } catch (error) {
        if (isAborted(signal)) break;
        if (isGone(error)) {
          needList = true;
          this.options.onRestart?.("expired");
          this.options.logger.info({ path: this.options.path }, "watch expired (410); re-listing");
          continue;
        }
        this.failures++;
        const delay = this.backoff.nextDelay(this.failures - 1);
        this.options.onRestart?.("error");
        this.options.logger.warn(
          { path: this.options.path, error: describeError(error), retryInMs: Math.round(delay) },
          "watch failed; restarting",
        );
        // After repeated failures the resourceVersion may be too old anyway: re-list.
        if (this.failures >= 3) needList = true;
        await this.waker.sleep(delay, signal);
      }
    }
  }

  private async list(signal: AbortSignal): Promise<void> {
    const fresh = new Map<string, T>();
    let cont: string | undefined;
    let rv = "";
    do {
      const page = await this.options.client.get<ListResult<T>>(this.options.path, {
        query: {
          fieldSelector: this.options.fieldSelector,
          labelSelector: this.options.labelSelector,
          limit: this.options.pageSize ?? 500,
          continue: cont,
        },
        signal,
      });
      const transform = this.options.transform;
      for (const raw of page.items ?? []) {
        const item = transform === undefined ? raw : transform(raw);
        fresh.set(objectKey(item), item);
      }
      cont = page.metadata?.continue;
      rv = page.metadata?.resourceVersion ?? rv;
    } while (cont !== undefined && cont.length > 0);
    for (const [key, old] of this.store) {
      if (!fresh.has(key)) {
        this.store.delete(key);
        this.options.handlers.onDelete(old);
      }
    }
    for (const [key, item] of fresh) {
      const previous = this.store.get(key);
      this.store.set(key, item);
      if (previous?.metadata?.resourceVersion !== item.metadata?.resourceVersion || previous === undefined) {
        this.options.handlers.onUpsert(item, previous);
      }
    }
    this.resourceVersion = rv;
    this.synced = true;
    this.options.handlers.onSynced?.();
    for (const w of this.syncedWaiters.splice(0)) w();
  }

  private async watchOnce(signal: AbortSignal): Promise<void> {
    const watchAbort = new AbortController();
    const onOuterAbort = (): void => {
      watchAbort.abort();
    };
    signal.addEventListener("abort", onOuterAbort, { once: true });
    const silence = this.options.silenceTimeoutMs ?? 180_000;
    let lastEvent = this.clock.now();
    const state = { stalled: false };
    let watchdog: TimerHandle | undefined;
    const check = (): void => {
      if (this.clock.now() - lastEvent > silence) {
        state.stalled = true;
        watchAbort.abort();
        return;
      }
      watchdog = this.clock.setTimeout(check, Math.min(silence, 5_000));
    };
    check();
    const base = this.options.watchTimeoutSeconds ?? 300;
    try {
      await this.options.client.watch(
        this.options.path,
        {
          fieldSelector: this.options.fieldSelector,
          labelSelector: this.options.labelSelector,
          resourceVersion: this.resourceVersion,
          allowWatchBookmarks: true,
          timeoutSeconds: Math.round(base + Math.random() * base),
        },
        (type, object) => {
          lastEvent = this.clock.now();
          this.apply(type, object);
        },
        watchAbort.signal,
      );
    } catch (error) {
      if (state.stalled && !signal.aborted)
        throw new Error(`watch silent for ${silence} ms`, { cause: error });
      throw error;
    } finally {
      this.clock.clearTimeout(watchdog);
      signal.removeEventListener("abort", onOuterAbort);
    }
  }

  private apply(type: WatchEventType, raw: unknown): void {
    if (type === "ERROR") {
      const status = raw as { code?: number; reason?: string; message?: string };
      throw new KubeApiError(status.code ?? 500, status.reason ?? "Unknown", status.message ?? "watch error");
    }
    const object = this.options.transform === undefined ? (raw as T) : this.options.transform(raw as T);
    const rv = object.metadata?.resourceVersion;
    if (rv !== undefined) this.resourceVersion = rv;
    if (type === "BOOKMARK") return;
    const key = objectKey(object);
    if (type === "DELETED") {
      this.store.delete(key);
      this.options.handlers.onDelete(object);
      return;
    }
    const previous = this.store.get(key);
    this.store.set(key, object);
    this.options.handlers.onUpsert(object, previous);
  }
}
