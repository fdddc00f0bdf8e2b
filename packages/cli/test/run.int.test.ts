/**
 * `virtual-node run` as a process against the real control plane: a mock node registers, a
 * Deployment's pod on it becomes Ready, /readyz and /metrics answer, a secret from the environment
 * never appears in the logs, and SIGTERM applies the shutdown policy and exits 0.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ControlPlaneHandle } from "@virtual-node/testing";
import {
  apis,
  controlPlane,
  createNamespace,
  isReady,
  podSpecFor,
  uniqueName,
  waitFor,
  type Apis,
} from "../../core/test/support.js";
import { get, startAgentProcess, type AgentProcess } from "./agent-process.js";

const SECRET = "s3cr3t-header-value-0123456789";

describe("virtual-node run (real control plane)", () => {
  let cp: ControlPlaneHandle;
  let api: Apis;
  let namespace: string;
  let agent: AgentProcess | undefined;
  const nodeName = uniqueName("vn-cli");
  const dir = mkdtempSync(join(tmpdir(), "vn-cli-run-"));

  beforeAll(async () => {
    cp = await controlPlane();
    api = apis(cp.kubeConfig);
    namespace = uniqueName("cli-run");
    await createNamespace(api, namespace);
  });

  afterAll(async () => {
    await agent?.stop("SIGKILL");
    await api.core.deleteNamespace({ name: namespace }).catch(() => undefined);
    await api.core.deleteNode({ name: nodeName }).catch(() => undefined);
  });

  it("runs a mock node until a pod is Ready, serves health and metrics, and shuts down on SIGTERM", async () => {
    const config = join(dir, "agent.yaml");
    writeFileSync(
      config,
      `apiVersion: virtual-node.io/v1alpha1
kind: AgentConfig
logLevel: debug
shutdown: notReady
kubeletApi: { enabled: false }
telemetry:
  otlp:
    endpoint: http://127.0.0.1:9/v1/traces
    headers: { x-api-key: { fromEnv: OTLP_KEY } }
tuning: { pingIntervalMs: 1000, statusPollFastMs: 200, leaseRenewIntervalMs: 2000 }
nodes:
  - name: ${nodeName}
    labels: { team: cli-test }
    provider: { name: mock }
`,
    );
    agent = startAgentProcess(["run", "--config", config, "--kubeconfig", cp.kubeconfigPath, "--port", "0"], {
      OTLP_KEY: SECRET,
    });
    const listening = await agent.waitForLog(
      (r) => r.msg === "health and metrics endpoint listening",
      180_000,
    );
    const url = listening.url as string;
    expect((await get(`${url}/healthz`)).status).toBe(200);

    await agent.waitForLog((r) => r.msg === "ready", 90_000);
    const node = await api.core.readNode({ name: nodeName });
    expect(node.metadata?.labels?.team).toBe("cli-test");

    await api.apps.createNamespacedDeployment({
      namespace,
      body: {
        metadata: { name: "web" },
        spec: {
          replicas: 1,
          selector: { matchLabels: { app: "web" } },
          template: { metadata: { labels: { app: "web" } }, spec: podSpecFor(nodeName) },
        },
      },
    });
    await waitFor(
      "the Deployment's pod Ready on the node",
      async () =>
        (await api.core.listNamespacedPod({ namespace })).items.find(
          (p) => isReady(p) && p.spec?.nodeName === nodeName,
        ),
      { timeoutMs: 90_000 },
    );

    const ready = await waitFor("/readyz 200", async () => {
      const r = await get(`${url}/readyz`);
      return r.status === 200 ? r : undefined;
    });
    const body = JSON.parse(ready.body) as { ready: boolean; checks: { name: string; ok: boolean }[] };
    expect(body.checks.map((c) => c.name)).toEqual([
      "nodes-registered-and-informers-synced",
      `provider-reachable:${nodeName}`,
    ]);
    const metrics = await get(`${url}/metrics`);
    expect(metrics.body).toMatch(/^virtual_node_api_requests_total\{/m);
    expect(metrics.body).toMatch(/virtual_node_pod_status_writes_total/);

    // Structured logs: every line JSON with level and time; the header secret never written.
    expect(agent.lines.length).toBeGreaterThan(5);
    for (const line of agent.lines) {
      expect(line.json, line.raw).toBeDefined();
      expect(line.json).toMatchObject({
        level: expect.any(String) as string,
        time: expect.any(String) as string,
      });
    }
    expect(agent.lines.some((l) => l.json?.level === "debug")).toBe(true);
    expect(agent.lines.map((l) => l.raw).join("\n")).not.toContain(SECRET);

    const code = await agent.stop("SIGTERM");
    expect(code).toBe(0);
    expect(agent.lines.some((l) => l.json?.msg === "shutting down" && l.json.policy === "notReady")).toBe(
      true,
    );
    const after = await api.core.readNode({ name: nodeName });
    const readyCondition = after.status?.conditions?.find((c) => c.type === "Ready");
    expect(readyCondition?.status).not.toBe("True");
  });
});
