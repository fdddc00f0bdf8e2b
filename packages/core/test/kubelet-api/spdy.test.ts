/**
 * The SPDY/3 framer: frames on bytes captured from real kubectl sessions (fixtures/), encode/decode
 * round trips, incremental parsing, header compression with the SPDY/3 dictionary, and the server
 * connection against a scripted client (no flow control, PING echo, RST, GOAWAY).
 */
import { createHash } from "node:crypto";
import { once } from "node:events";
import { existsSync, readFileSync } from "node:fs";
import { Duplex, PassThrough } from "node:stream";
import { describe, expect, it } from "vitest";
import { SPDY3_DICTIONARY } from "../../src/kubelet-api/spdy/dictionary.js";
import {
  FLAG_FIN,
  FrameParser,
  FrameType,
  RstStatus,
  SpdyProtocolError,
  encodeDataFrame,
  encodeGoAway,
  encodeHeadersFrame,
  encodePing,
  encodeRstStream,
  encodeSettings,
  encodeSynReply,
  encodeSynStream,
  encodeWindowUpdate,
  type Frame,
} from "../../src/kubelet-api/spdy/frames.js";
import {
  HeaderCompressor,
  HeaderDecompressor,
  decodeHeaderBlock,
  encodeHeaderBlock,
} from "../../src/kubelet-api/spdy/header-codec.js";
import { SpdyConnection, type SpdyStream } from "../../src/kubelet-api/spdy/connection.js";
import { parseCapture, type CapturedFrame } from "./spdy-capture-parse.js";

const fixture = (name: string): Buffer => readFileSync(new URL(`./fixtures/${name}`, import.meta.url));
const dataOf = (frames: CapturedFrame[], streamId: number | undefined): string =>
  Buffer.concat(
    frames.filter((f) => f.type === "data" && f.streamId === streamId).map((f) => f.data ?? Buffer.alloc(0)),
  ).toString();

describe("SPDY/3 dictionary", () => {
  it("is the published 1423-byte dictionary", () => {
    expect(SPDY3_DICTIONARY.length).toBe(1423);
    expect(createHash("sha256").update(SPDY3_DICTIONARY).digest("hex")).toBe(
      "51d27341373f923f3cd88e1eb7162aeaa3723d7585ff2399201dc06498407f02",
    );
  });
});

