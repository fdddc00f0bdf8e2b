/**
 * Requests wait for a free HTTP/2 stream in the client instead of queueing inside the session: with more
 * requests in flight than the server's SETTINGS_MAX_CONCURRENT_STREAMS, nghttp2's queue counted against
 * Node's 10 MB `maxSessionMemory` and new streams were refused with NGHTTP2_ENHANCE_YOUR_CALM.
 */
import * as http2 from "node:http2";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { AbortedError } from "../../src/errors.js";
import { heartbeatClient, KubeClient } from "../../src/kube/client.js";
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

  it("heartbeats are granted before requests that queued earlier, in their own order", async () => {
    const slots = new StreamSlots(() => 1);
    const order: string[] = [];
    const held = await slots.acquire();
    const take = async (name: string, lane: "normal" | "heartbeat"): Promise<void> => {
      const release = await slots.acquire(undefined, lane);
      order.push(name);
      release();
    };
    const all = [
      take("pod-1", "normal"),
      take("pod-2", "normal"),
      take("lease-a", "heartbeat"),
      take("lease-b", "heartbeat"),
    ];
    await Promise.resolve();
    expect(slots.waiting).toBe(4);
    held();
    await Promise.all(all);
    expect(order).toEqual(["lease-a", "lease-b", "pod-1", "pod-2"]);
  });

  it("a heartbeat takes a free slot even while normal requests wait; a normal one does not jump the queue", async () => {
    let limit = 1;
    const slots = new StreamSlots(() => limit);
    const held = await slots.acquire();
    const pod = slots.acquire();
    limit = 2; // a free slot the queued request has not been given yet (no recheck)
    const lease = await slots.acquire(undefined, "heartbeat");
    expect(slots.active).toBe(2);
    let late = false;
    const next = slots.acquire().then((release) => ((late = true), release));
    await Promise.resolve();
    expect(late).toBe(false);
    lease();
    (await pod)();
    (await next)();
    held();
    expect(slots.active).toBe(0);
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

describe("KubeClient heartbeat lane", () => {
  it("renewals pass pod writes queued for the server's streams and the client's QPS bucket", async () => {
    const served: string[] = [];
    server = http2.createServer({ settings: { maxConcurrentStreams: 1 } }, (req, res) => {
      req.resume();
      req.on("end", () => {
        served.push(req.url);
        setTimeout(() => {
          res.writeHead(200, { "content-type": "application/json" });
          res.end("{}");
        }, 2);
      });
    });
    const http = server;
    await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
    const port = (http.address() as AddressInfo).port;
    // One request per second after a burst of 1: the pod writes below would take 20 s through the bucket.
    client = new KubeClient({
      kubeConfig: kubeConfigFor(`http://127.0.0.1:${String(port)}`),
      qps: 1,
      burst: 1,
    });
    const c = client;
    await c.get("/version"); // connected, the server's SETTINGS known, the burst spent
    const abort = new AbortController();
    const writes = Array.from({ length: 20 }, (_, i) =>
      c.patch(`/api/v1/namespaces/n/pods/p-${String(i)}/status`, {}, "application/merge-patch+json", {
        signal: abort.signal,
      }),
    );
    const lease = heartbeatClient(c).replace(
      "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/vn",
      {},
    );
    await lease;
    // Served at once: ahead of every queued pod write, none of which the bucket has let through yet.
    expect(served.filter((url) => url.includes("/pods/"))).toEqual([]);
    expect(served.at(-1)).toBe("/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/vn");
    abort.abort(); // a request waiting for the bucket gives up when its signal aborts
    const outcomes = await Promise.allSettled(writes);
    expect(outcomes.every((o) => o.status === "rejected" && o.reason instanceof AbortedError)).toBe(true);
  });
});
