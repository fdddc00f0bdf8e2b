/**
 * A control plane of its own with the aggregation layer configured (front-proxy CA and client
 * certificate, `--enable-aggregator-routing`), which the shared one does not have, and helpers to
 * serve an aggregated API (metrics-server, KEDA's metrics adapter) from a process on this host: a
 * selector-less Service whose Endpoints point at the test-host address (Endpoints may not be loopback).
 * The same set-up as packages/core/test/kubelet-api/metrics-server.int.test.ts.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import * as os from "node:os";
import { join } from "node:path";
import { ApiregistrationV1Api, CoreV1Api } from "@kubernetes/client-node";
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

export const METRICS_SERVER = {
  name: "metrics-server",
  module: "sigs.k8s.io/metrics-server",
  version: "v0.8.0",
  packagePath: "sigs.k8s.io/metrics-server/cmd/metrics-server",
} as const;

export interface AggregatedControlPlane {
  readonly cp: ControlPlane;
  /** A scratch directory removed by `stop`. */
  readonly dir: string;
  /** Writes a file (mode 0600) in `dir` and returns its path. */
  file(name: string, content: string): Promise<string>;
  stop(): Promise<void>;
}

export async function startAggregatedControlPlane(prefix: string): Promise<AggregatedControlPlane> {
  const dir = await mkdtemp(join(os.tmpdir(), `vn-${prefix}-`));
  const file = async (name: string, content: string): Promise<string> => {
    const path = join(dir, name);
    await writeFile(path, content, { mode: 0o600 });
    return path;
  };
  const frontProxyCA = await createCertificateAuthority({ commonName: "front-proxy-ca" });
  const frontProxyClient = await issueCertificate(frontProxyCA, { commonName: "front-proxy-client" });
  const cp = await startControlPlane({
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
      // HPA decisions every 5 s instead of 15 s, so the test waits less; the algorithm is the same.
      controllerManager: ["--horizontal-pod-autoscaler-sync-period=5s"],
    },
  });
  return {
    cp,
    dir,
    file,
    stop: async () => {
      await cp.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** An address and port on the test host where an aggregated API server may listen. */
export async function aggregatedEndpoint(): Promise<{ ip: string; port: number }> {
  const ip = await ensureTestHostAddress();
  return { ip, port: await allocatePort(ip) };
}

/** Registers `group/version` as served by the process at `endpoint` (Service + Endpoints + APIService). */
export async function registerApiService(
  cp: ControlPlane,
  options: { group: string; version: string; namespace: string; service: string; ip: string; port: number },
): Promise<void> {
  const { namespace, service, ip, port } = options;
  const core = cp.kubeConfig.makeApiClient(CoreV1Api);
  await core
    .createNamespacedService({
      namespace,
      body: {
        metadata: { name: service },
        spec: { ports: [{ name: "https", port: 443, targetPort: port, protocol: "TCP" }] },
      },
    })
    .catch((error: unknown) => {
      if (!String(error).includes("AlreadyExists")) throw error;
    });
  await core.createNamespacedEndpoints({
    namespace,
    body: {
      metadata: { name: service },
      subsets: [{ addresses: [{ ip }], ports: [{ name: "https", port, protocol: "TCP" }] }],
    },
  });
  await cp.kubeConfig.makeApiClient(ApiregistrationV1Api).createAPIService({
    body: {
      metadata: { name: `${options.version}.${options.group}` },
      spec: {
        group: options.group,
        version: options.version,
        service: { namespace, name: service, port: 443 },
        insecureSkipTLSVerify: true,
        groupPriorityMinimum: 100,
        versionPriority: 100,
      },
    },
  });
}

/** metrics-server (cached build) scraping the nodes' kubelet API, registered as metrics.k8s.io. */
export async function startMetricsServer(acp: AggregatedControlPlane): Promise<ComponentProcess> {
  const binary = await ensureGoTool(METRICS_SERVER);
  const { ip, port } = await aggregatedEndpoint();
  const process = spawnComponent({
    name: "metrics-server",
    command: binary.path,
    args: [
      `--secure-port=${String(port)}`,
      `--bind-address=${ip}`,
      `--cert-dir=${join(acp.dir, "metrics-server-certs")}`,
      `--kubeconfig=${acp.cp.kubeconfigPath}`,
      `--authentication-kubeconfig=${acp.cp.kubeconfigPath}`,
      `--authorization-kubeconfig=${acp.cp.kubeconfigPath}`,
      "--kubelet-insecure-tls",
      "--kubelet-preferred-address-types=InternalIP",
      "--kubelet-use-node-status-port",
      "--metric-resolution=10s",
      "--kubelet-request-timeout=5s",
    ],
    logFile: join(acp.dir, "metrics-server.log"),
  });
  await registerApiService(acp.cp, {
    group: "metrics.k8s.io",
    version: "v1beta1",
    namespace: "kube-system",
    service: "metrics-server",
    ip,
    port,
  });
  return process;
}
