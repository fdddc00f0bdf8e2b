// @peculiar/x509 is imported here before the sources, so load its Reflect polyfill first.
import "reflect-metadata";

import { X509Certificate as NodeX509Certificate, createPrivateKey, createPublicKey } from "node:crypto";
import { readFile } from "node:fs/promises";
import { join } from "node:path";

import {
  ExtendedKeyUsage,
  ExtendedKeyUsageExtension,
  BasicConstraintsExtension,
  SubjectAlternativeNameExtension,
  X509Certificate,
} from "@peculiar/x509";
import { describe, expect, it } from "vitest";

import {
  createCertificateAuthority,
  createServiceAccountKeyPair,
  issueCertificate,
  loadCertificateAuthority,
} from "../src/certs.js";
import { APISERVER_DNS_NAMES, KUBERNETES_SERVICE_IP, createClusterPki } from "../src/pki.js";
import { tempDir } from "./helpers/temp.js";

function subjectValues(cert: X509Certificate, type: string): string[] {
  return cert.subjectName.getField(type);
}

function extendedKeyUsages(cert: X509Certificate): string[] {
  const ext = cert.getExtension(ExtendedKeyUsageExtension);
  return (ext?.usages ?? []).map(String);
}

describe("certificates", () => {
  it("creates a CA that is a CA and self-signed", async () => {
    const ca = await createCertificateAuthority({ commonName: "test-ca" });
    const cert = new X509Certificate(ca.certPem);
    expect(subjectValues(cert, "CN")).toEqual(["test-ca"]);
    expect(cert.getExtension(BasicConstraintsExtension)?.ca).toBe(true);
    expect(await cert.isSelfSigned()).toBe(true);
    expect(ca.keyPem).toMatch(/^-----BEGIN PRIVATE KEY-----/);
    expect(createPrivateKey(ca.keyPem).asymmetricKeyDetails?.namedCurve).toBe("prime256v1");
  });

  it("issues client certificates carrying user (CN) and groups (O)", async () => {
    const ca = await createCertificateAuthority();
    const pair = await issueCertificate(ca, {
      commonName: "system:node:worker-1",
      organizations: ["system:nodes", "extra-group"],
    });
    const cert = new X509Certificate(pair.certPem);
    expect(subjectValues(cert, "CN")).toEqual(["system:node:worker-1"]);
    expect(subjectValues(cert, "O")).toEqual(["system:nodes", "extra-group"]);
    expect(extendedKeyUsages(cert)).toEqual([ExtendedKeyUsage.clientAuth]);
    expect(cert.getExtension(BasicConstraintsExtension)?.ca).toBe(false);
    // Verifiable with Node's own X.509 implementation, i.e. a standard chain.
    const nodeCert = new NodeX509Certificate(pair.certPem);
    expect(nodeCert.verify(createPublicKey(ca.certPem))).toBe(true);
    expect(nodeCert.checkIssued(new NodeX509Certificate(ca.certPem))).toBe(true);
    // The key matches the certificate.
    expect(nodeCert.checkPrivateKey(createPrivateKey(pair.keyPem))).toBe(true);
  });

  it("reloads a CA from PEM and keeps signing with it", async () => {
    const ca = await createCertificateAuthority();
    const reloaded = await loadCertificateAuthority(ca.certPem, ca.keyPem);
    const pair = await issueCertificate(reloaded, { commonName: "alice" });
    expect(new NodeX509Certificate(pair.certPem).verify(createPublicKey(ca.certPem))).toBe(true);
  });

  it("rejects invalid IP SANs", async () => {
    const ca = await createCertificateAuthority();
    await expect(issueCertificate(ca, { commonName: "x", ipAddresses: ["not-an-ip"] })).rejects.toThrow(
      /not an IP address/,
    );
  });

  it("creates service-account key pairs as PKIX / PKCS#8 PEM", async () => {
    const pair = await createServiceAccountKeyPair();
    expect(pair.publicKeyPem).toMatch(/^-----BEGIN PUBLIC KEY-----/);
    expect(pair.privateKeyPem).toMatch(/^-----BEGIN PRIVATE KEY-----/);
    const derived = createPublicKey(pair.privateKeyPem).export({ type: "spki", format: "pem" });
    expect(derived).toBe(pair.publicKeyPem);
  });

  it("writes the cluster PKI with the SANs, usages and subjects the components need", async () => {
    const dir = await tempDir();
    const pki = await createClusterPki(join(dir, "pki"));
    const load = async (path: string) => new X509Certificate(await readFile(path, "utf8"));

    const serving = await load(pki.paths.apiserver.certPath);
    const san = serving.getExtension(SubjectAlternativeNameExtension);
    const names = san?.names.toJSON() ?? [];
    const dns = names.filter((n) => n.type === "dns").map((n) => n.value);
    const ips = names.filter((n) => n.type === "ip").map((n) => n.value);
    expect(dns).toEqual([...APISERVER_DNS_NAMES]);
    expect(ips).toEqual(["127.0.0.1", KUBERNETES_SERVICE_IP]);
    expect(extendedKeyUsages(serving)).toEqual([ExtendedKeyUsage.serverAuth]);
    const nodeServing = new NodeX509Certificate(await readFile(pki.paths.apiserver.certPath));
    expect(nodeServing.checkHost("kubernetes.default.svc.cluster.local")).toBe(
      "kubernetes.default.svc.cluster.local",
    );
    expect(nodeServing.checkIP("10.0.0.1")).toBe("10.0.0.1");

    const admin = await load(pki.paths.admin.certPath);
    expect(subjectValues(admin, "CN")).toEqual(["admin"]);
    expect(subjectValues(admin, "O")).toEqual(["system:masters"]);
    expect(extendedKeyUsages(admin)).toEqual([ExtendedKeyUsage.clientAuth]);

    const kcm = await load(pki.paths.controllerManager.certPath);
    expect(subjectValues(kcm, "CN")).toEqual(["system:kube-controller-manager"]);
    const scheduler = await load(pki.paths.scheduler.certPath);
    expect(subjectValues(scheduler, "CN")).toEqual(["system:kube-scheduler"]);
    const kubeletClient = await load(pki.paths.apiserverKubeletClient.certPath);
    expect(subjectValues(kubeletClient, "CN")).toEqual(["kube-apiserver-kubelet-client"]);
    expect(subjectValues(kubeletClient, "O")).toEqual(["system:masters"]);

    const ca = new NodeX509Certificate(await readFile(pki.paths.ca.certPath));
    for (const path of [
      pki.paths.apiserver.certPath,
      pki.paths.admin.certPath,
      pki.paths.controllerManager.certPath,
      pki.paths.scheduler.certPath,
      pki.paths.apiserverKubeletClient.certPath,
    ]) {
      expect(new NodeX509Certificate(await readFile(path)).verify(ca.publicKey)).toBe(true);
    }
    expect(await readFile(pki.paths.serviceAccountPublicKey, "utf8")).toMatch(/BEGIN PUBLIC KEY/);
  });
});
