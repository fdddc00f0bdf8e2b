/** Helpers for the client tests' loopback servers. */
import type * as http2 from "node:http2";
import { KubeConfig } from "@kubernetes/client-node";

/** A kubeconfig for a test server: one cluster at `server`, an anonymous user. */

export function kubeConfigFor(server: string): KubeConfig {
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromOptions({
    clusters: [{ name: "c", server, skipTLSVerify: true }],
    users: [{ name: "u" }],
    contexts: [{ name: "ctx", cluster: "c", user: "u" }],
    currentContext: "ctx",
  });
  return kubeConfig;
}

/** Closes a test server if one was started. */
export async function closeServer(server: http2.Http2Server | undefined): Promise<void> {
  await new Promise<void>((resolve) => {
    if (server === undefined) resolve();
    else
      server.close(() => {
        resolve();
      });
  });
}
