/**
 * Time as a dependency. The work queue (delays, backoff), the event spam filter, the provider kit
 * (rate limits, retries, long-running operations, list-based status, log following) take a
 * {@link Clock}, so tests drive time with {@link FakeClock} instead of sleeping; so do the
 * controllers' loops (pod controller poller and reconcile, node lease, node controller, reflector).
 */
import { AbortedError } from "./errors.js";

declare const timerBrand: unique symbol;

/** Opaque handle returned by {@link Clock.setTimeout}; only meaningful to the clock that made it. */
export interface TimerHandle {
  readonly [timerBrand]: true;
}

export interface Clock {
  /** Milliseconds since the Unix epoch (wall time: it ends up in Event timestamps and log lines). */
  now(): number;
  /** Runs `fn` once, `ms` milliseconds from now (negative or NaN counts as 0). */
  setTimeout(fn: () => void, ms: number): TimerHandle;
  /** Cancels a timer; a handle that already fired, was cleared, or is `undefined` is ignored. */
  clearTimeout(handle: TimerHandle | undefined): void;
  /** Resolves after `ms`; rejects with {@link AbortedError} as soon as `signal` aborts. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export interface SystemClockOptions {
  /**
   * Unref every timer so pending delays (retries, polls) never keep the process alive on their
   * own; shutdown is then decided by sockets and servers, not by a 1000 s backoff.
   */
  unref?: boolean;
}

function delayOf(ms: number): number {
  return Number.isFinite(ms) && ms > 0 ? ms : 0;
}

function abortedError(signal: AbortSignal): AbortedError {
  return new AbortedError(undefined, { cause: signal.reason });
}

/** Shared by both clocks so abort handling (listener cleanup, already-aborted signals) is identical. */
function sleepWith(clock: Clock, ms: number, signal: AbortSignal | undefined): Promise<void> {
  if (signal?.aborted === true) return Promise.reject(abortedError(signal));
  return new Promise<void>((resolve, reject) => {
    const onAbort = (): void => {
      clock.clearTimeout(handle);
      if (signal !== undefined) reject(abortedError(signal));
    };
    const handle = clock.setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/** A clock backed by `Date.now` and the global timers. */
export function createSystemClock(options: SystemClockOptions = {}): Clock {
  const unref = options.unref === true;
  const clock: Clock = {
    now: () => Date.now(),
    setTimeout(fn, ms) {
      const timer = globalThis.setTimeout(fn, delayOf(ms));
      if (unref) timer.unref();
      return timer as unknown as TimerHandle;
    },
    clearTimeout(handle) {
      if (handle !== undefined) globalThis.clearTimeout(handle as unknown as NodeJS.Timeout);
    },
    sleep: (ms, signal) => sleepWith(clock, ms, signal),
  };
  return clock;
}

/** Real time; timers hold the process open like plain `setTimeout`. */
export const systemClock: Clock = createSystemClock();

interface FakeTimer {
  id: number;
  due: number;
  fn: () => void;
}

/** Lets promise chains started by a timer callback run to their next await on a timer. */
function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/**
 * A manually driven clock for tests. Time moves only through {@link FakeClock.advance},
 * {@link FakeClock.advanceAsync} and {@link FakeClock.runAll}; timers fire in due-time order,
 * ties in scheduling order.
 */
export class FakeClock implements Clock {
  #now: number;
  #nextId = 1;
  // Insertion-ordered; timer counts in tests are small, so a linear scan beats a heap on clarity.
  readonly #timers = new Map<number, FakeTimer>();

  /** Starts at `start` (default 2024-01-01T00:00:00Z) so timestamps in assertions are stable. */
  constructor(start: number = Date.UTC(2024, 0, 1)) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const id = this.#nextId++;
    this.#timers.set(id, { id, due: this.#now + delayOf(ms), fn });
    return id as unknown as TimerHandle;
  }

  clearTimeout(handle: TimerHandle | undefined): void {
    if (handle !== undefined) this.#timers.delete(handle as unknown as number);
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return sleepWith(this, ms, signal);
  }

  /** Number of timers scheduled and not yet fired or cleared. */
  get pendingTimers(): number {
    return this.#timers.size;
  }

  /** Due time of the earliest pending timer, if any. */
  nextDue(): number | undefined {
    return this.#earliest(Number.POSITIVE_INFINITY)?.due;
  }

  /**
   * Moves time forward by `ms`, firing every timer that falls due on the way, including timers
   * that callbacks schedule inside the window. Synchronous: promise continuations of the
   * callbacks run only after it returns (use {@link advanceAsync} when they schedule timers).
   */
  advance(ms: number): void {
    const target = this.#now + delayOf(ms);
    for (let timer = this.#earliest(target); timer; timer = this.#earliest(target)) this.#fire(timer);
    this.#now = target;
  }

  /**
   * Like {@link advance}, but lets pending promise continuations run before each timer and at the
   * end, so async code that awaits `sleep` in a loop progresses through the whole window.
   */
  async advanceAsync(ms: number): Promise<void> {
    const target = this.#now + delayOf(ms);
    await settle();
    for (let timer = this.#earliest(target); timer; timer = this.#earliest(target)) {
      this.#fire(timer);
      await settle();
    }
    this.#now = target;
  }

  /**
   * Fires timers in order until none is left, jumping time to each one's due time. Throws after
   * `limit` timers so a callback that always reschedules itself fails the test instead of hanging.
   */
  runAll(limit = 10_000): void {
    for (let fired = 0; ; fired++) {
      const timer = this.#earliest(Number.POSITIVE_INFINITY);
      if (timer === undefined) return;
      if (fired >= limit) throw new Error(`FakeClock.runAll: more than ${limit} timers fired`);
      this.#fire(timer);
    }
  }

  #earliest(notAfter: number): FakeTimer | undefined {
    let best: FakeTimer | undefined;
    for (const timer of this.#timers.values()) {
      if (timer.due <= notAfter && (best === undefined || timer.due < best.due)) best = timer;
    }
    return best;
  }

  #fire(timer: FakeTimer): void {
    this.#timers.delete(timer.id);
    if (timer.due > this.#now) this.#now = timer.due;
    timer.fn();
  }
}
