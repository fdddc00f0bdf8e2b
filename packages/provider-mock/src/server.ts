/**
 * The mock cloud behind a small JSON HTTP API on loopback, so its state lives outside the agent
 * process (crash, restart and adoption are then tested honestly). Routes:
 *
 * | method and path | body / query | answer |
 * |---|---|---|
 * | `GET /ping` | | `MockCloudInfo` |
 * | `POST /pods` | `MockGroupSpec` | `MockGroupState` (201) |
 * | `PUT /pods/{ns}/{name}` | `MockGroupSpec` | `MockGroupState` |
 * | `DELETE /pods/{ns}/{name}` | `?uid=&grace=<seconds>` | 204 once the group is gone |
 * | `GET /pods/{ns}/{name}` | `?uid=` | `MockGroupState` or 404 |
 * | `GET /pods` | `?node=` | `MockGroupState[]` |
 * | `POST /statuses` | `{ refs: MockRef[] }` | `{ states: (MockGroupState \| null)[] }` |
 * | `GET /pods/{ns}/{name}/logs` | `?uid=&container=&tailLines=&previous=&sinceTime=` | `MockLogLine[]` |
 * | `GET /pods/{ns}/{name}/stats` | `?uid=` | `MockPodStats` |
 * | `POST /pods/{ns}/{name}/exec` | `{ uid?, container, command, stdin? }` | `MockExecResult` |
 * | `GET /events` | `?node=` | server-sent events: `sync`, `status`, `deleted` |
 * | `GET /admin/calls`, `DELETE /admin/calls` | | `MockCallStats` / reset |
 * | `GET /admin/groups`, `GET /admin/groups/{ns}/{name}` | | `MockGroupInfo[]` / `MockGroupInfo` |
 * | `PUT /admin/faults` | `Partial<MockCloudSettings>` | settings after the change |
 * | `PUT /admin/usage/{ns}/{name}` | `MockUsageUpdate` (`{ cpu?, memory?, container? }`) | `MockPodStats` after the change |
 *
 * Errors are `{ error: { code, message, field?, retryAfterMs? } }` with 400 (invalid input), 404,
 * 422 (unsupported), 403 (permanent), 429 + `Retry-After` or 503 (retryable).
 */
import { createServer } from "node:http";
import type { IncomingMessage, Server, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import {
  InvalidInputError,
  NotFoundError,
  RetryableError,
  VirtualNodeError,
  errorCode,
} from "@virtual-node/core";
import { httpStatusOf } from "./errors.js";
import { MockCloud } from "./mock-cloud.js";
import { validateRef } from "./validate.js";
import type {
  MockCloudEvent,
  MockCloudSettings,
  MockGroupSpec,
  MockLogQuery,
  MockRef,
  MockUsageUpdate,
} from "./types.js";

export interface MockCloudServerOptions {
  /** The cloud to serve (default: a new `MockCloud` on the system clock). */
  cloud?: MockCloud;
  /** Port to listen on (default 0: any free port). */
  port?: number;
  /** Interface to bind (default `127.0.0.1`; the API has no authentication, keep it on loopback). */
  host?: string;
  /** Largest accepted request body (default 16 MiB). */
  maxBodyBytes?: number;
}

export interface MockCloudServer {
  /** Base URL, e.g. `http://127.0.0.1:41234`. */
  readonly url: string;
  readonly port: number;
  readonly cloud: MockCloud;
  /** Stops listening, ends event streams and open connections. */
  close(): Promise<void>;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

async function readJson(req: IncomingMessage, limit: number): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw new HttpError(413, `request body larger than ${limit} bytes`);
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString("utf8");
  if (text === "") return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new InvalidInputError("request body is not valid JSON");
  }
}

interface Reply {
  status: number;
  body?: unknown;
}

function reply(status: number, body?: unknown): Reply {
  return { status, body };
}

function send(
  res: ServerResponse,
  status: number,
  body?: unknown,
  headers: Record<string, string> = {},
): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  if (body === undefined) {
    res.writeHead(status, headers).end();
    return;
  }
  const text = JSON.stringify(body);
  res
    .writeHead(status, {
      "content-type": "application/json",
      "content-length": Buffer.byteLength(text),
      ...headers,
    })
    .end(text);
}

