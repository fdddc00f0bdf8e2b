/**
 * The one thing a provider does around every cloud SDK call, written once: wait for the API's
 * rate limiter, run the call with the caller's signal, turn a failure into a typed error, tell
 * the limiter about throttles and successes, and retry retryable failures a bounded number of
 * times with {@link Backoff} (never sooner than the cloud's `Retry-After`). The SDKs' own retry
 * loops should be turned off (`maxAttempts: 1`, `retryOptions: { maxRetries: 0 }`) so retries,
 * and their metrics, happen here only.
 */
import type { Registry } from "prom-client";
import { Backoff } from "../backoff.js";
import type { BackoffOptions } from "../backoff.js";
import { systemClock } from "../clock.js";
import type { Clock } from "../clock.js";
import { AbortedError, RetryableError, errorCode, throwIfAborted } from "../errors.js";
import type { VirtualNodeError } from "../errors.js";
import { isThrottle } from "./errors.js";
import { createRateLimiters, providerApiMetrics } from "./rate-limit.js";
import type { RateLimitTable, RateLimiters } from "./rate-limit.js";

/**
 * Cloud error → typed error: `fromAwsError`, `fromAzureError`, `fromGoogleError` or the
 * provider's own. `now` is the caller's clock, for HTTP-date `Retry-After` values.
 */
export type CloudErrorMapper = (error: unknown, now: number) => VirtualNodeError;

/** Options of {@link createCloudCaller}. */
export interface CloudCallerOptions {
  /** Labels the metrics (`fargate`, `aci`, `cloudrun`, ...). */
  provider: string;
  /** Rate limits by API name; see {@link RateLimitTable}. */
  limits: RateLimitTable;
  mapError: CloudErrorMapper;
  /** Default: the system clock. */
  clock?: Clock;
  /** Where the metrics go, usually the agent's registry. Default: no metrics. */
  registry?: Registry;
  /** Tries per call, the first included. Default 4. */
  maxAttempts?: number;
  /** Delays between tries. Default: base 200 ms, max 20 s, factor 2, `equal` jitter. */
  backoff?: BackoffOptions;
}

/** Options of one call. */
export interface CloudCallOptions {
  /** Aborts the wait for a token, the call itself (passed to `fn`) and the retry delays. */
  signal?: AbortSignal;
  /** Overrides the caller's `maxAttempts` for this call (1: no retries, e.g. non-idempotent calls). */
  maxAttempts?: number;
}

/** A configured caller: `call(api, fn, options)`. */
export interface CloudCaller {
  /**
   * Runs `fn` under `api`'s rate limit and returns its result; throws the typed error of the
   * last failure (an `AbortedError` when `options.signal` aborted).
   */
  <T>(api: string, fn: (signal: AbortSignal) => Promise<T>, options?: CloudCallOptions): Promise<T>;
  /** The limiters behind the caller, for stats. */
  readonly limiters: RateLimiters;
}

const DEFAULT_BACKOFF: BackoffOptions = { baseMs: 200, maxMs: 20_000, factor: 2, jitter: "equal" };

// Handed to `fn` when the caller gave no signal, so `fn` can always pass one to the SDK.
const NEVER = new AbortController().signal;

/** A {@link CloudCaller} for one provider: its limits, its error mapping, its metrics. */
export function createCloudCaller(options: CloudCallerOptions): CloudCaller {
  const clock = options.clock ?? systemClock;
  const limiters = createRateLimiters(options.limits, {
    provider: options.provider,
    clock,
    ...(options.registry === undefined ? {} : { registry: options.registry }),
  });
  const metrics = options.registry === undefined ? undefined : providerApiMetrics(options.registry);
  const defaultAttempts = Math.max(1, Math.floor(options.maxAttempts ?? 4));
  const backoffOptions = options.backoff ?? DEFAULT_BACKOFF;

  const call = async <T>(
    api: string,
    fn: (signal: AbortSignal) => Promise<T>,
    callOptions: CloudCallOptions = {},
  ): Promise<T> => {
    const signal = callOptions.signal ?? NEVER;
    const attempts = Math.max(1, Math.floor(callOptions.maxAttempts ?? defaultAttempts));
    const limiter = limiters.get(api);
    const backoff = new Backoff(backoffOptions);
    const count = (result: string): void => {
      metrics?.calls.inc({ provider: options.provider, api, result });
    };
    for (let attempt = 0; ; attempt++) {
      throwIfAborted(signal);
      await limiter.acquire(signal);
      let typed: VirtualNodeError;
      try {
        const result = await fn(signal);
        limiter.onSuccess();
        count("ok");
        return result;
      } catch (error) {
        // Our own abort surfaces as whatever the SDK throws; report it as the abort it is.
        if (signal.aborted) {
          count("aborted");
          throw error instanceof AbortedError ? error : new AbortedError(undefined, { cause: error });
        }
        typed = options.mapError(error, clock.now());
      }
      const throttled = isThrottle(typed);
      if (throttled) limiter.onThrottle(typed instanceof RetryableError ? typed.retryAfterMs : undefined);
      count(throttled ? "throttled" : errorCode(typed));
      if (!(typed instanceof RetryableError) || attempt + 1 >= attempts) throw typed;
      await clock.sleep(backoff.nextDelay(attempt, typed), signal);
    }
  };
  return Object.assign(call, { limiters });
}
