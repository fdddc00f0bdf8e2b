/**
 * A small JSON-schema validator for the subset `interlink-api.schema.json` uses (type unions,
 * properties, additionalProperties, items, required, $ref, anyOf, enum, formats `date-time` and
 * `base64`). The simulator answers a request that fails it the way the Go server fails to decode
 * a body, and records the violation for the tests to assert on.
 */
import { readFileSync } from "node:fs";

/** A schema node of the supported subset. */
export interface SchemaNode {
  $ref?: string;
  $comment?: string;
  type?: string | string[];
  properties?: Record<string, SchemaNode>;
  additionalProperties?: boolean | SchemaNode;
  items?: SchemaNode;
  required?: string[];
  anyOf?: SchemaNode[];
  enum?: unknown[];
  format?: string;
}

/** The schema file: one request/response schema per interLink operation. */
export interface InterLinkApiSchema {
  $comment: string;
  operations: Record<string, { request?: SchemaNode; response?: SchemaNode }>;
  definitions: Record<string, SchemaNode>;
}

/** Loads the schema derived from interLink's OpenAPI description. */
export function loadInterLinkSchema(): InterLinkApiSchema {
  const url = new URL("./interlink-api.schema.json", import.meta.url);
  return JSON.parse(readFileSync(url, "utf8")) as InterLinkApiSchema;
}

function typeOf(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  if (typeof value === "number") return Number.isInteger(value) ? "integer" : "number";
  return typeof value;
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
// Go's time.Time unmarshals RFC 3339 with optional fractional seconds.
const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

/** Validates `value` against `node`; returns one message per violation (`$.pod.spec: ...`). */
export function validate(schema: InterLinkApiSchema, node: SchemaNode, value: unknown, path = "$"): string[] {
  if (node.$ref !== undefined) {
    const name = node.$ref.replace("#/definitions/", "");
    const target = schema.definitions[name];
    if (target === undefined) return [`${path}: schema has no definition ${name}`];
    return validate(schema, target, value, path);
  }
  if (node.anyOf !== undefined) {
    const results = node.anyOf.map((n) => validate(schema, n, value, path));
    return results.some((r) => r.length === 0) ? [] : (results[0] ?? []);
  }
  const actual = typeOf(value);
  if (node.type !== undefined) {
    const allowed = Array.isArray(node.type) ? node.type : [node.type];
    const ok = allowed.includes(actual) || (actual === "integer" && allowed.includes("number"));
    if (!ok) return [`${path}: expected ${allowed.join(" or ")}, got ${actual}`];
  }
  if (node.enum !== undefined && !node.enum.includes(value)) {
    return [`${path}: ${JSON.stringify(value)} is not one of ${JSON.stringify(node.enum)}`];
  }
  const errors: string[] = [];
  if (
    typeof value === "string" &&
    node.format === "base64" &&
    (value.length % 4 !== 0 || !BASE64.test(value))
  ) {
    errors.push(`${path}: not base64`);
  }
  if (typeof value === "string" && node.format === "date-time" && !DATE_TIME.test(value)) {
    errors.push(`${path}: not an RFC 3339 date-time`);
  }
  if (actual === "array" && node.items !== undefined) {
    (value as unknown[]).forEach((item, i) =>
      errors.push(...validate(schema, node.items ?? {}, item, `${path}[${String(i)}]`)),
    );
  }
  if (actual === "object") {
    const object = value as Record<string, unknown>;
    for (const key of node.required ?? []) {
      if (!(key in object)) errors.push(`${path}: missing required member ${key}`);
    }
    for (const [key, member] of Object.entries(object)) {
      const declared = node.properties?.[key];
      if (declared !== undefined) {
        errors.push(...validate(schema, declared, member, `${path}.${key}`));
      } else if (node.additionalProperties === false) {
        errors.push(`${path}: unknown member ${key}`);
      } else if (typeof node.additionalProperties === "object") {
        errors.push(...validate(schema, node.additionalProperties, member, `${path}.${key}`));
      }
    }
  }
  return errors;
}
