/**
 * `/metrics/probes`: `prober_probe_total` counts the readiness and startup results core sees,
 * once when first seen and again each time they change; running containers with a probe only;
 * forgotten pods lose their series.
 */
import { describe, expect, it } from "vitest";
import type { Pod } from "../../src/kube/types.js";
import { ProbeResultCounter } from "../../src/kubelet-api/probes-metrics.js";

function pod(ready: boolean, options: { running?: boolean; phase?: string; started?: boolean } = {}): Pod {
  return {
    metadata: { namespace: "ns", name: "web", uid: "u1" },
    spec: {
      containers: [
        {
          name: "app",
          image: "i",
          readinessProbe: { httpGet: { port: 80 } },
          startupProbe: { exec: { command: ["true"] } },
        },
        { name: "sidecar", image: "i" },
      ],
    },
    status: {
      phase: options.phase ?? "Running",
      containerStatuses: [
        {
          name: "app",
          image: "i",
          imageID: "",
          ready,
          started: options.started ?? true,
          restartCount: 0,
          state: options.running === false ? { waiting: { reason: "ContainerCreating" } } : { running: {} },
        },
        { name: "sidecar", image: "i", imageID: "", ready: true, restartCount: 0, state: { running: {} } },
      ],
    },
  };
}

const series = (text: string): string[] => text.split("\n").filter((l) => l !== "" && !l.startsWith("#"));
const labels = (type: string, result: string): string =>
  `prober_probe_total{container="app",namespace="ns",pod="web",pod_uid="u1",probe_type="${type}",result="${result}"}`;

describe("ProbeResultCounter", () => {
  it("counts a result once when first seen and again on every change", () => {
    const counter = new ProbeResultCounter();
    counter.observe([pod(false)]);
    counter.observe([pod(false)]);
    counter.observe([pod(true)]);
    counter.observe([pod(true)]);
    counter.observe([pod(false)]);
    expect(series(counter.render()).sort()).toEqual(
      [
        `${labels("Readiness", "failed")} 2`,
        `${labels("Readiness", "successful")} 1`,
        `${labels("Startup", "successful")} 1`,
      ].sort(),
    );
  });

  it("ignores containers without a probe, containers not running and finished pods", () => {
    const counter = new ProbeResultCounter();
    counter.observe([pod(false, { running: false })]);
    expect(series(counter.render())).toEqual([]);
    counter.observe([pod(true, { phase: "Succeeded" })]);
    expect(series(counter.render())).toEqual([]);
    expect(counter.render()).toContain("# TYPE prober_probe_total counter");
  });

  it("forgets pods that are no longer listed", () => {
    const counter = new ProbeResultCounter();
    counter.observe([pod(true)]);
    expect(series(counter.render())).toHaveLength(2);
    counter.observe([]);
    expect(series(counter.render())).toEqual([]);
  });
});
