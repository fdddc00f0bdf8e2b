/**
 * The Kubernetes API as the node controller and the node lease use it: the calls each makes and
 * nothing else, so both can be tested against an in-memory fake and a fake clock instead of a
 * control plane. `KubeClient` (`kube/client.ts`) satisfies both as is (the composition root passes
 * one). Paths are the `paths` of `kube/api.ts`; every method rejects with a `KubeApiError` for an
 * error answer (`isNotFound`, `isConflict`, `isAlreadyExists` tell them apart).
 */

/** What the node controller and the lease pass with every call: their loop's abort signal. */
export interface NodeApiCallOptions {
  signal?: AbortSignal;
}

/** The node lease's port: read, create and replace `kube-node-lease/<node>`. */
export interface LeaseApi {
  /** GET the lease (`leases/<node>`). */
  get<T>(path: string, options?: NodeApiCallOptions): Promise<T>;
  /** POST a new lease to the namespace's `leases`. */
  create<T>(path: string, body: unknown, options?: NodeApiCallOptions): Promise<T>;
  /** PUT the renewed lease, with the resourceVersion last read (a 409 means someone else wrote it). */
  replace<T>(path: string, body: unknown, options?: NodeApiCallOptions): Promise<T>;
}

/**
 * The node controller's port: the lease's three calls on the Node (register, adopt), plus
 * PATCH (status: strategic merge through `nodes/<name>/status`; cordon: merge patch of the spec)
 * and DELETE (the `delete` shutdown policy).
 */
export interface NodeApi extends LeaseApi {
  patch<T>(path: string, body: unknown, contentType: string, options?: NodeApiCallOptions): Promise<T>;
  delete<T>(path: string, body?: unknown, options?: NodeApiCallOptions): Promise<T>;
}
