/**
 * SPDY/3 frames: an incremental parser (bytes → frames) and encoders (frames → bytes). Pure and
 * synchronous; header blocks stay compressed here (see `header-codec.ts`).
 *
 * Wire format (SPDY/3 draft, section 2.2):
 * - control frame: `1 | version(15) | type(16) | flags(8) | length(24) | payload`
 * - data frame:    `0 | stream-id(31) | flags(8) | length(24) | payload`
 */

export const SPDY_VERSION = 3;

/** Control frame types. */
export const FrameType = {
  SynStream: 1,
  SynReply: 2,
  RstStream: 3,
  Settings: 4,
  Ping: 6,
  GoAway: 7,
  Headers: 8,
  WindowUpdate: 9,
} as const;

export const FLAG_FIN = 0x01;
export const FLAG_UNIDIRECTIONAL = 0x02;

/** RST_STREAM status codes. */
export const RstStatus = {
  ProtocolError: 1,
  InvalidStream: 2,
  RefusedStream: 3,
  UnsupportedVersion: 4,
  Cancel: 5,
  InternalError: 6,
  FlowControlError: 7,
  StreamInUse: 8,
  StreamAlreadyClosed: 9,
  FrameTooLarge: 11,
} as const;

/** GOAWAY status codes. */
export const GoAwayStatus = { Ok: 0, ProtocolError: 1, InternalError: 2 } as const;

/** The largest payload a frame can carry (24-bit length). */
export const MAX_FRAME_PAYLOAD = 0xffffff;

export interface DataFrame {
  type: "data";
  streamId: number;
  flags: number;
  data: Buffer;
}
export interface SynStreamFrame {
  type: "syn_stream";
  streamId: number;
  associatedToStreamId: number;
  priority: number;
  slot: number;
  flags: number;
  /** Compressed name/value header block. */
  headerBlock: Buffer;
}
export interface SynReplyFrame {
  type: "syn_reply";
  streamId: number;
  flags: number;
  headerBlock: Buffer;
}
export interface RstStreamFrame {
  type: "rst_stream";
  streamId: number;
  status: number;
}
export interface SettingsFrame {
  type: "settings";
  flags: number;
  entries: { flags: number; id: number; value: number }[];
}
export interface PingFrame {
  type: "ping";
  id: number;
}
export interface GoAwayFrame {
  type: "goaway";
  lastGoodStreamId: number;
  status: number;
}
export interface HeadersFrame {
  type: "headers";
  streamId: number;
  flags: number;
  headerBlock: Buffer;
}
export interface WindowUpdateFrame {
  type: "window_update";
  streamId: number;
  deltaWindowSize: number;
}
/** A control frame of a type SPDY/3 does not define (e.g. CREDENTIAL): to be ignored. */
export interface UnknownControlFrame {
  type: "unknown";
  version: number;
  frameType: number;
  flags: number;
  payload: Buffer;
}

export type Frame =
  | DataFrame
  | SynStreamFrame
  | SynReplyFrame
  | RstStreamFrame
  | SettingsFrame
  | PingFrame
  | GoAwayFrame
  | HeadersFrame
  | WindowUpdateFrame
  | UnknownControlFrame;

/** A malformed frame: the connection cannot continue (GOAWAY with PROTOCOL_ERROR). */
export class SpdyProtocolError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "SpdyProtocolError";
  }
}

function need(payload: Buffer, bytes: number, what: string): void {
  if (payload.length < bytes)
    throw new SpdyProtocolError(`${what} frame too short: ${payload.length} < ${bytes} bytes`);
}

