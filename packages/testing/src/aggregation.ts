/**
 * A control plane with the aggregation layer configured — front-proxy CA and client certificate,
 * `--enable-aggregator-routing` — which the shared one does not have, and helpers to serve an
 * aggregated API (metrics-server, KEDA's metrics adapter) from a process on this host: a
 * selector-less Service whose Endpoints point at the test-host address (Endpoints may not be
 * loopback), and the APIService that routes a group/version to it.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import * as os from "node:os";
import { join } from "node:path";
import { ApiregistrationV1Api, CoreV1Api } from "@kubernetes/client-node";
import { createCertificateAuthority, issueCertificate } from "./certs.js";
import { startControlPlane, type ControlPlane, type StartControlPlaneOptions } from "./control-plane.js";
import { ensureGoTool, type EnsureGoToolOptions, type GoToolSpec } from "./go-tool.js";
import { allocatePort } from "./ports.js";
import { spawnComponent, type ComponentProcess } from "./process.js";
import { ensureTestHostAddress } from "./test-host.js";

/** The Common Name the API server's front-proxy client certificate carries (and is allowed). */
export const FRONT_PROXY_CLIENT_NAME = "front-proxy-client";

/** metrics-server, built from the Go module proxy into its own cache directory. */
export const METRICS_SERVER_TOOL: GoToolSpec = {
  name: "metrics-server",
  module: "sigs.k8s.io/metrics-server",
  version: "v0.8.0",
  packagePath: "sigs.k8s.io/metrics-server/cmd/metrics-server",
};

/** Files the aggregation layer flags point at. */
export interface AggregationLayerFiles {
  /** CA that verifies the front-proxy client (`--requestheader-client-ca-file`). */
  readonly frontProxyCAFile: string;
  /** The API server's client certificate towards aggregated servers, and its key. */
  readonly proxyClientCertFile: string;
  readonly proxyClientKeyFile: string;
}

/** Pure: the kube-apiserver flags of the aggregation layer (as kubeadm sets them). */
export function aggregationLayerArgs(files: AggregationLayerFiles): string[] {
  return [
    `--requestheader-client-ca-file=${files.frontProxyCAFile}`,
    `--requestheader-allowed-names=${FRONT_PROXY_CLIENT_NAME}`,
    "--requestheader-username-headers=X-Remote-User",
    "--requestheader-group-headers=X-Remote-Group",
    "--requestheader-extra-headers-prefix=X-Remote-Extra-",
    `--proxy-client-cert-file=${files.proxyClientCertFile}`,
    `--proxy-client-key-file=${files.proxyClientKeyFile}`,
    "--enable-aggregator-routing=true",
  ];
}

export interface AggregatedControlPlaneOptions extends StartControlPlaneOptions {
  /** Prefix of the scratch directory's name (`vn-<prefix>-…`). Default `aggregated`. */
  readonly prefix?: string;
}

/** A control plane with the aggregation layer, and a scratch directory for the servers' files. */
export interface AggregatedControlPlane {
  readonly cp: ControlPlane;
  /** A scratch directory removed by `stop`. */
  readonly dir: string;
  /** Writes a file (mode 0600) in `dir` and returns its path. */
  file(name: string, content: string): Promise<string>;
  /** Stops the control plane and removes `dir`. */
  stop(): Promise<void>;
}

/**
 * Starts a control plane of its own with the aggregation layer configured. `extraArgs.apiServer`
 * comes after the aggregation flags (a `--flag=value` there replaces one of them).
 */
