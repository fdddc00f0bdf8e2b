import { describe, expect, it } from "vitest";
import { FRONT_PROXY_CLIENT_NAME, aggregationLayerArgs, metricsServerArgs } from "../src/aggregation.js";

describe("aggregation layer flags", () => {
  it("point the API server at the front-proxy files and allow only the front-proxy client", () => {
    const args = aggregationLayerArgs({
      frontProxyCAFile: "/d/front-proxy-ca.crt",
      proxyClientCertFile: "/d/front-proxy-client.crt",
      proxyClientKeyFile: "/d/front-proxy-client.key",
    });
    const flags = new Map(args.map((a) => a.replace(/^--/, "").split("=") as [string, string]));
    expect(Object.fromEntries(flags)).toEqual({
      "requestheader-client-ca-file": "/d/front-proxy-ca.crt",
      "requestheader-allowed-names": FRONT_PROXY_CLIENT_NAME,
      "requestheader-username-headers": "X-Remote-User",
      "requestheader-group-headers": "X-Remote-Group",
      "requestheader-extra-headers-prefix": "X-Remote-Extra-",
      "proxy-client-cert-file": "/d/front-proxy-client.crt",
      "proxy-client-key-file": "/d/front-proxy-client.key",
      "enable-aggregator-routing": "true",
    });
  });

  it("have metrics-server listen where its Endpoints point and scrape InternalIPs on the node's port", () => {
    const args = metricsServerArgs({
      ip: "10.244.0.1",
      port: 4443,
      certDir: "/d/certs",
      kubeconfigPath: "/d/kubeconfig",
    });
    expect(args).toContain("--secure-port=4443");
    expect(args).toContain("--bind-address=10.244.0.1");
    expect(args).toContain("--cert-dir=/d/certs");
    for (const flag of ["kubeconfig", "authentication-kubeconfig", "authorization-kubeconfig"])
      expect(args).toContain(`--${flag}=/d/kubeconfig`);
    expect(args).toContain("--kubelet-preferred-address-types=InternalIP");
    expect(args).toContain("--kubelet-use-node-status-port");
  });
});
