/**
 * A loopback TCP proxy that injects network faults between a client and a server (the agent and the
 * kube-apiserver, a provider and its simulator): latency, bandwidth limits, connection resets, half-open
 * stalls and refused connections, changed at any time by the test that owns it.
 *
 * It forwards bytes, not requests, so TLS passes through untouched (the kubeconfig of the client just
 * points at the proxy's port; 127.0.0.1 is in the apiserver certificate). Timing goes through an injected
 * {@link Clock} so unit tests can step latency with a `FakeClock`.
 */
import { createServer, connect, type AddressInfo, type Server, type Socket } from "node:net";

import { systemClock, type Clock, type TimerHandle } from "@virtual-node/core";

import { LOOPBACK } from "./ports.js";

/** Which way bytes travel: `upstream` is client → target, `downstream` is target → client. */
export type ProxyDirection = "upstream" | "downstream";

/** The faults currently applied; every field is optional and absent means "no fault". */
export interface NetworkFaults {
  /** Added to every chunk, each direction (order is kept). */
  readonly latencyMs?: number;
  /** Cap per connection and direction, in bytes per second. */
  readonly bytesPerSecond?: number;
  /**
   * Half-open stall: new connections are accepted and nothing is forwarded or closed, on any connection,
   * until the stall is lifted (then the held bytes flow, like TCP retransmission after a partition heals).
   */
  readonly stall?: boolean;
  /** New connections are reset (RST) as soon as they are accepted. */
  readonly resetNew?: boolean;
}

export interface FaultProxyOptions {
  /** Where to forward. Host defaults to 127.0.0.1. */
  readonly target: { readonly port: number; readonly host?: string };
  /** Port to listen on (loopback). Default: a free one. */
  readonly port?: number;
  /** Initial faults. Default none. */
  readonly faults?: NetworkFaults;
  /** Sees every chunk as it arrives at the proxy (e.g. to scan request bodies for secrets). */
  readonly onChunk?: (direction: ProxyDirection, chunk: Buffer) => void;
  readonly clock?: Clock;
}

/** Counters of what the proxy did, for assertions and figures. */
export interface FaultProxyStats {
  readonly accepted: number;
  readonly open: number;
  readonly resets: number;
  readonly bytesUpstream: number;
  readonly bytesDownstream: number;
}

export interface FaultProxy extends AsyncDisposable {
  /** `127.0.0.1:port` of the proxy. */
  readonly host: string;
  readonly port: number;
  /** Replaces the faults in force (open connections included). */
  setFaults(faults: NetworkFaults): void;
  readonly faults: NetworkFaults;
  /** Resets (RST) every open connection now. Returns how many were reset. */
  resetConnections(): number;
  /**
   * Half-open stall of the connections open now, for good (a NAT or load balancer that forgot the flow):
   * they forward nothing and close nothing, while new connections work. Returns how many.
   */
  blackholeConnections(): number;
  stats(): FaultProxyStats;
  /** Stops listening and destroys every connection. Idempotent. */
  close(): Promise<void>;
}

/** Above this many queued bytes in one direction, the source socket is paused (backpressure). */
const HIGH_WATER_BYTES = 1 << 20;

interface Queued {
  readonly chunk: Buffer | null; // null: the source ended
  readonly readyAt: number;
}

/** One direction of one connection: a queue drained under the current faults. */
class Pipe {
  readonly #queue: Queued[] = [];
  #queuedBytes = 0;
  #timer: TimerHandle | undefined;
  #nextFreeAt = 0;

  constructor(
    readonly direction: ProxyDirection,
    readonly source: Socket,
    readonly sink: Socket,
    readonly proxy: {
      faults: NetworkFaults;
      clock: Clock;
      counted(direction: ProxyDirection, n: number): void;
    },
  ) {}

