/**
 * Secret mirroring: the Kubernetes Secret values a pod uses become Secret Manager secrets (one per
 * env var, one per file volume with a version per file), labelled with the pod's ownership marks,
 * and are deleted with the pod. The values travel only in Secret Manager's `payload.data`; the
 * Job/Service references them by name and version.
 */
import { labelSafe, ownershipLabels, OWNERSHIP_KEYS } from "@virtual-node/core/provider-kit";
import type { CloudCaller } from "@virtual-node/core/provider-kit";
import type { PodRef } from "@virtual-node/core";
import type { SecretManagerServiceClient } from "@google-cloud/secret-manager";
import type { SecretMirror } from "./mapping.js";

/** What the mirror needs. */
export interface SecretMirrorDeps {
  call: CloudCaller;
  client: SecretManagerServiceClient;
  project: string;
}

/** Writes the secrets of a pod and returns the version names per secret id. */
export async function mirrorSecrets(
  deps: SecretMirrorDeps,
  ref: PodRef,
  nodeName: string,
  mirrors: readonly SecretMirror[],
  signal: AbortSignal,
): Promise<Map<string, string[]>> {
  const versions = new Map<string, string[]>();
  const parent = `projects/${deps.project}`;
  for (const mirror of mirrors) {
    try {
      await deps.call(
        "SecretWrite",
        () =>
          deps.client.createSecret({
            parent,
            secretId: mirror.secretId,
            secret: { replication: { automatic: {} }, labels: ownershipLabels(ref, nodeName) },
          }),
        { signal },
      );
    } catch (error) {
      // A retried create (after a crash or a lost answer) finds its secret: add versions to it.
      if ((error as { cloudCode?: string }).cloudCode !== "ALREADY_EXISTS") throw error;
    }
    const names: string[] = [];
    for (const payload of mirror.payloads) {
      const [version] = await deps.call(
        "SecretWrite",
        () =>
          deps.client.addSecretVersion({
            parent: `${parent}/secrets/${mirror.secretId}`,
            payload: { data: payload },
          }),
        { signal, maxAttempts: 1 },
      );
      names.push(version.name ?? "");
    }
    versions.set(mirror.secretId, names);
  }
  return versions;
}

/** Deletes every secret labelled with the pod's UID. */
export async function deleteMirroredSecrets(
  deps: SecretMirrorDeps,
  ref: PodRef,
  signal: AbortSignal,
): Promise<number> {
  const filter = `labels.${OWNERSHIP_KEYS.uid}=${labelSafe(ref.uid)}`;
  const [secrets] = await deps.call(
    "ListSecrets",
    () =>
      deps.client.listSecrets(
        { parent: `projects/${deps.project}`, filter, pageSize: 100 },
        { autoPaginate: false },
      ),
    { signal },
  );
  let deleted = 0;
  for (const secret of secrets) {
    if (secret.name == null) continue;
    const name = secret.name;
    try {
      await deps.call("SecretWrite", () => deps.client.deleteSecret({ name }), { signal });
      deleted += 1;
    } catch (error) {
      if ((error as { code?: string }).code !== "VN_NOT_FOUND") throw error;
    }
  }
  return deleted;
}
