/**
 * A small Kubernetes API client over one multiplexed HTTP/2 connection.
 *
 * Why not client-node's generated API classes: every call goes through its ObjectSerializer
 * (a typed copy of each object in and out), and its informers have stopped for good after errors.
 * The pod path needs plain JSON, a controlled watch, and connection reuse; HTTP/2 gives one TLS
 * connection for all requests and watches, like client-go. client-node still loads the kubeconfig
 * and supplies credentials (certs, tokens, exec plugins), so every auth method it knows works here.
 */
import * as http2 from "node:http2";
import type { KubeConfigSource } from "./kubeconfig.js";
import { type StreamLane, StreamSlots } from "./stream-slots.js";
import { AbortedError, RetryableError, redactSecrets } from "../errors.js";
import { AdaptiveRateLimiter } from "../provider-kit/rate-limit.js";
import { ApiReachability, isApiServerAnswer } from "./reachability.js";
import { WatchDecoder } from "./watch-decoder.js";

export interface KubeClientOptions {
  kubeConfig: KubeConfigSource;
  /** Sustained requests per second (watches excluded). Default 50, like the kubelet. */
  qps?: number;
  /** Burst above `qps`. Default 100. */
  burst?: number;
  userAgent?: string;
  /** Interval of HTTP/2 PINGs that detect a half-open connection. Default 30 s. */
  pingIntervalMs?: number;
  /** Longest wait for a new connection's TLS and HTTP/2 handshake before dialling again. Default 10 s. */
  handshakeTimeoutMs?: number;
  /** Called once per completed request, for metrics. */
  onRequest?: (info: { method: string; resource: string; status: number; durationMs: number }) => void;
}

export interface RequestOptions {
  query?: Record<string, string | number | boolean | undefined>;
  body?: unknown;
  contentType?: string;
  signal?: AbortSignal;
  /**
   * The caller does not read a successful answer (a status patch, a final delete), so it is not decoded:
   * the API server answers those with the whole object, and decoding it made garbage on the hot path.
   */
  discardBody?: boolean;
  /**
   * `heartbeat` (node lease, node status): skips the client-side QPS bucket and waits for a stream
   * ahead of other requests, so pod traffic never delays a renewal (`stream-slots.ts`). Set by
   * {@link heartbeatClient}, not by callers.
   */
  lane?: StreamLane;
}

