/**
 * The kubelet API's serving certificate, per node, from one of three sources:
 *
 * - `files`: a PEM certificate and key on disk (re-read when they change, so an external rotator
 *   such as cert-manager works);
 * - `selfSigned` (default): generated at start, ECDSA P-256, one year;
 * - `csr`: bootstrapped through a `CertificateSigningRequest` for the `kubernetes.io/kubelet-serving`
 *   signer (subject `CN=system:node:<name>, O=system:nodes`, SANs: the InternalIP and the node
 *   name), waiting for approval with a clear log line, and rotated before expiry — at a jittered
 *   70–90 % of its lifetime like the kubelet, or at `rotateBeforeExpiryMs`. Until the first
 *   certificate is issued a self-signed one is served, so the endpoints work at once.
 *
 * Key and CSR generation and certificate parsing use `@peculiar/x509` over Node's WebCrypto.
 */
// @peculiar/x509 resolves its ASN.1 helpers through tsyringe, which needs the Reflect metadata API.
import "reflect-metadata";
import { KeyObject, webcrypto } from "node:crypto";
import { EventEmitter } from "node:events";
import { readFile, stat } from "node:fs/promises";
import { isIP } from "node:net";
import {
  BasicConstraintsExtension,
  ExtendedKeyUsage,
  ExtendedKeyUsageExtension,
  KeyUsageFlags,
  KeyUsagesExtension,
  Pkcs10CertificateRequestGenerator,
  SubjectAlternativeNameExtension,
  X509Certificate,
  X509CertificateGenerator,
  cryptoProvider,
  type JsonGeneralName,
} from "@peculiar/x509";
import { describeError } from "../errors.js";
import type { KubeClient } from "../kube/client.js";
import type { Logger } from "../logger.js";

export const KUBELET_SERVING_SIGNER = "kubernetes.io/kubelet-serving";

export type ServingCertificateOptions =
  | { source: "selfSigned"; validityDays?: number }
  | {
      source: "files";
      certFile: string;
      keyFile: string;
      /** How often the files are checked for a change. Default 60 s. */
      reloadIntervalMs?: number;
    }
  | {
      source: "csr";
      /** `spec.expirationSeconds` requested (the signer may shorten it; minimum 600). Default: the signer's. */
      expirationSeconds?: number;
      /** Rotate this long before expiry instead of at a jittered 70–90 % of the lifetime. */
      rotateBeforeExpiryMs?: number;
      /** Serve a self-signed certificate until the first CSR is issued. Default true. */
      interimSelfSigned?: boolean;
      /** Poll interval while waiting for approval. Default 1 s. */
      pollIntervalMs?: number;
    };

/** A certificate in use. */
export interface ServingCertificate {
  certPem: string;
  keyPem: string;
  notBefore: Date;
  notAfter: Date;
  serialNumber: string;
  source: "selfSigned" | "files" | "csr";
  /** The CSR it came from (`csr` source). */
  csrName?: string;
}

const KEY_ALGORITHM = { name: "ECDSA", namedCurve: "P-256" } as const;
const SIGNING_ALGORITHM = { name: "ECDSA", hash: "SHA-256" } as const;

let providerSet = false;
function crypto(): webcrypto.Crypto {
  if (!providerSet) {
    cryptoProvider.set(webcrypto as unknown as Parameters<typeof cryptoProvider.set>[0]);
    providerSet = true;
  }
  return webcrypto;
}

async function newKeyPair(): Promise<{ keys: webcrypto.CryptoKeyPair; keyPem: string }> {
  const keys = await crypto().subtle.generateKey(KEY_ALGORITHM, true, ["sign", "verify"]);
  const keyPem = KeyObject.from(keys.privateKey).export({ type: "pkcs8", format: "pem" }).toString();
  return { keys, keyPem };
}

function altNames(nodeName: string, ips: readonly string[]): JsonGeneralName[] {
  const names: JsonGeneralName[] = [];
  for (const ip of ips) if (isIP(ip) !== 0) names.push({ type: "ip", value: ip });
  if (/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(nodeName)) names.push({ type: "dns", value: nodeName });
  return names;
}

/** Reads validity and serial of a PEM certificate. */
export function describeCertificate(certPem: string): {
  notBefore: Date;
  notAfter: Date;
  serialNumber: string;
} {
  const cert = new X509Certificate(certPem);
  return { notBefore: cert.notBefore, notAfter: cert.notAfter, serialNumber: cert.serialNumber };
}

