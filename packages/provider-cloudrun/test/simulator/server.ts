/**
 * The simulator's HTTP face: a `node:http` server on 127.0.0.1 that speaks what the Google client
 * libraries send in REST-fallback mode (the gRPC face in `grpc.ts` translates to the same calls) (gRPC transcoding: `/v2/...`, `$alt=json;enum-encoding=int`,
 * `google.rpc.Status` errors), validates every request against the vendor schemas, records it, and
 * can be told to fail (throttling with RESOURCE_EXHAUSTED + RetryInfo + Retry-After, 5xx, any code).
 */
import { createServer } from "node:http";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { SimCloud, SimError } from "./cloud.js";
import type { SimCloudOptions } from "./cloud.js";
import {
  loadLoggingDescriptor,
  loadRunDiscovery,
  loadRunProtos,
  loadSecretManagerDescriptor,
  matchRoute,
  validateRequest,
} from "./schema.js";
import type { SchemaSet, Violation } from "./schema.js";

type Json = Record<string, unknown>;

/** One request as the simulator received it. */
export interface RecordedRequest {
  /** The method id: `run.projects.locations.jobs.create`, `run.CreateWorkerPool`, `secretmanager.AddSecretVersion`, … */
  operation: string;
  method: string;
  path: string;
  query: Record<string, string>;
  /** The raw body text (scan it for Secret values). */
  rawBody: string;
  body: unknown;
}

/** A fault to answer instead of the real result. */
export interface Fault {
  /** Which operations it applies to (method id or a predicate). */
  operation: string | ((operation: string) => boolean);
  httpStatus: number;
  status: string;
  message?: string;
  /** How many requests it answers (default 1). */
  times?: number;
  /** Sent as `Retry-After` and as a `google.rpc.RetryInfo` detail. */
  retryDelaySeconds?: number;
}

let schemaCache: SchemaSet | undefined;

function schemas(): SchemaSet {
  if (schemaCache === undefined) {
    const run = loadRunDiscovery();
    const runProtos = loadRunProtos();
    const sm = loadSecretManagerDescriptor();
    const logging = loadLoggingDescriptor();
    schemaCache = {
      schemas: { ...run.schemas, ...runProtos.schemas, ...sm.schemas, ...logging.schemas },
      routes: [...run.routes, ...runProtos.routes, ...sm.routes, ...logging.routes],
    };
  }
  return schemaCache;
}

/** The simulator: state + validation + recording + faults. Call {@link CloudRunSimulator.handle} or serve it. */
export class CloudRunSimulator {
  readonly cloud: SimCloud;
  readonly requests: RecordedRequest[] = [];
  readonly violations: Violation[] = [];
  readonly #faults: (Fault & { left: number })[] = [];

  constructor(options: SimCloudOptions) {
    this.cloud = new SimCloud(options);
  }

  /** Queues a fault. */
  inject(fault: Fault): void {
    this.#faults.push({ ...fault, left: fault.times ?? 1 });
  }

