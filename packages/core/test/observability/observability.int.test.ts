/**
 * The dashboard and the alerts name only metrics the agent really exports: a virtual node (mock
 * provider, kubelet API on) on the real control plane runs two pods with readiness probes (one
 * never ready); the real kubectl scrapes `/metrics`, `/metrics/cadvisor` and `/metrics/probes`
 * through the API server's node proxy — the path and the `nodes/metrics` authorization a
 * Prometheus scrape takes; every PromQL expression in deploy/observability/ is parsed with
 * Prometheus' grammar and each metric it selects must be in those scrapes. The dashboard's JSON
 * structure is checked too. promtool's own checks (rule syntax, rule unit tests) are in
 * promtool.int.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensureTestHostAddress, type ControlPlaneHandle } from "@virtual-node/testing";
import { controlPlane } from "../support.js";
import {
  apis,
  kubectl,
  newNamespace,
  runPod,
  startKubeletNode,
  waitFor,
  type Apis,
  type KubeletNode,
} from "../kubelet-api/support.js";
import {
  allPanels,
  allQueries,
  exposedNames,
  metricNames,
  readDashboard,
  readPrometheusRule,
  type Dashboard,
  type PrometheusRule,
} from "./promql.js";

/** Series Prometheus itself records for every target, not the agent. */
const PROMETHEUS_SERIES = new Set(["up"]);

const readinessProbe = { httpGet: { path: "/ready", port: 8080 }, periodSeconds: 5 };

