/** Small HTTP helpers shared by the kubelet API handlers. */
import { STATUS_CODES, type ServerResponse } from "node:http";
import type { Duplex } from "node:stream";
import { errorCode, ErrorCodes } from "../errors.js";

/** An error with the HTTP status it is answered with (plain-text body, like the kubelet). */
export class HttpError extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.name = "HttpError";
    this.status = status;
  }
}

/** The status a provider error maps to: not found 404, invalid 400, unsupported 501, others 500. */
export function statusOfProviderError(error: unknown): number {
  if (error instanceof HttpError) return error.status;
  switch (errorCode(error)) {
    case ErrorCodes.NotFound:
      return 404;
    case ErrorCodes.InvalidInput:
      return 400;
    case ErrorCodes.Unsupported:
      return 501;
    case ErrorCodes.Retryable:
      return 503;
    default:
      return 500;
  }
}

export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** A plain-text answer on a normal response. */
export function sendText(
  res: ServerResponse,
  status: number,
  body: string,
  headers: Record<string, string> = {},
): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const text = body.endsWith("\n") ? body : `${body}\n`;
  res.writeHead(status, {
    "content-type": "text/plain; charset=utf-8",
    "content-length": Buffer.byteLength(text),
    "x-content-type-options": "nosniff",
    ...headers,
  });
  res.end(text);
}

export function sendJson(res: ServerResponse, status: number, value: unknown): void {
  const body = JSON.stringify(value);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(body) });
  res.end(body);
}

/** A complete HTTP/1.1 answer written on a raw socket (an upgrade request that is refused). */
export function rejectUpgrade(
  socket: Duplex,
  status: number,
  body: string,
  headers: Record<string, string | string[]> = {},
): void {
  if (socket.destroyed) return;
  const text = body.endsWith("\n") ? body : `${body}\n`;
  const lines = [
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? "Error"}`,
    "Content-Type: text/plain; charset=utf-8",
    "X-Content-Type-Options: nosniff",
    `Content-Length: ${Buffer.byteLength(text)}`,
    "Connection: close",
  ];
  for (const [name, value] of Object.entries(headers))
    for (const v of Array.isArray(value) ? value : [value]) lines.push(`${name}: ${v}`);
  socket.end(`${lines.join("\r\n")}\r\n\r\n${text}`);
}

/** Parses a Go `strconv.ParseBool` value; undefined for anything else. */
export function parseGoBool(value: string): boolean | undefined {
  if (["1", "t", "T", "TRUE", "true", "True"].includes(value)) return true;
  if (["0", "f", "F", "FALSE", "false", "False"].includes(value)) return false;
  return undefined;
}

/**
 * Splits a stream of concatenated JSON objects (the resize stream: `{"Width":80,"Height":24}...`)
 * into whole objects, whatever the chunk boundaries.
 */
export class JsonObjectSplitter {
  #buffer = "";
  #depth = 0;
  #inString = false;
  #escaped = false;
  #start = -1;

  push(chunk: string): unknown[] {
    const out: unknown[] = [];
    const base = this.#buffer.length;
    this.#buffer += chunk;
    for (let i = base; i < this.#buffer.length; i++) {
      const ch = this.#buffer[i];
      if (this.#inString) {
        if (this.#escaped) this.#escaped = false;
        else if (ch === "\\") this.#escaped = true;
        else if (ch === '"') this.#inString = false;
        continue;
      }
      if (ch === '"') this.#inString = true;
      else if (ch === "{") {
        if (this.#depth === 0) this.#start = i;
        this.#depth++;
      } else if (ch === "}" && this.#depth > 0) {
        this.#depth--;
        if (this.#depth === 0 && this.#start >= 0) {
          try {
            out.push(JSON.parse(this.#buffer.slice(this.#start, i + 1)));
          } catch {
            // skip a malformed object
          }
          this.#start = -1;
        }
      }
    }
    if (this.#depth === 0) this.#buffer = "";
    else if (this.#start > 0) {
      this.#buffer = this.#buffer.slice(this.#start);
      this.#start = 0;
    }
    if (this.#buffer.length > 64 * 1024) this.#buffer = ""; // nonsense: drop it
    return out;
  }
}

/** An async queue: push values, iterate them; ends on `end()`. */
export class AsyncQueue<T> implements AsyncIterable<T> {
  readonly #values: T[] = [];
  readonly #waiters: ((r: IteratorResult<T>) => void)[] = [];
  #ended = false;

  push(value: T): void {
    if (this.#ended) return;
    const waiter = this.#waiters.shift();
    if (waiter !== undefined) waiter({ value, done: false });
    else this.#values.push(value);
  }

  end(): void {
    this.#ended = true;
    for (const waiter of this.#waiters.splice(0)) waiter({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): AsyncIterator<T> {
    return {
      next: () => {
        const value = this.#values.shift();
        if (value !== undefined) return Promise.resolve({ value, done: false });
        if (this.#ended) return Promise.resolve({ value: undefined, done: true });
        return new Promise((resolve) => this.#waiters.push(resolve));
      },
      return: () => {
        this.end();
        return Promise.resolve({ value: undefined, done: true });
      },
    };
  }
}
