/** A kubeconfig for a test server: one cluster at `server`, an anonymous user. */
import { KubeConfig } from "@kubernetes/client-node";

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
