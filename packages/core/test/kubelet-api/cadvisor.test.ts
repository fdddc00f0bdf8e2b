/**
 * `/metrics/cadvisor` rendering: cAdvisor's names, help and label set (container, cpu="total",
 * id, image, name, namespace, pod), one pod-level series per pod next to the containers', images
 * and container IDs from the API pod, sample timestamps, and `container_scrape_error`.
 */
import { describe, expect, it } from "vitest";
import type { Pod } from "../../src/kube/types.js";
import { CADVISOR_METRIC_NAMES, renderCadvisorMetrics } from "../../src/kubelet-api/cadvisor.js";
import type { StatsSummary } from "../../src/kubelet-api/stats-types.js";

const time = "2026-01-01T00:00:10.000Z";
const summary: StatsSummary = {
  node: { nodeName: "vn-1", startTime: "2026-01-01T00:00:00Z" },
  pods: [
    {
      podRef: { namespace: "shop", name: "web", uid: "u1" },
      startTime: "2026-01-01T00:00:01Z",
      cpu: { time, usageCoreNanoSeconds: 3_000_000_000 },
      memory: { time, workingSetBytes: 300, usageBytes: 400 },
      network: { time, name: "eth0", rxBytes: 10, txBytes: 20, rxErrors: 0, txErrors: 1 },
      containers: [
        {
          name: "app",
          startTime: "2026-01-01T00:00:02Z",
          cpu: { time, usageCoreNanoSeconds: 2_500_000_000 },
          memory: { time, workingSetBytes: 200, rssBytes: 150 },
        },
      ],
    },
  ],
};
const pods: Pod[] = [
  {
    metadata: { namespace: "shop", name: "web", uid: "u1" },
    spec: { containers: [{ name: "app", image: "nginx:1" }] },
    status: {
      containerStatuses: [
        {
          name: "app",
          image: "docker.io/library/nginx:1",
          imageID: "",
          containerID: "mock://abc123",
          ready: true,
          restartCount: 0,
        },
      ],
    },
  },
];

describe("renderCadvisorMetrics", () => {
  const text = renderCadvisorMetrics({ summary, pods, now: Date.parse(time) });
  const lines = text.split("\n");

  it("writes the container series with cAdvisor's labels, ID and image from the API pod", () => {
    expect(lines).toContain(
      'container_cpu_usage_seconds_total{container="app",cpu="total",id="/kubepods/podu1/abc123",image="docker.io/library/nginx:1",name="abc123",namespace="shop",pod="web"} 2.5 ' +
        String(Date.parse(time)),
    );
    expect(lines).toContain(
      'container_memory_working_set_bytes{container="app",id="/kubepods/podu1/abc123",image="docker.io/library/nginx:1",name="abc123",namespace="shop",pod="web"} 200 ' +
        String(Date.parse(time)),
    );
    expect(lines).toContain(
      `container_start_time_seconds{container="app",id="/kubepods/podu1/abc123",image="docker.io/library/nginx:1",name="abc123",namespace="shop",pod="web"} ${String(Date.parse("2026-01-01T00:00:02Z") / 1000)}`,
    );
  });

  it("writes the pod-level series with empty container, image and name, and network by interface", () => {
    expect(lines).toContain(
      `container_cpu_usage_seconds_total{container="",cpu="total",id="/kubepods/podu1",image="",name="",namespace="shop",pod="web"} 3 ${String(Date.parse(time))}`,
    );
    expect(lines).toContain(
      `container_network_transmit_errors_total{container="",id="/kubepods/podu1",image="",interface="eth0",name="",namespace="shop",pod="web"} 1 ${String(Date.parse(time))}`,
    );
  });

  it("declares every family (HELP and TYPE) and reports no scrape error", () => {
    for (const name of CADVISOR_METRIC_NAMES) {
      expect(lines.some((l) => l.startsWith(`# HELP ${name} `))).toBe(true);
      expect(lines.some((l) => l.startsWith(`# TYPE ${name} `))).toBe(true);
    }
    expect(lines).toContain("# TYPE container_cpu_usage_seconds_total counter");
    expect(lines).toContain("container_scrape_error 0");
  });

  it("leaves out what the provider did not report instead of writing zeros", () => {
    // No rss for the pod, no memory usage for the container: no such series.
    expect(lines.filter((l) => l.startsWith("container_memory_rss{"))).toHaveLength(1);
    expect(lines.filter((l) => l.startsWith("container_memory_usage_bytes{"))).toHaveLength(1);
  });

  it("falls back to the spec's image and the container name without a status", () => {
    const bare = renderCadvisorMetrics({
      summary,
      pods: [{ ...pods[0], status: {} }],
      now: 0,
    });
    expect(bare).toContain('id="/kubepods/podu1/app",image="nginx:1",name="app"');
  });

  it("reports container_scrape_error 1 and no samples when the stats failed", () => {
    const failed = renderCadvisorMetrics({ summary: undefined, pods, now: 0 });
    expect(failed).toContain("container_scrape_error 1\n");
    expect(failed.split("\n").filter((l) => l !== "" && !l.startsWith("#"))).toEqual([
      "container_scrape_error 1",
    ]);
  });

  it("escapes label values", () => {
    const odd = renderCadvisorMetrics({
      summary: {
        ...summary,
        pods: [{ ...summary.pods[0], podRef: { namespace: "n", name: 'a"b\\c', uid: "u" } } as never],
      },
      pods: [],
      now: 0,
    });
    expect(odd).toContain('pod="a\\"b\\\\c"');
  });
});
