/** Parses one direction of a captured SPDY byte stream into frames with decompressed headers. */
import { FrameParser, type Frame as SpdyFrame } from "../../src/kubelet-api/spdy/frames.js";
import { HeaderDecompressor, type SpdyHeaders } from "../../src/kubelet-api/spdy/header-codec.js";

export interface CapturedFrame {
  type: SpdyFrame["type"];
  streamId?: number;
  flags: number;
  headers?: SpdyHeaders;
  data?: Buffer;
  frame: SpdyFrame;
}

/**
 * All frames of one direction, header blocks decompressed in order with one zlib context (as the
 * protocol requires). Feeds the bytes in `chunkSize` pieces to exercise the incremental parser.
 */
export async function parseCapture(bytes: Buffer, chunkSize = bytes.length || 1): Promise<CapturedFrame[]> {
  const parser = new FrameParser();
  const decompressor = new HeaderDecompressor();
  const frames: SpdyFrame[] = [];
  for (let at = 0; at < bytes.length; at += chunkSize)
    frames.push(...parser.push(bytes.subarray(at, at + chunkSize)));
  if (parser.pendingBytes !== 0) throw new Error(`${parser.pendingBytes} bytes of a partial frame left`);
  const out: CapturedFrame[] = [];
  try {
    for (const frame of frames) {
      const captured: CapturedFrame = { type: frame.type, flags: "flags" in frame ? frame.flags : 0, frame };
      if ("streamId" in frame) captured.streamId = frame.streamId;
      if (frame.type === "syn_stream" || frame.type === "syn_reply" || frame.type === "headers")
        captured.headers = await decompressor.decompress(frame.headerBlock);
      if (frame.type === "data") captured.data = frame.data;
      out.push(captured);
    }
  } finally {
    decompressor.close();
  }
  return out;
}
