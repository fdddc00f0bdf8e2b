import { describe, expect, it } from "vitest";
import { Registry } from "prom-client";
import { PermanentError } from "../src/errors.js";
import { createMetrics } from "../src/metrics.js";
import { instrumentProvider } from "../src/provider-instrumentation.js";
import type { Provider } from "../src/provider.js";

class ClassProvider {
  readonly name = "class";
  readonly capabilities = {} as Provider["capabilities"];
  readonly #pods = new Set<string>();
  createPod(pod: { ref: { uid: string } }): Promise<void> {
    this.#pods.add(pod.ref.uid);
    return Promise.resolve();
  }
  updatePod(): Promise<void> {
    return Promise.reject(new PermanentError("cannot update"));
  }
  deletePod(ref: { uid: string }): Promise<void> {
    this.#pods.delete(ref.uid);
    return Promise.resolve();
  }
  getPodStatus(): Promise<undefined> {
    return Promise.resolve(undefined);
  }
  listPods(): Promise<never[]> {
    return Promise.resolve([]);
  }
  get size(): number {
    return this.#pods.size;
  }
}

describe("instrumentProvider", () => {
  const signal = new AbortController().signal;

  it("calls the provider itself (private fields work), counts ok and error codes, times every call", async () => {
    const registry = new Registry();
    const metrics = createMetrics(registry);
    const provider = new ClassProvider();
    const calls = instrumentProvider(provider, metrics);
    await calls.createPod({ ref: { uid: "u1" } } as never, { signal });
    expect(provider.size).toBe(1);
    await expect(calls.updatePod({} as never, { signal, reason: "spec" })).rejects.toThrow("cannot update");
    await calls.deletePod({ namespace: "ns", name: "a", uid: "u1" }, 0, { signal });
    expect(provider.size).toBe(0);

    const counted =
      (await registry.getSingleMetric("virtual_node_provider_calls_total")?.get())?.values ?? [];
    const byKey = Object.fromEntries(
      counted.map((v) => [`${String(v.labels.operation)}/${String(v.labels.result)}`, v.value]),
    );
    expect(byKey).toMatchObject({ "createPod/ok": 1, "updatePod/VN_PERMANENT": 1, "deletePod/ok": 1 });
    const timed =
      (await registry.getSingleMetric("virtual_node_provider_call_duration_seconds")?.get())?.values ?? [];
    const counts = (
      timed as { metricName?: string; labels: Record<string, unknown>; value: number }[]
    ).filter((v) => v.metricName === "virtual_node_provider_call_duration_seconds_count");
    expect(counts.map((v) => [v.labels.operation, v.value]).sort()).toEqual([
      ["createPod", 1],
      ["deletePod", 1],
      ["updatePod", 1],
    ]);
  });

  it("leaves optional calls absent when the provider has none, and wraps them when it has", async () => {
    const bare = instrumentProvider(new ClassProvider(), createMetrics());
    expect(bare.getPodStatuses).toBeUndefined();
    expect(bare.allocatePodIPs).toBeUndefined();
    const withBatch = Object.assign(new ClassProvider(), {
      getPodStatuses: () => Promise.resolve(new Map()),
      allocatePodIPs: () => Promise.resolve(["10.0.0.1"]),
    });
    const calls = instrumentProvider(withBatch, createMetrics());
    expect(await calls.allocatePodIPs?.({ namespace: "n", name: "a", uid: "u" }, { signal })).toEqual([
      "10.0.0.1",
    ]);
    expect(await calls.getPodStatuses?.([], { signal })).toEqual(new Map());
  });
});
