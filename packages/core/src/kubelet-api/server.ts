/**
 * The kubelet API server: HTTPS (TLS 1.2+) endpoints the API server and metrics-server call on a
 * node — container logs, exec/attach and port-forward (SPDY/3.1 and WebSocket), pods, health,
 * stats and metrics — answered through the provider's hooks.
 *
 * One server serves any number of nodes. Each node is reached at its InternalIP and kubelet port,
 * so each (address, port) gets a listener with that node's serving certificate. Requests are
 * routed by the listener they arrive on; when several nodes share one listener (same address and
 * port), pod endpoints are routed by the pod's namespace/name to the node running it, and node
 * endpoints (`/stats`, `/metrics/resource`) answer 400 because they cannot tell the nodes apart.
 * See docs/kubelet-api.md for the assignment rules.
 */
import * as https from "node:https";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { Duplex } from "node:stream";
import type { SecureContextOptions } from "node:tls";
import type { Registry } from "prom-client";
import { WebSocketServer, createWebSocketStream, type WebSocket } from "ws";
import { describeError } from "../errors.js";
import type { KubeClient } from "../kube/client.js";
import type { Pod } from "../kube/types.js";
import type { Logger } from "../logger.js";
import { noopLogger } from "../logger.js";
import type { PodRef, Provider } from "../provider.js";
import { KubeletAuth, requestAttributes, type KubeletAuthOptions, type UserInfo } from "./auth.js";
import {
  CertificateManager,
  type ServingCertificate,
  type ServingCertificateOptions,
} from "./certificates.js";
import {
  HttpError,
  messageOf,
  rejectUpgrade,
  sendJson,
  sendText,
  statusOfProviderError,
} from "./http-util.js";
import { parseLogOptions, streamLog } from "./logs.js";
import {
  PORT_FORWARD_PROTOCOL,
  PORT_FORWARD_TUNNEL_PROTOCOL,
  WEBSOCKET_PORT_FORWARD_PROTOCOLS,
  parsePorts,
  serveSpdyPortForward,
  serveWebSocketPortForward,
  type PortForwarder,
} from "./portforward.js";
import {
  SPDY_REMOTECOMMAND_PROTOCOLS,
  WEBSOCKET_REMOTECOMMAND_PROTOCOLS,
  serveSpdyRemoteCommand,
  serveWebSocketRemoteCommand,
  type RemoteCommandOptions,
  type RemoteCommandRunner,
} from "./remotecommand.js";
import { completeSummary, cpuAndMemoryOnly, renderResourceMetrics } from "./stats.js";
import { renderCadvisorMetrics } from "./cadvisor.js";
import { TEXT_FORMAT_CONTENT_TYPE } from "./exposition.js";
import { probeResultCounterFor } from "./probes-metrics.js";
import type { StatsSummary } from "./stats-types.js";
import { negotiateProtocol, protocolList } from "./websocket-channel.js";

/** One node the server answers for. */
export interface KubeletApiNode {
  nodeName: string;
  provider: Provider;
  /** The node's InternalIP: an IP SAN of its serving certificate. */
  internalIP: string;
  /** The node's kubelet port (`daemonEndpoints.kubeletEndpoint.port`). */
  port: number;
  /** A pod bound to this node, from the API (the informer's store). */
  getPod(namespace: string, name: string): Pod | undefined;
  /** Every pod bound to this node. */
  listPods(): Pod[];
}

export interface KubeletApiServerOptions {
  nodes: KubeletApiNode[];
  /**
   * API client of the agent: TokenReview, SubjectAccessReview and CertificateSigningRequests, and
   * the default client CA (the kubeconfig's cluster CA).
   */
  client?: KubeClient;
  /** Address every listener binds. Default `0.0.0.0`; nodes sharing a port bind their own InternalIP. */
  listenAddress?: string;
  /** Serving certificate source. Default `{ source: "selfSigned" }`. */
  certificate?: ServingCertificateOptions;
  /** PEM bundle that verifies client certificates. Default: the kubeconfig's cluster CA. */
  clientCA?: string | Buffer;
  /** Authentication and authorization (default deny: no anonymous access, SubjectAccessReview). */
  auth?: Omit<KubeletAuthOptions, "client">;
  /** Registry served at `/metrics` (the agent's prom-client metrics). */
  metricsRegistry?: Registry;
  logger?: Logger;
  /** Stream creation timeout of exec/attach/port-forward. Default 30 s. */
  streamCreationTimeoutMs?: number;
  /** Idle timeout of streaming connections. Default 4 h. */
  streamingIdleTimeoutMs?: number;
  /** Called with the raw SPDY bytes of every streaming session (protocol captures, debugging). */
  onSpdyBytes?: (session: { kind: string; id: number }, direction: "in" | "out", bytes: Buffer) => void;
}

