// @peculiar/x509 resolves its ASN.1 helpers through tsyringe, which needs the Reflect metadata API.
import "reflect-metadata";

import { createPrivateKey, createPublicKey, KeyObject, webcrypto } from "node:crypto";
import { isIP } from "node:net";

import {
  AuthorityKeyIdentifierExtension,
  BasicConstraintsExtension,
  ExtendedKeyUsage,
  ExtendedKeyUsageExtension,
  KeyUsageFlags,
  KeyUsagesExtension,
  Pkcs10CertificateRequestGenerator,
  SubjectAlternativeNameExtension,
  SubjectKeyIdentifierExtension,
  X509Certificate,
  X509CertificateGenerator,
  cryptoProvider,
  type JsonGeneralName,
  type JsonName,
} from "@peculiar/x509";

/** All keys are ECDSA P-256: fast to generate and understood by every Kubernetes component. */
const KEY_ALGORITHM = { name: "ECDSA", namedCurve: "P-256" } as const;
const SIGNING_ALGORITHM = { name: "ECDSA", hash: "SHA-256" } as const;

const HOUR_MS = 60 * 60 * 1000;
const DAY_MS = 24 * HOUR_MS;

let providerSet = false;
function crypto(): webcrypto.Crypto {
  if (!providerSet) {
    cryptoProvider.set(webcrypto as unknown as Parameters<typeof cryptoProvider.set>[0]);
    providerSet = true;
  }
  return webcrypto;
}

/** A certificate and its private key, both PEM encoded (key as PKCS#8 "PRIVATE KEY"). */
export interface CertificateAndKey {
  readonly certPem: string;
  readonly keyPem: string;
}

/** A certificate authority able to issue certificates. */
export interface CertificateAuthority extends CertificateAndKey {
  readonly certificate: X509Certificate;
  readonly keys: webcrypto.CryptoKeyPair;
}

export type CertificateUsage = "client" | "server";

export interface IssueCertificateOptions {
  /** Subject CN. For client certificates this is the Kubernetes user name. */
  readonly commonName: string;
  /** Subject O entries. For client certificates these are the Kubernetes groups. */
  readonly organizations?: readonly string[];
  /** DNS subject alternative names. */
  readonly dnsNames?: readonly string[];
  /** IP subject alternative names. */
  readonly ipAddresses?: readonly string[];
  /** Extended key usages. Default: client. */
  readonly usages?: readonly CertificateUsage[];
  /** Validity in days from now (a one-hour back-dating absorbs clock skew). Default 365. */
  readonly validityDays?: number;
}

async function generateKeyPair(): Promise<webcrypto.CryptoKeyPair> {
  return crypto().subtle.generateKey(KEY_ALGORITHM, true, ["sign", "verify"]);
}

function privateKeyToPem(key: webcrypto.CryptoKey): string {
  return KeyObject.from(key).export({ type: "pkcs8", format: "pem" }).toString();
}

function publicKeyToPem(key: webcrypto.CryptoKey): string {
  return KeyObject.from(key).export({ type: "spki", format: "pem" }).toString();
}

function subjectName(commonName: string, organizations: readonly string[] = []): JsonName {
  return [...organizations.map((o) => ({ O: [o] })), { CN: [commonName] }];
}

function validity(days: number): { notBefore: Date; notAfter: Date } {
  const now = Date.now();
  return { notBefore: new Date(now - HOUR_MS), notAfter: new Date(now + days * DAY_MS) };
}

/** Creates a self-signed CA (10 years by default). */
export async function createCertificateAuthority(
  options: { commonName?: string; validityDays?: number } = {},
): Promise<CertificateAuthority> {
  const c = crypto();
  const keys = await generateKeyPair();
  const certificate = await X509CertificateGenerator.createSelfSigned(
    {
      name: subjectName(options.commonName ?? "virtual-node-testing-ca"),
      keys,
      signingAlgorithm: SIGNING_ALGORITHM,
      ...validity(options.validityDays ?? 3650),
      extensions: [
        new BasicConstraintsExtension(true, undefined, true),
        new KeyUsagesExtension(
          KeyUsageFlags.keyCertSign | KeyUsageFlags.cRLSign | KeyUsageFlags.digitalSignature,
          true,
        ),
        await SubjectKeyIdentifierExtension.create(keys.publicKey, false, c),
      ],
    },
    c,
  );
  return {
    certificate,
    keys,
    certPem: certificate.toString("pem") + "\n",
    keyPem: privateKeyToPem(keys.privateKey),
  };
}

