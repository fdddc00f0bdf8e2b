/**
 * Kubelet-equivalent resolution of a pod's configuration: env vars (`envFrom`, `env`, `valueFrom`,
 * service links, `$(VAR)` expansion), `command`/`args` expansion, and the files of `configMap`,
 * `secret`, `downwardAPI` and `projected` volumes.
 *
 * Pure logic: everything it reads from the cluster comes through the injected {@link ConfigSource},
 * so it runs the same in core, in providers' tests and in the conformance suite.
 *
 * This module is the orchestrator (the per-pod `Resolver`, its caches, warnings and references); the
 * rules that need no cluster reads live by concern in `env.ts` (service links), `volumes.ts` (paths,
 * payloads, trust bundles), `field-refs.ts` (subscripts, qualified names, downward API format) and
 * `text.ts` (bytes, string order).
 */
import { ConfigError, UnsupportedError, throwIfAborted } from "../errors.js";
import type { ConfigMap, Container, Pod, Secret, Volume } from "../kube/types.js";
import {
  exactQuantityMilliValue,
  exactQuantityValue,
  parseExactQuantity,
  type ExactQuantity,
} from "../kube/quantity.js";
import type {
  ResolvedContainer,
  ResolvedEnvVar,
  ResolvedPersistentVolume,
  ResolvedPod,
  ResolvedVolume,
  ValueSource,
} from "../pod-config.js";
import { podRefOf } from "../provider.js";
import { expandVarsTracked } from "./expand.js";
import { resolveImagePullSecrets } from "./image-pull-secrets.js";
import { resolvePersistentVolumeClaim } from "./persistent-volume.js";
import { ConfigReasons } from "./reasons.js";
import { serviceLinkVars } from "./env.js";
import { formatMap, qualifiedNameProblem, splitSubscript } from "./field-refs.js";
import { compareStrings, decodeBase64, decodeUtf8, encodeUtf8 } from "./text.js";
import { Payload, normalizeTrustAnchors, volumeKind } from "./volumes.js";
import type { TrackedVar } from "./expand.js";
import type {
  ClusterTrustBundleData,
  ClusterTrustBundleQuery,
  ConfigSource,
  ServiceAccountToken,
  ServiceAccountTokenRequest,
} from "./source.js";
import type {
  DownwardAPIVolumeFile,
  EnvFromSource,
  KeyToPath,
  ObjectFieldSelector,
  ResourceFieldSelector,
  ResourceList,
  Service,
  VolumeProjection,
} from "./types.js";

export { ConfigReasons, containerWaitingReason, type ConfigReason } from "./reasons.js";

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
 * containers. Throws {@link ConfigError} (reason in {@link ConfigReasons}) for what makes the kubelet
 * report `CreateContainerConfigError`/`FailedMount`, {@link UnsupportedError} for sources that cannot
 * be resolved before start (`fileKeyRef`, `podCertificate`), and passes source errors through.
 */
export async function resolvePodConfig(
  pod: Pod,
  options: ResolvePodConfigOptions,
): Promise<ResolvePodConfigResult> {
  throwIfAborted(options.signal);
  return new Resolver(pod, options).run();
}

/** Kubelet token refresh rule: at 80 % of the token's lifetime, or once it is 24 h old. */
export function tokenRefreshTime(
  token: Pick<ServiceAccountToken, "expirationTimestamp" | "issuedAt">,
  now: Date,
): Date {
  const issued = (token.issuedAt ?? now).getTime();
  const lifetime = Math.max(0, token.expirationTimestamp.getTime() - issued);
  return new Date(issued + Math.min(lifetime * 0.8, MAX_TOKEN_AGE_MS));
}

const MAX_TOKEN_AGE_MS = 24 * 60 * 60 * 1000;
const DEFAULT_MODE = 0o644;
const DEFAULT_TOKEN_EXPIRATION_SECONDS = 3600;
const MIN_TOKEN_EXPIRATION_SECONDS = 600;
const MAX_TOKEN_EXPIRATION_SECONDS = 2 ** 32;
const MASTER_SERVICE = "kubernetes";
const MASTER_NAMESPACE = "default";

type ResolvedValue = Omit<ResolvedEnvVar, "name">;

class Resolver {
  private readonly pod: Pod;
  private readonly options: ResolvePodConfigOptions;
  private readonly source: ConfigSource;
  private readonly signal: AbortSignal;
  private readonly namespace: string;
  private readonly warnings: ConfigWarning[] = [];
  private readonly warningKeys = new Set<string>();
  private readonly references = { configMaps: new Set<string>(), secrets: new Set<string>() };
  private readonly configMaps = new Map<string, Promise<ConfigMap | undefined>>();
  private readonly secrets = new Map<string, Promise<Secret | undefined>>();
  private readonly tokens = new Map<string, Promise<ServiceAccountToken>>();
  private readonly tokenExpiries = new Map<string, Date>();
  private serviceEnvCache: Promise<Map<string, string>> | undefined;