/** A self-signed serving certificate for the node (SANs: IPs and the node name). */
export async function createSelfSignedCertificate(
  nodeName: string,
  ips: readonly string[],
  validityDays = 365,
): Promise<ServingCertificate> {
  const c = crypto();
  const { keys, keyPem } = await newKeyPair();
  const now = Date.now();
  const cert = await X509CertificateGenerator.createSelfSigned(
    {
      serialNumber: Buffer.from(c.getRandomValues(new Uint8Array(16)))
        .toString("hex")
        .replace(/^[89a-f]/, "1"),
      name: `CN=${nodeName}@${Math.floor(now / 1000)}`,
      keys,
      signingAlgorithm: SIGNING_ALGORITHM,
      notBefore: new Date(now - 60 * 60 * 1000),
      notAfter: new Date(now + validityDays * 24 * 60 * 60 * 1000),
      extensions: [
        new BasicConstraintsExtension(false, undefined, true),
        new KeyUsagesExtension(KeyUsageFlags.digitalSignature | KeyUsageFlags.keyEncipherment, true),
        new ExtendedKeyUsageExtension([ExtendedKeyUsage.serverAuth], false),
        new SubjectAlternativeNameExtension(altNames(nodeName, ips), false),
      ],
    },
    c,
  );
  const certPem = cert.toString("pem") + "\n";
  return { certPem, keyPem, ...describeCertificate(certPem), source: "selfSigned" };
}

/** A PKCS#10 request for the kubelet-serving signer: `CN=system:node:<name>, O=system:nodes`. */
export async function createServingCertificateRequest(
  nodeName: string,
  ips: readonly string[],
): Promise<{ csrPem: string; keyPem: string }> {
  const c = crypto();
  const { keys, keyPem } = await newKeyPair();
  const request = await Pkcs10CertificateRequestGenerator.create(
    {
      name: [{ O: ["system:nodes"] }, { CN: [`system:node:${nodeName}`] }],
      keys,
      signingAlgorithm: SIGNING_ALGORITHM,
      extensions: [new SubjectAlternativeNameExtension(altNames(nodeName, ips), false)],
    },
    c,
  );
  return { csrPem: request.toString("pem") + "\n", keyPem };
}

interface CsrObject {
  metadata?: { name?: string };
  status?: {
    certificate?: string;
    conditions?: { type?: string; status?: string; reason?: string; message?: string }[];
  };
}

export interface CertificateManagerOptions {
  nodeName: string;
  /** IP SANs (the node's InternalIP). */
  ips: readonly string[];
  source: ServingCertificateOptions;
  client?: KubeClient;
  logger: Logger;
}

interface CertificateManagerEvents {
  rotated: [certificate: ServingCertificate];
}

/** Owns one node's serving certificate: obtains it, and replaces it before it expires. */
export class CertificateManager extends EventEmitter<CertificateManagerEvents> {
  readonly #options: CertificateManagerOptions;
  #current: ServingCertificate | undefined;
  #timer: NodeJS.Timeout | undefined;
  #stopped = new AbortController();
  #rotating: Promise<void> | undefined;
  #fileStamp = "";

  constructor(options: CertificateManagerOptions) {
    super();
    this.#options = options;
    if (options.source.source === "csr" && options.client === undefined)
      throw new Error("kubelet API: CSR certificates need an API client");
  }

