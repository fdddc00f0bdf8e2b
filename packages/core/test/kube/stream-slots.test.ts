/**
 * Requests wait for a free HTTP/2 stream in the client instead of queueing inside the session: with more
 * requests in flight than the server's SETTINGS_MAX_CONCURRENT_STREAMS, nghttp2's queue counted against
 * Node's 10 MB `maxSessionMemory` and new streams were refused with NGHTTP2_ENHANCE_YOUR_CALM.
 */
import * as http2 from "node:http2";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { AbortedError } from "../../src/errors.js";
import { KubeClient } from "../../src/kube/client.js";
import { StreamSlots } from "../../src/kube/stream-slots.js";
import { closeServer, kubeConfigFor } from "../kube-config.js";

describe("StreamSlots", () => {
  it("grants up to the limit, then in order as slots are released", async () => {
    const slots = new StreamSlots(() => 2);
    const order: string[] = [];
    const a = await slots.acquire();
    const b = await slots.acquire();
    const c = slots.acquire().then((release) => (order.push("c"), release));
    const d = slots.acquire().then((release) => (order.push("d"), release));
    await Promise.resolve();
    expect(slots.active).toBe(2);
    expect(slots.waiting).toBe(2);
    a();
    a(); // a second call of the same release is a no-op
    (await c)();
    b();
    (await d)();
    expect(order).toEqual(["c", "d"]);
    expect(slots.active).toBe(0);
  });

  it("an aborted waiter gives up without a slot and does not block the ones behind it", async () => {
    const slots = new StreamSlots(() => 1);
    const held = await slots.acquire();
    const abort = new AbortController();
    const gone = slots.acquire(abort.signal);
    const next = slots.acquire();
    abort.abort();
    await expect(gone).rejects.toBeInstanceOf(AbortedError);
    held();
    const release = await next;
    expect(slots.active).toBe(1);
    release();
    await expect(slots.acquire(abort.signal)).rejects.toBeInstanceOf(AbortedError);
  });

  it("a limit that grows lets waiters in on recheck", async () => {
    let limit = 1;
    const slots = new StreamSlots(() => limit);
    await slots.acquire();
    const second = slots.acquire();
    limit = 2;
    slots.recheck();
    await expect(second).resolves.toBeTypeOf("function");
  });
});

let server: http2.Http2Server | undefined;
let client: KubeClient | undefined;

afterEach(async () => {
  client?.close();
  await closeServer(server);
  server = client = undefined;
});

describe("KubeClient with more requests than the server's stream limit", () => {
  it("keeps at most the server's limit open and completes every request", async () => {
    let open = 0;
    let maxOpen = 0;
    server = http2.createServer({ settings: { maxConcurrentStreams: 4 } }, (req, res) => {
      open++;
      maxOpen = Math.max(maxOpen, open);
      req.resume();
      req.on("end", () => {
        setTimeout(() => {
          open--;
          res.writeHead(200, { "content-type": "application/json" });
          res.end("{}");
        }, 2);
      });
    });
    const http = server;
    await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
    const port = (http.address() as AddressInfo).port;
    client = new KubeClient({ kubeConfig: kubeConfigFor(`http://127.0.0.1:${String(port)}`), qps: 0 });
    const c = client;
    // 600 status-patch-sized bodies of 32 KiB: ~19 MB if queued inside the session at once.
    const body = { status: { message: "x".repeat(32 << 10) } };
    const results = await Promise.allSettled(
      Array.from({ length: 600 }, (_, i) =>
        c.patch(`/api/v1/namespaces/n/pods/p-${String(i)}/status`, body, "application/merge-patch+json"),
      ),
    );
    const failures = results.filter((r) => r.status === "rejected").map((r) => String(r.reason));
    expect(failures.slice(0, 3)).toEqual([]);
    expect(maxOpen).toBeLessThanOrEqual(4);
  });
});