  constructor(pod: Pod, options: ResolvePodConfigOptions) {
    this.pod = pod;
    this.options = options;
    this.source = options.source;
    this.signal = options.signal;
    this.namespace = podRefOf(pod).namespace;
  }

  async run(): Promise<ResolvePodConfigResult> {
    const spec = this.pod.spec;
    // Volumes first: the kubelet mounts them before it builds any container's config.
    const volumes: ResolvedVolume[] = [];
    for (const [i, volume] of (spec?.volumes ?? []).entries()) {
      volumes.push(await this.resolveVolume(volume, `spec.volumes[${i}]`));
    }
    const initContainers: ResolvedContainer[] = [];
    for (const [i, container] of (spec?.initContainers ?? []).entries()) {
      initContainers.push(await this.resolveContainer(container, `spec.initContainers[${i}]`));
    }
    const containers: ResolvedContainer[] = [];
    for (const [i, container] of (spec?.containers ?? []).entries()) {
      containers.push(await this.resolveContainer(container, `spec.containers[${i}]`));
    }
    // Read through secretIn: pull secrets are referenced (watched) like any other Secret.
    const pull = await resolveImagePullSecrets(spec?.imagePullSecrets ?? [], this.namespace, async (name) => {
      const secret = await this.secretIn(this.namespace, name);
      return secret === undefined ? undefined : { type: secret.type, data: secretData(secret) };
    });
    for (const w of pull.warnings) this.warn(w.reason, w.message, w.field);
    throwIfAborted(this.signal);
    return {
      resolved: {
        ref: podRefOf(this.pod),
        pod: this.pod,
        nodeName: this.options.nodeName,
        initContainers,
        containers,
        volumes,
        ...(pull.credentials.length > 0 ? { imagePullSecrets: pull.credentials } : {}),
      },
      warnings: this.warnings,
      references: this.references,
      tokenExpiries: [...this.tokenExpiries.values()].sort((a, b) => a.getTime() - b.getTime()),
    };
  }

  // ---------------------------------------------------------------------------------------------
  // Containers

  private async resolveContainer(container: Container, field: string): Promise<ResolvedContainer> {
    const serviceEnv = await this.serviceEnv();
    // Insertion order is the output order; a redefinition moves the variable to its new place.
    const env = new Map<string, ResolvedEnvVar>();
    const define = (variable: ResolvedEnvVar): void => {
      env.delete(variable.name);
      env.set(variable.name, variable);
    };

    for (const [i, envFrom] of (container.envFrom ?? []).entries()) {
      const envFromField = `${field}.envFrom[${i}]`;
      const from = await this.envFromValues(envFrom, envFromField);
      if (!from) continue;
      const prefix = envFrom.prefix ?? "";
      const invalid: string[] = [];
      for (const [key, value] of from.values) {
        const name = prefix + key;
        if (!this.isEnvVarName(name)) {
          invalid.push(name);
          continue;
        }
        const source: ValueSource = { kind: from.kind, name: from.name, key };
        define({ name, value, secret: from.kind === "secret", source });
      }
      if (invalid.length > 0) {
        this.warn(
          ConfigReasons.InvalidEnvironmentVariableNames,
          `Keys [${invalid.sort(compareStrings).join(", ")}] from the EnvFrom ${from.kind} ${this.namespace}/${from.name} were skipped since they are considered invalid environment variable names.`,
          envFromField,
        );
      }
    }

    const lookup = (name: string): TrackedVar | undefined => {
      const own = env.get(name);
      if (own) return own;
      const service = serviceEnv.get(name);
      return service === undefined ? undefined : { value: service, secret: false };
    };
    for (const [i, envVar] of (container.env ?? []).entries()) {
      const value = envVar.value ?? "";
      if (value !== "") {
        const expanded = expandVarsTracked(value, lookup);
        define({
          name: envVar.name,
          value: expanded.value,
          secret: expanded.usedSecret,
          source: { kind: "value" },
        });
      } else if (envVar.valueFrom) {
        const resolved = await this.resolveEnvSource(
          envVar.valueFrom,
          container,
          `${field}.env[${i}].valueFrom`,
        );
        if (resolved) define({ name: envVar.name, ...resolved });
      } else {
        define({ name: envVar.name, value: "", secret: false, source: { kind: "value" } });
      }
    }

    // Service variables come last, unless the container defines the same name.
    const result = [...env.values()];
    for (const [name, value] of serviceEnv) {
      if (!env.has(name)) result.push({ name, value, secret: false, source: { kind: "serviceLink" } });
    }

    const finalEnv = new Map(result.map((v) => [v.name, v]));
    const expand = (list: string[] | undefined): string[] | undefined =>
      list === undefined || list.length === 0
        ? undefined
        : list.map((s) => expandVarsTracked(s, (name) => finalEnv.get(name)).value);
    return {
      name: container.name,
      env: result,
      command: expand(container.command),
      args: expand(container.args),
    };
  }

