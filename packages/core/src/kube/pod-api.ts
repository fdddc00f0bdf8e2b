/**
 * The Kubernetes API as the pod controller uses it: the three calls it makes, and nothing else, so the
 * controller's sync decisions can be tested against an in-memory fake instead of a control plane.
 * `KubeClient` (`kube/client.ts`) satisfies it as is (the composition root passes one).
 */
import { mergePatchOf } from "./merge-patch.js";
import type { Pod, PodStatus } from "./types.js";

/** What the pod controller passes with every call: the sync's abort signal. */
export interface PodApiCallOptions {
  signal?: AbortSignal;
  /** The answer is not read: not decoded either (`RequestOptions.discardBody`). */
  discardBody?: boolean;
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
  /**
   * PATCH `path` with `body` as `contentType`, always a merge patch through `pods/{name}/status`: the
   * status writes ({@link podStatusPatch}) and the pod's own annotations (a node may not update the pod
   * itself).
   */
  patch<T>(path: string, body: unknown, contentType: string, options?: PodApiCallOptions): Promise<T>;
  /** DELETE `path` with `body` (DeleteOptions): the final grace-0 delete of a pod, UID precondition set. */
  delete<T>(path: string, body?: unknown, options?: PodApiCallOptions): Promise<T>;
}

/**
 * The body of a status write: a JSON merge patch (`MERGE_PATCH`) of `pods/{name}/status` with only what
 * changed from the status `pod` was read with, and that read's `resourceVersion` as the precondition. A
 * resourceVersion names one version of one object, so the API server applies the patch only to exactly
 * what it was computed from and answers 409 Conflict otherwise (changed meanwhile, or deleted and created
 * again under the same name): re-read and write again. So a list replaced whole (conditions, container
 * statuses) never overwrites someone else's change. `annotations` that differ from the pod's ride along
 * (the provider's and billed-resources: a node may write its pods' metadata only through `pods/status`). (A `uid` in a merge patch is not a precondition but an
 * attempted change: 422 when it differs.) Cheaper than a PUT of the whole pod: the body is the change.
 * `undefined` if nothing changed.
 */
export function podStatusPatch(
  pod: Pod,
  status: PodStatus,
  annotations?: Readonly<Record<string, string>>,
): StatusPatch | undefined {
  const change = mergePatchOf(pod.status ?? {}, status);
  const current = pod.metadata?.annotations ?? {};
  const added = Object.entries(annotations ?? {}).filter(([k, v]) => current[k] !== v);
  if (change === undefined && added.length === 0) return undefined;
  return {
    metadata: {
      resourceVersion: pod.metadata?.resourceVersion,
      ...(added.length === 0 ? {} : { annotations: Object.fromEntries(added) }),
    },
    ...(change === undefined ? {} : { status: change }),
  };
}

/** A merge patch of `pods/{name}/status`: see {@link podStatusPatch}. */
export interface StatusPatch {
  metadata: { resourceVersion: string | undefined; annotations?: Record<string, string> };
  status?: unknown;
}

/**
 * Opt-in for the terminated-status write on delete: a pod with this annotation set to `"true"` has its
 * containers reported terminated before its API object is removed, for a watcher that wants to see them.
 */
export const REPORT_TERMINATION_ANNOTATION = "virtual-node.io/report-termination";

/**
 * Whether the terminated status written before the final grace-0 DELETE can be read by anyone. The kubelet
 * always writes it; but a DELETE with grace 0 of a pod without finalizers removes the object at once, and
 * the DELETED watch event carries the object as it was, so that write is seen by nobody unless the object
 * outlives the DELETE: it has finalizers (the Job controller's `batch.kubernetes.io/job-tracking` reads the
 * final container states before it lets go; so do other finalizer holders), or a watcher asked for it with
 * {@link REPORT_TERMINATION_ANNOTATION} (then the write is on the watch stream just before DELETED).
 * Skipping it otherwise saves one of three writes per deleted pod.
 */
export function finalStatusObservable(pod: Pod): boolean {
  if ((pod.metadata?.finalizers?.length ?? 0) > 0) return true;
  return pod.metadata?.annotations?.[REPORT_TERMINATION_ANNOTATION] === "true";
}
