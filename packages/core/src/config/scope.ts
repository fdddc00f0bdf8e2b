/**
 * One pod's resolution scope: the pod, the options, the ConfigMaps and Secrets it reads (each read once,
 * every name recorded as a reference, found or not), and its deduplicated warnings. The env and volume
 * resolvers share one scope, so a Secret both use is read once and warned about once.
 */
import { ConfigError, throwIfAborted } from "../errors.js";
import type { ConfigMap, Pod, Secret } from "../kube/types.js";
import { podRefOf } from "../provider.js";
import { ConfigReasons } from "./reasons.js";
import type { ConfigSource } from "./source.js";
import type { ConfigWarning, ResolvePodConfigOptions } from "./resolve.js";

export class ResolveScope {
  readonly namespace: string;
  readonly source: ConfigSource;
  readonly signal: AbortSignal;
  readonly warnings: ConfigWarning[] = [];
  readonly warningKeys = new Set<string>();
  readonly references = { configMaps: new Set<string>(), secrets: new Set<string>() };
  readonly configMaps = new Map<string, Promise<ConfigMap | undefined>>();
  readonly secrets = new Map<string, Promise<Secret | undefined>>();

  constructor(
    readonly pod: Pod,
    readonly options: ResolvePodConfigOptions,
  ) {
    this.source = options.source;
    this.signal = options.signal;
    this.namespace = podRefOf(pod).namespace;
  }

  // ---------------------------------------------------------------------------------------------
  // Objects

  async requireConfigMap(
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

  async requireSecret(
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
  async secretIn(namespace: string, name: string): Promise<Secret | undefined> {
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

  missingKey(
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

  warn(reason: string, message: string, field: string): void {
    const key = `${reason}\u0000${message}\u0000${field}`;
    if (this.warningKeys.has(key)) return;
    this.warningKeys.add(key);
    this.warnings.push({ reason, message, field });
  }
}
