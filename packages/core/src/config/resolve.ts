/**
 * Kubelet-equivalent resolution of a pod's configuration: env vars (`envFrom`, `env`, `valueFrom`,
 * service links, `$(VAR)` expansion), `command`/`args` expansion, and the files of `configMap`,
 * `secret`, `downwardAPI` and `projected` volumes.
 *
 * Pure logic: everything it reads from the cluster comes through the injected {@link ConfigSource},
 * so it runs the same in core, in providers' tests and in the conformance suite.
 *
 * This module is the orchestrator. One pod's resolution is a {@link ResolveScope} (`scope.ts`: the
 * objects it reads, its references and warnings) shared by `env-resolver.ts` (env, command, args),
 * `volume-resolver.ts` (volume files, tokens, claims) and `field-values.ts` (field references). The
 * rules that need no cluster reads live by concern in `env.ts` (service links), `volumes.ts` (paths,
 * payloads, trust bundles), `field-refs.ts` (subscripts, qualified names, downward API format) and
 * `text.ts` (bytes, string order).
 */
import { throwIfAborted } from "../errors.js";
import type { Pod } from "../kube/types.js";
import type {
  ResolvedContainer,
  ResolvedPersistentVolume,
  ResolvedPod,
  ResolvedVolume,
} from "../pod-config.js";
import { podRefOf } from "../provider.js";
import { EnvResolver } from "./env-resolver.js";
import { FieldValues } from "./field-values.js";
import { resolveImagePullSecrets } from "./image-pull-secrets.js";
import { secretData } from "./resolve-shared.js";
import { ResolveScope } from "./scope.js";
import type { ConfigSource } from "./source.js";
import type { ResourceList } from "./types.js";
import { VolumeResolver } from "./volume-resolver.js";

export { ConfigReasons, containerWaitingReason, type ConfigReason } from "./reasons.js";
export { tokenRefreshTime } from "./resolve-shared.js";

export interface ResolvePodConfigOptions {
  source: ConfigSource;
  /** This virtual node's name (`ResolvedPod.nodeName`; `spec.nodeName` when the pod has none). */
  nodeName: string;
  /** `status.hostIP`; defaults to `hostIPs[0]`. */
  hostIP?: string;
  /** `status.hostIPs`; defaults to `[hostIP]`. */
  hostIPs?: string[];
  /**
   * `status.podIP`, only when known before the containers start (the provider declares
   * `podIPBeforeStart`). Without it, an env var that needs the pod IP fails with `PodIPNotAvailable`.
   */
  podIP?: string;
  /** `status.podIPs`, primary first; defaults to `[podIP]`. `podIPs[0]` wins over `podIP`. */
  podIPs?: string[];
  /**
   * Node allocatable (`cpu`, `memory`, `ephemeral-storage`): a container without a limit reads it
   * as its limit in `resourceFieldRef`, like the kubelet. Without it an unset limit reads as 0.
   */
  nodeAllocatable?: ResourceList;
  /**
   * Which `envFrom` keys count as valid env var names. `strict` (default): `[-._a-zA-Z][-._a-zA-Z0-9]*`,
   * as kubelets before RelaxedEnvironmentVariableValidation; `relaxed`: any printable ASCII but `=`.
   */
  envVarNames?: "strict" | "relaxed";
  signal: AbortSignal;
  /** The current time (issue time of tokens the source does not date). */
  now: Date;
  /**
   * PersistentVolumes already resolved for this pod (by volume name), e.g. at its start. They are
   * reused without reading the claim again, as the kubelet leaves a mounted volume alone: a running
   * pod whose claim is being deleted (or whose PV changed) keeps what it was started with.
   */
  mountedPersistentVolumes?: ReadonlyMap<string, ResolvedPersistentVolume>;
}

/** Something worth an Event on the pod that does not stop it from starting. */
export interface ConfigWarning {
  reason: string;
  message: string;
  /** The pod field concerned, e.g. `spec.containers[0].envFrom[1].configMapRef`. */
  field?: string;
}

export interface ResolvePodConfigResult {
  resolved: ResolvedPod;
  /** Deduplicated, in the order found. */
  warnings: ConfigWarning[];
  /**
   * Names (in the pod's namespace) of every ConfigMap and Secret referenced, found or not (Secrets a
   * PersistentVolume names in another namespace are not listed).
   */
  references: { configMaps: Set<string>; secrets: Set<string> };
  /** When each projected service account token must be refreshed (re-resolve by then), ascending. */
  tokenExpiries: Date[];
}

/**
 * Resolves a pod's env, command/args and volume files the way the kubelet does before it starts
 * containers. Throws `ConfigError` (reason in {@link ConfigReasons}) for what makes the kubelet
 * report `CreateContainerConfigError`/`FailedMount`, `UnsupportedError` for sources that cannot
 * be resolved before start (`fileKeyRef`, `podCertificate`), and passes source errors through.
 */
export async function resolvePodConfig(
  pod: Pod,
  options: ResolvePodConfigOptions,
): Promise<ResolvePodConfigResult> {
  throwIfAborted(options.signal);
  return resolve(pod, options);
}

/** One pod: volumes first (the kubelet mounts them before it builds any container's config), then containers. */
async function resolve(pod: Pod, options: ResolvePodConfigOptions): Promise<ResolvePodConfigResult> {
  const scope = new ResolveScope(pod, options);
  const fields = new FieldValues(scope);
  const env = new EnvResolver(scope, fields);
  const volumeResolver = new VolumeResolver(scope, fields);
  const spec = pod.spec;
  const volumes: ResolvedVolume[] = [];
  for (const [i, volume] of (spec?.volumes ?? []).entries()) {
    volumes.push(await volumeResolver.resolveVolume(volume, `spec.volumes[${i}]`));
  }
  const initContainers: ResolvedContainer[] = [];
  for (const [i, container] of (spec?.initContainers ?? []).entries()) {
    initContainers.push(await env.resolveContainer(container, `spec.initContainers[${i}]`));
  }
  const containers: ResolvedContainer[] = [];
  for (const [i, container] of (spec?.containers ?? []).entries()) {
    containers.push(await env.resolveContainer(container, `spec.containers[${i}]`));
  }
  // Read through secretIn: pull secrets are referenced (watched) like any other Secret.
  const pull = await resolveImagePullSecrets(spec?.imagePullSecrets ?? [], scope.namespace, async (name) => {
    const secret = await scope.secretIn(scope.namespace, name);
    return secret === undefined ? undefined : { type: secret.type, data: secretData(secret) };
  });
  for (const w of pull.warnings) scope.warn(w.reason, w.message, w.field);
  throwIfAborted(scope.signal);
  return {
    resolved: {
      ref: podRefOf(pod),
      pod,
      nodeName: options.nodeName,
      initContainers,
      containers,
      volumes,
      ...(pull.credentials.length > 0 ? { imagePullSecrets: pull.credentials } : {}),
    },
    warnings: scope.warnings,
    references: scope.references,
    tokenExpiries: [...volumeResolver.tokenExpiries.values()].sort((a, b) => a.getTime() - b.getTime()),
  };
}