/** An error answer from the API server, with its `Status` reason (`NotFound`, `Conflict`, `Expired`, ...). */
export class KubeApiError extends Error {
  readonly code = "VN_KUBE_API";
  readonly status: number;
  readonly reason: string;
  readonly retryAfterSeconds: number | undefined;
  constructor(status: number, reason: string, message: string, retryAfterSeconds?: number) {
    super(redactSecrets(`${status} ${reason}: ${message}`));
    this.name = "KubeApiError";
    this.status = status;
    this.reason = reason;
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

export function isNotFound(error: unknown): boolean {
  return error instanceof KubeApiError && error.status === 404;
}
export function isConflict(error: unknown): boolean {
  return error instanceof KubeApiError && error.status === 409;
}
export function isAlreadyExists(error: unknown): boolean {
  return error instanceof KubeApiError && error.status === 409 && error.reason === "AlreadyExists";
}
export function isGone(error: unknown): boolean {
  return error instanceof KubeApiError && (error.status === 410 || error.reason === "Expired");
}

/**
 * A view of `client` with `request` replaced. Every verb (and nothing else) goes through `request`,
 * so one function changes them all; watches, the connection and the credentials stay the client's.
 */
export function interceptRequests(client: KubeClient, request: KubeClient["request"]): KubeClient {
  return new Proxy(client, {
    get(target, property, receiver) {
      if (property === "request") return request;
      return Reflect.get(target, property, receiver) as unknown;
    },
  });
}

/**
 * A view of `client` whose requests travel in the heartbeat lane: for the node lease and the node
 * controller, like the kubelet's separate heartbeat client. Same connection, same credentials.
 */
export function heartbeatClient(client: KubeClient): KubeClient {
  return interceptRequests(client, async (method, path, options) =>
    client.request(method, path, { ...options, lane: "heartbeat" }),
  );
}

export type WatchEventType = "ADDED" | "MODIFIED" | "DELETED" | "BOOKMARK" | "ERROR";

interface Credentials {
  origin: string;
  ca?: Buffer | string;
  cert?: Buffer | string;
  key?: Buffer | string;
  rejectUnauthorized: boolean;
  headers: Record<string, string>;
  servername?: string;
}

const CREDENTIAL_REFRESH_MS = 60_000;
/** Receive window per HTTP/2 stream (client-go's `transportDefaultStreamFlow`). */
const STREAM_WINDOW_BYTES = 4 << 20;
/** Receive window of the whole connection (client-go's `transportDefaultConnFlow`). */
const CONNECTION_WINDOW_BYTES = 2 ** 30;
/** Concurrent streams assumed before the peer's SETTINGS arrive, or when it sets no limit (RFC 9113's floor). */
const DEFAULT_MAX_STREAMS = 100;
/** Requests always get at least this many streams, however many watches are open. */
const MIN_REQUEST_STREAMS = 8;

export class KubeClient {
  readonly kubeConfig: KubeConfigSource;
  private session: http2.ClientHttp2Session | undefined;
  private connecting: Promise<http2.ClientHttp2Session> | undefined;
  private credentials: Credentials | undefined;
  private credentialsAt = 0;
  // Client-side QPS, like client-go's token bucket: waits rather than fails. Never told about
  // throttles (the API server's 429s surface as KubeApiError), so it stays a plain bucket.
  private readonly bucket: AdaptiveRateLimiter;
  private readonly options: KubeClientOptions;
  private pingTimer: NodeJS.Timeout | undefined;
  private closed = false;
  /** Watches open now: each holds one of the connection's streams for as long as it runs. */
  private openWatches = 0;
  /** Requests wait for a free stream here rather than queue inside the session (`stream-slots.ts`). */
  private readonly slots = new StreamSlots(() => this.requestStreamLimit());
  /** Whether the API server answers; tells listeners the moment it answers again after an outage. */
  readonly reachability: ApiReachability;

  constructor(options: KubeClientOptions) {
    this.options = options;
    this.kubeConfig = options.kubeConfig;
    this.reachability = new ApiReachability({
      probe: async (signal) => {
        await this.get("/version", { signal });
      },
    });
    const qps = options.qps ?? 50;
    this.bucket = new AdaptiveRateLimiter({
      name: "kube-api",
      // qps <= 0 (or not finite) has always meant "no limit".
      ratePerSecond: Number.isFinite(qps) && qps > 0 ? qps : Number.POSITIVE_INFINITY,
      burst: Math.max(1, options.burst ?? 100),
    });
  }

  /** The API server URL. */
  get server(): string {
    return this.kubeConfig.getCurrentCluster()?.server ?? "";
  }

  async get<T>(path: string, options?: RequestOptions): Promise<T> {
    return this.request<T>("GET", path, options);
  }
  async create<T>(path: string, body: unknown, options?: RequestOptions): Promise<T> {
    return this.request<T>("POST", path, { ...options, body });
  }
  async replace<T>(path: string, body: unknown, options?: RequestOptions): Promise<T> {
    return this.request<T>("PUT", path, { ...options, body });
  }
  async patch<T>(path: string, body: unknown, contentType: string, options?: RequestOptions): Promise<T> {
    return this.request<T>("PATCH", path, { ...options, body, contentType });
  }
  async delete<T>(path: string, body?: unknown, options?: RequestOptions): Promise<T> {
    return this.request<T>("DELETE", path, { ...options, body });
  }

  /** One JSON request. Throws {@link KubeApiError} for non-2xx answers. */
  async request<T>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
    // The kubelet's heartbeat client has no client-side limit either (QPS -1).
    if (options.lane !== "heartbeat") await this.bucket.acquire(options.signal);
    const started = performance.now();
    const { status, body, headers } = await this.exchange(method, path, options).catch((error: unknown) => {
      if (!(error instanceof AbortedError)) this.reachability.failed();
      throw error;
    });
    if (isApiServerAnswer(status)) this.reachability.answered();
    else this.reachability.failed();
    this.options.onRequest?.({
      method,
      resource: resourceOf(path),
      status,
      durationMs: performance.now() - started,
    });
    if (status >= 200 && status < 300) {
      return (body.length === 0 || options.discardBody === true ? undefined : JSON.parse(body)) as T;
    }
    throw toApiError(status, body, headers);
  }

  /**
   * Streams a watch. Calls `onEvent` per event; resolves when the server ends the watch
   * (timeout), rejects on transport errors or an error status. Abort with `signal`.
   */
  async watch(
    path: string,
    query: Record<string, string | number | boolean | undefined>,
    onEvent: (type: WatchEventType, object: unknown) => void,
    signal: AbortSignal,
  ): Promise<void> {
    const session = await this.connect().catch((error: unknown) => {
      if (!(error instanceof AbortedError)) this.reachability.failed();
      throw error;
    });
    const creds = await this.creds();
    const stream = session.request({
      ":method": "GET",
      ":path": withQuery(path, { ...query, watch: "true" }),
      accept: "application/json",
      "user-agent": this.options.userAgent ?? "virtual-node",
      ...creds.headers,
    });
    const abort = (): void => {
      stream.close(http2.constants.NGHTTP2_CANCEL);
    };
    signal.addEventListener("abort", abort, { once: true });
    this.openWatches++;
    try {
      await new Promise<void>((resolve, reject) => {
        let ended = false;
        const decoder = new WatchDecoder((event) => {
          onEvent(event.type, event.object);
        });
        const fail = (error: unknown): void => {
          // A parse error or a handler error (e.g. a 410 ERROR event) ends this watch; the caller decides.
          ended = true;
          stream.close(http2.constants.NGHTTP2_CANCEL);
          reject(error instanceof Error ? error : new Error(String(error)));
        };
        stream.setEncoding("utf8");
        stream.on("response", (h) => {
          if (ended) return;
          if (isApiServerAnswer(Number(h[":status"]))) this.reachability.answered();
          try {
            decoder.response(Number(h[":status"]));
          } catch (error) {
            fail(error);
          }
        });
        stream.on("data", (chunk: string) => {
          if (ended) return;
          try {
            decoder.data(chunk);
          } catch (error) {
            fail(error);
          }
        });
        stream.on("end", () => {
          if (ended) return;
          const status = decoder.status ?? 0;
          if (status !== 200) reject(toApiError(status, decoder.errorBody, {}));
          else resolve();
        });
        stream.on("close", () => {
          if (ended) return;
          const status = decoder.status ?? 0;
          if (signal.aborted) reject(new AbortedError("watch aborted"));
          else if (status === 200) resolve();
          else reject(toApiError(status || 503, decoder.errorBody, {}, "watch stream closed"));
        });
        stream.on("error", (error: Error) => {
          if (!signal.aborted) this.reachability.failed();
          reject(error);
        });
      });
    } finally {
      signal.removeEventListener("abort", abort);
      this.openWatches--;
      this.slots.recheck();
    }
  }

  /** Streams requests may use: the peer's concurrent-stream limit less the open watches. */
  private requestStreamLimit(): number {
    const peer = this.session?.remoteSettings.maxConcurrentStreams;
    // Node reports 2^32 - 1 (RFC 9113's "unlimited") until the peer's SETTINGS arrive.
    const max = peer === undefined || peer >= 2 ** 31 ? DEFAULT_MAX_STREAMS : peer;
    return Math.max(MIN_REQUEST_STREAMS, max - this.openWatches);
  }

  /**
   * Drops the current connection (for example after a credential rotation): in-flight requests and
   * watches fail, the next request connects again.
   */
  resetConnection(): void {
    const session = this.session;
    this.session = undefined;
    session?.destroy();
  }

  /** Closes the connection; in-flight requests fail. */
  close(): void {
    this.closed = true;
    this.reachability.close();
    if (this.pingTimer) clearInterval(this.pingTimer);
    this.session?.close();
    this.session = undefined;
  }

  private async exchange(
    method: string,
    path: string,
    options: RequestOptions,
  ): Promise<{ status: number; body: string; headers: http2.IncomingHttpHeaders }> {
    if (options.signal?.aborted === true) throw new AbortedError();
    const session = await this.connect();
    // After connect: the limit is the peer's, whose SETTINGS `openSession` waited for.
    const release = await this.slots.acquire(options.signal, options.lane);
    try {
      return await this.send(session, method, path, options);
    } finally {
      release();
    }
  }

  private async send(
    session: http2.ClientHttp2Session,
    method: string,
    path: string,
    options: RequestOptions,
  ): Promise<{ status: number; body: string; headers: http2.IncomingHttpHeaders }> {
    const creds = await this.creds();
    const payload = options.body === undefined ? undefined : JSON.stringify(options.body);
    const headers: http2.OutgoingHttpHeaders = {
      ":method": method,
      ":path": withQuery(path, options.query),
      accept: "application/json",
      "user-agent": this.options.userAgent ?? "virtual-node",
      ...creds.headers,
    };
    if (payload !== undefined) headers["content-type"] = options.contentType ?? "application/json";
    return new Promise((resolve, reject) => {
      const stream = session.request(headers, { endStream: payload === undefined });
      const onAbort = (): void => {
        stream.close(http2.constants.NGHTTP2_CANCEL);
        reject(new AbortedError());
      };
      options.signal?.addEventListener("abort", onAbort, { once: true });
      let responseHeaders: http2.IncomingHttpHeaders = {};
      const chunks: Buffer[] = [];
      stream.on("response", (h) => {
        responseHeaders = h;
      });
      stream.on("data", (chunk: Buffer) => chunks.push(chunk));
      stream.on("end", () => {
        options.signal?.removeEventListener("abort", onAbort);
        resolve({
          status: Number(responseHeaders[":status"] ?? 0),
          body: Buffer.concat(chunks).toString("utf8"),
          headers: responseHeaders,
        });
      });
      stream.on("error", (err: Error) => {
        options.signal?.removeEventListener("abort", onAbort);
        reject(err);
      });
      if (payload !== undefined) stream.end(payload);
    });
  }

  private async creds(): Promise<Credentials> {
    const now = Date.now();
    if (this.credentials && now - this.credentialsAt < CREDENTIAL_REFRESH_MS) return this.credentials;
    const opts: {
      ca?: Buffer | string;
      cert?: Buffer | string;
      key?: Buffer | string;
      headers?: Record<string, string>;
      rejectUnauthorized?: boolean;
      servername?: string;
    } = {};
    await this.kubeConfig.applyToHTTPSOptions(opts);
    const cluster = this.kubeConfig.getCurrentCluster();
    if (!cluster) throw new Error("kubeconfig has no current cluster");
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(opts.headers ?? {})) headers[k.toLowerCase()] = v;
    this.credentials = {
      origin: new URL(cluster.server).origin,
      ca: opts.ca,
      cert: opts.cert,
      key: opts.key,
      rejectUnauthorized: !cluster.skipTLSVerify,
      headers,
      servername: cluster.tlsServerName,
    };
    this.credentialsAt = now;
    return this.credentials;
  }

