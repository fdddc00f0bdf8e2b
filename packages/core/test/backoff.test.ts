import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  Backoff,
  exponentialDelay,
  ItemExponentialRateLimiter,
  jitteredDelay,
  retryAfterMs,
  seededRandom,
  withRetryAfter,
} from "../src/backoff.js";
import { PermanentError, RetryableError } from "../src/errors.js";

describe("exponentialDelay", () => {
  it("grows by the factor and stops at the cap", () => {
    expect([0, 1, 2, 3].map((n) => exponentialDelay(n, 5, 2, 1_000_000))).toEqual([5, 10, 20, 40]);
    expect(exponentialDelay(20, 5, 2, 1_000_000)).toBe(1_000_000);
  });

  it("stays finite for huge attempts and safe for degenerate inputs", () => {
    expect(exponentialDelay(100_000, 5, 2, 1_000)).toBe(1_000);
    expect(exponentialDelay(Number.POSITIVE_INFINITY, 5, 2, 1_000)).toBe(1_000);
    expect(exponentialDelay(-3, 5, 2, 1_000)).toBe(5);
    expect(exponentialDelay(3, 0, 2, 1_000)).toBe(0);
  });
});

describe("seededRandom", () => {
  it("is deterministic per seed and stays in [0, 1)", () => {
    const a = seededRandom(42);
    const b = seededRandom(42);
    const xs = Array.from({ length: 1000 }, () => a());
    expect(Array.from({ length: 1000 }, () => b())).toEqual(xs);
    expect(xs.every((x) => x >= 0 && x < 1)).toBe(true);
    expect(new Set(xs).size).toBeGreaterThan(990);
    expect(seededRandom(43)()).not.toBe(xs[0]);
  });
});

describe("jitteredDelay", () => {
  const bounds = { baseMs: 10, maxMs: 10_000 };

  it("keeps every mode inside its documented range", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 10_000 }),
        fc.double({ min: 0, max: 1, maxExcluded: true }),
        (exp, r) => {
          const random = (): number => r;
          expect(jitteredDelay("none", exp, bounds, random)).toBe(exp);
          const full = jitteredDelay("full", exp, bounds, random);
          expect(full).toBeGreaterThanOrEqual(0);
          expect(full).toBeLessThanOrEqual(exp);
          const equal = jitteredDelay("equal", exp, bounds, random);
          expect(equal).toBeGreaterThanOrEqual(Math.floor(exp / 2));
          expect(equal).toBeLessThanOrEqual(exp);
          const previousMs = exp;
          const decorrelated = jitteredDelay("decorrelated", exp, { ...bounds, previousMs }, random);
          expect(decorrelated).toBeGreaterThanOrEqual(bounds.baseMs);
          expect(decorrelated).toBeLessThanOrEqual(
            Math.min(bounds.maxMs, Math.max(bounds.baseMs, 3 * previousMs)),
          );
        },
      ),
    );
  });
});

describe("Backoff", () => {
  it("without jitter is plain capped exponential", () => {
    const backoff = new Backoff({ baseMs: 100, maxMs: 1_000, jitter: "none" });
    expect([0, 1, 2, 3, 4, 5].map((n) => backoff.nextDelay(n))).toEqual([100, 200, 400, 800, 1_000, 1_000]);
  });

  it("full jitter spreads delays over [0, exp]", () => {
    const backoff = new Backoff({ baseMs: 100, maxMs: 100_000, jitter: "full", random: seededRandom(1) });
    const delays = Array.from({ length: 200 }, () => backoff.nextDelay(4));
    expect(delays.every((d) => d >= 0 && d <= 1_600)).toBe(true);
    expect(Math.min(...delays)).toBeLessThan(400);
    expect(Math.max(...delays)).toBeGreaterThan(1_200);
  });

  it("decorrelated jitter builds on the previous delay and restarts at attempt 0", () => {
    const backoff = new Backoff({ baseMs: 100, maxMs: 5_000, jitter: "decorrelated", random: () => 0.999 });
    const first = backoff.nextDelay(0);
    expect(first).toBeGreaterThan(290);
    expect(first).toBeLessThanOrEqual(300);
    const second = backoff.nextDelay(1);
    expect(second).toBeGreaterThan(3 * first - 10);
    expect(second).toBeLessThanOrEqual(3 * first);
    let last = second;
    for (let n = 2; n < 10; n++) last = backoff.nextDelay(n);
    expect(last).toBeLessThanOrEqual(5_000);
    expect(last).toBeGreaterThan(4_900);
    expect(backoff.nextDelay(0)).toBeLessThanOrEqual(300);
  });

  it("waits at least retryAfterMs when the error says so", () => {
    const backoff = new Backoff({ baseMs: 100, jitter: "none" });
    expect(backoff.nextDelay(0, new RetryableError("throttled", { retryAfterMs: 5_000 }))).toBe(5_000);
    expect(backoff.nextDelay(3, new RetryableError("throttled", { retryAfterMs: 5 }))).toBe(800);
  });
});