  /** The sorted key/value pairs an `envFrom` entry brings, or `undefined` for a missing optional source. */
  private async envFromValues(
    envFrom: EnvFromSource,
    field: string,
  ): Promise<{ kind: "configMap" | "secret"; name: string; values: [string, string][] } | undefined> {
    if (envFrom.configMapRef) {
      const { name = "", optional } = envFrom.configMapRef;
      const configMap = await this.requireConfigMap(name, optional, `${field}.configMapRef`);
      return configMap && { kind: "configMap", name, values: sortedEntries(configMap.data) };
    }
    if (envFrom.secretRef) {
      const { name = "", optional } = envFrom.secretRef;
      const secret = await this.requireSecret(name, optional, `${field}.secretRef`);
      if (!secret) return undefined;
      const values = sortedEntries(
        Object.fromEntries([...secretData(secret)].map(([key, bytes]) => [key, decodeUtf8(bytes)])),
      );
      return { kind: "secret", name, values };
    }
    return undefined;
  }

  private isEnvVarName(name: string): boolean {
    return this.options.envVarNames === "relaxed"
      ? /^[\x20-\x3c\x3e-\x7e]+$/.test(name)
      : /^[-._a-zA-Z][-._a-zA-Z0-9]*$/.test(name);
  }

  private async resolveEnvSource(
    from: NonNullable<NonNullable<Container["env"]>[number]["valueFrom"]>,
    container: Container,
    field: string,
  ): Promise<ResolvedValue | undefined> {
    if (from.fieldRef) {
      const value = this.envFieldValue(from.fieldRef, `${field}.fieldRef`);
      return { value, secret: false, source: { kind: "field", fieldPath: from.fieldRef.fieldPath } };
    }
    if (from.resourceFieldRef) {
      const ref = from.resourceFieldRef;
      const value = this.resourceValue(ref, container, `${field}.resourceFieldRef`, "env");
      const containerName =
        ref.containerName !== undefined && ref.containerName !== "" ? ref.containerName : container.name;
      return { value, secret: false, source: { kind: "resource", resource: ref.resource, containerName } };
    }
    if (from.configMapKeyRef) {
      const { name = "", key, optional } = from.configMapKeyRef;
      const refField = `${field}.configMapKeyRef`;
      const configMap = await this.requireConfigMap(name, optional, refField);
      if (!configMap) return undefined;
      const value = own(configMap.data, key);
      if (value === undefined) {
        this.missingKey("ConfigMap", name, key, optional, refField);
        return undefined;
      }
      return { value, secret: false, source: { kind: "configMap", name, key } };
    }
    if (from.secretKeyRef) {
      const { name = "", key, optional } = from.secretKeyRef;
      const refField = `${field}.secretKeyRef`;
      const secret = await this.requireSecret(name, optional, refField);
      if (!secret) return undefined;
      const bytes = secretData(secret).get(key);
      if (bytes === undefined) {
        this.missingKey("Secret", name, key, optional, refField);
        return undefined;
      }
      return { value: decodeUtf8(bytes), secret: true, source: { kind: "secret", name, key } };
    }
    if (from.fileKeyRef) {
      throw new UnsupportedError(
        `${field}.fileKeyRef: env vars read from a file written by an init container cannot be resolved before the pod starts`,
        { field: `${field}.fileKeyRef` },
      );
    }
    throw new UnsupportedError(`${field}: unknown env var source`, { field });
  }

  // ---------------------------------------------------------------------------------------------
  // Downward API

  /** `podFieldSelectorRuntimeValue`: the env var flavour, with node and IP fields. */
  private envFieldValue(selector: ObjectFieldSelector, field: string): string {
    const apiVersion = selector.apiVersion ?? "v1";
    if (apiVersion !== "v1" && apiVersion !== "") {
      throw new ConfigError(
        ConfigReasons.InvalidFieldPath,
        `${field}: unsupported pod version: ${apiVersion}`,
        { field },
      );
    }
    const spec = this.pod.spec;
    switch (selector.fieldPath) {
      case "spec.nodeName":
        return spec?.nodeName !== undefined && spec.nodeName !== "" ? spec.nodeName : this.options.nodeName;
      case "spec.serviceAccountName":
        return spec?.serviceAccountName ?? "";
      case "status.hostIP":
        return this.hostIPs(field)[0] ?? "";
      case "status.hostIPs":
        return this.hostIPs(field).join(",");
      case "status.podIP":
        return this.podIPs(field)[0] ?? "";
      case "status.podIPs":
        return this.podIPs(field).join(",");
      default:
        return this.objectFieldValue(selector.fieldPath, field);
    }
  }

  private hostIPs(field: string): string[] {
    const { hostIP, hostIPs } = this.options;
    const list = hostIPs !== undefined && hostIPs.length > 0 ? hostIPs : hostIP !== undefined ? [hostIP] : [];
    const first = hostIP ?? list[0];
    if (first === undefined || first === "") {
      throw new ConfigError(
        ConfigReasons.HostIPNotAvailable,
        `${field}: status.hostIP is not known: the node has no host IP configured`,
        { field },
      );
    }
    return [first, ...list.filter((ip) => ip !== first)];
  }

