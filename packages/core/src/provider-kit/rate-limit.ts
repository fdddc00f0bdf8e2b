/**
 * Client-side rate limits per cloud API: a token bucket that also slows down when the cloud
 * throttles, and the table of them a provider keeps, with metrics.
 *
 * Why not p-queue's `interval`/`intervalCap`: that is a fixed window. "Burst 100, then 40 per
 * second" (ECS RunTask's documented limit) either admits 100 per window — 2× the burst across a
 * window edge, 100 per second sustained — or, with a one-second window and cap 40, has no burst
 * at all. A token bucket says both numbers exactly. And p-queue cannot change its rate while
 * running, which adaptive throttling needs on every `ThrottlingException`.
 *
 * The adaptive part follows the AWS SDK's adaptive retry mode, simplified: a throttle cuts the
 * rate multiplicatively (and empties the saved burst); successes let it grow back additively with
 * the time since the last throttle. CUBIC's curve buys nothing at tens of requests per second.
 * A throttle's `Retry-After` holds every caller of that API until it has passed.
 */
import { Counter, Gauge, Histogram } from "prom-client";
import type { Registry } from "prom-client";
import { systemClock } from "../clock.js";
import type { Clock, TimerHandle } from "../clock.js";
import { AbortedError, InvalidInputError } from "../errors.js";

/** What {@link AdaptiveRateLimiter.stats} reports. */
export interface RateLimiterStats {
  name: string;
  /** The current (possibly cut) sustained rate. */
  ratePerSecond: number;
  /** The rate it was configured with and recovers towards. */
  configuredRatePerSecond: number;
  /** Tokens in the bucket now (fractional). */
  tokens: number;
  /** Callers waiting in `acquire`. */
  waiting: number;
  /** `onThrottle` calls so far. */
  throttles: number;
  /** Tokens handed out so far. */
  acquired: number;
}

/** Options of {@link AdaptiveRateLimiter}. */
export interface AdaptiveRateLimiterOptions {
  /** Names the limiter in stats and metrics, usually the API (`RunTask`). */
  name: string;
  /** Sustained rate; `Infinity` for no limit (holds after throttles still apply). Must be > 0. */
  ratePerSecond: number;
  /** Bucket size: how many calls may go at once after a quiet spell. At least 1. */
  burst: number;
  /** Default: the system clock. */
  clock?: Clock;
  /** The rate is never cut below this. Default 1/20 of `ratePerSecond`. */
  minRatePerSecond?: number;
  /** Multiplier applied on each throttle. Default 0.5. */
  decreaseFactor?: number;
  /** Rate regained per second since the last throttle. Default 1/10 of `ratePerSecond`. */
  recoveryPerSecond?: number;
  /**
   * Throttles this soon after a cut do not cut again (they still extend the hold): they answer
   * calls sent before the cut, at the old rate. Default 1000 ms.
   */
  cooldownMs?: number;
  /** Called after each token handed out, with how long that caller waited. */
  onAcquire?: (waitMs: number) => void;
  /** Called on each `onThrottle`, after the rate was cut. */
  onThrottled?: (stats: RateLimiterStats) => void;
  /** Called whenever the current rate changes (cut or recovered). */
  onRateChange?: (stats: RateLimiterStats) => void;
}

interface Waiter {
  resolve: () => void;
  reject: (error: unknown) => void;
  signal: AbortSignal | undefined;
  onAbort: () => void;
  since: number;
}

/**
 * A token bucket on an injected clock, FIFO, that slows down when told the cloud throttled
 * (`onThrottle`) and recovers on `onSuccess`. Waiting never fails except through the caller's
 * signal.
 */
export class AdaptiveRateLimiter {
  readonly name: string;
  readonly #clock: Clock;
  readonly #configured: number;
  readonly #burst: number;
  readonly #min: number;
  readonly #factor: number;
  readonly #recovery: number;
  readonly #cooldownMs: number;
  readonly #options: AdaptiveRateLimiterOptions;
  #rate: number;
  #tokens: number;
  #last: number;
  /** Rate right after the last throttle and when it happened: recovery grows from there. */
  #cutRate: number;
  #cutAt: number | undefined;
  #holdUntil = 0;
  #throttles = 0;
  #acquired = 0;
  readonly #waiters: Waiter[] = [];
  #timer: TimerHandle | undefined;

  constructor(options: AdaptiveRateLimiterOptions) {
    const { ratePerSecond, burst } = options;
    if (!(ratePerSecond > 0))
      throw new InvalidInputError(`rate limit ${options.name}: ratePerSecond must be > 0`);
    if (!(burst >= 1)) throw new InvalidInputError(`rate limit ${options.name}: burst must be >= 1`);
    this.name = options.name;
    this.#options = options;
    this.#clock = options.clock ?? systemClock;
    this.#configured = ratePerSecond;
    this.#burst = burst;
    this.#min = Math.min(ratePerSecond, options.minRatePerSecond ?? ratePerSecond / 20);
    this.#factor = Math.min(Math.max(options.decreaseFactor ?? 0.5, 0.01), 1);
    this.#recovery = options.recoveryPerSecond ?? ratePerSecond / 10;
    this.#cooldownMs = options.cooldownMs ?? 1_000;
    this.#rate = ratePerSecond;
    this.#cutRate = ratePerSecond;
    this.#tokens = burst;
    this.#last = this.#clock.now();
  }

