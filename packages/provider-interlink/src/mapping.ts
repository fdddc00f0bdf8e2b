/**
 * Pure mapping: a resolved pod → interLink's `PodCreateRequests` (and the small pod objects the
 * status and delete calls carry).
 *
 * The shape follows what interLink's own virtual kubelet sends (pkg/virtualkubelet/execute.go):
 * the pod, the ConfigMaps and Secrets its volumes name (whole objects, by name), and one
 * ConfigMap per projected or downward-API volume holding path → content. What we do differently:
 * - env arrives resolved by core; plain values are sent inline, and a value that came from a
 *   Secret is sent as a `secretKeyRef` into a Secret carried in `secrets` (base64), never as plain
 *   text in the pod;
 * - Secret files of projected volumes (service-account tokens, projected Secrets) go in the
 *   projected ConfigMap's `binaryData` (base64), where interLink's VK puts them in `data` in clear;
 * - ownership marks (namespace, pod, UID, node) ride along as annotations, so a site operator can
 *   tell whose job it is.
 */
import { InvalidInputError, UnsupportedError } from "@virtual-node/core";
import type {
  Container,
  Pod,
  ResolvedContainer,
  ResolvedEnvVar,
  ResolvedFile,
  ResolvedPod,
  ResolvedVolume,
} from "@virtual-node/core";
import { cloudName, ownershipTags } from "@virtual-node/core/provider-kit";
import type { PodCreateRequests, WireConfigMap, WireSecret } from "./api-types.js";

/** Annotation interLink's VK uses for the site's job ID; sent back to the site with status and delete calls. */
export const JOB_ID_ANNOTATION = "JobID";

/** Options of {@link toCreateRequest}. */
export interface CreateRequestOptions {
  /** The node the pod runs on (an ownership mark). */
  nodeName: string;
  /** Job-script builder URL passed through to the interLink server (`jobscriptURL`). */
  jobScriptBuilderURL?: string;
  /** The site mounts PersistentVolumeClaims (sent in `persistentvolumes`). Default false. */
  persistentVolumes?: boolean;
}

type PodSpec = NonNullable<Pod["spec"]>;
type Volume = NonNullable<PodSpec["volumes"]>[number];
type EnvVar = NonNullable<Container["env"]>[number];

const utf8 = new TextDecoder("utf-8", { fatal: true });

function asText(content: Uint8Array): string | undefined {
  try {
    return utf8.decode(content);
  } catch {
    return undefined;
  }
}

function base64(content: Uint8Array | string): string {
  return Buffer.from(content).toString("base64");
}

/** The name of the Secret that carries a pod's Secret-derived env values that are not one Secret key. */
export function envSecretName(pod: ResolvedPod): string {
  return cloudName(pod.ref, {
    maxLength: 63,
    alphabet: "lower-alnum-dash",
    prefix: "vn-env-",
    startWithLetter: true,
  });
}

class SecretBag {
  readonly #secrets = new Map<string, Record<string, string>>();
  constructor(private readonly namespace: string) {}
  put(name: string, key: string, content: Uint8Array | string): void {
    const data = this.#secrets.get(name) ?? {};
    data[key] = base64(content);
    this.#secrets.set(name, data);
  }
  list(): WireSecret[] {
    return [...this.#secrets].map(([name, data]) => ({
      apiVersion: "v1",
      kind: "Secret",
      metadata: { name, namespace: this.namespace },
      type: "Opaque",
      data,
    }));
  }
}

function wireEnv(pod: ResolvedPod, container: ResolvedContainer, secrets: SecretBag): EnvVar[] {
  return container.env.map((v: ResolvedEnvVar): EnvVar => {
    if (!v.secret) return { name: v.name, value: v.value };
    if (v.source.kind === "secret") {
      secrets.put(v.source.name, v.source.key, v.value);
      return { name: v.name, valueFrom: { secretKeyRef: { name: v.source.name, key: v.source.key } } };
    }
    // A value built from a Secret and other text ($(VAR) expansion): its own key in the pod's env Secret.
    const key = `${container.name}.${v.name}`;
    secrets.put(envSecretName(pod), key, v.value);
    return { name: v.name, valueFrom: { secretKeyRef: { name: envSecretName(pod), key } } };
  });
}

