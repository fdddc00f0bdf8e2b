/**
 * An in-memory coordination API for the HA unit tests: one "server" holding Leases with
 * resourceVersions (409 on a stale one, like the API server), and one view per replica with its
 * own watch cache. A view can be partitioned: its requests fail and its cache freezes.
 */
import type { Lease } from "../src/kube/types.js";
import { KubeApiError } from "../src/kube/client.js";
import type { LeaseApi } from "../src/ha/lease-api.js";

export class InMemoryLeaseServer {
  readonly leases = new Map<string, Lease>();
  /** Every successful write, in order: [view name, verb, lease name, holder]. */
  readonly writes: [string, string, string, string][] = [];
  #rv = 0;
  readonly #views = new Set<InMemoryLeaseView>();

  connect(name: string): InMemoryLeaseView {
    const view = new InMemoryLeaseView(this, name);
    this.#views.add(view);
    view.resync();
    return view;
  }

  holder(leaseName: string): string | undefined {
    return this.leases.get(leaseName)?.spec?.holderIdentity ?? undefined;
  }

  /** @internal */
  write(view: InMemoryLeaseView, verb: "create" | "replace" | "delete", lease: Lease): Lease | undefined {
    const name = lease.metadata?.name ?? "";
    const current = this.leases.get(name);
    if (verb === "create") {
      if (current) throw new KubeApiError(409, "AlreadyExists", `leases "${name}" already exists`);
    } else if (!current) {
      throw new KubeApiError(404, "NotFound", `leases "${name}" not found`);
    } else if (
      verb === "replace" &&
      lease.metadata?.resourceVersion !== undefined &&
      lease.metadata.resourceVersion !== current.metadata?.resourceVersion
    ) {
      throw new KubeApiError(409, "Conflict", `the object has been modified`);
    }
    this.writes.push([view.name, verb, name, lease.spec?.holderIdentity ?? ""]);
    if (verb === "delete") {
      this.leases.delete(name);
      for (const v of this.#views) v.deliver(current ?? lease, true);
      return undefined;
    }
    const stored: Lease = structuredClone({
      ...lease,
      metadata: { ...lease.metadata, resourceVersion: String(++this.#rv) },
    });
    this.leases.set(name, stored);
    for (const v of this.#views) v.deliver(stored, false);
    return structuredClone(stored);
  }
}

export class InMemoryLeaseView implements LeaseApi {
  readonly name: string;
  /** Requests fail and the watch cache stops updating while true. */
  partitioned = false;
  readonly #server: InMemoryLeaseServer;
  readonly #cache = new Map<string, Lease>();
  readonly #listeners = new Set<(lease: Lease, deleted: boolean) => void>();

  constructor(server: InMemoryLeaseServer, name: string) {
    this.#server = server;
    this.name = name;
  }

  /** Re-lists (after a partition heals). */
  resync(): void {
    this.#cache.clear();
    for (const [name, lease] of this.#server.leases) this.#cache.set(name, structuredClone(lease));
  }

  /** Empties the cache without telling anyone: a view that missed every event. */
  forget(): void {
    this.#cache.clear();
  }

  /** @internal */
  deliver(lease: Lease, deleted: boolean): void {
    if (this.partitioned) return;
    const name = lease.metadata?.name ?? "";
    if (deleted) this.#cache.delete(name);
    else this.#cache.set(name, structuredClone(lease));
    for (const listener of this.#listeners) listener(lease, deleted);
  }

  observed(): ReadonlyMap<string, Lease> {
    return this.#cache;
  }
  onChange(listener: (lease: Lease, deleted: boolean) => void): () => void {
    this.#listeners.add(listener);
    return () => {
      this.#listeners.delete(listener);
    };
  }
  #reachable(): void {
    if (this.partitioned) throw new Error(`${this.name}: connection refused`);
  }
  async get(name: string): Promise<Lease | undefined> {
    await Promise.resolve();
    this.#reachable();
    const lease = this.#server.leases.get(name);
    return lease === undefined ? undefined : structuredClone(lease);
  }
  async create(lease: Lease): Promise<Lease> {
    await Promise.resolve();
    this.#reachable();
    return this.#server.write(this, "create", lease) as Lease;
  }
  async replace(lease: Lease): Promise<Lease> {
    await Promise.resolve();
    this.#reachable();
    return this.#server.write(this, "replace", lease) as Lease;
  }
  async delete(name: string): Promise<void> {
    await Promise.resolve();
    this.#reachable();
    if (!this.#server.leases.has(name)) return;
    this.#server.write(this, "delete", { metadata: { name } });
  }
  async run(signal: AbortSignal): Promise<void> {
    await new Promise<void>((resolve) => {
      signal.addEventListener(
        "abort",
        () => {
          resolve();
        },
        { once: true },
      );
    });
  }
  async waitForSync(): Promise<void> {
    await Promise.resolve();
  }
}
