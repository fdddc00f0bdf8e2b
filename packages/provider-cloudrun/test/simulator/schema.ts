/**
 * Request validation for the simulator, against the vendor's own schemas: the Cloud Run v2
 * discovery document from the fixtures, and (Secret Manager and Cloud Logging have no discovery
 * document in the fixtures) the protobuf JSON descriptors the client libraries ship
 * (`build/protos/protos.json`); Worker Pools and Instances, newer than that discovery document,
 * against their `.proto` files (fixtures, parsed with protobufjs). All are turned into one small schema form and one route table,
 * so every request — path, query and body — is checked the same way.
 */
import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import protobuf from "protobufjs";

/** A JSON schema node in the discovery document's dialect (the subset the APIs use). */
export interface Schema {
  type?: string;
  $ref?: string;
  format?: string;
  enum?: string[];
  items?: Schema;
  properties?: Record<string, Schema>;
  additionalProperties?: Schema;
  readOnly?: boolean;
  /** Discovery marks required members only in their description ("Required. …"). */
  description?: string;
  required?: boolean;
  location?: string;
  pattern?: string;
}

/** One HTTP route of an API method. */
export interface Route {
  /** `run.projects.locations.jobs.create`, `secretmanager.CreateSecret`, `logging.ListLogEntries`. */
  id: string;
  api: "run" | "secretmanager" | "logging";
  httpMethod: string;
  regex: RegExp;
  pathParams: string[];
  query: Record<string, Schema>;
  /** Schema name of the body, when the method takes one. */
  body: string | undefined;
}

export interface Violation {
  route: string;
  path: string;
  message: string;
}

/** Schemas by name plus routes, for one or more APIs. */
export interface SchemaSet {
  schemas: Record<string, Schema>;
  routes: Route[];
}

/** The discovery document, copied from the shared fixtures so a fresh clone has it (see SOURCES.md). */
export const runDiscoveryFile = fileURLToPath(new URL("../fixtures/run.v2.json", import.meta.url));

interface DiscoveryMethod {
  id: string;
  httpMethod: string;
  path: string;
  parameters?: Record<string, Schema>;
  request?: { $ref: string };
}

interface DiscoveryResource {
  methods?: Record<string, DiscoveryMethod>;
  resources?: Record<string, DiscoveryResource>;
}

function templateRegex(path: string, params: Record<string, Schema>): { regex: RegExp; names: string[] } {
  const names: string[] = [];
  let source = "";
  let rest = path;
  for (;;) {
    const open = rest.indexOf("{");
    if (open < 0) break;
    const close = rest.indexOf("}", open);
    source += escapeRegex(rest.slice(0, open));
    const name = rest.slice(open + 1, close).replace(/^\+/, "");
    names.push(name);
    const pattern = params[name]?.pattern?.replace(/^\^/, "").replace(/\$$/, "") ?? "[^/]+";
    source += `(${pattern})`;
    rest = rest.slice(close + 1);
  }
  source += escapeRegex(rest);
  return { regex: new RegExp(`^/${source}$`), names };
}

function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** Loads the Cloud Run v2 discovery document into schemas and routes. */
export function loadRunDiscovery(): SchemaSet {
  const doc = JSON.parse(readFileSync(runDiscoveryFile, "utf8")) as {
    schemas: Record<string, Schema>;
    resources: Record<string, DiscoveryResource>;
  };
  const routes: Route[] = [];
  const walk = (resources: Record<string, DiscoveryResource>): void => {
    for (const resource of Object.values(resources)) {
      for (const method of Object.values(resource.methods ?? {})) {
        const params = method.parameters ?? {};
        const { regex, names } = templateRegex(method.path, params);
        const query: Record<string, Schema> = {};
        for (const [name, p] of Object.entries(params)) if (p.location === "query") query[name] = p;
        routes.push({
          id: method.id,
          api: "run",
          httpMethod: method.httpMethod,
          regex,
          pathParams: names,
          query,
          body: method.request?.$ref,
        });
      }
      walk(resource.resources ?? {});
    }
  };
  walk(doc.resources);
  return { schemas: doc.schemas, routes };
}

// ---- protobuf JSON descriptors (protobufjs `protos.json`) -------------------------------------

interface ProtoField {
  type: string;
  rule?: string;
  keyType?: string;
  options?: Record<string, unknown>;
}
interface ProtoNode {
  fields?: Record<string, ProtoField>;
  values?: Record<string, number>;
  methods?: Record<
    string,
    { requestType: string; options?: Record<string, unknown>; parsedOptions?: Record<string, unknown>[] }
  >;
  nested?: Record<string, ProtoNode>;
}

