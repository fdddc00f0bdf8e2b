/**
 * SPDY/3 name/value header blocks and their compression.
 *
 * A block is `count(32)` then, per header, `name-length(32) name value-length(32) value`, names in
 * lowercase, several values of one name joined with NUL. Each direction of a connection compresses
 * every block with one zlib stream (the SPDY/3 dictionary preset), flushed with Z_SYNC_FLUSH after
 * each block: a block can refer back to earlier ones, so blocks must be compressed and
 * decompressed in frame order — both classes serialize their calls.
 */
import * as zlib from "node:zlib";
import { SPDY3_DICTIONARY } from "./dictionary.js";
import { SpdyProtocolError } from "./frames.js";

/** Header names (lowercase) to their values. */
export type SpdyHeaders = Record<string, string[]>;

export interface HeaderLimits {
  /** Most headers in one block (default 1000, like spdystream). */
  maxCount?: number;
  /** Largest decompressed block (default 1 MiB). */
  maxBytes?: number;
}

/** First value of `name` (case-insensitive), or undefined. */
export function headerValue(headers: SpdyHeaders, name: string): string | undefined {
  return headers[name.toLowerCase()]?.[0];
}

export function encodeHeaderBlock(headers: SpdyHeaders): Buffer {
  const parts: Buffer[] = [];
  const names = Object.keys(headers);
  const count = Buffer.alloc(4);
  count.writeUInt32BE(names.length);
  parts.push(count);
  for (const rawName of names) {
    const name = Buffer.from(rawName.toLowerCase(), "utf8");
    const value = Buffer.from((headers[rawName] ?? []).join("\0"), "utf8");
    const nameLength = Buffer.alloc(4);
    nameLength.writeUInt32BE(name.length);
    const valueLength = Buffer.alloc(4);
    valueLength.writeUInt32BE(value.length);
    parts.push(nameLength, name, valueLength, value);
  }
  return Buffer.concat(parts);
}

export function decodeHeaderBlock(block: Buffer, limits: HeaderLimits = {}): SpdyHeaders {
  const maxCount = limits.maxCount ?? 1000;
  let at = 0;
  const read32 = (what: string): number => {
    if (at + 4 > block.length) throw new SpdyProtocolError(`header block truncated in ${what}`);
    const v = block.readUInt32BE(at);
    at += 4;
    return v;
  };
  const readBytes = (n: number, what: string): Buffer => {
    if (at + n > block.length) throw new SpdyProtocolError(`header block truncated in ${what}`);
    const b = block.subarray(at, at + n);
    at += n;
    return b;
  };
  const count = read32("count");
  if (count > maxCount) throw new SpdyProtocolError(`too many headers: ${count} > ${maxCount}`);
  const headers: SpdyHeaders = {};
  for (let i = 0; i < count; i++) {
    const nameLength = read32("name length");
    if (nameLength === 0) throw new SpdyProtocolError("empty header name");
    const name = readBytes(nameLength, "name").toString("utf8");
    if (name !== name.toLowerCase()) throw new SpdyProtocolError(`header name not lowercase: ${name}`);
    if (Object.hasOwn(headers, name)) throw new SpdyProtocolError(`duplicate header ${name}`);
    const valueLength = read32("value length");
    const value = readBytes(valueLength, "value").toString("utf8");
    headers[name] = value.split("\0");
  }
  if (at !== block.length) throw new SpdyProtocolError("trailing bytes after the header block");
  return headers;
}

/** Runs async jobs one after another. */
class Serial {
  #tail: Promise<unknown> = Promise.resolve();
  run<T>(job: () => Promise<T>): Promise<T> {
    const next = this.#tail.then(job, job);
    this.#tail = next.catch(() => undefined);
    return next;
  }
}

/** Compresses the header blocks one direction of a connection sends. */
export class HeaderCompressor {
  readonly #deflate = zlib.createDeflate({
    dictionary: SPDY3_DICTIONARY,
    level: zlib.constants.Z_BEST_COMPRESSION,
  });
  readonly #serial = new Serial();
  #out: Buffer[] = [];
  #error: Error | undefined;

  constructor() {
    this.#deflate.on("data", (chunk: Buffer) => this.#out.push(chunk));
    this.#deflate.on("error", (error: Error) => {
      this.#error = error;
    });
  }

  compress(headers: SpdyHeaders): Promise<Buffer> {
    const block = encodeHeaderBlock(headers);
    return this.#serial.run(
      () =>
        new Promise<Buffer>((resolve, reject) => {
          if (this.#error !== undefined) {
            reject(this.#error);
            return;
          }
          this.#deflate.write(block);
          this.#deflate.flush(zlib.constants.Z_SYNC_FLUSH, () => {
            if (this.#error !== undefined) reject(this.#error);
            else resolve(Buffer.concat(this.#out.splice(0)));
          });
        }),
    );
  }

  close(): void {
    this.#deflate.close();
  }
}

/** Decompresses the header blocks one direction of a connection receives. */
export class HeaderDecompressor {
  readonly #inflate = zlib.createInflate({ dictionary: SPDY3_DICTIONARY });
  readonly #serial = new Serial();
  readonly #limits: HeaderLimits;
  #out: Buffer[] = [];
  #outBytes = 0;
  #error: Error | undefined;
  #fail: ((error: Error) => void) | undefined;

  constructor(limits: HeaderLimits = {}) {
    this.#limits = limits;
    const maxBytes = limits.maxBytes ?? 1024 * 1024;
    this.#inflate.on("data", (chunk: Buffer) => {
      this.#outBytes += chunk.length;
      if (this.#outBytes > maxBytes) {
        this.#setError(new SpdyProtocolError(`header block larger than ${maxBytes} bytes`));
        return;
      }
      this.#out.push(chunk);
    });
    this.#inflate.on("error", (error: Error) => {
      this.#setError(new SpdyProtocolError(`header decompression failed: ${error.message}`));
    });
  }

  #setError(error: Error): void {
    this.#error ??= error;
    this.#fail?.(this.#error);
  }

  decompress(compressed: Buffer): Promise<SpdyHeaders> {
    return this.#serial.run(
      () =>
        new Promise<SpdyHeaders>((resolve, reject) => {
          if (this.#error !== undefined) {
            reject(this.#error);
            return;
          }
          this.#fail = reject;
          this.#inflate.write(compressed);
          this.#inflate.flush(zlib.constants.Z_SYNC_FLUSH, () => {
            this.#fail = undefined;
            const block = Buffer.concat(this.#out.splice(0));
            this.#outBytes = 0;
            if (this.#error !== undefined) {
              reject(this.#error);
              return;
            }
            try {
              resolve(decodeHeaderBlock(block, this.#limits));
            } catch (error) {
              reject(error instanceof Error ? error : new Error(String(error)));
            }
          });
        }),
    );
  }

  close(): void {
    this.#inflate.close();
  }
}
