/**
 * The pod as core hands it to a provider: the API object plus everything it refers to, resolved
 * the way the kubelet resolves it before starting containers.
 */
import type { Pod } from "./kube/types.js";
import type { PodRef } from "./provider.js";

/** Where a resolved value came from. Providers send `secret` values as secure values. */
export type ValueSource =
  | { kind: "value" }
  | { kind: "configMap"; name: string; key: string }
  | { kind: "secret"; name: string; key: string }
  | { kind: "field"; fieldPath: string }
  | { kind: "resource"; resource: string; containerName: string }
  | { kind: "serviceLink" };

export interface ResolvedEnvVar {
  name: string;
  value: string;
  /** True when any part of the value came from a Secret: never send it as plain text. */
  secret: boolean;
  source: ValueSource;
}

export interface ResolvedFile {
  /** Path relative to the volume's mount point. */
  path: string;
  content: Uint8Array;
  /** File mode (e.g. 0o644), after `defaultMode`/`items[].mode`. */
  mode: number;
  secret: boolean;
  /**
   * Where the content came from, when it came from one key of one object (`configMap`/`secret`
   * volumes and projections, downward API `field`/`resource`, `serviceAccountToken` as `value`).
   * Providers use it to send a Secret file as a cloud secret reference instead of its bytes.
   */
  source?: ValueSource;
}

export interface ResolvedVolume {
  name: string;
  /** The volume source's field name: `configMap`, `secret`, `projected`, `downwardAPI`, `emptyDir`, ... */
  kind: string;
  /** File contents for volumes that project files; empty for `emptyDir`. */
  files: ResolvedFile[];
  /** For `emptyDir`: medium and size limit as given. */
  emptyDir?: { medium?: string; sizeLimit?: string };
  /** For `persistentVolumeClaim`: the bound PersistentVolume, resolved (core waits until it is bound). */
  persistentVolume?: ResolvedPersistentVolume;
}

/** A Secret's data as a provider receives it for a volume's credentials. Never log it. */
export interface ResolvedSecretData {
  name: string;
  namespace: string;
  data: Record<string, Uint8Array>;
}

/**
 * A `persistentVolumeClaim` volume resolved to its bound PersistentVolume. Exactly one of `csi`,
 * `nfs` and `azureFile` is set: the PV sources a virtual node can hand to a cloud.
 */
export interface ResolvedPersistentVolume {
  claimName: string;
  /** The PersistentVolume's name. */
  volumeName: string;
  /** True when the pod's volume or the PV's source says read-only. */
  readOnly: boolean;
  accessModes: string[];
  /** `spec.capacity.storage` of the PV, as given. */
  capacity?: string;
  storageClassName?: string;
  /** `Filesystem` (default) or `Block`. */
  volumeMode: string;
  csi?: {
    driver: string;
    volumeHandle: string;
    volumeAttributes: Record<string, string>;
    fsType?: string;
    /** `nodePublishSecretRef`, resolved. */
    nodePublishSecret?: ResolvedSecretData;
    /** `nodeStageSecretRef`, resolved. */
    nodeStageSecret?: ResolvedSecretData;
  };
  nfs?: { server: string; path: string };
  /** In-tree `azureFile`: the Secret holds `azurestorageaccountname` and `azurestorageaccountkey`. */
  azureFile?: { shareName: string; secret: ResolvedSecretData };
}

export interface ResolvedContainer {
  name: string;
  /** Env in declaration order, `envFrom` first (kubelet order), `$(VAR)` expanded. */
  env: ResolvedEnvVar[];
  /** `command`/`args` with `$(VAR)` expanded. */
  command: string[] | undefined;
  args: string[] | undefined;
}

/**
 * One registry login from the pod's `spec.imagePullSecrets` (a `kubernetes.io/dockerconfigjson` or
 * `kubernetes.io/dockercfg` Secret). `password` is a Secret value: send it only in a cloud's secure
 * field (or mirror it into a secret store), never log it.
 */
export interface ImagePullCredential {
  /** The registry as the Secret names it (`myregistry.azurecr.io`, `https://index.docker.io/v1/`). */
  server: string;
  username: string;
  password: string;
  /** The pull secret it came from (in the pod's namespace). */
  secretName: string;
}

export interface ResolvedPod {
  ref: PodRef;
  /** The API object, as seen by the informer. Do not mutate. */
  pod: Pod;
  nodeName: string;
  initContainers: ResolvedContainer[];
  containers: ResolvedContainer[];
  volumes: ResolvedVolume[];
  /**
   * Logins of the pod's `imagePullSecrets`, in declaration order (absent: none). A missing or
   * unusable pull secret is skipped with a `FailedToRetrieveImagePullSecret` warning, as the kubelet does.
   */
  imagePullSecrets?: ImagePullCredential[];
}
