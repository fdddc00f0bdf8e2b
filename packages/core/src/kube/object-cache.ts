/**
 * What a pod refers to, cached and watched the way the kubelet's watch-based managers do it:
 *
 * - ConfigMaps and Secrets: one single-object watch (`fieldSelector=metadata.name=<name>`) per
 *   referenced object, started on first use and stopped when no pod refers to it any more. The Node
 *   authorizer allows exactly this for objects referenced by the node's pods, so the agent works
 *   as `system:node:<name>` — no cluster-wide Secret watch. A change (or the object appearing)
 *   notifies the pods that refer to it: mounted files are updated, and a pod waiting for a missing
 *   object starts at once.
 * - Services (for service-link env vars): one watch over all services, started on first use.
 * - PersistentVolumeClaims and PersistentVolumes: a plain GET per lookup. The Node authorizer allows
 *   a node only `get` on them (no list, no watch, not even by name), so a pod that waits on a claim
 *   (missing, unbound, its PV missing) has the claims and PVs it read polled by GET, as the kubelet's
 *   volume manager does: a change to any of them re-resolves the pod.
 *
 * When the API server answers again after an outage (the client's {@link ApiReachability}), every
 * watch here restarts at once instead of waiting out the backoff it grew meanwhile, as the pod and
 * node watches do.
 */
import { systemClock, type Clock } from "../clock.js";
import type { ConfigSource } from "../config/source.js";
import { describeError } from "../errors.js";
import type { Logger } from "../logger.js";
import { isNotFound, type KubeClient } from "./client.js";
import { paths } from "./api.js";
import type { ApiReachability } from "./reachability.js";
import { Reflector } from "./reflector.js";
import { withoutManagedFields } from "./trim.js";
import type { ConfigMap, PersistentVolume, PersistentVolumeClaim, Secret, Service } from "./types.js";

type Kind = "configmaps" | "secrets";

/** The kinds of objects a {@link ReferenceListener} hears about. */
export type ReferenceKind = Kind | "persistentvolumeclaims" | "persistentvolumes";

interface Polled {
  kind: "persistentvolumeclaims" | "persistentvolumes";
  namespace: string;
  name: string;
  /** Waiting pod → the state its last lookup saw (`uid/resourceVersion`, or `absent`). */
  users: Map<string, string>;
}

interface Watched<T> {
  reflector: Reflector<T & { metadata?: { name?: string } }>;
  abort: AbortController;
  synced: Promise<void>;
  /** Pod keys that refer to this object. */
  users: Set<string>;
}

/** Told which pods refer to an object that changed (or appeared). */
export type ReferenceListener = (
  kind: ReferenceKind,
  namespace: string,
  name: string,
  podKeys: ReadonlySet<string>,
) => void;

/** The objects one resolution read, including those that were missing. */
export interface References {
  configMaps: Set<string>;
  secrets: Set<string>;
  /**
   * PersistentVolumeClaims (`persistentvolumeclaims/<ns>/<name>`) and PersistentVolumes
   * (`persistentvolumes//<name>`) read, with the state seen (`uid/resourceVersion`, or `absent`).
   */
  volumes?: Map<string, string>;
}

/** Options of {@link ObjectWatchCache}. */
export interface ObjectWatchCacheOptions {
  /** Drives the claim polls. Default: the system clock. */
  clock?: Clock;
  /** How often the claims and PVs of waiting pods are read again. Default 2 s. */
  volumePollIntervalMs?: number;
  /**
   * Tells when the API server answers again after an outage: the watches then restart at once.
   * Default: the client's `reachability`.
   */
  reachability?: Pick<ApiReachability, "onRecovered">;
}

export class ObjectWatchCache {
  private readonly watched = new Map<string, Watched<ConfigMap | Secret>>();
  private services: Reflector<Service> | undefined;
  private servicesSynced: Promise<void> | undefined;
  private readonly lifetime = new AbortController();
  private readonly listeners = new Set<ReferenceListener>();
  private readonly byPod = new Map<string, string[]>();
  private readonly polled = new Map<string, Polled>();
  private readonly polledByPod = new Map<string, string[]>();
  private readonly inFlight = new Map<string, Promise<unknown>>();
  private polling = false;
  private readonly clock: Clock;
  private readonly volumePollIntervalMs: number;
  private readonly unsubscribeRecovered: () => void;

  constructor(
    private readonly client: KubeClient,
    private readonly logger: Logger,
    options: ObjectWatchCacheOptions = {},
  ) {
    this.clock = options.clock ?? systemClock;
    this.volumePollIntervalMs = options.volumePollIntervalMs ?? 2_000;
    // A test double of the client may come without a reachability tracker.
    const reachability =
      options.reachability ?? (client as Partial<Pick<KubeClient, "reachability">>).reachability;
    this.unsubscribeRecovered =
      reachability?.onRecovered(() => {
        this.retryNow();
      }) ?? (() => undefined);
  }