export async function startAggregatedControlPlane(
  options: AggregatedControlPlaneOptions = {},
): Promise<AggregatedControlPlane> {
  const { prefix = "aggregated", ...controlPlaneOptions } = options;
  const dir = await mkdtemp(join(os.tmpdir(), `vn-${prefix}-`));
  const file = async (name: string, content: string): Promise<string> => {
    const path = join(dir, name);
    await writeFile(path, content, { mode: 0o600 });
    return path;
  };
  try {
    const frontProxyCA = await createCertificateAuthority({ commonName: "front-proxy-ca" });
    const frontProxyClient = await issueCertificate(frontProxyCA, { commonName: FRONT_PROXY_CLIENT_NAME });
    const aggregation = aggregationLayerArgs({
      frontProxyCAFile: await file("front-proxy-ca.crt", frontProxyCA.certPem),
      proxyClientCertFile: await file("front-proxy-client.crt", frontProxyClient.certPem),
      proxyClientKeyFile: await file("front-proxy-client.key", frontProxyClient.keyPem),
    });
    const cp = await startControlPlane({
      ...controlPlaneOptions,
      extraArgs: {
        ...controlPlaneOptions.extraArgs,
        apiServer: [...aggregation, ...(controlPlaneOptions.extraArgs?.apiServer ?? [])],
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
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
}

/** An address and port on the test host where an aggregated API server may listen. */
export async function aggregatedEndpoint(): Promise<{ ip: string; port: number }> {
  // Not loopback (refused as an Endpoints address), and not the machine's real interface.
  const ip = await ensureTestHostAddress();
  return { ip, port: await allocatePort(ip) };
}

/** Where an aggregated API is served, and which group/version. */
export interface ApiServiceRegistration {
  readonly group: string;
  readonly version: string;
  /** Namespace and name of the selector-less Service (and its Endpoints). */
  readonly namespace: string;
  readonly service: string;
  /** The serving process's address and port (from {@link aggregatedEndpoint}). */
  readonly ip: string;
  readonly port: number;
}

/**
 * Registers `group/version` as served by the process at `ip:port`: a selector-less Service (kept
 * when it exists), its Endpoints, and an APIService (TLS unverified, priority 100).
 */
export async function registerApiService(cp: ControlPlane, options: ApiServiceRegistration): Promise<void> {
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

/** Pure: metrics-server's flags for scraping virtual nodes' kubelet API from `ip:port`. */
export function metricsServerArgs(options: {
  ip: string;
  port: number;
  certDir: string;
  kubeconfigPath: string;
}): string[] {
  const { kubeconfigPath } = options;
  return [
    `--secure-port=${String(options.port)}`,
    `--bind-address=${options.ip}`,
    `--cert-dir=${options.certDir}`,
    `--kubeconfig=${kubeconfigPath}`,
    `--authentication-kubeconfig=${kubeconfigPath}`,
    `--authorization-kubeconfig=${kubeconfigPath}`,
    "--kubelet-insecure-tls",
    "--kubelet-preferred-address-types=InternalIP",
    "--kubelet-use-node-status-port",
    "--metric-resolution=10s",
    "--kubelet-request-timeout=5s",
  ];
}

/**
 * metrics-server (cached build, {@link METRICS_SERVER_TOOL}) scraping the nodes' kubelet API,
 * registered as `metrics.k8s.io/v1beta1`; its log is `<dir>/metrics-server.log`.
 */
export async function startMetricsServer(
  acp: AggregatedControlPlane,
  options: EnsureGoToolOptions = {},
): Promise<ComponentProcess> {
  const binary = await ensureGoTool(METRICS_SERVER_TOOL, options);
  const { ip, port } = await aggregatedEndpoint();
  const server = spawnComponent({
    name: "metrics-server",
    command: binary.path,
    args: metricsServerArgs({
      ip,
      port,
      certDir: join(acp.dir, "metrics-server-certs"),
      kubeconfigPath: acp.cp.kubeconfigPath,
    }),
    logFile: join(acp.dir, "metrics-server.log"),
  });
  try {
    await registerApiService(acp.cp, {
      group: "metrics.k8s.io",
      version: "v1beta1",
      namespace: "kube-system",
      service: "metrics-server",
      ip,
      port,
    });
  } catch (error) {
    await server.stop({ timeoutMs: 5000 });
    throw error;
  }
  return server;
}
