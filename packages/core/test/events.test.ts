import { describe, expect, it } from "vitest";
import { FakeClock } from "../src/clock.js";
import { NotFoundError } from "../src/errors.js";
import {
  createEventRecorder,
  EventReasons,
  type EventCountPatch,
  type EventRecorderOptions,
  type EventSink,
  type InvolvedObject,
} from "../src/events.js";
import type { KubeEvent } from "../src/kube/types.js";

const START = Date.UTC(2024, 0, 1);
const MINUTE = 60_000;

const pod: InvolvedObject = {
  kind: "Pod",
  apiVersion: "v1",
  namespace: "team-a",
  name: "web-0",
  uid: "uid-1",
  resourceVersion: "42",
};
const otherPod: InvolvedObject = { ...pod, name: "web-1", uid: "uid-2" };

type Call = { op: "create"; event: KubeEvent } | { op: "patch"; event: KubeEvent; changes: EventCountPatch };

class FakeSink implements EventSink {
  readonly calls: Call[] = [];
  /** Stored events by name, as the API would hold them. */
  readonly stored = new Map<string, KubeEvent>();
  failCreates = 0;
  failPatches = 0;
  patchNotFound = false;
  throwSync = false;
  blocked: Promise<void> | undefined;

  create(event: KubeEvent): Promise<void> {
    // Not async on purpose: a sink that throws before returning a promise must not hurt either.
    if (this.throwSync) throw new Error("sync failure");
    return this.#create(event);
  }

  async #create(event: KubeEvent): Promise<void> {
    this.calls.push({ op: "create", event: structuredClone(event) });
    await this.blocked;
    if (this.failCreates > 0) {
      this.failCreates--;
      throw new Error("apiserver unavailable");
    }
    this.stored.set(event.metadata.name ?? "", structuredClone(event));
  }

  async patch(event: KubeEvent, changes: EventCountPatch): Promise<void> {
    this.calls.push({ op: "patch", event: structuredClone(event), changes: structuredClone(changes) });
    await this.blocked;
    if (this.patchNotFound) throw new NotFoundError(`event ${event.metadata.name ?? ""} not found`);
    if (this.failPatches > 0) {
      this.failPatches--;
      throw new Error("apiserver unavailable");
    }
    const stored = this.stored.get(event.metadata.name ?? "");
    if (stored) Object.assign(stored, changes);
  }

  ops(): string[] {
    return this.calls.map((c) => c.op);
  }
}

function setup(options: Partial<EventRecorderOptions> = {}) {
  const clock = new FakeClock(START);
  const sink = new FakeSink();
  const recorder = createEventRecorder({ sink, host: "vn-node-1", clock, ...options });
  return { clock, sink, recorder };
}

