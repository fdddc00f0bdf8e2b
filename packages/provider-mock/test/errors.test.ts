import { describe, expect, it } from "vitest";
import {
  ErrorCodes,
  InvalidInputError,
  NotFoundError,
  PermanentError,
  RetryableError,
  UnsupportedError,
} from "@virtual-node/core";
import { isThrottle } from "@virtual-node/core/provider-kit";
import { errorFromHttp, httpStatusOf } from "../src/errors.js";

// The mock client's HTTP answer → typed error, now on the kit's status rule.
describe("errorFromHttp", () => {
  it("uses the code in the body over the status", () => {
    const error = errorFromHttp(
      400,
      { code: ErrorCodes.NotFound, message: "no group", field: "metadata.name" },
      null,
    );
    expect(error).toBeInstanceOf(NotFoundError);
    expect(error.message).toBe("no group");
    expect(error.field).toBe("metadata.name");
  });

  it("round-trips every typed error the server sends", () => {
    const errors = [
      new NotFoundError("a"),
      new InvalidInputError("b"),
      new UnsupportedError("c"),
      new PermanentError("d"),
      new RetryableError("e"),
      new RetryableError("f", { retryAfterMs: 2_000 }),
    ];
    for (const sent of errors) {
      const status = httpStatusOf(sent);
      const retryAfterMs = sent instanceof RetryableError ? sent.retryAfterMs : undefined;
      const received = errorFromHttp(
        status,
        {
          code: sent.code,
          message: sent.message,
          ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
        },
        null,
      );
      expect(received.code).toBe(sent.code);
      expect(received.message).toBe(sent.message);
      if (retryAfterMs !== undefined) expect((received as RetryableError).retryAfterMs).toBe(retryAfterMs);
    }
  });

  it("keeps a 429 a throttle, with Retry-After from the body or the header", () => {
    const fromBody = errorFromHttp(
      429,
      { code: ErrorCodes.Retryable, message: "slow", retryAfterMs: 1_500 },
      null,
    );
    expect(isThrottle(fromBody)).toBe(true);
    expect((fromBody as RetryableError).retryAfterMs).toBe(1_500);
    const fromHeader = errorFromHttp(429, undefined, "3");
    expect(isThrottle(fromHeader)).toBe(true);
    expect((fromHeader as RetryableError).retryAfterMs).toBe(3_000);
    expect(isThrottle(errorFromHttp(503, { code: ErrorCodes.Retryable, message: "down" }, null))).toBe(false);
  });

  it.each([
    [404, ErrorCodes.NotFound],
    [400, ErrorCodes.InvalidInput],
    [422, ErrorCodes.Unsupported], // how this server sends UnsupportedError
    [501, ErrorCodes.Unsupported],
    [408, ErrorCodes.Retryable],
    [429, ErrorCodes.Retryable],
    [502, ErrorCodes.Retryable],
    [401, ErrorCodes.Permanent],
    [403, ErrorCodes.Permanent],
  ])("without a body code, HTTP %d → %s", (status, code) => {
    const error = errorFromHttp(status, undefined, null);
    expect(error.code).toBe(code);
    expect(error.message).toBe(`mock cloud answered HTTP ${String(status)}`);
  });

  it("ignores an unknown body code", () => {
    expect(errorFromHttp(404, { code: "SOMETHING_ELSE", message: "x" }, null)).toBeInstanceOf(NotFoundError);
  });
});
