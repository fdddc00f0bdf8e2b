/**
 * An in-memory API server for the node controller and the lease (`NodeApi`, `kube/node-api.ts`):
 * objects by path with resourceVersions and UIDs, 404/409 like the real one, the strategic-merge
 * patch of node conditions by type, and switchable transport failures. Every call is logged with
 * the fake clock's time, so tests can assert when retries happened.
 */
import { KubeApiError } from "../src/kube/client.js";
import type { NodeApi } from "../src/kube/node-api.js";
import type { Clock } from "../src/clock.js";

interface Stored {
  metadata?: { name?: string; uid?: string; resourceVersion?: string; [key: string]: unknown };
  [key: string]: unknown;
}

export interface LoggedCall {
  verb: "get" | "create" | "replace" | "patch" | "delete";
  path: string;
  at: number;
  body?: unknown;
}

type Condition = { type?: string; [key: string]: unknown };

const clone = <T>(value: T): T => structuredClone(value);

export class FakeNodeApi implements NodeApi {
  readonly objects = new Map<string, Stored>();
  readonly calls: LoggedCall[] = [];
  /** While true every call fails like a refused connection. */
  down = false;
  #rv = 1;
  #uid = 1;
  readonly #clock: Clock;

  constructor(clock: Clock) {
    this.#clock = clock;
  }

  callsTo(verb: LoggedCall["verb"], pathPart: string): LoggedCall[] {
    return this.calls.filter((c) => c.verb === verb && c.path.includes(pathPart));
  }

  /** Writes an object as another client would (the node lifecycle controller, an admin). */
  put<T extends object>(path: string, object: T): T {
    const stored = clone(object) as Stored;
    stored.metadata = {
      ...stored.metadata,
      uid: stored.metadata?.uid ?? `uid-${this.#uid++}`,
      resourceVersion: String(this.#rv++),
    };
    this.objects.set(path, stored);
    return clone(stored) as T;
  }

  async get<T>(path: string): Promise<T> {
    this.#enter("get", path);
    const found = this.objects.get(path);
    if (found === undefined) throw notFound(path);
    return Promise.resolve(clone(found) as T);
  }

  async create<T>(path: string, body: unknown): Promise<T> {
    this.#enter("create", path, body);
    const object = body as Stored;
    const full = `${path}/${object.metadata?.name ?? ""}`;
    if (this.objects.has(full)) throw new KubeApiError(409, "AlreadyExists", `${full} already exists`);
    return Promise.resolve(
      this.put(full, { ...object, metadata: { ...object.metadata, uid: undefined } }) as T,
    );
  }

  async replace<T>(path: string, body: unknown): Promise<T> {
    this.#enter("replace", path, body);
    const current = this.objects.get(path);
    if (current === undefined) throw notFound(path);
    const object = body as Stored;
    const rv = object.metadata?.resourceVersion;
    if (rv !== undefined && rv !== current.metadata?.resourceVersion)
      throw new KubeApiError(409, "Conflict", `${path}: the object has been modified`);
    return Promise.resolve(
      this.put(path, { ...object, metadata: { ...object.metadata, uid: current.metadata?.uid } }) as T,
    );
  }

  async patch<T>(path: string, body: unknown, contentType: string): Promise<T> {
    this.#enter("patch", path, body);
    const statusPath = path.endsWith("/status");
    const target = statusPath ? path.slice(0, -"/status".length) : path;
    const current = this.objects.get(target);
    if (current === undefined) throw notFound(target);
    const patch = body as { status?: Record<string, unknown>; spec?: Record<string, unknown> };
    const next = clone(current);
    if (statusPath && patch.status !== undefined) {
      const status = { ...(next.status as Record<string, unknown> | undefined), ...patch.status };
      if (contentType.includes("strategic") && Array.isArray(patch.status.conditions)) {
        // Strategic merge: conditions are merged by type, like the real Node schema says.
        const merged = new Map<string, Condition>();
        const before = (current.status as { conditions?: Condition[] } | undefined)?.conditions ?? [];
        for (const c of before) merged.set(c.type ?? "", c);
        for (const c of patch.status.conditions as Condition[])
          merged.set(c.type ?? "", { ...merged.get(c.type ?? ""), ...c });
        status.conditions = [...merged.values()];
      }
      next.status = status;
    }
    if (!statusPath && patch.spec !== undefined) next.spec = { ...(next.spec as object), ...patch.spec };
    return Promise.resolve(this.put(target, next) as T);
  }

  async delete<T>(path: string): Promise<T> {
    this.#enter("delete", path);
    const found = this.objects.get(path);
    if (found === undefined) throw notFound(path);
    this.objects.delete(path);
    return Promise.resolve(clone(found) as T);
  }

  #enter(verb: LoggedCall["verb"], path: string, body?: unknown): void {
    this.calls.push({
      verb,
      path,
      at: this.#clock.now(),
      ...(body === undefined ? {} : { body: clone(body) }),
    });
    if (this.down)
      throw Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:6443"), { code: "ECONNREFUSED" });
  }
}

function notFound(path: string): KubeApiError {
  return new KubeApiError(404, "NotFound", `${path} not found`);
}
