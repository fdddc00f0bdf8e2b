/**
 * Errors carry meaning by type and by a stable `code`, never by message text.
 *
 * `instanceof` works across duplicate copies of this package (two versions in one
 * `node_modules` tree): every class checks a brand registered with `Symbol.for`, and the
 * subclasses compare codes rather than prototypes.
 */

const BRAND = Symbol.for("@virtual-node/core.error");

/** Stable error codes. New codes may be added; existing ones never change meaning. */
export const ErrorCodes = {
  /** The object does not exist (in the provider or in the API). */
  NotFound: "VN_NOT_FOUND",
  /** The input is malformed; retrying the same input fails again. */
  InvalidInput: "VN_INVALID_INPUT",
  /** The provider cannot run a field or feature of the pod. */
  Unsupported: "VN_UNSUPPORTED",
  /** A transient failure (throttling, 5xx, network); retry, after `retryAfterMs` if set. */
  Retryable: "VN_RETRYABLE",
  /** A failure that retrying will not fix (quota exhausted, auth refused, ...). */
  Permanent: "VN_PERMANENT",
  /** The operation was cancelled through its AbortSignal. */
  Aborted: "VN_ABORTED",
  /** A pod references a ConfigMap, Secret or key that is missing (kubelet: CreateContainerConfigError). */
  ConfigError: "VN_CONFIG_ERROR",
} as const;

export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

export interface VirtualNodeErrorOptions {
  cause?: unknown;
  /** The pod field the error is about, as a JSON path such as `spec.volumes[2].persistentVolumeClaim`. */
  field?: string;
  /** The cloud's own error code (`ThrottlingException`, `RESOURCE_EXHAUSTED`, `InvalidContainerGroup`). */
  cloudCode?: string;
}

/** Base class of every error this SDK and its providers throw on purpose. */
export class VirtualNodeError extends Error {
  readonly code: ErrorCode;
  readonly field: string | undefined;
  /** The cloud's own error code, when the error came from a cloud API. */
  readonly cloudCode: string | undefined;

  constructor(code: ErrorCode, message: string, options: VirtualNodeErrorOptions = {}) {
    super(redactSecrets(message), options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "VirtualNodeError";
    this.code = code;
    this.field = options.field;
    this.cloudCode = options.cloudCode;
    Object.defineProperty(this, BRAND, { value: true });
  }

  static override [Symbol.hasInstance](value: unknown): boolean {
    if (!isBranded(value)) return false;
    const expected = (this as { expectedCode?: ErrorCode }).expectedCode;
    return expected === undefined || value.code === expected;
  }
}

function isBranded(value: unknown): value is VirtualNodeError {
  return typeof value === "object" && value !== null && (value as Record<symbol, unknown>)[BRAND] === true;
}

export class NotFoundError extends VirtualNodeError {
  static readonly expectedCode = ErrorCodes.NotFound;
  constructor(message: string, options?: VirtualNodeErrorOptions) {
    super(ErrorCodes.NotFound, message, options);
    this.name = "NotFoundError";
  }
}

export class InvalidInputError extends VirtualNodeError {
  static readonly expectedCode = ErrorCodes.InvalidInput;
  constructor(message: string, options?: VirtualNodeErrorOptions) {
    super(ErrorCodes.InvalidInput, message, options);
    this.name = "InvalidInputError";
  }
}

export class UnsupportedError extends VirtualNodeError {
  static readonly expectedCode = ErrorCodes.Unsupported;
  constructor(message: string, options?: VirtualNodeErrorOptions) {
    super(ErrorCodes.Unsupported, message, options);
    this.name = "UnsupportedError";
  }
}

export class RetryableError extends VirtualNodeError {
  static readonly expectedCode = ErrorCodes.Retryable;
  /** How long the remote asked us to wait (e.g. from `Retry-After`), if it said. */
  readonly retryAfterMs: number | undefined;
  constructor(message: string, options: VirtualNodeErrorOptions & { retryAfterMs?: number } = {}) {
    super(ErrorCodes.Retryable, message, options);
    this.name = "RetryableError";
    this.retryAfterMs = options.retryAfterMs;
  }
}

export class PermanentError extends VirtualNodeError {
  static readonly expectedCode = ErrorCodes.Permanent;
  constructor(message: string, options?: VirtualNodeErrorOptions) {
    super(ErrorCodes.Permanent, message, options);
    this.name = "PermanentError";
  }
}

export class AbortedError extends VirtualNodeError {
  static readonly expectedCode = ErrorCodes.Aborted;
  constructor(message = "operation aborted", options?: VirtualNodeErrorOptions) {
    super(ErrorCodes.Aborted, message, options);
    this.name = "AbortedError";
  }
}

/** A missing mandatory ConfigMap, Secret or key: the pod waits with `CreateContainerConfigError`. */
export class ConfigError extends VirtualNodeError {
  static readonly expectedCode = ErrorCodes.ConfigError;
  /** Stable Event reason such as `MandatorySecretNotFound`. */
  readonly reason: string;
  constructor(reason: string, message: string, options?: VirtualNodeErrorOptions) {
    super(ErrorCodes.ConfigError, message, options);
    this.name = "ConfigError";
    this.reason = reason;
  }
}

/** True when retrying the same call may succeed. Unknown errors count as retryable. */
export function isRetryable(error: unknown): boolean {
  if (!isBranded(error)) return true;
  return error.code === ErrorCodes.Retryable || error.code === ErrorCodes.ConfigError;
}

/** The code of an error, or `VN_UNKNOWN` for errors that did not come from this SDK. */
export function errorCode(error: unknown): ErrorCode | "VN_UNKNOWN" {
  return isBranded(error) ? error.code : "VN_UNKNOWN";
}

/** Throws an {@link AbortedError} if the signal is aborted. */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted === true) throw new AbortedError(undefined, { cause: signal.reason });
}

/** A short, single-line, secret-free description of any thrown value. */
export function describeError(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    const prefix = typeof code === "string" && code.length > 0 ? `${code}: ` : "";
    return redactSecrets(`${prefix}${error.message}`).replace(/\s+/g, " ").trim();
  }
  return redactSecrets(String(error));
}

const SECRET_PATTERNS: [RegExp, string][] = [
  [/(authorization:\s*)(bearer|basic)\s+[^\s"',]+/gi, "$1$2 [REDACTED]"],
  [/\b(bearer)\s+[A-Za-z0-9\-._~+/]+=*/gi, "$1 [REDACTED]"],
  [/-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----/g, "[REDACTED PRIVATE KEY]"],
  [
    /\b(password|passwd|secret|token|apikey|api_key|accountkey|sharedaccesssignature|sig|client_secret|x-amz-security-token|aws_secret_access_key)(["']?\s*[=:]\s*["']?)[^\s"'&,;]+/gi,
    "$1$2[REDACTED]",
  ],
  [/\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]+/g, "[REDACTED JWT]"],
];

/**
 * Removes credentials from text before it reaches an error message or a log line:
 * bearer tokens, JWTs, PEM private keys, and `key=value` pairs whose key names a secret.
 */
export function redactSecrets(text: string): string {
  let out = text;
  for (const [pattern, replacement] of SECRET_PATTERNS) out = out.replace(pattern, replacement);
  return out;
}