  private podIPs(field: string): string[] {
    const { podIP, podIPs } = this.options;
    const list =
      podIPs !== undefined && podIPs.length > 0 ? podIPs : podIP !== undefined && podIP !== "" ? [podIP] : [];
    if (list.length === 0) {
      throw new ConfigError(
        ConfigReasons.PodIPNotAvailable,
        `${field}: the pod IP is not known before the pod starts: the provider does not pre-allocate pod IPs (capabilities.podIPBeforeStart is false), so status.podIP/status.podIPs cannot be put in env vars`,
        { field },
      );
    }
    return list;
  }

  /** `fieldpath.ExtractFieldPathAsString`: the metadata fields, also used by downward API volumes. */
  private objectFieldValue(fieldPath: string, field: string): string {
    const metadata = this.pod.metadata;
    const subscripted = splitSubscript(fieldPath);
    if (subscripted) {
      const [path, key] = subscripted;
      if (path === "metadata.annotations" || path === "metadata.labels") {
        const annotations = path === "metadata.annotations";
        const problem = qualifiedNameProblem(annotations ? key.toLowerCase() : key);
        if (problem !== undefined) {
          throw new ConfigError(
            ConfigReasons.InvalidFieldPath,
            `${field}: invalid key subscript in ${fieldPath}: ${problem}`,
            {
              field,
            },
          );
        }
        return own(annotations ? metadata?.annotations : metadata?.labels, key) ?? "";
      }
      throw new ConfigError(
        ConfigReasons.InvalidFieldPath,
        `${field}: fieldPath "${fieldPath}" does not support subscript`,
        {
          field,
        },
      );
    }
    switch (fieldPath) {
      case "metadata.annotations":
        return formatMap(metadata?.annotations ?? {});
      case "metadata.labels":
        return formatMap(metadata?.labels ?? {});
      case "metadata.name":
        return metadata?.name ?? "";
      case "metadata.namespace":
        return this.namespace;
      case "metadata.uid":
        return metadata?.uid ?? "";
      default:
        throw new ConfigError(
          ConfigReasons.InvalidFieldPath,
          `${field}: unsupported fieldPath: ${fieldPath}`,
          { field },
        );
    }
  }

  /**
   * `resource.ExtractContainerResourceValue` on a container whose unset limits were filled from
   * node allocatable. Env: the own container, or a named one (init containers named there are not
   * defaulted, as in the kubelet); volumes: always a named container, always defaulted.
   */
  private resourceValue(
    selector: ResourceFieldSelector,
    self: Container | undefined,
    field: string,
    use: "env" | "volume",
  ): string {
    const fail = (message: string): never => {
      throw new ConfigError(ConfigReasons.InvalidResourceFieldRef, `${field}: ${message}`, { field });
    };
    let container = use === "env" && (selector.containerName ?? "") === "" ? self : undefined;
    let defaulted = true;
    if (!container) {
      const name = selector.containerName ?? "";
      container = this.pod.spec?.containers.find((c) => c.name === name);
      if (!container) {
        container = this.pod.spec?.initContainers?.find((c) => c.name === name);
        defaulted = use === "volume";
      }
      if (!container) return fail(`container ${name} not found`);
    }
    const limits: ResourceList = { ...container.resources?.limits };
    if (defaulted) {
      const allocatable = this.options.nodeAllocatable ?? {};
      for (const resource of ["cpu", "memory", "ephemeral-storage"]) {
        const current = own(limits, resource);
        const fallback = own(allocatable, resource);
        if ((current === undefined || parseExactQuantity(current)?.num === 0n) && fallback !== undefined) {
          limits[resource] = fallback;
        }
      }
    }
    const requests: ResourceList = { ...container.resources?.requests };

    let divisor = ONE;
    if (selector.divisor !== undefined && selector.divisor !== "") {
      const parsed = parseExactQuantity(selector.divisor);
      if (!parsed) return fail(`invalid divisor quantity "${selector.divisor}"`);
      if (parsed.num !== 0n) divisor = parsed;
    }
    const quantity = (list: ResourceList, name: string): ExactQuantity => {
      const raw = own(list, name);
      if (raw === undefined) return ZERO;
      return parseExactQuantity(raw) ?? fail(`invalid quantity "${raw}" for ${name}`);
    };
    const dot = selector.resource.indexOf(".");
    const kind = selector.resource.slice(0, dot);
    const name = selector.resource.slice(dot + 1);
    const list = kind === "limits" ? limits : kind === "requests" ? requests : undefined;
    if (dot <= 0 || list === undefined) return fail(`unsupported container resource : ${selector.resource}`);
    let ratio: number;
    if (name === "cpu") {
      ratio =
        toNumber(exactQuantityMilliValue(quantity(list, name))) / toNumber(exactQuantityMilliValue(divisor));
    } else if (name === "memory" || name === "ephemeral-storage" || name.startsWith("hugepages-")) {
      ratio = toNumber(exactQuantityValue(quantity(list, name))) / toNumber(exactQuantityValue(divisor));
    } else {
      return fail(`unsupported container resource : ${selector.resource}`);
    }
    const rounded = Math.ceil(ratio);
    if (!Number.isFinite(rounded)) return fail(`divisor "${selector.divisor ?? ""}" is too small`);
    return BigInt(rounded).toString();
  }

