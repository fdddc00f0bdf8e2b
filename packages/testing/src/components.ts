import type { ClusterPkiPaths } from "./pki.js";
import { SERVICE_ACCOUNT_ISSUER, SERVICE_CLUSTER_IP_RANGE } from "./pki.js";
import { LOOPBACK } from "./ports.js";

/** Names of the processes of a control plane. */
export type ComponentName = "etcd" | "kube-apiserver" | "kube-controller-manager" | "kube-scheduler";

/** Client QPS / burst given to controller-manager and scheduler when request limits are off. */
export const UNLIMITED_CLIENT_QPS = 5000;
export const UNLIMITED_CLIENT_BURST = 10000;

function flagName(arg: string): string | undefined {
  const match = /^(--?[^=\s]+)/.exec(arg);
  return match?.[1];
}

/**
 * Appends `extra` flags to `defaults`; an extra `--name=value` replaces every default `--name=...`. Extra
 * flags without `=` are appended as they are.
 */
export function mergeFlags(defaults: readonly string[], extra: readonly string[] = []): string[] {
  const overridden = new Set(extra.filter((a) => a.includes("=")).map(flagName));
  return [...defaults.filter((a) => !overridden.has(flagName(a))), ...extra];
}

export interface EtcdConfig {
  readonly dataDir: string;
  readonly clientPort: number;
  readonly peerPort: number;
  readonly extraArgs?: readonly string[];
}

export function etcdArgs(config: EtcdConfig): string[] {
  const client = `http://${LOOPBACK}:${config.clientPort}`;
  const peer = `http://${LOOPBACK}:${config.peerPort}`;
  return mergeFlags(
    [
      "--name=default",
      `--data-dir=${config.dataDir}`,
      `--listen-client-urls=${client}`,
      `--advertise-client-urls=${client}`,
      `--listen-peer-urls=${peer}`,
      `--initial-advertise-peer-urls=${peer}`,
      `--initial-cluster=default=${peer}`,
      "--initial-cluster-state=new",
      "--unsafe-no-fsync=true",
      `--quota-backend-bytes=${8 * 1024 * 1024 * 1024}`,
      "--log-level=warn",
    ],
    config.extraArgs,
  );
}

export interface ApiServerConfig {
  readonly securePort: number;
  readonly etcdClientPort: number;
  readonly pki: ClusterPkiPaths;
  /** When false: no inflight limits, no priority & fairness. */
  readonly requestLimits: boolean;
  /**
   * CA used to verify kubelet serving certificates. Unset by default: virtual kubelets commonly serve
   * self-signed certificates, and the apiserver then does not verify them.
   */
  readonly kubeletCertificateAuthority?: string;
  readonly certDir: string;
  readonly extraArgs?: readonly string[];
}

export function apiServerArgs(config: ApiServerConfig): string[] {
  const { pki } = config;
  return mergeFlags(
    [
      `--bind-address=${LOOPBACK}`,
      `--advertise-address=${LOOPBACK}`,
      `--secure-port=${config.securePort}`,
      `--cert-dir=${config.certDir}`,
      `--tls-cert-file=${pki.apiserver.certPath}`,
      `--tls-private-key-file=${pki.apiserver.keyPath}`,
      `--client-ca-file=${pki.ca.certPath}`,
      `--etcd-servers=http://${LOOPBACK}:${config.etcdClientPort}`,
      "--authorization-mode=Node,RBAC",
      "--enable-admission-plugins=NodeRestriction",
      "--allow-privileged=true",
      `--service-cluster-ip-range=${SERVICE_CLUSTER_IP_RANGE}`,
      `--service-account-issuer=${SERVICE_ACCOUNT_ISSUER}`,
      `--service-account-key-file=${pki.serviceAccountPublicKey}`,
      `--service-account-signing-key-file=${pki.serviceAccountPrivateKey}`,
      `--api-audiences=${SERVICE_ACCOUNT_ISSUER}`,
      `--kubelet-client-certificate=${pki.apiserverKubeletClient.certPath}`,
      `--kubelet-client-key=${pki.apiserverKubeletClient.keyPath}`,
      "--kubelet-preferred-address-types=InternalIP,Hostname",
      ...(config.kubeletCertificateAuthority === undefined
        ? []
        : [`--kubelet-certificate-authority=${config.kubeletCertificateAuthority}`]),
      // A loopback advertise address cannot be published as the `kubernetes` service endpoint.
      "--endpoint-reconciler-type=none",
      ...(config.requestLimits
        ? []
        : [
            "--max-requests-inflight=0",
            "--max-mutating-requests-inflight=0",
            "--enable-priority-and-fairness=false",
          ]),
    ],
    config.extraArgs,
  );
}

