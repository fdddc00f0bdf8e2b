import { describe, expect, it } from "vitest";
import { AbortedError, FakeClock, InvalidInputError, RetryableError } from "@virtual-node/core";
import { pollUntil } from "@virtual-node/core/provider-kit";
import type { PollResult } from "@virtual-node/core/provider-kit";

/** A check that answers the scripted results in turn and records when it ran. */
function scripted<T>(clock: FakeClock, answers: (PollResult<T> | Error)[]) {
  const at: number[] = [];
  const start = clock.now();
  const check = (signal: AbortSignal): Promise<PollResult<T>> => {
    expect(signal).toBeInstanceOf(AbortSignal);
    at.push(clock.now() - start);
    const next = answers.shift();
    if (next === undefined) return Promise.resolve({ done: false });
    return next instanceof Error ? Promise.reject(next) : Promise.resolve(next);
  };
  return { check, at };
}

async function drive<T>(clock: FakeClock, promise: Promise<T>, maxMs = 600_000): Promise<T> {
  const state = { done: false };
  const tracked = promise.finally(() => {
    state.done = true;
  });
  tracked.catch(() => undefined);
  for (let waited = 0; !state.done && waited < maxMs; waited += 250) await clock.advanceAsync(250);
  return tracked;
}

const NO_JITTER = { baseMs: 1_000, maxMs: 8_000, factor: 2, jitter: "none" } as const;

describe("pollUntil", () => {
  it("checks with growing waits until done and returns the value", async () => {
    const clock = new FakeClock();
    const { check, at } = scripted(clock, [
      { done: false },
      { done: false },
      { done: false },
      { done: true, value: "Succeeded" },
    ]);
    const value = await drive(
      clock,
      pollUntil(check, { signal: new AbortController().signal, clock, backoff: NO_JITTER }),
    );
    expect(value).toBe("Succeeded");
    expect(at).toEqual([0, 1_000, 3_000, 7_000]);
  });

  it("returns at once when the first check is done", async () => {
    const clock = new FakeClock();
    const { check, at } = scripted(clock, [{ done: true, value: 42 }]);
    await expect(pollUntil(check, { signal: new AbortController().signal, clock })).resolves.toBe(42);
    expect(at).toEqual([0]);
  });

  it("waits at least the server's retryAfterMs", async () => {
    const clock = new FakeClock();
    const { check, at } = scripted(clock, [
      { done: false, retryAfterMs: 5_000 },
      { done: false, retryAfterMs: 10 },
      { done: true, value: 1 },
    ]);
    await drive(clock, pollUntil(check, { signal: new AbortController().signal, clock, backoff: NO_JITTER }));
    // 5 s (server wins over 1 s), then 2 s (backoff wins over 10 ms).
    expect(at).toEqual([0, 5_000, 7_000]);
  });

  it("treats a RetryableError as not done, honouring its retryAfterMs", async () => {
    const clock = new FakeClock();
    const { check, at } = scripted(clock, [
      new RetryableError("throttled", { retryAfterMs: 4_000 }),
      { done: true, value: "ok" },
    ]);
    await expect(
      drive(clock, pollUntil(check, { signal: new AbortController().signal, clock, backoff: NO_JITTER })),
    ).resolves.toBe("ok");
    expect(at).toEqual([0, 4_000]);
  });

  it("ends with any other error at once", async () => {
    const clock = new FakeClock();
    const failure = new InvalidInputError("container group definition is invalid");
    const { check, at } = scripted(clock, [{ done: false }, failure]);
    const error = await drive(
      clock,
      pollUntil(check, { signal: new AbortController().signal, clock, backoff: NO_JITTER }),
    ).catch((e: unknown) => e);
    expect(error).toBe(failure);
    expect(at).toEqual([0, 1_000]);
  });

  it("past the deadline rejects with a RetryableError naming the operation, after one last check at the deadline", async () => {
    const clock = new FakeClock();
    const { check, at } = scripted<string>(clock, [new RetryableError("503")]);
    const error = await drive(
      clock,
      pollUntil(check, {
        signal: new AbortController().signal,
        clock,
        backoff: NO_JITTER,
        deadlineMs: 10_000,
        description: "container group default-web create",
      }),
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RetryableError);
    expect((error as Error).message).toBe("container group default-web create not done after 10000 ms");
    // 0, +1 s, +2 s, +4 s = 7 s, then the 8 s wait is cut to the deadline.
    expect(at).toEqual([0, 1_000, 3_000, 7_000, 10_000]);
  });

  it("keeps the last retryable error as the timeout's cause", async () => {
    const clock = new FakeClock();
    const last = new RetryableError("still 503");
    const { check } = scripted<string>(clock, [{ done: false }, last, last, last]);
    const error = await drive(
      clock,
      pollUntil(check, {
        signal: new AbortController().signal,
        clock,
        backoff: NO_JITTER,
        deadlineMs: 3_000,
      }),
    ).catch((e: unknown) => e);
    expect((error as Error).message).toMatch(/^operation not done after 3000 ms$/);
    expect((error as Error).cause).toBe(last);
  });

  it("an abort while waiting ends the poll with AbortedError", async () => {
    const clock = new FakeClock();
    const controller = new AbortController();
    const { check, at } = scripted<string>(clock, []);
    const pending = pollUntil(check, { signal: controller.signal, clock, backoff: NO_JITTER }).catch(
      (e: unknown) => e,
    );
    await clock.advanceAsync(1_500);
    controller.abort();
    expect(await pending).toBeInstanceOf(AbortedError);
    expect(at).toEqual([0, 1_000]);
    expect(clock.pendingTimers).toBe(0);
  });

  it("an already aborted signal never checks", async () => {
    const clock = new FakeClock();
    const { check, at } = scripted<string>(clock, []);
    await expect(pollUntil(check, { signal: AbortSignal.abort(), clock })).rejects.toBeInstanceOf(
      AbortedError,
    );
    expect(at).toEqual([]);
  });
});
