/** Typed errors from a code, and the HTTP status each one travels as in server mode. */
import {
  AbortedError,
  ErrorCodes,
  InvalidInputError,
  NotFoundError,
  PermanentError,
  RetryableError,
  UnsupportedError,
  errorCode,
} from "@virtual-node/core";
import type { ErrorCode, VirtualNodeError } from "@virtual-node/core";

export interface ErrorDetails {
  field?: string;
  retryAfterMs?: number;
  cause?: unknown;
}

/** Builds the typed error for a stable code (unknown codes become `PermanentError`). */
export function errorFromCode(code: string, message: string, details: ErrorDetails = {}): VirtualNodeError {
  const options = {
    ...(details.field === undefined ? {} : { field: details.field }),
    ...(details.cause === undefined ? {} : { cause: details.cause }),
  };
  switch (code) {
    case ErrorCodes.NotFound:
      return new NotFoundError(message, options);
    case ErrorCodes.InvalidInput:
      return new InvalidInputError(message, options);
    case ErrorCodes.Unsupported:
      return new UnsupportedError(message, options);
    case ErrorCodes.Retryable:
      return new RetryableError(message, {
        ...options,
        ...(details.retryAfterMs === undefined ? {} : { retryAfterMs: details.retryAfterMs }),
      });
    case ErrorCodes.Aborted:
      return new AbortedError(message, options);
    default:
      return new PermanentError(message, options);
  }
}

/** The HTTP status a typed error is sent with. */
export function httpStatusOf(error: unknown): number {
  const code = errorCode(error);
  switch (code) {
    case ErrorCodes.NotFound:
      return 404;
    case ErrorCodes.InvalidInput:
      return 400;
    case ErrorCodes.Unsupported:
      return 422;
    case ErrorCodes.Retryable:
      return error instanceof RetryableError && error.retryAfterMs !== undefined ? 429 : 503;
    case ErrorCodes.Permanent:
      return 403;
    case ErrorCodes.Aborted:
      return 499;
    default:
      return 500;
  }
}

/** The typed error for an HTTP failure: from the status, refined by a `code` in the body when there is one. */
export function errorFromHttp(
  status: number,
  body: { code?: string; message?: string; field?: string; retryAfterMs?: number } | undefined,
  retryAfterHeader: string | null,
): VirtualNodeError {
  const message = body?.message ?? `mock cloud answered HTTP ${status}`;
  const retryAfterMs = body?.retryAfterMs ?? parseRetryAfter(retryAfterHeader);
  const details: ErrorDetails = {
    ...(body?.field === undefined ? {} : { field: body.field }),
    ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
  };
  if (body?.code !== undefined && isKnownCode(body.code)) return errorFromCode(body.code, message, details);
  let code: ErrorCode;
  if (status === 404) code = ErrorCodes.NotFound;
  else if (status === 400) code = ErrorCodes.InvalidInput;
  else if (status === 422 || status === 501) code = ErrorCodes.Unsupported;
  else if (status === 429 || status === 408 || status >= 500) code = ErrorCodes.Retryable;
  else code = ErrorCodes.Permanent;
  return errorFromCode(code, message, details);
}

function isKnownCode(code: string): code is ErrorCode {
  return (Object.values(ErrorCodes) as string[]).includes(code);
}

/** `Retry-After` as seconds or an HTTP date → milliseconds. */
export function parseRetryAfter(header: string | null, now = Date.now()): number | undefined {
  if (header === null || header.trim() === "") return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds) && seconds >= 0) return Math.round(seconds * 1000);
  const date = Date.parse(header);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}
