/**
 * Where pod configuration resolution reads ConfigMaps, Secrets, Services, PersistentVolumeClaims,
 * PersistentVolumes and tokens from.
 *
 * Core implements it over its informer caches and the API (TokenRequest); tests use
 * {@link createInMemoryConfigSource}. Every method honours `signal`. Lookups resolve to `undefined`
 * for an object that does not exist; any other failure (network, RBAC, throttling) is thrown and
 * passed through by `resolvePodConfig` unchanged.
 */
import type { ConfigMap, PersistentVolume, PersistentVolumeClaim, Secret } from "../kube/types.js";
import type { LabelSelector, Service } from "./types.js";

/** A TokenRequest for a projected `serviceAccountToken` source, bound to the pod. */
export interface ServiceAccountTokenRequest {
  namespace: string;
  serviceAccountName: string;
  /** The requested audiences; absent means the API server's own audiences. */
  audiences?: string[];
  /** Requested lifetime (at least 600). The API server may shorten or extend it. */
  expirationSeconds: number;
  /** The pod the token is bound to: it stops being valid when the pod is deleted. */
  boundPod: { name: string; uid: string };
}

export interface ServiceAccountToken {
  token: string;
  expirationTimestamp: Date;
  /**
   * When the token was issued. Sources that cache tokens must set it; when absent the token counts
   * as issued at the resolution's `now`.
   */
  issuedAt?: Date;
}

/** Which ClusterTrustBundles a `clusterTrustBundle` projection selects. */
export type ClusterTrustBundleQuery =
  | { name: string }
  /** Bundles of a signer whose labels match `labelSelector` (an empty selector matches all). */
  | { signerName: string; labelSelector: LabelSelector };

/** The fields of a ClusterTrustBundle that a projection uses. */
export interface ClusterTrustBundleData {
  name: string;
  signerName?: string;
  /** Concatenated PEM certificates (`spec.trustBundle`). */
  trustBundle: string;
}

export interface ConfigSource {
  /** The ConfigMap, or `undefined` when it does not exist. */
  getConfigMap(namespace: string, name: string, signal: AbortSignal): Promise<ConfigMap | undefined>;
  /** The Secret (`data` base64-encoded, as the API returns it), or `undefined` when it does not exist. */
  getSecret(namespace: string, name: string, signal: AbortSignal): Promise<Secret | undefined>;
  /**
   * The Services of a namespace, for service-link env vars. Without it no service variables are
   * set (not even `KUBERNETES_SERVICE_HOST`), like a kubelet without an API server.
   */
  listServices?(namespace: string, signal: AbortSignal): Promise<Service[]>;
  /** Issue a bound service account token (TokenRequest). Required by `serviceAccountToken` projections. */
  requestServiceAccountToken?(
    request: ServiceAccountTokenRequest,
    signal: AbortSignal,
  ): Promise<ServiceAccountToken>;
  /**
   * The ClusterTrustBundles a query selects; `[]` when none. Required by `clusterTrustBundle`
   * projections that are not optional.
   */
  getClusterTrustBundles?(
    query: ClusterTrustBundleQuery,
    signal: AbortSignal,
  ): Promise<ClusterTrustBundleData[]>;
  /**
   * The PersistentVolumeClaim, or `undefined` when it does not exist. Required by
   * `persistentVolumeClaim` volumes (without it they fail with `UnsupportedError`).
   */
  getPersistentVolumeClaim?(
    namespace: string,
    name: string,
    signal: AbortSignal,
  ): Promise<PersistentVolumeClaim | undefined>;
  /** The (cluster-scoped) PersistentVolume, or `undefined` when it does not exist. Required with the claims. */
  getPersistentVolume?(name: string, signal: AbortSignal): Promise<PersistentVolume | undefined>;
}

export interface InMemoryConfigSourceData {
  /** Objects keyed by `namespace/name`. */
  configMaps?: Record<string, ConfigMap>;
  secrets?: Record<string, Secret>;
  /** Services; their `metadata.namespace` says where they live (default `default`). */
  services?: Service[];
  /** Issues tokens; without it the source has no `requestServiceAccountToken`. */
  issueToken?: (request: ServiceAccountTokenRequest) => ServiceAccountToken;
  /** ClusterTrustBundles; without it the source has no `getClusterTrustBundles`. */
  clusterTrustBundles?: (ClusterTrustBundleData & { labels?: Record<string, string> })[];
  /** PersistentVolumeClaims keyed by `namespace/name`. */
  persistentVolumeClaims?: Record<string, PersistentVolumeClaim>;
  /** PersistentVolumes keyed by name. */
  persistentVolumes?: Record<string, PersistentVolume>;
}

/**
 * A {@link ConfigSource} over fixed objects, for tests and examples. Label selectors support
 * `matchLabels` and the `In`/`NotIn`/`Exists`/`DoesNotExist` expressions.
 */
export function createInMemoryConfigSource(data: InMemoryConfigSourceData): ConfigSource {
  const source: ConfigSource = {
    getConfigMap: (namespace, name, signal) =>
      settle(signal, () => data.configMaps?.[`${namespace}/${name}`]),
    getSecret: (namespace, name, signal) => settle(signal, () => data.secrets?.[`${namespace}/${name}`]),
    listServices: (namespace, signal) =>
      settle(signal, () =>
        (data.services ?? []).filter((s) => (s.metadata?.namespace ?? "default") === namespace),
      ),
    // Read at call time, so a test can bind a claim between two resolutions.
    getPersistentVolumeClaim: (namespace, name, signal) =>
      settle(signal, () => data.persistentVolumeClaims?.[`${namespace}/${name}`]),
    getPersistentVolume: (name, signal) => settle(signal, () => data.persistentVolumes?.[name]),
  };
  const { issueToken, clusterTrustBundles } = data;
  if (issueToken) {
    source.requestServiceAccountToken = (request, signal) => settle(signal, () => issueToken(request));
  }
  if (clusterTrustBundles) {
    source.getClusterTrustBundles = (query, signal) =>
      settle(signal, () =>
        clusterTrustBundles
          .filter((b) =>
            "name" in query
              ? b.name === query.name
              : b.signerName === query.signerName && matchesSelector(query.labelSelector, b.labels ?? {}),
          )
          .map(({ name, signerName, trustBundle }) =>
            signerName === undefined ? { name, trustBundle } : { name, signerName, trustBundle },
          ),
      );
  }
  return source;
}

function settle<T>(signal: AbortSignal, get: () => T): Promise<T> {
  if (signal.aborted)
    return Promise.reject(signal.reason instanceof Error ? signal.reason : new Error("aborted"));
  return Promise.resolve(get());
}

/** Whether `labels` match a label selector (`matchLabels` and set-based expressions). */
export function matchesSelector(selector: LabelSelector, labels: Record<string, string>): boolean {
  for (const [key, value] of Object.entries(selector.matchLabels ?? {})) {
    if (labels[key] !== value) return false;
  }
  for (const expr of selector.matchExpressions ?? []) {
    const value = labels[expr.key];
    const values = expr.values ?? [];
    switch (expr.operator) {
      case "In":
        if (value === undefined || !values.includes(value)) return false;
        break;
      case "NotIn":
        if (value !== undefined && values.includes(value)) return false;
        break;
      case "Exists":
        if (value === undefined) return false;
        break;
      case "DoesNotExist":
        if (value !== undefined) return false;
        break;
      default:
        return false;
    }
  }
  return true;
}
