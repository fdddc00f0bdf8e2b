/**
 * A supervised list+watch cache (client-go's Reflector + Store), because client-node informers
 * have stopped for good after errors and stalled silently on half-open connections.
 *
 * - lists (paginated), then watches from the list's resourceVersion with bookmarks;
 * - 410 Gone / `Expired` → re-list; any other failure → re-watch after capped, jittered backoff;
 * - a watchdog restarts a watch that has been silent longer than `silenceTimeoutMs`
 *   (bookmarks arrive about once a minute, so silence means a stalled stream);
 * - on re-list, objects that vanished meanwhile are reported as deleted.
 */
import { AbortedError, describeError } from "../errors.js";
import type { Logger } from "../logger.js";
import { isAborted, sleepUnlessAborted } from "../sleep.js";
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
  pageSize?: number;
  onRestart?: (reason: string) => void;
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

  constructor(options: ReflectorOptions<T>) {
    this.options = options;
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
    let failures = 0;
    let needList = true;
    while (!signal.aborted) {
      try {
        if (needList) {
          await this.list(signal);
          needList = false;
        }
        await this.watchOnce(signal);
        failures = 0;
      } catch (error) {
        if (isAborted(signal)) break;
        if (isGone(error)) {
          needList = true;
          this.options.onRestart?.("expired");
          this.options.logger.info({ path: this.options.path }, "watch expired (410); re-listing");
          continue;
        }
        failures++;
        const cap = this.options.maxBackoffMs ?? 30_000;
        const delay = Math.min(cap, 250 * 2 ** Math.min(failures, 10)) * (0.5 + Math.random() / 2);
        this.options.onRestart?.("error");
        this.options.logger.warn(
          { path: this.options.path, error: describeError(error), retryInMs: Math.round(delay) },
          "watch failed; restarting",
        );
        // After repeated failures the resourceVersion may be too old anyway: re-list.
        if (failures >= 3) needList = true;
        await sleepUnlessAborted(delay, signal);
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
      for (const item of page.items ?? []) fresh.set(objectKey(item), item);
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
    let lastEvent = Date.now();
    const state = { stalled: false };
    const watchdog = setInterval(
      () => {
        if (Date.now() - lastEvent > silence) {
          state.stalled = true;
          watchAbort.abort();
        }
      },
      Math.min(silence, 5_000),
    );
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
          lastEvent = Date.now();
          this.apply(type, object);
        },
        watchAbort.signal,
      );
    } catch (error) {
      if (state.stalled && !signal.aborted)
        throw new Error(`watch silent for ${silence} ms`, { cause: error });
      throw error;
    } finally {
      clearInterval(watchdog);
      signal.removeEventListener("abort", onOuterAbort);
    }
  }

  private apply(type: WatchEventType, raw: unknown): void {
    if (type === "ERROR") {
      const status = raw as { code?: number; reason?: string; message?: string };
      throw new KubeApiError(status.code ?? 500, status.reason ?? "Unknown", status.message ?? "watch error");
    }
    const object = raw as T;
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