export interface ControllerManagerConfig {
  readonly securePort: number;
  readonly kubeconfigPath: string;
  readonly pki: ClusterPkiPaths;
  readonly requestLimits: boolean;
  readonly certDir: string;
  /** Go duration, e.g. "20s". Unset: Kubernetes default (50s in v1.37). */
  readonly nodeMonitorGracePeriod?: string;
  /** Go duration, e.g. "2s". Unset: Kubernetes default (5s). */
  readonly nodeMonitorPeriod?: string;
  readonly extraArgs?: readonly string[];
}

export function controllerManagerArgs(config: ControllerManagerConfig): string[] {
  const { pki } = config;
  return mergeFlags(
    [
      `--kubeconfig=${config.kubeconfigPath}`,
      `--authentication-kubeconfig=${config.kubeconfigPath}`,
      `--authorization-kubeconfig=${config.kubeconfigPath}`,
      `--bind-address=${LOOPBACK}`,
      `--secure-port=${config.securePort}`,
      `--cert-dir=${config.certDir}`,
      "--leader-elect=false",
      "--controllers=*",
      "--use-service-account-credentials=true",
      `--service-account-private-key-file=${pki.serviceAccountPrivateKey}`,
      `--root-ca-file=${pki.ca.certPath}`,
      `--cluster-signing-cert-file=${pki.ca.certPath}`,
      `--cluster-signing-key-file=${pki.ca.keyPath}`,
      `--service-cluster-ip-range=${SERVICE_CLUSTER_IP_RANGE}`,
      ...(config.nodeMonitorGracePeriod === undefined
        ? []
        : [`--node-monitor-grace-period=${config.nodeMonitorGracePeriod}`]),
      ...(config.nodeMonitorPeriod === undefined
        ? []
        : [`--node-monitor-period=${config.nodeMonitorPeriod}`]),
      ...(config.requestLimits
        ? []
        : [`--kube-api-qps=${UNLIMITED_CLIENT_QPS}`, `--kube-api-burst=${UNLIMITED_CLIENT_BURST}`]),
    ],
    config.extraArgs,
  );
}

export interface SchedulerConfig {
  readonly securePort: number;
  readonly kubeconfigPath: string;
  /** Path of the KubeSchedulerConfiguration written with {@link schedulerConfiguration}. */
  readonly configPath: string;
  readonly certDir: string;
  readonly extraArgs?: readonly string[];
}

/** KubeSchedulerConfiguration: the scheduler's client settings only exist in this file. */
export function schedulerConfiguration(kubeconfigPath: string, requestLimits: boolean): string {
  return [
    "apiVersion: kubescheduler.config.k8s.io/v1",
    "kind: KubeSchedulerConfiguration",
    "clientConnection:",
    `  kubeconfig: ${JSON.stringify(kubeconfigPath)}`,
    ...(requestLimits ? [] : [`  qps: ${UNLIMITED_CLIENT_QPS}`, `  burst: ${UNLIMITED_CLIENT_BURST}`]),
    "leaderElection:",
    "  leaderElect: false",
    "",
  ].join("\n");
}

export function schedulerArgs(config: SchedulerConfig): string[] {
  return mergeFlags(
    [
      `--config=${config.configPath}`,
      `--authentication-kubeconfig=${config.kubeconfigPath}`,
      `--authorization-kubeconfig=${config.kubeconfigPath}`,
      `--bind-address=${LOOPBACK}`,
      `--secure-port=${config.securePort}`,
      `--cert-dir=${config.certDir}`,
    ],
    config.extraArgs,
  );
}
