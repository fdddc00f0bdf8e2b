/**
 * A validator for request bodies against the ACI ARM swagger in the shared fixtures
 * (`Microsoft.ContainerInstance` stable 2026-05-01). It checks what ARM checks before a request
 * reaches the resource provider: required members, JSON types, enums, unknown members (objects
 * that list their `properties` and allow no `additionalProperties`), and read-only members sent
 * by the client.
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

/** A JSON schema node as the swagger writes it (only the keywords used by the ACI spec). */
export interface SchemaNode {
  $ref?: string;
  type?: string;
  properties?: Record<string, SchemaNode>;
  additionalProperties?: boolean | SchemaNode;
  required?: string[];
  items?: SchemaNode;
  enum?: unknown[];
  allOf?: SchemaNode[];
  readOnly?: boolean;
  format?: string;
}

interface Swagger {
  definitions: Record<string, SchemaNode>;
  paths: Record<
    string,
    Record<string, { parameters?: { in?: string; name?: string; schema?: SchemaNode }[] }>
  >;
}

/** The swagger file in the shared fixtures. */
export const SWAGGER_PATH = fileURLToPath(
  new URL("../fixtures/2026-05-01/containerInstance.json", import.meta.url),
);

// common-types/resource-management/v5 definitions the ACI spec refers to; only their shape
// matters here (all read-only resource envelope fields).
const COMMON: Record<string, SchemaNode> = {
  ProxyResource: {
    type: "object",
    properties: {
      id: { type: "string", readOnly: true },
      name: { type: "string", readOnly: true },
      type: { type: "string", readOnly: true },
      systemData: { type: "object", readOnly: true, additionalProperties: true },
    },
  },
  systemData: { type: "object", readOnly: true, additionalProperties: true },
  ErrorResponse: { type: "object", additionalProperties: true },
};

/** One problem found in a body: where (JSON path) and what. */
export interface SchemaViolation {
  path: string;
  message: string;
}

/** Validates values against named definitions of the ACI swagger. */
export class SwaggerValidator {
  readonly #swagger: Swagger;

  constructor(path: string = SWAGGER_PATH) {
    this.#swagger = JSON.parse(readFileSync(path, "utf8")) as Swagger;
  }

  /** Names of all definitions (for tests). */
  get definitionNames(): string[] {
    return Object.keys(this.#swagger.definitions);
  }

  /** The schema of the body parameter of `method` on the swagger path template `pathTemplate`. */
  bodyDefinition(pathTemplate: string, method: string): SchemaNode | undefined {
    const operation = this.#swagger.paths[pathTemplate]?.[method.toLowerCase()];
    return operation?.parameters?.find((p) => p.in === "body")?.schema;
  }

  /** Validates `value` against definition `name` (e.g. `ContainerGroup`). */
  validate(name: string, value: unknown): SchemaViolation[] {
    const violations: SchemaViolation[] = [];
    this.#check({ $ref: `#/definitions/${name}` }, value, "$", violations);
    return violations;
  }

  /** Validates `value` against a schema node taken from the swagger. */
  validateNode(node: SchemaNode, value: unknown): SchemaViolation[] {
    const violations: SchemaViolation[] = [];
    this.#check(node, value, "$", violations);
    return violations;
  }

  #resolve(node: SchemaNode): SchemaNode {
    let current = node;
    for (let depth = 0; current.$ref !== undefined && depth < 20; depth++) {
      const ref = current.$ref;
      const hash = ref.indexOf("#/definitions/");
      const name = ref.slice(hash + "#/definitions/".length);
      const target = ref.startsWith("#") ? this.#swagger.definitions[name] : COMMON[name];
      if (target === undefined) throw new Error(`swagger: unresolvable $ref ${ref}`);
      current = { ...node, ...target, $ref: target.$ref };
    }
    return current;
  }

  /** Properties and required members of an object schema, with `allOf` merged in. */
  #flatten(node: SchemaNode): { properties: Record<string, SchemaNode>; required: string[]; open: boolean } {
    const resolved = this.#resolve(node);
    const properties: Record<string, SchemaNode> = { ...resolved.properties };
    const required = [...(resolved.required ?? [])];
    let open = resolved.additionalProperties !== undefined && resolved.additionalProperties !== false;
    for (const part of resolved.allOf ?? []) {
      const flat = this.#flatten(part);
      Object.assign(properties, flat.properties);
      required.push(...flat.required);
      open ||= flat.open;
    }
    return { properties, required, open };
  }

  #check(node: SchemaNode, value: unknown, path: string, out: SchemaViolation[]): void {
    const schema = this.#resolve(node);
    if (schema.readOnly === true) {
      out.push({ path, message: "is read-only and must not be sent" });
      return;
    }
    if (schema.enum !== undefined && !schema.enum.includes(value)) {
      out.push({
        path,
        message: `must be one of ${schema.enum.map(String).join(", ")}; got ${JSON.stringify(value)}`,
      });
      return;
    }
    const type =
      schema.type ?? (schema.properties !== undefined || schema.allOf !== undefined ? "object" : undefined);
    switch (type) {
      case undefined:
        return; // e.g. emptyDir: any value
      case "string":
        if (typeof value !== "string")
          out.push({ path, message: `must be a string; got ${typeName(value)}` });
        return;
      case "boolean":
        if (typeof value !== "boolean")
          out.push({ path, message: `must be a boolean; got ${typeName(value)}` });
        return;
      case "integer":
        if (typeof value !== "number" || !Number.isInteger(value))
          out.push({ path, message: `must be an integer; got ${JSON.stringify(value)}` });
        return;
      case "number":
        if (typeof value !== "number" || !Number.isFinite(value))
          out.push({ path, message: `must be a number; got ${typeName(value)}` });
        return;
      case "array":
        if (!Array.isArray(value)) {
          out.push({ path, message: `must be an array; got ${typeName(value)}` });
          return;
        }
        value.forEach((item, i) => {
          if (schema.items !== undefined) this.#check(schema.items, item, `${path}[${String(i)}]`, out);
        });
        return;
      case "object": {
        if (typeof value !== "object" || value === null || Array.isArray(value)) {
          out.push({ path, message: `must be an object; got ${typeName(value)}` });
          return;
        }
        const record = value as Record<string, unknown>;
        const flat = this.#flatten(schema);
        for (const key of flat.required) {
          if (record[key] === undefined) out.push({ path: `${path}.${key}`, message: "is required" });
        }
        const extra =
          typeof schema.additionalProperties === "object" ? schema.additionalProperties : undefined;
        for (const [key, member] of Object.entries(record)) {
          if (member === undefined) continue;
          const property = flat.properties[key];
          if (property !== undefined) this.#check(property, member, `${path}.${key}`, out);
          else if (extra !== undefined) this.#check(extra, member, `${path}.${key}`, out);
          else if (!flat.open) out.push({ path: `${path}.${key}`, message: "is not a known member" });
        }
        return;
      }
      default:
        return;
    }
  }
}

function typeName(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  return typeof value;
}
