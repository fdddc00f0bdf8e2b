/**
 * Prometheus' own tool on what we ship: `promtool check rules` on the PrometheusRule's groups,
 * `promtool test rules` on deploy/observability/prometheus-rule.test.yaml (each alert fires on
 * the series that should trigger it, with its labels and rendered annotations, and stays quiet
 * otherwise), and `promtool check metrics` (Prometheus' exposition parser and linter) on what
 * `/metrics`, `/metrics/cadvisor` and `/metrics/probes` render. promtool is built from the Go
 * module proxy on first use and cached (promtool.ts).
 */
import { spawn } from "node:child_process";
import { copyFile, mkdtemp, rm, writeFile } from "node:fs/promises";
import * as os from "node:os";
import { join } from "node:path";
import { Registry } from "prom-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { renderCadvisorMetrics } from "../../src/kubelet-api/cadvisor.js";
import { ProbeResultCounter } from "../../src/kubelet-api/probes-metrics.js";
import { createMetrics } from "../../src/metrics.js";
import { ensurePromtool } from "./promtool.js";
import { OBSERVABILITY_DIR, readPrometheusRule } from "./promql.js";

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(binary: string, args: string[], cwd: string, stdin?: string): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(binary, args, { cwd, stdio: ["pipe", "pipe", "pipe"] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on("data", (c: Buffer) => out.push(c));
    child.stderr.on("data", (c: Buffer) => err.push(c));
    child.on("error", reject);
    child.on("close", (code) => {
      resolve({
        code,
        stdout: Buffer.concat(out).toString("utf8"),
        stderr: Buffer.concat(err).toString("utf8"),
      });
    });
    child.stdin.end(stdin ?? "");
  });
}

describe("promtool on the rules, the rule tests and the exposition", () => {
  let promtool: string;
  let dir: string;

  beforeAll(async () => {
    promtool = await ensurePromtool();
    dir = await mkdtemp(join(os.tmpdir(), "vn-promtool-"));
    const rule = await readPrometheusRule();
    await writeFile(join(dir, "virtual-node.rules.yaml"), stringify({ groups: rule.spec.groups }));
    await copyFile(
      join(OBSERVABILITY_DIR, "prometheus-rule.test.yaml"),
      join(dir, "prometheus-rule.test.yaml"),
    );
  }, 45 * 60_000);

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("promtool check rules accepts every rule", async () => {
    const result = await run(promtool, ["check", "rules", "virtual-node.rules.yaml"], dir);
    expect(result.stderr + result.stdout).toMatch(/SUCCESS: \d+ rules found/);
    expect(result.code).toBe(0);
  });

  it("promtool test rules: every alert fires when it should, with its labels and annotations", async () => {
    const result = await run(promtool, ["test", "rules", "prometheus-rule.test.yaml"], dir);
    expect(result.stdout + result.stderr).toContain("SUCCESS");
    expect(result.code, result.stdout + result.stderr).toBe(0);
  });

  it("promtool check metrics parses and lints /metrics, /metrics/cadvisor and /metrics/probes", async () => {
    const registry = new Registry();
    const metrics = createMetrics(registry);
    const pods = [
      {
        metadata: { namespace: "ns", name: "web", uid: "u1", creationTimestamp: new Date() },
        spec: {
          nodeName: "vn-1",
          containers: [{ name: "app", image: "nginx:1", readinessProbe: { tcpSocket: { port: 80 } } }],
        },
        status: {
          phase: "Running",
          containerStatuses: [
            {
              name: "app",
              image: "nginx:1",
              imageID: "",
              ready: true,
              restartCount: 0,
              state: { running: {} },
            },
          ],
        },
      },
    ];
    metrics.addNode("vn-1", { listPods: () => pods, ready: () => true, lastLeaseRenewMs: () => Date.now() });
    metrics.providerCalls.inc({ operation: "createPod", result: "ok" });
    metrics.podStartSeconds.observe(3);
    const time = new Date().toISOString();
    const cadvisor = renderCadvisorMetrics({
      now: Date.now(),
      pods,
      summary: {
        node: { nodeName: "vn-1", startTime: time },
        pods: [
          {
            podRef: { namespace: "ns", name: "web", uid: "u1" },
            startTime: time,
            cpu: { time, usageCoreNanoSeconds: 1e9 },
            memory: { time, workingSetBytes: 1, usageBytes: 2, rssBytes: 1 },
            network: { time, name: "eth0", rxBytes: 1, txBytes: 1, rxErrors: 0, txErrors: 0 },
            containers: [{ name: "app", startTime: time, cpu: { time, usageCoreNanoSeconds: 1e9 } }],
          },
        ],
      },
    });
    const probes = new ProbeResultCounter();
    probes.observe(pods);
    for (const [what, body] of [
      ["/metrics", await registry.metrics()],
      ["/metrics/cadvisor", cadvisor],
      ["/metrics/probes", probes.render()],
    ] as const) {
      const result = await run(promtool, ["check", "metrics"], dir, body);
      expect(`${what}: ${result.stdout}${result.stderr}`).toBe(`${what}: `);
      expect(result.code).toBe(0);
    }
  });
});
