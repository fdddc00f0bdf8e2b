/**
 * Waiting for a cloud's long-running operation (an ARM `azure-asyncoperation`, a Google LRO, an
 * ECS task reaching RUNNING): check, wait with {@link Backoff} on the injected clock, check again,
 * until done, a non-retryable error, the deadline or the signal. The server's own hint
 * (`retryAfterMs`) wins when it asks for a longer wait.
 */
import { Backoff } from "../backoff.js";
import type { BackoffOptions } from "../backoff.js";
import { systemClock } from "../clock.js";
import type { Clock } from "../clock.js";
import { RetryableError, throwIfAborted } from "../errors.js";

/** One check's answer: done with a value, or not yet (optionally with the server's suggested wait). */
export type PollResult<T> = { done: true; value: T } | { done: false; retryAfterMs?: number };

/** Options of {@link pollUntil}. */
export interface PollOptions {
  /** Ends the wait with `AbortedError`; also passed to every check. */
  signal: AbortSignal;
  /** Default: the system clock. */
  clock?: Clock;
  /** Waits between checks. Default: base 1 s, max 15 s, factor 2, `equal` jitter. */
  backoff?: BackoffOptions;
  /**
   * Give up this long after the start: waits are cut short at the deadline, one last check runs
   * there, and if it is not done the poll rejects. Default: no deadline (the signal ends it).
   */
  deadlineMs?: number;
  /** Names the operation in the timeout error (`container group default-web-1a2b create`). */
  description?: string;
}

const DEFAULT_BACKOFF: BackoffOptions = { baseMs: 1_000, maxMs: 15_000, factor: 2, jitter: "equal" };

/**
 * Runs `check` until it answers done and returns its value. A `RetryableError` from `check`
 * counts as "not done yet" (its `retryAfterMs` honoured); any other error ends the poll with that
 * error. Past `deadlineMs` it rejects with a `RetryableError` naming the operation, whose cause is
 * the last check's error, if any.
 */
export async function pollUntil<T>(
  check: (signal: AbortSignal) => Promise<PollResult<T>>,
  options: PollOptions,
): Promise<T> {
  const { signal } = options;
  const clock = options.clock ?? systemClock;
  const backoff = new Backoff(options.backoff ?? DEFAULT_BACKOFF);
  const started = clock.now();
  const deadline = options.deadlineMs === undefined ? Number.POSITIVE_INFINITY : started + options.deadlineMs;
  let lastError: RetryableError | undefined;
  for (let attempt = 0; ; attempt++) {
    throwIfAborted(signal);
    let hintMs: number | undefined;
    try {
      const result = await check(signal);
      if (result.done) return result.value;
      hintMs = result.retryAfterMs;
      lastError = undefined;
    } catch (error) {
      if (!(error instanceof RetryableError)) throw error;
      lastError = error;
    }
    const now = clock.now();
    if (now >= deadline) {
      const what = options.description ?? "operation";
      throw new RetryableError(`${what} not done after ${String(now - started)} ms`, {
        ...(lastError === undefined ? {} : { cause: lastError }),
      });
    }
    let delay = backoff.nextDelay(attempt, lastError);
    if (hintMs !== undefined && Number.isFinite(hintMs)) delay = Math.max(delay, hintMs);
    await clock.sleep(Math.min(delay, deadline - now), signal);
  }
}
