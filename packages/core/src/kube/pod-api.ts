/**
 * The Kubernetes API as the pod controller uses it: the four calls it makes, and nothing else, so the
 * controller's sync decisions can be tested against an in-memory fake instead of a control plane.
 * `KubeClient` (`kube/client.ts`) satisfies it as is (the composition root passes one).
 */
import { mergePatchOf } from "./merge-patch.js";
import type { Pod, PodStatus } from "./types.js";

/** What the pod controller passes with every call: the sync's abort signal. */
export interface PodApiCallOptions {
  signal?: AbortSignal;
}

/**
 * The pod controller's port to the API server. Paths are the `paths` of `kube/api.ts`. Every method
 * rejects with a `KubeApiError` for an error answer: the controller tells 404 (`isNotFound`:
 * the pod is gone) and 409 (`isConflict`: stale cache, or a failed UID precondition) from the rest.
 *
 * Satisfied structurally by `KubeClient`.
 */
export interface PodApi {
  /** GET `path`: a pod re-read after its status write conflicted. */
  get<T>(path: string, options?: PodApiCallOptions): Promise<T>;
  /** PUT `body` to `path`: the pod's status (`pods/{name}/status`). */
  replace<T>(path: string, body: unknown, options?: PodApiCallOptions): Promise<T>;
  /**
   * PATCH `path` with `body` as `contentType`: a merge patch of the pod's metadata through
   * `pods/{name}/status` (the billed-resources annotation; a node may not update the pod itself).
   */
  patch<T>(path: string, body: unknown, contentType: string, options?: PodApiCallOptions): Promise<T>;
  /** DELETE `path` with `body` (DeleteOptions): the final grace-0 delete of a pod, UID precondition set. */
  delete<T>(path: string, body?: unknown, options?: PodApiCallOptions): Promise<T>;
}

/**
 * The body of a status write: a JSON merge patch (`MERGE_PATCH`) of `pods/{name}/status` with only what
 * changed from the status `pod` was read with, and that read's `uid` and `resourceVersion` as the
 * precondition. The API server applies it only to exactly that object (otherwise 409 Conflict: re-read and
 * write again), so a list replaced whole (conditions, container statuses) never overwrites a change made
 * meanwhile by someone else. Cheaper than a PUT of the whole pod: the body is the change, not the pod.
 * `undefined` if nothing changed.
 */
export function podStatusPatch(pod: Pod, status: PodStatus): object | undefined {
  const change = mergePatchOf(pod.status ?? {}, status);
  if (change === undefined) return undefined;
  const { uid, resourceVersion } = pod.metadata ?? {};
  return { metadata: { uid, resourceVersion }, status: change };
}
