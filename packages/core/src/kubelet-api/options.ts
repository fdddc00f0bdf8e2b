/**
 * The `kubeletApi` option of `createVirtualNode`/`createVirtualNodeGroup`, and the glue that builds
 * the server for a group's nodes (kept here so `virtual-node.ts` only calls two functions).
 */
import type { Registry } from "prom-client";
import type { KubeClient } from "../kube/client.js";
import type { Pod } from "../kube/types.js";
import type { Logger } from "../logger.js";
import type { Provider } from "../provider.js";
import type { KubeletAuthOptions } from "./auth.js";
import type { ServingCertificateOptions } from "./certificates.js";
import { createKubeletApiServer, type KubeletApiServer, type KubeletApiServerOptions } from "./server.js";

/** The node feature that makes the API server proxy WebSocket exec/attach/port-forward unchanged. */
export const WEBSOCKET_NODE_FEATURE = "ExtendWebSocketsToKubelet";

export interface KubeletApiOptions {
  /** Default true when the option is given. */
  enabled?: boolean;
  /**
   * Port of the first node; in a group, a node without `kubeletPort` gets `port + its index`
   * (one listener per node). Default 10250.
   */
  port?: number;
  /** Address the listeners bind. Default `0.0.0.0`. */
  listenAddress?: string;
  /** Serving certificate: `selfSigned` (default), `files`, or `csr` (bootstrap and rotation). */
  certificate?: ServingCertificateOptions;
  /** PEM bundle verifying client certificates. Default: the kubeconfig's cluster CA. */
  clientCA?: string | Buffer;
  /** Authentication/authorization. Default: no anonymous access, TokenReview, SubjectAccessReview. */
  auth?: Omit<KubeletAuthOptions, "client">;
  /**
   * Declare `ExtendWebSocketsToKubelet` in `status.declaredFeatures` (Kubernetes ≥ 1.35), so the API
   * server proxies WebSocket exec/attach/port-forward to this server instead of translating them to
   * SPDY. Both paths are served either way. Default true.
   */
  declareWebSocketSupport?: boolean;
  streamCreationTimeoutMs?: number;
  streamingIdleTimeoutMs?: number;
  onSpdyBytes?: KubeletApiServerOptions["onSpdyBytes"];
}

export interface KubeletApiNodeSpec {
  nodeName: string;
  provider: Provider;
  internalIP: string;
  port: number;
}

/** The port a node reports: its own, or the API server's base port plus its index. */
export function kubeletPortFor(
  explicit: number | undefined,
  options: KubeletApiOptions | undefined,
  index: number,
): number {
  if (explicit !== undefined) return explicit;
  if (options === undefined || options.enabled === false) return 10250;
  return (options.port ?? 10250) + index;
}

/** Builds the server of a group (undefined when the option is absent or disabled). */
export function buildKubeletApiServer(
  options: KubeletApiOptions | undefined,
  context: {
    client: KubeClient;
    logger: Logger;
    registry: Registry;
    nodes: KubeletApiNodeSpec[];
    store: ReadonlyMap<string, Pod>;
  },
): KubeletApiServer | undefined {
  if (options === undefined || options.enabled === false) return undefined;
  const { store } = context;
  return createKubeletApiServer({
    client: context.client,
    logger: context.logger.child({ component: "kubelet-api" }),
    metricsRegistry: context.registry,
    ...(options.listenAddress === undefined ? {} : { listenAddress: options.listenAddress }),
    ...(options.certificate === undefined ? {} : { certificate: options.certificate }),
    ...(options.clientCA === undefined ? {} : { clientCA: options.clientCA }),
    ...(options.auth === undefined ? {} : { auth: options.auth }),
    ...(options.streamCreationTimeoutMs === undefined
      ? {}
      : { streamCreationTimeoutMs: options.streamCreationTimeoutMs }),
    ...(options.streamingIdleTimeoutMs === undefined
      ? {}
      : { streamingIdleTimeoutMs: options.streamingIdleTimeoutMs }),
    ...(options.onSpdyBytes === undefined ? {} : { onSpdyBytes: options.onSpdyBytes }),
    nodes: context.nodes.map((n) => ({
      ...n,
      getPod: (namespace, name) => {
        const pod = store.get(`${namespace}/${name}`);
        return pod?.spec?.nodeName === n.nodeName ? pod : undefined;
      },
      listPods: () => [...store.values()].filter((p) => p.spec?.nodeName === n.nodeName),
    })),
  });
}

/**
 * The node features the kubelet API supports, for `status.declaredFeatures`: the node controller
 * writes them with every status, so they survive a Node being deleted and re-created. An older API
 * server drops the field and keeps translating WebSocket to SPDY.
 */
export function declaredNodeFeatures(options: KubeletApiOptions | undefined): string[] {
  if (options === undefined || options.enabled === false || options.declareWebSocketSupport === false)
    return [];
  return [WEBSOCKET_NODE_FEATURE];
}
