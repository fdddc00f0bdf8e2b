/**
 * The server side of a SPDY/3.1 connection as Kubernetes uses it (spdystream): the peer opens
 * streams with SYN_STREAM (headers such as `streamtype`, `port`, `requestid`), the server answers
 * each with SYN_REPLY, and both sides exchange DATA until each half-closes (FIN) or resets.
 *
 * Deliberate choices, matching the Go peer:
 * - no flow control is enforced: the Go side never sends WINDOW_UPDATE, so a window would stall
 *   after 64 KiB; WINDOW_UPDATE and SETTINGS are accepted and ignored. Backpressure is TCP's: when
 *   a stream's reader falls behind, the socket is paused until it catches up;
 * - PINGs with odd IDs (client-initiated) are echoed; unknown control frames are ignored;
 * - header blocks are zlib-compressed with the SPDY/3 dictionary, one context per direction.
 */
import { EventEmitter, once } from "node:events";
import { Duplex } from "node:stream";
import {
  FLAG_FIN,
  FrameParser,
  GoAwayStatus,
  RstStatus,
  SpdyProtocolError,
  encodeDataFrame,
  encodeGoAway,
  encodePing,
  encodeRstStream,
  encodeSynReply,
  type Frame,
} from "./frames.js";
import { HeaderCompressor, HeaderDecompressor, type HeaderLimits, type SpdyHeaders } from "./header-codec.js";

/** Largest DATA frame this side writes (smaller frames let streams interleave). */
const MAX_DATA_CHUNK = 32 * 1024;

export interface SpdyConnectionOptions {
  /**
   * A new stream from the peer, called before its SYN_REPLY is sent. Return `false` to refuse it
   * (RST_STREAM REFUSED_STREAM); a thrown error refuses it too.
   */
  onStream: (stream: SpdyStream) => boolean | undefined;
  /** The raw bytes in each direction, for protocol captures ("in": from the peer). */
  onRawBytes?: (direction: "in" | "out", bytes: Buffer) => void;
  headerLimits?: HeaderLimits;
  /** Close the connection after this long without a frame in either direction. Default: never. */
  idleTimeoutMs?: number;
}

interface Pending {
  job: () => Buffer | Promise<Buffer>;
  resolve: () => void;
  reject: (error: Error) => void;
}

interface SpdyConnectionEvents {
  close: [error: Error | undefined];
  goaway: [lastGoodStreamId: number, status: number];
  error: [error: Error];
}

export class SpdyConnection extends EventEmitter<SpdyConnectionEvents> {
  readonly #socket: Duplex;
  readonly #options: SpdyConnectionOptions;
  readonly #parser = new FrameParser();
  readonly #compressor = new HeaderCompressor();
  readonly #decompressor: HeaderDecompressor;
  readonly #streams = new Map<number, SpdyStream>();
  readonly #blocked = new Set<SpdyStream>();
  readonly #inbox: Frame[] = [];
  #processing = false;
  readonly #outbox: Pending[] = [];
  #writing = false;
  #lastStreamId = 0;
  #goingAway = false;
  #closed = false;
  #pingId = 0;
  readonly #pings = new Map<number, () => void>();
  #idleTimer: NodeJS.Timeout | undefined;
  readonly #closedPromise: Promise<void>;