function sendError(res: ServerResponse, error: unknown): void {
  if (error instanceof HttpError) {
    send(res, error.status, { error: { code: "VN_INVALID_INPUT", message: error.message } });
    return;
  }
  const status = httpStatusOf(error);
  const message = error instanceof Error ? error.message : String(error);
  const body: Record<string, unknown> = { code: errorCode(error), message };
  const headers: Record<string, string> = {};
  if (error instanceof VirtualNodeError && error.field !== undefined) body.field = error.field;
  if (error instanceof RetryableError && error.retryAfterMs !== undefined) {
    body.retryAfterMs = error.retryAfterMs;
    headers["retry-after"] = String(Math.ceil(error.retryAfterMs / 1000));
  }
  send(res, status, { error: body }, headers);
}

function optionalNumber(value: string | null, name: string): number | undefined {
  if (value === null || value === "") return undefined;
  const n = Number(value);
  if (!Number.isFinite(n)) throw new InvalidInputError(`query parameter ${name} must be a number`);
  return n;
}

function refFrom(ns: string, name: string, uid: string | null | undefined): MockRef {
  return uid === null || uid === undefined || uid === ""
    ? { namespace: ns, name }
    : { namespace: ns, name, uid };
}

/** Starts the HTTP front of a mock cloud on loopback. */
export async function startMockCloudServer(options: MockCloudServerOptions = {}): Promise<MockCloudServer> {
  const cloud = options.cloud ?? new MockCloud();
  const host = options.host ?? "127.0.0.1";
  const limit = options.maxBodyBytes ?? 16 * 1024 * 1024;
  const streams = new Set<() => void>();

  async function route(
    req: IncomingMessage,
    res: ServerResponse,
    signal: AbortSignal,
  ): Promise<Reply | undefined> {
    const url = new URL(req.url ?? "/", "http://mock.invalid");
    const parts = url.pathname
      .split("/")
      .filter((p) => p !== "")
      .map(decodeURIComponent);
    const q = url.searchParams;
    const method = req.method ?? "GET";
    const call = { signal };
    const [root, a, b, sub] = parts;

    if (method === "GET" && root === "ping" && parts.length === 1) return reply(200, await cloud.ping(call));
    if (method === "POST" && root === "ips" && parts.length === 1) {
      const ref = (await readJson(req, limit)) as MockRef;
      return reply(200, { ip: await cloud.reservePodIP(ref, call) });
    }
    if (method === "GET" && root === "events" && parts.length === 1) {
      openEvents(req, res, q.get("node") ?? undefined);
      return undefined;
    }
    if (method === "POST" && root === "statuses" && parts.length === 1) {
      const body = (await readJson(req, limit)) as { refs?: unknown } | undefined;
      if (!Array.isArray(body?.refs))
        throw new InvalidInputError("body must be { refs: [...] }", { field: "refs" });
      const refs: unknown[] = body.refs;
      refs.forEach((r, i) => {
        validateRef(r, `refs[${i}]`);
      });
      const states = await cloud.getStatuses(refs as MockRef[], call);
      return reply(200, { states: states.map((s) => s ?? null) });
    }
    if (root === "pods") {
      if (parts.length === 1 && method === "GET")
        return reply(200, await cloud.listPods(q.get("node") ?? undefined, call));
      if (parts.length === 1 && method === "POST") {
        return reply(201, await cloud.createPod((await readJson(req, limit)) as MockGroupSpec, call));
      }
      if (a !== undefined && b !== undefined && parts.length === 3) {
        const ref = refFrom(a, b, q.get("uid"));
        if (method === "GET") {
          const state = await cloud.getPod(ref, call);
          if (state === undefined) throw new NotFoundError(`mock cloud: no group ${a}/${b}`);
          return reply(200, state);
        }
        if (method === "PUT") {
          const spec = (await readJson(req, limit)) as MockGroupSpec | undefined;
          if (spec?.namespace !== a || spec.name !== b) {
            throw new InvalidInputError("body namespace/name must match the path", { field: "name" });
          }
          return reply(200, await cloud.updatePod(spec, call));
        }
        if (method === "DELETE") {
          await cloud.deletePod(ref, optionalNumber(q.get("grace"), "grace") ?? 30, call);
          return reply(204);
        }
      }
      if (a !== undefined && b !== undefined && parts.length === 4) {
        const ref = refFrom(a, b, q.get("uid"));
        if (method === "GET" && sub === "logs") {
          const query: MockLogQuery = {};
          const tailLines = optionalNumber(q.get("tailLines"), "tailLines");
          const sinceTime = optionalNumber(q.get("sinceTime"), "sinceTime");
          if (tailLines !== undefined) query.tailLines = tailLines;
          if (sinceTime !== undefined) query.sinceTime = sinceTime;
          if (q.get("previous") === "true") query.previous = true;
          return reply(200, await cloud.logs(ref, q.get("container") ?? "", query, call));
        }
        if (method === "GET" && sub === "stats") return reply(200, await cloud.stats(ref, call));
        if (method === "POST" && sub === "exec") {
          const body = (await readJson(req, limit)) as
            { uid?: string; container?: unknown; command?: unknown; stdin?: unknown } | undefined;
          if (typeof body?.container !== "string" || !Array.isArray(body.command)) {
            throw new InvalidInputError("body must be { container, command: string[], stdin? }");
          }
          const command = (body.command as unknown[]).map(String);
          const input = typeof body.stdin === "string" ? { stdin: body.stdin } : {};
          return reply(200, await cloud.exec(refFrom(a, b, body.uid), body.container, command, input, call));
        }
      }
    }
    if (root === "admin") {
      if (a === "calls" && parts.length === 2 && method === "GET") return reply(200, await cloud.callStats());
      if (a === "calls" && parts.length === 2 && method === "DELETE") {
        await cloud.resetCallStats();
        return reply(204);
      }
      if (a === "groups" && parts.length === 2 && method === "GET")
        return reply(200, await cloud.listGroups());
      if (a === "groups" && parts.length === 4 && method === "GET") {
        const info = await cloud.getGroup(b ?? "", sub ?? "");
        if (info === undefined) throw new NotFoundError(`mock cloud: no group ${b ?? ""}/${sub ?? ""}`);
        return reply(200, info);
      }
      if (a === "faults" && parts.length === 2 && method === "PUT") {
        const body = (await readJson(req, limit)) as Partial<MockCloudSettings> | undefined;
        await cloud.configure(body ?? {});
        return reply(200, cloud.settings);
      }
      if (a === "usage" && parts.length === 4 && method === "PUT") {
        const body = (await readJson(req, limit)) as MockUsageUpdate | undefined;
        return reply(200, await cloud.setUsage(b ?? "", sub ?? "", body ?? {}));
      }
    }
    throw new HttpError(404, `no route ${method} ${url.pathname}`);
  }

  function openEvents(req: IncomingMessage, res: ServerResponse, nodeName: string | undefined): void {
    res.writeHead(200, {
      "content-type": "text/event-stream",
      "cache-control": "no-cache",
      connection: "keep-alive",
    });
    res.write(": connected\n\n");
    const write = (event: MockCloudEvent): void => {
      res.write(`event: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`);
    };
    const unsubscribe = cloud.watch(nodeName, write);
    const heartbeat = setInterval(() => res.write(": ping\n\n"), 15_000);
    heartbeat.unref();
    const end = (): void => {
      clearInterval(heartbeat);
      unsubscribe();
      streams.delete(end);
      res.end();
    };
    streams.add(end);
    req.on("close", end);
  }

  const server: Server = createServer((req, res) => {
    const controller = new AbortController();
    res.on("close", () => {
      if (!res.writableFinished) controller.abort(new Error("client went away"));
    });
    route(req, res, controller.signal).then(
      (answer) => {
        if (answer !== undefined) send(res, answer.status, answer.body);
      },
      (error: unknown) => {
        sendError(res, error);
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const urlHost = host.includes(":") ? `[${host}]` : host;
  return {
    url: `http://${urlHost}:${port}`,
    port,
    cloud,
    close: () =>
      new Promise<void>((resolve, reject) => {
        for (const end of [...streams]) end();
        server.close((error) => {
          if (error === undefined) resolve();
          else reject(error);
        });
        server.closeAllConnections();
      }),
  };
}
