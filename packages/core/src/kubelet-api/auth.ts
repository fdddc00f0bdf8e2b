/**
 * Authentication and authorization of kubelet API requests, as the kubelet does them:
 *
 * 1. x509: a client certificate that verified against the client CA during the TLS handshake
 *    (the API server presents its `--kubelet-client-certificate`); user = CN, groups = O;
 * 2. bearer token: `TokenReview` against the API server;
 * 3. otherwise anonymous (`system:anonymous`, group `system:unauthenticated`) only when enabled,
 *    else 401.
 *
 * Then `SubjectAccessReview` for `nodes/<subresource>` of the node, verb from the HTTP method,
 * with the kubelet's path mapping (`pkg/kubelet/server/auth.go`, fine-grained authorization GA in
 * v1.36): `/stats/*` → stats, `/metrics/*` → metrics, `/logs/*` → log, `/checkpoint/*` → checkpoint,
 * `/pods`, `/runningpods/` → pods *or* proxy, `/healthz` → healthz or proxy, `/configz` → configz
 * or proxy, everything else (`/exec`, `/attach`, `/portForward`, `/containerLogs`, `/run`) → proxy.
 * The first allowed attribute wins. Decisions are cached briefly (kubelet defaults: tokens 2 min,
 * allowed 5 min, denied 30 s). Tokens never appear in logs or cache keys (SHA-256 only).
 */
import { createHash } from "node:crypto";
import type { IncomingMessage } from "node:http";
import type { TLSSocket } from "node:tls";
import type { KubeClient } from "../kube/client.js";

export interface UserInfo {
  username: string;
  uid?: string;
  groups: string[];
  extra?: Record<string, string[]>;
}

export interface AuthorizationAttributes {
  verb: string;
  resource: "nodes";
  subresource: string;
  name: string;
  path: string;
}

export type AuthResult =
  | { ok: true; user: UserInfo; via: "x509" | "token" | "anonymous" | "none" }
  | { ok: false; status: 401 | 403 | 500; message: string };

export interface KubeletAuthOptions {
  /** For TokenReview and SubjectAccessReview. Required unless both are disabled. */
  client?: KubeClient;
  /** Accept requests without credentials as `system:anonymous` (they are still authorized). Default false. */
  anonymous?: boolean;
  /** Authenticate bearer tokens with TokenReview. Default true. */
  tokenWebhook?: boolean;
  /**
   * `Webhook` (default): SubjectAccessReview. `AlwaysAllow`: every authenticated request passes —
   * only for local development, never on a cluster network.
   */
  authorizationMode?: "Webhook" | "AlwaysAllow";
  /** Cache TTL of successful token reviews. Default 2 min. */
  tokenCacheTtlMs?: number;
  /** Cache TTL of failed token reviews. Default 30 s (a revoked token stops working soon). */
  tokenDenyCacheTtlMs?: number;
  /** Cache TTL of allowed decisions. Default 5 min. */
  allowCacheTtlMs?: number;
  /** Cache TTL of denied decisions. Default 30 s. */
  denyCacheTtlMs?: number;
  /** Entries per cache. Default 10 000. */
  cacheSize?: number;
}

const ANONYMOUS: UserInfo = { username: "system:anonymous", groups: ["system:unauthenticated"] };

/** Small TTL cache with insertion-order eviction. */
class TtlCache<V> {
  readonly #entries = new Map<string, { value: V; expires: number }>();
  constructor(readonly size: number) {}
  get(key: string, now = Date.now()): V | undefined {
    const entry = this.#entries.get(key);
    if (entry === undefined) return undefined;
    if (entry.expires <= now) {
      this.#entries.delete(key);
      return undefined;
    }
    return entry.value;
  }
  set(key: string, value: V, ttlMs: number): void {
    if (ttlMs <= 0) return;
    this.#entries.delete(key);
    this.#entries.set(key, { value, expires: Date.now() + ttlMs });
    while (this.#entries.size > this.size) {
      const oldest = this.#entries.keys().next().value;
      if (oldest === undefined) break;
      this.#entries.delete(oldest);
    }
  }
  clear(): void {
    this.#entries.clear();
  }
}

function isSubpath(path: string, prefix: string): boolean {
  const p = prefix.endsWith("/") ? prefix.slice(0, -1) : prefix;
  return path === p || (path.startsWith(p) && path[p.length] === "/");
}