  /**
   * Waits for a token (in arrival order). Rejects with `AbortedError` when `signal` aborts first;
   * an aborted caller takes no token.
   */
  acquire(signal?: AbortSignal): Promise<void> {
    if (signal?.aborted === true)
      return Promise.reject(new AbortedError(undefined, { cause: signal.reason }));
    const now = this.#clock.now();
    this.#refill(now);
    if (this.#waiters.length === 0 && now >= this.#holdUntil && this.#tokens >= 1) {
      this.#take(now, now);
      return Promise.resolve();
    }
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = {
        resolve,
        reject,
        signal,
        since: now,
        onAbort: () => {
          const index = this.#waiters.indexOf(waiter);
          if (index >= 0) this.#waiters.splice(index, 1);
          reject(new AbortedError(undefined, { cause: signal?.reason }));
          this.#schedule();
        },
      };
      signal?.addEventListener("abort", waiter.onAbort, { once: true });
      this.#waiters.push(waiter);
      this.#schedule();
    });
  }

  /**
   * The cloud throttled a call: cut the rate (× `decreaseFactor`, not below the minimum; at most
   * once per `cooldownMs`), drop the saved burst, and hold every caller until `retryAfterMs` has
   * passed, when given.
   */
  onThrottle(retryAfterMs?: number): void {
    const now = this.#clock.now();
    this.#refill(now);
    this.#throttles++;
    const before = this.#rate;
    if (this.#cutAt === undefined || now - this.#cutAt >= this.#cooldownMs) {
      this.#rate = Math.max(this.#min, this.#rate * this.#factor);
      this.#cutRate = this.#rate;
      this.#cutAt = now;
    }
    this.#tokens = Math.min(this.#tokens, 0);
    if (retryAfterMs !== undefined && Number.isFinite(retryAfterMs) && retryAfterMs > 0) {
      this.#holdUntil = Math.max(this.#holdUntil, now + retryAfterMs);
    }
    this.#options.onThrottled?.(this.stats());
    if (this.#rate !== before) this.#options.onRateChange?.(this.stats());
    this.#schedule();
  }

  /** A call went through: let the rate grow back towards the configured one. */
  onSuccess(): void {
    if (this.#cutAt === undefined) return;
    const now = this.#clock.now();
    this.#refill(now);
    const recovered = this.#cutRate + (this.#recovery * Math.max(0, now - this.#cutAt)) / 1000;
    const before = this.#rate;
    if (recovered >= this.#configured) {
      this.#rate = this.#configured;
      this.#cutAt = undefined;
    } else {
      this.#rate = recovered;
    }
    if (this.#rate !== before) this.#options.onRateChange?.(this.stats());
  }

  /** A snapshot of the limiter's state. */
  stats(): RateLimiterStats {
    this.#refill(this.#clock.now());
    return {
      name: this.name,
      ratePerSecond: this.#rate,
      configuredRatePerSecond: this.#configured,
      tokens: this.#tokens,
      waiting: this.#waiters.length,
      throttles: this.#throttles,
      acquired: this.#acquired,
    };
  }

  /** The bucket shrinks with the rate, so a cut rate does not still allow the full burst. */
  #capacity(): number {
    if (!Number.isFinite(this.#configured)) return Number.POSITIVE_INFINITY;
    return Math.max(1, (this.#burst * this.#rate) / this.#configured);
  }

  #refill(now: number): void {
    const elapsed = Math.max(0, now - this.#last) / 1000;
    this.#last = Math.max(this.#last, now);
    if (!Number.isFinite(this.#rate)) {
      this.#tokens = Number.POSITIVE_INFINITY;
      return;
    }
    this.#tokens = Math.min(this.#capacity(), this.#tokens + elapsed * this.#rate);
  }

  #take(now: number, since: number): void {
    this.#tokens -= 1;
    this.#acquired++;
    this.#options.onAcquire?.(now - since);
  }

  #drain(): void {
    const now = this.#clock.now();
    this.#refill(now);
    while (this.#waiters.length > 0 && now >= this.#holdUntil && this.#tokens >= 1) {
      const waiter = this.#waiters.shift();
      if (waiter === undefined) break;
      waiter.signal?.removeEventListener("abort", waiter.onAbort);
      this.#take(now, waiter.since);
      waiter.resolve();
    }
  }

  /** One timer, always for the earliest moment the first waiter can go. */
  #schedule(): void {
    this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#waiters.length === 0) return;
    const now = this.#clock.now();
    this.#refill(now);
    const hold = Math.max(0, this.#holdUntil - now);
    const refill = this.#tokens >= 1 ? 0 : ((1 - this.#tokens) / this.#rate) * 1000;
    const delay = Math.max(1, Math.ceil(Math.max(hold, refill)));
    this.#timer = this.#clock.setTimeout(() => {
      this.#timer = undefined;
      this.#drain();
      this.#schedule();
    }, delay);
  }
}

/** One API's limit in a {@link RateLimitTable}. */
export interface RateLimit {
  ratePerSecond: number;
  burst: number;
}

/**
 * Limits by API name (the name a provider passes to its cloud caller). The `default` entry is
 * the limit of every API the table does not list.
 */
export type RateLimitTable = Readonly<Record<string, RateLimit>>;

/** Options of {@link createRateLimiters}. */
export interface RateLimitersOptions {
  /** Labels the metrics (`fargate`, `aci`, ...). */
  provider: string;
  /** Default: the system clock. */
  clock?: Clock;
  /** Where the metrics go, usually the agent's registry. Default: no metrics. */
  registry?: Registry;
}

/** The limiters of one provider, one per API, created on first use. */
export interface RateLimiters {
  /**
   * The limiter of `api`. An API missing from the table gets its own limiter with the `default`
   * entry's numbers; without a `default` entry it is not rate-limited (throttle holds still apply).
   */
  get(api: string): AdaptiveRateLimiter;
  /** Stats of every limiter created so far. */
  stats(): RateLimiterStats[];
}

/** The provider-API metrics of the kit (created once per registry). */
export interface ProviderApiMetrics {
  calls: Counter<"provider" | "api" | "result">;
  throttles: Counter<"provider" | "api">;
  waitSeconds: Histogram<"provider" | "api">;
  qps: Gauge<"provider" | "api">;
}

const metricsCache = new WeakMap<Registry, ProviderApiMetrics>();

/**
 * The kit's cloud-API metrics on `registry`, created once per registry and shared by every
 * provider and node on it (labelled by provider and API).
 */
export function providerApiMetrics(registry: Registry): ProviderApiMetrics {
  const existing = metricsCache.get(registry);
  if (existing !== undefined) return existing;
  const registers = [registry];
  const metrics: ProviderApiMetrics = {
    calls: new Counter({
      name: "virtual_node_provider_api_calls_total",
      help: "Cloud API calls by provider, API and result (ok, throttled, or the error code).",
      labelNames: ["provider", "api", "result"],
      registers,
    }),
    throttles: new Counter({
      name: "virtual_node_provider_throttles_total",
      help: "Cloud API calls the cloud throttled, by provider and API.",
      labelNames: ["provider", "api"],
      registers,
    }),
    waitSeconds: new Histogram({
      name: "virtual_node_provider_rate_limit_wait_seconds",
      help: "Time a cloud API call waited for the client-side rate limiter.",
      labelNames: ["provider", "api"],
      buckets: [0, 0.01, 0.05, 0.1, 0.5, 1, 5, 30, 120],
      registers,
    }),
    qps: new Gauge({
      name: "virtual_node_provider_rate_limit_qps",
      help: "Current (adaptive) client-side rate limit of a cloud API, requests per second.",
      labelNames: ["provider", "api"],
      registers,
    }),
  };
  metricsCache.set(registry, metrics);
  return metrics;
}

/**
 * The limiters for a provider's table of API limits, with metrics on `options.registry`:
 * `virtual_node_provider_throttles_total`, `virtual_node_provider_rate_limit_wait_seconds` and
 * `virtual_node_provider_rate_limit_qps` (`virtual_node_provider_api_calls_total` is counted by
 * the cloud caller).
 */
export function createRateLimiters(table: RateLimitTable, options: RateLimitersOptions): RateLimiters {
  const limiters = new Map<string, AdaptiveRateLimiter>();
  const metrics = options.registry === undefined ? undefined : providerApiMetrics(options.registry);
  const { provider } = options;
  const fallback: RateLimit = table.default ?? { ratePerSecond: Number.POSITIVE_INFINITY, burst: 1 };
  const create = (api: string): AdaptiveRateLimiter => {
    const limit = Object.hasOwn(table, api) ? (table[api] ?? fallback) : fallback;
    const labels = { provider, api };
    const limiter = new AdaptiveRateLimiter({
      name: api,
      ratePerSecond: limit.ratePerSecond,
      burst: limit.burst,
      ...(options.clock === undefined ? {} : { clock: options.clock }),
      ...(metrics === undefined
        ? {}
        : {
            onAcquire: (waitMs: number) => {
              metrics.waitSeconds.observe(labels, waitMs / 1000);
            },
            onThrottled: () => {
              metrics.throttles.inc(labels);
            },
            onRateChange: (stats: RateLimiterStats) => {
              metrics.qps.set(labels, finiteOrZero(stats.ratePerSecond));
            },
          }),
    });
    metrics?.qps.set(labels, finiteOrZero(limit.ratePerSecond));
    return limiter;
  };
  return {
    get(api) {
      let limiter = limiters.get(api);
      if (limiter === undefined) {
        limiter = create(api);
        limiters.set(api, limiter);
      }
      return limiter;
    },
    stats: () => [...limiters.values()].map((limiter) => limiter.stats()),
  };
}

// Prometheus can carry +Inf, but an unlimited API reads more plainly as 0 ("no limit").
function finiteOrZero(value: number): number {
  return Number.isFinite(value) ? value : 0;
}
