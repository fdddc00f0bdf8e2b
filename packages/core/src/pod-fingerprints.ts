/**
 * Fingerprints the sync compares to notice what changed in a running pod (its mutable spec, its
 * volume files, the labels and annotations its downward-API files show), and the pod facts it reads
 * to decide (deadline, pod-IP need).
 */
import { createHash } from "node:crypto";
import type { Pod } from "./kube/types.js";
import type { ResolvedPod } from "./pod-config.js";

/** Fields of a running pod that may change (images, activeDeadlineSeconds, ...) and annotations providers read. */
export function mutableSpecHash(pod: Pod, withEphemeralContainers = false): string {
  const spec = pod.spec;
  return JSON.stringify([
    spec?.containers.map((c) => c.image),
    spec?.initContainers?.map((c) => c.image),
    spec?.activeDeadlineSeconds,
    spec?.tolerations,
    // A provider that runs ephemeral containers starts added ones on `updatePod`.
    withEphemeralContainers ? spec?.ephemeralContainers?.map((c) => c.name) : undefined,
  ]);
}

/** Fingerprint of a resolved pod's volume files. */
export function volumesHash(resolved: ResolvedPod): string {
  const hash = createHash("sha256");
  for (const v of resolved.volumes) {
    hash.update(v.name);
    for (const f of v.files) {
      hash.update(`\0${f.path}\0${String(f.mode)}\0`);
      hash.update(f.content);
    }
  }
  return hash.digest("hex");
}

/**
 * Fingerprint of the labels and annotations a pod's downward-API volumes show (`metadata.labels`,
 * `metadata.annotations`, or one key of them); "" when no volume shows any.
 */
export function downwardMetadataHash(pod: Pod): string {
  const paths: string[] = [];
  for (const volume of pod.spec?.volumes ?? []) {
    for (const item of volume.downwardAPI?.items ?? [])
      if (item.fieldRef) paths.push(item.fieldRef.fieldPath);
    for (const source of volume.projected?.sources ?? []) {
      for (const item of source.downwardAPI?.items ?? [])
        if (item.fieldRef) paths.push(item.fieldRef.fieldPath);
    }
  }
  const shown = paths.filter((p) => p.startsWith("metadata.labels") || p.startsWith("metadata.annotations"));
  if (shown.length === 0) return "";
  return JSON.stringify([pod.metadata?.labels ?? {}, pod.metadata?.annotations ?? {}]);
}

/** When the pod's `activeDeadlineSeconds` runs out (from its start time), or undefined. */
export function activeDeadlineAt(pod: Pod): number | undefined {
  const seconds = pod.spec?.activeDeadlineSeconds;
  const started = pod.status?.startTime;
  if (seconds === undefined || started === undefined) return undefined;
  const startedMs = new Date(started).getTime();
  return Number.isNaN(startedMs) ? undefined : startedMs + seconds * 1000;
}

/** Whether the pod's env or downward-API volumes read `status.podIP(s)`. */
export function needsPodIP(pod: Pod): boolean {
  return JSON.stringify(pod.spec ?? {}).includes('"fieldPath":"status.podIP');
}