function wireContainer(
  pod: ResolvedPod,
  spec: Container,
  resolved: ResolvedContainer | undefined,
  secrets: SecretBag,
): Container {
  // envFrom is resolved into env by core (kubelet order); env, command and args come resolved.
  const rest: Container = { ...spec };
  delete rest.envFrom;
  delete rest.env;
  delete rest.command;
  delete rest.args;
  if (resolved === undefined) return rest;
  return {
    ...rest,
    ...(resolved.command === undefined ? {} : { command: resolved.command }),
    ...(resolved.args === undefined ? {} : { args: resolved.args }),
    ...(resolved.env.length === 0 ? {} : { env: wireEnv(pod, resolved, secrets) }),
  };
}

function configMapOf(volume: Volume, resolved: ResolvedVolume, namespace: string): WireConfigMap {
  const data: Record<string, string> = {};
  const binaryData: Record<string, string> = {};
  for (const file of resolved.files) {
    const key = file.source?.kind === "configMap" ? file.source.key : file.path;
    const text = asText(file.content);
    if (text === undefined) binaryData[key] = base64(file.content);
    else data[key] = text;
  }
  return {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: { name: volume.configMap?.name ?? resolved.name, namespace },
    data,
    ...(Object.keys(binaryData).length === 0 ? {} : { binaryData }),
  };
}

function projectedMapOf(resolved: ResolvedVolume, namespace: string): WireConfigMap {
  const data: Record<string, string> = {};
  const binaryData: Record<string, string> = {};
  for (const file of resolved.files) {
    const text = file.secret ? undefined : asText(file.content);
    if (text === undefined) binaryData[file.path] = base64(file.content);
    else data[file.path] = text;
  }
  return {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: { name: resolved.name, namespace },
    data,
    ...(Object.keys(binaryData).length === 0 ? {} : { binaryData }),
  };
}

function secretKeyOf(file: ResolvedFile): string {
  return file.source?.kind === "secret" ? file.source.key : file.path;
}

function persistentVolumeClaim(
  volume: ResolvedVolume,
  namespace: string,
): Record<string, unknown> | undefined {
  const pv = volume.persistentVolume;
  if (pv === undefined) return undefined;
  return {
    apiVersion: "v1",
    kind: "PersistentVolumeClaim",
    metadata: { name: pv.claimName, namespace },
    spec: {
      volumeName: pv.volumeName,
      accessModes: pv.accessModes,
      volumeMode: pv.volumeMode,
      ...(pv.storageClassName === undefined ? {} : { storageClassName: pv.storageClassName }),
      ...(pv.capacity === undefined ? {} : { resources: { requests: { storage: pv.capacity } } }),
    },
  };
}

/** The pod object of a create request: the API pod with resolved env, ownership annotations and no status. */
function wirePod(pod: ResolvedPod, nodeName: string, secrets: SecretBag): Pod {
  const spec = pod.pod.spec;
  if (spec === undefined || spec.containers.length === 0) {
    throw new InvalidInputError("the pod has no containers", { field: "spec.containers" });
  }
  const byName = (list: ResolvedContainer[], name: string) => list.find((c) => c.name === name);
  const meta = pod.pod.metadata ?? {};
  const volumes = (spec.volumes ?? []).map((v): Volume => {
    // interLink's VK hands downward-API volumes to plugins as projected ones (their files come in projectedvolumesmaps).
    if (v.downwardAPI !== undefined) {
      const { downwardAPI, ...rest } = v;
      return {
        ...rest,
        projected: {
          ...(downwardAPI.defaultMode === undefined ? {} : { defaultMode: downwardAPI.defaultMode }),
          sources: [
            { downwardAPI: { ...(downwardAPI.items === undefined ? {} : { items: downwardAPI.items }) } },
          ],
        },
      };
    }
    return v;
  });
  const wireSpec: PodSpec = {
    ...spec,
    nodeName: spec.nodeName ?? nodeName,
    containers: spec.containers.map((c) => wireContainer(pod, c, byName(pod.containers, c.name), secrets)),
    ...(spec.initContainers === undefined
      ? {}
      : {
          initContainers: spec.initContainers.map((c) =>
            wireContainer(pod, c, byName(pod.initContainers, c.name), secrets),
          ),
        }),
    ...(spec.volumes === undefined ? {} : { volumes }),
  };
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name: pod.ref.name,
      namespace: pod.ref.namespace,
      uid: pod.ref.uid,
      ...(meta.labels === undefined ? {} : { labels: meta.labels }),
      annotations: { ...meta.annotations, ...ownershipTags(pod.ref, nodeName) },
      ...(meta.creationTimestamp === undefined ? {} : { creationTimestamp: meta.creationTimestamp }),
    },
    spec: wireSpec,
  };
}

