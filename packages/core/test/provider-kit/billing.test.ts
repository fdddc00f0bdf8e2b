import { Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import { BillingMeter, billedUsage, type BilledUsage } from "../../src/billing.js";
import { FakeClock } from "../../src/clock.js";
import { createMetrics } from "../../src/metrics.js";
import {
  BILLED_RESOURCES_ANNOTATION,
  billedAnnotationValue,
  billedFromShape,
} from "../../src/provider-kit/billing.js";

const ONE_BY_TWO = { vcpu: 1, memoryGiB: 2, shape: "1024/2048" };

function meter(clock: FakeClock) {
  const totals = new Map<string, BilledUsage>();
  const m = new BillingMeter({
    clock,
    record: (namespace, usage) => {
      const t = totals.get(namespace) ?? { vcpuSeconds: 0, memoryGiBSeconds: 0 };
      totals.set(namespace, {
        vcpuSeconds: t.vcpuSeconds + usage.vcpuSeconds,
        memoryGiBSeconds: t.memoryGiBSeconds + usage.memoryGiBSeconds,
      });
    },
  });
  return { m, totals };
}

describe("billing accounting", () => {
  it("billedUsage is shape × elapsed seconds, never negative", () => {
    expect(billedUsage(ONE_BY_TWO, 0, 90_000)).toEqual({ vcpuSeconds: 90, memoryGiBSeconds: 180 });
    expect(billedUsage(ONE_BY_TWO, 5_000, 1_000)).toEqual({ vcpuSeconds: 0, memoryGiBSeconds: 0 });
  });

  it("charges a pod only while it runs", () => {
    const clock = new FakeClock();
    const { m, totals } = meter(clock);
    m.observe("ns/a", "ns", ONE_BY_TWO, false); // Pending: not billed yet
    clock.advance(30_000);
    m.observe("ns/a", "ns", ONE_BY_TWO, true); // Running from here
    clock.advance(60_000);
    m.flush();
    expect(totals.get("ns")).toEqual({ vcpuSeconds: 60, memoryGiBSeconds: 120 });
    clock.advance(10_000);
    m.observe("ns/a", "ns", ONE_BY_TWO, false); // Succeeded
    clock.advance(1_000_000);
    m.flush();
    expect(totals.get("ns")).toEqual({ vcpuSeconds: 70, memoryGiBSeconds: 140 });
  });

  it("a shape change applies from the moment it is observed", () => {
    const clock = new FakeClock();
    const { m, totals } = meter(clock);
    m.observe("ns/a", "ns", { vcpu: 0.25, memoryGiB: 0.5 }, true);
    clock.advance(4_000);
    m.observe("ns/a", "ns", { vcpu: 2, memoryGiB: 4 }, true);
    clock.advance(1_000);
    m.flush();
    expect(totals.get("ns")).toEqual({ vcpuSeconds: 3, memoryGiBSeconds: 6 });
  });

  it("flushing twice does not double-charge, and forget charges once more then stops", () => {
    const clock = new FakeClock();
    const { m, totals } = meter(clock);
    m.observe("a/p", "a", ONE_BY_TWO, true);
    m.observe("b/p", "b", { vcpu: 4, memoryGiB: 8 }, true);
    clock.advance(2_000);
    m.flush();
    m.flush();
    clock.advance(1_000);
    m.forget("a/p");
    clock.advance(5_000);
    m.flush();
    expect(totals.get("a")).toEqual({ vcpuSeconds: 3, memoryGiBSeconds: 6 });
    expect(totals.get("b")).toEqual({ vcpuSeconds: 32, memoryGiBSeconds: 64 });
    expect(m.size).toBe(1);
    m.forget("missing"); // unknown keys are ignored
  });

  it("a pod without a billed shape costs nothing", () => {
    const clock = new FakeClock();
    const { m, totals } = meter(clock);
    m.observe("ns/a", "ns", undefined, true);
    clock.advance(60_000);
    m.flush();
    expect(totals.size).toBe(0);
  });

  it("feeds the prom-client counters, flushed when the registry is scraped", async () => {
    const registry = new Registry();
    const metrics = createMetrics(registry);
    const clock = new FakeClock();
    const m = new BillingMeter({
      clock,
      record: (namespace, usage) => {
        metrics.podBilledVcpuSeconds.inc({ provider: "mock", namespace }, usage.vcpuSeconds);
        metrics.podBilledMemoryGiBSeconds.inc({ provider: "mock", namespace }, usage.memoryGiBSeconds);
      },
    });
    const flush = (): void => {
      m.flush();
    };
    metrics.billingFlushers.add(flush);
    m.observe("team/a", "team", ONE_BY_TWO, true);
    clock.advance(45_000);
    const text = await registry.metrics();
    expect(text).toContain('virtual_node_pod_billed_vcpu_seconds_total{provider="mock",namespace="team"} 45');
    expect(text).toContain(
      'virtual_node_pod_billed_memory_gib_seconds_total{provider="mock",namespace="team"} 90',
    );
    metrics.billingFlushers.delete(flush);
  });
});

describe("billed annotation and shapes", () => {
  it("writes a stable JSON value", () => {
    expect(BILLED_RESOURCES_ANNOTATION).toBe("virtual-node.io/billed-resources");
    expect(billedAnnotationValue({ shape: "1024/2048", memoryGiB: 2, vcpu: 1 })).toBe(
      '{"vcpu":1,"memoryGiB":2,"shape":"1024/2048"}',
    );
    expect(billedAnnotationValue({ vcpu: 0.5, memoryGiB: 1 })).toBe('{"vcpu":0.5,"memoryGiB":1}');
  });

  it("billedFromShape reports vCPU, GiB and the shape's name", () => {
    expect(billedFromShape({ name: "512/1536", cpu: 0.5, memory: 1536 * 1024 ** 2 })).toEqual({
      vcpu: 0.5,
      memoryGiB: 1.5,
      shape: "512/1536",
    });
  });
});