const SCALARS: Record<string, Schema> = {
  string: { type: "string" },
  bytes: { type: "string", format: "byte" },
  bool: { type: "boolean" },
  double: { type: "number" },
  float: { type: "number" },
  int32: { type: "integer", format: "int32" },
  uint32: { type: "integer", format: "uint32" },
  sint32: { type: "integer", format: "int32" },
  fixed32: { type: "integer", format: "uint32" },
  sfixed32: { type: "integer", format: "int32" },
  int64: { type: "string", format: "int64" },
  uint64: { type: "string", format: "uint64" },
  sint64: { type: "string", format: "int64" },
  fixed64: { type: "string", format: "uint64" },
  sfixed64: { type: "string", format: "int64" },
};

const WELL_KNOWN: Record<string, Schema> = {
  "google.protobuf.Timestamp": { type: "string", format: "google-datetime" },
  "google.protobuf.Duration": { type: "string", format: "google-duration" },
  "google.protobuf.FieldMask": { type: "string", format: "google-fieldmask" },
  "google.protobuf.Struct": { type: "object", additionalProperties: { type: "any" } },
  "google.protobuf.Value": { type: "any" },
  "google.protobuf.Any": { type: "any" },
  "google.protobuf.Empty": { type: "object", properties: {} },
};

/**
 * Converts every message and enum of a protobufjs JSON descriptor into schemas named by their full
 * name, and every `google.api.http` rule of the given services into routes.
 */
export function loadProtoDescriptor(file: string, api: Route["api"], services: string[]): SchemaSet {
  return protoSchemaSet(JSON.parse(readFileSync(file, "utf8")) as ProtoNode, api, services);
}

/** proto field names as the JSON mapping spells them (`worker_pool` → `workerPool`). */
function jsonName(name: string): string {
  return name.replace(/_([a-z0-9])/g, (_m, c: string) => c.toUpperCase());
}

/** {@link loadProtoDescriptor} over an already parsed descriptor (`Root.toJSON()` of protobufjs). */
export function protoSchemaSet(root: ProtoNode, api: Route["api"], services: string[]): SchemaSet {
  const types = new Map<string, ProtoNode>();
  const collect = (node: ProtoNode, prefix: string): void => {
    for (const [name, child] of Object.entries(node.nested ?? {})) {
      const full = prefix === "" ? name : `${prefix}.${name}`;
      if (child.fields !== undefined || child.values !== undefined) types.set(full, child);
      collect(child, full);
    }
  };
  collect(root, "");
  // protobuf name resolution: innermost scope first.
  const resolve = (name: string, scope: string): string => {
    if (name.startsWith(".")) return name.slice(1);
    const parts = scope.split(".");
    for (let i = parts.length; i >= 0; i--) {
      const candidate = [...parts.slice(0, i), name].filter((p) => p !== "").join(".");
      if (types.has(candidate) || candidate in WELL_KNOWN) return candidate;
    }
    return name;
  };
  const schemas: Record<string, Schema> = {};
  const fieldSchema = (field: ProtoField, scope: string): Schema => {
    const base = (type: string): Schema => {
      const scalar = SCALARS[type];
      if (scalar !== undefined) return scalar;
      const full = resolve(type, scope);
      return WELL_KNOWN[full] ?? { $ref: full };
    };
    const behaviour = field.options?.["(google.api.field_behavior)"];
    let schema: Schema = base(field.type);
    if (field.keyType !== undefined) schema = { type: "object", additionalProperties: schema };
    else if (field.rule === "repeated") schema = { type: "array", items: schema };
    return {
      ...schema,
      ...(behaviour === "OUTPUT_ONLY" ? { readOnly: true } : {}),
      ...(behaviour === "REQUIRED" ? { required: true } : {}),
    };
  };
  for (const [full, node] of types) {
    if (node.values !== undefined) {
      schemas[full] = { type: "string", enum: Object.keys(node.values) };
      continue;
    }
    const properties: Record<string, Schema> = {};
    for (const [name, field] of Object.entries(node.fields ?? {}))
      properties[name] = fieldSchema(field, full);
    schemas[full] = { type: "object", properties };
  }
  const routes: Route[] = [];
  for (const service of services) {
    const node = types.get(service) ?? lookup(root, service);
    const pkg = service.split(".").slice(0, -1).join(".");
    for (const [methodName, method] of Object.entries(node?.methods ?? {})) {
      const request = resolve(method.requestType, pkg);
      const bindings = httpBindings(method.parsedOptions ?? []);
      for (const binding of bindings) {
        const names: string[] = [];
        let regexSource = "";
        let last = 0;
        for (const m of binding.path.matchAll(/\{([^}=]+)(?:=([^}]*))?\}/g)) {
          names.push(jsonName(m[1] ?? ""));
          const segments = (m[2] ?? "*").split("/");
          const body = segments
            .map((seg) => (seg === "**" ? ".+" : seg === "*" ? "[^/]+" : escapeRegex(seg)))
            .join("/");
          regexSource += `${escapeRegex(binding.path.slice(last, m.index))}(${body})`;
          last = m.index + m[0].length;
        }
        regexSource += escapeRegex(binding.path.slice(last));
        const requestSchema = schemas[request];
        const query: Record<string, Schema> = {};
        const bodyField =
          binding.body === undefined || binding.body === "*" ? binding.body : jsonName(binding.body);
        // A path parameter `worker_pool.name` takes the field out of the query (it is in the body).
        const pathTops = names.map((n) => n.split(".")[0] ?? n);
        if (bodyField !== "*") {
          for (const [field, schema] of Object.entries(requestSchema?.properties ?? {})) {
            if (pathTops.includes(field) || field === bodyField) continue;
            query[field] = schema;
          }
        }
        routes.push({
          id: `${api}.${methodName}`,
          api,
          httpMethod: binding.method,
          regex: new RegExp(`^${regexSource}$`),
          pathParams: names,
          query,
          body:
            bodyField === undefined
              ? undefined
              : bodyField === "*"
                ? bodyWithout(schemas, request, names)
                : refOf(requestSchema?.properties?.[bodyField]),
        });
      }
    }
  }
  return { schemas, routes };
}

