import { once } from "node:events";
import { get } from "node:http";
import { createServer as createHttpServer } from "node:http";
import { connect, createServer, type AddressInfo, type Server, type Socket } from "node:net";

import { FakeClock } from "@virtual-node/core";
import { afterEach, describe, expect, it } from "vitest";

import { startFaultProxy, type FaultProxy, type ProxyDirection } from "../src/fault-proxy.js";

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function listen(server: Server | ReturnType<typeof createHttpServer>): Promise<number> {
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  cleanups.push(
    () =>
      new Promise((resolve) => {
        server.close(resolve);
      }),
  );
  return (server.address() as AddressInfo).port;
}

/** A TCP echo server; it also records every socket it accepted. */
async function echoServer(): Promise<{ port: number; accepted: Socket[] }> {
  const accepted: Socket[] = [];
  const server = createServer((socket) => {
    accepted.push(socket);
    socket.on("error", () => undefined);
    socket.pipe(socket);
  });
  return { port: await listen(server), accepted };
}

async function proxyTo(port: number, extra: Partial<Parameters<typeof startFaultProxy>[0]> = {}) {
  const proxy = await startFaultProxy({ target: { port }, ...extra });
  cleanups.push(() => proxy.close());
  return proxy;
}

async function client(proxy: FaultProxy): Promise<{ socket: Socket; received: () => string }> {
  const socket = connect({ host: "127.0.0.1", port: proxy.port });
  socket.on("error", () => undefined);
  let data = "";
  socket.on("data", (chunk: Buffer) => (data += chunk.toString()));
  await once(socket, "connect");
  cleanups.push(() => {
    socket.destroy();
    return Promise.resolve();
  });
  return { socket, received: () => data };
}

