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
}

export interface ResolvedVolume {
  name: string;
  /** The volume source's field name: `configMap`, `secret`, `projected`, `downwardAPI`, `emptyDir`, ... */
  kind: string;
  /** File contents for volumes that project files; empty for `emptyDir`. */
  files: ResolvedFile[];
  /** For `emptyDir`: medium and size limit as given. */
  emptyDir?: { medium?: string; sizeLimit?: string };
}

export interface ResolvedContainer {
  name: string;
  /** Env in declaration order, `envFrom` first (kubelet order), `$(VAR)` expanded. */
  env: ResolvedEnvVar[];
  /** `command`/`args` with `$(VAR)` expanded. */
  command: string[] | undefined;
  args: string[] | undefined;
}

export interface ResolvedPod {
  ref: PodRef;
  /** The API object, as seen by the informer. Do not mutate. */
  pod: Pod;
  nodeName: string;
  initContainers: ResolvedContainer[];
  containers: ResolvedContainer[];
  volumes: ResolvedVolume[];
}
