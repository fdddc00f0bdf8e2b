/**
 * Status for any number of pods from one list call per interval. Clouds that can list every object
 * of a node cheaply (ACI container groups by tag, Cloud Run jobs by label, interLink's status call)
 * answer `getPodStatuses` from a shared, recent list instead of one `get` per pod, and fetch details
 * only for the few objects that changed and whose list view lacks what the status needs.
 */
import { AbortedError, throwIfAborted } from "../errors.js";
import { systemClock } from "../clock.js";
import type { Clock } from "../clock.js";
import { podKey } from "../provider.js";
import type { CallOptions, PodRef, ProviderPodStatus, ProviderPodSummary } from "../provider.js";

/** What {@link createListStatusSource} needs to know about the cloud's objects of type `T`. */
export interface ListStatusSourceOptions<T> {
  /** Every cloud object of this node, as one array or as pages (an async iterable of arrays). */
  list: (signal: AbortSignal) => AsyncIterable<readonly T[]> | Promise<readonly T[]>;
  /**
   * The pod an object belongs to (usually `parseOwnership` of its tags), or `undefined` for an
   * object that is not a pod's. A `nodeName` in the answer is used by `listPods`.
   */
  identify: (object: T) => (PodRef & { nodeName?: string }) | undefined;
  /** A string that changes whenever the object's state changes (an etag, a revision, a timestamp). */
  fingerprint: (object: T) => string;
  /** True when the list view of this object lacks what `toStatus` needs; `get` then fetches it. */
  needsDetail?: (object: T) => boolean;
  /** The detailed object, or `undefined` when it is gone. Required when `needsDetail` can be true. */
  get?: (ref: PodRef, object: T, signal: AbortSignal) => Promise<T | undefined>;
  /** The pod status of a (detailed, when needed) object. Pure. */
  toStatus: (object: T) => ProviderPodStatus;
  /** Whether a pod needs no fast polling any more. Default {@link isSettledStatus}. */
  isSettled?: (status: ProviderPodStatus) => boolean;
  clock?: Clock;
  /** Longest age of a list while some pod is not settled (or an asked pod was missing). Default 2 s. */
  fastIntervalMs?: number;
  /** Longest age of a list while every pod is settled. Default 15 s. */
  slowIntervalMs?: number;
  /** Most `get` calls at once after one list. Default 8. */
  getConcurrency?: number;
}

/** Counters of a {@link ListStatusSource}, for tests and metrics. */
export interface ListStatusStats {
  /** List rounds completed (each may span several pages). */
  lists: number;
  /** Per-object `get` calls. */
  gets: number;
  /** Pages read over all lists. */
  pages: number;
  /** Objects in the last completed list. */
  objects: number;
  /** List rounds that failed. */
  listErrors: number;
  /** The interval in force now (fast or slow). */
  intervalMs: number;
}

/** The status half of a provider, served from one shared list. */
export interface ListStatusSource {
  /** `Provider.getPodStatuses`: keyed by `podKey(ref)`; `undefined` for a pod the list lacks or whose UID differs. */
  getPodStatuses(
    refs: readonly PodRef[],
    options: CallOptions,
  ): Promise<Map<string, ProviderPodStatus | undefined>>;
  /** `Provider.getPodStatus`, from the same shared list. */
  getPodStatus(ref: PodRef, options: CallOptions): Promise<ProviderPodStatus | undefined>;
  /**
   * `Provider.listPods`: every identified object with its status; with `nodeName`, only objects whose
   * identity names that node or no node at all (the list is this node's already). Objects that `get`
   * reported gone are left out.
   */
  listPods(nodeName: string | undefined, options: CallOptions): Promise<ProviderPodSummary[]>;
  /** Makes the next read list again (call after create and delete); with `ref`, also drops its cached detail. */
  invalidate(ref?: PodRef): void;
  stats(): ListStatusStats;
}

/** Running with every container ready, or terminal (`Succeeded`/`Failed`, or every container terminated). */
export function isSettledStatus(status: ProviderPodStatus): boolean {
  if (status.phase === "Succeeded" || status.phase === "Failed") return true;
  if (status.phase === "Pending" || status.phase === "Unknown" || status.containers.length === 0)
    return false;
  const states = status.containers.map((c) => c.state);
  if (states.every((s) => "terminated" in s)) return true;
  return status.containers.every((c) => "running" in c.state && c.ready !== false);
}

