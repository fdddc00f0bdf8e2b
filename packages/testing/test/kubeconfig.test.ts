import { describe, expect, it } from "vitest";

import { makeKubeConfig, renderKubeconfig } from "../src/kubeconfig.js";

describe("kubeconfig rendering", () => {
  it("embeds server, CA and client credentials", () => {
    const credentials = {
      server: "https://127.0.0.1:6443",
      caCertPem: "CA",
      clientCertPem: "CERT",
      clientKeyPem: "KEY",
      userName: "system:node:n1",
    };
    const yaml = renderKubeconfig(credentials);
    expect(yaml).toContain(`certificate-authority-data: ${Buffer.from("CA").toString("base64")}`);
    expect(yaml).toContain(`client-key-data: ${Buffer.from("KEY").toString("base64")}`);
    const kc = makeKubeConfig(credentials);
    expect(kc.getCurrentCluster()?.server).toBe("https://127.0.0.1:6443");
    expect(kc.getCurrentUser()?.name).toBe("system:node:n1");
    expect(Buffer.from(kc.getCurrentUser()?.certData ?? "", "base64").toString()).toBe("CERT");
  });

  it("supports token users and a default namespace", () => {
    const kc = makeKubeConfig({
      server: "https://127.0.0.1:1",
      caCertPem: "CA",
      token: "abc.def",
      userName: "robot",
      namespace: "ns1",
    });
    expect(kc.getCurrentUser()?.token).toBe("abc.def");
    expect(kc.getContextObject(kc.getCurrentContext())?.namespace).toBe("ns1");
  });
});