  /** Requests per operation id. */
  counts(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const r of this.requests) out[r.operation] = (out[r.operation] ?? 0) + 1;
    return out;
  }

  /** Handles one request; exposed for tests that skip HTTP. */
  handle(
    method: string,
    url: URL,
    rawBody: string,
  ): { status: number; body: Json; headers: Record<string, string> } {
    const set = schemas();
    const match = matchRoute(set, method, url.pathname);
    let body: unknown;
    try {
      body = rawBody === "" ? undefined : JSON.parse(rawBody);
    } catch {
      return errorReply(new SimError(400, "INVALID_ARGUMENT", "Invalid JSON payload received."));
    }
    const query: Record<string, string> = {};
    for (const [k, v] of url.searchParams) query[k] = v;
    const operation = match?.route.id ?? `unknown ${method} ${url.pathname}`;
    this.requests.push({ operation, method, path: url.pathname, query, rawBody, body });
    if (match === undefined) {
      this.violations.push({ route: operation, path: url.pathname, message: "no such method in the API" });
      return errorReply(new SimError(404, "NOT_FOUND", `Method not found: ${method} ${url.pathname}`));
    }
    const violations = validateRequest(set, match.route, url.searchParams, body);
    if (violations.length > 0) {
      this.violations.push(...violations);
      return errorReply(
        new SimError(
          400,
          "INVALID_ARGUMENT",
          `Invalid value at ${violations.map((v) => `'${v.path}': ${v.message}`).join("; ")}`,
          "INVALID_ARGUMENT",
        ),
      );
    }
    const fault = this.#faults.find(
      (f) =>
        f.left > 0 && (typeof f.operation === "string" ? f.operation === operation : f.operation(operation)),
    );
    if (fault !== undefined) {
      fault.left -= 1;
      return errorReply(
        new SimError(
          fault.httpStatus,
          fault.status,
          fault.message ?? `Injected ${fault.status}`,
          fault.status === "RESOURCE_EXHAUSTED" ? "RATE_LIMIT_EXCEEDED" : undefined,
          fault.retryDelaySeconds,
        ),
      );
    }
    try {
      return {
        status: 200,
        body: this.#dispatch(operation, match.params, url.searchParams, (body ?? {}) as Json),
        headers: {},
      };
    } catch (error) {
      if (error instanceof SimError) return errorReply(error);
      throw error;
    }
  }

  #dispatch(operation: string, params: Record<string, string>, query: URLSearchParams, body: Json): Json {
    const c = this.cloud;
    const name = params.name ?? "";
    const parent = params.parent ?? "";
    const page = (items: unknown[], field: string, max = 1000): Json => paginate(items, field, query, max);
    switch (operation) {
      case "run.projects.locations.jobs.create":
        return c.createJob(parent, query.get("jobId") ?? "", body);
      case "run.projects.locations.jobs.get":
        return c.getJob(name);
      case "run.projects.locations.jobs.list":
        return page(c.listJobs(parent), "jobs");
      case "run.projects.locations.jobs.patch":
        return c.updateJob(name, body);
      case "run.projects.locations.jobs.delete":
        return c.deleteJob(name);
      case "run.projects.locations.jobs.run":
        return c.runJob(name);
      case "run.projects.locations.jobs.executions.get":
        return c.getExecution(name);
      case "run.projects.locations.jobs.executions.list":
        return page(c.listExecutions(parent), "executions");
      case "run.projects.locations.jobs.executions.cancel":
        return c.cancelExecution(name);
      case "run.projects.locations.jobs.executions.tasks.list":
        return page(c.listTasks(parent), "tasks");
      case "run.projects.locations.services.create":
        return c.createService(parent, query.get("serviceId") ?? "", body);
      case "run.projects.locations.services.get":
        return c.getService(name);
      case "run.projects.locations.services.list":
        return page(c.listServices(parent), "services");
      case "run.projects.locations.services.patch":
        return c.updateService(name, body);
      case "run.projects.locations.services.delete":
        return c.deleteService(name);
      case "run.CreateWorkerPool":
        return c.createWorkerPool(parent, query.get("workerPoolId") ?? "", body);
      case "run.GetWorkerPool":
        return c.getWorkerPool(name);
      case "run.ListWorkerPools":
        return page(c.listWorkerPools(parent), "workerPools");
      case "run.UpdateWorkerPool":
        return c.updateWorkerPool(params["workerPool.name"] ?? "", body);
      case "run.DeleteWorkerPool":
        return c.deleteWorkerPool(name);
      case "run.CreateInstance":
        return c.createInstance(parent, query.get("instanceId") ?? "", body);
      case "run.GetInstance":
        return c.getInstance(name);
      case "run.ListInstances":
        return page(c.listInstances(parent), "instances");
      case "run.DeleteInstance":
        return c.deleteInstance(name);
      case "run.projects.locations.operations.get":
        return c.getOperation(name);
      case "secretmanager.CreateSecret":
        return c.createSecret(parent, query.get("secretId") ?? "", body);
      case "secretmanager.GetSecret":
        return c.getSecret(name);
      case "secretmanager.AddSecretVersion":
        return c.addSecretVersion(parent, body);
      case "secretmanager.DeleteSecret":
        return c.deleteSecret(name);
      case "secretmanager.ListSecrets":
        return page(c.listSecrets(parent, query.get("filter")), "secrets", 25_000);
      case "logging.ListLogEntries": {
        const filter = typeof body.filter === "string" ? body.filter : "";
        const entries = c.listLogEntries(filter, typeof body.orderBy === "string" ? body.orderBy : undefined);
        const size = typeof body.pageSize === "number" ? body.pageSize : 1000;
        const offset =
          typeof body.pageToken === "string" && body.pageToken !== "" ? Number(body.pageToken) : 0;
        const slice = entries.slice(offset, offset + size);
        return {
          entries: slice,
          ...(offset + size < entries.length ? { nextPageToken: String(offset + size) } : {}),
        };
      }
      default:
        throw new SimError(501, "UNIMPLEMENTED", `The simulator does not implement ${operation}.`);
    }
  }
}

