/**
 * Retry delays: exponential backoff with jitter, and a per-key failure rate limiter in the
 * manner of client-go's `ItemExponentialFailureRateLimiter`. Pure arithmetic plus a little
 * per-key state; waiting is left to the caller's {@link Clock}.
 */
import { RetryableError } from "./errors.js";

/** Returns a number in [0, 1), like `Math.random`. */
export type RandomSource = () => number;

/**
 * How a delay is spread (see the AWS "Exponential Backoff and Jitter" analysis):
 * - `none`: exactly `base * factor^attempt`;
 * - `full`: uniform in [0, exp] — spreads a thundering herd best, but may retry at once;
 * - `equal`: uniform in [exp/2, exp] — still spread, but never less than half the step;
 * - `decorrelated`: uniform in [base, 3 * previous delay], so it depends on the last delay.
 * Every mode is capped at `maxMs`.
 */
export type JitterMode = "none" | "full" | "equal" | "decorrelated";

export interface BackoffOptions {
  /** First delay (attempt 0). Default 100 ms. */
  baseMs?: number;
  /** Upper bound of any delay. Default 30 s. */
  maxMs?: number;
  /** Growth per attempt. Default 2. */
  factor?: number;
  /** Default `full`. */
  jitter?: JitterMode;
  /** Default `Math.random`; pass {@link seededRandom} for reproducible tests. */
  random?: RandomSource;
}

/**
 * A small deterministic PRNG (mulberry32). Good enough to spread retries; not for anything
 * secret. Same seed, same sequence.
 */
