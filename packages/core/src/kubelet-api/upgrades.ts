/**
 * Upgrade dispatch of the kubelet API: an authorized `/exec`, `/attach` or `/portForward` request
 * that asks for SPDY/3.1 or WebSocket is checked (method, transport), its subprotocol negotiated,
 * the 101 answered, and the session handed to remotecommand.ts or portforward.ts. Port-forward over
 * WebSocket is either SPDY tunnelled in binary messages (`SPDY/3.1+portforward.k8s.io`) or the
 * channel protocol (`?ports=`).
 */
import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import { WebSocketServer, createWebSocketStream, type WebSocket } from "ws";
import type { Pod } from "../kube/types.js";
import type { Logger } from "../logger.js";
import { HttpError, messageOf, rejectUpgrade } from "./http-util.js";
import type { KubeletApiNode } from "./listeners.js";
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
import { notImplemented, podOf, refOf, type PodRoute } from "./routes.js";
import { negotiateProtocol, protocolList } from "./websocket-channel.js";

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

/** The streaming settings of the server. */
export interface UpgradeOptions {
  logger: Logger;
  /** Stream creation timeout of exec/attach/port-forward. Default 30 s. */
  streamCreationTimeoutMs?: number | undefined;
  /** Idle timeout of streaming connections. Default 4 h. */
  streamingIdleTimeoutMs?: number | undefined;
  /** Called with the raw SPDY bytes of every streaming session. */
  onSpdyBytes?:
    ((session: { kind: string; id: number }, direction: "in" | "out", bytes: Buffer) => void) | undefined;
}

interface SessionBytes {
  onRawBytes?: (direction: "in" | "out", bytes: Buffer) => void;
}

let sessionCounter = 0;

/** Writes the 101 answer of a SPDY upgrade, or a 400/403 when the protocols do not match. */
function spdyHandshake(
  req: IncomingMessage,
  socket: Duplex,
  supported: readonly string[],
): string | undefined {
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

/** Serves the upgrade requests of one server: WebSocket acceptance, SPDY handshakes, session counts. */
export class UpgradeDispatcher {
  readonly #options: UpgradeOptions;
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
  readonly #sessions: KubeletApiSessionCounts = {
    spdyRemoteCommand: 0,
    webSocketRemoteCommand: 0,
    spdyPortForward: 0,
    tunneledPortForward: 0,
    webSocketPortForward: 0,
  };

  constructor(options: UpgradeOptions) {
    this.#options = options;
    this.#wss.on("headers", (headers, request) => {
      const protocol = this.#chosenProtocol.get(request);
      if (protocol !== undefined && protocol !== "") headers.push(`Sec-WebSocket-Protocol: ${protocol}`);
    });
  }

  /** Streaming sessions served so far, by transport. */
  get sessionCounts(): KubeletApiSessionCounts {
    return { ...this.#sessions };
  }

  /** Drops every WebSocket session. */
  terminateAll(): void {
    for (const ws of this.#wss.clients) ws.terminate();
  }

  close(): void {
    this.#wss.close();
  }

  /**
   * Serves an authorized upgrade request until its session is over; throws an {@link HttpError}
   * (or a provider error) for a request that cannot be served.
   */
  async dispatch(
    node: KubeletApiNode | undefined,
    route: PodRoute | undefined,
    path: string,
    query: URLSearchParams,
    req: IncomingMessage,
    socket: Duplex,
    head: Buffer,
  ): Promise<void> {
    if (route === undefined || route.kind === "containerLogs")
      throw new HttpError(
        route === undefined ? 404 : 400,
        route === undefined ? `404 page not found: ${path}` : "unexpected upgrade",
      );
    const method = req.method ?? "GET";
    if (method !== "GET" && method !== "POST") throw new HttpError(405, "method not allowed");
    const pod = podOf(node, route);
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

  #streaming(): { streamCreationTimeoutMs: number; idleTimeoutMs: number } {
    return {
      streamCreationTimeoutMs: this.#options.streamCreationTimeoutMs ?? 30_000,
      idleTimeoutMs: this.#options.streamingIdleTimeoutMs ?? 4 * 60 * 60 * 1000,
    };
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
      logger: this.#options.logger.child({
        node: node.nodeName,
        pod: `${ref.namespace}/${ref.name}`,
        session: route.kind,
      }),
      ...this.#streaming(),
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
    const protocol = spdyHandshake(req, socket, SPDY_REMOTECOMMAND_PROTOCOLS);
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
      logger: this.#options.logger.child({
        node: node.nodeName,
        pod: `${ref.namespace}/${ref.name}`,
        session: "portForward",
      }),
      ...this.#streaming(),
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
    const protocol = spdyHandshake(req, socket, [PORT_FORWARD_PROTOCOL]);
    if (protocol === undefined) return;
    if (head.length > 0) socket.unshift(head);
    this.#sessions.spdyPortForward++;
    await serveSpdyPortForward(socket, { ...session, ...this.#spdyBytes("portForward") });
  }
}