describe("observability: dashboard and alerts against a live scrape", () => {
  let cp: ControlPlaneHandle;
  let api: Apis;
  let node: KubeletNode;
  let ns: string;
  const scrapes: Record<string, string> = {};

  async function scrape(path: string): Promise<string> {
    const result = await kubectl(cp, ["get", "--raw", `/api/v1/nodes/${node.nodeName}/proxy${path}`]);
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    return result.stdout;
  }

  beforeAll(async () => {
    cp = await controlPlane();
    api = apis(cp.kubeConfig);
    // The API server refuses to proxy to loopback: a test-host veth address, as kubectl.int.test.ts.
    const ip = await ensureTestHostAddress();
    node = await startKubeletNode(cp, {
      prefix: "vn-obs",
      kubeletApi: { listenAddress: ip },
      overrides: { internalIP: ip },
    });
    ns = await newNamespace(api, "obs");
    await runPod(api, ns, node.nodeName, "ready", {
      containers: [{ name: "app", image: "registry.example/app:1", readinessProbe }],
    });
    await api.core.createNamespacedPod({
      namespace: ns,
      body: {
        metadata: { name: "unready", annotations: { "mock.virtual-node.io/ready": "false" } },
        spec: {
          nodeSelector: { "kubernetes.io/hostname": node.nodeName },
          tolerations: [{ key: "virtual-kubelet.io/provider", operator: "Exists", effect: "NoSchedule" }],
          containers: [{ name: "app", image: "registry.example/app:1", readinessProbe }],
        },
      },
    });
    await waitFor("unready pod Running", async () => {
      const pod = await api.core.readNamespacedPod({ namespace: ns, name: "unready" });
      return pod.status?.phase === "Running";
    });
    // Once the informer has the pods Running (the per-node gauges read it at scrape time).
    await waitFor("two Running pods in the agent's metrics", async () => {
      const body = await scrape("/metrics");
      return (
        new RegExp(`^virtual_node_pods\\{node="${node.nodeName}",phase="Running"\\} 2$`, "m").test(body) &&
        body
      );
    });
    for (const path of ["/metrics", "/metrics/cadvisor", "/metrics/probes"])
      scrapes[path] = await scrape(path);
  });

  afterAll(async () => {
    await node.stop();
  });

  it("/metrics has the per-node gauges, the start latency and the provider metrics", () => {
    const body = scrapes["/metrics"] ?? "";
    const n = node.nodeName;
    expect(body).toMatch(new RegExp(`^virtual_node_node_ready\\{node="${n}"\\} 1$`, "m"));
    expect(body).toMatch(
      new RegExp(`^virtual_node_lease_last_renew_timestamp_seconds\\{node="${n}"\\} \\d+(\\.\\d+)?$`, "m"),
    );
    expect(body).toMatch(new RegExp(`^virtual_node_pod_pending_oldest_seconds\\{node="${n}"\\} 0$`, "m"));
    // Both pods were created and seen going Running by this agent.
    const starts = /^virtual_node_pod_start_duration_seconds_count (\d+)$/m.exec(body);
    expect(Number(starts?.[1])).toBeGreaterThanOrEqual(2);
    expect(body).toMatch(
      /^virtual_node_provider_calls_total\{operation="createPod",result="ok"\} [1-9]\d*$/m,
    );
    expect(body).toContain("# TYPE virtual_node_provider_throttles_total counter");
  });

  it("/metrics/cadvisor serves the pods' containers with cAdvisor's labels", () => {
    const body = scrapes["/metrics/cadvisor"] ?? "";
    expect(body).toMatch(
      new RegExp(
        `^container_cpu_usage_seconds_total\\{container="app",cpu="total",id="/kubepods/pod[0-9a-f-]+/[^"]+",image="registry.example/app:1",name="[^"]+",namespace="${ns}",pod="ready"\\} [0-9.e+-]+ \\d+$`,
        "m",
      ),
    );
    expect(body).toMatch(
      new RegExp(
        `^container_memory_working_set_bytes\\{container="",id="/kubepods/pod[0-9a-f-]+",image="",name="",namespace="${ns}",pod="ready"\\} \\d+ \\d+$`,
        "m",
      ),
    );
    expect(body).toMatch(/^container_scrape_error 0$/m);
  });

  it("/metrics/probes counts the readiness results core sees", () => {
    const body = scrapes["/metrics/probes"] ?? "";
    const series = (pod: string, result: string): RegExp =>
      new RegExp(
        `^prober_probe_total\\{container="app",namespace="${ns}",pod="${pod}",pod_uid="[0-9a-f-]+",probe_type="Readiness",result="${result}"\\} 1$`,
        "m",
      );
    expect(body).toMatch(series("ready", "successful"));
    expect(body).toMatch(series("unready", "failed"));
  });

  describe("deploy/observability", () => {
    let dashboard: Dashboard;
    let rule: PrometheusRule;
    beforeAll(async () => {
      dashboard = await readDashboard();
      rule = await readPrometheusRule();
    });

    it("every metric a dashboard panel, a variable or an alert selects is in the scrapes", () => {
      const exposed = new Set([...Object.values(scrapes).flatMap((body) => [...exposedNames(body)])]);
      const queries = allQueries(dashboard, rule);
      expect(queries.length).toBeGreaterThan(30);
      const missing: string[] = [];
      const used = new Set<string>();
      for (const query of queries)
        for (const name of metricNames(query)) {
          used.add(name);
          if (!exposed.has(name) && !PROMETHEUS_SERIES.has(name)) missing.push(`${query.where}: ${name}`);
        }
      expect(missing).toEqual([]);
      // The list, each on the dashboard or in an alert.
      for (const name of [
        "virtual_node_pods",
        "virtual_node_pod_start_duration_seconds_bucket",
        "virtual_node_provider_calls_total",
        "virtual_node_provider_throttles_total",
        "virtual_node_queue_depth",
        "virtual_node_lease_renew_duration_seconds_bucket",
        "virtual_node_pod_billed_vcpu_seconds_total",
        "virtual_node_pod_billed_memory_gib_seconds_total",
        "container_cpu_usage_seconds_total",
        "prober_probe_total",
      ])
        expect(used).toContain(name);
    });

    it("the dashboard is a well-formed Grafana model: unique ids, datasource variable, grid", () => {
      expect(dashboard.uid).toMatch(/^[a-zA-Z0-9_-]{1,40}$/);
      expect(dashboard.title).not.toBe("");
      expect(dashboard.schemaVersion).toBeGreaterThanOrEqual(36);
      const datasource = dashboard.templating.list.find((v) => v.type === "datasource");
      expect(datasource).toMatchObject({ name: "datasource", query: "prometheus" });
      const names = dashboard.templating.list.map((v) => v.name);
      expect(new Set(names).size).toBe(names.length);
      const panels = allPanels(dashboard);
      const ids = panels.map((p) => p.id);
      expect(new Set(ids).size).toBe(ids.length);
      const cells = new Set<string>();
      for (const panel of panels) {
        const { x, y, w, h } = panel.gridPos;
        expect(x >= 0 && w > 0 && x + w <= 24 && h > 0, `panel ${String(panel.id)} grid`).toBe(true);
        for (let i = x; i < x + w; i++)
          for (let j = y; j < y + h; j++) {
            expect(cells.has(`${String(i)},${String(j)}`), `panel ${String(panel.id)} overlaps`).toBe(false);
            cells.add(`${String(i)},${String(j)}`);
          }
        if (panel.type === "row") continue;
        expect(panel.datasource, `panel ${String(panel.id)}`).toEqual({
          type: "prometheus",
          uid: "${datasource}",
        });
        const targets = panel.targets ?? [];
        expect(targets.length, `panel ${String(panel.id)} targets`).toBeGreaterThan(0);
        expect(new Set(targets.map((t) => t.refId)).size).toBe(targets.length);
        for (const t of targets) expect(t.datasource).toEqual(panel.datasource);
      }
      for (const variable of dashboard.templating.list.filter((v) => v.type === "query"))
        expect(variable.datasource).toEqual({ type: "prometheus", uid: "${datasource}" });
    });

    it("the PrometheusRule is a monitoring.coreos.com/v1 object whose alerts have severity, for and summary", () => {
      expect(rule).toMatchObject({ apiVersion: "monitoring.coreos.com/v1", kind: "PrometheusRule" });
      const alerts = rule.spec.groups.flatMap((g) => g.rules);
      const names = alerts.map((a) => a.alert);
      expect(new Set(names).size).toBe(names.length);
      for (const wanted of [
        "VirtualNodeNotReady",
        "VirtualNodeProviderErrors",
        "VirtualNodeProviderThrottled",
        "VirtualNodePodStartLatencyHigh",
        "VirtualNodePodsStuckPending",
      ])
        expect(names).toContain(wanted);
      for (const alert of alerts) {
        expect(alert.alert, alert.expr).toMatch(/^VirtualNode[A-Za-z]+$/);
        expect(alert.for).toMatch(/^\d+[smh]$/);
        expect(["warning", "critical"]).toContain(alert.labels?.severity);
        expect(alert.annotations?.summary).toBeTruthy();
        expect(alert.annotations?.description).toBeTruthy();
      }
    });
  });
});
