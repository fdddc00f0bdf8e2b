import fc from "fast-check";
import { Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import { AbortedError, FakeClock, InvalidInputError } from "@virtual-node/core";
import { AdaptiveRateLimiter, createRateLimiters } from "@virtual-node/core/provider-kit";

/** Starts `n` acquires and records the fake time at which each one got its token. */
function acquireAll(limiter: AdaptiveRateLimiter, clock: FakeClock, n: number, signal?: AbortSignal) {
  const start = clock.now();
  const times: number[] = [];
  const promises = Array.from({ length: n }, () =>
    limiter.acquire(signal).then(() => {
      times.push(clock.now() - start);
    }),
  );
  return { times, promises };
}

describe("AdaptiveRateLimiter", () => {
  it("lets the burst through at once, then the sustained rate (ECS RunTask: burst 100, 40/s)", async () => {
    const clock = new FakeClock();
    const limiter = new AdaptiveRateLimiter({ name: "RunTask", ratePerSecond: 40, burst: 100, clock });
    const { times } = acquireAll(limiter, clock, 180, undefined);
    await clock.advanceAsync(0);
    expect(times).toHaveLength(100);
    await clock.advanceAsync(1_000);
    expect(times).toHaveLength(140);
    await clock.advanceAsync(1_000);
    expect(times).toHaveLength(180);
    // Never more than burst + rate × t in any prefix of time.
    for (const t of times)
      expect(times.filter((u) => u <= t).length).toBeLessThanOrEqual(100 + Math.floor((40 * t) / 1000));
    expect(limiter.stats()).toMatchObject({ acquired: 180, waiting: 0, throttles: 0, ratePerSecond: 40 });
  });

  it("never grants more than burst + rate × window in any window, and serves everyone (property)", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 20 }),
        fc.integer({ min: 1, max: 10 }),
        fc.array(fc.integer({ min: 0, max: 2_000 }), { minLength: 1, maxLength: 60 }),
        async (rate, burst, arrivals) => {
          const clock = new FakeClock(0);
          const limiter = new AdaptiveRateLimiter({ name: "p", ratePerSecond: rate, burst, clock });
          const granted: number[] = [];
          const sorted = [...arrivals].sort((a, b) => a - b);
          const all: Promise<void>[] = [];
          for (const at of sorted) {
            await clock.advanceAsync(at - clock.now());
            all.push(limiter.acquire().then(() => void granted.push(clock.now())));
          }
          await clock.advanceAsync(((sorted.length + burst) / rate) * 1_000 + 1_000);
          await Promise.all(all);
          expect(granted).toHaveLength(sorted.length);
          for (const start of granted) {
            for (const end of granted) {
              if (end < start) continue;
              const inWindow = granted.filter((t) => t >= start && t <= end).length;
              expect(inWindow).toBeLessThanOrEqual(burst + Math.floor(((end - start) * rate) / 1_000));
            }
          }
        },
      ),
      { numRuns: 60 },
    );
  });

  it("hands out tokens in arrival order", async () => {
    const clock = new FakeClock();
    const limiter = new AdaptiveRateLimiter({ name: "x", ratePerSecond: 10, burst: 1, clock });
    const order: number[] = [];
    const all = [0, 1, 2, 3].map((i) => limiter.acquire().then(() => order.push(i)));
    await clock.advanceAsync(1_000);
    await Promise.all(all);
    expect(order).toEqual([0, 1, 2, 3]);
  });

  it("refills while idle up to the burst, not beyond", async () => {
    const clock = new FakeClock();
    const limiter = new AdaptiveRateLimiter({ name: "x", ratePerSecond: 5, burst: 3, clock });
    for (let i = 0; i < 3; i++) await limiter.acquire();
    expect(limiter.stats().tokens).toBe(0);
    clock.advance(60_000);
    expect(limiter.stats().tokens).toBe(3);
  });

  it("cuts the rate on a throttle, drops the saved burst, and recovers additively on successes", async () => {
    const clock = new FakeClock();
    const rates: number[] = [];
    const limiter = new AdaptiveRateLimiter({
      name: "x",
      ratePerSecond: 40,
      burst: 100,
      clock,
      recoveryPerSecond: 4,
      onRateChange: (s) => rates.push(s.ratePerSecond),
    });
    limiter.onThrottle();
    expect(limiter.stats()).toMatchObject({ ratePerSecond: 20, tokens: 0, throttles: 1 });
    // More throttles within the cooldown answer calls sent at the old rate: no second cut.
    limiter.onThrottle();
    expect(limiter.stats()).toMatchObject({ ratePerSecond: 20, throttles: 2 });
    clock.advance(1_000);
    limiter.onThrottle();
    expect(limiter.stats()).toMatchObject({ ratePerSecond: 10, tokens: 0 });
    // At 10/s the bucket holds 25 (burst scaled with the rate): 10 tokens after one second.
    const { times } = acquireAll(limiter, clock, 20);
    await clock.advanceAsync(1_000);
    expect(times).toHaveLength(10);
    await clock.advanceAsync(1_000);
    expect(times).toHaveLength(20);
    // 2 s after the cut: 10 + 4 × 2 = 18/s.
    limiter.onSuccess();
    expect(limiter.stats().ratePerSecond).toBeCloseTo(18);
    clock.advance(10_000);
    limiter.onSuccess();
    expect(limiter.stats().ratePerSecond).toBe(40);
    expect(rates).toEqual([20, 10, 18, 40]);
  });

  it("never cuts below the minimum rate", () => {
    const clock = new FakeClock();
    const limiter = new AdaptiveRateLimiter({
      name: "x",
      ratePerSecond: 8,
      burst: 8,
      clock,
      minRatePerSecond: 1.5,
    });
    for (let i = 0; i < 10; i++) {
      limiter.onThrottle();
      clock.advance(1_000);
    }
    expect(limiter.stats().ratePerSecond).toBe(1.5);
  });

  it("holds every caller until Retry-After has passed", async () => {
    const clock = new FakeClock();
    const limiter = new AdaptiveRateLimiter({ name: "x", ratePerSecond: 100, burst: 100, clock });
    limiter.onThrottle(5_000);
    const { times } = acquireAll(limiter, clock, 3);
    await clock.advanceAsync(4_999);
    expect(times).toEqual([]);
    await clock.advanceAsync(1_000);
    expect(times.length).toBe(3);
    expect(Math.min(...times)).toBeGreaterThanOrEqual(5_000);
  });

  it("a later, longer Retry-After extends the hold; a shorter one does not shorten it", async () => {
    const clock = new FakeClock();
    const limiter = new AdaptiveRateLimiter({
      name: "x",
      ratePerSecond: Number.POSITIVE_INFINITY,
      burst: 1,
      clock,
    });
    limiter.onThrottle(2_000);
    const { times } = acquireAll(limiter, clock, 1);
    await clock.advanceAsync(1_000);
    limiter.onThrottle(3_000); // until t = 4 s
    limiter.onThrottle(500);
    await clock.advanceAsync(2_500);
    expect(times).toEqual([]);
    await clock.advanceAsync(600);
    expect(times).toEqual([4_000]);
  });

  it("an unlimited rate never waits", async () => {
    const clock = new FakeClock();
    const limiter = new AdaptiveRateLimiter({
      name: "x",
      ratePerSecond: Number.POSITIVE_INFINITY,
      burst: 1,
      clock,
    });
    const { times } = acquireAll(limiter, clock, 1_000);
    await clock.advanceAsync(0);
    expect(times).toHaveLength(1_000);
  });

  it("rejects an aborted caller with AbortedError and gives its place to the next", async () => {
    const clock = new FakeClock();
    const limiter = new AdaptiveRateLimiter({ name: "x", ratePerSecond: 1, burst: 1, clock });
    await limiter.acquire();
    const controller = new AbortController();
    const aborted = limiter.acquire(controller.signal);
    const next = limiter.acquire();
    expect(limiter.stats().waiting).toBe(2);
    controller.abort();
    await expect(aborted).rejects.toBeInstanceOf(AbortedError);
    expect(limiter.stats().waiting).toBe(1);
    await clock.advanceAsync(1_000);
    await next;
    expect(limiter.stats()).toMatchObject({ acquired: 2, waiting: 0 });
    await expect(limiter.acquire(controller.signal)).rejects.toBeInstanceOf(AbortedError);
    expect(clock.pendingTimers).toBe(0);
  });

  it("rejects nonsense limits", () => {
    expect(() => new AdaptiveRateLimiter({ name: "x", ratePerSecond: 0, burst: 1 })).toThrow(
      InvalidInputError,
    );
    expect(() => new AdaptiveRateLimiter({ name: "x", ratePerSecond: 1, burst: 0 })).toThrow(
      InvalidInputError,
    );
    expect(() => new AdaptiveRateLimiter({ name: "x", ratePerSecond: Number.NaN, burst: 1 })).toThrow(
      InvalidInputError,
    );
  });

  it("reports each caller's wait", async () => {
    const clock = new FakeClock();
    const waits: number[] = [];
    const limiter = new AdaptiveRateLimiter({
      name: "x",
      ratePerSecond: 2,
      burst: 1,
      clock,
      onAcquire: (ms) => waits.push(ms),
    });
    acquireAll(limiter, clock, 3);
    await clock.advanceAsync(1_000);
    expect(waits).toEqual([0, 500, 1_000]);
  });
});

