/**
 * Sleeps for controller loops: they end early (never throw) when the loop's signal aborts, and
 * a `Waker` lets another part of the controller cut the current sleep short ("work arrived",
 * "the API server answers again"). Time comes from the loop's {@link Clock}.
 */
import { type Clock, systemClock } from "./clock.js";

/** Resolves after `ms` on `clock`, or at once when `signal` aborts. Never rejects. */
export async function sleepUnlessAborted(
  ms: number,
  signal: AbortSignal,
  clock: Clock = systemClock,
): Promise<void> {
  await new Waker(clock).sleep(ms, signal);
}

/** A sleep that another part of the controller can end early. */
export class Waker {
  #wake: (() => void) | undefined;
  readonly #clock: Clock;

  constructor(clock: Clock = systemClock) {
    this.#clock = clock;
  }

  /** Resolves after `ms`, when `wake()` is called, or when `signal` aborts. */
  async sleep(ms: number, signal: AbortSignal): Promise<void> {
    if (signal.aborted) return;
    await new Promise<void>((resolve) => {
      const done = (): void => {
        this.#clock.clearTimeout(timer);
        signal.removeEventListener("abort", done);
        if (this.#wake === done) this.#wake = undefined;
        resolve();
      };
      const timer = this.#clock.setTimeout(done, ms);
      this.#wake = done;
      signal.addEventListener("abort", done, { once: true });
    });
  }

  /** Ends the current sleep, if any. */
  wake(): void {
    this.#wake?.();
  }
}

/**
 * `signal.aborted`, read through a call: TypeScript narrows the property after a loop condition
 * and would treat a re-check after an `await` as always false.
 */
export function isAborted(signal: AbortSignal): boolean {
  return signal.aborted;
}

/** Resolves when `signal` aborts. */
export async function untilAborted(signal: AbortSignal): Promise<void> {
  if (signal.aborted) return;
  await new Promise<void>((resolve) => {
    signal.addEventListener(
      "abort",
      () => {
        resolve();
      },
      { once: true },
    );
  });
}