  // ---------------------------------------------------------------------------------------------
  // Service links

  private serviceEnv(): Promise<Map<string, string>> {
    this.serviceEnvCache ??= this.loadServiceEnv();
    return this.serviceEnvCache;
  }

  /** `getServiceEnvVarMap`: the master service always, the namespace's services unless disabled. */
  private async loadServiceEnv(): Promise<Map<string, string>> {
    const env = new Map<string, string>();
    const listServices = this.source.listServices?.bind(this.source);
    if (!listServices) return env;
    const enableServiceLinks = this.pod.spec?.enableServiceLinks !== false;
    const namespaces = new Set([MASTER_NAMESPACE]);
    if (enableServiceLinks) namespaces.add(this.namespace);
    const byName = new Map<string, Service>();
    for (const namespace of namespaces) {
      throwIfAborted(this.signal);
      for (const service of await listServices(namespace, this.signal)) {
        const clusterIP = service.spec?.clusterIP ?? "";
        if (clusterIP === "" || clusterIP === "None") continue;
        const name = service.metadata?.name ?? "";
        const serviceNamespace = service.metadata?.namespace ?? namespace;
        if (serviceNamespace === MASTER_NAMESPACE && name === MASTER_SERVICE) {
          if (!byName.has(name)) byName.set(name, service);
        } else if (serviceNamespace === this.namespace && enableServiceLinks) {
          byName.set(name, service);
        }
      }
    }
    for (const name of [...byName.keys()].sort(compareStrings)) {
      const service = byName.get(name);
      if (service) for (const [key, value] of serviceLinkVars(service)) env.set(key, value);
    }
    return env;
  }

  // ---------------------------------------------------------------------------------------------
  // Volumes

  private async resolveVolume(volume: Volume, field: string): Promise<ResolvedVolume> {
    const kind = volumeKind(volume);
    const name = volume.name;
    const payload = new Payload(field);
    switch (kind) {
      case "emptyDir": {
        const source = volume.emptyDir;
        const emptyDir: { medium?: string; sizeLimit?: string } = {};
        if (source?.medium !== undefined) emptyDir.medium = source.medium;
        if (source?.sizeLimit !== undefined) emptyDir.sizeLimit = source.sizeLimit;
        return { name, kind, files: [], emptyDir };
      }
      case "configMap": {
        const source = volume.configMap;
        const objectName = source?.name ?? "";
        const sourceField = `${field}.configMap`;
        const configMap = await this.requireConfigMap(objectName, source?.optional, sourceField);
        if (configMap) {
          const defaultMode = source?.defaultMode ?? DEFAULT_MODE;
          this.configMapFiles(
            payload,
            configMap,
            objectName,
            source?.items,
            defaultMode,
            source?.optional,
            sourceField,
          );
        }
        break;
      }
      case "secret": {
        const source = volume.secret;
        const objectName = source?.secretName ?? "";
        const sourceField = `${field}.secret`;
        const secret = await this.requireSecret(objectName, source?.optional, sourceField);
        if (secret) {
          const defaultMode = source?.defaultMode ?? DEFAULT_MODE;
          this.secretFiles(
            payload,
            secret,
            objectName,
            source?.items,
            defaultMode,
            source?.optional,
            sourceField,
          );
        }
        break;
      }
      case "downwardAPI": {
        const source = volume.downwardAPI;
        this.downwardAPIFiles(
          payload,
          source?.items,
          source?.defaultMode ?? DEFAULT_MODE,
          `${field}.downwardAPI`,
        );
        break;
      }
      case "projected": {
        const source = volume.projected;
        const defaultMode = source?.defaultMode ?? DEFAULT_MODE;
        for (const [i, projection] of (source?.sources ?? []).entries()) {
          await this.projectionFiles(payload, projection, defaultMode, `${field}.projected.sources[${i}]`);
        }
        break;
      }
      case "persistentVolumeClaim": {
        const source = volume.persistentVolumeClaim;
        if (source === undefined) break;
        const mounted = this.options.mountedPersistentVolumes?.get(name);
        if (mounted?.claimName === source.claimName)
          return { name, kind, files: [], persistentVolume: mounted };
        const persistentVolume = await resolvePersistentVolumeClaim(source, field, {
          source: this.source,
          namespace: this.namespace,
          signal: this.signal,
          secretData: async (namespace, secretName) => {
            const secret = await this.secretIn(namespace, secretName);
            return secret === undefined ? undefined : secretData(secret);
          },
        });
        return { name, kind, files: [], persistentVolume };
      }
      default:
        // Other kinds carry no files; whether the provider supports them is checked elsewhere.
        break;
    }
    return { name, kind, files: payload.files() };
  }

