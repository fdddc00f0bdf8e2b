import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";

import {
  createCertificateAuthority,
  createServiceAccountKeyPair,
  issueCertificate,
  type CertificateAndKey,
  type CertificateAuthority,
} from "./certs.js";

/** Service CIDR of the test cluster; its first address is the `kubernetes` service IP. */
export const SERVICE_CLUSTER_IP_RANGE = "10.0.0.0/24";
export const KUBERNETES_SERVICE_IP = "10.0.0.1";
export const SERVICE_ACCOUNT_ISSUER = "https://kubernetes.default.svc.cluster.local";

export const APISERVER_DNS_NAMES = [
  "localhost",
  "kubernetes",
  "kubernetes.default",
  "kubernetes.default.svc",
  "kubernetes.default.svc.cluster.local",
] as const;

export const APISERVER_IP_ADDRESSES = ["127.0.0.1", KUBERNETES_SERVICE_IP] as const;

export interface CertKeyPaths {
  readonly certPath: string;
  readonly keyPath: string;
}

/** Files of the cluster PKI. One CA signs everything (serving, clients, kubelet CSRs). */
export interface ClusterPkiPaths {
  readonly dir: string;
  /** Cluster CA: client CA of the apiserver, root CA published to pods, signer for CSRs. */
  readonly ca: CertKeyPaths;
  readonly apiserver: CertKeyPaths;
  readonly admin: CertKeyPaths;
  readonly controllerManager: CertKeyPaths;
  readonly scheduler: CertKeyPaths;
  /** Client certificate the apiserver presents to kubelets (logs, exec, port-forward). */
  readonly apiserverKubeletClient: CertKeyPaths;
  readonly serviceAccountPublicKey: string;
  readonly serviceAccountPrivateKey: string;
}

export interface ClusterPki {
  readonly paths: ClusterPkiPaths;
  readonly ca: CertificateAuthority;
  readonly admin: CertificateAndKey;
  readonly controllerManager: CertificateAndKey;
  readonly scheduler: CertificateAndKey;
}

async function writePair(dir: string, name: string, pair: CertificateAndKey): Promise<CertKeyPaths> {
  const certPath = join(dir, `${name}.crt`);
  const keyPath = join(dir, `${name}.key`);
  await writeFile(certPath, pair.certPem, { mode: 0o644 });
  await writeFile(keyPath, pair.keyPem, { mode: 0o600 });
  return { certPath, keyPath };
}

/** Generates the whole cluster PKI into `dir`. */
export async function createClusterPki(dir: string): Promise<ClusterPki> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const ca = await createCertificateAuthority({ commonName: "virtual-node-testing-ca" });
  const [apiserver, admin, controllerManager, scheduler, kubeletClient, serviceAccount] = await Promise.all([
    issueCertificate(ca, {
      commonName: "kube-apiserver",
      dnsNames: APISERVER_DNS_NAMES,
      ipAddresses: APISERVER_IP_ADDRESSES,
      usages: ["server"],
    }),
    issueCertificate(ca, { commonName: "admin", organizations: ["system:masters"] }),
    issueCertificate(ca, { commonName: "system:kube-controller-manager" }),
    issueCertificate(ca, { commonName: "system:kube-scheduler" }),
    issueCertificate(ca, { commonName: "kube-apiserver-kubelet-client", organizations: ["system:masters"] }),
    createServiceAccountKeyPair(),
  ]);
  const serviceAccountPublicKey = join(dir, "sa.pub");
  const serviceAccountPrivateKey = join(dir, "sa.key");
  await writeFile(serviceAccountPublicKey, serviceAccount.publicKeyPem, { mode: 0o644 });
  await writeFile(serviceAccountPrivateKey, serviceAccount.privateKeyPem, { mode: 0o600 });
  const paths: ClusterPkiPaths = {
    dir,
    ca: await writePair(dir, "ca", ca),
    apiserver: await writePair(dir, "apiserver", apiserver),
    admin: await writePair(dir, "admin", admin),
    controllerManager: await writePair(dir, "kube-controller-manager", controllerManager),
    scheduler: await writePair(dir, "kube-scheduler", scheduler),
    apiserverKubeletClient: await writePair(dir, "apiserver-kubelet-client", kubeletClient),
    serviceAccountPublicKey,
    serviceAccountPrivateKey,
  };
  return { paths, ca, admin, controllerManager, scheduler };
}
