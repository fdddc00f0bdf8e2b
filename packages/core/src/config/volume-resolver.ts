/**
 * A pod's volumes: the files of `configMap`, `secret`, `downwardAPI` and `projected` volumes (service
 * account tokens and cluster trust bundles included), and PersistentVolumeClaims.
 */
import { ConfigError, UnsupportedError, throwIfAborted } from "../errors.js";
import type { ConfigMap, Secret, Volume } from "../kube/types.js";
import type { ResolvedVolume, ValueSource } from "../pod-config.js";
import { resolvePersistentVolumeClaim } from "./persistent-volume.js";
import { ConfigReasons } from "./reasons.js";
import { compareStrings, decodeBase64, encodeUtf8 } from "./text.js";
import { Payload, normalizeTrustAnchors, volumeKind } from "./volumes.js";
import type {
  ClusterTrustBundleData,
  ClusterTrustBundleQuery,
  ServiceAccountToken,
  ServiceAccountTokenRequest,
} from "./source.js";
import type { DownwardAPIVolumeFile, KeyToPath, VolumeProjection } from "./types.js";
import {
  DEFAULT_MODE,
  DEFAULT_TOKEN_EXPIRATION_SECONDS,
  MIN_TOKEN_EXPIRATION_SECONDS,
  MAX_TOKEN_EXPIRATION_SECONDS,
  own,
  sortedEntries,
  secretData,
  tokenRefreshTime,
} from "./resolve-shared.js";
import type { FieldValues } from "./field-values.js";
import type { ResolveScope } from "./scope.js";

export class VolumeResolver {
  private readonly tokens = new Map<string, Promise<ServiceAccountToken>>();
  /** When each projected token must be refreshed, by volume. */
  readonly tokenExpiries = new Map<string, Date>();

  constructor(
    private readonly scope: ResolveScope,
    private readonly fields: FieldValues,
  ) {}

  // ---------------------------------------------------------------------------------------------
  // Volumes

  async resolveVolume(volume: Volume, field: string): Promise<ResolvedVolume> {
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
        const configMap = await this.scope.requireConfigMap(objectName, source?.optional, sourceField);
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
        const secret = await this.scope.requireSecret(objectName, source?.optional, sourceField);
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
        const mounted = this.scope.options.mountedPersistentVolumes?.get(name);
        if (mounted?.claimName === source.claimName)
          return { name, kind, files: [], persistentVolume: mounted };
        const persistentVolume = await resolvePersistentVolumeClaim(source, field, {
          source: this.scope.source,
          namespace: this.scope.namespace,
          signal: this.scope.signal,
          secretData: async (namespace, secretName) => {
            const secret = await this.scope.secretIn(namespace, secretName);
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
        this.scope.missingKey("ConfigMap", name, item.key, optional, `${field}.items[${i}]`);
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
        this.scope.missingKey("Secret", name, item.key, optional, `${field}.items[${i}]`);
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
        value = this.fields.objectFieldValue(item.fieldRef.fieldPath, `${itemField}.fieldRef`);
        source = { kind: "field", fieldPath: item.fieldRef.fieldPath };
      } else if (item.resourceFieldRef) {
        value = this.fields.resourceValue(
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
      const secret = await this.scope.requireSecret(name, optional, `${field}.secret`);
      if (secret) this.secretFiles(payload, secret, name, items, defaultMode, optional, `${field}.secret`);
    } else if (projection.configMap) {
      const { name = "", items, optional } = projection.configMap;
      const configMap = await this.scope.requireConfigMap(name, optional, `${field}.configMap`);
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
    const spec = this.scope.pod.spec;
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
    const requestToken = this.scope.source.requestServiceAccountToken?.bind(this.scope.source);
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
    const spec = this.scope.pod.spec;
    const request: ServiceAccountTokenRequest = {
      namespace: this.scope.namespace,
      serviceAccountName: spec?.serviceAccountName ?? spec?.serviceAccount ?? "default",
      expirationSeconds,
      boundPod: { name: this.scope.pod.metadata?.name ?? "", uid: this.scope.pod.metadata?.uid ?? "" },
    };
    if (projection.audience !== undefined && projection.audience !== "")
      request.audiences = [projection.audience];
    // One token per (audiences, lifetime), like the kubelet's token manager cache.
    const key = JSON.stringify([request.audiences ?? [], expirationSeconds]);
    let pending = this.tokens.get(key);
    if (!pending) {
      throwIfAborted(this.scope.signal);
      pending = requestToken(request, this.scope.signal);
      this.tokens.set(key, pending);
    }
    const token = await pending;
    this.tokenExpiries.set(key, tokenRefreshTime(token, this.scope.options.now));
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
      const getBundles = this.scope.source.getClusterTrustBundles?.bind(this.scope.source);
      if (!getBundles) {
        const message = `${field}: ClusterTrustBundles cannot be read: the config source does not provide them`;
        if (!optional) throw new ConfigError(ConfigReasons.ClusterTrustBundleUnavailable, message, { field });
        this.scope.warn(
          ConfigReasons.ClusterTrustBundleUnavailable,
          `${message}; the optional file is left empty`,
          field,
        );
        return new Uint8Array();
      }
      throwIfAborted(this.scope.signal);
      bundles = await getBundles(query, this.scope.signal);
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
      this.scope.warn(
        ConfigReasons.ClusterTrustBundleNotFound,
        `${field}: ${what}; the optional file is left empty`,
        field,
      );
      return new Uint8Array();
    }
    return normalizeTrustAnchors(bundles);
  }
}
