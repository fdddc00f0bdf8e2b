import { writeFile } from "node:fs/promises";

import { KubeConfig } from "@kubernetes/client-node";

export interface KubeconfigCredentials {
  readonly server: string;
  readonly caCertPem: string;
  /** Client certificate authentication. */
  readonly clientCertPem?: string;
  readonly clientKeyPem?: string;
  /** Bearer token authentication. */
  readonly token?: string;
  /** Used for the cluster, user and context names. */
  readonly userName: string;
  readonly clusterName?: string;
  readonly namespace?: string;
}

const b64 = (text: string): string => Buffer.from(text, "utf8").toString("base64");

function quote(value: string): string {
  return JSON.stringify(value);
}

/** Renders a self-contained kubeconfig (all material inline) as YAML. */
export function renderKubeconfig(credentials: KubeconfigCredentials): string {
  const cluster = credentials.clusterName ?? "virtual-node-testing";
  const context = `${credentials.userName}@${cluster}`;
  const user: string[] = [];
  if (credentials.clientCertPem !== undefined && credentials.clientKeyPem !== undefined) {
    user.push(`    client-certificate-data: ${b64(credentials.clientCertPem)}`);
    user.push(`    client-key-data: ${b64(credentials.clientKeyPem)}`);
  }
  if (credentials.token !== undefined) {
    user.push(`    token: ${quote(credentials.token)}`);
  }
  return [
    "apiVersion: v1",
    "kind: Config",
    "clusters:",
    `- name: ${quote(cluster)}`,
    "  cluster:",
    `    server: ${quote(credentials.server)}`,
    `    certificate-authority-data: ${b64(credentials.caCertPem)}`,
    "users:",
    `- name: ${quote(credentials.userName)}`,
    user.length === 0 ? "  user: {}" : "  user:",
    ...user,
    "contexts:",
    `- name: ${quote(context)}`,
    "  context:",
    `    cluster: ${quote(cluster)}`,
    `    user: ${quote(credentials.userName)}`,
    ...(credentials.namespace === undefined ? [] : [`    namespace: ${quote(credentials.namespace)}`]),
    `current-context: ${quote(context)}`,
    "preferences: {}",
    "",
  ].join("\n");
}

/** A `@kubernetes/client-node` KubeConfig for the given credentials. */
export function makeKubeConfig(credentials: KubeconfigCredentials): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromString(renderKubeconfig(credentials));
  return kc;
}

/** Writes the kubeconfig with mode 0600 and returns the KubeConfig. */
export async function writeKubeconfig(path: string, credentials: KubeconfigCredentials): Promise<KubeConfig> {
  await writeFile(path, renderKubeconfig(credentials), { mode: 0o600 });
  return makeKubeConfig(credentials);
}