/**
 * `pod` → the body of `POST /create`. Throws `InvalidInputError` for a pod without containers and
 * `UnsupportedError` (naming the volume) for a PVC when the site does not declare support.
 */
export function toCreateRequest(pod: ResolvedPod, options: CreateRequestOptions): PodCreateRequests {
  const namespace = pod.ref.namespace;
  const secrets = new SecretBag(namespace);
  const wire = wirePod(pod, options.nodeName, secrets);
  const specVolumes = pod.pod.spec?.volumes ?? [];
  const configmaps: WireConfigMap[] = [];
  const projected: WireConfigMap[] = [];
  const claims: Record<string, unknown>[] = [];
  pod.volumes.forEach((volume) => {
    const index = specVolumes.findIndex((v) => v.name === volume.name);
    const spec = specVolumes[index];
    switch (volume.kind) {
      case "configMap":
        if (spec !== undefined) configmaps.push(configMapOf(spec, volume, namespace));
        break;
      case "secret":
        // The Secret by its own name, as the site mounts it from the pod spec (items, modes).
        for (const file of volume.files)
          secrets.put(spec?.secret?.secretName ?? volume.name, secretKeyOf(file), file.content);
        break;
      case "projected":
      case "downwardAPI":
        projected.push(projectedMapOf(volume, namespace));
        break;
      case "persistentVolumeClaim": {
        if (options.persistentVolumes !== true) {
          throw new UnsupportedError(
            `spec.volumes[${String(index)}].persistentVolumeClaim: this interLink site does not declare PVC support`,
            { field: `spec.volumes[${String(index)}].persistentVolumeClaim` },
          );
        }
        const claim = persistentVolumeClaim(volume, namespace);
        if (claim !== undefined) claims.push(claim);
        break;
      }
      default:
        break;
    }
  });
  return {
    pod: wire,
    configmaps,
    secrets: secrets.list(),
    projectedvolumesmaps: projected,
    ...(claims.length === 0 ? {} : { persistentvolumes: claims }),
    ...(options.jobScriptBuilderURL === undefined ? {} : { jobscriptURL: options.jobScriptBuilderURL }),
  };
}

/** The pod object sent in `/status` and `/delete` bodies: identity, the site's job ID and the last phase seen. */
export function wirePodRef(
  ref: { namespace: string; name: string; uid: string },
  options: { jobId?: string; phase?: string; gracePeriodSeconds?: number } = {},
): Pod {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name: ref.name,
      namespace: ref.namespace,
      uid: ref.uid,
      ...(options.jobId === undefined ? {} : { annotations: { [JOB_ID_ANNOTATION]: options.jobId } }),
      ...(options.gracePeriodSeconds === undefined
        ? {}
        : { deletionGracePeriodSeconds: options.gracePeriodSeconds }),
    },
    // interLink's StatusHandler re-asks the plugin only for Pending/Running pods and serves the rest from its cache.
    ...(options.phase === undefined ? {} : { status: { phase: options.phase } }),
  };
}
