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
 *
 * This module wires the parts: listeners.ts (listeners, TLS, serving certificates and their
 * rotation), routes.ts (the pod routes and the table of plain endpoints), upgrades.ts (exec, attach
 * and port-forward over SPDY and WebSocket); authentication and authorization (auth.ts) run here,
 * before either.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Duplex } from "node:stream";
import type { Registry } from "prom-client";
import { describeError } from "../errors.js";
import type { KubeClient } from "../kube/client.js";
import type { Logger } from "../logger.js";
import { noopLogger } from "../logger.js";
import { KubeletAuth, requestAttributes, type KubeletAuthOptions, type UserInfo } from "./auth.js";
import type { ServingCertificate, ServingCertificateOptions } from "./certificates.js";
import { HttpError, messageOf, rejectUpgrade, sendText, statusOfProviderError } from "./http-util.js";
import {
  boundPort,
  closeListener,
  createListener,
  groupListeners,
  listen,
  resolveClientCA,
  type KubeletApiNode,
  type Listener,
  type ListenerHandlers,
} from "./listeners.js";
import { handleRequest, nodeFor, parsePath, podRoute, type RouteContext } from "./routes.js";
import { UpgradeDispatcher, type KubeletApiSessionCounts } from "./upgrades.js";

export type { KubeletApiNode } from "./listeners.js";
export type { KubeletApiSessionCounts } from "./upgrades.js";

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

export interface KubeletApiEndpoint {
  nodeNames: string[];
  address: string;
  port: number;
}

/** The kubelet API of one or more virtual nodes. */
export class KubeletApiServer {
  readonly #options: KubeletApiServerOptions;
  readonly #logger: Logger;
  readonly #auth: KubeletAuth;
  readonly #listeners: Listener[] = [];
  readonly #upgrades: UpgradeDispatcher;
  readonly #sockets = new Set<Duplex>();
  readonly #routes: RouteContext;
  #started = false;

  constructor(options: KubeletApiServerOptions) {
    this.#options = options;
    this.#logger = options.logger ?? noopLogger;
    this.#upgrades = new UpgradeDispatcher({
      logger: this.#logger,
      streamCreationTimeoutMs: options.streamCreationTimeoutMs,
      streamingIdleTimeoutMs: options.streamingIdleTimeoutMs,
      onSpdyBytes: options.onSpdyBytes,
    });
    this.#routes = { logger: this.#logger, metricsRegistry: options.metricsRegistry, startTime: new Date() };
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
    return this.#listeners.map((l) => ({
      nodeNames: l.nodes.map((n) => n.nodeName),
      address: l.address,
      port: boundPort(l),
    }));
  }

  /** Streaming sessions served so far, by transport. */
  get sessionCounts(): KubeletApiSessionCounts {
    return this.#upgrades.sessionCounts;
  }

  /** The serving certificate a node presents now. */
  certificate(nodeName: string): ServingCertificate {
    return this.#listenerOf(nodeName).certificates.current;
  }

  /** Replaces a node's serving certificate now (CSR, regenerate or re-read), without dropping connections. */
  async rotateCertificate(nodeName: string): Promise<ServingCertificate> {
    const listener = this.#listenerOf(nodeName);
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
    const clientCA = await resolveClientCA(this.#options.clientCA, this.#options.client);
    if (clientCA === undefined)
      this.#logger.warn(
        {},
        "kubelet API: no client CA; client certificates (the API server's) will not be accepted",
      );
    const handlers: ListenerHandlers = {
      onRequest: (listener, req, res) => void this.#onRequest(listener, req, res),
      onUpgrade: (listener, req, socket, head) => void this.#onUpgrade(listener, req, socket, head),
      onConnection: (socket) => {
        this.#sockets.add(socket);
        socket.once("close", () => this.#sockets.delete(socket));
      },
    };
    try {
      for (const group of groupListeners(this.#options.nodes, this.#options.listenAddress)) {
        const listener = await createListener(
          group,
          {
            certificate: this.#options.certificate ?? { source: "selfSigned" },
            client: this.#options.client,
            clientCA,
            logger: this.#logger,
          },
          handlers,
        );
        this.#listeners.push(listener);
        await listen(listener, this.#logger);
      }
    } catch (error) {
      await this.stop();
      throw error;
    }
  }

  /** Closes every listener and connection. */
  async stop(): Promise<void> {
    const closing = this.#listeners.map(closeListener);
    for (const socket of this.#sockets) socket.destroy();
    this.#upgrades.terminateAll();
    await Promise.all(closing);
    this.#listeners.length = 0;
    this.#upgrades.close();
  }

  #listenerOf(nodeName: string): Listener {
    const listener = this.#listeners.find((l) => l.nodes.some((n) => n.nodeName === nodeName));
    if (listener === undefined) throw new Error(`kubelet API: unknown node ${nodeName}`);
    return listener;
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
    const node = nodeFor(listener, route);
    try {
      const auth = await this.#authenticateAndAuthorize(req, path, node, listener);
      if (!auth.ok) {
        sendText(res, auth.status, auth.message);
        return;
      }
      await handleRequest(this.#routes, listener, node, route, path, query, req, res);
    } catch (error) {
      const status = statusOfProviderError(error);
      if (status >= 500 && !(error instanceof HttpError))
        this.#logger.warn({ path, error: describeError(error) }, "kubelet API request failed");
      if (!res.headersSent) sendText(res, status, messageOf(error));
      else res.destroy();
    }
  }

  async #onUpgrade(listener: Listener, req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    socket.on("error", () => undefined);
    const { path, query } = parsePath(req.url ?? "/");
    const route = podRoute(path);
    const node = nodeFor(listener, route);
    try {
      const auth = await this.#authenticateAndAuthorize(req, path, node, listener);
      if (!auth.ok) {
        rejectUpgrade(socket, auth.status, auth.message);
        return;
      }
      await this.#upgrades.dispatch(node, route, path, query, req, socket, head);
    } catch (error) {
      const status = statusOfProviderError(error);
      if (status >= 500 && !(error instanceof HttpError))
        this.#logger.warn({ path, error: describeError(error) }, "kubelet API streaming request failed");
      rejectUpgrade(socket, status, messageOf(error));
    }
  }
}

/** Creates (does not start) a kubelet API server. */
export function createKubeletApiServer(options: KubeletApiServerOptions): KubeletApiServer {
  return new KubeletApiServer(options);
}