function paginate(items: unknown[], field: string, query: URLSearchParams, max: number): Json {
  const requested = Number(query.get("pageSize") ?? "0");
  const size = requested > 0 ? Math.min(requested, max) : 100;
  const token = query.get("pageToken");
  const offset = token === null || token === "" ? 0 : Number(Buffer.from(token, "base64").toString("utf8"));
  const slice = items.slice(offset, offset + size);
  const next =
    offset + size < items.length ? Buffer.from(String(offset + size)).toString("base64") : undefined;
  return { [field]: slice, ...(next === undefined ? {} : { nextPageToken: next }) };
}

const HTTP_CODES: Record<string, number> = {
  INVALID_ARGUMENT: 3,
  FAILED_PRECONDITION: 9,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  UNAVAILABLE: 14,
  INTERNAL: 13,
  UNIMPLEMENTED: 12,
  DEADLINE_EXCEEDED: 4,
};

function errorReply(error: SimError): { status: number; body: Json; headers: Record<string, string> } {
  const details: Json[] = [];
  if (error.reason !== undefined)
    details.push({
      "@type": "type.googleapis.com/google.rpc.ErrorInfo",
      reason: error.reason,
      domain: "run.googleapis.com",
    });
  if (error.retryDelaySeconds !== undefined)
    details.push({
      "@type": "type.googleapis.com/google.rpc.RetryInfo",
      retryDelay: `${error.retryDelaySeconds}s`,
    });
  return {
    status: error.httpStatus,
    body: { error: { code: error.httpStatus, message: error.message, status: error.status, details } },
    headers: error.retryDelaySeconds === undefined ? {} : { "retry-after": String(error.retryDelaySeconds) },
  };
}

/** A running simulator server. */
export interface SimulatorServer {
  sim: CloudRunSimulator;
  port: number;
  close(): Promise<void>;
}

/** Starts the simulator on 127.0.0.1 (port 0). */
export async function startSimulator(options: SimCloudOptions): Promise<SimulatorServer> {
  const sim = new CloudRunSimulator(options);
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      let reply: { status: number; body: Json; headers: Record<string, string> };
      try {
        reply = sim.handle(
          req.method ?? "GET",
          new URL(req.url ?? "/", "http://127.0.0.1"),
          Buffer.concat(chunks).toString("utf8"),
        );
      } catch (error) {
        reply = errorReply(new SimError(500, "INTERNAL", `simulator bug: ${String(error)}`));
      }
      res.writeHead(reply.status, { "content-type": "application/json; charset=utf-8", ...reply.headers });
      res.end(JSON.stringify(reply.body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    sim,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => {
          resolve();
        });
      }),
  };
}

export { HTTP_CODES };
