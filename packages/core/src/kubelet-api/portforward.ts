/**
 * Server side of `portforward.k8s.io` (`kubectl port-forward`), bridging each forwarded connection
 * to the provider's `portForward` hook.
 *
 * SPDY (also tunnelled through WebSocket as `SPDY/3.1+portforward.k8s.io`, where each binary
 * message carries raw SPDY bytes): per forwarded connection the client opens an `error` stream and
 * a `data` stream with the same `requestid` and a `port` header. Once both exist the data stream is
 * handed to the provider; an error is written as text on the error stream and both streams are
 * reset; on success both are half-closed. A pair incomplete after the stream creation timeout is
 * answered with an error. Streams with a missing or invalid `port`/`streamtype` are refused.
 *
 * WebSocket (`v4.channel.k8s.io`, `v4.base64.channel.k8s.io`, or none; `?ports=80,443`): channel
 * 2i carries port i's data, 2i+1 its errors; the first message on each is the port, 2 bytes little
 * endian. The channel framing is websocket-channel.ts.
 */
import { Duplex, PassThrough } from "node:stream";
import type { WebSocket } from "ws";
import type { Logger } from "../logger.js";
import { messageOf } from "./http-util.js";
import { SpdyConnection, type SpdyStream } from "./spdy/connection.js";
import { openChannelSocket } from "./websocket-channel.js";

export const PORT_FORWARD_PROTOCOL = "portforward.k8s.io";
export const PORT_FORWARD_TUNNEL_PROTOCOL = "SPDY/3.1+portforward.k8s.io";
export const WEBSOCKET_PORT_FORWARD_PROTOCOLS = ["v4.channel.k8s.io", "v4.base64.channel.k8s.io"] as const;

/** Forwards one connection: copy both ways between `stream` and `port`; resolve when done. */
export type PortForwarder = (port: number, stream: Duplex, signal: AbortSignal) => Promise<void>;

export interface PortForwardSessionOptions {
  forward: PortForwarder;
  logger: Logger;
  /** Time a pair has to be completed. Default 30 s. */
  streamCreationTimeoutMs?: number;
  /** Idle timeout of the connection. Default 4 h. */
  idleTimeoutMs?: number;
  onRawBytes?: (direction: "in" | "out", bytes: Buffer) => void;
}

interface Pair {
  requestId: string;
  data?: SpdyStream;
  error?: SpdyStream;
  timer: NodeJS.Timeout;
}

function validPort(value: string | undefined): number | undefined {
  if (value === undefined || !/^\d+$/.test(value)) return undefined;
  const port = Number(value);
  return port >= 1 && port <= 65535 ? port : undefined;
}

/** Serves SPDY port-forwarding on an upgraded transport until the client closes it. */
export async function serveSpdyPortForward(
  transport: Duplex,
  session: PortForwardSessionOptions,
): Promise<void> {
  const pairs = new Map<string, Pair>();
  const abort = new AbortController();
  const timeout = session.streamCreationTimeoutMs ?? 30_000;

  const run = async (pair: Pair): Promise<void> => {
    const { data, error } = pair;
    if (data === undefined || error === undefined) return;
    const port = validPort(data.header("port")) ?? 0;
    data.on("error", () => undefined);
    error.on("error", () => undefined);
    try {
      await data.replied;
      await session.forward(port, data, abort.signal);
      if (!data.destroyed && !data.writableEnded) data.end();
      if (!error.destroyed && !error.writableEnded) error.end();
    } catch (err) {
      const message = `error forwarding port ${port} to pod: ${messageOf(err)}`;
      session.logger.debug({ port, error: messageOf(err) }, "port-forward failed");
      if (!error.destroyed) {
        error.write(message, () => {
          data.reset();
          error.reset();
        });
      } else data.reset();
    }
  };

  const connection = new SpdyConnection(transport, {
    idleTimeoutMs: session.idleTimeoutMs ?? 4 * 60 * 60 * 1000,
    ...(session.onRawBytes === undefined ? {} : { onRawBytes: session.onRawBytes }),
    onStream: (stream) => {
      const port = validPort(stream.header("port"));
      const type = stream.header("streamtype");
      if (port === undefined || (type !== "data" && type !== "error")) return false;
      let requestId = stream.header("requestid");
      if (requestId === undefined || requestId === "") {
        // Old clients without request IDs: pair consecutive error/data streams (error first).
        requestId = String(type === "error" ? stream.id : stream.id - 2);
      }
      let pair = pairs.get(requestId);
      if (pair === undefined) {
        const id = requestId;
        pair = {
          requestId: id,
          timer: setTimeout(() => {
            const p = pairs.get(id);
            if (p === undefined) return;
            pairs.delete(id);
            p.error?.write(`timed out waiting for streams of request ${id}`);
            p.error?.end();
            p.data?.reset();
          }, timeout),
        };
        pair.timer.unref();
        pairs.set(requestId, pair);
      }
      if (type === "data") {
        if (pair.data !== undefined) return false;
        pair.data = stream;
      } else {
        if (pair.error !== undefined) return false;
        pair.error = stream;
      }
      if (pair.data !== undefined && pair.error !== undefined) {
        clearTimeout(pair.timer);
        pairs.delete(requestId);
        void run(pair);
      }
      return true;
    },
  });
  connection.on("error", () => undefined);
  await connection.whenClosed();
  abort.abort();
  for (const pair of pairs.values()) clearTimeout(pair.timer);
}

/** Ports from `?ports=` (repeated or comma-separated); throws a message for bad values. */
export function parsePorts(values: readonly string[]): number[] {
  if (values.length === 0) throw new Error(`query parameter "ports" is required`);
  const ports: number[] = [];
  for (const value of values) {
    if (value === "") throw new Error(`query parameter "ports" cannot be empty`);
    for (const part of value.split(",")) {
      const port = validPort(part.trim());
      if (port === undefined) throw new Error(`unable to parse "${value}" as a port`);
      ports.push(port);
    }
  }
  return ports;
}

/** Serves the channel-based WebSocket port-forward protocol for the given ports. */
export async function serveWebSocketPortForward(
  ws: WebSocket,
  protocol: string,
  ports: readonly number[],
  session: PortForwardSessionOptions,
): Promise<void> {
  const abort = new AbortController();
  const inputs = ports.map(() => new PassThrough());
  const channels = openChannelSocket(ws, protocol, {
    onClose: () => {
      abort.abort();
      for (const input of inputs) input.end();
    },
    onData: (channel, payload) => {
      if (channel % 2 !== 0) return;
      inputs[channel / 2]?.write(payload);
    },
  });
  await Promise.all(
    ports.map(async (port, i) => {
      const portBytes = Buffer.alloc(2);
      portBytes.writeUInt16LE(port);
      await channels.send(i * 2, portBytes);
      await channels.send(i * 2 + 1, portBytes);
    }),
  );
  await Promise.all(
    ports.map(async (port, i) => {
      const input = inputs[i] as PassThrough;
      const duplex = new Duplex({
        read() {
          // data arrives from the input pipe below
        },
        write(chunk: Buffer, _encoding, callback) {
          channels.send(i * 2, chunk).then(
            () => {
              callback();
            },
            () => {
              callback();
            },
          );
        },
      });
      input.on("data", (chunk: Buffer) => duplex.push(chunk));
      input.on("end", () => duplex.push(null));
      try {
        await session.forward(port, duplex, abort.signal);
      } catch (error) {
        await channels.send(
          i * 2 + 1,
          Buffer.from(`error forwarding port ${port} to pod: ${messageOf(error)}`),
        );
      }
    }),
  );
  channels.close();
  await channels.closed;
}
