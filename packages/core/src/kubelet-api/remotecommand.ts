/**
 * Server side of the remotecommand protocols (`kubectl exec` and `attach`), over SPDY/3.1 and over
 * WebSocket, bridging the client's streams to a provider's `exec`/`attach` hook.
 *
 * SPDY (`X-Stream-Protocol-Version`): the client opens one stream per channel with a `streamtype`
 * header — `error` always, `stdin`/`stdout`/`stderr` as requested, `resize` with a TTY (v3+). The
 * session starts once every expected stream is there (30 s at most). At the end the server writes
 * the status on the error stream — v4/v5: a JSON `Status` (`Success`, or `Failure` with reason
 * `NonZeroExitCode` and the exit code as cause `ExitCode`); v1–v3: the message text on failure —
 * half-closes its streams, resets stdin and resize, and waits for the client to close the
 * connection, so no output is cut off.
 *
 * WebSocket (`Sec-WebSocket-Protocol`, framing in websocket-channel.ts): channels 0 stdin, 1 stdout,
 * 2 stderr, 3 error, 4 resize; v5 adds the close signal `[255, channel]`. At the end the status goes
 * on channel 3 and the server sends a normal close frame.
 */
import { PassThrough, Writable, type Duplex, type Readable } from "node:stream";
import type { WebSocket } from "ws";
import type { ExecResult, ExecStreams, TerminalSize } from "../provider.js";
import type { Logger } from "../logger.js";
import { AsyncQueue, JsonObjectSplitter, messageOf } from "./http-util.js";
import { SpdyConnection, type SpdyStream } from "./spdy/connection.js";
import { openChannelSocket } from "./websocket-channel.js";

/** SPDY subprotocols, most preferred first (v5 over SPDY behaves as v4: SPDY half-closes natively). */
export const SPDY_REMOTECOMMAND_PROTOCOLS = [
  "v5.channel.k8s.io",
  "v4.channel.k8s.io",
  "v3.channel.k8s.io",
  "v2.channel.k8s.io",
  "channel.k8s.io",
] as const;

/** WebSocket subprotocols. */
export const WEBSOCKET_REMOTECOMMAND_PROTOCOLS = [
  "v5.channel.k8s.io",
  "v4.channel.k8s.io",
  "v4.base64.channel.k8s.io",
  "channel.k8s.io",
  "base64.channel.k8s.io",
] as const;

export interface RemoteCommandOptions {
  stdin: boolean;
  stdout: boolean;
  stderr: boolean;
  tty: boolean;
}

/** Runs the command (or attaches) with the session's streams; aborted when the client goes away. */
export type RemoteCommandRunner = (streams: ExecStreams, signal: AbortSignal) => Promise<ExecResult>;

export interface SessionOptions {
  run: RemoteCommandRunner;
  options: RemoteCommandOptions;
  protocol: string;
  logger: Logger;
  /** Time the client has to open its streams (SPDY). Default 30 s. */
  streamCreationTimeoutMs?: number;
  /** Time the client has to close the connection after the status was sent. Default 15 min. */
  finishTimeoutMs?: number;
  /** Idle timeout of the connection. Default 4 h (the kubelet's streamingConnectionIdleTimeout). */
  idleTimeoutMs?: number;
  onRawBytes?: (direction: "in" | "out", bytes: Buffer) => void;
}

interface StreamStatus {
  status: "Success" | "Failure";
  message?: string;
  reason?: string;
  details?: { causes: { reason: string; message: string }[] };
  code?: number;
}

function statusOf(result: ExecResult | undefined, error: unknown): StreamStatus {
  if (error !== undefined) {
    return {
      status: "Failure",
      reason: "InternalError",
      message: `Internal error occurred: error executing command in container: ${messageOf(error)}`,
      code: 500,
    };
  }
  const exitCode = result?.exitCode ?? 0;
  if (exitCode === 0) return { status: "Success" };
  return {
    status: "Failure",
    reason: "NonZeroExitCode",
    message: `command terminated with non-zero exit code: exit status ${exitCode}`,
    details: { causes: [{ reason: "ExitCode", message: String(exitCode) }] },
  };
}

