import { describe, expect, it } from "vitest";
import { createSystemClock, FakeClock, systemClock } from "../src/clock.js";
import { AbortedError, ErrorCodes } from "../src/errors.js";

describe("FakeClock", () => {
  it("starts at a fixed epoch and only moves when told", () => {
    const clock = new FakeClock(1_000);
    expect(clock.now()).toBe(1_000);
    clock.advance(250);
    expect(clock.now()).toBe(1_250);
    expect(new FakeClock().now()).toBe(Date.UTC(2024, 0, 1));
  });

  it("fires due timers in due order, ties in scheduling order, and leaves later ones pending", () => {
    const clock = new FakeClock(0);
    const fired: string[] = [];
    clock.setTimeout(() => fired.push(`c@${clock.now()}`), 30);
    clock.setTimeout(() => fired.push(`a@${clock.now()}`), 10);
    clock.setTimeout(() => fired.push(`b1@${clock.now()}`), 20);
    clock.setTimeout(() => fired.push(`b2@${clock.now()}`), 20);
    clock.setTimeout(() => fired.push("late"), 31);
    expect(clock.pendingTimers).toBe(5);

    clock.advance(30);

    expect(fired).toEqual(["a@10", "b1@20", "b2@20", "c@30"]);
    expect(clock.now()).toBe(30);
    expect(clock.pendingTimers).toBe(1);
    expect(clock.nextDue()).toBe(31);
  });

  it("fires timers that callbacks schedule inside the window, not beyond it", () => {
    const clock = new FakeClock(0);
    const fired: number[] = [];
    clock.setTimeout(() => {
      fired.push(clock.now());
      clock.setTimeout(() => fired.push(clock.now()), 5);
      clock.setTimeout(() => fired.push(clock.now()), 50);
    }, 10);

    clock.advance(20);

    expect(fired).toEqual([10, 15]);
    expect(clock.pendingTimers).toBe(1);
    clock.advance(40);
    expect(fired).toEqual([10, 15, 60]);
  });

  it("treats negative and NaN delays as zero", () => {
    const clock = new FakeClock(0);
    let count = 0;
    clock.setTimeout(() => count++, -5);
    clock.setTimeout(() => count++, Number.NaN);
    clock.advance(0);
    expect(count).toBe(2);
  });

  it("clearTimeout cancels, and ignores stale or undefined handles", () => {
    const clock = new FakeClock(0);
    let fired = false;
    const handle = clock.setTimeout(() => (fired = true), 10);
    clock.clearTimeout(handle);
    clock.clearTimeout(handle);
    clock.clearTimeout(undefined);
    clock.advance(100);
    expect(fired).toBe(false);
    expect(clock.pendingTimers).toBe(0);
  });

  it("runAll fires everything, jumping time to each due time", () => {
    const clock = new FakeClock(0);
    const fired: number[] = [];
    clock.setTimeout(() => {
      fired.push(clock.now());
      clock.setTimeout(() => fired.push(clock.now()), 1_000);
    }, 500);
    clock.runAll();
    expect(fired).toEqual([500, 1_500]);
    expect(clock.now()).toBe(1_500);
    expect(clock.pendingTimers).toBe(0);
  });

  it("runAll fails instead of hanging on a timer that always reschedules", () => {
    const clock = new FakeClock(0);
    const again = (): void => {
      clock.setTimeout(again, 1);
    };
    again();
    expect(() => {
      clock.runAll(100);
    }).toThrow(/more than 100 timers/);
  });

  it("sleep resolves when time reaches it", async () => {
    const clock = new FakeClock(0);
    let done = false;
    const sleeping = clock.sleep(100).then(() => (done = true));
    clock.advance(99);
    await Promise.resolve();
    expect(done).toBe(false);
    clock.advance(1);
    await sleeping;
    expect(done).toBe(true);
  });

  it("sleep rejects with AbortedError on abort and drops its timer", async () => {
    const clock = new FakeClock(0);
    const controller = new AbortController();
    const sleeping = clock.sleep(1_000, controller.signal);
    expect(clock.pendingTimers).toBe(1);
    controller.abort(new Error("stop"));
    const error: unknown = await sleeping.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AbortedError);
    expect((error as AbortedError).code).toBe(ErrorCodes.Aborted);
    expect((error as AbortedError).cause).toEqual(new Error("stop"));
    expect(clock.pendingTimers).toBe(0);
  });

  it("sleep with an already aborted signal rejects without scheduling", async () => {
    const clock = new FakeClock(0);
    await expect(clock.sleep(10, AbortSignal.abort())).rejects.toBeInstanceOf(AbortedError);
    expect(clock.pendingTimers).toBe(0);
  });

  it("advanceAsync lets async loops that await sleep progress through the window", async () => {
    const clock = new FakeClock(0);
    const ticks: number[] = [];
    const controller = new AbortController();
    const loop = (async () => {
      for (;;) {
        await clock.sleep(100, controller.signal);
        ticks.push(clock.now());
      }
    })().catch((e: unknown) => e);

    await clock.advanceAsync(350);
    expect(ticks).toEqual([100, 200, 300]);

    controller.abort();
    expect(await loop).toBeInstanceOf(AbortedError);
  });
});

describe("systemClock", () => {
  it("reads wall time", () => {
    const before = Date.now();
    const now = systemClock.now();
    expect(now).toBeGreaterThanOrEqual(before);
    expect(now).toBeLessThanOrEqual(Date.now());
  });

  it("sleep(0) resolves and abort rejects with AbortedError", async () => {
    await expect(systemClock.sleep(0)).resolves.toBeUndefined();
    const controller = new AbortController();
    const sleeping = systemClock.sleep(60_000, controller.signal);
    controller.abort();
    await expect(sleeping).rejects.toBeInstanceOf(AbortedError);
  });

  it("unref: true leaves timers unable to hold the process open", () => {
    const clock = createSystemClock({ unref: true });
    const handle = clock.setTimeout(() => undefined, 60_000);
    expect((handle as unknown as NodeJS.Timeout).hasRef()).toBe(false);
    clock.clearTimeout(handle);

    const held = systemClock.setTimeout(() => undefined, 60_000);
    expect((held as unknown as NodeJS.Timeout).hasRef()).toBe(true);
    systemClock.clearTimeout(held);
  });
});