describe("retryAfterMs", () => {
  it("reads only positive finite retryAfterMs of RetryableErrors", () => {
    expect(retryAfterMs(new RetryableError("x", { retryAfterMs: 1_500 }))).toBe(1_500);
    expect(retryAfterMs(new RetryableError("x"))).toBeUndefined();
    expect(retryAfterMs(new RetryableError("x", { retryAfterMs: Number.NaN }))).toBeUndefined();
    expect(retryAfterMs(new RetryableError("x", { retryAfterMs: -1 }))).toBeUndefined();
    expect(retryAfterMs(new PermanentError("x"))).toBeUndefined();
    expect(retryAfterMs({ retryAfterMs: 1_000 })).toBeUndefined();
    expect(retryAfterMs(undefined)).toBeUndefined();
    expect(withRetryAfter(10, new RetryableError("x", { retryAfterMs: 20 }))).toBe(20);
    expect(withRetryAfter(30, new RetryableError("x", { retryAfterMs: 20 }))).toBe(30);
  });
});

describe("ItemExponentialRateLimiter", () => {
  it("defaults to client-go's 5 ms doubling up to 1000 s", () => {
    const limiter = new ItemExponentialRateLimiter({ jitter: "none" });
    const delays = Array.from({ length: 30 }, () => limiter.when("k"));
    expect(delays.slice(0, 5)).toEqual([5, 10, 20, 40, 80]);
    expect(delays.at(-1)).toBe(1_000_000);
    expect(Math.max(...delays)).toBe(1_000_000);
    expect(limiter.numRequeues("k")).toBe(30);
  });

  it("keeps keys independent and forget resets one key", () => {
    const limiter = new ItemExponentialRateLimiter({ baseMs: 10, maxMs: 1_000, jitter: "none" });
    limiter.when("a");
    limiter.when("a");
    limiter.when("a");
    expect(limiter.when("b")).toBe(10);
    expect(limiter.numRequeues("a")).toBe(3);
    limiter.forget("a");
    expect(limiter.numRequeues("a")).toBe(0);
    expect(limiter.when("a")).toBe(10);
    expect(limiter.numRequeues("b")).toBe(1);
  });

  it("jitters by default, within [exp/2, exp], never shrinking before the cap", () => {
    fc.assert(
      fc.property(fc.integer(), (seed) => {
        const limiter = new ItemExponentialRateLimiter({ random: seededRandom(seed) });
        let previous = 0;
        for (let n = 0; n < 18; n++) {
          const exp = 5 * 2 ** n;
          const delay = limiter.when("k");
          expect(delay).toBeGreaterThanOrEqual(Math.floor(exp / 2));
          expect(delay).toBeLessThanOrEqual(exp);
          expect(delay).toBeGreaterThanOrEqual(previous);
          previous = delay;
        }
      }),
    );
    const limiter = new ItemExponentialRateLimiter({ random: seededRandom(7) });
    const delays = Array.from({ length: 12 }, () => limiter.when("k"));
    expect(delays.some((d, n) => d !== 5 * 2 ** n)).toBe(true);
  });

  it("honours retryAfterMs as a floor, still counting the failure", () => {
    const limiter = new ItemExponentialRateLimiter({ jitter: "none" });
    expect(limiter.when("k", new RetryableError("429", { retryAfterMs: 30_000 }))).toBe(30_000);
    expect(limiter.numRequeues("k")).toBe(1);
    expect(limiter.when("k", new Error("plain"))).toBe(10);
  });
});