/** The status bytes for a protocol: JSON from v4 on, the message text (failures only) before. */
function statusBytes(protocol: string, status: StreamStatus): Buffer | undefined {
  if (protocol.startsWith("v4.") || protocol.startsWith("v5.")) return Buffer.from(JSON.stringify(status));
  if (status.status === "Success") return undefined;
  return Buffer.from(status.message ?? "error");
}

function protocolVersion(protocol: string): number {
  const m = /^v(\d+)\./.exec(protocol);
  return m?.[1] === undefined ? 1 : Number(m[1]);
}

async function runAndReport(
  run: RemoteCommandRunner,
  streams: ExecStreams,
  signal: AbortSignal,
  logger: Logger,
): Promise<StreamStatus> {
  try {
    return statusOf(await run(streams, signal), undefined);
  } catch (error) {
    if (!signal.aborted) logger.warn({ error: messageOf(error) }, "exec/attach failed");
    return statusOf(undefined, error);
  }
}

function resizeQueue(
  source: Readable | undefined,
  onSize?: (size: TerminalSize) => void,
): AsyncQueue<TerminalSize> {
  const queue = new AsyncQueue<TerminalSize>();
  if (source === undefined) {
    queue.end();
    return queue;
  }
  const splitter = new JsonObjectSplitter();
  source.setEncoding("utf8");
  source.on("data", (chunk: string) => {
    for (const value of splitter.push(chunk)) {
      const v = value as { Width?: unknown; Height?: unknown };
      if (typeof v.Width === "number" && typeof v.Height === "number") {
        const size = { width: v.Width, height: v.Height };
        onSize?.(size);
        queue.push(size);
      }
    }
  });
  source.on("end", () => {
    queue.end();
  });
  source.on("close", () => {
    queue.end();
  });
  source.on("error", () => {
    queue.end();
  });
  return queue;
}

/** Wraps a stream so `end()` from the provider does not end it early (core ends it at finish). */
function outputOf(target: Writable): Writable {
  return new Writable({
    write(chunk: Buffer, _encoding, callback) {
      if (target.destroyed || target.writableEnded) {
        callback();
        return;
      }
      if (target.write(chunk)) callback();
      else {
        const done = (): void => {
          target.off("drain", done);
          target.off("close", done);
          callback();
        };
        target.on("drain", done);
        target.on("close", done);
      }
    },
  });
}

/**
 * Serves one SPDY remotecommand session on an upgraded connection (the 101 answer is already
 * written). Resolves when the session and the connection are over.
 */
