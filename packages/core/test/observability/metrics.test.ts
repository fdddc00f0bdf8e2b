/**
 * The agent's per-node gauges (computed at scrape time from what each node registered) and the
 * pod start latency histogram, read through prom-client's own exposition.
 */
import { Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import { FakeClock } from "../../src/clock.js";
import type { Pod } from "../../src/kube/types.js";
import { createMetrics } from "../../src/metrics.js";
import { PodStartLatency } from "../../src/pod-start-latency.js";

const T0 = Date.UTC(2026, 0, 1);

function pod(
  name: string,
  node: string,
  phase: string,
  extra: Partial<NonNullable<Pod["metadata"]>> = {},
): Pod {
  return {
    metadata: { name, namespace: "ns", uid: `uid-${name}`, creationTimestamp: new Date(T0), ...extra },
    spec: { nodeName: node, containers: [] },
    status: { phase },
  };
}

function values(text: string, name: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of text.split("\n")) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    const at = line.lastIndexOf(" ");
    out[line.slice(0, at)] = Number(line.slice(at + 1));
  }
  return out;
}

describe("per-node gauges", () => {
  it("counts pods by phase per node from one shared store, with ages, Ready and lease time", async () => {
    const registry = new Registry();
    const metrics = createMetrics(registry);
    const clock = new FakeClock(T0 + 600_000);
    const store = [
      pod("a", "vn-1", "Running"),
      pod("b", "vn-1", "Pending"),
      pod("c", "vn-2", "Pending", { creationTimestamp: new Date(T0 + 300_000) }),
      pod("d", "vn-2", "Running", { deletionTimestamp: new Date(T0 + 540_000) }),
      pod("e", "other-node", "Running"),
    ];
    const listPods = (): Pod[] => store;
    metrics.addNode("vn-1", { listPods, ready: () => true, lastLeaseRenewMs: () => T0 + 590_000 }, clock);
    const removeVn2 = metrics.addNode(
      "vn-2",
      { listPods, ready: () => false, lastLeaseRenewMs: () => 0 },
      clock,
    );
    const text = await registry.metrics();
    expect(values(text, "virtual_node_pods")).toEqual({
      'virtual_node_pods{node="vn-1",phase="Pending"}': 1,
      'virtual_node_pods{node="vn-1",phase="Running"}': 1,
      'virtual_node_pods{node="vn-1",phase="Succeeded"}': 0,
      'virtual_node_pods{node="vn-1",phase="Failed"}': 0,
      'virtual_node_pods{node="vn-1",phase="Unknown"}': 0,
      'virtual_node_pods{node="vn-2",phase="Pending"}': 1,
      'virtual_node_pods{node="vn-2",phase="Running"}': 1,
      'virtual_node_pods{node="vn-2",phase="Succeeded"}': 0,
      'virtual_node_pods{node="vn-2",phase="Failed"}': 0,
      'virtual_node_pods{node="vn-2",phase="Unknown"}': 0,
    });
    expect(values(text, "virtual_node_pod_pending_oldest_seconds")).toEqual({
      'virtual_node_pod_pending_oldest_seconds{node="vn-1"}': 600,
      'virtual_node_pod_pending_oldest_seconds{node="vn-2"}': 300,
    });
    expect(values(text, "virtual_node_pod_terminating_overdue_seconds")).toEqual({
      'virtual_node_pod_terminating_overdue_seconds{node="vn-1"}': 0,
      'virtual_node_pod_terminating_overdue_seconds{node="vn-2"}': 60,
    });
    expect(values(text, "virtual_node_node_ready")).toEqual({
      'virtual_node_node_ready{node="vn-1"}': 1,
      'virtual_node_node_ready{node="vn-2"}': 0,
    });
    // vn-2 never renewed: no series rather than 1970.
    expect(values(text, "virtual_node_lease_last_renew_timestamp_seconds")).toEqual({
      'virtual_node_lease_last_renew_timestamp_seconds{node="vn-1"}': (T0 + 590_000) / 1000,
    });

    store.push(pod("f", "vn-1", "Failed"));
    removeVn2();
    const after = await registry.metrics();
    expect(values(after, "virtual_node_pods")['virtual_node_pods{node="vn-1",phase="Failed"}']).toBe(1);
    expect(after).not.toContain('node="vn-2"');
  });

  it("exports the provider kit's API metrics on the agent's registry", async () => {
    const registry = new Registry();
    createMetrics(registry);
    const text = await registry.metrics();
    for (const name of [
      "virtual_node_provider_api_calls_total",
      "virtual_node_provider_throttles_total",
      "virtual_node_provider_rate_limit_wait_seconds",
      "virtual_node_provider_rate_limit_qps",
    ])
      expect(text).toContain(`# TYPE ${name} `);
  });
});

describe("PodStartLatency", () => {
  it("observes creation → first Running once per pod, and not for pods first seen Running", async () => {
    const registry = new Registry();
    const metrics = createMetrics(registry);
    const clock = new FakeClock(T0);
    const starts = new PodStartLatency(metrics.podStartSeconds, clock);
    starts.observe(pod("adopted", "vn", "Running"));
    starts.observe(pod("new", "vn", "Pending"));
    clock.advance(7_000);
    starts.observe(pod("new", "vn", "Running"));
    clock.advance(60_000);
    starts.observe(pod("new", "vn", "Running"));
    starts.observe(pod("adopted", "vn", "Running"));
    const text = await registry.metrics();
    expect(values(text, "virtual_node_pod_start_duration_seconds_count")).toEqual({
      virtual_node_pod_start_duration_seconds_count: 1,
    });
    expect(values(text, "virtual_node_pod_start_duration_seconds_sum")).toEqual({
      virtual_node_pod_start_duration_seconds_sum: 7,
    });
    starts.forget(pod("new", "vn", "Running"));
    starts.forget(pod("adopted", "vn", "Running"));
    expect(starts.size).toBe(0);
  });
});
