import { randomBytes } from "node:crypto";
import { readFile } from "node:fs/promises";
import { join } from "node:path";

import {
  ApiException,
  CoreV1Api,
  type AuthenticationV1TokenRequest,
  type KubeConfig,
  type V1ServiceAccount,
} from "@kubernetes/client-node";

import { issueCertificate, loadCertificateAuthority, type CertificateAuthority } from "./certs.js";
import { ErrorCode, TestingError } from "./errors.js";
import { model } from "./kube-objects.js";
import { writeKubeconfig } from "./kubeconfig.js";
import { SERVICE_ACCOUNT_ISSUER } from "./pki.js";

export interface ClientIdentityOptions {
  /** Kubernetes user name (certificate CN). */
  readonly user: string;
  /** Kubernetes groups (certificate O entries). */
  readonly groups?: readonly string[];
  /** Base name of the kubeconfig file written for it. Default: derived from `user`. */
  readonly name?: string;
}

/** A client-certificate identity signed by the cluster CA. */
export interface ClientIdentity {
  readonly user: string;
  readonly groups: readonly string[];
  readonly kubeConfig: KubeConfig;
  readonly kubeconfigPath: string;
  readonly certPem: string;
  readonly keyPem: string;
}

export interface ServiceAccountTokenOptions {
  /** Token audiences. Default: the cluster's service-account issuer (the API server audience). */
  readonly audiences?: readonly string[];
  /** Default 3600. */
  readonly expirationSeconds?: number;
}

export interface IdentitySource {
  readonly server: string;
  readonly caCertPem: string;
  readonly caCertPath: string;
  readonly caKeyPath: string;
  /** Directory the minted kubeconfigs are written to. */
  readonly identitiesDir: string;
  /** Admin KubeConfig, used for TokenRequests. */
  readonly adminKubeConfig: KubeConfig;
}

export interface IdentityMinter {
  mintClientIdentity(options: ClientIdentityOptions): Promise<ClientIdentity>;
  nodeIdentity(nodeName: string): Promise<ClientIdentity>;
  serviceAccountToken(namespace: string, name: string, options?: ServiceAccountTokenOptions): Promise<string>;
}

function fileSafe(name: string): string {
  return name.replace(/[^A-Za-z0-9._-]+/g, "_").slice(0, 100);
}

function apiStatus(error: unknown): number | undefined {
  return error instanceof ApiException ? error.code : undefined;
}

/** Identity helpers shared by a started control plane and one reconnected from provided info. */
export function createIdentityMinter(source: IdentitySource): IdentityMinter {
  let ca: Promise<CertificateAuthority> | undefined;
  const loadCa = (): Promise<CertificateAuthority> => {
    ca ??= (async () =>
      loadCertificateAuthority(
        await readFile(source.caCertPath, "utf8"),
        await readFile(source.caKeyPath, "utf8"),
      ))();
    return ca;
  };

  const mintClientIdentity = async (options: ClientIdentityOptions): Promise<ClientIdentity> => {
    const groups = options.groups ?? [];
    const pair = await issueCertificate(await loadCa(), {
      commonName: options.user,
      organizations: groups,
      usages: ["client"],
    });
    const base = fileSafe(options.name ?? options.user);
    const kubeconfigPath = join(source.identitiesDir, `${base}-${randomBytes(4).toString("hex")}.kubeconfig`);
    const kubeConfig = await writeKubeconfig(kubeconfigPath, {
      server: source.server,
      caCertPem: source.caCertPem,
      clientCertPem: pair.certPem,
      clientKeyPem: pair.keyPem,
      userName: options.user,
    });
    return {
      user: options.user,
      groups,
      kubeConfig,
      kubeconfigPath,
      certPem: pair.certPem,
      keyPem: pair.keyPem,
    };
  };

  const serviceAccountToken = async (
    namespace: string,
    name: string,
    options: ServiceAccountTokenOptions = {},
  ): Promise<string> => {
    const core = source.adminKubeConfig.makeApiClient(CoreV1Api);
    try {
      await core.readNamespacedServiceAccount({ name, namespace });
    } catch (error) {
      if (apiStatus(error) !== 404) {
        throw error;
      }
      try {
        await core.createNamespacedServiceAccount({
          namespace,
          body: model<V1ServiceAccount>({ metadata: { name } }),
        });
      } catch (createError) {
        if (apiStatus(createError) !== 409) {
          throw createError;
        }
      }
    }
    const response = await core.createNamespacedServiceAccountToken({
      name,
      namespace,
      body: model<AuthenticationV1TokenRequest>({
        spec: {
          audiences: [...(options.audiences ?? [SERVICE_ACCOUNT_ISSUER])],
          expirationSeconds: options.expirationSeconds ?? 3600,
        },
      }),
    });
    const token = response.status?.token;
    if (token === undefined || token === "") {
      throw new TestingError(
        ErrorCode.ApiRequestFailed,
        `TokenRequest for ${namespace}/${name} returned no token`,
      );
    }
    return token;
  };

  return {
    mintClientIdentity,
    nodeIdentity: (nodeName) =>
      mintClientIdentity({
        user: `system:node:${nodeName}`,
        groups: ["system:nodes"],
        name: `node-${nodeName}`,
      }),
    serviceAccountToken,
  };
}
