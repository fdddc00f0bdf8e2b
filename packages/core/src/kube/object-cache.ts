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
 */
import type { ConfigSource } from "../config/source.js";
import { describeError } from "../errors.js";
import type { Logger } from "../logger.js";
import type { KubeClient } from "./client.js";
import { paths } from "./api.js";
import { Reflector } from "./reflector.js";
import type { ConfigMap, Secret, Service } from "./types.js";

type Kind = "configmaps" | "secrets";

interface Watched<T> {
  reflector: Reflector<T & { metadata?: { name?: string } }>;
  abort: AbortController;
  synced: Promise<void>;
  /** Pod keys that refer to this object. */
  users: Set<string>;
}

export type ReferenceListener = (
  kind: Kind,
  namespace: string,
  name: string,
  podKeys: ReadonlySet<string>,
) => void;

/** The objects one resolution read, including those that were missing. */
export interface References {
  configMaps: Set<string>;
  secrets: Set<string>;
}

export class ObjectWatchCache {
  private readonly watched = new Map<string, Watched<ConfigMap | Secret>>();
  private services: Reflector<Service> | undefined;
  private servicesSynced: Promise<void> | undefined;
  private readonly lifetime = new AbortController();
  private readonly listeners = new Set<ReferenceListener>();
  private readonly byPod = new Map<string, string[]>();

  constructor(
    private readonly client: KubeClient,
    private readonly logger: Logger,
  ) {}

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
      ...extra,
    };
  }

  /** Records that `podKey` uses these objects (replacing what it used before) and drops unused watches. */
  retain(podKey: string, references: References): void {
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
  }

  close(): void {
    this.lifetime.abort();
    this.watched.clear();
  }

  /** Number of single-object watches open (for tests and metrics). */
  get watchCount(): number {
    return this.watched.size;
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