  push(chunk: Buffer | null): void {
    const now = this.proxy.clock.now();
    this.#queue.push({ chunk, readyAt: now + (this.proxy.faults.latencyMs ?? 0) });
    this.#queuedBytes += chunk?.length ?? 0;
    if (this.#queuedBytes > HIGH_WATER_BYTES) this.source.pause();
    this.pump();
  }

  /** Delivers what is due; re-arms a timer for the rest. Called on every push and fault change. */
  pump(): void {
    const { clock } = this.proxy;
    if (this.#timer !== undefined) {
      clock.clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    if (this.proxy.faults.stall === true) {
      this.source.pause();
      return;
    }
    for (;;) {
      const head = this.#queue[0];
      if (head === undefined) break;
      const dueAt = Math.max(head.readyAt, this.#nextFreeAt);
      const now = clock.now();
      if (dueAt > now) {
        this.#timer = clock.setTimeout(() => {
          this.#timer = undefined;
          this.pump();
        }, dueAt - now);
        return;
      }
      this.#queue.shift();
      if (head.chunk === null) {
        this.sink.end();
        continue;
      }
      this.#queuedBytes -= head.chunk.length;
      const rate = this.proxy.faults.bytesPerSecond;
      if (rate !== undefined && rate > 0) this.#nextFreeAt = now + (head.chunk.length * 1000) / rate;
      if (!this.sink.destroyed) this.sink.write(head.chunk);
      this.proxy.counted(this.direction, head.chunk.length);
    }
    if (this.#queuedBytes <= HIGH_WATER_BYTES && this.source.isPaused()) this.source.resume();
  }

  dispose(): void {
    this.proxy.clock.clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}

interface Connection {
  readonly client: Socket;
  readonly upstream: Socket;
  readonly pipes: readonly Pipe[];
}

/** Starts a fault proxy in front of `options.target`; it forwards faithfully until faults are set. */
export async function startFaultProxy(options: FaultProxyOptions): Promise<FaultProxy> {
  const targetHost = options.target.host ?? LOOPBACK;
  const state = {
    faults: { ...options.faults },
    clock: options.clock ?? systemClock,
    counted(direction: ProxyDirection, n: number) {
      if (direction === "upstream") counters.bytesUpstream += n;
      else counters.bytesDownstream += n;
    },
  };
  const counters = { accepted: 0, resets: 0, bytesUpstream: 0, bytesDownstream: 0 };
  const connections = new Set<Connection>();
  const heldResets = new Set<() => void>();
  const blackholed = new Set<Connection>();

  const reset = (socket: Socket): void => {
    if (!socket.destroyed) socket.resetAndDestroy();
  };

  const onConnection = (client: Socket): void => {
    counters.accepted++;
    if (state.faults.resetNew === true) {
      counters.resets++;
      client.on("error", () => undefined);
      reset(client);
      return;
    }
    // Half-open allowed on both sides: an end is forwarded through the queue, after the bytes before it.
    const upstream = connect({ host: targetHost, port: options.target.port, allowHalfOpen: true });
    const up = new Pipe("upstream", client, upstream, state);
    const down = new Pipe("downstream", upstream, client, state);
    const connection: Connection = { client, upstream, pipes: [up, down] };
    connections.add(connection);
    let closed = false;
    const teardown = (hard: boolean): void => {
      if (closed) return;
      closed = true;
      connections.delete(connection);
      up.dispose();
      down.dispose();
      if (hard) {
        reset(client);
        reset(upstream);
      } else {
        client.destroy();
        upstream.destroy();
      }
    };
    for (const [socket, pipe] of [
      [client, up],
      [upstream, down],
    ] as const) {
      socket.on("data", (chunk: Buffer) => {
        options.onChunk?.(pipe.direction, chunk);
        pipe.push(chunk);
      });
      socket.on("end", () => {
        pipe.push(null);
      });
      // A reset or error on one side is passed on as a reset of the other (the client sees what a broken
      // network path looks like, not a clean close) — except during a stall, which lets nothing through.
      socket.on("error", () => {
        if (state.faults.stall === true)
          heldResets.add(() => {
            teardown(true);
          });
        else teardown(true);
      });
      socket.on("close", () => {
        if (client.destroyed && upstream.destroyed) teardown(false);
      });
    }
    if (state.faults.stall === true) {
      client.pause();
      upstream.pause();
    }
  };

  const server: Server = createServer({ allowHalfOpen: true }, onConnection);
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, LOOPBACK, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= new Promise<void>((resolve) => {
      for (const connection of [...connections]) {
        connection.pipes.forEach((p) => {
          p.dispose();
        });
        connection.client.destroy();
        connection.upstream.destroy();
      }
      connections.clear();
      for (const connection of blackholed) {
        connection.client.destroy();
        connection.upstream.destroy();
      }
      blackholed.clear();
      server.close(() => {
        resolve();
      });
    });
    return closing;
  };

  return {
    host: `${LOOPBACK}:${port}`,
    port,
    get faults() {
      return state.faults;
    },
    setFaults(faults) {
      state.faults = { ...faults };
      if (state.faults.stall !== true) {
        const held = [...heldResets];
        heldResets.clear();
        held.forEach((teardown) => {
          teardown();
        });
      }
      for (const connection of connections) {
        connection.pipes.forEach((p) => {
          p.pump();
        });
      }
    },
    blackholeConnections() {
      const open = [...connections];
      for (const connection of open) {
        connections.delete(connection);
        connection.pipes.forEach((p) => {
          p.dispose();
        });
        for (const socket of [connection.client, connection.upstream]) {
          socket.pause();
          socket.removeAllListeners("data");
          socket.removeAllListeners("end");
          socket.on("error", () => undefined);
        }
        blackholed.add(connection);
      }
      return open.length;
    },
    resetConnections() {
      const open = [...connections];
      for (const connection of open) {
        connections.delete(connection);
        connection.pipes.forEach((p) => {
          p.dispose();
        });
        reset(connection.client);
        reset(connection.upstream);
      }
      counters.resets += open.length;
      return open.length;
    },
    stats: () => ({ ...counters, open: connections.size }),
    close,
    [Symbol.asyncDispose]: close,
  };
}
