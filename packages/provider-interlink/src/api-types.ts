/**
 * The interLink API's wire types (VK → interLink server), as published in interLink's
 * `docs/openapi/interlink-openapi.json` and `pkg/interlink/types.go`
 * (github.com/interlink-hq/interLink at f632175). Member names are the JSON names on the wire,
 * which is why some are capitalised (`JID`, `PodUID`, `Opts`).
 */
import type { Pod } from "@virtual-node/core";

/** A Kubernetes ConfigMap as interLink carries it (`v1.ConfigMap`). */
export interface WireConfigMap {
  apiVersion?: string;
  kind?: string;
  metadata: { name: string; namespace?: string; uid?: string };
  data?: Record<string, string>;
  /** Base64 values: files that are not UTF-8 text, and Secret files of projected volumes. */
  binaryData?: Record<string, string>;
}

/** A Kubernetes Secret as interLink carries it (`v1.Secret`): values base64 in `data`. */
export interface WireSecret {
  apiVersion?: string;
  kind?: string;
  metadata: { name: string; namespace?: string; uid?: string };
  type?: string;
  data?: Record<string, string>;
}

/** `PodCreateRequests`: the body of `POST /create`. */
export interface PodCreateRequests {
  pod: Pod;
  configmaps: WireConfigMap[];
  secrets: WireSecret[];
  /** ServiceAccount token, downward API and other projected volumes: one ConfigMap per volume, file path → content. */
  projectedvolumesmaps: WireConfigMap[];
  /** PersistentVolumeClaims of the pod (`types.go`; not in the OpenAPI description), for sites that mount them. */
  persistentvolumes?: Record<string, unknown>[];
  /** Optional job-script builder the interLink server should ask for the job script. */
  jobscriptURL?: string;
}

/** `CreateStruct`: the answer of `/create` (the plugin's, forwarded by the interLink server). */
export interface CreateStruct {
  PodUID: string;
  PodJID: string;
}

/** A `v1.ContainerState` on the wire (times are RFC 3339 strings). */
export interface WireContainerState {
  waiting?: { reason?: string; message?: string };
  running?: { startedAt?: string };
  terminated?: {
    exitCode: number;
    signal?: number;
    reason?: string;
    message?: string;
    startedAt?: string;
    finishedAt?: string;
    containerID?: string;
  };
}

/** A `v1.ContainerStatus` on the wire. */
export interface WireContainerStatus {
  name: string;
  state?: WireContainerState;
  lastState?: WireContainerState;
  ready?: boolean;
  started?: boolean | null;
  restartCount?: number;
  image?: string;
  imageID?: string;
  containerID?: string;
}

/** `PodStatus`: one element of the `/status` answer. */
export interface InterLinkPodStatus {
  name: string;
  UID: string;
  namespace: string;
  /** The site's job ID (SLURM job ID, container ID, ...). */
  JID?: string;
  containers?: WireContainerStatus[] | null;
  initContainers?: WireContainerStatus[] | null;
}

/** `ContainerLogOpts` (zero values mean "not set", as in Go). */
export interface ContainerLogOpts {
  Tail: number;
  Bytes: number;
  Timestamps: boolean;
  Follow: boolean;
  Previous: boolean;
  SinceSeconds: number;
  SinceTime?: string;
}

/** `LogStruct`: the body of `/getLogs`. */
export interface LogStruct {
  Namespace: string;
  PodUID: string;
  PodName: string;
  ContainerName: string;
  Opts: ContainerLogOpts;
}

/** `PingResponse`: the optional structured answer of `/pinglink` (older sites answer plain text). */
export interface PingResponse {
  status?: string;
  resources?: {
    cpu?: string;
    memory?: string;
    pods?: string;
    accelerators?: { resourceType: string; available: string }[];
  };
  /** Present (even empty) replaces the node's site taints; absent leaves them unchanged. */
  taints?: { key: string; value?: string; effect: string }[] | null;
}