/** `body: "*"` carries the request message minus the fields bound to the path. */
function bodyWithout(schemas: Record<string, Schema>, request: string, pathFields: string[]): string {
  const name = `${request}#body(${pathFields.join(",")})`;
  const properties = { ...schemas[request]?.properties };
  for (const field of pathFields) Reflect.deleteProperty(properties, field);
  schemas[name] = { type: "object", properties };
  return name;
}

function refOf(schema: Schema | undefined): string | undefined {
  return schema?.$ref;
}

function lookup(root: ProtoNode, name: string): ProtoNode | undefined {
  let node: ProtoNode | undefined = root;
  for (const part of name.split(".")) node = node?.nested?.[part];
  return node;
}

interface HttpBinding {
  method: string;
  path: string;
  body: string | undefined;
}

function httpBindings(parsed: Record<string, unknown>[]): HttpBinding[] {
  const out: HttpBinding[] = [];
  const add = (rule: Record<string, unknown>): void => {
    for (const method of ["get", "post", "put", "patch", "delete"]) {
      const path = rule[method];
      if (typeof path === "string")
        out.push({
          method: method.toUpperCase(),
          path,
          body: typeof rule.body === "string" ? rule.body : undefined,
        });
    }
    const extra = rule.additional_bindings;
    if (Array.isArray(extra)) for (const b of extra as Record<string, unknown>[]) add(b);
    else if (typeof extra === "object" && extra !== null) add(extra as Record<string, unknown>);
  };
  for (const option of parsed) {
    const rule = option["(google.api.http)"];
    if (typeof rule === "object" && rule !== null) add(rule as Record<string, unknown>);
  }
  return out;
}

const require = createRequire(import.meta.url);

/** The Run v2 protos copied from the shared fixtures (see SOURCES.md): Worker Pools and Instances. */
export const runProtoDir = fileURLToPath(new URL("../fixtures/protos/", import.meta.url));

/**
 * Cloud Run Worker Pools and Instances, which the discovery document (rev 20240614) predates:
 * their protos from the fixtures parsed with protobufjs (field names in their JSON form), the
 * `google.api.*`, `google.iam.*` and `google.protobuf.*` imports from google-gax's copies. Routes
 * come from the methods' `google.api.http` annotations (`run.CreateWorkerPool`, …).
 */
