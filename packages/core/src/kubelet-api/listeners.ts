/**
 * Listeners and certificates of the kubelet API: which (address, port) each node is served on, the
 * TLS settings, the client CA, and the serving certificate of each listener with its rotation.
 *
 * Each node is reached at its InternalIP and kubelet port. A node alone on its port (or nodes that
 * share both port and InternalIP) bind the listen address; nodes that share a port but not an
 * InternalIP each bind their own InternalIP. A listener's certificate covers the InternalIPs of
 * its nodes; a rotated certificate is installed with `setSecureContext`, so no connection drops.
 */
import * as https from "node:https";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { Duplex } from "node:stream";
import type { SecureContextOptions } from "node:tls";
import type { KubeClient } from "../kube/client.js";
import type { Pod } from "../kube/types.js";
import type { Logger } from "../logger.js";
import type { Provider } from "../provider.js";
import {
  CertificateManager,
  type ServingCertificate,
  type ServingCertificateOptions,
} from "./certificates.js";

/** One node the server answers for. */
export interface KubeletApiNode {
  nodeName: string;
  provider: Provider;
  /** The node's InternalIP: an IP SAN of its serving certificate. */
  internalIP: string;
  /** The node's kubelet port (`daemonEndpoints.kubeletEndpoint.port`). */
  port: number;
  /** A pod bound to this node, from the API (the informer's store). */
  getPod(namespace: string, name: string): Pod | undefined;
  /** Every pod bound to this node. */
  listPods(): Pod[];
}

/** The nodes served on one (address, port). */
export interface ListenerGroup {
  /** `address:port`. */
  key: string;
  address: string;
  port: number;
  nodes: KubeletApiNode[];
}

/** A bound (or binding) listener. */
export interface Listener extends ListenerGroup {
  server: https.Server;
  certificates: CertificateManager;
}

/**
 * Pure: the listeners for these nodes. Alone on its port (or sharing it with nodes of the same
 * InternalIP) a node binds `listenAddress`; nodes sharing a port with different InternalIPs bind
 * their own. Groups come in the order of their first node.
 */
export function groupListeners(nodes: readonly KubeletApiNode[], listenAddress = "0.0.0.0"): ListenerGroup[] {
  const byPort = new Map<number, KubeletApiNode[]>();
  for (const n of nodes) byPort.set(n.port, [...(byPort.get(n.port) ?? []), n]);
  const groups = new Map<string, ListenerGroup>();
  for (const [port, onPort] of byPort) {
    const distinctIPs = new Set(onPort.map((n) => n.internalIP));
    for (const n of onPort) {
      const address = onPort.length === 1 || distinctIPs.size === 1 ? listenAddress : n.internalIP;
      const key = `${address}:${port}`;
      const group = groups.get(key) ?? { key, address, port, nodes: [] };
      group.nodes.push(n);
      groups.set(key, group);
    }
  }
  return [...groups.values()];
}

/** `https.Server` options shared by all listeners. */
export function tlsOptions(
  cert: ServingCertificate,
  clientCA: string | Buffer | undefined,
): SecureContextOptions {
  return {
    cert: cert.certPem,
    key: cert.keyPem,
    ...(clientCA === undefined ? {} : { ca: clientCA }),
    minVersion: "TLSv1.2",
  };
}

function kubeconfigCA(client: KubeClient | undefined): string | Buffer | undefined {
  const cluster = client?.kubeConfig.getCurrentCluster();
  if (cluster?.caData !== undefined && cluster.caData !== "") return Buffer.from(cluster.caData, "base64");
  return undefined;
}

async function kubeconfigCAFile(client: KubeClient | undefined): Promise<string | undefined> {
  const file = client?.kubeConfig.getCurrentCluster()?.caFile;
  if (file === undefined || file === "") return undefined;
  const { readFile } = await import("node:fs/promises");
  return readFile(file, "utf8");
}

/** The CA that verifies client certificates: the explicit one, else the kubeconfig's cluster CA. */
export async function resolveClientCA(
  explicit: string | Buffer | undefined,
  client: KubeClient | undefined,
): Promise<string | Buffer | undefined> {
  return explicit ?? kubeconfigCA(client) ?? (await kubeconfigCAFile(client));
}

/** What a listener does with what arrives on it. */
export interface ListenerHandlers {
  onRequest(listener: Listener, req: IncomingMessage, res: ServerResponse): void;
  onUpgrade(listener: Listener, req: IncomingMessage, socket: Duplex, head: Buffer): void;
  /** Every accepted connection (to close them all on stop). */
  onConnection(socket: Duplex): void;
}

export interface ListenerOptions {
  certificate: ServingCertificateOptions;
  client?: KubeClient | undefined;
  clientCA: string | Buffer | undefined;
  logger: Logger;
}

/**
 * Obtains the group's serving certificate (rotated in place later) and creates its HTTPS server,
 * not yet bound: {@link listen} binds it.
 */
export async function createListener(
  group: ListenerGroup,
  options: ListenerOptions,
  handlers: ListenerHandlers,
): Promise<Listener> {
  const first = group.nodes[0] as KubeletApiNode;
  const certificates = new CertificateManager({
    nodeName: first.nodeName,
    ips: [...new Set(group.nodes.map((n) => n.internalIP))],
    source: options.certificate,
    ...(options.client === undefined ? {} : { client: options.client }),
    logger: options.logger,
  });
  await certificates.start();
  const server = https.createServer({
    ...tlsOptions(certificates.current, options.clientCA),
    requestCert: true,
    rejectUnauthorized: false,
  });
  const listener: Listener = { ...group, server, certificates };
  certificates.on("rotated", (cert) => {
    server.setSecureContext(tlsOptions(cert, options.clientCA));
    options.logger.info(
      {
        nodes: group.nodes.map((n) => n.nodeName),
        serial: cert.serialNumber,
        notAfter: cert.notAfter.toISOString(),
      },
      "kubelet API serving certificate rotated",
    );
  });
  server.on("request", (req: IncomingMessage, res: ServerResponse) => {
    handlers.onRequest(listener, req, res);
  });
  server.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    handlers.onUpgrade(listener, req, socket, head);
  });
  server.on("connection", (socket: Duplex) => {
    handlers.onConnection(socket);
  });
  server.on("tlsClientError", () => undefined);
  return listener;
}

/** Binds the listener's server; logs where it listens. */
export async function listen(listener: Listener, logger: Logger): Promise<void> {
  const { server } = listener;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(listener.port, listener.address, () => {
      server.off("error", reject);
      resolve();
    });
  });
  logger.info(
    {
      nodes: listener.nodes.map((n) => n.nodeName),
      address: listener.address,
      port: (server.address() as AddressInfo).port,
    },
    "kubelet API listening",
  );
}

/** Stops the certificate rotation and closes the server; resolves when its connections are gone. */
export function closeListener(listener: Listener): Promise<void> {
  listener.certificates.stop();
  return new Promise<void>((resolve) => {
    listener.server.close(() => {
      resolve();
    });
  });
}

/** The port a listener is bound to (the configured one before it is bound). */
export function boundPort(listener: Listener): number {
  const address = listener.server.address() as AddressInfo | null;
  return address?.port ?? listener.port;
}