export async function serveSpdyRemoteCommand(socket: Duplex, session: SessionOptions): Promise<void> {
  const { options, protocol, logger } = session;
  const version = protocolVersion(protocol);
  const streams = new Map<string, SpdyStream>();
  const expected =
    1 +
    (options.stdin ? 1 : 0) +
    (options.stdout ? 1 : 0) +
    (options.stderr ? 1 : 0) +
    (options.tty && version >= 3 ? 1 : 0);
  let gotAll!: () => void;
  const allStreams = new Promise<void>((resolve) => (gotAll = resolve));
  let replied = 0;
  const connection = new SpdyConnection(socket, {
    idleTimeoutMs: session.idleTimeoutMs ?? 4 * 60 * 60 * 1000,
    ...(session.onRawBytes === undefined ? {} : { onRawBytes: session.onRawBytes }),
    onStream: (stream) => {
      const type = stream.header("streamtype") ?? "";
      if (!["error", "stdin", "stdout", "stderr", "resize"].includes(type)) {
        logger.debug({ streamType: type }, "unexpected remotecommand stream type");
      } else streams.set(type, stream);
      void stream.replied.then(() => {
        replied++;
        if (replied === expected) gotAll();
      });
      return true;
    },
  });
  connection.on("error", () => undefined);
  const abort = new AbortController();
  connection.once("close", () => {
    abort.abort();
  });

  const timeout = session.streamCreationTimeoutMs ?? 30_000;
  let timer: NodeJS.Timeout | undefined;
  const timedOut = await Promise.race([
    allStreams.then(() => false),
    connection.whenClosed().then(() => true),
    new Promise<boolean>((resolve) => {
      timer = setTimeout(() => {
        resolve(true);
      }, timeout);
    }),
  ]);
  clearTimeout(timer);
  if (timedOut) {
    if (!connection.closed)
      logger.warn({ expected, received: streams.size }, "timed out waiting for client to create streams");
    connection.destroy();
    return;
  }

  const stdin = options.stdin ? streams.get("stdin") : undefined;
  const stdout = options.stdout ? streams.get("stdout") : undefined;
  const stderr = options.stderr && !options.tty ? streams.get("stderr") : undefined;
  const error = streams.get("error");
  const resize = options.tty ? streams.get("resize") : undefined;
  if (version === 1) stdin?.end(); // v1 clients never half-close stdin
  for (const s of [stdout, stderr, error, resize]) s?.on("error", () => undefined);
  stdin?.on("error", () => undefined);

  const execStreams: ExecStreams = {
    tty: options.tty,
    ...(stdin === undefined ? {} : { stdin }),
    ...(stdout === undefined ? {} : { stdout: outputOf(stdout) }),
    ...(stderr === undefined ? {} : { stderr: outputOf(stderr) }),
    ...(options.tty ? { resize: resizeQueue(resize) } : {}),
  };
  const status = await runAndReport(session.run, execStreams, abort.signal, logger);

  // finish: stop input, report, end output, let the client close.
  stdin?.reset();
  resize?.reset();
  const bytes = statusBytes(protocol, status);
  if (error !== undefined && !error.destroyed) {
    if (bytes !== undefined) error.write(bytes);
  }
  await Promise.allSettled(
    [stdout, stderr, error].map(
      (s) =>
        new Promise<void>((resolve) => {
          if (s === undefined || s.destroyed || s.writableEnded) {
            resolve();
            return;
          }
          s.end(() => {
            resolve();
          });
          s.once("close", () => {
            resolve();
          });
        }),
    ),
  );
  const finishTimer = setTimeout(
    () => {
      connection.destroy();
    },
    session.finishTimeoutMs ?? 15 * 60_000,
  );
  finishTimer.unref();
  await connection.whenClosed();
  clearTimeout(finishTimer);
}

/** Serves one WebSocket remotecommand session on an accepted WebSocket. */
export async function serveWebSocketRemoteCommand(ws: WebSocket, session: SessionOptions): Promise<void> {
  const { options, protocol, logger } = session;
  const abort = new AbortController();
  const stdin = options.stdin ? new PassThrough() : undefined;
  const resizeInput = options.tty ? new PassThrough() : undefined;
  const channels = openChannelSocket(ws, protocol, {
    closeSignal: protocol.startsWith("v5."),
    onClose: () => {
      abort.abort();
      stdin?.end();
      resizeInput?.end();
    },
    onCloseSignal: (channel) => {
      if (channel === 0) stdin?.end();
      else if (channel === 4) resizeInput?.end();
    },
    onData: (channel, payload) => {
      if (channel === 0 && stdin !== undefined && !stdin.writableEnded) stdin.write(payload);
      else if (channel === 4 && resizeInput !== undefined && !resizeInput.writableEnded)
        resizeInput.write(payload);
    },
  });

  // An empty message on the lowest writable channel tells the client the session is open.
  await channels.send(options.stdout ? 1 : options.stderr && !options.tty ? 2 : 3, Buffer.alloc(0));

  const execStreams: ExecStreams = {
    tty: options.tty,
    ...(stdin === undefined ? {} : { stdin }),
    ...(options.stdout ? { stdout: channels.writer(1) } : {}),
    ...(options.stderr && !options.tty ? { stderr: channels.writer(2) } : {}),
    ...(options.tty ? { resize: resizeQueue(resizeInput) } : {}),
  };
  const status = await runAndReport(session.run, execStreams, abort.signal, logger);
  const bytes = statusBytes(protocol, status);
  if (bytes !== undefined) await channels.send(3, bytes);
  channels.close();
  const finishTimer = setTimeout(
    () => {
      channels.terminate();
    },
    session.finishTimeoutMs ?? 15 * 60_000,
  );
  finishTimer.unref();
  await channels.closed;
  clearTimeout(finishTimer);
}