  private configMapFiles(
    payload: Payload,
    configMap: ConfigMap,
    name: string,
    items: KeyToPath[] | undefined,
    defaultMode: number,
    optional: boolean | undefined,
    field: string,
  ): void {
    if (items === undefined || items.length === 0) {
      for (const [key, value] of sortedEntries(configMap.data))
        payload.add(key, encodeUtf8(value), defaultMode, false, undefined, { kind: "configMap", name, key });
      for (const [key, value] of sortedEntries(configMap.binaryData))
        payload.add(key, decodeBase64(value), defaultMode, false, undefined, {
          kind: "configMap",
          name,
          key,
        });
      return;
    }
    for (const [i, item] of items.entries()) {
      const text = own(configMap.data, item.key);
      const binary = text === undefined ? own(configMap.binaryData, item.key) : undefined;
      if (text === undefined && binary === undefined) {
        this.missingKey("ConfigMap", name, item.key, optional, `${field}.items[${i}]`);
        continue;
      }
      const content = text !== undefined ? encodeUtf8(text) : decodeBase64(binary ?? "");
      payload.add(item.path, content, item.mode ?? defaultMode, false, `${field}.items[${i}]`, {
        kind: "configMap",
        name,
        key: item.key,
      });
    }
  }

  private secretFiles(
    payload: Payload,
    secret: Secret,
    name: string,
    items: KeyToPath[] | undefined,
    defaultMode: number,
    optional: boolean | undefined,
    field: string,
  ): void {
    const data = secretData(secret);
    if (items === undefined || items.length === 0) {
      for (const key of [...data.keys()].sort(compareStrings))
        payload.add(key, data.get(key) ?? new Uint8Array(), defaultMode, true, undefined, {
          kind: "secret",
          name,
          key,
        });
      return;
    }
    for (const [i, item] of items.entries()) {
      const content = data.get(item.key);
      if (content === undefined) {
        this.missingKey("Secret", name, item.key, optional, `${field}.items[${i}]`);
        continue;
      }
      payload.add(item.path, content, item.mode ?? defaultMode, true, `${field}.items[${i}]`, {
        kind: "secret",
        name,
        key: item.key,
      });
    }
  }

  private downwardAPIFiles(
    payload: Payload,
    items: DownwardAPIVolumeFile[] | undefined,
    defaultMode: number,
    field: string,
  ): void {
    for (const [i, item] of (items ?? []).entries()) {
      const itemField = `${field}.items[${i}]`;
      let value = "";
      let source: ValueSource | undefined;
      if (item.fieldRef) {
        value = this.objectFieldValue(item.fieldRef.fieldPath, `${itemField}.fieldRef`);
        source = { kind: "field", fieldPath: item.fieldRef.fieldPath };
      } else if (item.resourceFieldRef) {
        value = this.resourceValue(
          item.resourceFieldRef,
          undefined,
          `${itemField}.resourceFieldRef`,
          "volume",
        );
        source = {
          kind: "resource",
          resource: item.resourceFieldRef.resource,
          containerName: item.resourceFieldRef.containerName ?? "",
        };
      }
      payload.add(item.path, encodeUtf8(value), item.mode ?? defaultMode, false, itemField, source);
    }
  }

  private async projectionFiles(
    payload: Payload,
    projection: VolumeProjection,
    defaultMode: number,
    field: string,
  ): Promise<void> {
    if (projection.secret) {
      const { name = "", items, optional } = projection.secret;
      const secret = await this.requireSecret(name, optional, `${field}.secret`);
      if (secret) this.secretFiles(payload, secret, name, items, defaultMode, optional, `${field}.secret`);
    } else if (projection.configMap) {
      const { name = "", items, optional } = projection.configMap;
      const configMap = await this.requireConfigMap(name, optional, `${field}.configMap`);
      if (configMap)
        this.configMapFiles(payload, configMap, name, items, defaultMode, optional, `${field}.configMap`);
    } else if (projection.downwardAPI) {
      this.downwardAPIFiles(payload, projection.downwardAPI.items, defaultMode, `${field}.downwardAPI`);
    } else if (projection.serviceAccountToken) {
      const sourceField = `${field}.serviceAccountToken`;
      const token = await this.serviceAccountToken(projection.serviceAccountToken, sourceField);
      payload.add(
        projection.serviceAccountToken.path,
        encodeUtf8(token.token),
        this.privateFileMode(defaultMode),
        true,
        sourceField,
        { kind: "value" },
      );
    } else if (projection.clusterTrustBundle) {
      const sourceField = `${field}.clusterTrustBundle`;
      const content = await this.clusterTrustBundle(projection.clusterTrustBundle, sourceField);
      if (content)
        payload.add(
          projection.clusterTrustBundle.path,
          content,
          this.privateFileMode(defaultMode),
          false,
          sourceField,
        );
    } else if (projection.podCertificate) {
      throw new UnsupportedError(`${field}.podCertificate: pod certificate projections are not supported`, {
        field: `${field}.podCertificate`,
      });
    }
  }

