import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ItemExponentialRateLimiter, seededRandom } from "../src/backoff.js";
import { FakeClock } from "../src/clock.js";
import { AbortedError, InvalidInputError, RetryableError } from "../src/errors.js";
import {
  WorkQueue,
  type SyncResult,
  type WorkQueueMetric,
  type WorkQueueOptions,
} from "../src/work-queue.js";

interface Deferred<T = void> {
  promise: Promise<T>;
  resolve: (value: T) => void;
  reject: (error: unknown) => void;
}

function deferred<T = void>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** Lets the queue's promise continuations (run completion, next start) happen. */
function flush(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** A handler whose runs stay in flight until the test settles them. */
function controlledHandler<K extends string>() {
  const runs: { key: K; signal: AbortSignal; done: Deferred<SyncResult | undefined> }[] = [];
  const active = new Map<K, number>();
  let maxActive = 0;
  let selfOverlap = false;
  const handler = (key: K, signal: AbortSignal): Promise<SyncResult | undefined> => {
    const done = deferred<SyncResult | undefined>();
    if (active.has(key)) selfOverlap = true;
    active.set(key, (active.get(key) ?? 0) + 1);
    maxActive = Math.max(
      maxActive,
      [...active.values()].reduce((a, b) => a + b, 0),
    );
    runs.push({ key, signal, done });
    return done.promise.finally(() => {
      const n = (active.get(key) ?? 1) - 1;
      if (n === 0) active.delete(key);
      else active.set(key, n);
    });
  };
  return {
    handler,
    runs,
    keys: () => runs.map((r) => r.key),
    get maxActive() {
      return maxActive;
    },
    get selfOverlap() {
      return selfOverlap;
    },
  };
}

function queue<K extends string = string>(clock: FakeClock, options: WorkQueueOptions<K> = {}): WorkQueue<K> {
  return new WorkQueue<K>({
    clock,
    rateLimiter: new ItemExponentialRateLimiter<K>({ random: seededRandom(1) }),
    ...options,
  });
}

describe("WorkQueue", () => {
  it("queues a key once however often it is added", async () => {
    const clock = new FakeClock();
    const q = queue(clock);
    q.add("a");
    q.add("a");
    q.add("b");
    q.add("a");
    expect(q.len).toBe(2);

    const seen: string[] = [];
    void q.process((key) => {
      seen.push(key);
      return Promise.resolve();
    });
    await flush();

    expect(seen).toEqual(["a", "b"]);
    expect(q.len).toBe(0);
    expect(q.inFlight).toBe(0);
  });

  it("never runs a key concurrently with itself; an add during a run means exactly one more run", async () => {
    const clock = new FakeClock();
    const q = queue(clock, { concurrency: 4 });
    const h = controlledHandler();
    void q.process(h.handler);

    q.add("a");
    expect(h.keys()).toEqual(["a"]);
    q.add("a");
    q.add("a");
    q.add("a");
    await flush();
    expect(h.keys()).toEqual(["a"]);
    expect(q.len).toBe(0);
    expect(q.inFlight).toBe(1);

    h.runs[0]?.done.resolve(undefined);
    await flush();
    expect(h.keys()).toEqual(["a", "a"]);

    h.runs[1]?.done.resolve(undefined);
    await flush();
    expect(h.keys()).toEqual(["a", "a"]);
    expect(h.selfOverlap).toBe(false);
    expect(q.inFlight).toBe(0);
  });

  it("runs at most `concurrency` keys at once and runs them all", async () => {
    const clock = new FakeClock();
    const q = queue(clock, { concurrency: 3 });
    const h = controlledHandler();
    void q.process(h.handler);
    for (let i = 0; i < 10; i++) q.add(`k${i}`);

    expect(q.inFlight).toBe(3);
    expect(q.len).toBe(7);
    for (let settled = 0; settled < 10; settled++) {
      h.runs[settled]?.done.resolve(undefined);
      await flush();
      expect(q.inFlight).toBeLessThanOrEqual(3);
    }
    expect(h.maxActive).toBe(3);
    expect(h.keys()).toEqual(Array.from({ length: 10 }, (_, i) => `k${i}`));
  });

  it("is FIFO, and a key re-added during its run goes to the back", async () => {
    const clock = new FakeClock();
    const q = queue(clock);
    const h = controlledHandler();
    void q.process(h.handler);
    q.add("c");
    q.add("a");
    q.add("c");
    q.add("b");

    for (let i = 0; i < 4; i++) {
      h.runs[i]?.done.resolve(undefined);
      await flush();
    }
    expect(h.keys()).toEqual(["c", "a", "b", "c"]);
  });

  it("retries failures with growing, jittered backoff", async () => {
    const clock = new FakeClock();
    const q = queue(clock);
    const delays: number[] = [];
    void q.process(() => Promise.reject(new Error("boom")));

    q.add("a");
    for (let n = 0; n < 12; n++) {
      await flush();
      const due = clock.nextDue();
      expect(due).toBeDefined();
      delays.push((due ?? 0) - clock.now());
      expect(q.numRequeues("a")).toBe(n + 1);
      clock.advance((due ?? 0) - clock.now());
    }

    delays.forEach((delay, n) => {
      const exp = 5 * 2 ** n;
      expect(delay).toBeGreaterThanOrEqual(Math.floor(exp / 2));
      expect(delay).toBeLessThanOrEqual(exp);
      if (n > 0) expect(delay).toBeGreaterThanOrEqual(delays[n - 1] ?? 0);
    });
    expect(delays.some((delay, n) => delay !== 5 * 2 ** n)).toBe(true);
    await q.shutDown();
  });

  it("waits at least RetryableError.retryAfterMs before retrying", async () => {
    const clock = new FakeClock();
    const q = queue(clock);
    let runs = 0;
    void q.process(() => {
      runs++;
      return Promise.reject(new RetryableError("throttled", { retryAfterMs: 7_000 }));
    });
    q.add("a");
    await flush();
    expect(runs).toBe(1);

    clock.advance(6_999);
    await flush();
    expect(runs).toBe(1);
    clock.advance(1);
    await flush();
    expect(runs).toBe(2);
    await q.shutDown();
  });

  it("forgets the backoff once the handler succeeds", async () => {
    const clock = new FakeClock();
    const q = queue(clock);
    let failures = 3;
    void q.process(() => (failures-- > 0 ? Promise.reject(new Error("flaky")) : Promise.resolve()));
    q.add("a");
    for (let i = 0; i < 3; i++) {
      await flush();
      clock.runAll();
    }
    await flush();
    expect(q.numRequeues("a")).toBe(0);

    failures = 1;
    q.add("a");
    await flush();
    expect(q.numRequeues("a")).toBe(1);
    const delay = (clock.nextDue() ?? 0) - clock.now();
    expect(delay).toBeGreaterThanOrEqual(2);
    expect(delay).toBeLessThanOrEqual(5);
  });

  it("forget() resets a key's backoff explicitly", () => {
    const q = queue(new FakeClock());
    q.addRateLimited("a");
    q.addRateLimited("a");
    expect(q.numRequeues("a")).toBe(2);
    q.forget("a");
    expect(q.numRequeues("a")).toBe(0);
  });

  it("retries handlers that throw synchronously", async () => {
    const clock = new FakeClock();
    const q = queue(clock);
    let runs = 0;
    void q.process(() => {
      runs++;
      if (runs === 1) throw new Error("sync throw");
      return Promise.resolve();
    });
    q.add("a");
    await flush();
    clock.runAll();
    await flush();
    expect(runs).toBe(2);
    expect(q.numRequeues("a")).toBe(0);
  });

  it("addAfter delays the add and keeps the earliest due time per key", async () => {
    const clock = new FakeClock(0);
    const q = queue(clock);
    const ran: number[] = [];
    void q.process(() => {
      ran.push(clock.now());
      return Promise.resolve();
    });

    q.addAfter("a", 100);
    q.addAfter("a", 50);
    q.addAfter("a", 200);
    expect(q.stats().waiting).toBe(1);
    expect(clock.pendingTimers).toBe(1);
    clock.advance(49);
    expect(ran).toEqual([]);
    clock.advance(1);
    expect(ran).toEqual([50]);
    clock.advance(1_000);
    await flush();
    expect(ran).toEqual([50]);

    q.addAfter("b", 0);
    expect(ran).toEqual([50, 1_050]);
  });

  it("re-runs a key when the handler returns requeueAfterMs", async () => {
    const clock = new FakeClock(0);
    const q = queue(clock);
    const ran: number[] = [];
    void q.process(() => {
      ran.push(clock.now());
      return Promise.resolve(ran.length < 3 ? { requeueAfterMs: 1_000 } : undefined);
    });
    q.add("poll");
    for (let i = 0; i < 5; i++) {
      await flush();
      clock.advance(1_000);
    }
    expect(ran).toEqual([0, 1_000, 2_000]);
    expect(q.numRequeues("poll")).toBe(0);
  });

  it("shutDown waits for in-flight runs, drops queued and delayed keys, and ignores later adds", async () => {
    const clock = new FakeClock();
    const q = queue(clock);
    const h = controlledHandler();
    const processing = q.process(h.handler);
    q.add("running");
    q.add("queued");
    q.addAfter("delayed", 1_000);

    let stopped = false;
    const shutdown = q.shutDown().then(() => (stopped = true));
    expect(q.shuttingDown).toBe(true);
    expect(q.len).toBe(0);
    expect(clock.pendingTimers).toBe(0);
    q.add("late");
    q.addAfter("late", 10);
    q.addRateLimited("late");
    await flush();
    expect(stopped).toBe(false);
    expect(h.runs[0]?.signal.aborted).toBe(false);

    h.runs[0]?.done.resolve({ requeueAfterMs: 5 });
    await shutdown;
    await processing;
    expect(h.keys()).toEqual(["running"]);
    expect(clock.pendingTimers).toBe(0);
    expect(q.shutDown()).toBe(q.shutDown());
  });

  it("shutDown({ drain: false }) aborts the handlers' signal", async () => {
    const clock = new FakeClock();
    const q = queue(clock);
    const h = controlledHandler();
    void q.process(h.handler);
    q.add("a");
    const signal = h.runs[0]?.signal;
    const shutdown = q.shutDown({ drain: false });
    expect(signal?.aborted).toBe(true);
    expect(signal?.reason).toBeInstanceOf(AbortedError);

    h.runs[0]?.done.reject(signal?.reason);
    await shutdown;
    expect(q.inFlight).toBe(0);
    expect(clock.pendingTimers).toBe(0);
  });

  it("shutDown before any work resolves at once, and process() resolves with it", async () => {
    const q = queue(new FakeClock());
    const processing = q.process(() => Promise.resolve());
    await q.shutDown();
    await processing;
    expect(() => q.process(() => Promise.resolve())).toThrow(InvalidInputError);
  });

  it("rejects a non-positive concurrency", () => {
    expect(() => new WorkQueue({ concurrency: 0 })).toThrow(InvalidInputError);
    expect(() => new WorkQueue({ concurrency: 1.5 })).toThrow(InvalidInputError);
  });

  it("reports depth, adds, latency, durations, retries and longest running", async () => {
    const clock = new FakeClock(0);
    const metrics: WorkQueueMetric[] = [];
    const q = queue(clock, {
      name: "pods",
      onMetrics: (m) => {
        metrics.push(m);
        throw new Error("a broken hook must not matter");
      },
    });
    q.add("a");
    q.add("a");
    q.add("b");
    expect(metrics.filter((m) => m.type === "add")).toHaveLength(3);
    expect(metrics.filter((m) => m.type === "depth").at(-1)).toEqual({
      type: "depth",
      queue: "pods",
      depth: 2,
    });

    clock.advance(40);
    const h = controlledHandler();
    void q.process(h.handler);
    expect(metrics).toContainEqual({ type: "latency", queue: "pods", key: "a", ms: 40 });

    clock.advance(25);
    expect(q.stats()).toEqual({
      depth: 1,
      inFlight: 1,
      waiting: 0,
      longestRunningMs: 25,
      unfinishedWorkMs: 25,
    });
    h.runs[0]?.done.reject(new RetryableError("busy", { retryAfterMs: 500 }));
    await flush();
    expect(metrics).toContainEqual({
      type: "workDuration",
      queue: "pods",
      key: "a",
      ms: 25,
      outcome: "error",
    });
    expect(metrics).toContainEqual({ type: "retry", queue: "pods", key: "a", delayMs: 500, requeues: 1 });

    clock.advance(5);
    h.runs[1]?.done.resolve(undefined);
    await flush();
    expect(metrics).toContainEqual({
      type: "workDuration",
      queue: "pods",
      key: "b",
      ms: 5,
      outcome: "success",
    });
    expect(q.stats()).toEqual({
      depth: 0,
      inFlight: 0,
      waiting: 1,
      longestRunningMs: 0,
      unfinishedWorkMs: 0,
    });
    await q.shutDown();
  });

  it("property: a key never runs twice at once, and every add is followed by a run", async () => {
    const keyArb = fc.constantFrom("a", "b", "c", "d");
    const opArb = fc.oneof(
      fc.record({ kind: fc.constant("add" as const), key: keyArb }),
      fc.record({ kind: fc.constant("addAfter" as const), key: keyArb, ms: fc.integer({ min: 0, max: 50 }) }),
      fc.record({ kind: fc.constant("complete" as const), index: fc.nat(), fail: fc.boolean() }),
      fc.record({ kind: fc.constant("advance" as const), ms: fc.integer({ min: 0, max: 100 }) }),
    );

    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 3 }),
        fc.array(opArb, { maxLength: 60 }),
        async (concurrency, ops) => {
          const clock = new FakeClock(0);
          const q = queue(clock, { concurrency });
          let seq = 0;
          const lastAdd = new Map<string, number>();
          const lastStart = new Map<string, number>();
          const running = new Set<string>();
          const inFlight: { key: string; done: Deferred }[] = [];
          let violation: string | undefined;

          void q.process((key) => {
            if (running.has(key)) violation ??= `${key} ran twice at once`;
            running.add(key);
            if (running.size > concurrency)
              violation ??= `${running.size} runs with concurrency ${concurrency}`;
            lastStart.set(key, ++seq);
            const done = deferred();
            inFlight.push({ key, done });
            return done.promise;
          });
          const complete = (index: number, fail: boolean): void => {
            const [run] = inFlight.splice(index % inFlight.length, 1);
            if (run === undefined) return;
            running.delete(run.key);
            if (fail) run.done.reject(new Error("fail"));
            else run.done.resolve();
          };

          for (const op of ops) {
            if (op.kind === "add") {
              lastAdd.set(op.key, ++seq);
              q.add(op.key);
            } else if (op.kind === "addAfter") {
              // A delayed add counts as an add when it falls due; only check the ones due by the end.
              q.addAfter(op.key, op.ms);
            } else if (op.kind === "complete") {
              complete(op.index, op.fail);
            } else {
              clock.advance(op.ms);
            }
            await flush();
          }

          // Quiesce: let everything succeed and fire every pending retry and delayed add.
          for (let round = 0; round < 1_000; round++) {
            if (inFlight.length > 0) complete(0, false);
            else if (clock.pendingTimers > 0) clock.runAll();
            else break;
            await flush();
          }

          expect(violation).toBeUndefined();
          expect(inFlight).toEqual([]);
          expect(q.len).toBe(0);
          for (const [key, addedAt] of lastAdd) {
            expect(lastStart.get(key) ?? -1).toBeGreaterThan(addedAt);
          }
          await q.shutDown();
        },
      ),
      { numRuns: 150 },
    );
  });
});
