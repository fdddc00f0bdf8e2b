/**
 * The Kubernetes channel protocol over WebSocket, shared by exec/attach (remotecommand.ts) and
 * port-forward (portforward.ts), and the subprotocol negotiation both transports use.
 *
 * Framing (`Sec-WebSocket-Protocol`): `*.channel.k8s.io` sends one binary message per write, its
 * first byte the channel number; `*.base64.channel.k8s.io` sends text, the channel as an ASCII digit
 * (`'0' + channel`) followed by the data in base64. With the v5 close signal (remotecommand only) a
 * binary message `[255, channel]` half-closes that channel from the client's side.
 */
import { Writable } from "node:stream";
import type { WebSocket } from "ws";

/** First client protocol the server supports (client preference, like `httpstream.Handshake`). */
export function negotiateProtocol(client: readonly string[], server: readonly string[]): string | undefined {
  return client.find((p) => server.includes(p));
}

/** Splits `a, b` header values into protocols. */
export function protocolList(values: string | string[] | undefined): string[] {
  const list = values === undefined ? [] : Array.isArray(values) ? values : [values];
  return list
    .flatMap((v) => v.split(","))
    .map((v) => v.trim())
    .filter((v) => v.length > 0);
}

/** True for the `base64.` variants of the channel protocol (text messages). */
export function isBase64Protocol(protocol: string): boolean {
  return protocol.includes("base64.");
}

/** The WebSocket message that carries `data` on `channel`. */
export function encodeChannelMessage(base64: boolean, channel: number, data: Buffer): string | Buffer {
  return base64
    ? String.fromCharCode(48 + channel) + data.toString("base64")
    : Buffer.concat([Buffer.from([channel]), data]);
}

/** The channel and payload of a received message; undefined for an empty message. */
export function decodeChannelMessage(
  base64: boolean,
  data: Buffer,
): { channel: number; payload: Buffer } | undefined {
  if (data.length === 0) return undefined;
  if (base64)
    return {
      channel: (data[0] ?? 0) - 48,
      payload: Buffer.from(data.subarray(1).toString("latin1"), "base64"),
    };
  return { channel: data[0] ?? 0, payload: data.subarray(1) };
}

/** The client half-closed a channel (v5 close signal). */
export const CLOSE_SIGNAL = 255;

export interface ChannelHandlers {
  /** Data the client sent on a channel. */
  onData(channel: number, payload: Buffer): void;
  /** Honour the v5 close signal `[255, channel]` (remotecommand v5). */
  closeSignal?: boolean;
  /** The client half-closed `channel` (with `closeSignal`). */
  onCloseSignal?(channel: number): void;
  /** The WebSocket closed (either side); runs before {@link ChannelSocket.closed} resolves. */
  onClose?(): void;
}

/** One accepted WebSocket speaking the channel protocol. */
export interface ChannelSocket {
  /** Sends `data` on `channel`; resolves once written (at once when the socket is no longer open). */
  send(channel: number, data: Buffer): Promise<void>;
  /** A stream whose writes go to `channel`; `end()` does not close the socket. */
  writer(channel: number): Writable;
  /** Sends a normal close frame if the socket is still open. */
  close(): void;
  /** Drops the connection without a close handshake. */
  terminate(): void;
  /** Resolves when the socket has closed. */
  readonly closed: Promise<void>;
}

function bufferOf(raw: Buffer | ArrayBuffer | Buffer[]): Buffer {
  return Buffer.isBuffer(raw) ? raw : Array.isArray(raw) ? Buffer.concat(raw) : Buffer.from(raw);
}

/** Speaks the channel protocol (negotiated as `protocol`) on an accepted WebSocket. */
export function openChannelSocket(ws: WebSocket, protocol: string, handlers: ChannelHandlers): ChannelSocket {
  const base64 = isBase64Protocol(protocol);
  const closed = new Promise<void>((resolve) => {
    ws.once("close", () => {
      handlers.onClose?.();
      resolve();
    });
  });
  ws.on("error", () => undefined);
  ws.on("message", (raw: Buffer | ArrayBuffer | Buffer[], isBinary: boolean) => {
    const data = bufferOf(raw);
    if (handlers.closeSignal === true && isBinary && data[0] === CLOSE_SIGNAL) {
      if (data[1] !== undefined) handlers.onCloseSignal?.(data[1]);
      return;
    }
    const message = decodeChannelMessage(base64, data);
    if (message !== undefined) handlers.onData(message.channel, message.payload);
  });
  const send = (channel: number, data: Buffer): Promise<void> =>
    new Promise((resolve) => {
      if (ws.readyState !== ws.OPEN) {
        resolve();
        return;
      }
      ws.send(encodeChannelMessage(base64, channel, data), { binary: !base64 }, () => {
        resolve();
      });
    });
  return {
    send,
    writer: (channel) =>
      new Writable({
        write(chunk: Buffer, _encoding, callback) {
          send(channel, chunk).then(
            () => {
              callback();
            },
            () => {
              callback();
            },
          );
        },
      }),
    close: () => {
      if (ws.readyState === ws.OPEN) ws.close(1000);
    },
    terminate: () => {
      ws.terminate();
    },
    closed,
  };
}
