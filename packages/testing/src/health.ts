import { request as httpRequest, type IncomingMessage } from "node:http";
import { request as httpsRequest } from "node:https";

import { ErrorCode, TestingError } from "./errors.js";
import type { ComponentProcess } from "./process.js";

export interface HttpTls {
  readonly ca?: string;
  readonly cert?: string;
  readonly key?: string;
  /** Default true when `ca` is given, false otherwise (self-signed component serving certs). */
  readonly verify?: boolean;
}

export interface HttpResult {
  readonly status: number;
  readonly body: string;
}

/** One GET with a short timeout. Rejects on connection errors. */
export function httpGet(url: string, tls: HttpTls = {}, timeoutMs = 5000): Promise<HttpResult> {
  return new Promise((resolve, reject) => {
    const target = new URL(url);
    const onResponse = (res: IncomingMessage): void => {
      const chunks: Buffer[] = [];
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.on("end", () => {
        resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8") });
      });
      res.on("error", reject);
    };
    const req =
      target.protocol === "https:"
        ? httpsRequest(
            target,
            {
              method: "GET",
              agent: false,
              timeout: timeoutMs,
              ...(tls.ca === undefined ? {} : { ca: tls.ca }),
              ...(tls.cert === undefined ? {} : { cert: tls.cert }),
              ...(tls.key === undefined ? {} : { key: tls.key }),
              rejectUnauthorized: tls.verify ?? tls.ca !== undefined,
            },
            onResponse,
          )
        : httpRequest(target, { method: "GET", agent: false, timeout: timeoutMs }, onResponse);
    req.on("timeout", () => {
      req.destroy(new Error(`GET ${url} timed out after ${timeoutMs} ms`));
    });
    req.on("error", reject);
    req.end();
  });
}

export interface WaitForHealthyOptions {
  readonly url: string;
  readonly tls?: HttpTls;
  readonly component: ComponentProcess;
  readonly timeoutMs: number;
  readonly intervalMs?: number;
  readonly signal?: AbortSignal;
  /** Default: status 200. */
  readonly isHealthy?: (result: HttpResult) => boolean;
  readonly logTailLines?: number;
}

function delay(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    }
    signal?.addEventListener("abort", done, { once: true });
  });
}

/** Error for a component that exited during start-up. */
export async function componentExitedError(component: ComponentProcess, lines = 30): Promise<TestingError> {
  const exit = component.exitStatus();
  const how =
    exit === undefined
      ? "exited"
      : exit.error !== undefined
        ? `could not be started (${exit.error.message})`
        : exit.signal === null
          ? `exited with code ${exit.code}`
          : `was killed by ${exit.signal}`;
  return new TestingError(ErrorCode.ComponentExited, `${component.name} ${how} during start-up`, {
    logTail: await component.logTail(lines),
    logFile: component.logFile,
  });
}

/**
 * Polls `url` until it is healthy. Fails fast with {@link ErrorCode.ComponentExited} when the component
 * exits, and with {@link ErrorCode.ComponentNotReady} after the timeout; both carry the log tail.
 */
export async function waitForHealthy(options: WaitForHealthyOptions): Promise<void> {
  const startedAt = Date.now();
  const isHealthy = options.isHealthy ?? ((r: HttpResult) => r.status === 200);
  const lines = options.logTailLines ?? 30;
  let last: string;
  for (;;) {
    if (options.signal?.aborted === true) {
      throw new TestingError(ErrorCode.Aborted, `aborted while waiting for ${options.component.name}`);
    }
    if (options.component.exitStatus() !== undefined) {
      throw await componentExitedError(options.component, lines);
    }
    try {
      const result = await httpGet(options.url, options.tls);
      if (isHealthy(result)) {
        return;
      }
      last = `HTTP ${result.status}: ${result.body.slice(0, 2000)}`;
    } catch (error) {
      last = (error as Error).message;
    }
    if (Date.now() - startedAt > options.timeoutMs) {
      throw new TestingError(
        ErrorCode.ComponentNotReady,
        `${options.component.name} did not become ready within ${Math.round(options.timeoutMs / 1000)}s ` +
          `(${options.url}: ${last})`,
        { logTail: await options.component.logTail(lines), logFile: options.component.logFile },
      );
    }
    await Promise.race([delay(options.intervalMs ?? 250, options.signal), options.component.exited]);
  }
}
