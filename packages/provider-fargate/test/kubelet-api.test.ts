/**
 * ECS Exec is not built: the Fargate provider declares no `exec`, `attach` or `portForward` hook
 * (the provider contract's declaration for the kubelet API), so core's kubelet API answers
 * `kubectl exec/attach/port-forward` with 501 and a message naming the provider and the hook,
 * while `kubectl logs` reaches the provider. Served here by the real kubelet API server (no
 * cluster: the pod comes from a stub informer).
 */
import { request } from "node:https";
import type { Pod } from "@virtual-node/core";
import { createKubeletApiServer } from "@virtual-node/core/kubelet-api";
import type { KubeletApiServer } from "@virtual-node/core/kubelet-api";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { FargateProvider } from "../src/index.js";
import { fargateCapabilities } from "../src/index.js";
import { startAwsSimulator } from "./simulator/server.js";
import type { AwsSimulator } from "./simulator/server.js";
import { simulatorProvider } from "./support/provider.js";

const pod: Pod = {
  apiVersion: "v1",
  kind: "Pod",
  metadata: { namespace: "default", name: "p", uid: "uid-p" },
  spec: { nodeName: "vn-fargate", containers: [{ name: "main", image: "busybox:1.36" }] },
};

function send(
  port: number,
  path: string,
  upgrade: boolean,
  method = "POST",
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: "127.0.0.1",
        port,
        path,
        method,
        rejectUnauthorized: false,
        headers: upgrade
          ? {
              Connection: "Upgrade",
              Upgrade: "SPDY/3.1",
              "X-Stream-Protocol-Version": "v4.channel.k8s.io",
            }
          : {},
      },
      (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => (body += chunk));
        res.on("end", () => {
          resolve({ status: res.statusCode ?? 0, body });
        });
      },
    );
    req.on("upgrade", () => {
      reject(new Error(`${path} was upgraded`));
    });
    req.on("error", reject);
    req.end();
  });
}

describe("kubectl exec/attach/port-forward on Fargate", () => {
  let sim: AwsSimulator;
  let provider: FargateProvider;
  let server: KubeletApiServer;
  let port = 0;

  beforeAll(async () => {
    sim = await startAwsSimulator();
    provider = simulatorProvider(sim);
    server = createKubeletApiServer({
      nodes: [
        {
          nodeName: "vn-fargate",
          provider,
          internalIP: "127.0.0.1",
          port: 0,
          getPod: (namespace, name) => (namespace === "default" && name === "p" ? pod : undefined),
          listPods: () => [pod],
        },
      ],
      listenAddress: "127.0.0.1",
      auth: { anonymous: true, tokenWebhook: false, authorizationMode: "AlwaysAllow" },
    });
    await server.start();
    port = server.endpoints[0]?.port ?? 0;
  });

  afterAll(async () => {
    await server.stop();
    provider.close();
    await sim.close();
  });

  it("the provider declares no exec, attach, port-forward or stats hook, and no ephemeral containers", () => {
    for (const hook of ["exec", "attach", "portForward", "getStatsSummary"] as const) {
      expect(hook in provider, hook).toBe(false);
    }
    expect(fargateCapabilities.ephemeralContainers).toBe(false);
    expect(typeof provider.getContainerLogs).toBe("function");
  });

  it.each([
    ["exec", "/exec/default/p/main?command=sh&input=1&output=1", "exec", "exec"],
    ["attach", "/attach/default/p/main?output=1", "attach", "attach"],
    ["port-forward", "/portForward/default/p", "port-forward", "portForward"],
  ])("%s answers 501 naming the provider and the hook", async (_what, path, label, hook) => {
    const answer = await send(port, path, true);
    expect(answer.status).toBe(501);
    expect(answer.body.trim()).toBe(
      `${label} is not supported by this node: provider "fargate" does not implement ${hook}`,
    );
  });

  it("logs are implemented: the request reaches the provider (no 501)", async () => {
    const answer = await send(port, "/containerLogs/default/p/main", false, "GET");
    expect(answer.status).not.toBe(501);
    expect(answer.body).toContain("default/p");
  });
});