/** The kubelet's verb for an HTTP method (`""` for others, which no rule allows). */
export function verbOf(method: string): string {
  switch (method.toUpperCase()) {
    case "POST":
      return "create";
    case "GET":
    case "HEAD":
      return "get";
    case "PUT":
      return "update";
    case "PATCH":
      return "patch";
    case "DELETE":
      return "delete";
    default:
      return "";
  }
}

/**
 * The authorization attributes the kubelet derives for a request, most specific first: the
 * request passes if any of them is allowed.
 */
export function requestAttributes(method: string, path: string, nodeName: string): AuthorizationAttributes[] {
  const subresources: string[] = [];
  if (isSubpath(path, "/pods") || isSubpath(path, "/allocatedPods") || isSubpath(path, "/runningpods/"))
    subresources.push("pods");
  else if (isSubpath(path, "/healthz")) subresources.push("healthz");
  else if (isSubpath(path, "/configz")) subresources.push("configz");
  if (isSubpath(path, "/stats/")) subresources.push("stats");
  else if (isSubpath(path, "/metrics")) subresources.push("metrics");
  else if (isSubpath(path, "/logs/")) subresources.push("log");
  else if (isSubpath(path, "/checkpoint/")) subresources.push("checkpoint");
  else if (isSubpath(path, "/statusz")) subresources.push("statusz");
  else if (isSubpath(path, "/flagz")) subresources.push("configz");
  else subresources.push("proxy");
  const verb = verbOf(method);
  return subresources.map((subresource) => ({ verb, resource: "nodes", subresource, name: nodeName, path }));
}

interface TokenReviewResponse {
  status?: {
    authenticated?: boolean;
    user?: { username?: string; uid?: string; groups?: string[]; extra?: Record<string, string[]> };
    error?: string;
  };
}

interface SubjectAccessReviewResponse {
  status?: { allowed?: boolean; denied?: boolean; reason?: string; evaluationError?: string };
}

function hash(value: string): string {
  return createHash("sha256").update(value).digest("base64url");
}

function asList(value: string | string[] | undefined): string[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? value : [value];
}

/** The user a verified client certificate stands for: CN and the O entries. */
export function userFromCertificate(socket: TLSSocket): UserInfo | undefined {
  if (!socket.authorized) return undefined;
  const cert = socket.getPeerCertificate();
  const subject = cert.subject as Record<string, string | string[] | undefined> | undefined;
  const cn = asList(subject?.CN)[0];
  if (cn === undefined || cn === "") return undefined;
  return { username: cn, groups: asList(subject?.O) };
}

export class KubeletAuth {
  readonly #options: KubeletAuthOptions;
  readonly #tokens: TtlCache<UserInfo | null>;
  readonly #decisions: TtlCache<boolean>;

  constructor(options: KubeletAuthOptions) {
    this.#options = options;
    const size = options.cacheSize ?? 10_000;
    this.#tokens = new TtlCache(size);
    this.#decisions = new TtlCache(size);
    if ((options.tokenWebhook ?? true) && options.client === undefined)
      throw new Error("kubelet API: token authentication needs an API client (or tokenWebhook: false)");
    if ((options.authorizationMode ?? "Webhook") === "Webhook" && options.client === undefined)
      throw new Error("kubelet API: Webhook authorization needs an API client");
  }

  /** Forgets every cached decision (e.g. after an RBAC change in a test). */
  clearCaches(): void {
    this.#tokens.clear();
    this.#decisions.clear();
  }

