import { execFile } from "node:child_process";
import { readFile } from "node:fs/promises";
import { promisify } from "node:util";

import {
  AuthenticationV1Api,
  CertificatesV1Api,
  CoreV1Api,
  KubeConfig,
  RbacAuthorizationV1Api,
  type V1CertificateSigningRequest,
  type V1ClusterRoleBinding,
  type V1Namespace,
  type V1SelfSubjectReview,
} from "@kubernetes/client-node";
import { X509Certificate } from "node:crypto";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";

import { createCertificateRequest } from "../src/certs.js";
import type { ControlPlaneHandle } from "../src/control-plane.js";
import { model } from "../src/kube-objects.js";
import { SERVICE_ACCOUNT_ISSUER } from "../src/pki.js";
import { useControlPlane } from "../src/shared-control-plane.js";
import { failureStatus } from "./helpers/kube.js";
import { eventually, randomSuffix } from "./helpers/temp.js";

const execFileAsync = promisify(execFile);
const suffix = randomSuffix();
const namespace = `ids-${suffix}`;

async function whoAmI(kc: KubeConfig) {
  const review = await kc
    .makeApiClient(AuthenticationV1Api)
    .createSelfSubjectReview({ body: model<V1SelfSubjectReview>({}) });
  return review.status?.userInfo;
}

describe("identities minted from the cluster CA", () => {
  let cp: ControlPlaneHandle;
  let admin: CoreV1Api;
  beforeAll(async () => {
    cp = await useControlPlane(inject("controlPlane"));
    admin = cp.kubeConfig.makeApiClient(CoreV1Api);
    await admin.createNamespace({ body: model<V1Namespace>({ metadata: { name: namespace } }) });
  });
  afterAll(async () => {
    await admin.deleteNamespace({ name: namespace }).catch(() => undefined);
    await cp.kubeConfig
      .makeApiClient(RbacAuthorizationV1Api)
      .deleteClusterRoleBinding({ name: `view-${suffix}` })
      .catch(() => undefined);
  });

  it("the admin kubeconfig is system:masters", async () => {
    const user = await whoAmI(cp.kubeConfig);
    expect(user?.groups).toContain("system:masters");
  });

  it("a client identity authenticates as user/groups and is authorized by RBAC only", async () => {
    const alice = await cp.mintClientIdentity({ user: `alice-${suffix}`, groups: [`devs-${suffix}`] });
    const user = await whoAmI(alice.kubeConfig);
    expect(user?.username).toBe(`alice-${suffix}`);
    expect(user?.groups).toEqual(expect.arrayContaining([`devs-${suffix}`, "system:authenticated"]));
    const asAlice = alice.kubeConfig.makeApiClient(CoreV1Api);
    expect(await failureStatus(asAlice.listNamespacedPod({ namespace }))).toBe(403);

    await cp.kubeConfig.makeApiClient(RbacAuthorizationV1Api).createClusterRoleBinding({
      body: model<V1ClusterRoleBinding>({
        metadata: { name: `view-${suffix}` },
        roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "view" },
        subjects: [{ apiGroup: "rbac.authorization.k8s.io", kind: "Group", name: `devs-${suffix}` }],
      }),
    });
    const pods = await eventually("RBAC binding effective", () => asAlice.listNamespacedPod({ namespace }));
    expect(pods.items).toEqual([]);
  });

  it("writes a kubeconfig that kubectl accepts", async () => {
    const bob = await cp.mintClientIdentity({ user: `bob-${suffix}`, name: "bob" });
    expect(bob.kubeconfigPath).toMatch(/\/bob-[0-9a-f]{8}\.kubeconfig$/);
    const kubectl = cp.binaries.kubectl;
    expect(kubectl).toBeDefined();
    const { stdout } = await execFileAsync(kubectl ?? "kubectl", [
      "--kubeconfig",
      bob.kubeconfigPath,
      "auth",
      "whoami",
      "-o",
      "jsonpath={.status.userInfo.username}",
    ]);
    expect(stdout).toBe(`bob-${suffix}`);
  });

  it("issues service-account tokens (creating the ServiceAccount)", async () => {
    const token = await cp.serviceAccountToken(namespace, "robot", { expirationSeconds: 600 });
    const [, payload = ""] = token.split(".");
    const claims = JSON.parse(Buffer.from(payload, "base64url").toString()) as {
      aud: string[];
      exp: number;
      iat: number;
      iss: string;
    };
    expect(claims.iss).toBe(SERVICE_ACCOUNT_ISSUER);
    expect(claims.aud).toEqual([SERVICE_ACCOUNT_ISSUER]);
    expect(claims.exp - claims.iat).toBe(600);

    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: "c", server: cp.server, caData: Buffer.from(cp.caCertPem).toString("base64") }],
      users: [{ name: "robot", token }],
      contexts: [{ name: "robot", cluster: "c", user: "robot" }],
      currentContext: "robot",
    });
    expect((await whoAmI(kc))?.username).toBe(`system:serviceaccount:${namespace}:robot`);
    // idempotent: the ServiceAccount exists now
    expect(await cp.serviceAccountToken(namespace, "robot")).not.toBe("");
  });

  it("signs an approved kubelet-serving CSR with the cluster CA", async () => {
    const nodeName = `csr-${suffix}`;
    const node = await cp.nodeIdentity(nodeName);
    const request = await createCertificateRequest({
      commonName: `system:node:${nodeName}`,
      organizations: ["system:nodes"],
      dnsNames: [nodeName],
      ipAddresses: ["127.0.0.1"],
    });
    const csrName = `serving-${suffix}`;
    await node.kubeConfig.makeApiClient(CertificatesV1Api).createCertificateSigningRequest({
      body: model<V1CertificateSigningRequest>({
        metadata: { name: csrName },
        spec: {
          request: Buffer.from(request.csrPem).toString("base64"),
          signerName: "kubernetes.io/kubelet-serving",
          usages: ["digital signature", "server auth"],
        },
      }),
    });
    const certificates = cp.kubeConfig.makeApiClient(CertificatesV1Api);
    const csr = await certificates.readCertificateSigningRequest({ name: csrName });
    expect(csr.spec.username).toBe(`system:node:${nodeName}`);
    csr.status = {
      conditions: [
        { type: "Approved", status: "True", reason: "TestApproval", message: "approved by the test" },
      ],
    };
    await certificates.replaceCertificateSigningRequestApproval({ name: csrName, body: csr });
    const issued = await eventually("signed certificate", async () => {
      const current = await certificates.readCertificateSigningRequest({ name: csrName });
      return current.status?.certificate;
    });
    const cert = new X509Certificate(Buffer.from(issued, "base64"));
    expect(cert.subject).toContain(`CN=system:node:${nodeName}`);
    expect(cert.checkIssued(new X509Certificate(cp.caCertPem))).toBe(true);
    expect(cert.checkHost(nodeName)).toBe(nodeName);
    await certificates.deleteCertificateSigningRequest({ name: csrName });
  });

  it("exposes the apiserver's kubelet client certificate", async () => {
    const paths = cp.kubeletClientCertPaths;
    const cert = new X509Certificate(await readFile(paths.certPath));
    expect(cert.subject).toContain("CN=kube-apiserver-kubelet-client");
    expect(cert.checkIssued(new X509Certificate(await readFile(paths.caPath)))).toBe(true);
  });
});
