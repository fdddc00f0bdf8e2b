/**
 * Serving certificate bootstrap through a CertificateSigningRequest (signer
 * `kubernetes.io/kubelet-serving`) approved by the test and signed by the real
 * kube-controller-manager, then rotation before expiry without dropping a live stream.
 */
// @peculiar/x509 needs the Reflect metadata API loaded first.
import "reflect-metadata";
import { X509Certificate } from "node:crypto";
import * as tls from "node:tls";
import { CertificatesV1Api, type V1CertificateSigningRequest } from "@kubernetes/client-node";
import { Pkcs10CertificateRequest } from "@peculiar/x509";
import type { ControlPlaneHandle } from "@virtual-node/testing";
import type { Logger } from "@virtual-node/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { controlPlane } from "../support.js";
import {
  apis,
  newNamespace,
  runPod,
  spawnKubectl,
  startKubeletNode,
  waitFor,
  type Apis,
  type KubeletNode,
} from "./support.js";

/** The certificate the node serves to a new TLS connection. */
function servedCertificate(port: number): Promise<X509Certificate> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: "127.0.0.1", port, rejectUnauthorized: false }, () => {
      const raw = socket.getPeerCertificate().raw;
      socket.destroy();
      resolve(new X509Certificate(raw));
    });
    socket.on("error", reject);
  });
}

function recordingLogger(lines: string[]): Logger {
  const logger: Logger = {
    debug: () => undefined,
    info: (_obj, msg) => lines.push(msg ?? ""),
    warn: (_obj, msg) => lines.push(msg ?? ""),
    error: (_obj, msg) => lines.push(msg ?? ""),
    child: () => logger,
  };
  return logger;
}

describe("serving certificate through a CertificateSigningRequest", () => {
  let cp: ControlPlaneHandle;
  let api: Apis;
  let certificates: CertificatesV1Api;
  let node: KubeletNode;
  const logLines: string[] = [];

  beforeAll(async () => {
    cp = await controlPlane();
    api = apis(cp.kubeConfig);
    certificates = cp.kubeConfig.makeApiClient(CertificatesV1Api);
    node = await startKubeletNode(cp, {
      prefix: "vn-csr",
      kubeletApi: {
        // 10 minutes (the API minimum); rotate 594 s before expiry, i.e. about 6 s after issuance.
        certificate: {
          source: "csr",
          expirationSeconds: 600,
          rotateBeforeExpiryMs: 594_000,
          pollIntervalMs: 250,
        },
      },
      overrides: { logger: recordingLogger(logLines) },
    });
  });

  afterAll(async () => {
    await node.stop();
  });

  async function pendingCsr(): Promise<V1CertificateSigningRequest> {
    return waitFor("a pending kubelet-serving CSR of the node", async () => {
      const list = await certificates.listCertificateSigningRequest();
      return list.items.find(
        (c) =>
          c.spec.signerName === "kubernetes.io/kubelet-serving" &&
          c.spec.username === `system:node:${node.nodeName}` &&
          (c.status?.conditions ?? []).length === 0,
      );
    });
  }

  async function approve(csr: V1CertificateSigningRequest): Promise<void> {
    const name = csr.metadata?.name ?? "";
    await certificates.replaceCertificateSigningRequestApproval({
      name,
      body: {
        ...csr,
        status: {
          conditions: [
            {
              type: "Approved",
              status: "True",
              reason: "ApprovedByTest",
              message: "approved by the kubelet API test",
              lastUpdateTime: new Date(),
            },
          ],
        },
      },
    });
  }

  it("serves a self-signed certificate, asks for approval in the log, then serves the signed one", async () => {
    const interim = await servedCertificate(node.port);
    expect(interim.issuer).toBe(interim.subject); // self-signed until the CSR is issued
    const csr = await pendingCsr();
    expect(csr.spec.usages).toEqual(["digital signature", "server auth"]);
    expect(csr.spec.expirationSeconds).toBe(600);
    const request = new Pkcs10CertificateRequest(Buffer.from(csr.spec.request, "base64").toString("utf8"));
    expect(request.subject).toBe(`O=system:nodes, CN=system:node:${node.nodeName}`);
    expect(
      logLines.some((l) =>
        l.includes(`waiting for approval of CertificateSigningRequest ${csr.metadata?.name}`),
      ),
    ).toBe(true);
    expect(logLines.some((l) => l.includes(`kubectl certificate approve ${csr.metadata?.name}`))).toBe(true);

    await approve(csr);
    const signed = await waitFor("the signed certificate served", async () => {
      const cert = await servedCertificate(node.port);
      return cert.subject.includes(`CN=system:node:${node.nodeName}`) ? cert : undefined;
    });
    expect(signed.subject).toContain("O=system:nodes");
    expect(signed.subjectAltName).toContain("IP Address:127.0.0.1");
    expect(signed.subjectAltName).toContain(`DNS:${node.nodeName}`);
    expect(signed.checkIssued(new X509Certificate(cp.caCertPem))).toBe(true);
    const lifetime = Date.parse(signed.validTo) - Date.now();
    expect(lifetime).toBeLessThanOrEqual(600_000);
    expect(node.running.node.kubeletApi?.certificate(node.nodeName).csrName).toBe(csr.metadata?.name);
  });

  it("rotates before expiry: a new CSR, a new certificate, and a live stream keeps flowing", async () => {
    const ns = await newNamespace(api);
    await runPod(api, ns, node.nodeName, "long");
    const before = await servedCertificate(node.port);
    // A stream through the API server on a TLS connection made with the current certificate.
    const follow = spawnKubectl(cp, ["logs", "-f", "-n", ns, "long", "--tail=1"]);
    try {
      const first = await follow.waitForOutput(/line (\d+) from app\n/);
      const csr = await pendingCsr(); // the rotation, ~6 s after the first issuance
      await approve(csr);
      const after = await waitFor("the rotated certificate served", async () => {
        const cert = await servedCertificate(node.port);
        return cert.serialNumber !== before.serialNumber ? cert : undefined;
      });
      expect(after.subject).toContain(`CN=system:node:${node.nodeName}`);
      expect(Date.parse(after.validFrom)).toBeGreaterThanOrEqual(Date.parse(before.validFrom));
      expect(logLines).toContain("kubelet API serving certificate rotated");
      // The stream opened before the rotation still delivers new lines.
      const n = Number(first[1]);
      await follow.waitForOutput(new RegExp(`line ${n + 5} from app\\n`), 20_000);
      expect(follow.stderr()).toBe("");
    } finally {
      await follow.kill();
    }
  });
});