  /** Token and trust bundle files: 0600 when the kubelet would hand them to an fsUser/fsGroup. */
  private privateFileMode(defaultMode: number): number {
    const spec = this.pod.spec;
    if (spec?.securityContext?.fsGroup !== undefined) return 0o600;
    const containers = [
      ...(spec?.initContainers ?? []),
      ...(spec?.containers ?? []),
      ...(spec?.ephemeralContainers ?? []),
    ];
    let user: number | undefined;
    for (const container of containers) {
      const runAsUser = container.securityContext?.runAsUser ?? spec?.securityContext?.runAsUser;
      if (runAsUser === undefined || (user !== undefined && user !== runAsUser)) return defaultMode;
      user = runAsUser;
    }
    return user === undefined ? defaultMode : 0o600;
  }

  private async serviceAccountToken(
    projection: NonNullable<VolumeProjection["serviceAccountToken"]>,
    field: string,
  ): Promise<ServiceAccountToken> {
    const requestToken = this.source.requestServiceAccountToken?.bind(this.source);
    if (!requestToken) {
      throw new ConfigError(
        ConfigReasons.ServiceAccountTokenUnavailable,
        `${field}: service account tokens cannot be issued: the config source has no TokenRequest support`,
        { field },
      );
    }
    const expirationSeconds = projection.expirationSeconds ?? DEFAULT_TOKEN_EXPIRATION_SECONDS;
    if (
      !Number.isInteger(expirationSeconds) ||
      expirationSeconds < MIN_TOKEN_EXPIRATION_SECONDS ||
      expirationSeconds > MAX_TOKEN_EXPIRATION_SECONDS
    ) {
      throw new ConfigError(
        ConfigReasons.InvalidVolumeSource,
        `${field}: expirationSeconds ${expirationSeconds} is outside [${MIN_TOKEN_EXPIRATION_SECONDS}, ${MAX_TOKEN_EXPIRATION_SECONDS}]`,
        { field },
      );
    }
    const spec = this.pod.spec;
    const request: ServiceAccountTokenRequest = {
      namespace: this.namespace,
      serviceAccountName: spec?.serviceAccountName ?? spec?.serviceAccount ?? "default",
      expirationSeconds,
      boundPod: { name: this.pod.metadata?.name ?? "", uid: this.pod.metadata?.uid ?? "" },
    };
    if (projection.audience !== undefined && projection.audience !== "")
      request.audiences = [projection.audience];
    // One token per (audiences, lifetime), like the kubelet's token manager cache.
    const key = JSON.stringify([request.audiences ?? [], expirationSeconds]);
    let pending = this.tokens.get(key);
    if (!pending) {
      throwIfAborted(this.signal);
      pending = requestToken(request, this.signal);
      this.tokens.set(key, pending);
    }
    const token = await pending;
    this.tokenExpiries.set(key, tokenRefreshTime(token, this.options.now));
    return token;
  }

  private async clusterTrustBundle(
    projection: NonNullable<VolumeProjection["clusterTrustBundle"]>,
    field: string,
  ): Promise<Uint8Array | undefined> {
    const optional = projection.optional === true;
    let query: ClusterTrustBundleQuery | undefined;
    if (projection.name !== undefined && projection.name !== "") {
      query = { name: projection.name };
    } else if (projection.signerName !== undefined && projection.signerName !== "") {
      // An absent selector matches nothing (an empty one matches everything).
      if (projection.labelSelector)
        query = { signerName: projection.signerName, labelSelector: projection.labelSelector };
    } else {
      throw new ConfigError(
        ConfigReasons.InvalidVolumeSource,
        `${field}: ClusterTrustBundle projection requires either name or signerName to be set`,
        { field },
      );
    }
    let bundles: ClusterTrustBundleData[] = [];
    if (query) {
      const getBundles = this.source.getClusterTrustBundles?.bind(this.source);
      if (!getBundles) {
        const message = `${field}: ClusterTrustBundles cannot be read: the config source does not provide them`;
        if (!optional) throw new ConfigError(ConfigReasons.ClusterTrustBundleUnavailable, message, { field });
        this.warn(
          ConfigReasons.ClusterTrustBundleUnavailable,
          `${message}; the optional file is left empty`,
          field,
        );
        return new Uint8Array();
      }
      throwIfAborted(this.signal);
      bundles = await getBundles(query, this.signal);
      if ("signerName" in query) {
        const signer = query.signerName;
        bundles = bundles.filter((b) => b.signerName === signer);
      }
    }
    if (bundles.length === 0) {
      const what =
        projection.name !== undefined && projection.name !== ""
          ? `ClusterTrustBundle ${projection.name} not found`
          : `signerName ${projection.signerName ?? ""} and labelSelector matched zero ClusterTrustBundles`;
      if (!optional)
        throw new ConfigError(ConfigReasons.ClusterTrustBundleNotFound, `${field}: ${what}`, { field });
      this.warn(
        ConfigReasons.ClusterTrustBundleNotFound,
        `${field}: ${what}; the optional file is left empty`,
        field,
      );
      return new Uint8Array();
    }
    return normalizeTrustAnchors(bundles);
  }