/** Streaming sessions served so far, by transport. */
export interface KubeletApiSessionCounts {
  /** exec/attach over SPDY/3.1 (the API server's translation of kubectl's WebSocket, or SPDY clients). */
  spdyRemoteCommand: number;
  /** exec/attach over WebSocket (v5 proxied unchanged by the API server, or direct clients). */
  webSocketRemoteCommand: number;
  /** port-forward over SPDY/3.1. */
  spdyPortForward: number;
  /** port-forward as SPDY tunnelled in WebSocket (`SPDY/3.1+portforward.k8s.io`). */
  tunneledPortForward: number;
  /** port-forward over the channel-based WebSocket protocol. */
  webSocketPortForward: number;
}

export interface KubeletApiEndpoint {
  nodeNames: string[];
  address: string;
  port: number;
}

interface Listener {
  key: string;
  address: string;
  port: number;
  nodes: KubeletApiNode[];
  server: https.Server;
  certificates: CertificateManager;
}

/** `https.Server` options shared by all listeners. */
function tlsOptions(cert: ServingCertificate, clientCA: string | Buffer | undefined): SecureContextOptions {
  return {
    cert: cert.certPem,
    key: cert.keyPem,
    ...(clientCA === undefined ? {} : { ca: clientCA }),
    minVersion: "TLSv1.2",
  };
}

function parsePath(url: string): { path: string; query: URLSearchParams } {
  const parsed = new URL(url, "https://kubelet.invalid");
  return { path: parsed.pathname, query: parsed.searchParams };
}

function kubeconfigCA(client: KubeClient | undefined): string | Buffer | undefined {
  const cluster = client?.kubeConfig.getCurrentCluster();
  if (cluster?.caData !== undefined && cluster.caData !== "") return Buffer.from(cluster.caData, "base64");
  return undefined;
}

async function kubeconfigCAFile(client: KubeClient | undefined): Promise<string | undefined> {
  const file = client?.kubeConfig.getCurrentCluster()?.caFile;
  if (file === undefined || file === "") return undefined;
  const { readFile } = await import("node:fs/promises");
  return readFile(file, "utf8");
}

interface PodRoute {
  kind: "containerLogs" | "exec" | "attach" | "portForward";
  namespace: string;
  pod: string;
  uid?: string;
  container?: string;
}

function podRoute(path: string): PodRoute | undefined {
  const parts = path.split("/").filter((p) => p.length > 0);
  const [head, namespace, pod, a, b, ...rest] = parts;
  if (namespace === undefined || pod === undefined || rest.length > 0) return undefined;
  const decode = (s: string): string => decodeURIComponent(s);
  switch (head) {
    case "containerLogs":
      if (a === undefined || b !== undefined) return undefined;
      return { kind: head, namespace: decode(namespace), pod: decode(pod), container: decode(a) };
    case "exec":
    case "attach":
      if (a === undefined) return undefined;
      return b === undefined
        ? { kind: head, namespace: decode(namespace), pod: decode(pod), container: decode(a) }
        : {
            kind: head,
            namespace: decode(namespace),
            pod: decode(pod),
            uid: decode(a),
            container: decode(b),
          };
    case "portForward":
      if (b !== undefined) return undefined;
      return a === undefined
        ? { kind: head, namespace: decode(namespace), pod: decode(pod) }
        : { kind: head, namespace: decode(namespace), pod: decode(pod), uid: decode(a) };
    default:
      return undefined;
  }
}

function containerNames(pod: Pod): string[] {
  const spec = pod.spec;
  return [
    ...(spec?.containers ?? []).map((c) => c.name),
    ...(spec?.initContainers ?? []).map((c) => c.name),
    ...(spec?.ephemeralContainers ?? []).map((c) => c.name),
  ];
}

