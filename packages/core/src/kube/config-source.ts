/**
 * The parts of pod configuration that are API calls rather than cached objects: bound
 * service-account tokens (TokenRequest) and ClusterTrustBundles. ConfigMaps, Secrets and Services
 * come from `object-cache.ts`.
 */
import {
  matchesSelector,
  type ClusterTrustBundleData,
  type ClusterTrustBundleQuery,
  type ServiceAccountToken,
  type ServiceAccountTokenRequest,
} from "../config/source.js";
import { systemClock, type Clock } from "../clock.js";
import { isNotFound, type KubeClient } from "./client.js";
import { paths } from "./api.js";

interface TokenRequestResult {
  status?: { token?: string; expirationTimestamp?: string };
}

interface ClusterTrustBundleList {
  items?: {
    metadata?: { name?: string; labels?: Record<string, string> };
    spec?: { signerName?: string; trustBundle?: string };
  }[];
}

/**
 * Issues a token bound to the pod, as the kubelet does for projected `serviceAccountToken` volumes.
 * `clock` dates the issue (the refresh rule counts the lifetime from it).
 */
export function createTokenRequester(
  client: KubeClient,
  clock: Clock = systemClock,
): (request: ServiceAccountTokenRequest, signal: AbortSignal) => Promise<ServiceAccountToken> {
  return async (request, signal) => {
    const issuedAt = new Date(clock.now());
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
  };
}

/** ClusterTrustBundles selected by a projection; `[]` when the API is not enabled on the cluster. */
export function createTrustBundleReader(
  client: KubeClient,
): (query: ClusterTrustBundleQuery, signal: AbortSignal) => Promise<ClusterTrustBundleData[]> {
  return async (query, signal) => {
    let list: ClusterTrustBundleList;
    try {
      list = await client.get<ClusterTrustBundleList>(
        "/apis/certificates.k8s.io/v1beta1/clustertrustbundles",
        {
          signal,
        },
      );
    } catch (error) {
      if (isNotFound(error)) return [];
      throw error;
    }
    const out: ClusterTrustBundleData[] = [];
    for (const item of list.items ?? []) {
      const name = item.metadata?.name ?? "";
      const signerName = item.spec?.signerName;
      const selected =
        "name" in query
          ? name === query.name
          : signerName === query.signerName &&
            matchesSelector(query.labelSelector, item.metadata?.labels ?? {});
      if (selected)
        out.push({
          name,
          ...(signerName === undefined ? {} : { signerName }),
          trustBundle: item.spec?.trustBundle ?? "",
        });
    }
    return out;
  };
}