describe("EventRecorder", () => {
  it("creates a core/v1 Event with client-go's shape", async () => {
    const { sink, recorder } = setup();
    recorder.event(pod, "Normal", EventReasons.PodCreated, "Created pod in provider");
    expect(sink.calls).toHaveLength(0);
    await recorder.flush();

    expect(sink.ops()).toEqual(["create"]);
    const event = sink.calls[0]?.event;
    expect(event?.metadata.name).toMatch(/^web-0\.[0-9a-f]+$/);
    expect(event).toEqual({
      metadata: { name: event?.metadata.name, namespace: "team-a" },
      involvedObject: {
        kind: "Pod",
        apiVersion: "v1",
        namespace: "team-a",
        name: "web-0",
        uid: "uid-1",
        resourceVersion: "42",
      },
      reason: "PodCreated",
      message: "Created pod in provider",
      type: "Normal",
      count: 1,
      firstTimestamp: new Date(START),
      lastTimestamp: new Date(START),
      source: { component: "virtual-node", host: "vn-node-1" },
      reportingComponent: "virtual-node",
      reportingInstance: "vn-node-1",
    });
  });

  it("puts events about cluster-scoped objects in `default`", async () => {
    const { sink, recorder } = setup();
    recorder.event(
      { kind: "Node", apiVersion: "v1", name: "vn-node-1", uid: "vn-node-1" },
      "Normal",
      "NodeReady",
      "ready",
    );
    await recorder.flush();
    expect(sink.calls[0]?.event.metadata.namespace).toBe("default");
    expect(sink.calls[0]?.event.involvedObject).toEqual({
      kind: "Node",
      apiVersion: "v1",
      name: "vn-node-1",
      uid: "vn-node-1",
    });
  });

  it("gives every new Event a unique name", async () => {
    const { sink, recorder } = setup();
    for (let i = 0; i < 5; i++) recorder.event(pod, "Normal", `Reason${i}`, "m");
    await recorder.flush();
    const names = sink.calls.map((c) => c.event.metadata.name);
    expect(new Set(names).size).toBe(5);
  });

  it("counts an identical event within 10 minutes on the same Event via patch", async () => {
    const { clock, sink, recorder } = setup();
    recorder.event(pod, "Warning", "ProviderFailed", "create failed");
    await recorder.flush();
    clock.advance(3 * MINUTE);
    recorder.event(pod, "Warning", "ProviderFailed", "create failed");
    await recorder.flush();
    clock.advance(MINUTE);
    recorder.event(pod, "Warning", "ProviderFailed", "create failed");
    await recorder.flush();

    expect(sink.ops()).toEqual(["create", "patch", "patch"]);
    const name = sink.calls[0]?.event.metadata.name;
    expect(sink.calls.map((c) => c.event.metadata.name)).toEqual([name, name, name]);
    expect(sink.calls[2]).toMatchObject({
      op: "patch",
      changes: { count: 3, lastTimestamp: new Date(START + 4 * MINUTE), message: "create failed" },
      event: { firstTimestamp: new Date(START), count: 3 },
    });
    expect(sink.stored.get(name ?? "")).toMatchObject({
      count: 3,
      lastTimestamp: new Date(START + 4 * MINUTE),
    });
  });

  it("starts a new Event once the identical one is older than 10 minutes", async () => {
    const { clock, sink, recorder } = setup();
    recorder.event(pod, "Warning", "ProviderFailed", "create failed");
    await recorder.flush();
    clock.advance(10 * MINUTE + 1);
    recorder.event(pod, "Warning", "ProviderFailed", "create failed");
    await recorder.flush();

    expect(sink.ops()).toEqual(["create", "create"]);
    expect(sink.calls[1]?.event.metadata.name).not.toBe(sink.calls[0]?.event.metadata.name);
    expect(sink.calls[1]?.event.count).toBe(1);
  });

  it("writes a burst recorded in one tick once, with its count", async () => {
    const { sink, recorder } = setup();
    for (let i = 0; i < 5; i++) recorder.event(pod, "Warning", "FailedMount", "volume x missing");
    await recorder.flush();
    expect(sink.ops()).toEqual(["create"]);
    expect(sink.calls[0]?.event.count).toBe(5);
  });

  it("combines more than 10 similar events (same object and reason, new messages) into one", async () => {
    const { sink, recorder } = setup();
    for (let i = 1; i <= 12; i++) {
      recorder.event(pod, "Warning", "ProviderFailed", `attempt ${i} failed`);
      await recorder.flush();
    }

    expect(sink.ops()).toEqual([...Array<string>(11).fill("create"), "patch"]);
    expect(sink.calls.slice(0, 10).map((c) => c.event.message)).toEqual(
      Array.from({ length: 10 }, (_, i) => `attempt ${i + 1} failed`),
    );
    const combined = sink.calls[10]?.event;
    expect(combined?.message).toBe("(combined from similar events): attempt 11 failed");
    expect(sink.calls[11]).toMatchObject({
      op: "patch",
      event: { metadata: { name: combined?.metadata.name } },
      changes: { count: 2, message: "(combined from similar events): attempt 12 failed" },
    });

    // Other reasons and other objects are not affected.
    recorder.event(pod, "Warning", "FailedMount", "attempt 13 failed");
    recorder.event(otherPod, "Warning", "ProviderFailed", "attempt 14 failed");
    await recorder.flush();
    expect(sink.calls.slice(12).map((c) => c.event.message)).toEqual([
      "attempt 13 failed",
      "attempt 14 failed",
    ]);
  });

  it("drops events per object past a burst of 25, refilling one per 5 minutes", async () => {
    const { clock, sink, recorder } = setup();
    for (let i = 0; i < 30; i++) recorder.event(pod, "Normal", `Reason${i}`, "m");
    recorder.event(otherPod, "Normal", "Reason0", "m");
    await recorder.flush();

    expect(sink.calls.filter((c) => c.event.involvedObject.name === "web-0")).toHaveLength(25);
    expect(sink.calls.filter((c) => c.event.involvedObject.name === "web-1")).toHaveLength(1);
    expect(recorder.stats().filtered).toBe(5);

    clock.advance(5 * MINUTE);
    recorder.event(pod, "Normal", "Later1", "m");
    recorder.event(pod, "Normal", "Later2", "m");
    await recorder.flush();
    expect(sink.calls.map((c) => c.event.reason).slice(-1)).toEqual(["Later1"]);
    expect(recorder.stats().filtered).toBe(6);
  });

  it("still counts filtered repeats, so the next write carries the true count", async () => {
    const { clock, sink, recorder } = setup();
    for (let i = 0; i < 30; i++) {
      recorder.event(pod, "Warning", "ProviderFailed", "boom");
      await recorder.flush();
    }
    expect(sink.calls).toHaveLength(25);
    expect(recorder.stats().filtered).toBe(5);

    clock.advance(5 * MINUTE);
    recorder.event(pod, "Warning", "ProviderFailed", "boom");
    await recorder.flush();
    expect(sink.calls.at(-1)).toMatchObject({ op: "patch", changes: { count: 31 } });
  });

  it("never throws and keeps working when the sink fails", async () => {
    const { clock, sink, recorder } = setup();
    sink.failCreates = 100;
    expect(() => {
      recorder.event(pod, "Warning", "ProviderFailed", "x");
    }).not.toThrow();
    const flushed = recorder.flush();
    await clock.advanceAsync(MINUTE);
    await flushed;
    expect(sink.ops()).toEqual(["create", "create", "create"]);
    expect(recorder.stats()).toMatchObject({ failed: 1, written: 0, queued: 0 });

    sink.failCreates = 0;
    recorder.event(pod, "Warning", "ProviderFailed", "x");
    await recorder.flush();
    // The failed create never landed, so the repeat is created (with the accumulated count).
    expect(sink.calls.at(-1)).toMatchObject({ op: "create", event: { count: 2 } });
    expect(recorder.stats()).toMatchObject({ failed: 1, written: 1 });
  });

  it("retries a failed write after a backoff and then succeeds", async () => {
    const { clock, sink, recorder } = setup();
    sink.failCreates = 1;
    recorder.event(pod, "Normal", "PodCreated", "ok");
    const flushed = recorder.flush();
    await clock.advanceAsync(MINUTE);
    await flushed;
    expect(sink.ops()).toEqual(["create", "create"]);
    expect(sink.stored.size).toBe(1);
    expect(recorder.stats()).toMatchObject({ failed: 0, written: 1 });
  });

  it("survives a sink that throws synchronously", async () => {
    const { clock, sink, recorder } = setup();
    sink.throwSync = true;
    recorder.event(pod, "Normal", "PodCreated", "ok");
    const flushed = recorder.flush();
    await clock.advanceAsync(MINUTE);
    await flushed;
    expect(recorder.stats().failed).toBe(1);
  });

  it("re-creates an Event that expired from the API (patch NotFound)", async () => {
    const { sink, recorder } = setup();
    recorder.event(pod, "Warning", "ProviderFailed", "x");
    await recorder.flush();
    sink.patchNotFound = true;
    recorder.event(pod, "Warning", "ProviderFailed", "x");
    await recorder.flush();
    expect(sink.ops()).toEqual(["create", "patch", "create"]);
    expect(sink.calls[2]?.event.count).toBe(2);
  });

  it("drops new events when the write queue is full, without blocking", async () => {
    const { sink, recorder } = setup({ maxQueued: 2 });
    let release!: () => void;
    sink.blocked = new Promise((resolve) => (release = resolve));
    recorder.event(pod, "Normal", "A", "m");
    await Promise.resolve();
    recorder.event(pod, "Normal", "B", "m");
    recorder.event(pod, "Normal", "C", "m");
    recorder.event(pod, "Normal", "D", "m");
    recorder.event(pod, "Normal", "B", "m");
    expect(recorder.stats()).toMatchObject({ queued: 2, dropped: 1 });
    release();
    await recorder.flush();
    expect(sink.calls.map((c) => c.event.reason)).toEqual(["A", "B", "C"]);
    expect(sink.calls[1]?.event.count).toBe(2);
  });

  it("redacts credentials and truncates long messages", async () => {
    const { sink, recorder } = setup();
    recorder.event(
      pod,
      "Warning",
      "ProviderFailed",
      "call failed: Authorization: Bearer abc.def.ghi password=hunter2",
    );
    recorder.event(pod, "Warning", "FailedMount", "x".repeat(5_000));
    await recorder.flush();
    const message = sink.calls[0]?.event.message ?? "";
    expect(message).not.toContain("abc.def.ghi");
    expect(message).not.toContain("hunter2");
    expect(sink.calls[1]?.event.message).toHaveLength(1024);
  });

  it("ignores events after close and still writes what was queued", async () => {
    const { sink, recorder } = setup();
    recorder.event(pod, "Normal", "Starting", "starting");
    await recorder.close();
    recorder.event(pod, "Normal", "Late", "late");
    await recorder.flush();
    expect(sink.calls.map((c) => c.event.reason)).toEqual(["Starting"]);
  });

  it("does not throw on malformed input", async () => {
    const { recorder } = setup();
    expect(() => {
      recorder.event(undefined as unknown as InvolvedObject, "Normal", "X", "y");
    }).not.toThrow();
    await recorder.flush();
  });

  it("exposes the stable reasons core uses", () => {
    expect(EventReasons).toMatchObject({
      ProviderFailed: "ProviderFailed",
      PodCreated: "PodCreated",
      PodLost: "ProviderPodLost",
      UnsupportedField: "UnsupportedPodSpec",
      CreateContainerConfigError: "CreateContainerConfigError",
      MandatorySecretNotFound: "MandatorySecretNotFound",
      StatusUpdateFailed: "StatusUpdateFailed",
    });
    expect(Object.keys(EventReasons)).toHaveLength(19);
  });
});
