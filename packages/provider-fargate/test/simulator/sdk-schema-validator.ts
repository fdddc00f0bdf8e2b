/**
 * Validates a JSON request body against the Smithy schemas that an `@aws-sdk/client-*` package
 * ships (`<Operation>$` exports of its `schemas_0.js`). Used for CloudWatch Logs and Secrets
 * Manager, whose botocore models are not in the fixtures. These schemas carry member names,
 * types and the count of required members, but not enum values or length bounds, so this checks
 * required, unknown and type only.
 */
import type { Violation } from "./botocore-validator.js";

// Static schema tags of @smithy/core/schema.
const SIMPLE = 0;
const LIST = 1;
const MAP = 2;
const STRUCT = 3;
const LIST_BIT = 64;
const MAP_BIT = 128;

type Ref = unknown;

function deref(ref: Ref): unknown {
  return typeof ref === "function" ? (ref as () => unknown)() : ref;
}

/** `[schema, traits]` as a member reference (length 2), versus a static schema (length ≥ 4). */
function unwrapMember(ref: Ref): unknown {
  const value = deref(ref);
  if (Array.isArray(value) && value.length === 2) return deref(value[0]);
  return value;
}

/** Validates requests against a map of operation name → operation schema (`GetLogEvents$`). */
export class SdkSchemaValidator {
  readonly #operations: Map<string, unknown>;

  constructor(operations: Record<string, unknown>) {
    this.#operations = new Map(Object.entries(operations));
  }

  /** Whether an operation schema was given for `operation`. */
  has(operation: string): boolean {
    return this.#operations.has(operation);
  }

  /** Every violation of `body` against the operation's input schema (empty when valid). */
  validate(operation: string, body: unknown): Violation[] {
    const op = this.#operations.get(operation);
    if (!Array.isArray(op)) {
      return [{ operation, path: "", kind: "operation", message: `unknown operation ${operation}` }];
    }
    const out: Violation[] = [];
    this.#check(operation, deref(op[4]), body ?? {}, "", out);
    return out;
  }

  #check(operation: string, schema: unknown, value: unknown, path: string, out: Violation[]): void {
    const add = (kind: Violation["kind"], message: string): void => {
      out.push({ operation, path: path === "" ? "(root)" : path, kind, message });
    };
    const s = unwrapMember(schema);
    if (typeof s === "number") {
      this.#primitive(s, value, path, operation, out);
      return;
    }
    if (!Array.isArray(s)) {
      add("type", "unreadable schema");
      return;
    }
    const tag = s[0] as number;
    const name = String(s[2]);
    switch (tag) {
      case SIMPLE:
        this.#check(operation, s[4], value, path, out);
        return;
      case LIST:
        if (!Array.isArray(value)) {
          add("type", `expected a list (${name})`);
          return;
        }
        value.forEach((item, i) => {
          this.#check(operation, s[4], item, `${path}[${i}]`, out);
        });
        return;
      case MAP:
        if (typeof value !== "object" || value === null || Array.isArray(value)) {
          add("type", `expected a map (${name})`);
          return;
        }
        for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
          this.#check(operation, s[5], v, `${path}.${k}`, out);
        }
        return;
      case STRUCT: {
        if (typeof value !== "object" || value === null || Array.isArray(value)) {
          add("type", `expected an object (${name})`);
          return;
        }
        const names = s[4] as string[];
        const members = s[5] as unknown[];
        const required = typeof s[6] === "number" ? s[6] : 0;
        const record = value as Record<string, unknown>;
        names.slice(0, required).forEach((member) => {
          if (record[member] === undefined) {
            out.push({
              operation,
              path: path === "" ? member : `${path}.${member}`,
              kind: "required",
              message: `missing required member ${member} of ${name}`,
            });
          }
        });
        for (const [key, member] of Object.entries(record)) {
          const index = names.indexOf(key);
          const at = path === "" ? key : `${path}.${key}`;
          if (index < 0) {
            out.push({ operation, path: at, kind: "unknown", message: `unknown member ${key} of ${name}` });
            continue;
          }
          if (member !== undefined) this.#check(operation, members[index], member, at, out);
        }
        return;
      }
      default:
        add("type", `unhandled schema tag ${tag}`);
    }
  }

  #primitive(code: number, value: unknown, path: string, operation: string, out: Violation[]): void {
    const at = path === "" ? "(root)" : path;
    const add = (message: string): void => {
      out.push({ operation, path: at, kind: "type", message });
    };
    if (code & LIST_BIT) {
      if (!Array.isArray(value)) add("expected a list");
      else
        value.forEach((v, i) => {
          this.#primitive(code & ~LIST_BIT, v, `${path}[${i}]`, operation, out);
        });
      return;
    }
    if (code & MAP_BIT) {
      if (typeof value !== "object" || value === null || Array.isArray(value)) add("expected a map");
      else
        for (const [k, v] of Object.entries(value as Record<string, unknown>))
          this.#primitive(code & ~MAP_BIT, v, `${path}.${k}`, operation, out);
      return;
    }
    if (code === 0 && typeof value !== "string") add("expected a string");
    else if (code === 1 && typeof value !== "number") add("expected a number");
    else if (code === 2 && typeof value !== "boolean") add("expected a boolean");
    else if (code >= 4 && code <= 7 && typeof value !== "number" && typeof value !== "string")
      add("expected a timestamp");
    else if (code === 21 && typeof value !== "string") add("expected base64 text");
  }
}
