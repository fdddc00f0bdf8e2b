/**
 * Structured logging. The {@link Logger} shape is the subset of pino that core uses, so a pino
 * instance can be passed as is; {@link createConsoleLogger} is the dependency-free default.
 */
import { redactSecrets } from "./errors.js";

export interface Logger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
  /** A logger that adds `bindings` to every record. */
  child(bindings: Record<string, unknown>): Logger;
}

export type LogLevel = "debug" | "info" | "warn" | "error";

/** Pino's numeric levels, so thresholds compare the same way. */
const LEVELS: Record<LogLevel | "silent", number> = { debug: 20, info: 30, warn: 40, error: 50, silent: 100 };

export interface ConsoleLoggerOptions {
  /** Records below this level are dropped. Default `info`. */
  level?: LogLevel | "silent";
  /** Where lines go. Default `process.stderr`, which keeps stdout free for program output. */
  stream?: { write(line: string): unknown };
  /** Fields on every record. */
  bindings?: Record<string, unknown>;
  /** Default `Date.now`; tests pass a fixed clock. */
  now?: () => number;
}

/** Keys whose values are credentials whatever they look like, so pattern-based redaction is not enough. */
const SECRET_KEY =
  /^(password|passwd|secret|token|apikey|api_key|authorization|cookie|set-cookie|accountkey|client_secret|private_?key|credentials?|access_?token|refresh_?token|id_?token|bearer_?token|aws_secret_access_key)$/i;

const MAX_DEPTH = 8;

/**
 * Makes a value JSON-safe and secret-free: every string goes through `redactSecrets`, values
 * under secret-named keys are replaced, binary data is summarised (it may be a mounted Secret's
 * file), and cycles and very deep nesting are cut.
 */
function sanitize(value: unknown, depth: number, seen: Set<object>): unknown {
  switch (typeof value) {
    case "string":
      return redactSecrets(value);
    case "number":
      return Number.isFinite(value) ? value : String(value);
    case "boolean":
      return value;
    case "bigint":
      return value.toString();
    case "undefined":
    case "function":
    case "symbol":
      return undefined;
  }
  if (typeof value !== "object" || value === null) return null;
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? "Invalid Date" : value.toISOString();
  if (ArrayBuffer.isView(value) || value instanceof ArrayBuffer) return `[binary ${value.byteLength} bytes]`;
  if (seen.has(value)) return "[Circular]";
  if (depth >= MAX_DEPTH) return "[Object]";
  seen.add(value);
  try {
    if (value instanceof Error) return sanitizeError(value, depth, seen);
    if (Array.isArray(value)) return value.map((item) => sanitize(item, depth + 1, seen) ?? null);
    if (value instanceof Map) return sanitizeEntries(value.entries(), depth, seen);
    if (value instanceof Set) return [...value].map((item) => sanitize(item, depth + 1, seen) ?? null);
    return sanitizeEntries(Object.entries(value), depth, seen);
  } finally {
    seen.delete(value);
  }
}

function sanitizeEntries(
  entries: Iterable<[unknown, unknown]>,
  depth: number,
  seen: Set<object>,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [rawKey, item] of entries) {
    const key = String(rawKey);
    const clean = SECRET_KEY.test(key) && item != null ? "[REDACTED]" : sanitize(item, depth + 1, seen);
    if (clean !== undefined) out[key] = clean;
  }
  return out;
}

function sanitizeError(error: Error, depth: number, seen: Set<object>): Record<string, unknown> {
  const out: Record<string, unknown> = { type: error.name, message: redactSecrets(error.message) };
  const extra = sanitizeEntries(Object.entries(error), depth, seen);
  Object.assign(out, extra);
  if (error.stack !== undefined) out.stack = redactSecrets(error.stack);
  if (error.cause !== undefined) out.cause = sanitize(error.cause, depth + 1, seen);
  return out;
}

class ConsoleLogger implements Logger {
  readonly #threshold: number;
  readonly #stream: { write(line: string): unknown };
  readonly #bindings: Record<string, unknown>;
  readonly #now: () => number;

  constructor(
    threshold: number,
    stream: { write(line: string): unknown },
    bindings: Record<string, unknown>,
    now: () => number,
  ) {
    this.#threshold = threshold;
    this.#stream = stream;
    this.#bindings = bindings;
    this.#now = now;
  }

  debug(obj: object, msg?: string): void {
    this.#write("debug", obj, msg);
  }
  info(obj: object, msg?: string): void {
    this.#write("info", obj, msg);
  }
  warn(obj: object, msg?: string): void {
    this.#write("warn", obj, msg);
  }
  error(obj: object, msg?: string): void {
    this.#write("error", obj, msg);
  }

  child(bindings: Record<string, unknown>): Logger {
    return new ConsoleLogger(this.#threshold, this.#stream, { ...this.#bindings, ...bindings }, this.#now);
  }

  #write(level: LogLevel, obj: object, msg: string | undefined): void {
    if (LEVELS[level] < this.#threshold) return;
    // Logging must never take the caller down: a throwing getter or a closed stream loses the line only.
    try {
      const time = new Date(this.#now()).toISOString();
      const seen = new Set<object>();
      const fields = obj instanceof Error ? { err: obj } : obj;
      seen.add(fields);
      const record: Record<string, unknown> = {
        time,
        level,
        ...sanitizeEntries(Object.entries(this.#bindings), 0, seen),
        ...sanitizeEntries(Object.entries(fields), 0, seen),
      };
      // Reserved fields win over same-named bindings or fields; they keep their leading position.
      record.time = time;
      record.level = level;
      if (msg !== undefined) record.msg = redactSecrets(msg);
      this.#stream.write(`${JSON.stringify(record)}\n`);
    } catch {
      // Nowhere better to report it.
    }
  }
}

/** A logger writing one JSON object per line: `time` (ISO 8601), `level`, bindings, fields, `msg`. */
export function createConsoleLogger(options: ConsoleLoggerOptions = {}): Logger {
  return new ConsoleLogger(
    LEVELS[options.level ?? "info"],
    options.stream ?? process.stderr,
    options.bindings ?? {},
    options.now ?? Date.now,
  );
}

/** Discards everything; the default wherever a logger is optional. */
export const noopLogger: Logger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
  child() {
    return noopLogger;
  },
};
