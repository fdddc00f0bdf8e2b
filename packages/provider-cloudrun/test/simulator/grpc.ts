/**
 * The simulator's gRPC face: an insecure `@grpc/grpc-js` server on 127.0.0.1 that serves the Cloud
 * Run v2 services (Jobs, Executions, Tasks, WorkerPools, Services, Instances), the
 * `google.longrunning.Operations` service, Secret Manager and Cloud Logging from the client
 * libraries' own protobuf descriptors, and answers from the SAME {@link CloudRunSimulator} state
 * as the HTTP face.
 *
 * Each call is decoded with protobufjs, turned into its proto3 JSON form and transcoded by the
 * method's `google.api.http` rule into the REST request the HTTP face takes (path parameters,
 * body field, the rest as query) — so the request is validated against the same schemas, recorded
 * and fault-injected the same way. The REST answer is encoded back into the method's response
 * type; an error becomes a gRPC status with its `google.rpc.Status` (ErrorInfo, RetryInfo) in the
 * `grpc-status-details-bin` trailer, as Google's front ends send it.
 */
import * as grpc from "@grpc/grpc-js";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import protobuf from "protobufjs";
import { fromProto3JSON, toProto3JSON } from "proto3-json-serializer";
import type { JSONObject, JSONValue } from "proto3-json-serializer";
import type { CloudRunSimulator } from "./server.js";

type Json = Record<string, unknown>;

const require = createRequire(import.meta.url);

/** The descriptors the client libraries ship, and the services of each this face serves. */
function descriptors(): { root: protobuf.Root; services: string[] }[] {
  const logging = createRequire(require.resolve("@google-cloud/logging"));
  const run = protobuf.Root.fromJSON(
    require("@google-cloud/run/build/protos/protos.json") as protobuf.INamespace,
  );
  return [
    {
      root: run,
      services: [
        "google.cloud.run.v2.Jobs",
        "google.cloud.run.v2.Executions",
        "google.cloud.run.v2.Tasks",
        "google.cloud.run.v2.WorkerPools",
        "google.cloud.run.v2.Services",
        "google.cloud.run.v2.Instances",
        "google.longrunning.Operations",
      ],
    },
    {
      root: protobuf.Root.fromJSON(
        require("@google-cloud/secret-manager/build/protos/protos.json") as protobuf.INamespace,
      ),
      services: ["google.cloud.secretmanager.v1.SecretManagerService"],
    },
    {
      root: protobuf.Root.fromJSON(
        logging("@google-cloud/logging-api/build/protos/protos.json") as protobuf.INamespace,
      ),
      services: ["google.logging.v2.LoggingServiceV2"],
    },
  ];
}

/** One `google.api.http` binding. */
export interface HttpRule {
  verb: string;
  path: string;
  body: string | undefined;
}

function httpRule(method: protobuf.Method): HttpRule | undefined {
  // Run's operations are served under /v2 (its service config rebinds google.longrunning).
  if (method.parent?.fullName === ".google.longrunning.Operations") {
    if (method.name === "GetOperation") return { verb: "GET", path: "/v2/{name=**}", body: undefined };
    return undefined;
  }
  for (const option of method.parsedOptions ?? []) {
    const rule = (option as Record<string, unknown>)["(google.api.http)"] as
      Record<string, unknown> | undefined;
    if (rule === undefined) continue;
    for (const verb of ["get", "post", "put", "patch", "delete"]) {
      const path = rule[verb];
      if (typeof path === "string")
        return {
          verb: verb.toUpperCase(),
          path,
          body: typeof rule.body === "string" ? rule.body : undefined,
        };
    }
  }
  return undefined;
}

const text = (value: unknown): string => (typeof value === "string" ? value : "");

const jsonName = (name: string): string => name.replace(/_([a-z0-9])/g, (_m, c: string) => c.toUpperCase());

/** Removes and returns the value at a dotted (proto) field path. */
function take(json: Json, field: string): unknown {
  const parts = field.split(".").map(jsonName);
  let node: Json = json;
  for (const part of parts.slice(0, -1)) {
    const next = node[part];
    if (typeof next !== "object" || next === null) return undefined;
    node = next as Json;
  }
  const last = parts.at(-1) ?? "";
  const value = node[last];
  Reflect.deleteProperty(node, last);
  return value;
}

function addQuery(query: URLSearchParams, prefix: string, value: unknown): void {
  if (value === undefined || value === null) return;
  if (Array.isArray(value)) {
    for (const item of value) addQuery(query, prefix, item);
  } else if (typeof value === "object") {
    for (const [key, item] of Object.entries(value as Json)) addQuery(query, `${prefix}.${key}`, item);
  } else if (typeof value === "string" || typeof value === "number" || typeof value === "boolean") {
    query.append(prefix, String(value));
  }
}