interface Entry<T> {
  ref: PodRef;
  nodeName: string | undefined;
  fingerprint: string;
  /** `undefined` when `get` said the object is gone. */
  status: ProviderPodStatus | undefined;
  object: T;
}

interface Listed<T> {
  ref: PodRef;
  nodeName: string | undefined;
  object: T;
  fp: string;
}

interface Snapshot<T> {
  at: number;
  generation: number;
  /** By `podKey`; several entries when a re-created pod's old object is still listed. */
  byKey: Map<string, Entry<T>[]>;
  unsettled: boolean;
}

interface Round<T> {
  generation: number;
  promise: Promise<Snapshot<T>>;
  controller: AbortController;
  waiters: number;
}

function entryId(ref: PodRef): string {
  return `${podKey(ref)}@${ref.uid}`;
}

async function* pagesOf<T>(
  result: AsyncIterable<readonly T[]> | Promise<readonly T[]>,
): AsyncIterable<readonly T[]> {
  if (Symbol.asyncIterator in result) yield* result;
  else yield await result;
}

/** Waits for `promise` but rejects as soon as `signal` aborts (the shared work goes on for others). */
function raceAbort<V>(promise: Promise<V>, signal: AbortSignal): Promise<V> {
  if (signal.aborted) return Promise.reject(new AbortedError(undefined, { cause: signal.reason }));
  return new Promise<V>((resolve, reject) => {
    const onAbort = (): void => {
      reject(new AbortedError(undefined, { cause: signal.reason }));
    };
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener("abort", onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener("abort", onAbort);
        reject(error instanceof Error ? error : new Error(String(error)));
      },
    );
  });
}

/**
 * Builds a status source over one `list` function. Any number of callers within one interval share
 * one list (one round in flight at a time); the interval is `fastIntervalMs` while some listed pod
 * is not settled or an asked pod was not listed, `slowIntervalMs` otherwise. A `get` happens only for
 * an object whose fingerprint changed since the previous list and that `needsDetail`; its answer
 * is cached under that fingerprint. List errors reject the callers of that round; the next read
 * lists again.
 */