describe("frames captured from real kubectl sessions", () => {
  it("has the fixtures", () => {
    for (const name of ["exec-cat", "exec-exit7", "portforward-echo"])
      for (const side of ["client", "server"])
        expect(existsSync(new URL(`./fixtures/${name}.${side}.bin`, import.meta.url))).toBe(true);
  });

  it("exec -i cat (API server → node): SYN_STREAMs per channel, stdin with FIN, status", async () => {
    for (const chunk of [1, 7, 4096]) {
      const client = await parseCapture(fixture("exec-cat.client.bin"), chunk);
      const syns = client.filter((f) => f.type === "syn_stream");
      expect(syns.map((f) => f.headers?.streamtype?.[0]).sort()).toEqual([
        "error",
        "stderr",
        "stdin",
        "stdout",
      ]);
      for (const syn of syns) {
        expect((syn.streamId ?? 0) % 2).toBe(1); // client-initiated
        expect(Object.keys(syn.headers ?? {}).every((k) => k === k.toLowerCase())).toBe(true);
      }
      const stdin = syns.find((f) => f.headers?.streamtype?.[0] === "stdin");
      expect(dataOf(client, stdin?.streamId)).toBe("hello spdy\n");
      const fin = client.find(
        (f) => f.type === "data" && f.streamId === stdin?.streamId && (f.flags & FLAG_FIN) !== 0,
      );
      expect(fin).toBeDefined();
      // The Go peer never sends WINDOW_UPDATE.
      expect(client.some((f) => f.type === "window_update")).toBe(false);
    }
    const client = await parseCapture(fixture("exec-cat.client.bin"));
    const server = await parseCapture(fixture("exec-cat.server.bin"), 3);
    const ids = client.filter((f) => f.type === "syn_stream").map((f) => f.streamId);
    expect(server.filter((f) => f.type === "syn_reply").map((f) => f.streamId)).toEqual(ids);
    const stdout = client.find((f) => f.headers?.streamtype?.[0] === "stdout");
    expect(dataOf(server, stdout?.streamId)).toBe("hello spdy\n");
    const error = client.find((f) => f.headers?.streamtype?.[0] === "error");
    expect(JSON.parse(dataOf(server, error?.streamId))).toEqual({ status: "Success" });
  });

  it("exec exit 7: the status carries NonZeroExitCode and the ExitCode cause", async () => {
    const client = await parseCapture(fixture("exec-exit7.client.bin"));
    const server = await parseCapture(fixture("exec-exit7.server.bin"));
    const error = client.find((f) => f.headers?.streamtype?.[0] === "error");
    expect(JSON.parse(dataOf(server, error?.streamId))).toMatchObject({
      status: "Failure",
      reason: "NonZeroExitCode",
      details: { causes: [{ reason: "ExitCode", message: "7" }] },
    });
  });

  it("port-forward (kubectl → node): error then data stream with port and requestid", async () => {
    const client = await parseCapture(fixture("portforward-echo.client.bin"), 5);
    const server = await parseCapture(fixture("portforward-echo.server.bin"));
    const syns = client.filter((f) => f.type === "syn_stream");
    expect(
      syns.map((f) => [f.headers?.streamtype?.[0], f.headers?.port?.[0], f.headers?.requestid?.[0]]),
    ).toEqual([
      ["error", "8080", "0"],
      ["data", "8080", "0"],
    ]);
    expect(dataOf(client, syns[1]?.streamId)).toBe("ping over spdy");
    expect(dataOf(server, syns[1]?.streamId)).toBe("ping over spdy");
  });
});

