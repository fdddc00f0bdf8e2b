/**
 * `/containerLogs/{namespace}/{pod}/{container}`: query parsing with the kubelet's rules
 * (`PodLogOptions` decoding and `ValidatePodLogOptions`), and streaming of the provider's log with
 * backpressure, one flush per chunk, `limitBytes` enforced, and the provider's stream destroyed
 * (and its signal aborted) as soon as the client goes away.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Readable } from "node:stream";
import type { ContainerLogOptions } from "../provider.js";
import { HttpError, parseGoBool } from "./http-util.js";

/** The kubelet answers options that fail validation with 422 Unprocessable Entity. */
const INVALID = 422;

/**
 * Parses and validates the log query like the kubelet: a value that does not decode (not a boolean,
 * not an integer, not an RFC 3339 time) is 400 Bad Request; options that decode but fail
 * `ValidatePodLogOptions` (negative tail, `limitBytes` < 1, `sinceSeconds` < 1, both `since*`) are
 * 422 Unprocessable Entity.
 */
export function parseLogOptions(query: URLSearchParams): ContainerLogOptions {
  const single = (name: string): string | undefined => {
    const values = query.getAll(name);
    return values.length === 0 ? undefined : values[0];
  };
  const bool = (name: string): boolean => {
    const v = single(name);
    if (v === undefined || v === "") return false;
    const parsed = parseGoBool(v);
    if (parsed === undefined)
      throw new HttpError(400, `invalid value for ${name}: ${JSON.stringify(v)} is not a boolean`);
    return parsed;
  };
  const int = (name: string): number | undefined => {
    const v = single(name);
    if (v === undefined || v === "") return undefined;
    if (!/^[-+]?\d+$/.test(v))
      throw new HttpError(400, `invalid value for ${name}: ${JSON.stringify(v)} is not an integer`);
    const n = Number(v);
    if (!Number.isSafeInteger(n)) throw new HttpError(400, `invalid value for ${name}: ${v} is out of range`);
    return n;
  };

  // Backwards compatibility: `tail=N` (and `tail=all`).
  let tailLines = int("tailLines");
  const tail = single("tail");
  if (tail !== undefined && tail !== "") {
    if (tail === "all") tailLines = undefined;
    else {
      if (!/^\d+$/.test(tail)) throw new HttpError(400, `invalid value for tail: ${JSON.stringify(tail)}`);
      tailLines = Number(tail);
    }
  }
  const options: ContainerLogOptions = {
    follow: bool("follow"),
    timestamps: bool("timestamps"),
    previous: bool("previous"),
  };
  if (tailLines !== undefined) {
    if (tailLines < 0)
      throw new HttpError(
        INVALID,
        `invalid value for tailLines: ${tailLines}: must be greater than or equal to 0`,
      );
    options.tailLines = tailLines;
  }
  const limitBytes = int("limitBytes");
  if (limitBytes !== undefined) {
    if (limitBytes < 1)
      throw new HttpError(INVALID, `invalid value for limitBytes: ${limitBytes}: must be greater than 0`);
    options.limitBytes = limitBytes;
  }
  const sinceSeconds = int("sinceSeconds");
  const sinceTimeText = single("sinceTime");
  if (sinceSeconds !== undefined && sinceTimeText !== undefined && sinceTimeText !== "")
    throw new HttpError(INVALID, "at most one of `sinceTime` or `sinceSeconds` may be specified");
  if (sinceSeconds !== undefined) {
    if (sinceSeconds < 1)
      throw new HttpError(INVALID, `invalid value for sinceSeconds: ${sinceSeconds}: must be greater than 0`);
    options.sinceSeconds = sinceSeconds;
  }
  if (sinceTimeText !== undefined && sinceTimeText !== "") {
    if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/.test(sinceTimeText))
      throw new HttpError(
        400,
        `invalid value for sinceTime: ${JSON.stringify(sinceTimeText)} is not an RFC 3339 time`,
      );
    const t = Date.parse(sinceTimeText);
    if (Number.isNaN(t))
      throw new HttpError(400, `invalid value for sinceTime: ${JSON.stringify(sinceTimeText)}`);
    options.sinceTime = new Date(t);
  }
  const stream = single("stream");
  if (stream !== undefined && stream !== "" && stream !== "All")
    throw new HttpError(
      400,
      `unable to return the given log stream: ${JSON.stringify(stream)}: this node serves the combined stream only`,
    );
  return options;
}

/**
 * Copies `source` to the response: writes each chunk as it comes (Node flushes every write of a
 * chunked response), waits for `drain` when the client is slow, stops at `limitBytes`, and
 * destroys the source when the client disconnects.
 */
export async function streamLog(
  req: IncomingMessage,
  res: ServerResponse,
  source: NodeJS.ReadableStream | Readable,
  limitBytes: number | undefined,
  onClientGone: () => void,
): Promise<void> {
  res.writeHead(200, {
    "content-type": "text/plain",
    "transfer-encoding": "chunked",
    "cache-control": "no-cache, private",
  });
  res.flushHeaders();
  req.socket.setNoDelay(true);
  const destroySource = (): void => {
    const s = source as Partial<Readable>;
    if (typeof s.destroy === "function") s.destroy();
  };
  const state = { gone: false };
  const onClose = (): void => {
    if (res.writableFinished) return;
    state.gone = true;
    onClientGone();
    destroySource();
  };
  res.on("close", onClose);
  let remaining = limitBytes ?? Infinity;
  try {
    for await (const raw of source as AsyncIterable<Buffer | string>) {
      if (state.gone) break;
      let chunk = typeof raw === "string" ? Buffer.from(raw) : raw;
      if (chunk.length > remaining) chunk = chunk.subarray(0, remaining);
      remaining -= chunk.length;
      if (chunk.length > 0 && !res.write(chunk)) {
        await new Promise<void>((resolve) => {
          const done = (): void => {
            res.off("drain", done);
            res.off("close", done);
            resolve();
          };
          res.on("drain", done);
          res.on("close", done);
        });
      }
      if (remaining <= 0) break;
    }
  } catch {
    // The provider's stream failed mid-way: end what was sent; headers are gone already.
  } finally {
    res.off("close", onClose);
    if (!state.gone) {
      destroySource();
      res.end();
    }
  }
}