function refOf(pod: Pod): PodRef {
  return {
    namespace: pod.metadata?.namespace ?? "default",
    name: pod.metadata?.name ?? "",
    uid: pod.metadata?.uid ?? "",
  };
}

function notImplemented(node: KubeletApiNode, hook: string, what: string): HttpError {
  return new HttpError(
    501,
    `${what} is not supported by this node: provider "${node.provider.name}" does not implement ${hook}`,
  );
}

let sessionCounter = 0;

/** The kubelet API of one or more virtual nodes. */
export class KubeletApiServer {
  readonly #options: KubeletApiServerOptions;
  readonly #logger: Logger;
  readonly #auth: KubeletAuth;
  readonly #listeners: Listener[] = [];
  /**
   * The subprotocol chosen for each WebSocket upgrade request. We negotiate it ourselves and hide
   * the request header from ws, whose RFC token check rejects `SPDY/3.1+portforward.k8s.io` (a
   * '/' is not a token character), then add the answer header in ws's `headers` hook.
   */
  readonly #chosenProtocol = new WeakMap<IncomingMessage, string>();
  readonly #wss = new WebSocketServer({
    noServer: true,
    perMessageDeflate: false,
    maxPayload: 16 * 1024 * 1024,
  });
  readonly #sockets = new Set<Duplex>();
  readonly #startTime = new Date();
  readonly #sessions: KubeletApiSessionCounts = {
    spdyRemoteCommand: 0,
    webSocketRemoteCommand: 0,
    spdyPortForward: 0,
    tunneledPortForward: 0,
    webSocketPortForward: 0,
  };
  #clientCA: string | Buffer | undefined;
  #started = false;

  constructor(options: KubeletApiServerOptions) {
    this.#options = options;
    this.#wss.on("headers", (headers, request) => {
      const protocol = this.#chosenProtocol.get(request);
      if (protocol !== undefined && protocol !== "") headers.push(`Sec-WebSocket-Protocol: ${protocol}`);
    });
    this.#logger = options.logger ?? noopLogger;
    this.#auth = new KubeletAuth({
      ...options.auth,
      ...(options.client === undefined ? {} : { client: options.client }),
    });
    const seen = new Set<string>();
    for (const n of options.nodes) {
      if (seen.has(n.nodeName)) throw new Error(`kubelet API: node ${n.nodeName} listed twice`);
      seen.add(n.nodeName);
    }
  }

  /** The listeners: which nodes answer where. */
  get endpoints(): KubeletApiEndpoint[] {
    return this.#listeners.map((l) => {
      const address = l.server.address() as AddressInfo | null;
      return { nodeNames: l.nodes.map((n) => n.nodeName), address: l.address, port: address?.port ?? l.port };
    });
  }

  /** Streaming sessions served so far, by transport. */
  get sessionCounts(): KubeletApiSessionCounts {
    return { ...this.#sessions };
  }

  /** The serving certificate a node presents now. */
  certificate(nodeName: string): ServingCertificate {
    const listener = this.#listeners.find((l) => l.nodes.some((n) => n.nodeName === nodeName));
    if (listener === undefined) throw new Error(`kubelet API: unknown node ${nodeName}`);
    return listener.certificates.current;
  }

  /** Replaces a node's serving certificate now (CSR, regenerate or re-read), without dropping connections. */
  async rotateCertificate(nodeName: string): Promise<ServingCertificate> {
    const listener = this.#listeners.find((l) => l.nodes.some((n) => n.nodeName === nodeName));
    if (listener === undefined) throw new Error(`kubelet API: unknown node ${nodeName}`);
    await listener.certificates.rotate();
    return listener.certificates.current;
  }

  /** Forgets cached authentication and authorization decisions. */
  clearAuthCaches(): void {
    this.#auth.clearCaches();
  }

  /** Binds every listener and obtains the serving certificates. */
  async start(): Promise<void> {
    if (this.#started) return;
    this.#started = true;
    this.#clientCA =
      this.#options.clientCA ??
      kubeconfigCA(this.#options.client) ??
      (await kubeconfigCAFile(this.#options.client));
    if (this.#clientCA === undefined)
      this.#logger.warn(
        {},
        "kubelet API: no client CA; client certificates (the API server's) will not be accepted",
      );
    const byPort = new Map<number, KubeletApiNode[]>();
    for (const n of this.#options.nodes) byPort.set(n.port, [...(byPort.get(n.port) ?? []), n]);
    const groups = new Map<string, { address: string; port: number; nodes: KubeletApiNode[] }>();
    for (const [port, nodes] of byPort) {
      const distinctIPs = new Set(nodes.map((n) => n.internalIP));
      for (const n of nodes) {
        // Alone on its port: bind the listen address. Sharing it: bind each InternalIP.
        const address =
          nodes.length === 1 || distinctIPs.size === 1
            ? (this.#options.listenAddress ?? "0.0.0.0")
            : n.internalIP;
        const key = `${address}:${port}`;
        const group = groups.get(key) ?? { address, port, nodes: [] };
        group.nodes.push(n);
        groups.set(key, group);
      }
    }
    try {
      for (const [key, group] of groups) {
        const first = group.nodes[0] as KubeletApiNode;
        const certificates = new CertificateManager({
          nodeName: first.nodeName,
          ips: [...new Set(group.nodes.map((n) => n.internalIP))],
          source: this.#options.certificate ?? { source: "selfSigned" },
          ...(this.#options.client === undefined ? {} : { client: this.#options.client }),
          logger: this.#logger,
        });
        await certificates.start();
        const server = https.createServer({
          ...tlsOptions(certificates.current, this.#clientCA),
          requestCert: true,
          rejectUnauthorized: false,
        });
        const listener: Listener = {
          key,
          address: group.address,
          port: group.port,
          nodes: group.nodes,
          server,
          certificates,
        };
        certificates.on("rotated", (cert) => {
          server.setSecureContext(tlsOptions(cert, this.#clientCA));
          this.#logger.info(
            {
              nodes: group.nodes.map((n) => n.nodeName),
              serial: cert.serialNumber,
              notAfter: cert.notAfter.toISOString(),
            },
            "kubelet API serving certificate rotated",
          );
        });
        server.on("request", (req: IncomingMessage, res: ServerResponse) => {
          void this.#onRequest(listener, req, res);
        });
        server.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Buffer) => {
          void this.#onUpgrade(listener, req, socket, head);
        });
        server.on("connection", (socket: Duplex) => {
          this.#sockets.add(socket);
          socket.once("close", () => this.#sockets.delete(socket));
        });
        server.on("tlsClientError", () => undefined);
        this.#listeners.push(listener);
        await new Promise<void>((resolve, reject) => {
          server.once("error", reject);
          server.listen(group.port, group.address, () => {
            server.off("error", reject);
            resolve();
          });
        });
        this.#logger.info(
          {
            nodes: group.nodes.map((n) => n.nodeName),
            address: group.address,
            port: (server.address() as AddressInfo).port,
          },
          "kubelet API listening",
        );
      }
    } catch (error) {
      await this.stop();
      throw error;
    }
  }

  /** Closes every listener and connection. */
  async stop(): Promise<void> {
    for (const l of this.#listeners) l.certificates.stop();
    const closing = this.#listeners.map(
      (l) =>
        new Promise<void>((resolve) => {
          l.server.close(() => {
            resolve();
          });
        }),
    );
    for (const socket of this.#sockets) socket.destroy();
    for (const ws of this.#wss.clients) ws.terminate();
    await Promise.all(closing);
    this.#listeners.length = 0;
    this.#wss.close();
  }

  // ---- routing ---------------------------------------------------------------------------------

  /** The node a request is for: the listener's only node, or the one running the pod. */
  #nodeFor(listener: Listener, route: PodRoute | undefined): KubeletApiNode | undefined {
    if (listener.nodes.length === 1) return listener.nodes[0];
    if (route === undefined) return undefined;
    return (
      listener.nodes.find((n) => n.getPod(route.namespace, route.pod) !== undefined) ?? listener.nodes[0]
    );
  }

  async #authenticateAndAuthorize(
    req: IncomingMessage,
    path: string,
    node: KubeletApiNode | undefined,
    listener: Listener,
  ): Promise<{ ok: true; user: UserInfo } | { ok: false; status: number; message: string }> {
    const authn = await this.#auth.authenticate(req);
    if (!authn.ok) return authn;
    // With several nodes on one listener and no pod to pick one, every node must allow the request.
    for (const n of node === undefined ? listener.nodes : [node]) {
      const authz = await this.#auth.authorize(
        authn.user,
        requestAttributes(req.method ?? "GET", path, n.nodeName),
      );
      if (!authz.ok) return authz;
    }
    return { ok: true, user: authn.user };
  }

  async #onRequest(listener: Listener, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const { path, query } = parsePath(req.url ?? "/");
    const route = podRoute(path);
    const node = this.#nodeFor(listener, route);
    try {
      const auth = await this.#authenticateAndAuthorize(req, path, node, listener);
      if (!auth.ok) {
        sendText(res, auth.status, auth.message);
        return;
      }
      await this.#handle(listener, node, route, path, query, req, res);
    } catch (error) {
      const status = statusOfProviderError(error);
      if (status >= 500 && !(error instanceof HttpError))
        this.#logger.warn({ path, error: describeError(error) }, "kubelet API request failed");
      if (!res.headersSent) sendText(res, status, messageOf(error));
      else res.destroy();
    }
  }

  async #handle(
    listener: Listener,
    node: KubeletApiNode | undefined,
    route: PodRoute | undefined,
    path: string,
    query: URLSearchParams,
    req: IncomingMessage,
    res: ServerResponse,
  ): Promise<void> {
    const method = req.method ?? "GET";
    if (route !== undefined && route.kind !== "containerLogs") {
      if (method !== "GET" && method !== "POST") throw new HttpError(405, "method not allowed");
      throw new HttpError(400, "Upgrade request required");
    }
    if (method !== "GET" && method !== "HEAD")
      throw new HttpError(405, `${method} is not allowed on ${path}`);
    if (route !== undefined) {
      await this.#containerLogs(node, route, query, req, res);
      return;
    }
    switch (path) {
      case "/healthz":
      case "/healthz/ping":
      case "/healthz/syncloop":
        sendText(res, 200, "ok");
        return;
      case "/pods":
      case "/pods/": {
        const items = listener.nodes.flatMap((n) => n.listPods());
        sendJson(res, 200, { kind: "PodList", apiVersion: "v1", metadata: {}, items });
        return;
      }
      case "/runningpods":
      case "/runningpods/": {
        const single = this.#singleNode(listener, path);
        sendJson(res, 200, {
          kind: "PodList",
          apiVersion: "v1",
          metadata: {},
          items: await this.#runningPods(single),
        });
        return;
      }
      case "/stats/summary":
      case "/stats/summary/": {
        const summary = await this.#summary(this.#singleNode(listener, path));
        const only = query.get("only_cpu_and_memory");
        sendJson(res, 200, only === "true" || only === "1" ? cpuAndMemoryOnly(summary) : summary);
        return;
      }
      case "/metrics/resource": {
        const single = this.#singleNode(listener, path);
        if (single.provider.getStatsSummary === undefined)
          throw notImplemented(single, "getStatsSummary", "resource metrics");
        let summary: StatsSummary | undefined;
        try {
          summary = await this.#summary(single);
        } catch (error) {
          this.#logger.warn(
            { node: single.nodeName, error: describeError(error) },
            "resource metrics: stats failed",
          );
        }
        sendText(res, 200, renderResourceMetrics(summary), {
          "content-type": "text/plain; version=0.0.4; charset=utf-8",
        });
        return;
      }
      case "/metrics/cadvisor": {
        // Served without a stats hook too (no samples): scrape configs expect a 200 from every kubelet.
        const single = this.#singleNode(listener, path);
        let summary: StatsSummary | undefined = {
          node: { nodeName: single.nodeName, startTime: "" },
          pods: [],
        };
        if (single.provider.getStatsSummary !== undefined) {
          try {
            summary = await this.#summary(single);
          } catch (error) {
            summary = undefined;
            this.#logger.warn(
              { node: single.nodeName, error: describeError(error) },
              "cadvisor metrics: stats failed",
            );
          }
        }
        const body = renderCadvisorMetrics({ summary, pods: single.listPods(), now: Date.now() });
        sendText(res, 200, body, { "content-type": TEXT_FORMAT_CONTENT_TYPE });
        return;
      }
      case "/metrics/probes": {
        const single = this.#singleNode(listener, path);
        const counter = probeResultCounterFor(single);
        counter.observe(single.listPods());
        sendText(res, 200, counter.render(), { "content-type": TEXT_FORMAT_CONTENT_TYPE });
        return;
      }
      case "/metrics": {
        const registry = this.#options.metricsRegistry;
        if (registry === undefined) throw new HttpError(404, "no metrics registry configured");
        sendText(res, 200, await registry.metrics(), { "content-type": registry.contentType });
        return;
      }
      default:
        throw new HttpError(404, `404 page not found: ${path}`);
    }
  }

  #singleNode(listener: Listener, path: string): KubeletApiNode {
    if (listener.nodes.length === 1) return listener.nodes[0] as KubeletApiNode;
    throw new HttpError(
      400,
      `${path} is ambiguous here: nodes ${listener.nodes.map((n) => n.nodeName).join(", ")} share ${listener.key}; give each node its own kubelet port or InternalIP`,
    );
  }

  async #summary(node: KubeletApiNode): Promise<StatsSummary> {
    const hook = node.provider.getStatsSummary?.bind(node.provider);
    if (hook === undefined) throw notImplemented(node, "getStatsSummary", "stats");
    const signal = AbortSignal.timeout(30_000);
    const reported = await hook(node.nodeName, node.listPods().map(refOf), { signal });
    return completeSummary(node.nodeName, this.#startTime, reported);
  }

  async #runningPods(node: KubeletApiNode): Promise<Pod[]> {
    const pods = await node.provider.listPods(node.nodeName, { signal: AbortSignal.timeout(30_000) });
    return pods.map((p) => ({
      metadata: { name: p.name, namespace: p.namespace, uid: p.uid },
      spec: {
        containers: (p.status?.containers ?? []).map((c) => ({
          name: c.name,
          ...(c.image === undefined ? {} : { image: c.image }),
        })),
      },
    }));
  }

  /** The API pod of a route, or a 404 like the kubelet's. */
  #pod(node: KubeletApiNode | undefined, route: PodRoute): Pod {
    const pod = node?.getPod(route.namespace, route.pod);
    if (pod === undefined) throw new HttpError(404, `pod "${route.pod}" does not exist`);
    if (route.uid !== undefined && route.uid !== "" && pod.metadata?.uid !== route.uid)
      throw new HttpError(404, `pod "${route.pod}" with UID ${route.uid} not found`);
    if (route.container !== undefined && !containerNames(pod).includes(route.container))
      throw new HttpError(404, `container "${route.container}" not found in pod "${route.pod}"`);
    return pod;
  }

  async #containerLogs(
    node: KubeletApiNode | undefined,
    route: PodRoute,
    query: URLSearchParams,
    req: IncomingMessage,
    res: ServerResponse,
  ): Promise<void> {
    const options = parseLogOptions(query);
    const pod = this.#pod(node, route);
    const n = node as KubeletApiNode;
    const hook = n.provider.getContainerLogs?.bind(n.provider);
    if (hook === undefined) throw notImplemented(n, "getContainerLogs", "container logs");
    const call = new AbortController();
    const source = await hook(refOf(pod), route.container ?? "", options, { signal: call.signal });
    try {
      await streamLog(req, res, source, options.limitBytes, () => {
        call.abort();
      });
    } finally {
      call.abort();
    }
  }

  // ---- upgrades (exec, attach, port-forward) ---------------------------------------------------

  async #onUpgrade(listener: Listener, req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    socket.on("error", () => undefined);
    const { path, query } = parsePath(req.url ?? "/");
    const route = podRoute(path);
    const node = this.#nodeFor(listener, route);
    try {
      const auth = await this.#authenticateAndAuthorize(req, path, node, listener);
      if (!auth.ok) {
        rejectUpgrade(socket, auth.status, auth.message);
        return;
      }
      if (route === undefined || route.kind === "containerLogs")
        throw new HttpError(
          route === undefined ? 404 : 400,
          route === undefined ? `404 page not found: ${path}` : "unexpected upgrade",
        );
      const method = req.method ?? "GET";
      if (method !== "GET" && method !== "POST") throw new HttpError(405, "method not allowed");
      const pod = this.#pod(node, route);
      const n = node as KubeletApiNode;
      const upgrade = (req.headers.upgrade ?? "").toLowerCase();
      const websocket = upgrade === "websocket";
      if (!websocket && !upgrade.includes("spdy/3.1"))
        throw new HttpError(
          400,
          `unable to upgrade: unsupported protocol ${JSON.stringify(req.headers.upgrade ?? "")}`,
        );
      if (route.kind === "portForward") await this.#portForward(n, pod, req, socket, head, query, websocket);
      else await this.#remoteCommand(n, pod, route, req, socket, head, query, websocket);
    } catch (error) {
      const status = statusOfProviderError(error);
      if (status >= 500 && !(error instanceof HttpError))
        this.#logger.warn({ path, error: describeError(error) }, "kubelet API streaming request failed");
      rejectUpgrade(socket, status, messageOf(error));
    }
  }

  #spdyBytes(kind: string): SessionBytes {
    const hook = this.#options.onSpdyBytes;
    if (hook === undefined) return {};
    const session = { kind, id: ++sessionCounter };
    return {
      onRawBytes: (direction, bytes) => {
        hook(session, direction, bytes);
      },
    };
  }

  /** Writes the 101 answer of a SPDY upgrade, or a 400/403 when the protocols do not match. */
  #spdyHandshake(req: IncomingMessage, socket: Duplex, supported: readonly string[]): string | undefined {
    const raw = req.headers["x-stream-protocol-version"];
    if (raw === undefined) {
      rejectUpgrade(
        socket,
        400,
        "unable to upgrade: header X-Stream-Protocol-Version does not exist in request",
      );
      return undefined;
    }
    const client = protocolList(raw);
    const protocol = negotiateProtocol(client, supported);
    if (protocol === undefined) {
      rejectUpgrade(
        socket,
        403,
        `unable to upgrade: unable to negotiate protocol: client supports [${client.join(" ")}], server accepts [${supported.join(" ")}]`,
        { "X-Accepted-Stream-Protocol-Versions": [...supported] },
      );
      return undefined;
    }
    socket.write(
      [
        "HTTP/1.1 101 Switching Protocols",
        "Connection: Upgrade",
        "Upgrade: SPDY/3.1",
        `X-Stream-Protocol-Version: ${protocol}`,
        "",
        "",
      ].join("\r\n"),
    );
    return protocol;
  }

  #acceptWebSocket(
    req: IncomingMessage,
    socket: Duplex,
    head: Buffer,
    supported: readonly string[],
    allowNone: boolean,
  ): Promise<{ ws: WebSocket; protocol: string } | undefined> {
    const offered = protocolList(req.headers["sec-websocket-protocol"]);
    const protocol =
      offered.length === 0 ? (allowNone ? "" : undefined) : negotiateProtocol(offered, supported);
    if (protocol === undefined) {
      rejectUpgrade(
        socket,
        400,
        `requested protocol(s) are not supported: [${offered.join(" ")}]; supports [${supported.join(" ")}]`,
      );
      return Promise.resolve(undefined);
    }
    this.#chosenProtocol.set(req, protocol);
    delete req.headers["sec-websocket-protocol"];
    return new Promise((resolve) => {
      this.#wss.handleUpgrade(req, socket, head, (ws) => {
        resolve({ ws, protocol });
      });
    });
  }

  async #remoteCommand(
    node: KubeletApiNode,
    pod: Pod,
    route: PodRoute,
    req: IncomingMessage,
    socket: Duplex,
    head: Buffer,
    query: URLSearchParams,
    websocket: boolean,
  ): Promise<void> {
    const flag = (name: string): boolean => query.get(name) === "1";
    const options: RemoteCommandOptions = {
      stdin: flag("input"),
      stdout: flag("output"),
      stderr: flag("error"),
      tty: flag("tty"),
    };
    if (options.tty) options.stderr = false;
    if (!options.stdin && !options.stdout && !options.stderr)
      throw new HttpError(400, "you must specify at least 1 of stdin, stdout, stderr");
    const ref = refOf(pod);
    const container = route.container ?? "";
    let run: RemoteCommandRunner;
    if (route.kind === "exec") {
      const command = query.getAll("command");
      if (command.length === 0) throw new HttpError(400, "command is required");
      const hook = node.provider.exec?.bind(node.provider);
      if (hook === undefined) throw notImplemented(node, "exec", "exec");
      run = (streams, signal) => hook(ref, container, command, streams, { signal });
    } else {
      const hook = node.provider.attach?.bind(node.provider);
      if (hook === undefined) throw notImplemented(node, "attach", "attach");
      run = (streams, signal) => hook(ref, container, streams, { signal });
    }
    const session = {
      run,
      options,
      logger: this.#logger.child({
        node: node.nodeName,
        pod: `${ref.namespace}/${ref.name}`,
        session: route.kind,
      }),
      streamCreationTimeoutMs: this.#options.streamCreationTimeoutMs ?? 30_000,
      idleTimeoutMs: this.#options.streamingIdleTimeoutMs ?? 4 * 60 * 60 * 1000,
    };
    if (websocket) {
      const accepted = await this.#acceptWebSocket(
        req,
        socket,
        head,
        WEBSOCKET_REMOTECOMMAND_PROTOCOLS,
        true,
      );
      if (accepted === undefined) return;
      this.#sessions.webSocketRemoteCommand++;
      await serveWebSocketRemoteCommand(accepted.ws, { ...session, protocol: accepted.protocol });
      return;
    }
    const protocol = this.#spdyHandshake(req, socket, SPDY_REMOTECOMMAND_PROTOCOLS);
    if (protocol === undefined) return;
    if (head.length > 0) socket.unshift(head);
    this.#sessions.spdyRemoteCommand++;
    await serveSpdyRemoteCommand(socket, { ...session, protocol, ...this.#spdyBytes(route.kind) });
  }

  async #portForward(
    node: KubeletApiNode,
    pod: Pod,
    req: IncomingMessage,
    socket: Duplex,
    head: Buffer,
    query: URLSearchParams,
    websocket: boolean,
  ): Promise<void> {
    const hook = node.provider.portForward?.bind(node.provider);
    if (hook === undefined) throw notImplemented(node, "portForward", "port-forward");
    const ref = refOf(pod);
    const forward: PortForwarder = (port, stream, signal) => hook(ref, port, stream, { signal });
    const session = {
      forward,
      logger: this.#logger.child({
        node: node.nodeName,
        pod: `${ref.namespace}/${ref.name}`,
        session: "portForward",
      }),
      streamCreationTimeoutMs: this.#options.streamCreationTimeoutMs ?? 30_000,
      idleTimeoutMs: this.#options.streamingIdleTimeoutMs ?? 4 * 60 * 60 * 1000,
    };
    if (websocket) {
      const offered = protocolList(req.headers["sec-websocket-protocol"]);
      if (offered.includes(PORT_FORWARD_TUNNEL_PROTOCOL)) {
        // SPDY tunnelled through WebSocket binary messages (kubectl ≥ 1.31 through a proxying API server).
        const accepted = await this.#acceptWebSocket(
          req,
          socket,
          head,
          [PORT_FORWARD_TUNNEL_PROTOCOL],
          false,
        );
        if (accepted === undefined) return;
        const transport = createWebSocketStream(accepted.ws, { allowHalfOpen: false });
        transport.on("error", () => undefined);
        this.#sessions.tunneledPortForward++;
        await serveSpdyPortForward(transport, { ...session, ...this.#spdyBytes("portForward-tunnel") });
        return;
      }
      let ports: number[];
      try {
        ports = parsePorts(query.getAll("ports"));
      } catch (error) {
        throw new HttpError(400, messageOf(error));
      }
      const accepted = await this.#acceptWebSocket(req, socket, head, WEBSOCKET_PORT_FORWARD_PROTOCOLS, true);
      if (accepted === undefined) return;
      this.#sessions.webSocketPortForward++;
      await serveWebSocketPortForward(accepted.ws, accepted.protocol, ports, session);
      return;
    }
    const protocol = this.#spdyHandshake(req, socket, [PORT_FORWARD_PROTOCOL]);
    if (protocol === undefined) return;
    if (head.length > 0) socket.unshift(head);
    this.#sessions.spdyPortForward++;
    await serveSpdyPortForward(socket, { ...session, ...this.#spdyBytes("portForward") });
  }
}

interface SessionBytes {
  onRawBytes?: (direction: "in" | "out", bytes: Buffer) => void;
}

/** Creates (does not start) a kubelet API server. */
export function createKubeletApiServer(options: KubeletApiServerOptions): KubeletApiServer {
  return new KubeletApiServer(options);
}
