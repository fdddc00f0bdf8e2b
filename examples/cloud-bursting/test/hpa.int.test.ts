/**
 * A plain HorizontalPodAutoscaler on CPU drives the Deployment onto the burst node and back:
 * metrics-server (cached build) scrapes the two virtual nodes' kubelet API (`/metrics/resource`),
 * kube-controller-manager's HPA controller scales the Deployment, the scheduler places the pods.
 * The CPU comes from provider-mock's usage control: a "load" of L millicores is spread over the
 * replicas (`setUsage` on each pod, as a load balancer would spread requests), so the HPA's
 * answer is known: ceil(L / (50 % of the 100m request)), between minReplicas 5 and maxReplicas 30.
 */
import { createConsoleLogger, createVirtualNodeGroup } from "@virtual-node/core";
import { MockCloud } from "@virtual-node/provider-mock";
import { allocatePort, type ComponentProcess } from "@virtual-node/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  apis,
  createNamespace,
  uniqueName,
  waitFor,
  type Apis,
} from "../../../packages/core/test/support.js";
import { burstingNodes, type BurstingNodes } from "../src/nodes.js";
import {
  startAggregatedControlPlane,
  startMetricsServer,
  type AggregatedControlPlane,
} from "./aggregated-control-plane.js";
import { activePods, apply, kubectl, kubectlOk, manifest, placement, settled } from "./support.js";

describe("HPA on CPU through metrics-server bursts onto the burst node", () => {
  let acp: AggregatedControlPlane;
  let api: Apis;
  let ns: string;
  let nodes: BurstingNodes;
  let cloud: MockCloud;
  let metricsServer: ComponentProcess | undefined;
  let stopGroup: (() => Promise<void>) | undefined;
  let loadMilli = 0;
  let loadTimer: NodeJS.Timeout | undefined;

  beforeAll(async () => {
    acp = await startAggregatedControlPlane("hpa");
    api = apis(acp.cp.kubeConfig);
    cloud = new MockCloud({ hostIP: "127.0.0.1" });
    nodes = burstingNodes({
      prefix: uniqueName("vn-hpa"),
      cloud,
      onPremPods: 10,
      internalIP: "127.0.0.1",
      kubeletPorts: { onPrem: await allocatePort(), burst: await allocatePort() },
    });
    const group = createVirtualNodeGroup({
      kubeConfig: acp.cp.kubeConfig,
      nodes: nodes.nodes,
      logger: createConsoleLogger({ level: "error" }),
      statusPollFastMs: 200,
      qps: 200,
      burst: 400,
      shutdown: "delete",
      kubeletApi: { listenAddress: "127.0.0.1" },
    });
    const running = group.run();
    await group.ready;
    stopGroup = async () => {
      await group.stop();
      await running;
    };
    metricsServer = await startMetricsServer(acp);
    ns = uniqueName("hpa");
    await createNamespace(api, ns);
  }, 10 * 60_000);

  afterAll(async () => {
    clearInterval(loadTimer);
    await metricsServer?.stop({ timeoutMs: 5000 });
    await stopGroup?.();
    cloud.dispose();
    await acp.stop();
  });

  /** Spreads `loadMilli` evenly over the Deployment's running pods, every second. */
  function startLoad(): void {
    const spread = async (): Promise<void> => {
      const pods = (await activePods(api, ns)).filter((p) => p.status?.phase === "Running");
      if (pods.length === 0) return;
      const each = `${String(Math.round(loadMilli / pods.length))}m`;
      await Promise.all(
        pods.map((p) => cloud.setUsage(ns, p.metadata?.name ?? "", { cpu: each }).catch(() => undefined)),
      );
    };
    loadTimer = setInterval(() => void spread().catch(() => undefined), 1000);
  }

  async function hpaWants(replicas: number): Promise<void> {
    process.stderr.write(
      `hpa test: waiting for desiredReplicas=${String(replicas)} (load ${String(loadMilli)}m)\n`,
    );
    let last = "";
    await waitFor(
      `HPA to want ${String(replicas)} replicas`,
      async () => {
        const result = await kubectl(acp.cp, ["get", "hpa", "-n", ns, "burst-web", "-o", "json"]);
        const hpa = JSON.parse(result.stdout || "{}") as { status?: { desiredReplicas?: number } };
        last = JSON.stringify({ status: hpa.status, stderr: result.stderr });
        return hpa.status?.desiredReplicas === replicas;
      },
      { timeoutMs: 300_000, intervalMs: 2000 },
    ).catch(async (error: unknown) => {
      throw new Error(
        `${String(error)}\nhpa: ${last}\nmetrics-server:\n${(await metricsServer?.logTail(20)) ?? ""}`,
      );
    });
  }

  it(
    "load above the target scales 5 → 30 (10 on-prem, 20 burst); load gone scales back to 5 on-prem",
    { timeout: 900_000 },
    async () => {
      await apply(acp.cp, ns, await manifest("deployment.yaml"));
      await settled(api, ns, 5);
      loadMilli = 250; // 50m per pod = the 50 % target: no change
      startLoad();
      await apply(acp.cp, ns, await manifest("hpa.yaml"));
      await hpaWants(5);

      loadMilli = 3000; // wants 3000 / 50 = 60, capped at 30
      await hpaWants(30);
      const thirty = await settled(api, ns, 30, 180_000);
      const counts = placement(thirty);
      expect(counts[nodes.onPrem.nodeName]).toBe(10);
      expect(counts[nodes.burst.nodeName]).toBe(20);
      // metrics-server sees what the mock reports: 3000m over 30 pods (new pods get their share within 1 s).
      await waitFor(
        "kubectl top to show 100m per pod",
        async () => {
          const top = await kubectl(acp.cp, ["top", "pod", "-n", ns, "--no-headers"]);
          return (top.stdout.match(/^burst-web-\S+\s+100m\s/gm) ?? []).length >= 25;
        },
        { timeoutMs: 60_000, intervalMs: 2000 },
      );

      // The HPA steps down (metrics-server's rate window mixes old and new load, so it first wants
      // e.g. 12, then 5); at the second step on-prem holds more replicas than burst, and the
      // ReplicaSet's co-location rank would delete on-prem pods first (measured: 3 on-prem + 2 burst
      // left). A lower pod-deletion-cost on the burst pods keeps burst-first (docs/cloud-bursting.md).
      for (const pod of thirty.filter((p) => p.spec?.nodeName === nodes.burst.nodeName)) {
        await kubectlOk(acp.cp, [
          "annotate",
          "-n",
          ns,
          `pod/${pod.metadata?.name ?? ""}`,
          "controller.kubernetes.io/pod-deletion-cost=-100",
        ]);
      }
      loadMilli = 100; // wants 2 → minReplicas 5
      await hpaWants(5);
      const five = await settled(api, ns, 5, 180_000);
      expect(placement(five)).toEqual({ [nodes.onPrem.nodeName]: 5 });
    },
  );
});
