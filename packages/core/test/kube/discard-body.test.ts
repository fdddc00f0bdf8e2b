/**
 * `discardBody`: a successful answer the caller does not read is not decoded (the pod controller's status
 * patches and final deletes, answered with the whole pod). Error answers are still decoded, so a 409 or a
 * 404 keeps its `Status` reason.
 */
import * as http2 from "node:http2";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { KubeApiError, KubeClient } from "../../src/kube/client.js";
import { closeServer, kubeConfigFor } from "../kube-config.js";

let server: http2.Http2Server | undefined;
let client: KubeClient | undefined;

afterEach(async () => {
  client?.close();
  await closeServer(server);
  server = client = undefined;
});

/** A plain-HTTP/2 server answering `PATCH …/ok` with a body that is not JSON and anything else with a 409. */
async function start(): Promise<KubeClient> {
  const http = http2.createServer((req, res) => {
    if (req.url.endsWith("/ok")) {
      res.writeHead(200, { "content-type": "application/json" });
      res.end("not json: decoding it would throw");
      return;
    }
    res.writeHead(409, { "content-type": "application/json" });
    res.end(JSON.stringify({ kind: "Status", code: 409, reason: "Conflict", message: "changed" }));
  });
  server = http;
  await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
  const port = (http.address() as AddressInfo).port;
  client = new KubeClient({ kubeConfig: kubeConfigFor(`http://127.0.0.1:${String(port)}`) });
  return client;
}

describe("KubeClient discardBody", () => {
  it("does not decode a successful answer the caller will not read", async () => {
    const c = await start();
    await expect(
      c.patch("/api/v1/x/ok", {}, "application/merge-patch+json", { discardBody: true }),
    ).resolves.toBe(undefined);
    // Without it the same answer is decoded (and here fails to).
    await expect(c.patch("/api/v1/x/ok", {}, "application/merge-patch+json")).rejects.toThrow(SyntaxError);
  });

  it("still decodes an error answer into its Status reason", async () => {
    const c = await start();
    const error: unknown = await c
      .delete("/api/v1/x/gone", {}, { discardBody: true })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(KubeApiError);
    expect(error).toMatchObject({ status: 409, reason: "Conflict" });
  });
});
