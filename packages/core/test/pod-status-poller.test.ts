import { describe, expect, it } from "vitest";
import { FakeClock } from "../src/clock.js";
import { noopLogger } from "../src/logger.js";
import { StatusPoller, isSteady, pollInterval, type PolledPod } from "../src/pod-status-poller.js";
import type { InstrumentedCalls } from "../src/provider-instrumentation.js";
import { podKey, type PodRef, type ProviderPodStatus } from "../src/provider.js";

const running: ProviderPodStatus = {
  phase: "Running",
  containers: [{ name: "c", state: { running: { startedAt: new Date(0) } }, ready: true }],
};
const starting: ProviderPodStatus = {
  phase: "Pending",
  containers: [{ name: "c", state: { waiting: { reason: "ContainerCreating" } } }],
};
const unready: ProviderPodStatus = {
  phase: "Running",
  containers: [{ name: "c", state: { running: { startedAt: new Date(0) } }, ready: false }],
};
const ref = (name: string): PodRef => ({ namespace: "ns", name, uid: `uid-${name}` });
const timing = { pushes: false, fastPollMs: 1_000, slowPollMs: 10_000 };

describe("pollInterval", () => {
  it.each([
    { case: "all steady → slow", pods: [{ ref: ref("a"), status: running }], want: 10_000 },
    {
      case: "one starting → fast",
      pods: [
        { ref: ref("a"), status: running },
        { ref: ref("b"), status: starting },
      ],
      want: 1_000,
    },
    { case: "a pod never observed → fast", pods: [{ ref: ref("a") }], want: 1_000 },
    {
      case: "a running but unready container → fast",
      pods: [{ ref: ref("a"), status: unready }],
      want: 1_000,
    },
    { case: "no pods → slow", pods: [], want: 10_000 },
  ])("$case", ({ pods, want }) => {
    expect(pollInterval(pods as PolledPod[], timing)).toBe(want);
  });

  it("a provider that pushes is polled at 3× the slow interval, even while pods start", () => {
    expect(pollInterval([{ ref: ref("a"), status: starting }], { ...timing, pushes: true })).toBe(30_000);
  });

  it("isSteady: every container running and not unready", () => {
    expect([isSteady(undefined), isSteady(starting), isSteady(unready), isSteady(running)]).toEqual([
      false,
      false,
      false,
      true,
    ]);
  });
});

describe("StatusPoller.pollOnce", () => {
  function poller(calls: Partial<InstrumentedCalls>, pods: PolledPod[], batchSize = 2) {
    const observed: [string, ProviderPodStatus | undefined][] = [];
    const p = new StatusPoller({
      calls: calls as InstrumentedCalls,
      batchSize,
      pushes: false,
      fastPollMs: 1_000,
      slowPollMs: 10_000,
      clock: new FakeClock(),
      logger: noopLogger,
      pods: () => pods,
      observe: (r, s) => observed.push([r.name, s]),
    });
    return { p, observed };
  }
  const signal = new AbortController().signal;

  it("asks in batches of batchSize and reports a pod the batch did not answer as missing", async () => {
    const batches: string[][] = [];
    const { p, observed } = poller(
      {
        getPodStatuses: (refs) => {
          batches.push(refs.map((r) => r.name));
          return Promise.resolve(
            new Map(refs.filter((r) => r.name !== "c").map((r) => [podKey(r), running])),
          );
        },
      },
      ["a", "b", "c", "d", "e"].map((n) => ({ ref: ref(n) })),
    );
    await p.pollOnce(signal);
    expect(batches).toEqual([["a", "b"], ["c", "d"], ["e"]]);
    expect(observed).toEqual([
      ["a", running],
      ["b", running],
      ["c", undefined],
      ["d", running],
      ["e", running],
    ]);
  });

  it("without batched status asks pod by pod; a failing pod does not stop the others", async () => {
    const { p, observed } = poller(
      {
        getPodStatus: (r) => (r.name === "b" ? Promise.reject(new Error("boom")) : Promise.resolve(running)),
      },
      ["a", "b", "c"].map((n) => ({ ref: ref(n) })),
    );
    await p.pollOnce(signal);
    expect(observed.map(([n]) => n).sort()).toEqual(["a", "c"]);
  });

  it("with no pods in play makes no call", async () => {
    let calls = 0;
    const { p } = poller(
      { getPodStatuses: () => Promise.resolve(new Map([[String(++calls), running]])) },
      [],
    );
    await p.pollOnce(signal);
    expect(calls).toBe(0);
  });
});