/** Decodes one control frame's payload. */
export function decodeControlFrame(
  version: number,
  frameType: number,
  flags: number,
  payload: Buffer,
): Frame {
  if (version !== SPDY_VERSION)
    return { type: "unknown", version, frameType, flags, payload: Buffer.from(payload) };
  switch (frameType) {
    case FrameType.SynStream:
      need(payload, 10, "SYN_STREAM");
      return {
        type: "syn_stream",
        streamId: payload.readUInt32BE(0) & 0x7fffffff,
        associatedToStreamId: payload.readUInt32BE(4) & 0x7fffffff,
        priority: (payload.readUInt8(8) >> 5) & 0x07,
        slot: payload.readUInt8(9),
        flags,
        headerBlock: Buffer.from(payload.subarray(10)),
      };
    case FrameType.SynReply:
      need(payload, 4, "SYN_REPLY");
      return {
        type: "syn_reply",
        streamId: payload.readUInt32BE(0) & 0x7fffffff,
        flags,
        headerBlock: Buffer.from(payload.subarray(4)),
      };
    case FrameType.RstStream:
      need(payload, 8, "RST_STREAM");
      return {
        type: "rst_stream",
        streamId: payload.readUInt32BE(0) & 0x7fffffff,
        status: payload.readUInt32BE(4),
      };
    case FrameType.Settings: {
      need(payload, 4, "SETTINGS");
      const count = payload.readUInt32BE(0);
      need(payload, 4 + count * 8, "SETTINGS");
      const entries: SettingsFrame["entries"] = [];
      for (let i = 0; i < count; i++) {
        const at = 4 + i * 8;
        const word = payload.readUInt32BE(at);
        entries.push({ flags: word >>> 24, id: word & 0xffffff, value: payload.readUInt32BE(at + 4) });
      }
      return { type: "settings", flags, entries };
    }
    case FrameType.Ping:
      need(payload, 4, "PING");
      return { type: "ping", id: payload.readUInt32BE(0) };
    case FrameType.GoAway:
      need(payload, 8, "GOAWAY");
      return {
        type: "goaway",
        lastGoodStreamId: payload.readUInt32BE(0) & 0x7fffffff,
        status: payload.readUInt32BE(4),
      };
    case FrameType.Headers:
      need(payload, 4, "HEADERS");
      return {
        type: "headers",
        streamId: payload.readUInt32BE(0) & 0x7fffffff,
        flags,
        headerBlock: Buffer.from(payload.subarray(4)),
      };
    case FrameType.WindowUpdate:
      need(payload, 8, "WINDOW_UPDATE");
      return {
        type: "window_update",
        streamId: payload.readUInt32BE(0) & 0x7fffffff,
        deltaWindowSize: payload.readUInt32BE(4) & 0x7fffffff,
      };
    default:
      return { type: "unknown", version, frameType, flags, payload: Buffer.from(payload) };
  }
}

export interface FrameParserOptions {
  /** Largest control frame payload accepted (default 1 MiB); larger ones are a protocol error. */
  maxControlPayload?: number;
}

/**
 * Incremental parser: feed it bytes as they arrive, get whole frames back. Keeps at most one
 * partial frame buffered.
 */
export class FrameParser {
  #buffered: Buffer[] = [];
  #length = 0;
  readonly #maxControl: number;

  constructor(options: FrameParserOptions = {}) {
    this.#maxControl = options.maxControlPayload ?? 1024 * 1024;
  }

  /** Bytes received but not yet part of a whole frame. */
  get pendingBytes(): number {
    return this.#length;
  }

