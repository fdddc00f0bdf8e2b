/**
 * Cloud SDK errors → the typed errors of core, in one place, so every provider classifies a
 * 404, a throttle or a bad request the same way and the pod status names the cloud's own code.
 *
 * The rule is the HTTP status (`errorFromHttpStatus`); each SDK adapter first finds its error in
 * whatever wraps it (`cause` chains, `AggregateError`), then refines the status by the cloud's
 * code, because the status alone misleads: AWS sends throttles as HTTP 400, Google's gRPC errors
 * carry no HTTP status at all. Messages go through `redactSecrets` (the `VirtualNodeError`
 * constructor); only the SDK's message and code are copied, never headers or requests.
 */
import {
  AbortedError,
  InvalidInputError,
  NotFoundError,
  PermanentError,
  RetryableError,
  UnsupportedError,
  VirtualNodeError,
  describeError,
} from "../errors.js";

// A symbol registered with Symbol.for, like core's error brand, so two copies of core agree.
const THROTTLE = Symbol.for("@virtual-node/core.provider-kit.throttle");

/** Options of {@link errorFromHttpStatus}. */
export interface HttpErrorOptions {
  /** The cloud's own error code; kept in `error.cloudCode` and put in front of the message. */
  cloudCode?: string;
  /** How long the cloud asked us to wait (from `Retry-After` or the error body). */
  retryAfterMs?: number;
  /** The original error, for logs. */
  cause?: unknown;
  /** The pod field the error is about. */
  field?: string;
  /**
   * Whether this is the cloud throttling us (see {@link isThrottle}). Default: status 429. Only
   * meaningful for retryable errors.
   */
  throttle?: boolean;
}

/**
 * `Retry-After` → milliseconds. Accepts delay-seconds (`"120"`, also fractional, or a number) and
 * an HTTP date (compared with `now`, which defaults to `Date.now()`; a date in the past is 0).
 * Anything else, empty or negative is `undefined`.
 */
