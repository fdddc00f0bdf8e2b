/**
 * A container's environment and arguments: `envFrom`, `env` with `valueFrom`, service links and
 * `$(VAR)` expansion of `command`/`args`, as the kubelet builds them.
 */
import { UnsupportedError, throwIfAborted } from "../errors.js";
import type { Container } from "../kube/types.js";
import type { ResolvedContainer, ResolvedEnvVar, ValueSource } from "../pod-config.js";
import { expandVarsTracked } from "./expand.js";
import { ConfigReasons } from "./reasons.js";
import { serviceLinkVars } from "./env.js";
import { compareStrings, decodeUtf8 } from "./text.js";
import type { TrackedVar } from "./expand.js";
import type { EnvFromSource, Service } from "./types.js";
import {
  MASTER_SERVICE,
  MASTER_NAMESPACE,
  own,
  sortedEntries,
  secretData,
  type ResolvedValue,
} from "./resolve-shared.js";
import type { FieldValues } from "./field-values.js";
import type { ResolveScope } from "./scope.js";

export class EnvResolver {
  private serviceEnvCache: Promise<Map<string, string>> | undefined;

  constructor(
    private readonly scope: ResolveScope,
    private readonly fields: FieldValues,
  ) {}

  // ---------------------------------------------------------------------------------------------
  // Containers

  async resolveContainer(container: Container, field: string): Promise<ResolvedContainer> {
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
        this.scope.warn(
          ConfigReasons.InvalidEnvironmentVariableNames,
          `Keys [${invalid.sort(compareStrings).join(", ")}] from the EnvFrom ${from.kind} ${this.scope.namespace}/${from.name} were skipped since they are considered invalid environment variable names.`,
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
      const configMap = await this.scope.requireConfigMap(name, optional, `${field}.configMapRef`);
      return configMap && { kind: "configMap", name, values: sortedEntries(configMap.data) };
    }
    if (envFrom.secretRef) {
      const { name = "", optional } = envFrom.secretRef;
      const secret = await this.scope.requireSecret(name, optional, `${field}.secretRef`);
      if (!secret) return undefined;
      const values = sortedEntries(
        Object.fromEntries([...secretData(secret)].map(([key, bytes]) => [key, decodeUtf8(bytes)])),
      );
      return { kind: "secret", name, values };
    }
    return undefined;
  }

  private isEnvVarName(name: string): boolean {
    return this.scope.options.envVarNames === "relaxed"
      ? /^[\x20-\x3c\x3e-\x7e]+$/.test(name)
      : /^[-._a-zA-Z][-._a-zA-Z0-9]*$/.test(name);
  }

  private async resolveEnvSource(
    from: NonNullable<NonNullable<Container["env"]>[number]["valueFrom"]>,
    container: Container,
    field: string,
  ): Promise<ResolvedValue | undefined> {
    if (from.fieldRef) {
      const value = this.fields.envFieldValue(from.fieldRef, `${field}.fieldRef`);
      return { value, secret: false, source: { kind: "field", fieldPath: from.fieldRef.fieldPath } };
    }
    if (from.resourceFieldRef) {
      const ref = from.resourceFieldRef;
      const value = this.fields.resourceValue(ref, container, `${field}.resourceFieldRef`, "env");
      const containerName =
        ref.containerName !== undefined && ref.containerName !== "" ? ref.containerName : container.name;
      return { value, secret: false, source: { kind: "resource", resource: ref.resource, containerName } };
    }
    if (from.configMapKeyRef) {
      const { name = "", key, optional } = from.configMapKeyRef;
      const refField = `${field}.configMapKeyRef`;
      const configMap = await this.scope.requireConfigMap(name, optional, refField);
      if (!configMap) return undefined;
      const value = own(configMap.data, key);
      if (value === undefined) {
        this.scope.missingKey("ConfigMap", name, key, optional, refField);
        return undefined;
      }
      return { value, secret: false, source: { kind: "configMap", name, key } };
    }
    if (from.secretKeyRef) {
      const { name = "", key, optional } = from.secretKeyRef;
      const refField = `${field}.secretKeyRef`;
      const secret = await this.scope.requireSecret(name, optional, refField);
      if (!secret) return undefined;
      const bytes = secretData(secret).get(key);
      if (bytes === undefined) {
        this.scope.missingKey("Secret", name, key, optional, refField);
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
  // Service links

  private serviceEnv(): Promise<Map<string, string>> {
    this.serviceEnvCache ??= this.loadServiceEnv();
    return this.serviceEnvCache;
  }

  /** `getServiceEnvVarMap`: the master service always, the namespace's services unless disabled. */
  private async loadServiceEnv(): Promise<Map<string, string>> {
    const env = new Map<string, string>();
    const listServices = this.scope.source.listServices?.bind(this.scope.source);
    if (!listServices) return env;
    const enableServiceLinks = this.scope.pod.spec?.enableServiceLinks !== false;
    const namespaces = new Set([MASTER_NAMESPACE]);
    if (enableServiceLinks) namespaces.add(this.scope.namespace);
    const byName = new Map<string, Service>();
    for (const namespace of namespaces) {
      throwIfAborted(this.scope.signal);
      for (const service of await listServices(namespace, this.scope.signal)) {
        const clusterIP = service.spec?.clusterIP ?? "";
        if (clusterIP === "" || clusterIP === "None") continue;
        const name = service.metadata?.name ?? "";
        const serviceNamespace = service.metadata?.namespace ?? namespace;
        if (serviceNamespace === MASTER_NAMESPACE && name === MASTER_SERVICE) {
          if (!byName.has(name)) byName.set(name, service);
        } else if (serviceNamespace === this.scope.namespace && enableServiceLinks) {
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
}