async function until(check: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Real time for bytes to cross loopback sockets (the proof that nothing arrived needs some). */
const settle = () => new Promise((r) => setTimeout(r, 150));

describe("fault proxy", () => {
  it("forwards both ways faithfully, counts bytes and shows every chunk to onChunk", async () => {
    const echo = await echoServer();
    const seen: Record<ProxyDirection, string> = { upstream: "", downstream: "" };
    const proxy = await proxyTo(echo.port, {
      onChunk: (direction, chunk) => (seen[direction] += chunk.toString()),
    });
    const c = await client(proxy);
    c.socket.write("hello through the proxy");
    await until(() => c.received() === "hello through the proxy", "the echo");
    expect(seen).toEqual({ upstream: "hello through the proxy", downstream: "hello through the proxy" });
    expect(proxy.stats()).toMatchObject({ accepted: 1, open: 1, bytesUpstream: 23, bytesDownstream: 23 });
  });

  it("carries HTTP unchanged", async () => {
    const http = createHttpServer((req, res) => res.end(`you asked for ${req.url ?? ""}`));
    const proxy = await proxyTo(await listen(http));
    const body = await new Promise<string>((resolve, reject) => {
      get(`http://${proxy.host}/pods?watch=1`, (res) => {
        let text = "";
        res.on("data", (c: Buffer) => (text += c.toString()));
        res.on("end", () => {
          resolve(text);
        });
      }).on("error", reject);
    });
    expect(body).toBe("you asked for /pods?watch=1");
  });

  it("delays every chunk by the latency, on the injected clock, keeping order", async () => {
    const clock = new FakeClock();
    const echo = await echoServer();
    const proxy = await proxyTo(echo.port, { clock, faults: { latencyMs: 1000 } });
    const c = await client(proxy);
    c.socket.write("a");
    await settle();
    expect(proxy.stats().bytesUpstream).toBe(0); // held: no fake time has passed
    clock.advance(999);
    await settle();
    expect(proxy.stats().bytesUpstream).toBe(0);
    clock.advance(1); // upstream delivered; the echo now waits its own 1000 ms downstream
    await until(() => proxy.stats().bytesDownstream === 0 && proxy.stats().bytesUpstream === 1, "upstream");
    await settle();
    expect(c.received()).toBe("");
    c.socket.write("b");
    await settle();
    clock.advance(1000); // "a" comes back, "b" reaches the echo server
    await until(() => c.received() === "a" && proxy.stats().bytesUpstream === 2, "a's echo, b upstream");
    await settle();
    clock.advance(1000);
    await until(() => c.received() === "ab", "both echoes in order");
  });

  it("limits bandwidth per direction", async () => {
    const clock = new FakeClock();
    const echo = await echoServer();
    const proxy = await proxyTo(echo.port, { clock, faults: { bytesPerSecond: 100 } });
    const c = await client(proxy);
    c.socket.write("x".repeat(100));
    await settle();
    c.socket.write("y".repeat(100));
    await settle();
    // The first chunk goes at once; the second waits for the first one's second on the wire.
    expect(proxy.stats().bytesUpstream).toBe(100);
    clock.advance(1000);
    await until(() => proxy.stats().bytesUpstream === 200, "the second chunk");
  });

  it("resets new connections while resetNew is set, and all open ones on demand", async () => {
    const echo = await echoServer();
    const proxy = await proxyTo(echo.port);
    const open = await client(proxy);
    const openError = once(open.socket, "error");
    expect(proxy.resetConnections()).toBe(1);
    expect(((await openError)[0] as NodeJS.ErrnoException).code).toBe("ECONNRESET");

    proxy.setFaults({ resetNew: true });
    const refused = connect({ host: "127.0.0.1", port: proxy.port });
    const [error] = (await once(refused, "error")) as [NodeJS.ErrnoException];
    expect(error.code).toBe("ECONNRESET");
    expect(proxy.stats()).toMatchObject({ resets: 2, open: 0 });

    proxy.setFaults({});
    const healed = await client(proxy);
    healed.socket.write("back");
    await until(() => healed.received() === "back", "traffic after the faults are cleared");
  });

  it("stalls half-open: accepts, forwards nothing, closes nothing; the held bytes flow once lifted", async () => {
    const echo = await echoServer();
    const proxy = await proxyTo(echo.port);
    const before = await client(proxy);
    proxy.setFaults({ stall: true });
    before.socket.write("during the stall");
    const during = await client(proxy); // accepted...
    during.socket.write("new connection");
    let closed = false;
    before.socket.on("close", () => (closed = true));
    before.socket.end(); // a FIN is held too
    await settle();
    await settle();
    expect(before.received()).toBe("");
    expect(during.received()).toBe("");
    expect(proxy.stats()).toMatchObject({ bytesUpstream: 0, bytesDownstream: 0, open: 2 });
    expect(closed).toBe(false);

    proxy.setFaults({});
    await until(() => during.received() === "new connection", "the held bytes");
    await until(() => before.received() === "during the stall" && closed, "the held FIN, after its bytes");
  });

  it("blackholes the open connections for good while new ones work", async () => {
    const echo = await echoServer();
    const proxy = await proxyTo(echo.port);
    const stuck = await client(proxy);
    let closed = false;
    stuck.socket.on("close", () => (closed = true));
    expect(proxy.blackholeConnections()).toBe(1);
    stuck.socket.write("lost");
    const fresh = await client(proxy);
    fresh.socket.write("fine");
    await until(() => fresh.received() === "fine", "the new connection's echo");
    await settle();
    expect(stuck.received()).toBe("");
    expect(closed).toBe(false);
  });

  it("passes a reset from the target on to the client", async () => {
    const echo = await echoServer();
    const proxy = await proxyTo(echo.port);
    const c = await client(proxy);
    c.socket.write("x");
    await until(() => c.received() === "x", "the echo");
    const error = once(c.socket, "error");
    echo.accepted[0]?.resetAndDestroy();
    expect(((await error)[0] as NodeJS.ErrnoException).code).toBe("ECONNRESET");
  });

  it("close() ends every connection and stops listening", async () => {
    const echo = await echoServer();
    const proxy = await startFaultProxy({ target: { port: echo.port }, faults: { stall: true } });
    const c = await client(proxy);
    const closed = once(c.socket, "close");
    await proxy.close();
    await closed;
    const late = connect({ host: "127.0.0.1", port: proxy.port });
    const [error] = (await once(late, "error")) as [NodeJS.ErrnoException];
    expect(error.code).toBe("ECONNREFUSED");
  });
});