  private async connect(): Promise<http2.ClientHttp2Session> {
    if (this.closed) throw new AbortedError("client closed");
    if (this.session && !this.session.closed && !this.session.destroyed) return this.session;
    this.connecting ??= this.openSession().finally(() => {
      this.connecting = undefined;
    });
    return this.connecting;
  }

  private async openSession(): Promise<http2.ClientHttp2Session> {
    const creds = await this.creds();
    const session = http2.connect(creds.origin, {
      ca: creds.ca,
      cert: creds.cert,
      key: creds.key,
      rejectUnauthorized: creds.rejectUnauthorized,
      ...(creds.servername === undefined ? {} : { servername: creds.servername }),
      minVersion: "TLSv1.2",
      // Node's default 64 KiB windows let one connection carry only 64 KiB of answers and watch events
      // per round trip: under churn the window, not the API server, set the pace (and starved watches
      // were closed by the server). client-go's values: 4 MiB per stream, 1 GiB per connection.
      settings: { initialWindowSize: STREAM_WINDOW_BYTES },
    });
    // A connection that is accepted but whose TLS handshake never completes (a half-open peer, a
    // stuck proxy) must not hold every caller for ever: give up like client-go's TLSHandshakeTimeout
    // (10 s) and let the next call dial again.
    const handshakeMs = this.options.handshakeTimeoutMs ?? 10_000;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        const error = new RetryableError(
          `no TLS/HTTP/2 handshake from ${creds.origin} within ${String(handshakeMs)} ms`,
        );
        session.destroy(error);
        reject(error);
      }, handshakeMs);
      timer.unref();
      // Connected and the peer's SETTINGS read: requests are sized to its stream limit from the first.
      let connected = false;
      let settled = false;
      const ready = (): void => {
        if (!connected || !settled) return;
        clearTimeout(timer);
        resolve();
      };
      session.once("connect", () => {
        connected = true;
        ready();
      });
      session.once("remoteSettings", () => {
        settled = true;
        ready();
      });
      session.once("error", (error: Error) => {
        clearTimeout(timer);
        reject(error);
      });
    });
    session.setLocalWindowSize(CONNECTION_WINDOW_BYTES);
    session.on("remoteSettings", () => {
      this.slots.recheck();
    });
    session.on("error", () => {
      // The 'close' that follows clears the session; callers see their stream errors.
    });
    const forget = (): void => {
      if (this.session === session) this.session = undefined;
    };
    session.on("close", forget);
    session.on("goaway", forget);
    session.unref();
    this.session = session;
    this.startPing();
    return session;
  }

  private startPing(): void {
    if (this.pingTimer) return;
    const interval = this.options.pingIntervalMs ?? 30_000;
    this.pingTimer = setInterval(() => {
      const session = this.session;
      // A session the previous deadline just destroyed is still here until its 'close' event runs,
      // and ping() on it throws: that crashed the whole agent on every half-open connection.
      if (!session || session.closed || session.destroyed) return;
      const deadline = setTimeout(
        () => {
          // No PING answer: the connection is half-open. Destroying it fails every watch on it,
          // and the reflectors re-list on a new one.
          session.destroy(new Error("HTTP/2 ping timeout"));
        },
        // client-go's PingTimeout: 15 s after a 30 s ReadIdleTimeout, so a silent peer is found in 45 s.
        Math.min(interval, 15_000),
      );
      deadline.unref();
      try {
        session.ping((err) => {
          clearTimeout(deadline);
          if (err) session.destroy(err);
        });
      } catch (error) {
        clearTimeout(deadline);
        session.destroy(error instanceof Error ? error : new Error(String(error)));
      }
    }, interval);
    this.pingTimer.unref();
  }
}