  constructor(socket: Duplex, options: SpdyConnectionOptions) {
    super();
    this.#socket = socket;
    this.#options = options;
    this.#decompressor = new HeaderDecompressor(options.headerLimits);
    this.#closedPromise = new Promise((resolve) => {
      this.once("close", () => {
        resolve();
      });
    });
    socket.on("data", (chunk: Buffer) => {
      this.#onData(chunk);
    });
    socket.on("end", () => {
      this.#shutdown();
    });
    socket.on("close", () => {
      this.#shutdown();
    });
    socket.on("error", (error: Error) => {
      this.#shutdown(error);
    });
    this.#touch();
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Open streams (not yet closed in both directions nor reset). */
  get streamCount(): number {
    return this.#streams.size;
  }

  /** Resolves once the transport is closed. */
  whenClosed(): Promise<void> {
    return this.#closedPromise;
  }

  /** Sends a PING and resolves with the round trip in milliseconds. */
  async ping(timeoutMs = 10_000): Promise<number> {
    this.#pingId += 2; // server-initiated pings have even IDs
    const id = this.#pingId;
    const started = performance.now();
    const answered = new Promise<void>((resolve) => this.#pings.set(id, resolve));
    await this.#send(() => encodePing(id));
    const timer = new Promise<never>((_, reject) =>
      setTimeout(() => {
        reject(new Error("SPDY ping timed out"));
      }, timeoutMs).unref(),
    );
    try {
      await Promise.race([
        answered,
        timer,
        this.#closedPromise.then(() => Promise.reject(new Error("closed"))),
      ]);
    } finally {
      this.#pings.delete(id);
    }
    return performance.now() - started;
  }

  /** Sends GOAWAY: the peer must open no more streams. */
  goAway(status: number = GoAwayStatus.Ok): Promise<void> {
    this.#goingAway = true;
    return this.#send(() => encodeGoAway(this.#lastStreamId, status)).catch(() => undefined);
  }

  /** GOAWAY, then closes the transport once everything queued is written. */
  async close(): Promise<void> {
    if (this.#closed) return;
    await this.goAway();
    await this.#send(() => Buffer.alloc(0)).catch(() => undefined);
    this.#socket.end();
    const timer = setTimeout(() => this.#socket.destroy(), 5000);
    timer.unref();
    await this.#closedPromise;
    clearTimeout(timer);
  }

  /** Tears the transport down at once. */
  destroy(error?: Error): void {
    this.#socket.destroy();
    this.#shutdown(error);
  }

  // ---- receiving -------------------------------------------------------------------------------

  #onData(chunk: Buffer): void {
    if (this.#closed) return;
    this.#touch();
    let frames: Frame[];
    try {
      frames = this.#parser.push(chunk);
    } catch (error) {
      this.#protocolError(error);
      return;
    }
    if (this.#options.onRawBytes !== undefined) this.#options.onRawBytes("in", chunk);
    this.#inbox.push(...frames);
    if (!this.#processing) void this.#process();
  }

  async #process(): Promise<void> {
    this.#processing = true;
    try {
      while (this.#inbox.length > 0 && !this.#closed) {
        const frame = this.#inbox.shift();
        if (frame === undefined) break;
        await this.#handle(frame);
      }
    } catch (error) {
      this.#protocolError(error);
    } finally {
      this.#processing = false;
    }
  }

  async #handle(frame: Frame): Promise<void> {
    switch (frame.type) {
      case "data": {
        const stream = this.#streams.get(frame.streamId);
        if (stream === undefined) return; // reset or finished: drop, as spdystream does
        stream._receive(frame.data, (frame.flags & FLAG_FIN) !== 0);
        return;
      }
      case "syn_stream": {
        const headers = await this.#decompressor.decompress(frame.headerBlock);
        const id = frame.streamId;
        if (id === 0 || id % 2 === 0 || id <= this.#lastStreamId) {
          void this.#send(() => encodeRstStream(id, RstStatus.ProtocolError)).catch(() => undefined);
          return;
        }
        this.#lastStreamId = id;
        if (this.#goingAway) {
          void this.#send(() => encodeRstStream(id, RstStatus.RefusedStream)).catch(() => undefined);
          return;
        }
        const stream = new SpdyStream(this, id, headers);
        this.#streams.set(id, stream);
        let accepted: boolean | undefined;
        try {
          accepted = this.#options.onStream(stream);
        } catch {
          accepted = false;
        }
        if (accepted === false) {
          this.#streams.delete(id);
          stream._refused();
          void this.#send(() => encodeRstStream(id, RstStatus.RefusedStream)).catch(() => undefined);
          return;
        }
        stream._setReplied(
          this.#send(async () => encodeSynReply(id, 0, await this.#compressor.compress({}))),
        );
        if ((frame.flags & FLAG_FIN) !== 0) stream._receive(Buffer.alloc(0), true);
        return;
      }
      case "headers": {
        // Consume the block to keep the compression context in step; Kubernetes sends none.
        const headers = await this.#decompressor.decompress(frame.headerBlock);
        const stream = this.#streams.get(frame.streamId);
        if (stream === undefined) return;
        stream.emit("headers", headers);
        if ((frame.flags & FLAG_FIN) !== 0) stream._receive(Buffer.alloc(0), true);
        return;
      }
      case "syn_reply":
        // We never open streams; keep the compression context in step and ignore it.
        await this.#decompressor.decompress(frame.headerBlock);
        return;
      case "rst_stream": {
        const stream = this.#streams.get(frame.streamId);
        if (stream === undefined) return;
        this.#streams.delete(frame.streamId);
        stream._resetByPeer(frame.status);
        return;
      }
      case "ping":
        if (frame.id % 2 === 1) void this.#send(() => encodePing(frame.id)).catch(() => undefined);
        else this.#pings.get(frame.id)?.();
        return;
      case "goaway":
        this.#goingAway = true;
        this.emit("goaway", frame.lastGoodStreamId, frame.status);
        return;
      case "settings":
      case "window_update":
      case "unknown":
        return;
    }
  }

  #protocolError(error: unknown): void {
    if (this.#closed) return;
    const reason = error instanceof Error ? error : new Error(String(error));
    const status =
      error instanceof SpdyProtocolError ? GoAwayStatus.ProtocolError : GoAwayStatus.InternalError;
    void this.goAway(status).finally(() => {
      this.#socket.end();
    });
    this.#shutdown(reason);
  }

  // ---- sending ---------------------------------------------------------------------------------

  /** Queues bytes for the transport, in order; resolves once the transport accepted them. */
  #send(job: () => Buffer | Promise<Buffer>): Promise<void> {
    if (this.#closed) return Promise.reject(new Error("SPDY connection closed"));
    return new Promise<void>((resolve, reject) => {
      this.#outbox.push({ job, resolve, reject });
      if (!this.#writing) void this.#flush();
    });
  }

  async #flush(): Promise<void> {
    this.#writing = true;
    try {
      while (this.#outbox.length > 0) {
        const item = this.#outbox.shift();
        if (item === undefined) break;
        if (this.#closed || this.#socket.destroyed) {
          item.reject(new Error("SPDY connection closed"));
          continue;
        }
        try {
          const bytes = await item.job();
          if (bytes.length > 0) {
            this.#touch();
            this.#options.onRawBytes?.("out", bytes);
            if (!this.#socket.write(bytes)) await this.#drained();
          }
          item.resolve();
        } catch (error) {
          item.reject(error instanceof Error ? error : new Error(String(error)));
        }
      }
    } finally {
      this.#writing = false;
    }
  }

  async #drained(): Promise<void> {
    if (this.#socket.destroyed) return;
    const ac = new AbortController();
    try {
      await Promise.race([
        once(this.#socket, "drain", { signal: ac.signal }),
        once(this.#socket, "close", { signal: ac.signal }),
      ]);
    } catch {
      // closed meanwhile
    } finally {
      ac.abort();
    }
  }

  /** @internal */
  _sendData(streamId: number, data: Buffer, fin: boolean): Promise<void> {
    if (data.length <= MAX_DATA_CHUNK)
      return this.#send(() => encodeDataFrame(streamId, fin ? FLAG_FIN : 0, data));
    const writes: Promise<void>[] = [];
    for (let at = 0; at < data.length; at += MAX_DATA_CHUNK) {
      const last = at + MAX_DATA_CHUNK >= data.length;
      const part = data.subarray(at, at + MAX_DATA_CHUNK);
      writes.push(this.#send(() => encodeDataFrame(streamId, last && fin ? FLAG_FIN : 0, part)));
    }
    return Promise.all(writes).then(() => undefined);
  }

  /** @internal */
  _sendReset(streamId: number, status: number): void {
    this.#streams.delete(streamId);
    void this.#send(() => encodeRstStream(streamId, status)).catch(() => undefined);
  }

  /** @internal */
  _finished(stream: SpdyStream): void {
    this.#streams.delete(stream.id);
    this._unblock(stream);
  }

  /** @internal A stream's reader is full: stop reading the transport until it drains. */
  _block(stream: SpdyStream): void {
    this.#blocked.add(stream);
    this.#socket.pause();
  }

  /** @internal */
  _unblock(stream: SpdyStream): void {
    if (!this.#blocked.delete(stream)) return;
    if (this.#blocked.size === 0 && !this.#closed) this.#socket.resume();
  }

  #touch(): void {
    const ms = this.#options.idleTimeoutMs;
    if (ms === undefined || ms <= 0) return;
    if (this.#idleTimer === undefined) {
      this.#idleTimer = setTimeout(() => {
        this.destroy(new Error(`SPDY connection idle for ${ms} ms`));
      }, ms);
      this.#idleTimer.unref();
    } else this.#idleTimer.refresh();
  }

  #shutdown(error?: Error): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#idleTimer !== undefined) clearTimeout(this.#idleTimer);
    for (const item of this.#outbox.splice(0)) item.reject(new Error("SPDY connection closed"));
    for (const stream of [...this.#streams.values()]) stream._connectionClosed();
    this.#streams.clear();
    this.#blocked.clear();
    this.#compressor.close();
    this.#decompressor.close();
    if (!this.#socket.destroyed) this.#socket.destroy();
    if (error !== undefined && this.listenerCount("error") > 0) this.emit("error", error);
    this.emit("close", error);
  }
}

/**
 * One SPDY stream as a Node Duplex: reading gives the peer's DATA (EOF at its FIN), writing sends
 * DATA, `end()` sends FIN, `reset()` sends RST_STREAM. Writes wait for the SYN_REPLY.
 */
export class SpdyStream extends Duplex {
  readonly id: number;
  readonly headers: SpdyHeaders;
  readonly #connection: SpdyConnection;
  #replied: Promise<void> = Promise.resolve();
  #remoteFin = false;
  #localFin = false;
  #reset = false;
  /** RST_STREAM status the peer sent, if it reset the stream. */
  resetStatus: number | undefined;

  constructor(connection: SpdyConnection, id: number, headers: SpdyHeaders) {
    super({ allowHalfOpen: true });
    this.#connection = connection;
    this.id = id;
    this.headers = headers;
  }

  /** First value of a (lowercase) header. */
  header(name: string): string | undefined {
    return this.headers[name.toLowerCase()]?.[0];
  }

  /** Resolves once the SYN_REPLY is written. */
  get replied(): Promise<void> {
    return this.#replied;
  }

  get isReset(): boolean {
    return this.#reset;
  }

  /** Closes both directions abruptly (RST_STREAM, CANCEL by default). */
  reset(status: number = RstStatus.Cancel): void {
    if (this.#reset) return;
    this.#reset = true;
    this.#connection._sendReset(this.id, status);
    this.#connection._unblock(this);
    if (!this.readableEnded) this.push(null);
    this.destroy();
  }

  /** @internal */
  _setReplied(replied: Promise<void>): void {
    this.#replied = replied;
    replied.catch(() => undefined);
  }

  /** @internal */
  _receive(data: Buffer, fin: boolean): void {
    if (this.#remoteFin || this.#reset) return;
    if (data.length > 0 && !this.push(data)) this.#connection._block(this);
    if (fin) {
      this.#remoteFin = true;
      this.push(null);
      this.#maybeFinished();
    }
  }

  /** @internal */
  _refused(): void {
    this.#reset = true;
    this.destroy();
  }

  /** @internal */
  _resetByPeer(status: number): void {
    this.#reset = true;
    this.resetStatus = status;
    this.#connection._unblock(this);
    if (!this.readableEnded) this.push(null);
    this.destroy();
  }

  /** @internal */
  _connectionClosed(): void {
    if (!this.#remoteFin && !this.#reset) this.push(null);
    this.#reset = true;
    this.destroy();
  }

  override _read(): void {
    this.#connection._unblock(this);
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    if (this.#reset) {
      callback(new Error("stream was reset"));
      return;
    }
    this.#replied
      .then(() => this.#connection._sendData(this.id, chunk, false))
      .then(
        () => {
          callback();
        },
        (error: unknown) => {
          callback(error instanceof Error ? error : new Error(String(error)));
        },
      );
  }

  override _final(callback: (error?: Error | null) => void): void {
    if (this.#reset) {
      callback();
      return;
    }
    this.#replied
      .then(() => this.#connection._sendData(this.id, Buffer.alloc(0), true))
      .then(
        () => {
          this.#localFin = true;
          this.#maybeFinished();
          callback();
        },
        (error: unknown) => {
          callback(error instanceof Error ? error : new Error(String(error)));
        },
      );
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    if (!this.#reset && !(this.#localFin && this.#remoteFin) && !this.#connection.closed) {
      this.#reset = true;
      this.#connection._sendReset(this.id, RstStatus.Cancel);
    }
    this.#connection._finished(this);
    callback(error);
  }

  #maybeFinished(): void {
    if (this.#localFin && this.#remoteFin) this.#connection._finished(this);
  }
}