export function loadRunProtos(): SchemaSet {
  // google-gax exports no subpaths: its main module is build/src/index.js, the protos are build/protos.
  const gaxProtos = join(dirname(require.resolve("google-gax")), "..", "protos");
  const root = new protobuf.Root();
  root.resolvePath = (_origin, target) => {
    const local = join(runProtoDir, target);
    return existsSync(local) ? local : join(gaxProtos, target);
  };
  root.loadSync(["google/cloud/run/v2/worker_pool.proto", "google/cloud/run/v2/instance.proto"]);
  return protoSchemaSet(root.toJSON() as ProtoNode, "run", [
    "google.cloud.run.v2.WorkerPools",
    "google.cloud.run.v2.Instances",
  ]);
}

/** Secret Manager v1, from `@google-cloud/secret-manager`'s descriptor. */
export function loadSecretManagerDescriptor(): SchemaSet {
  return loadProtoDescriptor(
    require.resolve("@google-cloud/secret-manager/build/protos/protos.json"),
    "secretmanager",
    ["google.cloud.secretmanager.v1.SecretManagerService"],
  );
}

/** Cloud Logging v2, from `@google-cloud/logging-api`'s descriptor (what `@google-cloud/logging` uses). */
export function loadLoggingDescriptor(): SchemaSet {
  const resolved = require.resolve("@google-cloud/logging");
  const loggingRequire = createRequire(resolved);
  return loadProtoDescriptor(
    loggingRequire.resolve("@google-cloud/logging-api/build/protos/protos.json"),
    "logging",
    ["google.logging.v2.LoggingServiceV2"],
  );
}

// ---- validation --------------------------------------------------------------------------------

const DURATION = /^-?\d+(\.\d{1,9})?s$/;
const DATETIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;
const BASE64 = /^[A-Za-z0-9+/_-]*={0,2}$/;
/** The gRPC-transcoding system parameters the client libraries add. */
const SYSTEM_QUERY = new Set(["$alt", "alt", "$.xgafv", "prettyPrint", "fields", "key"]);

function isRequired(schema: Schema): boolean {
  return schema.required === true || (schema.description?.startsWith("Required.") ?? false);
}

/** Options of {@link validateValue}. */
export interface ValidateOptions {
  /** `$alt=json;enum-encoding=int`: enums may be sent as their numbers. */
  enumInt: boolean;
}

/** Checks `value` against `schema`, appending one violation per problem. */
export function validateValue(
  set: SchemaSet,
  schema: Schema,
  value: unknown,
  path: string,
  out: Omit<Violation, "route">[],
  options: ValidateOptions,
): void {
  if (schema.$ref !== undefined) {
    const target = set.schemas[schema.$ref];
    if (target === undefined) {
      out.push({ path, message: `unknown schema ${schema.$ref}` });
      return;
    }
    validateValue(set, target, value, path, out, options);
    return;
  }
  if (value === null) return; // JSON null means "default" in proto3 JSON
  if (schema.enum !== undefined) {
    if (typeof value === "string" && schema.enum.includes(value)) return;
    if (
      options.enumInt &&
      Number.isInteger(value) &&
      (value as number) >= 0 &&
      (value as number) < schema.enum.length
    )
      return;
    out.push({
      path,
      message: `invalid enum value ${JSON.stringify(value)} (expected one of ${schema.enum.join(", ")})`,
    });
    return;
  }
  switch (schema.type) {
    case "any":
    case undefined:
      return;
    case "string":
      if (schema.format === "int64" || schema.format === "uint64") {
        if ((typeof value === "string" && /^-?\d+$/.test(value)) || Number.isInteger(value)) return;
        out.push({ path, message: `expected an int64, got ${JSON.stringify(value)}` });
        return;
      }
      if (typeof value !== "string") {
        out.push({ path, message: `expected a string, got ${typeof value}` });
        return;
      }
      if (schema.format === "google-duration" && !DURATION.test(value))
        out.push({ path, message: `invalid Duration ${JSON.stringify(value)}` });
      if (schema.format === "google-datetime" && !DATETIME.test(value))
        out.push({ path, message: `invalid Timestamp ${JSON.stringify(value)}` });
      if (schema.format === "byte" && !BASE64.test(value))
        out.push({ path, message: "bytes must be base64" });
      return;
    case "integer":
      if (Number.isInteger(value) || (typeof value === "string" && /^-?\d+$/.test(value))) {
        const n = Number(value);
        if (schema.format === "int32" && (n < -2147483648 || n > 2147483647))
          out.push({ path, message: `int32 out of range: ${n}` });
        if (schema.format === "uint32" && (n < 0 || n > 4294967295))
          out.push({ path, message: `uint32 out of range: ${n}` });
        return;
      }
      out.push({ path, message: `expected an integer, got ${JSON.stringify(value)}` });
      return;
    case "number":
      if (typeof value !== "number") out.push({ path, message: `expected a number, got ${typeof value}` });
      return;
    case "boolean":
      if (typeof value !== "boolean") out.push({ path, message: `expected a boolean, got ${typeof value}` });
      return;
    case "array":
      if (!Array.isArray(value)) {
        out.push({ path, message: `expected an array, got ${typeof value}` });
        return;
      }
      value.forEach((item, i) => {
        validateValue(set, schema.items ?? {}, item, `${path}[${i}]`, out, options);
      });
      return;
    case "object": {
      if (typeof value !== "object" || Array.isArray(value)) {
        out.push({
          path,
          message: `expected an object, got ${Array.isArray(value) ? "array" : typeof value}`,
        });
        return;
      }
      const record = value as Record<string, unknown>;
      if (schema.properties === undefined) {
        if (schema.additionalProperties !== undefined)
          for (const [key, item] of Object.entries(record))
            validateValue(set, schema.additionalProperties, item, `${path}.${key}`, out, options);
        return;
      }
      for (const [key, item] of Object.entries(record)) {
        const member = schema.properties[key];
        if (member === undefined) {
          out.push({ path: `${path}.${key}`, message: "unknown field" });
          continue;
        }
        if (member.readOnly === true && !isEmpty(item)) {
          out.push({ path: `${path}.${key}`, message: "output-only field set in a request" });
          continue;
        }
        validateValue(set, member, item, `${path}.${key}`, out, options);
      }
      for (const [key, member] of Object.entries(schema.properties)) {
        if (isRequired(member) && member.readOnly !== true && isEmpty(record[key]))
          out.push({ path: `${path}.${key}`, message: "required field missing" });
      }
      return;
    }
    default:
      out.push({ path, message: `schema type ${schema.type} not understood by the validator` });
  }
}