  /**
   * Ends the backoff of every watch now (the API server answers again): a ConfigMap or Secret
   * changed during the outage reaches its pods without waiting out a delay of up to 30 s.
   */
  retryNow(): void {
    for (const w of this.watched.values()) w.reflector.retryNow();
    this.services?.retryNow();
  }

  onChange(listener: ReferenceListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * A ConfigSource that reads through the cache and records what it read in `references`
   * (`namespace/name`), so the caller can {@link retain} them for the pod.
   */
  sourceFor(
    references: References,
    extra: Pick<ConfigSource, "requestServiceAccountToken" | "getClusterTrustBundles"> = {},
  ): ConfigSource {
    return {
      getConfigMap: async (ns, name, signal) => {
        references.configMaps.add(`${ns}/${name}`);
        return await this.get("configmaps", ns, name, signal);
      },
      getSecret: async (ns, name, signal) => {
        references.secrets.add(`${ns}/${name}`);
        return await this.get("secrets", ns, name, signal);
      },
      listServices: async (ns, signal) => this.listServices(ns, signal),
      getPersistentVolumeClaim: async (ns, name, signal) => {
        const claim = await this.getOnce<PersistentVolumeClaim>(
          paths.persistentVolumeClaim(ns, name),
          signal,
        );
        (references.volumes ??= new Map()).set(`persistentvolumeclaims/${ns}/${name}`, stateOf(claim));
        return claim;
      },
      getPersistentVolume: async (name, signal) => {
        const volume = await this.getOnce<PersistentVolume>(paths.persistentVolume(name), signal);
        (references.volumes ??= new Map()).set(`persistentvolumes//${name}`, stateOf(volume));
        return volume;
      },
      ...extra,
    };
  }

  /**
   * Records that `podKey` uses these objects (replacing what it used before) and drops unused
   * watches. With `waiting` (its resolution failed on something that may still appear), the claims
   * and PVs it read are polled until one of them changes.
   */
  retain(podKey: string, references: References, waiting = false): void {
    this.retainPolled(podKey, waiting ? (references.volumes ?? new Map<string, string>()) : new Map());
    const keys = [
      ...[...references.configMaps].map((r) => `configmaps/${r}`),
      ...[...references.secrets].map((r) => `secrets/${r}`),
    ];
    const previous = this.byPod.get(podKey) ?? [];
    this.byPod.set(podKey, keys);
    for (const k of keys) this.watched.get(k)?.users.add(podKey);
    for (const k of previous) if (!keys.includes(k)) this.dropUser(k, podKey);
  }

  /** The pod is gone: stop watching what only it used. */
  release(podKey: string): void {
    for (const k of this.byPod.get(podKey) ?? []) this.dropUser(k, podKey);
    this.byPod.delete(podKey);
    this.retainPolled(podKey, new Map());
  }

  close(): void {
    this.unsubscribeRecovered();
    this.lifetime.abort();
    this.watched.clear();
  }

  /** Number of single-object watches open (for tests and metrics). */
  get watchCount(): number {
    return this.watched.size;
  }

  /** Number of claims and PVs polled for waiting pods (for tests and metrics). */
  get pollCount(): number {
    return this.polled.size;
  }

  private retainPolled(podKey: string, seen: ReadonlyMap<string, string>): void {
    const previous = this.polledByPod.get(podKey) ?? [];
    for (const key of previous) {
      if (seen.has(key)) continue;
      const p = this.polled.get(key);
      p?.users.delete(podKey);
      if (p?.users.size === 0) this.polled.delete(key);
    }
    if (seen.size === 0) {
      this.polledByPod.delete(podKey);
      return;
    }
    this.polledByPod.set(podKey, [...seen.keys()]);
    for (const [key, state] of seen) {
      const [kind, namespace = "", name = ""] = key.split("/") as [Polled["kind"], string?, string?];
      const p = this.polled.get(key) ?? { kind, namespace, name, users: new Map<string, string>() };
      // Per pod: what must wake it is a change after its own lookup.
      p.users.set(podKey, state);
      this.polled.set(key, p);
    }
    if (!this.polling) {
      this.polling = true;
      void this.pollVolumes();
    }
  }

  /** Reads the polled claims and PVs every interval; a changed one wakes the pods that wait on it. */
  private async pollVolumes(): Promise<void> {
    const signal = this.lifetime.signal;
    try {
      while (this.polled.size > 0 && !signal.aborted) {
        try {
          await this.clock.sleep(this.volumePollIntervalMs, signal);
        } catch {
          return;
        }
        for (const [key, p] of [...this.polled]) {
          let state: string;
          try {
            const path =
              p.kind === "persistentvolumeclaims"
                ? paths.persistentVolumeClaim(p.namespace, p.name)
                : paths.persistentVolume(p.name);
            state = stateOf(await this.getOnce<PersistentVolumeClaim | PersistentVolume>(path, signal));
          } catch (error) {
            // Read through `this`: TypeScript narrowed `signal.aborted` to false at the loop test.
            if (this.lifetime.signal.aborted) return;
            this.logger.debug({ object: key, error: describeError(error) }, "volume poll failed");
            continue;
          }
          if (this.polled.get(key) !== p) continue;
          const woken = new Set<string>();
          for (const [podKey, seen] of p.users) if (seen !== state) woken.add(podKey);
          if (woken.size === 0) continue;
          for (const podKey of woken) {
            p.users.delete(podKey);
            const keys = this.polledByPod.get(podKey)?.filter((k) => k !== key) ?? [];
            if (keys.length === 0) this.polledByPod.delete(podKey);
            else this.polledByPod.set(podKey, keys);
          }
          if (p.users.size === 0) this.polled.delete(key);
          for (const l of this.listeners) l(p.kind, p.namespace, p.name, woken);
        }
      }
    } finally {
      // In the same tick as the loop's last test: a pod retained right after starts a new loop.
      this.polling = false;
    }
  }

  /** One GET per path at a time (concurrent syncs of pods on one claim share it); 404 is `undefined`. */
  private async getOnce<T>(path: string, signal: AbortSignal): Promise<T | undefined> {
    let pending = this.inFlight.get(path) as Promise<T | undefined> | undefined;
    if (!pending) {
      pending = this.client
        .get<T>(path, { signal: this.lifetime.signal })
        .catch((error: unknown) => {
          if (isNotFound(error)) return undefined;
          throw error;
        })
        .finally(() => this.inFlight.delete(path));
      pending.catch(() => undefined);
      this.inFlight.set(path, pending);
    }
    return raceAbort(pending, signal);
  }

  private dropUser(key: string, podKey: string): void {
    const w = this.watched.get(key);
    if (!w) return;
    w.users.delete(podKey);
    if (w.users.size === 0) {
      w.abort.abort();
      this.watched.delete(key);
    }
  }

  private async get(
    kind: Kind,
    namespace: string,
    name: string,
    signal: AbortSignal,
  ): Promise<ConfigMap | Secret | undefined> {
    const key = `${kind}/${namespace}/${name}`;
    let w = this.watched.get(key);
    if (!w) {
      const abort = new AbortController();
      const lifetime = AbortSignal.any([abort.signal, this.lifetime.signal]);
      const reflector = new Reflector<ConfigMap | Secret>({
        client: this.client,
        path: kind === "configmaps" ? paths.configMaps(namespace) : paths.secrets(namespace),
        fieldSelector: `metadata.name=${name}`,
        logger: this.logger,
        clock: this.clock,
        transform: withoutManagedFields,
        handlers: {
          onUpsert: () => {
            this.notify(kind, namespace, name);
          },
          onDelete: () => {
            this.notify(kind, namespace, name);
          },
        },
      });
      const created: Watched<ConfigMap | Secret> = {
        reflector,
        abort,
        synced: reflector.waitForSync(lifetime),
        users: new Set(),
      };
      created.synced.catch(() => undefined);
      w = created;
      this.watched.set(key, w);
      reflector.run(lifetime).catch((error: unknown) => {
        this.logger.warn({ object: key, error: describeError(error) }, "object watch ended");
      });
    }
    await raceAbort(w.synced, signal);
    return w.reflector.store.get(`${namespace}/${name}`);
  }

  private async listServices(namespace: string, signal: AbortSignal): Promise<Service[]> {
    if (!this.services) {
      this.services = new Reflector<Service>({
        client: this.client,
        path: paths.allServices,
        logger: this.logger,
        clock: this.clock,
        transform: withoutManagedFields,
        handlers: { onUpsert: () => undefined, onDelete: () => undefined },
      });
      this.servicesSynced = this.services.waitForSync(this.lifetime.signal);
      this.servicesSynced.catch(() => undefined);
      this.services.run(this.lifetime.signal).catch(() => undefined);
    }
    await raceAbort(this.servicesSynced ?? Promise.resolve(), signal);
    return [...this.services.store.values()].filter((s) => s.metadata?.namespace === namespace);
  }

  private notify(kind: Kind, namespace: string, name: string): void {
    const users = this.watched.get(`${kind}/${namespace}/${name}`)?.users;
    if (!users || users.size === 0) return;
    for (const l of this.listeners) l(kind, namespace, name, users);
  }
}

/** What a poll compares: the object's identity and version, or its absence. */
function stateOf(object: { metadata?: { uid?: string; resourceVersion?: string } } | undefined): string {
  return object === undefined
    ? "absent"
    : `${object.metadata?.uid ?? ""}/${object.metadata?.resourceVersion ?? ""}`;
}

async function raceAbort<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) throw signal.reason instanceof Error ? signal.reason : new Error("aborted");
  let onAbort: (() => void) | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_resolve, reject) => {
        onAbort = () => {
          reject(signal.reason instanceof Error ? signal.reason : new Error("aborted"));
        };
        signal.addEventListener("abort", onAbort, { once: true });
      }),
    ]);
  } finally {
    // Every sync shares the work queue's long-lived signal: a listener left behind per lookup piles up.
    if (onAbort) signal.removeEventListener("abort", onAbort);
  }
}