function withQuery(path: string, query: RequestOptions["query"]): string {
  if (!query) return path;
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined) params.set(k, String(v));
  const qs = params.toString();
  return qs.length === 0 ? path : `${path}${path.includes("?") ? "&" : "?"}${qs}`;
}

function toApiError(
  status: number,
  body: string,
  headers: http2.IncomingHttpHeaders,
  fallback = "request failed",
): KubeApiError {
  let reason = "Unknown";
  let message = fallback;
  try {
    const parsed = JSON.parse(body) as { reason?: string; message?: string };
    reason = parsed.reason ?? reason;
    message = parsed.message ?? message;
  } catch {
    if (body.length > 0) message = body.slice(0, 500);
  }
  const retryAfter = Number(headers["retry-after"]);
  return new KubeApiError(status, reason, message, Number.isFinite(retryAfter) ? retryAfter : undefined);
}

/** `pods`, `pods/status`, `leases`, ... for metrics labels, from an API path. */
export function resourceOf(path: string): string {
  const clean = path.split("?")[0] ?? path;
  const parts = clean.split("/").filter((p) => p.length > 0);
  // /api/v1/namespaces/ns/pods/name/status  or /apis/group/v1/namespaces/ns/leases/name
  const start = parts[0] === "api" ? 2 : 3;
  const rest = parts.slice(start);
  if (rest[0] === "namespaces" && rest.length > 2) rest.splice(0, 2);
  const resource = rest[0] ?? "unknown";
  return rest.length > 2 ? `${resource}/${rest[2] ?? ""}` : resource;
}