describe("frame encoding", () => {
  const roundTrip = (bytes: Buffer): Frame[] => new FrameParser().push(bytes);

  it("round-trips every frame type", () => {
    const block = Buffer.from([1, 2, 3]);
    expect(roundTrip(encodeDataFrame(5, FLAG_FIN, Buffer.from("hi")))).toEqual([
      { type: "data", streamId: 5, flags: FLAG_FIN, data: Buffer.from("hi") },
    ]);
    expect(
      roundTrip(
        encodeSynStream({ streamId: 7, associatedToStreamId: 0, priority: 3, slot: 0, flags: 0 }, block),
      ),
    ).toEqual([
      {
        type: "syn_stream",
        streamId: 7,
        associatedToStreamId: 0,
        priority: 3,
        slot: 0,
        flags: 0,
        headerBlock: block,
      },
    ]);
    expect(roundTrip(encodeSynReply(7, FLAG_FIN, block))).toEqual([
      { type: "syn_reply", streamId: 7, flags: FLAG_FIN, headerBlock: block },
    ]);
    expect(roundTrip(encodeHeadersFrame(7, 0, block))).toEqual([
      { type: "headers", streamId: 7, flags: 0, headerBlock: block },
    ]);
    expect(roundTrip(encodeRstStream(9, RstStatus.Cancel))).toEqual([
      { type: "rst_stream", streamId: 9, status: 5 },
    ]);
    expect(roundTrip(encodeSettings(0, [{ flags: 1, id: 7, value: 65536 }]))).toEqual([
      { type: "settings", flags: 0, entries: [{ flags: 1, id: 7, value: 65536 }] },
    ]);
    expect(roundTrip(encodePing(0xfffffffe))).toEqual([{ type: "ping", id: 0xfffffffe }]);
    expect(roundTrip(encodeGoAway(11, 0))).toEqual([{ type: "goaway", lastGoodStreamId: 11, status: 0 }]);
    expect(roundTrip(encodeWindowUpdate(3, 1000))).toEqual([
      { type: "window_update", streamId: 3, deltaWindowSize: 1000 },
    ]);
  });

  it("writes the SPDY/3 control header: C bit, version 3, type, flags, 24-bit length", () => {
    const ping = encodePing(1);
    expect(ping.subarray(0, 8).toString("hex")).toBe("80030006" + "00000004");
    const data = encodeDataFrame(3, FLAG_FIN, Buffer.alloc(0x10203));
    expect(data.subarray(0, 8).toString("hex")).toBe("00000003" + "01010203");
  });

  it("parses byte by byte and across frame boundaries", () => {
    const bytes = Buffer.concat([
      encodePing(1),
      encodeDataFrame(1, 0, Buffer.from("abc")),
      encodeGoAway(1, 0),
    ]);
    const parser = new FrameParser();
    const frames: Frame[] = [];
    for (const b of bytes) frames.push(...parser.push(Buffer.from([b])));
    expect(frames.map((f) => f.type)).toEqual(["ping", "data", "goaway"]);
    expect(parser.pendingBytes).toBe(0);
  });

  it("keeps unknown control frames (to be ignored) and rejects malformed ones", () => {
    const unknown = Buffer.from("8003000a0000000200ff", "hex");
    expect(new FrameParser().push(unknown)).toMatchObject([{ type: "unknown", frameType: 10 }]);
    const otherVersion = Buffer.from("8002000600000004" + "00000001", "hex");
    expect(new FrameParser().push(otherVersion)).toMatchObject([{ type: "unknown", version: 2 }]);
    const shortPing = Buffer.from("8003000600000002" + "0000", "hex");
    expect(() => new FrameParser().push(shortPing)).toThrow(SpdyProtocolError);
    const huge = Buffer.from("8003000100ffffff", "hex");
    expect(() => new FrameParser({ maxControlPayload: 1024 }).push(huge)).toThrow(/exceeds/);
  });
});

describe("header blocks", () => {
  it("encodes counts, lengths and NUL-joined values; names lowercase", () => {
    const block = encodeHeaderBlock({ streamtype: ["stdout"], "X-Multi": ["a", "b"] });
    expect(block.toString("hex")).toBe(
      "00000002" +
        "0000000a" +
        Buffer.from("streamtype").toString("hex") +
        "00000006" +
        Buffer.from("stdout").toString("hex") +
        "00000007" +
        Buffer.from("x-multi").toString("hex") +
        "00000003" +
        "610062",
    );
    expect(decodeHeaderBlock(block)).toEqual({ streamtype: ["stdout"], "x-multi": ["a", "b"] });
  });

  it("rejects uppercase names, duplicates, truncation and too many headers", () => {
    const upper = Buffer.from("00000001" + "00000001" + "41" + "00000000", "hex");
    expect(() => decodeHeaderBlock(upper)).toThrow(/lowercase/);
    const dup = Buffer.concat([
      Buffer.from("00000002", "hex"),
      encodeHeaderBlock({ a: ["1"] }).subarray(4),
      encodeHeaderBlock({ a: ["2"] }).subarray(4),
    ]);
    expect(() => decodeHeaderBlock(dup)).toThrow(/duplicate/);
    expect(() => decodeHeaderBlock(Buffer.from("0000000100", "hex"))).toThrow(/truncated/);
    expect(() => decodeHeaderBlock(encodeHeaderBlock({ a: ["1"], b: ["2"] }), { maxCount: 1 })).toThrow(
      /too many/,
    );
  });

  it("compresses with one context per direction (later blocks refer to earlier ones)", async () => {
    const compressor = new HeaderCompressor();
    const decompressor = new HeaderDecompressor();
    const blocks: Record<string, string[]>[] = [
      { streamtype: ["error"], port: ["8080"], requestid: ["0"] },
      { streamtype: ["data"], port: ["8080"], requestid: ["0"] },
      {},
      { streamtype: ["data"], port: ["8080"], requestid: ["1"] },
    ];
    const compressed = await Promise.all(blocks.map((b) => compressor.compress(b)));
    // Repetition makes the later blocks smaller than the first.
    expect(compressed[3]?.length).toBeLessThan(compressed[0]?.length ?? 0);
    for (const [i, c] of compressed.entries()) {
      expect(c.subarray(-4).toString("hex")).toBe("0000ffff"); // Z_SYNC_FLUSH
      expect(await decompressor.decompress(c)).toEqual(blocks[i]);
    }
    compressor.close();
    decompressor.close();
  });

  it("fails cleanly on corrupt compressed data", async () => {
    const decompressor = new HeaderDecompressor();
    await expect(decompressor.decompress(Buffer.from("not zlib at all"))).rejects.toThrow(
      /decompression failed/,
    );
    await expect(decompressor.decompress(Buffer.from("x"))).rejects.toThrow();
    decompressor.close();
  });
});

