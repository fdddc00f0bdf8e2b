import { describe, expect, it } from "vitest";

import {
  apiServerArgs,
  controllerManagerArgs,
  etcdArgs,
  mergeFlags,
  schedulerArgs,
  schedulerConfiguration,
} from "../src/components.js";
import type { ClusterPkiPaths } from "../src/pki.js";

const pki: ClusterPkiPaths = {
  dir: "/pki",
  ca: { certPath: "/pki/ca.crt", keyPath: "/pki/ca.key" },
  apiserver: { certPath: "/pki/apiserver.crt", keyPath: "/pki/apiserver.key" },
  admin: { certPath: "/pki/admin.crt", keyPath: "/pki/admin.key" },
  controllerManager: { certPath: "/pki/kcm.crt", keyPath: "/pki/kcm.key" },
  scheduler: { certPath: "/pki/s.crt", keyPath: "/pki/s.key" },
  apiserverKubeletClient: { certPath: "/pki/kc.crt", keyPath: "/pki/kc.key" },
  serviceAccountPublicKey: "/pki/sa.pub",
  serviceAccountPrivateKey: "/pki/sa.key",
};

describe("component flags", () => {
  it("extra flags replace defaults of the same name", () => {
    expect(mergeFlags(["--a=1", "--b=2", "--b=3"], ["--b=9", "--c"])).toEqual(["--a=1", "--b=9", "--c"]);
  });

  it("etcd listens on loopback only, without fsync", () => {
    const args = etcdArgs({ dataDir: "/d", clientPort: 1, peerPort: 2 });
    expect(args).toContain("--listen-client-urls=http://127.0.0.1:1");
    expect(args).toContain("--initial-cluster=default=http://127.0.0.1:2");
    expect(args).toContain("--unsafe-no-fsync=true");
    expect(args).toContain("--log-level=warn");
  });

  it("kube-apiserver: Node+RBAC, NodeRestriction, service accounts, kubelet client cert", () => {
    const args = apiServerArgs({
      securePort: 6443,
      etcdClientPort: 2379,
      pki,
      requestLimits: true,
      certDir: "/c",
    });
    expect(args).toEqual(
      expect.arrayContaining([
        "--secure-port=6443",
        "--bind-address=127.0.0.1",
        "--authorization-mode=Node,RBAC",
        "--enable-admission-plugins=NodeRestriction",
        "--client-ca-file=/pki/ca.crt",
        "--etcd-servers=http://127.0.0.1:2379",
        "--service-cluster-ip-range=10.0.0.0/24",
        "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
        "--api-audiences=https://kubernetes.default.svc.cluster.local",
        "--service-account-key-file=/pki/sa.pub",
        "--service-account-signing-key-file=/pki/sa.key",
        "--kubelet-client-certificate=/pki/kc.crt",
        "--kubelet-client-key=/pki/kc.key",
      ]),
    );
    expect(args.some((a) => a.startsWith("--kubelet-certificate-authority"))).toBe(false);
    expect(args.some((a) => a.startsWith("--max-requests-inflight"))).toBe(false);
  });

  it("request limits off: no inflight limits, no APF, high client QPS", () => {
    const api = apiServerArgs({ securePort: 1, etcdClientPort: 2, pki, requestLimits: false, certDir: "/c" });
    expect(api).toEqual(
      expect.arrayContaining([
        "--max-requests-inflight=0",
        "--max-mutating-requests-inflight=0",
        "--enable-priority-and-fairness=false",
      ]),
    );
    const kcm = controllerManagerArgs({
      securePort: 1,
      kubeconfigPath: "/k",
      pki,
      requestLimits: false,
      certDir: "/c",
    });
    expect(kcm.some((a) => a.startsWith("--kube-api-qps="))).toBe(true);
    expect(schedulerConfiguration("/k", false)).toMatch(/qps: \d+\n {2}burst: \d+/);
    expect(schedulerConfiguration("/k", true)).not.toContain("qps");
  });

  it("kube-controller-manager signs CSRs with the cluster CA and can monitor nodes fast", () => {
    const args = controllerManagerArgs({
      securePort: 10257,
      kubeconfigPath: "/kcm.kubeconfig",
      pki,
      requestLimits: true,
      certDir: "/c",
      nodeMonitorGracePeriod: "20s",
      nodeMonitorPeriod: "2s",
    });
    expect(args).toEqual(
      expect.arrayContaining([
        "--cluster-signing-cert-file=/pki/ca.crt",
        "--cluster-signing-key-file=/pki/ca.key",
        "--root-ca-file=/pki/ca.crt",
        "--service-account-private-key-file=/pki/sa.key",
        "--use-service-account-credentials=true",
        "--leader-elect=false",
        "--node-monitor-grace-period=20s",
        "--node-monitor-period=2s",
      ]),
    );
    const defaults = controllerManagerArgs({
      securePort: 1,
      kubeconfigPath: "/k",
      pki,
      requestLimits: true,
      certDir: "/c",
    });
    expect(defaults.some((a) => a.startsWith("--node-monitor"))).toBe(false);
  });

  it("kube-scheduler is configured through a KubeSchedulerConfiguration file", () => {
    const config = schedulerConfiguration("/s.kubeconfig", true);
    expect(config).toContain("apiVersion: kubescheduler.config.k8s.io/v1");
    expect(config).toContain('kubeconfig: "/s.kubeconfig"');
    expect(config).toContain("leaderElect: false");
    expect(
      schedulerArgs({
        securePort: 10259,
        kubeconfigPath: "/s.kubeconfig",
        configPath: "/s.yaml",
        certDir: "/c",
      }),
    ).toEqual(
      expect.arrayContaining(["--config=/s.yaml", "--secure-port=10259", "--bind-address=127.0.0.1"]),
    );
  });
});
