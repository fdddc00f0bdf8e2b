/**
 * KEDA, the event-driven autoscaler the seed use case pairs with virtual nodes, drives the
 * example's Deployment onto the burst node and back: a real KEDA v2.21 operator and metrics adapter
 * (built from the Go module proxy, keda-build.ts) run as processes on this host against a control
 * plane with the aggregation layer; the example's ScaledObject uses the `metrics-api` scaler against
 * an HTTP endpoint this test serves (a "queue length"). KEDA creates the HPA, the adapter serves
 * `external.metrics.k8s.io` (asking the operator over mTLS gRPC), kube-controller-manager's HPA
 * controller scales, the scheduler places.
 *
 * Not in `npm test` (a cold KEDA build takes tens of minutes on 2 cores): `npm run test:keda`.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { createConsoleLogger, createVirtualNodeGroup } from "@virtual-node/core";
import { MockCloud } from "@virtual-node/provider-mock";
import {
  allocatePort,
  createCertificateAuthority,
  issueCertificate,
  spawnComponent,
  type ComponentProcess,
} from "@virtual-node/testing";
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
  aggregatedEndpoint,
  registerApiService,
  startAggregatedControlPlane,
  type AggregatedControlPlane,
} from "./aggregated-control-plane.js";
import { ensureKeda } from "./keda-build.js";
import { apply, kubectl, kubectlOk, manifest, placement, settled } from "./support.js";

describe("KEDA metrics-api ScaledObject bursts onto the burst node", () => {
  let acp: AggregatedControlPlane;
  let api: Apis;
  let ns: string;
  let nodes: BurstingNodes;
  let cloud: MockCloud;
  let operator: ComponentProcess | undefined;
  let adapter: ComponentProcess | undefined;
  let queue: Server | undefined;
  let queueLength = 0;
  let queueUrl = "";
  let stopGroup: (() => Promise<void>) | undefined;

  const logs = async (): Promise<string> =>
    `operator:\n${(await operator?.logTail(25)) ?? ""}\nadapter:\n${(await adapter?.logTail(25)) ?? ""}`;

  beforeAll(async () => {
    const keda = await ensureKeda();
    acp = await startAggregatedControlPlane("keda");
    api = apis(acp.cp.kubeConfig);
    await createNamespace(api, "keda");
    for (const crd of keda.crdFiles) await kubectlOk(acp.cp, ["apply", "--server-side", "-f", crd]);

    // The operator's gRPC metrics service and the adapter's client authenticate each other with
    // certificates from one directory (ca.crt, tls.crt, tls.key), as KEDA's cert rotation lays them out.
    const { ip, port: adapterPort } = await aggregatedEndpoint();
    const ca = await createCertificateAuthority({ commonName: "keda-test-ca" });
    const cert = await issueCertificate(ca, {
      commonName: "keda-operator",
      dnsNames: ["localhost", "keda-operator.keda.svc", "keda-metrics-apiserver.keda.svc"],
      ipAddresses: ["127.0.0.1", ip],
      usages: ["server", "client"],
    });
    await acp.file("ca.crt", ca.certPem);
    const certFile = await acp.file("tls.crt", cert.certPem);
    const keyFile = await acp.file("tls.key", cert.keyPem);
    const grpcPort = await allocatePort();
    // Both binaries load their client config through controller-runtime (`--kubeconfig` or KUBECONFIG).
    const env = {
      ...process.env,
      KUBECONFIG: acp.cp.kubeconfigPath,
      POD_NAMESPACE: "keda",
      KEDA_CLUSTER_OBJECT_NAMESPACE: "keda",
      WATCH_NAMESPACE: "",
    };
    operator = spawnComponent({
      name: "keda-operator",
      command: keda.operator,
      args: [
        `--kubeconfig=${acp.cp.kubeconfigPath}`,
        "--leader-elect=false",
        `--metrics-bind-address=127.0.0.1:${String(await allocatePort())}`,
        `--health-probe-bind-address=127.0.0.1:${String(await allocatePort())}`,
        `--metrics-service-bind-address=127.0.0.1:${String(grpcPort)}`,
        `--cert-dir=${acp.dir}`,
        "--enable-cert-rotation=false",
        "--enable-webhook-patching=false",
        "--enable-apiservice-patching=false",
        "--zap-log-level=info",
      ],
      env,
      logFile: join(acp.dir, "keda-operator.log"),
    });
    adapter = spawnComponent({
      name: "keda-adapter",
      command: keda.adapter,
      args: [
        `--secure-port=${String(adapterPort)}`,
        `--bind-address=${ip}`,
        `--cert-dir=${acp.dir}`,
        `--tls-cert-file=${certFile}`,
        `--tls-private-key-file=${keyFile}`,
        `--lister-kubeconfig=${acp.cp.kubeconfigPath}`,
        `--authentication-kubeconfig=${acp.cp.kubeconfigPath}`,
        `--authorization-kubeconfig=${acp.cp.kubeconfigPath}`,
        `--metrics-service-address=127.0.0.1:${String(grpcPort)}`,
        "--zap-log-level=info",
      ],
      env,
      logFile: join(acp.dir, "keda-adapter.log"),
    });
    await registerApiService(acp.cp, {
      group: "external.metrics.k8s.io",
      version: "v1beta1",
      namespace: "keda",
      service: "keda-metrics-apiserver",
      ip,
      port: adapterPort,
    });

    queue = createServer((_req, res) => {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ queue: { length: queueLength } }));
    });
    await new Promise<void>((resolve) => queue?.listen(0, "127.0.0.1", resolve));
    queueUrl = `http://127.0.0.1:${String((queue.address() as AddressInfo).port)}/queue`;

    cloud = new MockCloud();
    nodes = burstingNodes({ prefix: uniqueName("vn-keda"), cloud, onPremPods: 10 });
    const group = createVirtualNodeGroup({
      kubeConfig: acp.cp.kubeConfig,
      nodes: nodes.nodes,
      logger: createConsoleLogger({ level: "error" }),
      statusPollFastMs: 200,
      qps: 200,
      burst: 400,
      shutdown: "delete",
      kubeletApi: { enabled: false },
    });
    const running = group.run();
    await group.ready;
    stopGroup = async () => {
      await group.stop();
      await running;
    };
    ns = uniqueName("keda");
    await createNamespace(api, ns);
  }, 90 * 60_000);

  afterAll(async () => {
    await operator?.stop({ timeoutMs: 5000 });
    await adapter?.stop({ timeoutMs: 5000 });
    await stopGroup?.();
    cloud.dispose();
    await new Promise((resolve) => queue?.close(resolve));
    await acp.stop();
  });

  async function hpaWants(replicas: number): Promise<void> {
    let last = "";
    await waitFor(
      `KEDA's HPA to want ${String(replicas)} replicas`,
      async () => {
        const result = await kubectl(acp.cp, ["get", "hpa", "-n", ns, "keda-hpa-burst-web", "-o", "json"]);
        last = `${result.stdout.slice(0, 1500)}${result.stderr}`;
        const hpa = JSON.parse(result.stdout || "{}") as { status?: { desiredReplicas?: number } };
        return hpa.status?.desiredReplicas === replicas;
      },
      { timeoutMs: 240_000, intervalMs: 2000 },
    ).catch(async (error: unknown) => {
      throw new Error(`${String(error)}\nhpa: ${last}\n${await logs()}`);
    });
  }

  it("queue length 300 scales 5 → 30 (10 on-prem, 20 burst); an empty queue scales back to 5 on-prem", async () => {
    await apply(acp.cp, ns, await manifest("deployment.yaml"));
    await settled(api, ns, 5);
    queueLength = 50; // 50 / targetValue 10 = 5
    await apply(acp.cp, ns, await manifest("scaledobject.yaml", { QUEUE_URL: queueUrl }));
    await waitFor(
      "ScaledObject Ready",
      async () => {
        const out = await kubectl(acp.cp, ["get", "scaledobject", "-n", ns, "burst-web", "-o", "json"]);
        const so = JSON.parse(out.stdout || "{}") as {
          status?: { conditions?: { type: string; status: string }[] };
        };
        return so.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True");
      },
      { timeoutMs: 120_000, intervalMs: 2000 },
    ).catch(async (error: unknown) => {
      throw new Error(`${String(error)}\n${await logs()}`);
    });
    const metric = await kubectl(acp.cp, [
      "get",
      "--raw",
      `/apis/external.metrics.k8s.io/v1beta1/namespaces/${ns}`,
    ]);
    expect(metric.code, metric.stderr).toBe(0);

    queueLength = 300; // 30 replicas
    await hpaWants(30);
    const thirty = await settled(api, ns, 30, 180_000);
    expect(placement(thirty)).toEqual({ [nodes.onPrem.nodeName]: 10, [nodes.burst.nodeName]: 20 });

    queueLength = 0; // minReplicaCount 5
    await hpaWants(5);
    const five = await settled(api, ns, 5, 180_000);
    expect(placement(five)).toEqual({ [nodes.onPrem.nodeName]: 5 });
  });
});