/** Loads a CA previously written with {@link createCertificateAuthority} (e.g. in a test worker). */
export async function loadCertificateAuthority(
  certPem: string,
  keyPem: string,
): Promise<CertificateAuthority> {
  const c = crypto();
  const der = createPrivateKey(keyPem).export({ type: "pkcs8", format: "der" });
  const privateKey = await c.subtle.importKey("pkcs8", der, KEY_ALGORITHM, true, ["sign"]);
  const spki = createPublicKey(keyPem).export({ type: "spki", format: "der" });
  const publicKey = await c.subtle.importKey("spki", spki, KEY_ALGORITHM, true, ["verify"]);
  return { certificate: new X509Certificate(certPem), keys: { privateKey, publicKey }, certPem, keyPem };
}

function generalNames(dnsNames: readonly string[], ipAddresses: readonly string[]): JsonGeneralName[] {
  for (const ip of ipAddresses) {
    if (isIP(ip) === 0) {
      throw new Error(`not an IP address: ${ip}`);
    }
  }
  return [
    ...dnsNames.map((value): JsonGeneralName => ({ type: "dns", value })),
    ...ipAddresses.map((value): JsonGeneralName => ({ type: "ip", value })),
  ];
}

/** Issues a leaf certificate signed by `ca` for a fresh ECDSA P-256 key. */
export async function issueCertificate(
  ca: CertificateAuthority,
  options: IssueCertificateOptions,
): Promise<CertificateAndKey> {
  const c = crypto();
  const keys = await generateKeyPair();
  const usages = options.usages ?? ["client"];
  const names = generalNames(options.dnsNames ?? [], options.ipAddresses ?? []);
  const certificate = await X509CertificateGenerator.create(
    {
      subject: subjectName(options.commonName, options.organizations),
      issuer: ca.certificate.subject,
      publicKey: keys.publicKey,
      signingKey: ca.keys.privateKey,
      signingAlgorithm: SIGNING_ALGORITHM,
      ...validity(options.validityDays ?? 365),
      extensions: [
        new BasicConstraintsExtension(false, undefined, true),
        new KeyUsagesExtension(KeyUsageFlags.digitalSignature | KeyUsageFlags.keyEncipherment, true),
        new ExtendedKeyUsageExtension(
          usages.map((u) => (u === "server" ? ExtendedKeyUsage.serverAuth : ExtendedKeyUsage.clientAuth)),
          false,
        ),
        await AuthorityKeyIdentifierExtension.create(ca.keys.publicKey, false, c),
        ...(names.length > 0 ? [new SubjectAlternativeNameExtension(names, false)] : []),
      ],
    },
    c,
  );
  return { certPem: certificate.toString("pem") + "\n", keyPem: privateKeyToPem(keys.privateKey) };
}

/** Key pair used to sign and verify service-account tokens. */
export interface ServiceAccountKeyPair {
  /** PKIX "PUBLIC KEY" PEM, for --service-account-key-file. */
  readonly publicKeyPem: string;
  /** PKCS#8 "PRIVATE KEY" PEM, for --service-account-signing-key-file / --service-account-private-key-file. */
  readonly privateKeyPem: string;
}

export async function createServiceAccountKeyPair(): Promise<ServiceAccountKeyPair> {
  const keys = await generateKeyPair();
  return { publicKeyPem: publicKeyToPem(keys.publicKey), privateKeyPem: privateKeyToPem(keys.privateKey) };
}

export interface CertificateRequestOptions {
  readonly commonName: string;
  readonly organizations?: readonly string[];
  readonly dnsNames?: readonly string[];
  readonly ipAddresses?: readonly string[];
}

/** A PKCS#10 request ("CERTIFICATE REQUEST" PEM) and its new private key. */
export interface CertificateRequestAndKey {
  readonly csrPem: string;
  readonly keyPem: string;
}

/**
 * Creates a PKCS#10 certificate signing request for a fresh ECDSA P-256 key — e.g. the body of a Kubernetes
 * CertificateSigningRequest for the `kubernetes.io/kubelet-serving` signer (base64 of `csrPem`).
 */
export async function createCertificateRequest(
  options: CertificateRequestOptions,
): Promise<CertificateRequestAndKey> {
  const c = crypto();
  const keys = await generateKeyPair();
  const names = generalNames(options.dnsNames ?? [], options.ipAddresses ?? []);
  const request = await Pkcs10CertificateRequestGenerator.create(
    {
      name: subjectName(options.commonName, options.organizations),
      keys,
      signingAlgorithm: SIGNING_ALGORITHM,
      extensions: names.length > 0 ? [new SubjectAlternativeNameExtension(names, false)] : [],
    },
    c,
  );
  return { csrPem: request.toString("pem") + "\n", keyPem: privateKeyToPem(keys.privateKey) };
}