  /** Who is asking: x509, then bearer token, then anonymous (if enabled). */
  async authenticate(req: IncomingMessage, signal?: AbortSignal): Promise<AuthResult> {
    const socket = req.socket as TLSSocket;
    let badCertificate = false;
    if (typeof socket.getPeerCertificate === "function") {
      const user = userFromCertificate(socket);
      if (user !== undefined) return { ok: true, user, via: "x509" };
      // A certificate that did not verify is a failed login, never an anonymous request.
      badCertificate = Object.keys(socket.getPeerCertificate()).length > 0;
    }
    const header = req.headers.authorization;
    const match = header === undefined ? null : /^Bearer\s+(\S+)\s*$/i.exec(header);
    const token = match?.[1];
    if (token !== undefined && (this.#options.tokenWebhook ?? true)) {
      try {
        const user = await this.#reviewToken(token, signal);
        if (user !== undefined) return { ok: true, user, via: "token" };
      } catch {
        return { ok: false, status: 401, message: "Unauthorized" };
      }
      return { ok: false, status: 401, message: "Unauthorized" };
    }
    if (header !== undefined || badCertificate) return { ok: false, status: 401, message: "Unauthorized" };
    if (this.#options.anonymous === true) return { ok: true, user: ANONYMOUS, via: "anonymous" };
    return { ok: false, status: 401, message: "Unauthorized" };
  }

  /** Allowed if any of the attributes is; the kubelet's 403 message otherwise. */
  async authorize(
    user: UserInfo,
    attributes: readonly AuthorizationAttributes[],
    signal?: AbortSignal,
  ): Promise<AuthResult> {
    if ((this.#options.authorizationMode ?? "Webhook") === "AlwaysAllow")
      return { ok: true, user, via: "none" };
    for (const attrs of attributes) {
      let allowed: boolean;
      try {
        allowed = await this.#review(user, attrs, signal);
      } catch {
        return {
          ok: false,
          status: 500,
          message: `Authorization error (user=${user.username}, verb=${attrs.verb}, resource=${attrs.resource}, subresource=${attrs.subresource})`,
        };
      }
      if (allowed) return { ok: true, user, via: "none" };
    }
    const first = attributes[0];
    const subresources = attributes.map((a) => a.subresource).join(" ");
    return {
      ok: false,
      status: 403,
      message: `Forbidden (user=${user.username}, verb=${first?.verb ?? ""}, resource=${first?.resource ?? "nodes"}, subresource(s)=[${subresources}])\n`,
    };
  }

  async #reviewToken(token: string, signal?: AbortSignal): Promise<UserInfo | undefined> {
    const key = hash(token);
    const cached = this.#tokens.get(key);
    if (cached !== undefined) return cached ?? undefined;
    const client = this.#options.client;
    if (client === undefined) return undefined;
    const review = await client.create<TokenReviewResponse>(
      "/apis/authentication.k8s.io/v1/tokenreviews",
      {
        apiVersion: "authentication.k8s.io/v1",
        kind: "TokenReview",
        spec: { token },
      },
      signal === undefined ? {} : { signal },
    );
    const status = review.status;
    const user =
      status?.authenticated === true && status.user?.username !== undefined
        ? {
            username: status.user.username,
            groups: status.user.groups ?? [],
            ...(status.user.uid === undefined ? {} : { uid: status.user.uid }),
            ...(status.user.extra === undefined ? {} : { extra: status.user.extra }),
          }
        : undefined;
    this.#tokens.set(
      key,
      user ?? null,
      user === undefined
        ? (this.#options.tokenDenyCacheTtlMs ?? 30_000)
        : (this.#options.tokenCacheTtlMs ?? 120_000),
    );
    return user;
  }

  async #review(user: UserInfo, attrs: AuthorizationAttributes, signal?: AbortSignal): Promise<boolean> {
    const key = JSON.stringify([
      user.username,
      user.uid ?? "",
      [...user.groups].sort(),
      user.extra ?? {},
      attrs.verb,
      attrs.subresource,
      attrs.name,
    ]);
    const cached = this.#decisions.get(key);
    if (cached !== undefined) return cached;
    const client = this.#options.client;
    if (client === undefined) return false;
    const review = await client.create<SubjectAccessReviewResponse>(
      "/apis/authorization.k8s.io/v1/subjectaccessreviews",
      {
        apiVersion: "authorization.k8s.io/v1",
        kind: "SubjectAccessReview",
        spec: {
          user: user.username,
          groups: user.groups,
          ...(user.uid === undefined ? {} : { uid: user.uid }),
          ...(user.extra === undefined ? {} : { extra: user.extra }),
          resourceAttributes: {
            verb: attrs.verb,
            group: "",
            version: "v1",
            resource: attrs.resource,
            subresource: attrs.subresource,
            name: attrs.name,
          },
        },
      },
      signal === undefined ? {} : { signal },
    );
    const allowed = review.status?.allowed === true;
    this.#decisions.set(
      key,
      allowed,
      allowed ? (this.#options.allowCacheTtlMs ?? 300_000) : (this.#options.denyCacheTtlMs ?? 30_000),
    );
    return allowed;
  }
}
