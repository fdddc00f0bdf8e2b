/**
 * metrics-server v0.8.0 (built from the Go module proxy into its own cache directory, not part of
 * the control-plane build) scrapes the virtual node's `/metrics/resource`, so `kubectl top pod` and
 * `kubectl top node` show the mock pods.
 *
 * metrics-server is an aggregated API: this test starts its own control plane with the aggregation
 * layer configured (front-proxy CA and client certificate, `--enable-aggregator-routing`), which the
 * shared one does not have, and reaches metrics-server through a selector-less Service whose
 * Endpoints point at this host's non-loopback address (Endpoints may not be loopback).
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import * as os from "node:os";
import { join } from "node:path";
import { ApiregistrationV1Api } from "@kubernetes/client-node";
import {
  allocatePort,
  createCertificateAuthority,
  ensureGoTool,
  ensureTestHostAddress,
  issueCertificate,
  spawnComponent,
  startControlPlane,
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

const METRICS_SERVER = {
  name: "metrics-server",
  module: "sigs.k8s.io/metrics-server",
  version: "v0.8.0",
  packagePath: "sigs.k8s.io/metrics-server/cmd/metrics-server",
} as const;

describe("metrics-server and kubectl top", () => {
  let dir: string;
  let cp: ControlPlane;
  let api: Apis;
  let node: KubeletNode;
  let metricsServer: ComponentProcess | undefined;
  let ns: string;

  beforeAll(async () => {
    const binary = await ensureGoTool(METRICS_SERVER);
    dir = await mkdtemp(join(os.tmpdir(), "vn-metrics-server-"));
    const frontProxyCA = await createCertificateAuthority({ commonName: "front-proxy-ca" });
    const frontProxyClient = await issueCertificate(frontProxyCA, { commonName: "front-proxy-client" });
    const file = async (name: string, content: string): Promise<string> => {
      const path = join(dir, name);
      await writeFile(path, content, { mode: 0o600 });
      return path;
    };
    cp = await startControlPlane({
      extraArgs: {
        apiServer: [
          `--requestheader-client-ca-file=${await file("front-proxy-ca.crt", frontProxyCA.certPem)}`,
          "--requestheader-allowed-names=front-proxy-client",
          "--requestheader-username-headers=X-Remote-User",
          "--requestheader-group-headers=X-Remote-Group",
          "--requestheader-extra-headers-prefix=X-Remote-Extra-",
          `--proxy-client-cert-file=${await file("front-proxy-client.crt", frontProxyClient.certPem)}`,
          `--proxy-client-key-file=${await file("front-proxy-client.key", frontProxyClient.keyPem)}`,
          "--enable-aggregator-routing=true",
        ],
      },
    });
    api = apis(cp.kubeConfig);
    node = await startKubeletNode(cp, { prefix: "vn-top" });
    ns = await newNamespace(api);
    await runPod(api, ns, node.nodeName, "busy");

    // Not loopback (refused there), and not the machine's real interface: a test-host veth address.
    const ip = await ensureTestHostAddress();
    const port = await allocatePort(ip);
    metricsServer = spawnComponent({
      name: "metrics-server",
      command: binary.path,
      args: [
        `--secure-port=${port}`,
        `--bind-address=${ip}`,
        `--cert-dir=${join(dir, "certs")}`,
        `--kubeconfig=${cp.kubeconfigPath}`,
        `--authentication-kubeconfig=${cp.kubeconfigPath}`,
        `--authorization-kubeconfig=${cp.kubeconfigPath}`,
        "--kubelet-insecure-tls",
        "--kubelet-preferred-address-types=InternalIP",
        "--kubelet-use-node-status-port",
        "--metric-resolution=10s",
        "--kubelet-request-timeout=5s",
      ],
      logFile: join(dir, "metrics-server.log"),
    });
    await api.core.createNamespacedService({
      namespace: "kube-system",
      body: {
        metadata: { name: "metrics-server" },
        spec: { ports: [{ name: "https", port: 443, targetPort: port, protocol: "TCP" }] },
      },
    });
    await api.core.createNamespacedEndpoints({
      namespace: "kube-system",
      body: {
        metadata: { name: "metrics-server" },
        subsets: [{ addresses: [{ ip }], ports: [{ name: "https", port, protocol: "TCP" }] }],
      },
    });
    await cp.kubeConfig.makeApiClient(ApiregistrationV1Api).createAPIService({
      body: {
        metadata: { name: "v1beta1.metrics.k8s.io" },
        spec: {
          group: "metrics.k8s.io",
          version: "v1beta1",
          service: { namespace: "kube-system", name: "metrics-server", port: 443 },
          insecureSkipTLSVerify: true,
          groupPriorityMinimum: 100,
          versionPriority: 100,
        },
      },
    });
  }, 20 * 60_000);

  afterAll(async () => {
    await metricsServer?.stop({ timeoutMs: 5000 });
    await node.stop();
    await cp.stop();
    await rm(dir, { recursive: true, force: true });
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