export function createListStatusSource<T>(options: ListStatusSourceOptions<T>): ListStatusSource {
  const clock = options.clock ?? systemClock;
  const fastMs = options.fastIntervalMs ?? 2_000;
  const slowMs = options.slowIntervalMs ?? 15_000;
  const concurrency = Math.max(1, options.getConcurrency ?? 8);
  const isSettled = options.isSettled ?? isSettledStatus;
  const counters = { lists: 0, gets: 0, pages: 0, objects: 0, listErrors: 0 };

  let generation = 0;
  let snapshot: Snapshot<T> | undefined;
  let round: Round<T> | undefined;
  /** Set when an asked pod was not in the list: it may be starting, so look again soon. */
  let missedAsk = false;
  /** Detail answers by entry id, valid while the fingerprint stays the same. */
  const details = new Map<string, Entry<T>>();

  const intervalMs = (): number =>
    snapshot === undefined || snapshot.unsettled || missedAsk ? fastMs : slowMs;

  const fresh = (s: Snapshot<T> | undefined): s is Snapshot<T> =>
    s !== undefined && s.generation === generation && clock.now() - s.at < intervalMs();

  async function resolveEntry(item: Listed<T>, signal: AbortSignal): Promise<Entry<T>> {
    const { ref, object, fp, nodeName } = item;
    const id = entryId(ref);
    const cached = details.get(id);
    if (cached?.fingerprint === fp) return { ...cached, nodeName };
    let detailed: T | undefined = object;
    if (options.get !== undefined && options.needsDetail?.(object) === true) {
      counters.gets++;
      try {
        detailed = await options.get(ref, object, signal);
      } catch (error) {
        // One failed get must not fail the status of every other pod: keep the last detail (not
        // cached under the new fingerprint, so the next list tries again); without one, fail.
        if (cached === undefined || signal.aborted) throw error;
        return { ...cached, nodeName };
      }
    }
    const entry: Entry<T> = {
      ref,
      nodeName,
      fingerprint: fp,
      status: detailed === undefined ? undefined : options.toStatus(detailed),
      object: detailed ?? object,
    };
    details.set(id, entry);
    return entry;
  }

  async function runRound(startGeneration: number, signal: AbortSignal): Promise<Snapshot<T>> {
    const listed: Listed<T>[] = [];
    let objects = 0;
    for await (const page of pagesOf(options.list(signal))) {
      throwIfAborted(signal);
      counters.pages++;
      objects += page.length;
      for (const object of page) {
        const id = options.identify(object);
        if (id === undefined) continue;
        listed.push({
          ref: { namespace: id.namespace, name: id.name, uid: id.uid },
          nodeName: id.nodeName,
          object,
          fp: options.fingerprint(object),
        });
      }
    }
    // Details for the changed objects, a few at a time.
    const entries: Entry<T>[] = new Array<Entry<T>>(listed.length);
    let next = 0;
    const worker = async (): Promise<void> => {
      for (let i = next++; i < listed.length; i = next++) {
        const item = listed[i];
        if (item !== undefined) entries[i] = await resolveEntry(item, signal);
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, listed.length) }, worker));

    const byKey = new Map<string, Entry<T>[]>();
    const live = new Set<string>();
    let unsettled = false;
    for (const entry of entries) {
      const key = podKey(entry.ref);
      byKey.set(key, [...(byKey.get(key) ?? []), entry]);
      live.add(entryId(entry.ref));
      if (entry.status !== undefined && !isSettled(entry.status)) unsettled = true;
    }
    // Forget details of objects that left the list, so memory follows the cloud.
    for (const id of details.keys()) if (!live.has(id)) details.delete(id);
    counters.lists++;
    counters.objects = objects;
    return { at: clock.now(), generation: startGeneration, byKey, unsettled };
  }

  /** A fresh snapshot: the current one, the round in flight, or a new round. */
  async function current(signal: AbortSignal): Promise<Snapshot<T>> {
    for (;;) {
      throwIfAborted(signal);
      if (fresh(snapshot)) return snapshot;
      if (round !== undefined && round.generation !== generation) {
        // Started before an invalidate: its answer may predate the change. Wait it out, then list anew.
        await raceAbort(
          round.promise.catch(() => undefined),
          signal,
        );
        continue;
      }
      const active = round ?? startRound();
      active.waiters++;
      try {
        return await raceAbort(active.promise, signal);
      } finally {
        active.waiters--;
        // Nobody waits any more: stop the shared list rather than finish it for no one.
        if (active.waiters === 0 && round === active && signal.aborted) {
          round = undefined;
          active.controller.abort();
        }
      }
    }
  }

  function startRound(): Round<T> {
    const controller = new AbortController();
    const started: Round<T> = {
      generation,
      controller,
      waiters: 0,
      promise: runRound(generation, controller.signal).then(
        (result) => {
          if (round === started) round = undefined;
          snapshot = result;
          return result;
        },
        (error: unknown) => {
          if (round === started) round = undefined;
          if (!controller.signal.aborted) counters.listErrors++;
          throw error;
        },
      ),
    };
    // A round whose callers all left still settles; keep its rejection from going unhandled.
    started.promise.catch(() => undefined);
    round = started;
    return started;
  }

  function lookup(s: Snapshot<T>, ref: PodRef): Entry<T> | undefined {
    const candidates = s.byKey.get(podKey(ref));
    if (candidates === undefined) return undefined;
    // An empty asked UID matches any object (core's refs always carry one).
    return ref.uid === "" ? candidates[0] : candidates.find((e) => e.ref.uid === ref.uid);
  }

  const source: ListStatusSource = {
    async getPodStatuses(refs, { signal }) {
      const s = await current(signal);
      const statuses = new Map<string, ProviderPodStatus | undefined>();
      let missed = false;
      for (const ref of refs) {
        const entry = lookup(s, ref);
        if (entry === undefined) missed = true;
        statuses.set(podKey(ref), entry?.status);
      }
      missedAsk = missed;
      return statuses;
    },

    async getPodStatus(ref, options) {
      return (await source.getPodStatuses([ref], options)).get(podKey(ref));
    },

    async listPods(nodeName, { signal }) {
      const s = await current(signal);
      const pods: ProviderPodSummary[] = [];
      for (const entries of s.byKey.values()) {
        for (const entry of entries) {
          // No status: `get` said the listed object is gone (being deleted).
          if (entry.status === undefined) continue;
          if (nodeName !== undefined && entry.nodeName !== undefined && entry.nodeName !== nodeName) continue;
          pods.push({ ...entry.ref, nodeName: entry.nodeName ?? nodeName ?? "", status: entry.status });
        }
      }
      return pods;
    },

    invalidate(ref) {
      generation++;
      if (ref !== undefined) details.delete(entryId(ref));
    },

    stats: () => ({ ...counters, intervalMs: intervalMs() }),
  };
  return source;
}