  get current(): ServingCertificate {
    if (this.#current === undefined) throw new Error("certificate manager not started");
    return this.#current;
  }

  /** Obtains the first certificate (for `csr`: the interim one, and starts the CSR in the background). */
  async start(): Promise<void> {
    const source = this.#options.source;
    switch (source.source) {
      case "selfSigned":
        this.#current = await createSelfSignedCertificate(
          this.#options.nodeName,
          this.#options.ips,
          source.validityDays,
        );
        return;
      case "files":
        await this.#loadFiles(true);
        this.#timer = setInterval(() => {
          void this.#loadFiles(false);
        }, source.reloadIntervalMs ?? 60_000);
        this.#timer.unref();
        return;
      case "csr":
        if (source.interimSelfSigned ?? true) {
          this.#current = await createSelfSignedCertificate(this.#options.nodeName, this.#options.ips, 1);
          void this.rotate().catch(() => undefined);
        } else {
          await this.rotate();
        }
        return;
    }
  }

  stop(): void {
    this.#stopped.abort();
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer);
      clearInterval(this.#timer);
    }
  }

  /**
   * Requests a new certificate now (`csr`), regenerates (`selfSigned`) or re-reads (`files`), and
   * resolves once it is in use. Concurrent calls share one rotation.
   */
  rotate(): Promise<void> {
    this.#rotating ??= this.#rotateOnce().finally(() => {
      this.#rotating = undefined;
    });
    return this.#rotating;
  }

  async #rotateOnce(): Promise<void> {
    const source = this.#options.source;
    if (source.source === "selfSigned") {
      this.#use(
        await createSelfSignedCertificate(this.#options.nodeName, this.#options.ips, source.validityDays),
      );
      return;
    }
    if (source.source === "files") {
      await this.#loadFiles(true);
      return;
    }
    const { logger, nodeName } = this.#options;
    const signal = this.#stopped.signal;
    for (let attempt = 0; !signal.aborted; attempt++) {
      try {
        const cert = await this.#requestCertificate(source, signal);
        this.#use(cert);
        this.#scheduleRotation(source);
        return;
      } catch (error) {
        if (this.#stopped.signal.aborted) return;
        const delay = Math.min(5000 * 2 ** attempt, 5 * 60_000);
        logger.warn(
          { node: nodeName, error: describeError(error), retryInMs: delay },
          "kubelet serving certificate request failed; retrying",
        );
        await new Promise((r) => setTimeout(r, delay).unref());
      }
    }
  }

  #scheduleRotation(source: Extract<ServingCertificateOptions, { source: "csr" }>): void {
    const cert = this.#current;
    if (cert === undefined || this.#stopped.signal.aborted) return;
    const lifetime = cert.notAfter.getTime() - cert.notBefore.getTime();
    const deadline =
      source.rotateBeforeExpiryMs === undefined
        ? cert.notBefore.getTime() + lifetime * (0.7 + 0.2 * Math.random())
        : cert.notAfter.getTime() - source.rotateBeforeExpiryMs;
    const delay = Math.max(0, deadline - Date.now());
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#options.logger.info(
      {
        node: this.#options.nodeName,
        notAfter: cert.notAfter.toISOString(),
        rotateAt: new Date(Date.now() + delay).toISOString(),
      },
      "kubelet serving certificate rotation scheduled",
    );
    // setTimeout caps at ~24.8 days; re-arm in steps for long lifetimes.
    const step = Math.min(delay, 2 ** 31 - 1);
    this.#timer = setTimeout(() => {
      if (step < delay) this.#scheduleRotation(source);
      else void this.rotate();
    }, step);
    this.#timer.unref();
  }

  async #requestCertificate(
    source: Extract<ServingCertificateOptions, { source: "csr" }>,
    signal: AbortSignal,
  ): Promise<ServingCertificate> {
    const client = this.#options.client;
    if (client === undefined) throw new Error("no API client");
    const { nodeName, ips, logger } = this.#options;
    const { csrPem, keyPem } = await createServingCertificateRequest(nodeName, ips);
    const created = await client.create<CsrObject>(
      "/apis/certificates.k8s.io/v1/certificatesigningrequests",
      {
        apiVersion: "certificates.k8s.io/v1",
        kind: "CertificateSigningRequest",
        metadata: { generateName: `csr-${nodeName}-` },
        spec: {
          request: Buffer.from(csrPem).toString("base64"),
          signerName: KUBELET_SERVING_SIGNER,
          usages: ["digital signature", "server auth"],
          ...(source.expirationSeconds === undefined ? {} : { expirationSeconds: source.expirationSeconds }),
        },
      },
      { signal },
    );
    const name = created.metadata?.name ?? "";
    logger.info(
      { node: nodeName, csr: name, signer: KUBELET_SERVING_SIGNER },
      `waiting for approval of CertificateSigningRequest ${name} (kubelet serving certificate of ${nodeName}); approve it with: kubectl certificate approve ${name}`,
    );
    const poll = source.pollIntervalMs ?? 1000;
    for (;;) {
      if (signal.aborted) throw new Error("stopped");
      const csr = await client.get<CsrObject>(
        `/apis/certificates.k8s.io/v1/certificatesigningrequests/${name}`,
        {
          signal,
        },
      );
      const failed = csr.status?.conditions?.find(
        (c) => (c.type === "Denied" || c.type === "Failed") && c.status !== "False",
      );
      if (failed !== undefined)
        throw new Error(
          `CertificateSigningRequest ${name} ${failed.type}: ${failed.reason ?? ""} ${failed.message ?? ""}`,
        );
      const issued = csr.status?.certificate;
      if (issued !== undefined && issued !== "") {
        const certPem = Buffer.from(issued, "base64").toString("utf8");
        const info = describeCertificate(certPem);
        logger.info(
          { node: nodeName, csr: name, notAfter: info.notAfter.toISOString(), serial: info.serialNumber },
          "kubelet serving certificate issued",
        );
        return { certPem, keyPem, ...info, source: "csr", csrName: name };
      }
      await new Promise((r) => setTimeout(r, poll).unref());
    }
  }

  async #loadFiles(force: boolean): Promise<void> {
    const source = this.#options.source;
    if (source.source !== "files") return;
    try {
      const [c, k] = await Promise.all([stat(source.certFile), stat(source.keyFile)]);
      const stamp = `${c.mtimeMs}:${c.size}:${k.mtimeMs}:${k.size}`;
      if (!force && stamp === this.#fileStamp) return;
      const [certPem, keyPem] = await Promise.all([
        readFile(source.certFile, "utf8"),
        readFile(source.keyFile, "utf8"),
      ]);
      this.#fileStamp = stamp;
      this.#use({ certPem, keyPem, ...describeCertificate(certPem), source: "files" });
    } catch (error) {
      if (force) throw error;
      this.#options.logger.warn(
        { node: this.#options.nodeName, error: describeError(error) },
        "could not reload the kubelet serving certificate files; keeping the current one",
      );
    }
  }

  #use(cert: ServingCertificate): void {
    const first = this.#current === undefined;
    this.#current = cert;
    if (!first) this.emit("rotated", cert);
  }
}