function isEmpty(value: unknown): boolean {
  return (
    value === undefined || value === null || value === "" || (Array.isArray(value) && value.length === 0)
  );
}

/** A matched route with its path parameters. */
export interface RouteMatch {
  route: Route;
  params: Record<string, string>;
}

/** Finds the route of a request; the most specific (longest pattern) wins. */
export function matchRoute(set: SchemaSet, method: string, path: string): RouteMatch | undefined {
  let best: RouteMatch | undefined;
  for (const route of set.routes) {
    if (route.httpMethod !== method) continue;
    const m = route.regex.exec(path);
    if (m === null) continue;
    if (best !== undefined && best.route.regex.source.length >= route.regex.source.length) continue;
    const params: Record<string, string> = {};
    route.pathParams.forEach((name, i) => {
      params[name] = decodeURIComponent(m[i + 1] ?? "");
    });
    best = { route, params };
  }
  return best;
}

/** Validates one request's query and body against its route. */
export function validateRequest(
  set: SchemaSet,
  route: Route,
  query: URLSearchParams,
  body: unknown,
): Violation[] {
  const out: Omit<Violation, "route">[] = [];
  const alt = query.get("$alt") ?? query.get("alt") ?? "";
  const options: ValidateOptions = { enumInt: alt.includes("enum-encoding=int") };
  for (const [name, raw] of query) {
    if (SYSTEM_QUERY.has(name)) continue;
    const top = name.split(".")[0] ?? name;
    const schema = route.query[top];
    if (schema === undefined) {
      out.push({ path: `?${name}`, message: "unknown query parameter" });
      continue;
    }
    const typed: unknown =
      schema.type === "integer"
        ? Number(raw)
        : schema.type === "boolean"
          ? raw === "true" || raw === "false"
            ? raw === "true"
            : raw
          : raw;
    if (!name.includes(".")) validateValue(set, schema, typed, `?${name}`, out, options);
  }
  for (const [name, schema] of Object.entries(route.query)) {
    if (isRequired(schema) && !query.has(name))
      out.push({ path: `?${name}`, message: "required query parameter missing" });
  }
  if (route.body !== undefined) {
    if (body === undefined) out.push({ path: "body", message: "request body missing" });
    else validateValue(set, { $ref: route.body }, body, "body", out, options);
  } else if (
    body !== undefined &&
    !(typeof body === "object" && body !== null && Object.keys(body).length === 0)
  ) {
    out.push({ path: "body", message: "this method takes no body" });
  }
  return out.map((v) => ({ route: route.id, ...v }));
}
