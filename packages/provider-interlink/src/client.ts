/**
 * The HTTP client of the interLink API, on undici: one `Agent` per provider (keep-alive, a Unix
 * socket via `connect.socketPath`, TLS/mTLS via `connect.ca/cert/key`), the bearer token from a
 * file re-read whenever it changes, and per-call timeouts on the injected clock.
 *
 * Every route is sent as POST, as interLink's API description documents (its own virtual kubelet
 * sends status/getLogs as GET with a body and delete as DELETE; the Go server accepts any method).
 * A non-2xx answer becomes the kit's typed error for its status, with the site's message (the
 * body text) in it, so the pod status and Event show what the site said.
 */
import { stat, readFile } from "node:fs/promises";
import { AbortedError, RetryableError, systemClock } from "@virtual-node/core";
import type { Clock } from "@virtual-node/core";
import { errorFromHttpStatus, parseRetryAfter } from "@virtual-node/core/provider-kit";
import { Agent, request } from "undici";
import type { ResolvedEndpoint } from "./options.js";

/** The interLink API calls (also the rate-limit and metric names). */
export type InterLinkCall = "create" | "status" | "delete" | "getLogs" | "pinglink";

/** An answer of the interLink API (2xx only; others throw). */
export interface InterLinkResponse {
  status: number;
  text: string;
}

/** Options of {@link InterLinkClient}. */
export interface InterLinkClientOptions {
  endpoint: ResolvedEndpoint;
  tokenFile?: string;
  clock?: Clock;
}

// Site messages can be long HTML error pages from a proxy; keep the pod status readable.
const MAX_MESSAGE = 500;

function siteMessage(text: string): string {
  const trimmed = text.trim().replace(/\s+/g, " ");
  return trimmed.length > MAX_MESSAGE ? `${trimmed.slice(0, MAX_MESSAGE)}…` : trimmed;
}

/** Reads the token file, again only when its modification time or size changed. */
class TokenFile {
  #cache: { key: string; token: string } | undefined;
  constructor(private readonly path: string) {}
  async token(): Promise<string> {
    const s = await stat(this.path);
    const key = `${String(s.mtimeMs)}:${String(s.size)}:${String(s.ino)}`;
    if (this.#cache?.key !== key) this.#cache = { key, token: (await readFile(this.path, "utf8")).trim() };
    return this.#cache.token;
  }
}

/** A small client for the interLink API. */
export class InterLinkClient {
  readonly #agent: Agent;
  readonly #baseUrl: string;
  readonly #token: TokenFile | undefined;
  readonly #clock: Clock;

  constructor(options: InterLinkClientOptions) {
    const { endpoint } = options;
    this.#baseUrl = endpoint.baseUrl;
    this.#clock = options.clock ?? systemClock;
    this.#token = options.tokenFile === undefined ? undefined : new TokenFile(options.tokenFile);
    this.#agent = new Agent({
      // The clock-driven timeout below is the one that counts; these only catch a stuck socket.
      headersTimeout: 0,
      bodyTimeout: 0,
      connect: {
        ...(endpoint.socketPath === undefined ? {} : { socketPath: endpoint.socketPath }),
        ...(endpoint.tls ?? {}),
      },
    });
  }

  /**
   * POSTs `body` (JSON) to `/<call>` and resolves with the answer; rejects with the kit's typed
   * error for a non-2xx status, a `RetryableError` on timeout or a transport failure, and
   * `AbortedError` when `signal` aborts.
   */
  async call(
    call: InterLinkCall,
    body: unknown,
    signal: AbortSignal,
    timeoutMs: number,
  ): Promise<InterLinkResponse> {
    const timeout = new AbortController();
    const timer = this.#clock.setTimeout(() => {
      timeout.abort();
    }, timeoutMs);
    const combined = AbortSignal.any([signal, timeout.signal]);
    try {
      const headers: Record<string, string> = {
        "content-type": "application/json",
        accept: "application/json, text/plain",
      };
      if (this.#token !== undefined) headers.authorization = `Bearer ${await this.#token.token()}`;
      const res = await request(`${this.#baseUrl}/${call}`, {
        method: "POST",
        headers,
        body: body === undefined ? "" : JSON.stringify(body),
        signal: combined,
        dispatcher: this.#agent,
      });
      const text = await res.body.text();
      if (res.statusCode >= 200 && res.statusCode < 300) return { status: res.statusCode, text };
      const retryAfter = res.headers["retry-after"];
      const retryAfterMs = parseRetryAfter(
        Array.isArray(retryAfter) ? retryAfter[0] : retryAfter,
        this.#clock.now(),
      );
      const message = siteMessage(text);
      throw errorFromHttpStatus(
        res.statusCode,
        `interLink ${call} answered HTTP ${String(res.statusCode)}${message === "" ? "" : `: ${message}`}`,
        retryAfterMs === undefined ? {} : { retryAfterMs },
      );
    } catch (error) {
      if (signal.aborted) throw new AbortedError(undefined, { cause: error });
      if (timeout.signal.aborted) {
        throw new RetryableError(`interLink ${call} timed out after ${String(timeoutMs)} ms`, {
          cause: error,
        });
      }
      throw error;
    } finally {
      this.#clock.clearTimeout(timer);
    }
  }

  /** Closes the connections. */
  async close(): Promise<void> {
    await this.#agent.close();
  }
}
