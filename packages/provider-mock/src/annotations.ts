/**
 * Pod annotations that steer the simulator, and their parsers. Per-container forms append
 * `.<container>` to the name, e.g. `mock.virtual-node.io/exit-code.worker: "3"`.
 */
import { ErrorCodes, InvalidInputError } from "@virtual-node/core";
import type { ErrorCode } from "@virtual-node/core";
import { parseQuantity } from "@virtual-node/core/provider-kit";

export const MOCK_ANNOTATION_PREFIX = "mock.virtual-node.io/";

export const MockAnnotations = {
  /** Time in `ContainerCreating` before the first container starts (ms, or a Go duration such as `2s`). */
  startDelay: "mock.virtual-node.io/start-delay",
  /** How long each run of a container lasts; `forever` (default) never exits. Per-container form allowed. */
  runDuration: "mock.virtual-node.io/run-duration",
  /** Exit code at the end of a run (default 0). Per-container form allowed. */
  exitCode: "mock.virtual-node.io/exit-code",
  /** `"false"`: the container never becomes ready. Per-container form allowed. */
  ready: "mock.virtual-node.io/ready",
  /** Time from start to ready (default 0). Per-container form allowed. */
  readyDelay: "mock.virtual-node.io/ready-delay",
  /** Time containers take to stop on delete; longer than the grace period means SIGKILL (exit 137). */
  stopDelay: "mock.virtual-node.io/stop-delay",
  /** Make create fail: an error code (`Retryable`, `VN_PERMANENT`, `InvalidInput`, ...), optionally `:<times>`. */
  failCreate: "mock.virtual-node.io/fail-create",
  /** CPU the container reports as used (a quantity: `250m`, `1.5`). Per-container form allowed. */
  cpuUsage: "mock.virtual-node.io/cpu-usage",
  /** Memory working set the container reports (a quantity: `64Mi`, `1Gi`). Per-container form allowed. */
  memoryUsage: "mock.virtual-node.io/memory-usage",
} as const;

export type MockAnnotationName = (typeof MockAnnotations)[keyof typeof MockAnnotations];

/** The per-container form of an annotation. */
export function containerAnnotation(annotation: MockAnnotationName, container: string): string {
  return `${annotation}.${container}`;
}

const UNIT_MS: Record<string, number> = {
  h: 3_600_000,
  m: 60_000,
  s: 1000,
  ms: 1,
  us: 1e-3,
  µs: 1e-3,
  ns: 1e-6,
};

/**
 * Parses a duration: plain milliseconds (`"1500"`) or a Go duration (`"2s"`, `"1m30s"`, `"250ms"`).
 * Returns milliseconds, rounded; `undefined` when the text is not a duration.
 */
export function parseDuration(text: string): number | undefined {
  const value = text.trim();
  if (/^\d+(\.\d+)?$/.test(value)) return Math.round(Number(value));
  if (!/^(\d+(\.\d+)?(h|ms|m|s|us|µs|ns))+$/.test(value)) return undefined;
  let total = 0;
  for (const match of value.matchAll(/(\d+(?:\.\d+)?)(h|ms|m|s|us|µs|ns)/g)) {
    const unit = UNIT_MS[match[2] ?? ""] ?? 0;
    total += Number(match[1]) * unit;
  }
  return Math.round(total);
}

function invalid(key: string, value: string, expected: string): InvalidInputError {
  return new InvalidInputError(`annotation ${key}=${JSON.stringify(value)}: expected ${expected}`, {
    field: `metadata.annotations['${key}']`,
  });
}

export function durationAnnotation(key: string, value: string): number {
  const ms = parseDuration(value);
  if (ms === undefined) throw invalid(key, value, "milliseconds or a duration such as 2s");
  return ms;
}

/** Like {@link durationAnnotation}, plus `forever`/`never`/`infinite` for "no end" (`null`). */
export function runDurationAnnotation(key: string, value: string): number | null {
  if (/^(forever|never|inf(inite)?)$/i.test(value.trim())) return null;
  return durationAnnotation(key, value);
}

export function exitCodeAnnotation(key: string, value: string): number {
  const text = value.trim();
  const code = Number(text);
  if (!/^\d+$/.test(text) || code > 255) throw invalid(key, value, "an exit code 0..255");
  return code;
}

export function booleanAnnotation(key: string, value: string): boolean {
  const text = value.trim().toLowerCase();
  if (text === "true") return true;
  if (text === "false") return false;
  throw invalid(key, value, '"true" or "false"');
}

const CODE_ALIASES: Record<string, ErrorCode> = {
  notfound: ErrorCodes.NotFound,
  invalidinput: ErrorCodes.InvalidInput,
  unsupported: ErrorCodes.Unsupported,
  retryable: ErrorCodes.Retryable,
  permanent: ErrorCodes.Permanent,
};

/** `Retryable`, `retryable:2`, `VN_PERMANENT`, ... → an error code and an optional attempt count. */
export function failCreateAnnotation(key: string, value: string): { code: ErrorCode; times?: number } {
  const [name = "", times] = value.trim().split(":");
  const normalized = name.replace(/^VN_/i, "").replace(/[_-]/g, "").toLowerCase();
  const code = CODE_ALIASES[normalized];
  if (code === undefined)
    throw invalid(key, value, "Retryable, Permanent, InvalidInput, Unsupported or NotFound");
  if (times === undefined) return { code };
  if (!/^\d+$/.test(times)) throw invalid(key, value, "<code>:<number of attempts>");
  return { code, times: Number(times) };
}

/** A usage quantity (`cpu` in cores, `memory` in bytes), at least 0; `field` names the input in errors. */
export function usageQuantity(field: string, value: string, kind: "cpu" | "memory"): number {
  let amount: number;
  try {
    amount = parseQuantity(value);
  } catch {
    amount = Number.NaN;
  }
  if (!(amount >= 0)) {
    throw new InvalidInputError(
      `${field}=${JSON.stringify(value)}: expected a ${kind} quantity such as ${kind === "cpu" ? "250m" : "64Mi"}`,
      { field },
    );
  }
  return amount;
}

/** `mock.virtual-node.io/cpu-usage` → nanocores. */
export function cpuUsageAnnotation(key: string, value: string): number {
  return Math.round(usageQuantity(`metadata.annotations['${key}']`, value, "cpu") * 1e9);
}

/** `mock.virtual-node.io/memory-usage` → bytes. */
export function memoryUsageAnnotation(key: string, value: string): number {
  return Math.round(usageQuantity(`metadata.annotations['${key}']`, value, "memory"));
}
