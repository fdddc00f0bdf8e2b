/**
 * The pieces that make an agent recover at once when the API server answers again, on a fake
 * clock: the reachability tracker and its probe, the reflector's `retryNow`, and the work queue's
 * `retryWaitingNow`. End to end (a real API server cut off for 20 s): api-outage.int.test.ts.
 */
import { describe, expect, it } from "vitest";
import { FakeClock } from "../src/clock.js";
import { ApiReachability, isApiServerAnswer } from "../src/kube/reachability.js";
import { Reflector } from "../src/kube/reflector.js";
import { noopLogger } from "../src/logger.js";
import { WorkQueue } from "../src/work-queue.js";

describe("ApiReachability", () => {
  it("probes once a second while unreachable and tells listeners once, at the first answer", async () => {
    const clock = new FakeClock();
    let up = false;
    const probes: number[] = [];
    const reachability = new ApiReachability({
      clock,
      probe: async () => {
        probes.push(clock.now());
        if (!up) throw new Error("ECONNREFUSED");
        return Promise.resolve();
      },
    });
    let recovered = 0;
    reachability.onRecovered(() => recovered++);
    reachability.failed();
    reachability.failed();
    expect(reachability.reachable).toBe(false);
    await clock.advanceAsync(3_000);
    expect(probes.length).toBe(3);
    up = true;
    await clock.advanceAsync(1_000);
    expect(recovered).toBe(1);
    expect(reachability.reachable).toBe(true);
    // No outage, no probes, no more notifications.
    await clock.advanceAsync(10_000);
    expect(probes.length).toBe(4);
    reachability.answered();
    expect(recovered).toBe(1);
  });

  it("any answer from another request ends the outage and stops probing", async () => {
    const clock = new FakeClock();
    let probes = 0;
    const reachability = new ApiReachability({
      clock,
      probe: async () => {
        probes++;
        return Promise.reject(new Error("ECONNRESET"));
      },
    });
    let recovered = 0;
    reachability.onRecovered(() => recovered++);
    reachability.failed();
    await clock.advanceAsync(1_500);
    reachability.answered();
    await clock.advanceAsync(5_000);
    expect(recovered).toBe(1);
    expect(probes).toBe(1);
    expect(clock.pendingTimers).toBe(0);
  });

  it("counts 502/503/504 as a gateway answering for an absent API server", () => {
    expect(isApiServerAnswer(200)).toBe(true);
    expect(isApiServerAnswer(404)).toBe(true);
    expect(isApiServerAnswer(500)).toBe(true);
    expect(isApiServerAnswer(503)).toBe(false);
    expect(isApiServerAnswer(0)).toBe(false);
  });
});

describe("Reflector.retryNow", () => {
  it("ends a backoff grown during an outage and re-lists at once", async () => {
    const clock = new FakeClock();
    let down = true;
    const lists: number[] = [];
    const client = {
      get: async <T>(): Promise<T> => {
        lists.push(clock.now());
        if (down) throw new Error("ECONNREFUSED");
        return Promise.resolve({ metadata: { resourceVersion: "5" }, items: [] } as T);
      },
      watch: async (_p: string, _q: unknown, _e: unknown, signal: AbortSignal): Promise<void> => {
        await new Promise<void>((resolve) => {
          signal.addEventListener(
            "abort",
            () => {
              resolve();
            },
            { once: true },
          );
        });
      },
    };
    const reflector = new Reflector({
      client,
      path: "/api/v1/pods",
      handlers: { onUpsert: () => undefined, onDelete: () => undefined },
      logger: noopLogger,
      clock,
    });
    const abort = new AbortController();
    const run = reflector.run(abort.signal);
    await clock.advanceAsync(60_000);
    expect(reflector.hasSynced).toBe(false);
    const attempts = lists.length;
    // Backoff is at its 30 s cap by now: without retryNow the next list is up to 30 s away.
    down = false;
    reflector.retryNow();
    await clock.advanceAsync(0);
    expect(lists.length).toBe(attempts + 1);
    expect(reflector.hasSynced).toBe(true);
    abort.abort();
    await run;
  });
});

describe("WorkQueue.retryWaitingNow", () => {
  it("runs keys waiting out their backoff at once, keeping their failure count", async () => {
    const clock = new FakeClock();
    const queue = new WorkQueue({ clock });
    let failing = true;
    const runs: { key: string; at: number }[] = [];
    const processing = queue.process(async (key) => {
      runs.push({ key, at: clock.now() });
      if (failing) throw new Error("API server unreachable");
      return Promise.resolve();
    });
    queue.add("ns/a");
    await clock.advanceAsync(5_000);
    const failures = queue.numRequeues("ns/a");
    expect(failures).toBeGreaterThan(5);
    failing = false;
    const before = runs.length;
    queue.retryWaitingNow();
    await clock.advanceAsync(0);
    expect(runs.length).toBe(before + 1);
    expect(runs.at(-1)?.at).toBe(clock.now());
    // It succeeded, so its backoff is forgotten; nothing else is scheduled.
    expect(queue.numRequeues("ns/a")).toBe(0);
    expect(queue.stats().waiting).toBe(0);
    await queue.shutDown();
    await processing;
  });
});
