/**
 * metrics-server v0.8.0 (built from the Go module proxy into its own cache directory, not part of
 * the control-plane build) scrapes the virtual node's `/metrics/resource`, so `kubectl top pod` and
 * `kubectl top node` show the mock pods.
 *
 * metrics-server is an aggregated API: this test starts its own control plane with the aggregation
 * layer configured (@virtual-node/testing's `startAggregatedControlPlane`), which the shared one does
 * not have, and reaches metrics-server through a selector-less Service whose Endpoints point at this
 * host's non-loopback address (`startMetricsServer`).
 */
import {
  startAggregatedControlPlane,
  startMetricsServer,
  type AggregatedControlPlane,
  type ComponentProcess,
  type ControlPlane,
} from "@virtual-node/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  apis,
  kubectl,
  newNamespace,
  runPod,
  startKubeletNode,
  waitFor,
  type Apis,
  type KubeletNode,
} from "./support.js";

describe("metrics-server and kubectl top", () => {
  let acp: AggregatedControlPlane;
  let cp: ControlPlane;
  let api: Apis;
  let node: KubeletNode;
  let metricsServer: ComponentProcess | undefined;
  let ns: string;

  beforeAll(async () => {
    acp = await startAggregatedControlPlane({ prefix: "metrics-server" });
    cp = acp.cp;
    api = apis(cp.kubeConfig);
    node = await startKubeletNode(cp, { prefix: "vn-top" });
    ns = await newNamespace(api);
    await runPod(api, ns, node.nodeName, "busy");
    metricsServer = await startMetricsServer(acp);
  }, 20 * 60_000);

  afterAll(async () => {
    await metricsServer?.stop({ timeoutMs: 5000 });
    await node.stop();
    await acp.stop();
  });

  it("kubectl top pod and kubectl top node show the virtual node's pods", { timeout: 240_000 }, async () => {
    let last = "";
    const top = await waitFor(
      "kubectl top pod to list the pod",
      async () => {
        if (metricsServer?.exitStatus() !== undefined)
          return Promise.reject(new Error("metrics-server exited"));
        const result = await kubectl(cp, ["top", "pod", "-n", ns, "--no-headers"]);
        last = `${result.stdout}${result.stderr}`;
        return result.code === 0 && /^busy\s+\d+m\s+\d+Mi\s*$/m.test(result.stdout)
          ? result.stdout
          : undefined;
      },
      { timeoutMs: 120_000, intervalMs: 2000 },
    ).catch(async (error: unknown) => {
      throw new Error(
        `${String(error)}\nkubectl: ${last}\nmetrics-server log:\n${(await metricsServer?.logTail(40)) ?? ""}`,
      );
    });
    const [, cpu, memory] = /^busy\s+(\d+)m\s+(\d+)Mi/m.exec(top) ?? [];
    expect(Number(cpu)).toBeGreaterThan(0);
    expect(Number(memory)).toBeGreaterThan(16);

    const containers = await kubectl(cp, ["top", "pod", "-n", ns, "busy", "--containers", "--no-headers"]);
    expect(containers.stdout).toMatch(/^busy\s+app\s+\d+m\s+\d+Mi/m);

    const topNode = await waitFor(
      "kubectl top node to list the node",
      async () => {
        const result = await kubectl(cp, ["top", "node", node.nodeName, "--no-headers"]);
        return result.code === 0 ? result.stdout : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 2000 },
    );
    expect(topNode).toMatch(new RegExp(`^${node.nodeName}\\s+\\d+m\\s+\\d+%\\s+\\d+Mi\\s+\\d+%`, "m"));
  });
});