  push(chunk: Buffer): Frame[] {
    if (chunk.length > 0) {
      this.#buffered.push(chunk);
      this.#length += chunk.length;
    }
    const frames: Frame[] = [];
    for (;;) {
      if (this.#length < 8) break;
      const head = this.#peek(8);
      const first = head.readUInt32BE(0);
      const flagsAndLength = head.readUInt32BE(4);
      const flags = flagsAndLength >>> 24;
      const length = flagsAndLength & 0xffffff;
      const control = (first & 0x80000000) !== 0;
      if (control && length > this.#maxControl)
        throw new SpdyProtocolError(`control frame of ${length} bytes exceeds ${this.#maxControl}`);
      if (this.#length < 8 + length) break;
      const frame = this.#take(8 + length);
      const payload = frame.subarray(8);
      if (control) {
        const version = (first >>> 16) & 0x7fff;
        const frameType = first & 0xffff;
        frames.push(decodeControlFrame(version, frameType, flags, payload));
      } else {
        frames.push({ type: "data", streamId: first & 0x7fffffff, flags, data: Buffer.from(payload) });
      }
    }
    return frames;
  }

  #peek(n: number): Buffer {
    const first = this.#buffered[0];
    if (first !== undefined && first.length >= n) return first.subarray(0, n);
    const joined = Buffer.concat(this.#buffered, this.#length);
    this.#buffered = [joined];
    return joined.subarray(0, n);
  }

  #take(n: number): Buffer {
    const joined =
      this.#buffered.length === 1
        ? (this.#buffered[0] as Buffer)
        : Buffer.concat(this.#buffered, this.#length);
    const taken = joined.subarray(0, n);
    const rest = joined.subarray(n);
    this.#buffered = rest.length > 0 ? [rest] : [];
    this.#length = rest.length;
    return taken;
  }
}

function controlFrame(frameType: number, flags: number, payload: Buffer): Buffer {
  if (payload.length > MAX_FRAME_PAYLOAD) throw new RangeError(`control frame payload too large`);
  const head = Buffer.alloc(8);
  head.writeUInt32BE((0x8000 | SPDY_VERSION) * 0x10000 + frameType, 0);
  head.writeUInt32BE(flags * 0x1000000 + payload.length, 4);
  return Buffer.concat([head, payload]);
}

function u32(...values: number[]): Buffer {
  const b = Buffer.alloc(values.length * 4);
  values.forEach((v, i) => b.writeUInt32BE(v >>> 0, i * 4));
  return b;
}

export function encodeDataFrame(streamId: number, flags: number, data: Buffer): Buffer {
  if (data.length > MAX_FRAME_PAYLOAD) throw new RangeError("data frame payload too large");
  const head = Buffer.alloc(8);
  head.writeUInt32BE(streamId & 0x7fffffff, 0);
  head.writeUInt32BE(flags * 0x1000000 + data.length, 4);
  return data.length === 0 ? head : Buffer.concat([head, data]);
}

export function encodeSynStream(
  frame: Omit<SynStreamFrame, "type" | "headerBlock">,
  compressedHeaders: Buffer,
): Buffer {
  const fixed = Buffer.alloc(10);
  fixed.writeUInt32BE(frame.streamId & 0x7fffffff, 0);
  fixed.writeUInt32BE(frame.associatedToStreamId & 0x7fffffff, 4);
  fixed.writeUInt8((frame.priority & 0x07) << 5, 8);
  fixed.writeUInt8(frame.slot & 0xff, 9);
  return controlFrame(FrameType.SynStream, frame.flags, Buffer.concat([fixed, compressedHeaders]));
}

export function encodeSynReply(streamId: number, flags: number, compressedHeaders: Buffer): Buffer {
  return controlFrame(
    FrameType.SynReply,
    flags,
    Buffer.concat([u32(streamId & 0x7fffffff), compressedHeaders]),
  );
}

export function encodeHeadersFrame(streamId: number, flags: number, compressedHeaders: Buffer): Buffer {
  return controlFrame(
    FrameType.Headers,
    flags,
    Buffer.concat([u32(streamId & 0x7fffffff), compressedHeaders]),
  );
}

export function encodeRstStream(streamId: number, status: number): Buffer {
  return controlFrame(FrameType.RstStream, 0, u32(streamId & 0x7fffffff, status));
}

export function encodeSettings(flags: number, entries: SettingsFrame["entries"]): Buffer {
  const payload = Buffer.alloc(4 + entries.length * 8);
  payload.writeUInt32BE(entries.length, 0);
  entries.forEach((e, i) => {
    payload.writeUInt32BE(((e.flags & 0xff) * 0x1000000 + (e.id & 0xffffff)) >>> 0, 4 + i * 8);
    payload.writeUInt32BE(e.value >>> 0, 8 + i * 8);
  });
  return controlFrame(FrameType.Settings, flags, payload);
}

export function encodePing(id: number): Buffer {
  return controlFrame(FrameType.Ping, 0, u32(id));
}

export function encodeGoAway(lastGoodStreamId: number, status: number): Buffer {
  return controlFrame(FrameType.GoAway, 0, u32(lastGoodStreamId & 0x7fffffff, status));
}

export function encodeWindowUpdate(streamId: number, delta: number): Buffer {
  return controlFrame(FrameType.WindowUpdate, 0, u32(streamId & 0x7fffffff, delta & 0x7fffffff));
}
