/**
 * The agent's own HTTP endpoint (plain HTTP, meant for the kubelet's probes and Prometheus inside
 * the cluster network): `/healthz` (the process serves), `/readyz` (every check passes; the JSON
 * body names the failing ones) and `/metrics` (the agent's prom-client registry).
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Registry } from "prom-client";

/** One readiness check: `ok`, plus why not. */
export interface ReadinessCheck {
  name: string;
  ok: boolean;
  message?: string;
}

/** Options of {@link startHealthServer}. */
export interface HealthServerOptions {
  address: string;
  port: number;
  registry: Registry;
  /** Evaluated at every `/readyz`. */
  readiness: () => ReadinessCheck[];
}

/** A running health server. */
export interface HealthServer {
  /** `http://address:port`, with the port actually bound. */
  readonly url: string;
  readonly port: number;
  /** Stops listening and drops open connections. */
  close(): Promise<void>;
}

/** Starts the server; resolves once it listens. */
export async function startHealthServer(options: HealthServerOptions): Promise<HealthServer> {
  const server: Server = createServer((req, res) => {
    const path = new URL(req.url ?? "/", "http://agent").pathname;
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.writeHead(405, { allow: "GET, HEAD" }).end();
      return;
    }
    if (path === "/healthz" || path === "/livez") {
      res.writeHead(200, { "content-type": "text/plain" }).end("ok\n");
      return;
    }
    if (path === "/readyz") {
      const checks = options.readiness();
      const ready = checks.every((c) => c.ok);
      res
        .writeHead(ready ? 200 : 503, { "content-type": "application/json" })
        .end(`${JSON.stringify({ ready, checks })}\n`);
      return;
    }
    if (path === "/metrics") {
      options.registry.metrics().then(
        (text) => res.writeHead(200, { "content-type": options.registry.contentType }).end(text),
        (error: unknown) => res.writeHead(500, { "content-type": "text/plain" }).end(`${String(error)}\n`),
      );
      return;
    }
    res.writeHead(404, { "content-type": "text/plain" }).end("not found\n");
  });
  await new Promise<void>((resolveListen, rejectListen) => {
    server.once("error", rejectListen);
    server.listen(options.port, options.address, () => {
      server.off("error", rejectListen);
      resolveListen();
    });
  });
  const { port } = server.address() as AddressInfo;
  const host = options.address.includes(":") ? `[${options.address}]` : options.address;
  return {
    url: `http://${host === "0.0.0.0" ? "127.0.0.1" : host}:${String(port)}`,
    port,
    close: () =>
      new Promise<void>((resolveClose) => {
        server.closeAllConnections();
        server.close(() => {
          resolveClose();
        });
      }),
  };
}