export function seededRandom(seed: number): RandomSource {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `base * factor^attempt`, capped at `maxMs`; safe for huge attempts (no Infinity/NaN leaks). */
export function exponentialDelay(attempt: number, baseMs: number, factor: number, maxMs: number): number {
  if (!(baseMs > 0) || !(maxMs > 0)) return 0;
  const n = Math.max(0, Math.floor(attempt));
  const exp = baseMs * Math.pow(Math.max(1, factor), n);
  return Number.isFinite(exp) ? Math.min(exp, maxMs) : maxMs;
}

/**
 * The jittered delay for one step. `previousMs` is only used by `decorrelated` (pass the last
 * delay returned, or `undefined` on the first attempt).
 */
export function jitteredDelay(
  mode: JitterMode,
  expMs: number,
  options: { baseMs: number; maxMs: number; previousMs?: number | undefined },
  random: RandomSource,
): number {
  const r = clampUnit(random());
  switch (mode) {
    case "none":
      return expMs;
    case "full":
      return Math.round(expMs * r);
    case "equal":
      return Math.round(expMs / 2 + (expMs / 2) * r);
    case "decorrelated": {
      const low = Math.min(options.baseMs, options.maxMs);
      const high = Math.min(options.maxMs, Math.max(low, 3 * (options.previousMs ?? low)));
      return Math.round(low + (high - low) * r);
    }
  }
}

function clampUnit(value: number): number {
  return Number.isFinite(value) ? Math.min(Math.max(value, 0), 1) : 0;
}

/**
 * How long the remote asked us to wait, when `error` is a {@link RetryableError} that says;
 * otherwise `undefined`.
 */
export function retryAfterMs(error: unknown): number | undefined {
  if (!(error instanceof RetryableError)) return undefined;
  const ms = error.retryAfterMs;
  return typeof ms === "number" && Number.isFinite(ms) && ms > 0 ? ms : undefined;
}

/** `delayMs`, raised to the error's `retryAfterMs` if that is longer: the server's word wins. */
export function withRetryAfter(delayMs: number, error: unknown): number {
  const floor = retryAfterMs(error);
  return floor === undefined ? delayMs : Math.max(delayMs, floor);
}

/** Exponential backoff for one sequence of retries (one operation, one connection). */
export class Backoff {
  readonly #baseMs: number;
  readonly #maxMs: number;
  readonly #factor: number;
  readonly #jitter: JitterMode;
  readonly #random: RandomSource;
  #previousMs: number | undefined;

  constructor(options: BackoffOptions = {}) {
    this.#baseMs = options.baseMs ?? 100;
    this.#maxMs = options.maxMs ?? 30_000;
    this.#factor = options.factor ?? 2;
    this.#jitter = options.jitter ?? "full";
    this.#random = options.random ?? Math.random;
  }

  /**
   * Delay before retry number `attempt` (0-based). `decorrelated` jitter builds on the previous
   * delay this instance returned, and starts over at attempt 0.
   */
  nextDelay(attempt: number, error?: unknown): number {
    if (attempt <= 0) this.#previousMs = undefined;
    const exp = exponentialDelay(attempt, this.#baseMs, this.#factor, this.#maxMs);
    const delay = jitteredDelay(
      this.#jitter,
      exp,
      { baseMs: this.#baseMs, maxMs: this.#maxMs, previousMs: this.#previousMs },
      this.#random,
    );
    this.#previousMs = delay;
    return withRetryAfter(delay, error);
  }

  /** Forget the previous delay (only matters for `decorrelated`). */
  reset(): void {
    this.#previousMs = undefined;
  }
}

/** Decides how long a key waits before its next retry (client-go's `RateLimiter`). */
export interface RateLimiter<K = string> {
  /** Delay for the key's next retry; counts as one more failure. `error` may carry `retryAfterMs`. */
  when(key: K, error?: unknown): number;
  /** The key succeeded: its next failure starts from the base delay again. */
  forget(key: K): void;
  /** Failures counted for the key since it was last forgotten. */
  numRequeues(key: K): number;
}

export interface ItemExponentialRateLimiterOptions {
  /** Default 5 ms (client-go). */
  baseMs?: number;
  /** Default 1000 s (client-go). */
  maxMs?: number;
  /** Default 2. */
  factor?: number;
  /**
   * Default `equal`: delays are spread so that keys failing together (an API outage) do not
   * retry in lockstep, yet with factor ≥ 2 each delay is still at least the previous one, so a
   * failing key never falls back into a hot loop the way `full` jitter allows.
   */
  jitter?: JitterMode;
  random?: RandomSource;
}

interface KeyState {
  failures: number;
  previousMs: number | undefined;
}

/**
 * Per-key exponential backoff: delay = base * factor^failures (capped, jittered), at least the
 * error's `retryAfterMs`. Keys are independent: one broken pod does not slow down the others.
 */
export class ItemExponentialRateLimiter<K = string> implements RateLimiter<K> {
  readonly #baseMs: number;
  readonly #maxMs: number;
  readonly #factor: number;
  readonly #jitter: JitterMode;
  readonly #random: RandomSource;
  readonly #state = new Map<K, KeyState>();

  constructor(options: ItemExponentialRateLimiterOptions = {}) {
    this.#baseMs = options.baseMs ?? 5;
    this.#maxMs = options.maxMs ?? 1_000_000;
    this.#factor = options.factor ?? 2;
    this.#jitter = options.jitter ?? "equal";
    this.#random = options.random ?? Math.random;
  }

  when(key: K, error?: unknown): number {
    let state = this.#state.get(key);
    if (state === undefined) {
      state = { failures: 0, previousMs: undefined };
      this.#state.set(key, state);
    }
    const exp = exponentialDelay(state.failures, this.#baseMs, this.#factor, this.#maxMs);
    const delay = jitteredDelay(
      this.#jitter,
      exp,
      { baseMs: this.#baseMs, maxMs: this.#maxMs, previousMs: state.previousMs },
      this.#random,
    );
    state.failures++;
    state.previousMs = delay;
    return withRetryAfter(delay, error);
  }

  forget(key: K): void {
    this.#state.delete(key);
  }

  numRequeues(key: K): number {
    return this.#state.get(key)?.failures ?? 0;
  }
}