/** A scripted SPDY client on one end of an in-memory socket pair. */
function socketPair(): [Duplex, Duplex] {
  const aToB = new PassThrough();
  const bToA = new PassThrough();
  const make = (readable: PassThrough, writable: PassThrough): Duplex =>
    new Duplex({
      read() {
        // fed by the readable below
      },
      write(chunk: Buffer, _e, cb) {
        writable.write(chunk, cb);
      },
      final(cb) {
        writable.end();
        cb();
      },
    });
  const a = make(bToA, aToB);
  const b = make(aToB, bToA);
  bToA.on("data", (c: Buffer) => a.push(c));
  bToA.on("end", () => a.push(null));
  aToB.on("data", (c: Buffer) => b.push(c));
  aToB.on("end", () => b.push(null));
  return [a, b];
}

class ScriptedClient {
  readonly compressor = new HeaderCompressor();
  readonly decompressor = new HeaderDecompressor();
  readonly parser = new FrameParser();
  readonly frames: Frame[] = [];
  constructor(readonly socket: Duplex) {
    socket.on("data", (c: Buffer) => this.frames.push(...this.parser.push(c)));
  }
  async syn(streamId: number, headers: Record<string, string[]>, flags = 0): Promise<void> {
    this.socket.write(
      encodeSynStream(
        { streamId, associatedToStreamId: 0, priority: 0, slot: 0, flags },
        await this.compressor.compress(headers),
      ),
    );
  }
  async waitFor(predicate: (f: Frame) => boolean, timeoutMs = 2000): Promise<Frame> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.frames.find(predicate);
      if (found !== undefined) return found;
      if (Date.now() > deadline)
        throw new Error(`frame not received; got ${JSON.stringify(this.frames.map((f) => f.type))}`);
      await new Promise((r) => setTimeout(r, 5));
    }
  }
  data(streamId: number): Buffer {
    return Buffer.concat(
      this.frames.flatMap((f) => (f.type === "data" && f.streamId === streamId ? [f.data] : [])),
    );
  }
}