describe("createRateLimiters", () => {
  const table = { RunTask: { ratePerSecond: 40, burst: 100 }, default: { ratePerSecond: 20, burst: 50 } };

  it("one limiter per API; unlisted APIs get their own limiter with the default numbers", () => {
    const limiters = createRateLimiters(table, { provider: "fargate", clock: new FakeClock() });
    expect(limiters.get("RunTask")).toBe(limiters.get("RunTask"));
    expect(limiters.get("RunTask").stats()).toMatchObject({ configuredRatePerSecond: 40, tokens: 100 });
    const describe = limiters.get("DescribeTasks");
    expect(describe.stats()).toMatchObject({
      name: "DescribeTasks",
      configuredRatePerSecond: 20,
      tokens: 50,
    });
    expect(limiters.get("ListTasks")).not.toBe(describe);
    expect(limiters.stats().map((s) => s.name)).toEqual(["RunTask", "DescribeTasks", "ListTasks"]);
  });

  it("without a default entry, unlisted APIs are unlimited", async () => {
    const clock = new FakeClock();
    const limiters = createRateLimiters(
      { RunTask: { ratePerSecond: 1, burst: 1 } },
      { provider: "fargate", clock },
    );
    const other = limiters.get("TagResource");
    const { times } = acquireAll(other, clock, 500);
    await clock.advanceAsync(0);
    expect(times).toHaveLength(500);
  });

  it("exports throttles, waits and the current rate on the registry, once per registry", async () => {
    const clock = new FakeClock();
    const registry = new Registry();
    const limiters = createRateLimiters(table, { provider: "fargate", clock, registry });
    // A second provider on the same registry must not re-register the metrics.
    const other = createRateLimiters(table, { provider: "aci", clock, registry });
    other.get("RunTask");
    const runTask = limiters.get("RunTask");
    runTask.onThrottle(1_000);
    const { promises } = acquireAll(runTask, clock, 2);
    await clock.advanceAsync(2_000);
    await Promise.all(promises);
    const text = await registry.metrics();
    expect(text).toContain('virtual_node_provider_throttles_total{provider="fargate",api="RunTask"} 1');
    expect(text).toContain('virtual_node_provider_rate_limit_qps{provider="fargate",api="RunTask"} 20');
    expect(text).toContain('virtual_node_provider_rate_limit_qps{provider="aci",api="RunTask"} 40');
    expect(text).toContain(
      'virtual_node_provider_rate_limit_wait_seconds_count{provider="fargate",api="RunTask"} 2',
    );
    // Both waited for the hold: at least 1 s each.
    expect(text).toContain(
      'virtual_node_provider_rate_limit_wait_seconds_bucket{le="0.5",provider="fargate",api="RunTask"} 0',
    );
  });
});
