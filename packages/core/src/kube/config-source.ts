/**
 * The pod-configuration source on the real API: ConfigMaps, Secrets and Services by GET (which the
 * Node authorizer allows for objects referenced by this node's pods — no cluster-wide watch), and
 * bound service-account tokens through TokenRequest.
 */
import type {
  ClusterTrustBundleData,
  ClusterTrustBundleQuery,
  ConfigSource,
  ServiceAccountToken,
  ServiceAccountTokenRequest,
} from "../config/source.js";
import { isNotFound, type KubeClient } from "./client.js";
import { getOrUndefined, paths } from "./api.js";
import type { ConfigMap, Secret, Service } from "./types.js";

interface TokenRequestResult {
  status?: { token?: string; expirationTimestamp?: string };
}

interface ClusterTrustBundleList {
  items?: {
    metadata?: { name?: string; labels?: Record<string, string> };
    spec?: { signerName?: string; trustBundle?: string };
  }[];
}

export function createKubeConfigSource(client: KubeClient): ConfigSource {
  return {
    getConfigMap: (namespace, name, signal) =>
      getOrUndefined<ConfigMap>(client, paths.configMap(namespace, name), signal),
    getSecret: (namespace, name, signal) =>
      getOrUndefined<Secret>(client, paths.secret(namespace, name), signal),
    async listServices(namespace, signal): Promise<Service[]> {
      const list = await client.get<{ items?: Service[] }>(paths.services(namespace), { signal });
      return list.items ?? [];
    },
    async requestServiceAccountToken(
      request: ServiceAccountTokenRequest,
      signal,
    ): Promise<ServiceAccountToken> {
      const issuedAt = new Date();
      const result = await client.create<TokenRequestResult>(
        paths.serviceAccountToken(request.namespace, request.serviceAccountName),
        {
          apiVersion: "authentication.k8s.io/v1",
          kind: "TokenRequest",
          spec: {
            ...(request.audiences === undefined ? {} : { audiences: request.audiences }),
            expirationSeconds: request.expirationSeconds,
            boundObjectRef: {
              apiVersion: "v1",
              kind: "Pod",
              name: request.boundPod.name,
              uid: request.boundPod.uid,
            },
          },
        },
        { signal },
      );
      const token = result.status?.token;
      const expires = result.status?.expirationTimestamp;
      if (token === undefined || expires === undefined) throw new Error("TokenRequest returned no token");
      return { token, expirationTimestamp: new Date(expires), issuedAt };
    },
    async getClusterTrustBundles(query: ClusterTrustBundleQuery, signal): Promise<ClusterTrustBundleData[]> {
      let list: ClusterTrustBundleList;
      try {
        list = await client.get<ClusterTrustBundleList>(
          "/apis/certificates.k8s.io/v1beta1/clustertrustbundles",
          { signal },
        );
      } catch (error) {
        if (isNotFound(error)) return []; // API not enabled on this cluster
        throw error;
      }
      const out: ClusterTrustBundleData[] = [];
      for (const item of list.items ?? []) {
        const name = item.metadata?.name ?? "";
        const signerName = item.spec?.signerName;
        if (
          "name" in query
            ? name !== query.name
            : signerName !== query.signerName || !matches(query.labelSelector, item.metadata?.labels ?? {})
        ) {
          continue;
        }
        out.push({
          name,
          ...(signerName === undefined ? {} : { signerName }),
          trustBundle: item.spec?.trustBundle ?? "",
        });
      }
      return out;
    },
  };
}

function matches(
  selector: {
    matchLabels?: Record<string, string>;
    matchExpressions?: { key: string; operator: string; values?: string[] }[];
  },
  labels: Record<string, string>,
): boolean {
  for (const [k, v] of Object.entries(selector.matchLabels ?? {})) if (labels[k] !== v) return false;
  for (const e of selector.matchExpressions ?? []) {
    const value = labels[e.key];
    const values = e.values ?? [];
    if (e.operator === "In" && (value === undefined || !values.includes(value))) return false;
    if (e.operator === "NotIn" && value !== undefined && values.includes(value)) return false;
    if (e.operator === "Exists" && value === undefined) return false;
    if (e.operator === "DoesNotExist" && value !== undefined) return false;
  }
  return true;
}
