import { AbortedError, FakeClock, RetryableError, errorCode } from "@virtual-node/core";
import { describe, expect, it } from "vitest";
import { MockAnnotations, MockCloud, createMockProvider } from "../src/index.js";
import type { MockCloudOptions } from "../src/index.js";
import { corePhase, signal, testPod } from "./pods.js";

function make(options: MockCloudOptions = {}) {
  const clock = new FakeClock();
  const cloud = new MockCloud({ clock, ...options });
  return { clock, cloud, provider: createMockProvider({ cloud }) };
}

async function outcomes(seed: number): Promise<string[]> {
  const { provider } = make({ faults: { rate: 0.3, seed } });
  const out: string[] = [];
  for (let i = 0; i < 40; i++) {
    try {
      await provider.listPods("vn-test", signal());
      out.push("ok");
    } catch (error) {
      expect(error).toBeInstanceOf(RetryableError);
      out.push(`${errorCode(error)}:${(error as RetryableError).retryAfterMs ?? "-"}`);
    }
  }
  return out;
}

describe("faults", () => {
  it("are deterministic for a seed, roughly at the asked rate, some with retryAfterMs", async () => {
    const a = await outcomes(42);
    expect(await outcomes(42)).toEqual(a);
    expect(await outcomes(7)).not.toEqual(a);
    const faults = a.filter((o) => o !== "ok");
    expect(faults.length).toBeGreaterThan(4);
    expect(faults.length).toBeLessThan(24);
    expect(faults.some((f) => /:\d+$/.test(f))).toBe(true);
    expect(faults.some((f) => f.endsWith(":-"))).toBe(true);
  });

  it("counts every call, faulted or not, by operation", async () => {
    const { cloud, provider } = make({ faults: { rate: 1, seed: 1, operations: ["ping"] } });
    await provider.listPods("vn-test", signal());
    await expect(provider.ping(signal())).rejects.toBeInstanceOf(RetryableError);
    const stats = await cloud.callStats();
    expect(stats.counts).toEqual({ listPods: 1, ping: 1 });
    expect(stats.log.map((r) => [r.op, r.outcome])).toEqual([
      ["listPods", "ok"],
      ["ping", "VN_RETRYABLE"],
    ]);
    await cloud.resetCallStats();
    expect((await cloud.callStats()).counts).toEqual({});
  });

  it("a crash in the middle of create leaves the group created; the retry is idempotent", async () => {
    const { cloud, provider } = make({ faults: { crashOnCreateRate: 1, seed: 3 } });
    const pod = testPod();
    await expect(provider.createPod(pod, signal())).rejects.toBeInstanceOf(RetryableError);
    expect(corePhase(pod, await provider.getPodStatus(pod.ref, signal()))).toBe("Running");
    await cloud.configure({ faults: {} });
    await provider.createPod(pod, signal());
    expect(await provider.listPods("vn-test", signal())).toHaveLength(1);
  });

  it("fail-create throws the asked error code, for the asked number of attempts", async () => {
    const { provider } = make();
    const permanent = testPod({ annotations: { [MockAnnotations.failCreate]: "Permanent" } });
    await expect(provider.createPod(permanent, signal())).rejects.toMatchObject({ code: "VN_PERMANENT" });
    await expect(provider.createPod(permanent, signal())).rejects.toMatchObject({ code: "VN_PERMANENT" });
    const flaky = testPod({ annotations: { [MockAnnotations.failCreate]: "Retryable:2" } });
    await expect(provider.createPod(flaky, signal())).rejects.toMatchObject({ code: "VN_RETRYABLE" });
    await expect(provider.createPod(flaky, signal())).rejects.toMatchObject({ code: "VN_RETRYABLE" });
    await provider.createPod(flaky, signal());
    expect(await provider.getPodStatus(flaky.ref, signal())).toBeDefined();
  });
});

describe("latency and cancellation", () => {
  it("delays calls by fixed + seeded jitter on the injected clock", async () => {
    const { clock, provider } = make({ latency: { fixedMs: 100, jitterMs: 50 }, faults: { seed: 9 } });
    let done = false;
    const call = provider.listPods("vn-test", signal()).then(() => (done = true));
    await clock.advanceAsync(99);
    expect(done).toBe(false);
    await clock.advanceAsync(51);
    await call;
    expect(done).toBe(true);
  });

  it("rejects promptly with AbortedError when aborted during latency, and at once when already aborted", async () => {
    const { clock, cloud, provider } = make({ latency: { fixedMs: 10_000 } });
    const controller = new AbortController();
    const pod = testPod();
    const creating = provider.createPod(pod, { signal: controller.signal });
    await clock.advanceAsync(10);
    controller.abort();
    await expect(creating).rejects.toBeInstanceOf(AbortedError);
    // The call was cancelled before it reached the backend: nothing was created.
    expect(await cloud.getGroup("default", pod.ref.name)).toBeUndefined();
    expect(clock.pendingTimers).toBe(0);

    const aborted = AbortSignal.abort();
    for (const call of [
      provider.createPod(pod, { signal: aborted }),
      provider.getPodStatus(pod.ref, { signal: aborted }),
      provider.deletePod(pod.ref, 0, { signal: aborted }),
      provider.listPods("vn-test", { signal: aborted }),
      provider.ping({ signal: aborted }),
    ]) {
      await expect(call).rejects.toMatchObject({ code: "VN_ABORTED" });
    }
  });

  it("a delete waiting for a slow stop can be abandoned; the stop still completes", async () => {
    const { clock, provider } = make();
    const pod = testPod({ annotations: { [MockAnnotations.stopDelay]: "10s" } });
    await provider.createPod(pod, signal());
    const controller = new AbortController();
    const deleting = provider.deletePod(pod.ref, 30, { signal: controller.signal });
    controller.abort();
    await expect(deleting).rejects.toBeInstanceOf(AbortedError);
    clock.advance(10_000);
    expect(await provider.getPodStatus(pod.ref, signal())).toBeUndefined();
  });
});
