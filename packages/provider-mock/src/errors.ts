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
import { errorFromHttpStatus, parseRetryAfter } from "@virtual-node/core/provider-kit";

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

/**
 * The typed error for an HTTP failure: the `code` in the body when there is one (the mock server
 * always sends one), otherwise the kit's status rule — except a bare 422, which is how this
 * server sends `UnsupportedError` (see {@link httpStatusOf}).
 */
export function errorFromHttp(
  status: number,
  body: { code?: string; message?: string; field?: string; retryAfterMs?: number } | undefined,
  retryAfterHeader: string | null,
): VirtualNodeError {
  const message = body?.message ?? `mock cloud answered HTTP ${String(status)}`;
  const retryAfterMs = body?.retryAfterMs ?? parseRetryAfter(retryAfterHeader);
  const details: ErrorDetails = {
    ...(body?.field === undefined ? {} : { field: body.field }),
    ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
  };
  const code = body?.code;
  // A 429 stays a throttle (`isThrottle`) so the kit's cloud caller slows down for it.
  if (code === ErrorCodes.Retryable && status === 429) return errorFromHttpStatus(429, message, details);
  if (code !== undefined && isKnownCode(code)) return errorFromCode(code, message, details);
  if (status === 422) return errorFromCode(ErrorCodes.Unsupported, message, details);
  return errorFromHttpStatus(status, message, details);
}

function isKnownCode(code: string): code is ErrorCode {
  return (Object.values(ErrorCodes) as string[]).includes(code);
}