  // ---------------------------------------------------------------------------------------------
  // Objects

  private async requireConfigMap(
    name: string,
    optional: boolean | undefined,
    field: string,
  ): Promise<ConfigMap | undefined> {
    if (name !== "") this.references.configMaps.add(name);
    let pending = this.configMaps.get(name);
    if (!pending) {
      throwIfAborted(this.signal);
      pending = this.source.getConfigMap(this.namespace, name, this.signal);
      this.configMaps.set(name, pending);
    }
    const configMap = await pending;
    if (configMap) return configMap;
    const message = `couldn't get ConfigMap ${this.namespace}/${name}: not found`;
    if (optional !== true)
      throw new ConfigError(ConfigReasons.MandatoryConfigMapNotFound, message, { field });
    this.warn(
      ConfigReasons.OptionalConfigMapNotFound,
      `optional ConfigMap ${this.namespace}/${name} not found; skipped`,
      field,
    );
    return undefined;
  }

  private async requireSecret(
    name: string,
    optional: boolean | undefined,
    field: string,
  ): Promise<Secret | undefined> {
    if (name !== "") this.references.secrets.add(name);
    let pending = this.secrets.get(name);
    if (!pending) {
      throwIfAborted(this.signal);
      pending = this.source.getSecret(this.namespace, name, this.signal);
      this.secrets.set(name, pending);
    }
    const secret = await pending;
    if (secret) return secret;
    const message = `couldn't get Secret ${this.namespace}/${name}: not found`;
    if (optional !== true) throw new ConfigError(ConfigReasons.MandatorySecretNotFound, message, { field });
    this.warn(
      ConfigReasons.OptionalSecretNotFound,
      `optional Secret ${this.namespace}/${name} not found; skipped`,
      field,
    );
    return undefined;
  }

  /** A Secret in any namespace (PersistentVolume credentials); the pod's own namespace shares the cache. */
  private async secretIn(namespace: string, name: string): Promise<Secret | undefined> {
    if (namespace === this.namespace) this.references.secrets.add(name);
    const key = namespace === this.namespace ? name : `${namespace}/${name}`;
    let pending = this.secrets.get(key);
    if (!pending) {
      throwIfAborted(this.signal);
      pending = this.source.getSecret(namespace, name, this.signal);
      this.secrets.set(key, pending);
    }
    return pending;
  }

  private missingKey(
    kind: "ConfigMap" | "Secret",
    name: string,
    key: string,
    optional: boolean | undefined,
    field: string,
  ): void {
    const message = `couldn't find key ${key} in ${kind} ${this.namespace}/${name}`;
    if (optional !== true) {
      const reason =
        kind === "ConfigMap"
          ? ConfigReasons.MandatoryConfigMapKeyNotFound
          : ConfigReasons.MandatorySecretKeyNotFound;
      throw new ConfigError(reason, message, { field });
    }
    const reason =
      kind === "ConfigMap"
        ? ConfigReasons.OptionalConfigMapKeyNotFound
        : ConfigReasons.OptionalSecretKeyNotFound;
    this.warn(reason, `${message} (optional; skipped)`, field);
  }

  private warn(reason: string, message: string, field: string): void {
    const key = `${reason}\u0000${message}\u0000${field}`;
    if (this.warningKeys.has(key)) return;
    this.warningKeys.add(key);
    this.warnings.push({ reason, message, field });
  }
}

// -----------------------------------------------------------------------------------------------
// Volume files

/** Files of one volume keyed by cleaned path; a later source wins (projected volumes). */
// -----------------------------------------------------------------------------------------------
// Quantities (exact rationals, like resource.Quantity: the parser is kube/quantity.ts)

const ZERO: ExactQuantity = { num: 0n, den: 1n };
const ONE: ExactQuantity = { num: 1n, den: 1n };

function toNumber(value: bigint): number {
  return Number(value);
}

// -----------------------------------------------------------------------------------------------
// Trust bundles

/** `record[key]` for own keys only (a key such as `constructor` must not reach the prototype). */
function own(record: Record<string, string> | undefined, key: string): string | undefined {
  return record !== undefined && Object.hasOwn(record, key) ? record[key] : undefined;
}

function sortedEntries(record: Record<string, string> | undefined): [string, string][] {
  return Object.entries(record ?? {}).sort(([a], [b]) => compareStrings(a, b));
}

/** A Secret's values as bytes: base64 `data`, overlaid by `stringData` when a source provides it. */
function secretData(secret: Secret): Map<string, Uint8Array> {
  const data = new Map<string, Uint8Array>();
  for (const [key, value] of sortedEntries(secret.data)) data.set(key, decodeBase64(value));
  for (const [key, value] of sortedEntries(secret.stringData)) data.set(key, encodeUtf8(value));
  return data;
}
