/**
 * A half-open connection to the API server (the peer accepts and answers nothing, closes nothing):
 * the client's HTTP/2 PING finds it, drops the session and the next request goes out on a new one.
 * Found by the fault suite's silent stall: the PING after the one that timed out ran on the
 * destroyed session, and `ping()` threw from a timer — the whole agent process died.
 */
import * as http2 from "node:http2";
import type { AddressInfo } from "node:net";
import { startFaultProxy, type FaultProxy } from "@virtual-node/testing";
import { afterEach, describe, expect, it } from "vitest";
import { KubeClient } from "../../src/kube/client.js";
import { closeServer, kubeConfigFor } from "../kube-config.js";

let server: http2.Http2Server | undefined;
let proxy: FaultProxy | undefined;
let client: KubeClient | undefined;

afterEach(async () => {
  client?.close();
  await proxy?.close();
  await closeServer(server);
  server = proxy = client = undefined;
});

describe("KubeClient on a half-open connection", () => {
  it("drops the silent session after the PING timeout, survives the next PING tick, and reconnects", async () => {
    server = http2.createServer((_req, res) => {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ kind: "Namespace", metadata: { name: "default" } }));
    });
    await new Promise<void>((resolve) => server?.listen(0, "127.0.0.1", resolve));
    const upstream = (server.address() as AddressInfo).port;
    proxy = await startFaultProxy({ target: { port: upstream } });
    client = new KubeClient({
      kubeConfig: kubeConfigFor(`http://127.0.0.1:${String(proxy.port)}`),
      pingIntervalMs: 50,
    });

    await expect(client.get("/api/v1/namespaces/default")).resolves.toMatchObject({ kind: "Namespace" });
    expect(proxy.blackholeConnections()).toBe(1);

    // Several PING intervals pass on the dead connection: one times out and destroys the session,
    // the ticks after it must neither throw nor reuse it.
    await new Promise((resolve) => setTimeout(resolve, 400));
    await expect(client.get("/api/v1/namespaces/default")).resolves.toMatchObject({ kind: "Namespace" });
    expect(proxy.stats().accepted).toBe(2);
  });
});
