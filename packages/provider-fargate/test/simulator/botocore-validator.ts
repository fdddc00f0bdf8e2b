/**
 * Validates a JSON request body against a botocore service model (service-2.json): required
 * members, unknown members, types, enums, list/string/number bounds. This is what the real
 * service checks before it touches state, so the simulator rejects what ECS would reject.
 */
import { readFileSync } from "node:fs";

/** One reason a request does not match the model. */
export interface Violation {
  operation: string;
  /** JSON path inside the request, e.g. `containerDefinitions[0].portMappings[1].protocol`. */
  path: string;
  /** `required`, `unknown`, `type`, `enum`, `min`, `max`. */
  kind: "required" | "unknown" | "type" | "enum" | "min" | "max" | "operation";
  message: string;
}

interface BotocoreMember {
  shape: string;
}

interface BotocoreShape {
  type: string;
  required?: string[];
  members?: Record<string, BotocoreMember>;
  member?: BotocoreMember;
  key?: BotocoreMember;
  value?: BotocoreMember;
  enum?: string[];
  min?: number;
  max?: number;
}

interface BotocoreModel {
  metadata: { targetPrefix?: string };
  operations: Record<string, { input?: BotocoreMember; output?: BotocoreMember }>;
  shapes: Record<string, BotocoreShape>;
}

/** A loaded botocore model that validates operation inputs. */
export class BotocoreValidator {
  readonly model: BotocoreModel;

  constructor(modelPath: string) {
    this.model = JSON.parse(readFileSync(modelPath, "utf8")) as BotocoreModel;
  }

  /** Whether the model defines the operation. */
  has(operation: string): boolean {
    return operation in this.model.operations;
  }

  /** Every violation of `body` against the input shape of `operation` (empty when valid). */
  validate(operation: string, body: unknown): Violation[] {
    const op = this.model.operations[operation];
    if (op === undefined) {
      return [{ operation, path: "", kind: "operation", message: `unknown operation ${operation}` }];
    }
    const out: Violation[] = [];
    if (op.input !== undefined) this.#check(operation, op.input.shape, body ?? {}, "", out);
    return out;
  }

  #check(operation: string, shapeName: string, value: unknown, path: string, out: Violation[]): void {
    const shape = this.model.shapes[shapeName];
    const at = path === "" ? "(root)" : path;
    const add = (kind: Violation["kind"], message: string): void => {
      out.push({ operation, path: at, kind, message });
    };
    if (shape === undefined) {
      add("type", `model has no shape ${shapeName}`);
      return;
    }
    // JSON null is how the SDK never sends an absent member; treat it as a type error like AWS does.
    switch (shape.type) {
      case "structure": {
        if (typeof value !== "object" || value === null || Array.isArray(value)) {
          add("type", `expected an object (${shapeName})`);
          return;
        }
        const record = value as Record<string, unknown>;
        for (const name of shape.required ?? []) {
          if (record[name] === undefined) {
            out.push({
              operation,
              path: join(path, name),
              kind: "required",
              message: `missing required member ${name} of ${shapeName}`,
            });
          }
        }
        for (const [name, member] of Object.entries(record)) {
          const def = shape.members?.[name];
          if (def === undefined) {
            out.push({
              operation,
              path: join(path, name),
              kind: "unknown",
              message: `unknown member ${name} of ${shapeName}`,
            });
            continue;
          }
          if (member === undefined) continue;
          this.#check(operation, def.shape, member, join(path, name), out);
        }
        return;
      }
      case "list": {
        if (!Array.isArray(value)) {
          add("type", `expected a list (${shapeName})`);
          return;
        }
        bounds(value.length, shape, "items", add);
        value.forEach((item, i) => {
          if (shape.member !== undefined)
            this.#check(operation, shape.member.shape, item, `${path}[${i}]`, out);
        });
        return;
      }
      case "map": {
        if (typeof value !== "object" || value === null || Array.isArray(value)) {
          add("type", `expected a map (${shapeName})`);
          return;
        }
        const entries = Object.entries(value as Record<string, unknown>);
        bounds(entries.length, shape, "entries", add);
        for (const [k, v] of entries) {
          if (shape.key !== undefined) this.#check(operation, shape.key.shape, k, `${path}{key}`, out);
          if (shape.value !== undefined) this.#check(operation, shape.value.shape, v, `${path}.${k}`, out);
        }
        return;
      }
      case "string": {
        if (typeof value !== "string") {
          add("type", `expected a string (${shapeName})`);
          return;
        }
        if (shape.enum !== undefined && !shape.enum.includes(value)) {
          add("enum", `${JSON.stringify(value)} is not one of ${shape.enum.join(", ")}`);
        }
        bounds(value.length, shape, "characters", add);
        return;
      }
      case "integer":
      case "long": {
        if (typeof value !== "number" || !Number.isInteger(value)) {
          add("type", `expected an integer (${shapeName})`);
          return;
        }
        bounds(value, shape, "", add);
        return;
      }
      case "double":
      case "float":
        if (typeof value !== "number") add("type", `expected a number (${shapeName})`);
        return;
      case "boolean":
        if (typeof value !== "boolean") add("type", `expected a boolean (${shapeName})`);
        return;
      case "timestamp":
        // awsJson1_1 sends timestamps as epoch seconds.
        if (typeof value !== "number") add("type", `expected epoch seconds (${shapeName})`);
        return;
      case "blob":
        if (typeof value !== "string") add("type", `expected base64 text (${shapeName})`);
        return;
      default:
        add("type", `unhandled shape type ${shape.type}`);
    }
  }
}

function join(path: string, name: string): string {
  return path === "" ? name : `${path}.${name}`;
}

function bounds(
  n: number,
  shape: BotocoreShape,
  unit: string,
  add: (kind: Violation["kind"], message: string) => void,
): void {
  const suffix = unit === "" ? "" : ` ${unit}`;
  if (shape.min !== undefined && n < shape.min) add("min", `${n}${suffix} is below the minimum ${shape.min}`);
  if (shape.max !== undefined && n > shape.max) add("max", `${n}${suffix} is above the maximum ${shape.max}`);
}