export function parseRetryAfter(
  value: string | number | null | undefined,
  now = Date.now(),
): number | undefined {
  if (value === null || value === undefined) return undefined;
  if (typeof value === "number")
    return Number.isFinite(value) && value >= 0 ? Math.round(value * 1000) : undefined;
  const text = value.trim();
  if (text === "") return undefined;
  if (/^\d+(\.\d+)?$/.test(text)) return Math.round(Number(text) * 1000);
  // Only a date-looking string: Date.parse would also accept "12" or "-5" as dates.
  if (!/[a-z]/i.test(text)) return undefined;
  const date = Date.parse(text);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/**
 * The typed error for an HTTP status: 404 → `NotFoundError`; 400, 422 → `InvalidInputError`;
 * 501 → `UnsupportedError`; 408, 409, 429, other 5xx → `RetryableError` (with `retryAfterMs`);
 * 401, 403 and other 4xx → `PermanentError`. A status outside 400–599 (0: no answer) counts as a
 * transport failure → `RetryableError`. With `cloudCode`, the message reads `<cloudCode>: <message>`.
 */
export function errorFromHttpStatus(
  status: number,
  message: string,
  options: HttpErrorOptions = {},
): VirtualNodeError {
  const { cloudCode } = options;
  const text =
    cloudCode === undefined || message.startsWith(cloudCode) ? message : `${cloudCode}: ${message}`;
  const base = {
    ...(options.cause === undefined ? {} : { cause: options.cause }),
    ...(options.field === undefined ? {} : { field: options.field }),
    ...(cloudCode === undefined ? {} : { cloudCode }),
  };
  if (status === 404) return new NotFoundError(text, base);
  if (status === 400 || status === 422) return new InvalidInputError(text, base);
  if (status === 501) return new UnsupportedError(text, base);
  if (status >= 400 && status < 500 && status !== 408 && status !== 409 && status !== 429) {
    return new PermanentError(text, base);
  }
  return retryable(text, base, options.retryAfterMs, options.throttle ?? status === 429);
}

function retryable(
  message: string,
  base: { cause?: unknown; field?: string; cloudCode?: string },
  retryAfterMs: number | undefined,
  throttle: boolean,
): RetryableError {
  const error = new RetryableError(message, {
    ...base,
    ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
  });
  if (throttle) Object.defineProperty(error, THROTTLE, { value: true });
  return error;
}

/**
 * True for a `RetryableError` that came from the cloud throttling us (HTTP 429, AWS
 * `ThrottlingException` and its kin, Google `RESOURCE_EXHAUSTED`, Azure `TooManyRequests`), as
 * opposed to an outage or a conflict: the rate limiter slows down only for these.
 */
export function isThrottle(error: unknown): boolean {
  return error instanceof RetryableError && (error as unknown as Record<symbol, unknown>)[THROTTLE] === true;
}

/** The kind an adapter decided on; `status` means "let the HTTP status decide". */
type Kind = "notFound" | "invalid" | "unsupported" | "permanent" | "retryable" | "throttle" | "status";

// Each kind is expressed as the status that means it, so the one status rule builds the error.
const STATUS_OF: Record<Exclude<Kind, "status">, number> = {
  notFound: 404,
  invalid: 400,
  unsupported: 501,
  permanent: 403,
  retryable: 503,
  throttle: 429,
};

function build(
  kind: Kind,
  status: number | undefined,
  message: string,
  options: { cloudCode: string | undefined; retryAfterMs: number | undefined; cause: unknown },
): VirtualNodeError {
  const http: HttpErrorOptions = {
    cause: options.cause,
    ...(options.cloudCode === undefined ? {} : { cloudCode: options.cloudCode }),
    ...(options.retryAfterMs === undefined ? {} : { retryAfterMs: options.retryAfterMs }),
  };
  if (kind === "status") {
    return errorFromHttpStatus(status ?? 0, message, http);
  }
  return errorFromHttpStatus(STATUS_OF[kind], message, { ...http, throttle: kind === "throttle" });
}

type Bag = Record<string, unknown>;

function isObject(value: unknown): value is Bag {
  return typeof value === "object" && value !== null;
}

/**
 * The first value in `error`'s wrapping (itself, then `cause` chains and `AggregateError.errors`,
 * breadth first) that `match` accepts. Bounded and cycle-safe.
 */
function findInChain(error: unknown, match: (value: Bag) => boolean): Bag | undefined {
  const seen = new Set<unknown>();
  let level: unknown[] = [error];
  for (let depth = 0; depth < 8 && level.length > 0; depth++) {
    const next: unknown[] = [];
    for (const value of level) {
      if (!isObject(value) || seen.has(value)) continue;
      seen.add(value);
      if (match(value)) return value;
      if ("cause" in value) next.push(value.cause);
      if (Array.isArray(value.errors)) next.push(...(value.errors as unknown[]));
    }
    level = next;
  }
  return undefined;
}

/**
 * What every adapter does with an error that carries no cloud shape: a typed error in its chain
 * is returned, an `AbortError` becomes `AbortedError`, anything else is a transport failure.
 */
function notFromTheCloud(error: unknown): VirtualNodeError {
  // A typed error wrapped by someone else's code keeps its meaning.
  const typed = findInChain(error, (e) => e instanceof VirtualNodeError);
  if (typed instanceof VirtualNodeError) return typed;
  if (findInChain(error, (e) => e.name === "AbortError") !== undefined) {
    return new AbortedError(undefined, { cause: error });
  }
  // A socket reset, DNS failure or timeout before any answer: the next attempt may well work.
  return new RetryableError(describeError(error), { cause: error });
}

function text(value: unknown): string | undefined {
  return typeof value === "string" && value !== "" ? value : undefined;
}

function num(value: unknown): number | undefined {
  return typeof value === "number" && Number.isFinite(value) ? value : undefined;
}

/** A header from a plain record, a `Headers`-like object (`get`), case-insensitively. */
function header(headers: unknown, name: string): string | undefined {
  if (!isObject(headers)) return undefined;
  if (typeof headers.get === "function") {
    const value: unknown = (headers.get as (n: string) => unknown).call(headers, name);
    return typeof value === "string" ? value : undefined;
  }
  const lower = name.toLowerCase();
  for (const [key, value] of Object.entries(headers)) {
    if (key.toLowerCase() === lower)
      return typeof value === "string" ? value : Array.isArray(value) ? String(value[0]) : undefined;
  }
  return undefined;
}

/** Every header as `[lower-case name, value]`, from a plain record or an iterable `HttpHeaders`. */
function headerEntries(headers: unknown): [string, string][] {
  if (!isObject(headers)) return [];
  const out: [string, string][] = [];
  const entries: unknown[] = isIterable(headers) ? [...headers] : Object.entries(headers);
  for (const entry of entries) {
    if (Array.isArray(entry) && typeof entry[0] === "string")
      out.push([entry[0].toLowerCase(), String(entry[1])]);
  }
  return out;
}

function isIterable(value: object): value is Iterable<unknown> {
  return typeof (value as Partial<Iterable<unknown>>)[Symbol.iterator] === "function";
}

function millis(value: string | undefined): number | undefined {
  if (value === undefined || !/^\d+(\.\d+)?$/.test(value.trim())) return undefined;
  return Math.round(Number(value.trim()));
}

// ---------------------------------------------------------------------------------------------
// AWS SDK v3

// The AWS SDK's own throttling names (@smithy/core retry: THROTTLING_ERROR_CODES).
const AWS_THROTTLE = new Set([
  "BandwidthLimitExceeded",
  "EC2ThrottledException",
  "LimitExceededException",
  "PriorRequestNotComplete",
  "ProvisionedThroughputExceededException",
  "RequestLimitExceeded",
  "RequestThrottled",
  "RequestThrottledException",
  "SlowDown",
  "ThrottledException",
  "Throttling",
  "ThrottlingException",
  "TooManyRequestsException",
  "TransactionInProgressException",
]);
const AWS_RETRYABLE = new Set([
  "ServerException",
  "InternalFailure",
  "InternalServerError",
  "InternalServerException",
  "ServiceUnavailable",
  "ServiceUnavailableException",
  "RequestTimeout",
  "RequestTimeoutException",
  "TimeoutError",
]);
const AWS_INVALID = new Set([
  "ClientException",
  "InvalidParameterException",
  "InvalidParameterValue",
  "InvalidParameterValueException",
  "InvalidParameterCombination",
  "InvalidRequestException",
  "ValidationException",
  "ValidationError",
  "MissingParameter",
  "SerializationException",
]);
const AWS_PERMANENT = new Set([
  "AccessDeniedException",
  "AccessDenied",
  "UnauthorizedOperation",
  "UnrecognizedClientException",
  "InvalidClientTokenId",
  "InvalidSignatureException",
  "SignatureDoesNotMatch",
  "ExpiredTokenException",
  "ExpiredToken",
  "IncompleteSignature",
  "MissingAuthenticationToken",
  "AuthFailure",
  "OptInRequired",
]);
const AWS_UNSUPPORTED = new Set([
  "UnsupportedFeatureException",
  "UnsupportedOperation",
  "UnsupportedOperationException",
]);

function isAwsShape(value: Bag): boolean {
  // ServiceException: `$metadata` always, `$fault` "client" | "server" on modeled errors.
  return isObject(value.$metadata) || value.$fault === "client" || value.$fault === "server";
}

/**
 * An AWS SDK v3 error (a `ServiceException` such as `ECSServiceException`, modeled or not) → a
 * typed error, found also inside `cause` chains and `AggregateError`s. Classified by `name`
 * (`ThrottlingException` → throttle although ECS sends it as HTTP 400; `ClientException`,
 * `InvalidParameterException` → InvalidInput; `ServerException` → Retryable; `AccessDeniedException`
 * → Permanent; `…NotFoundException` → NotFound), by `$retryable`, then by
 * `$metadata.httpStatusCode`. Retry delay from the response's `x-amz-retry-after` (ms) or
 * `Retry-After`. `now` is for HTTP-date `Retry-After` values.
 */
export function fromAwsError(error: unknown, now = Date.now()): VirtualNodeError {
  if (error instanceof VirtualNodeError) return error;
  const aws = findInChain(error, isAwsShape);
  if (aws === undefined) return notFromTheCloud(error);
  const name = text(aws.name);
  const metadata = isObject(aws.$metadata) ? aws.$metadata : {};
  const response = isObject(aws.$response) ? aws.$response : {};
  const status = num(metadata.httpStatusCode) ?? num(response.statusCode);
  const retryTrait = isObject(aws.$retryable) ? aws.$retryable : undefined;
  const retryAfterMs =
    millis(header(response.headers, "x-amz-retry-after")) ??
    parseRetryAfter(header(response.headers, "retry-after"), now);
  let kind: Kind;
  if (name !== undefined && AWS_THROTTLE.has(name)) kind = "throttle";
  else if (retryTrait?.throttling === true || status === 429) kind = "throttle";
  else if (name !== undefined && AWS_PERMANENT.has(name)) kind = "permanent";
  // ECS sometimes wraps a throttle in a client error ("InvalidParameterException: … Rate exceeded").
  else if (
    name !== undefined &&
    AWS_INVALID.has(name) &&
    /\bRate exceeded\b|ThrottlingException/.test(text(aws.message) ?? "")
  )
    kind = "throttle";
  else if (name !== undefined && AWS_INVALID.has(name)) kind = "invalid";
  else if (name !== undefined && AWS_UNSUPPORTED.has(name)) kind = "unsupported";
  else if (
    name !== undefined &&
    (name.endsWith("NotFoundException") || name === "NotFound" || name === "NoSuchEntity")
  )
    kind = "notFound";
  else if ((name !== undefined && AWS_RETRYABLE.has(name)) || retryTrait !== undefined) kind = "retryable";
  else kind = "status"; // no status either: errorFromHttpStatus counts it as a transport failure
  // An unmodeled error built from a bare status is named after it ("503"): no code to keep.
  const cloudCode = name !== undefined && !/^\d+$/.test(name) && name !== "UnknownError" ? name : undefined;
  const message = text(aws.message) ?? cloudCode ?? `AWS answered HTTP ${String(status ?? "error")}`;
  return build(kind, status, message, { cloudCode, retryAfterMs, cause: error });
}

// ---------------------------------------------------------------------------------------------
// Azure

const AZURE_THROTTLE = new Set([
  "TooManyRequests",
  "SubscriptionRequestsThrottled",
  "TenantRequestsThrottled",
  "ResourceRequestsThrottled",
  "RequestThrottled",
  "Throttled",
]);
const AZURE_NOT_FOUND = new Set([
  "NotFound",
  "ResourceNotFound",
  "ResourceGroupNotFound",
  "ContainerGroupNotFound",
]);
const AZURE_INVALID = new Set([
  "InvalidRequestContent",
  "InvalidRequestFormat",
  "InvalidParameter",
  "InvalidResourceName",
  "InvalidTemplate",
  "BadRequest",
]);
const AZURE_PERMANENT = new Set([
  "AuthorizationFailed",
  "AuthenticationFailed",
  "LinkedAuthorizationFailed",
  "InvalidAuthenticationToken",
  "InvalidAuthenticationTokenTenant",
  "ExpiredAuthenticationToken",
  "MissingSubscriptionRegistration",
  "SubscriptionNotFound",
  "QuotaExceeded",
  "ContainerGroupQuotaReached",
]);
const AZURE_RETRYABLE = new Set([
  "ServiceUnavailable",
  "InternalServerError",
  "GatewayTimeout",
  "AnotherOperationInProgress",
  "Conflict",
  "REQUEST_SEND_ERROR",
  "PARSE_ERROR",
]);

function isAzureShape(value: Bag): boolean {
  if (value.name === "RestError") return true;
  // A RestError from a second copy of core-rest-pipeline, or a hand-built one: status + response.
  return num(value.statusCode) !== undefined && isObject(value.response) && "headers" in value.response;
}

/**
 * An Azure SDK error (`RestError` of `@azure/core-rest-pipeline`) → a typed error, found also
 * inside `cause` chains. Classified by the ARM `code` (`ResourceNotFound` → NotFound,
 * `InvalidRequestContent`/`InvalidContainerGroup…` → InvalidInput, `TooManyRequests`/`…Throttled`
 * → throttle, `AuthorizationFailed` → Permanent, `REQUEST_SEND_ERROR` → Retryable), then by
 * `statusCode`. Retry delay from `retry-after-ms`, `x-ms-retry-after-ms` or `Retry-After`, like
 * the SDK's own throttling policy. On a throttle the message names the exhausted
 * `x-ms-ratelimit-remaining-*` budgets, which tells ARM's subscription limit from the resource
 * provider's.
 */
export function fromAzureError(error: unknown, now = Date.now()): VirtualNodeError {
  if (error instanceof VirtualNodeError) return error;
  const azure = findInChain(error, isAzureShape);
  if (azure === undefined) return notFromTheCloud(error);
  const code = text(azure.code);
  const response = isObject(azure.response) ? azure.response : {};
  const status = num(azure.statusCode) ?? num(response.status);
  const headers = response.headers;
  const retryAfterMs =
    millis(header(headers, "retry-after-ms")) ??
    millis(header(headers, "x-ms-retry-after-ms")) ??
    parseRetryAfter(header(headers, "retry-after"), now);
  let kind: Kind;
  if (status === 429 || (code !== undefined && AZURE_THROTTLE.has(code))) kind = "throttle";
  else if (code === undefined) kind = status === undefined ? "retryable" : "status";
  else if (AZURE_NOT_FOUND.has(code)) kind = "notFound";
  else if (AZURE_PERMANENT.has(code)) kind = "permanent";
  else if (AZURE_INVALID.has(code) || code.startsWith("InvalidContainerGroup")) kind = "invalid";
  else if (AZURE_RETRYABLE.has(code)) kind = "retryable";
  else kind = status === undefined ? "retryable" : "status";
  let message = text(azure.message) ?? code ?? `Azure answered HTTP ${String(status ?? "error")}`;
  if (kind === "throttle") {
    const exhausted = headerEntries(headers)
      .filter(
        ([name, value]) =>
          name.startsWith("x-ms-ratelimit-remaining-") && Number(value.split(";").pop()) <= 0,
      )
      // The resource provider's header names its policy: `Microsoft.ContainerInstance/<policy>;0`.
      .map(([name, value]) =>
        value.includes(";") ? `${name} ${value.slice(0, value.lastIndexOf(";"))}` : name,
      );
    if (exhausted.length > 0) message += ` (exhausted: ${exhausted.join(", ")})`;
  }
  return build(kind, status, message, { cloudCode: code, retryAfterMs, cause: error });
}

// ---------------------------------------------------------------------------------------------
// Google

// google.rpc.Code, by number.
const GRPC_NAMES = [
  "OK",
  "CANCELLED",
  "UNKNOWN",
  "INVALID_ARGUMENT",
  "DEADLINE_EXCEEDED",
  "NOT_FOUND",
  "ALREADY_EXISTS",
  "PERMISSION_DENIED",
  "RESOURCE_EXHAUSTED",
  "FAILED_PRECONDITION",
  "ABORTED",
  "OUT_OF_RANGE",
  "UNIMPLEMENTED",
  "INTERNAL",
  "UNAVAILABLE",
  "DATA_LOSS",
  "UNAUTHENTICATED",
] as const;

const GRPC_KIND: Record<(typeof GRPC_NAMES)[number], Kind> = {
  OK: "retryable",
  CANCELLED: "retryable",
  UNKNOWN: "retryable",
  INVALID_ARGUMENT: "invalid",
  DEADLINE_EXCEEDED: "retryable",
  NOT_FOUND: "notFound",
  // Retrying a create that collides will collide again; providers adopt by `cloudCode`.
  ALREADY_EXISTS: "permanent",
  PERMISSION_DENIED: "permanent",
  RESOURCE_EXHAUSTED: "throttle",
  FAILED_PRECONDITION: "invalid",
  ABORTED: "retryable",
  OUT_OF_RANGE: "invalid",
  UNIMPLEMENTED: "unsupported",
  INTERNAL: "retryable",
  UNAVAILABLE: "retryable",
  DATA_LOSS: "permanent",
  UNAUTHENTICATED: "permanent",
};

function grpcName(value: unknown): (typeof GRPC_NAMES)[number] | undefined {
  if (typeof value === "string")
    return (GRPC_NAMES as readonly string[]).includes(value)
      ? (value as (typeof GRPC_NAMES)[number])
      : undefined;
  if (typeof value === "number" && Number.isInteger(value)) return GRPC_NAMES[value];
  return undefined;
}

function isGoogleShape(value: Bag): boolean {
  if (
    isObject(value.error) &&
    (num(value.error.code) !== undefined || grpcName(value.error.status) !== undefined)
  )
    return true;
  if (grpcName(value.status) !== undefined) return true;
  const code = num(value.code);
  // gRPC status (0–16) or the REST fallback's HTTP status; a string `code` is a Node system error.
  return code !== undefined && ((code >= 0 && code <= 16) || (code >= 400 && code <= 599));
}

/** A google.protobuf.Duration as JSON ("1.5s"), as an object ({seconds, nanos}), seconds maybe a Long. */
function durationMs(value: unknown): number | undefined {
  if (typeof value === "string") {
    const match = /^(\d+(?:\.\d+)?)s$/.exec(value.trim());
    return match?.[1] === undefined ? undefined : Math.round(Number(match[1]) * 1000);
  }
  if (!isObject(value)) return undefined;
  const seconds = longToNumber(value.seconds);
  const nanos = longToNumber(value.nanos);
  return Number.isFinite(seconds) && Number.isFinite(nanos)
    ? Math.round(seconds * 1000 + nanos / 1e6)
    : undefined;
}

/** A protobuf int64 as decoded by protobufjs: number, string, or a `Long` (`toNumber`). */
function longToNumber(value: unknown): number {
  if (value === undefined || value === null) return 0;
  if (typeof value === "number") return value;
  if (typeof value === "string") return Number(value);
  if (isObject(value) && typeof value.toNumber === "function")
    return Number((value.toNumber as () => unknown).call(value));
  return Number.NaN;
}

function retryInfoMs(...lists: unknown[]): number | undefined {
  for (const list of lists) {
    if (!Array.isArray(list)) continue;
    for (const detail of list as unknown[]) {
      if (isObject(detail) && "retryDelay" in detail) {
        const ms = durationMs(detail.retryDelay);
        if (ms !== undefined) return ms;
      }
    }
  }
  return undefined;
}

/**
 * A Google Cloud client error (google-gax `GoogleError` over gRPC or the REST fallback, or the
 * JSON `{ error: { code, status, message, details } }` of AIP-193) → a typed error, found also
 * inside `cause` chains. Classified by the gRPC status — the numeric `code`, or the `status`
 * name when `code` is an HTTP status — per the table in the module docs (`RESOURCE_EXHAUSTED` →
 * throttle, `NOT_FOUND` → NotFound, `INVALID_ARGUMENT`/`FAILED_PRECONDITION` → InvalidInput,
 * `UNAVAILABLE`/`DEADLINE_EXCEEDED`/`ABORTED` → Retryable, `ALREADY_EXISTS` → Permanent); an
 * HTTP-only error falls back to the status rule. Retry delay from `google.rpc.RetryInfo`.
 */
export function fromGoogleError(error: unknown): VirtualNodeError {
  if (error instanceof VirtualNodeError) return error;
  const found = findInChain(error, isGoogleShape);
  if (found === undefined) return notFromTheCloud(error);
  const google = isObject(found.error) && !(found instanceof Error) ? found.error : found;
  const code = num(google.code);
  const name = grpcName(google.status) ?? (code !== undefined && code <= 16 ? grpcName(code) : undefined);
  const httpStatus = num(google.httpStatusCode) ?? (code !== undefined && code >= 400 ? code : undefined);
  const retryAfterMs = retryInfoMs(google.statusDetails, google.details);
  // gRPC messages repeat the status: "8 RESOURCE_EXHAUSTED: Quota exceeded".
  const raw = text(google.message)?.replace(/^\d+ [A-Z_]+: /, "");
  const message = raw ?? name ?? `Google answered HTTP ${String(httpStatus ?? "error")}`;
  const kind: Kind = name === undefined ? "status" : GRPC_KIND[name];
  return build(kind, httpStatus, message, { cloudCode: name, retryAfterMs, cause: error });
}