/** gRPC transcoding (AIP-127) of a request in proto3 JSON form into the REST request. */
export function transcode(rule: HttpRule, request: Json): { verb: string; url: URL; body: string } {
  const json = structuredClone(request);
  const path = rule.path.replace(/\{([^}=]+)(?:=[^}]*)?\}/g, (_m, field: string) => {
    const value = take(json, field);
    return typeof value === "string" ? value : "";
  });
  let body: unknown;
  if (rule.body === "*") {
    body = json;
  } else if (rule.body !== undefined) {
    body = take(json, rule.body);
  }
  const url = new URL(`http://127.0.0.1${path}`);
  if (rule.body !== "*")
    for (const [key, value] of Object.entries(json)) addQuery(url.searchParams, key, value);
  return { verb: rule.verb, url, body: body === undefined ? "" : JSON.stringify(body) };
}

let rpcRoot: protobuf.Root | undefined;

/** `google.rpc.Status`, ErrorInfo and RetryInfo (not in the libraries' descriptors): google-gax's protos. */
function rpcTypes(): protobuf.Root {
  if (rpcRoot === undefined) {
    const dir = join(dirname(require.resolve("google-gax")), "..", "protos");
    const root = new protobuf.Root();
    root.resolvePath = (_origin, target) => join(dir, target);
    root.loadSync(["google/rpc/status.proto", "google/rpc/error_details.proto"]);
    rpcRoot = root;
  }
  return rpcRoot;
}

/** `google.rpc.Status` (with ErrorInfo / RetryInfo as Any) for the error trailer. */
function statusDetails(error: Json, code: number): Buffer {
  const root = rpcTypes();
  const details: { type_url: string; value: Uint8Array }[] = [];
  for (const detail of (error.details ?? []) as Json[]) {
    const typeUrl = typeof detail["@type"] === "string" ? detail["@type"] : "";
    const type = root.lookupType(typeUrl.replace(/^type\.googleapis\.com\//, ""));
    const fields: Json = { ...detail };
    Reflect.deleteProperty(fields, "@type");
    const message = fromProto3JSON(type, fields as JSONObject);
    if (message !== null) details.push({ type_url: typeUrl, value: type.encode(message).finish() });
  }
  const Status = root.lookupType("google.rpc.Status");
  return Buffer.from(
    Status.encode(Status.fromObject({ code, message: text(error.message), details })).finish(),
  );
}

/** A running gRPC face. */
export interface GrpcFace {
  port: number;
  /** The gRPC method paths called, in order (`/google.cloud.run.v2.WorkerPools/CreateWorkerPool`). */
  calls: string[];
  close(): Promise<void>;
}

/** Serves `sim` over gRPC on 127.0.0.1 (port 0), insecure. */
export async function startGrpcFace(sim: CloudRunSimulator): Promise<GrpcFace> {
  const server = new grpc.Server();
  const calls: string[] = [];
  for (const { root, services } of descriptors()) {
    for (const serviceName of services) {
      const service = root.lookupService(serviceName);
      const definition: Record<string, grpc.MethodDefinition<Buffer, Buffer>> = {};
      const implementation: grpc.UntypedServiceImplementation = {};
      for (const method of service.methodsArray) {
        method.resolve();
        const requestType = method.resolvedRequestType;
        const responseType = method.resolvedResponseType;
        if (requestType === null || responseType === null) continue;
        definition[method.name] = {
          path: `/${serviceName}/${method.name}`,
          requestStream: false,
          responseStream: false,
          requestSerialize: (value: Buffer) => value,
          requestDeserialize: (bytes: Buffer) => bytes,
          responseSerialize: (value: Buffer) => value,
          responseDeserialize: (bytes: Buffer) => bytes,
        };
        const rule = httpRule(method);
        implementation[method.name] = (
          call: grpc.ServerUnaryCall<Buffer, Buffer>,
          callback: grpc.sendUnaryData<Buffer>,
        ) => {
          calls.push(`/${serviceName}/${method.name}`);
          if (rule === undefined) {
            callback({ code: grpc.status.UNIMPLEMENTED, details: `${serviceName}/${method.name}` });
            return;
          }
          try {
            const request = toProto3JSON(requestType.decode(call.request)) as Json;
            const rest = transcode(rule, request);
            const reply = sim.handle(rest.verb, rest.url, rest.body);
            if (reply.status === 200) {
              const message = fromProto3JSON(responseType, reply.body as JSONValue);
              if (message === null) throw new Error(`cannot encode ${responseType.fullName}`);
              callback(null, Buffer.from(responseType.encode(message).finish()));
              return;
            }
            const error = (reply.body.error ?? {}) as Json;
            const name = typeof error.status === "string" ? error.status : "UNKNOWN";
            const code: grpc.status =
              (grpc.status as unknown as Record<string, grpc.status | undefined>)[name] ??
              grpc.status.UNKNOWN;
            const metadata = new grpc.Metadata();
            metadata.set("grpc-status-details-bin", statusDetails(error, code));
            callback({ code, details: text(error.message) || name, metadata });
          } catch (error) {
            callback({ code: grpc.status.INTERNAL, details: `simulator bug: ${String(error)}` });
          }
        };
      }
      server.addService(definition, implementation);
    }
  }
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (error, bound) => {
      if (error === null) resolve(bound);
      else reject(error);
    });
  });
  return {
    port,
    calls,
    close: () =>
      new Promise<void>((resolve) => {
        server.tryShutdown(() => {
          resolve();
        });
      }),
  };
}