describe("SpdyConnection (server side)", () => {
  it("replies to SYN_STREAM, echoes data without flow control, half-closes, answers PING", async () => {
    const [serverSide, clientSide] = socketPair();
    const streams: SpdyStream[] = [];
    const connection = new SpdyConnection(serverSide, {
      onStream: (stream) => {
        streams.push(stream);
        // echo server
        stream.on("data", (c: Buffer) => stream.write(c));
        stream.on("end", () => stream.end());
        return true;
      },
    });
    const client = new ScriptedClient(clientSide);
    await client.syn(1, { streamtype: ["data"], port: ["80"] });
    const reply = await client.waitFor((f) => f.type === "syn_reply");
    expect(reply).toMatchObject({ streamId: 1 });
    expect(await client.decompressor.decompress((reply as { headerBlock: Buffer }).headerBlock)).toEqual({});
    expect(streams[0]?.header("port")).toBe("80");
    // 256 KiB: four times the SPDY/3 initial window, never a WINDOW_UPDATE.
    const payload = Buffer.alloc(256 * 1024, 7);
    for (let at = 0; at < payload.length; at += 16 * 1024)
      clientSide.write(encodeDataFrame(1, 0, payload.subarray(at, at + 16 * 1024)));
    clientSide.write(encodeDataFrame(1, FLAG_FIN, Buffer.alloc(0)));
    await client.waitFor((f) => f.type === "data" && f.streamId === 1 && (f.flags & FLAG_FIN) !== 0, 5000);
    expect(client.data(1).equals(payload)).toBe(true);
    expect(client.frames.some((f) => f.type === "data" && f.data.length > 32 * 1024)).toBe(false);

    clientSide.write(encodePing(7));
    expect(await client.waitFor((f) => f.type === "ping")).toEqual({ type: "ping", id: 7 });
    clientSide.write(encodeSettings(0, [{ flags: 0, id: 7, value: 1 }]));
    clientSide.write(encodeWindowUpdate(1, 100));
    const closing = connection.close();
    expect(await client.waitFor((f) => f.type === "goaway")).toMatchObject({
      lastGoodStreamId: 1,
      status: 0,
    });
    clientSide.end();
    await closing;
    expect(connection.closed).toBe(true);
  });

  it("refuses invalid stream IDs, streams the handler rejects, and resets", async () => {
    const [serverSide, clientSide] = socketPair();
    const seen: SpdyStream[] = [];
    const connection = new SpdyConnection(serverSide, {
      onStream: (stream) => {
        seen.push(stream);
        return stream.header("ok") === "yes" ? true : false;
      },
    });
    const client = new ScriptedClient(clientSide);
    await client.syn(2, { ok: ["yes"] }); // even: server-initiated IDs only
    expect(await client.waitFor((f) => f.type === "rst_stream" && f.streamId === 2)).toMatchObject({
      status: RstStatus.ProtocolError,
    });
    await client.syn(3, { ok: ["no"] });
    expect(await client.waitFor((f) => f.type === "rst_stream" && f.streamId === 3)).toMatchObject({
      status: RstStatus.RefusedStream,
    });
    await client.syn(5, { ok: ["yes"] });
    await client.waitFor((f) => f.type === "syn_reply" && f.streamId === 5);
    const stream = seen.find((s) => s.id === 5);
    const closed = once(stream as SpdyStream, "close");
    clientSide.write(encodeRstStream(5, RstStatus.Cancel));
    await closed;
    expect(stream?.resetStatus).toBe(RstStatus.Cancel);
    expect(connection.streamCount).toBe(0);
    connection.destroy();
  });

  it("sends RST_STREAM CANCEL when the server resets, and closes on a protocol error", async () => {
    const [serverSide, clientSide] = socketPair();
    let stream: SpdyStream | undefined;
    const connection = new SpdyConnection(serverSide, {
      onStream: (s) => {
        stream = s;
        return true;
      },
    });
    const client = new ScriptedClient(clientSide);
    await client.syn(1, { streamtype: ["stdin"] });
    await client.waitFor((f) => f.type === "syn_reply");
    stream?.reset();
    expect(await client.waitFor((f) => f.type === "rst_stream")).toMatchObject({
      streamId: 1,
      status: RstStatus.Cancel,
    });
    const closed = connection.whenClosed();
    // A SYN_STREAM whose header block is not zlib data.
    clientSide.write(
      encodeSynStream(
        { streamId: 3, associatedToStreamId: 0, priority: 0, slot: 0, flags: 0 },
        Buffer.from("garbage"),
      ),
    );
    await closed;
    expect(connection.closed).toBe(true);
    expect(FrameType.GoAway).toBe(7);
  });
});
