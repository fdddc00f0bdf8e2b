/**
 * Container logs for clouds that only offer "give me log entries" calls (CloudWatch GetLogEvents,
 * ACI listLogs, Cloud Logging entries.list): kubelet-style line formatting, and one readable stream
 * that applies the kubelet's log options and follows by polling.
 */
import { PassThrough } from "node:stream";
import type { Readable } from "node:stream";
import { isRetryable, throwIfAborted } from "../errors.js";
import { systemClock } from "../clock.js";
import type { Clock } from "../clock.js";
import type { ContainerLogOptions } from "../provider.js";

/** One log line as the cloud returns it. */
export interface LogEntry {
  time: Date;
  /** Nanoseconds within the second (0–999 999 999), when the cloud is more precise than `time`. */
  nanos?: number;
  /** The line, without (or with one) trailing newline. */
  message: string;
  /** The cloud's unique id of the entry (CloudWatch `eventId`, Cloud Logging `insertId`), for de-duplication. */
  id?: string;
}

/** One answer of the cloud's log call. */
export interface LogPage {
  entries: readonly LogEntry[];
  /** Where the next call continues; absent keeps the previous cursor (the call is repeated). */
  cursor?: string;
  /** The cloud has more entries right now: fetch the next page at once instead of after the interval. */
  more?: boolean;
  /** No entries will ever follow (the container's run ended): a followed stream ends after this page. */
  end?: boolean;
}

/** What the stream will apply anyway; a fetcher may use it to ask the cloud for less. */
export interface LogFetchHints {
  /** The first read (no cursor yet). */
  initial: boolean;
  /** Entries before this time are dropped (from `sinceTime` or `sinceSeconds`). */
  sinceTime?: Date;
  /** Only the last N entries of the first read are kept. */
  tailLines?: number;
}

/** Reads one page of a container's log after `cursor` (`undefined`: from the start of what is kept). */
export type LogPageFetcher = (
  cursor: string | undefined,
  signal: AbortSignal,
  hints: LogFetchHints,
) => Promise<LogPage>;

/** Options of {@link followLogsByPolling}. */
export interface FollowLogsOptions {
  logOptions: ContainerLogOptions;
  /** Ends the stream (normally) and any fetch in progress. */
  signal: AbortSignal;
  clock?: Clock;
  /** Pause between polls while following. Default 1 s. */
  intervalMs?: number;
  /** Entries remembered for de-duplication before the oldest half is forgotten. Default 10 000. */
  maxRemembered?: number;
}

/** `YYYY-MM-DDTHH:MM:SS`, the fraction and the zone of an RFC 3339 time. */
const RFC3339 = /^(\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2})(?:\.(\d+))?([Zz]|[+-]\d{2}:\d{2})$/;

/**
 * RFC 3339 with up to nine fraction digits, trailing zeros trimmed, in UTC — Go's
 * `time.RFC3339Nano`, which the kubelet uses for `--timestamps` (`2026-12-01T20:38:50.123456789Z`).
 * `time` is a `Date` or epoch milliseconds; `nanos` (nanoseconds within the second), when given,
 * replaces the milliseconds of `time`.
 */
export function formatRFC3339Nano(time: Date | number, nanos?: number): string {
  const ms = typeof time === "number" ? time : time.getTime();
  const iso = new Date(ms).toISOString(); // 2026-01-02T03:04:05.678Z
  const seconds = iso.slice(0, 19);
  const fractionNs =
    nanos !== undefined && Number.isInteger(nanos) && nanos >= 0 && nanos < 1e9
      ? nanos
      : (((ms % 1000) + 1000) % 1000) * 1e6;
  const digits = String(fractionNs).padStart(9, "0").replace(/0+$/, "");
  return `${seconds}${digits === "" ? "" : `.${digits}`}Z`;
}

/**
 * Parses an RFC 3339 time with up to nanosecond precision (`...T20:38:50.123456789Z` or with an
 * offset) into a `LogEntry`'s `time` and `nanos`; `undefined` when `text` is not one.
 */
export function parseRFC3339Nano(text: string): { time: Date; nanos: number } | undefined {
  const match = RFC3339.exec(text.trim());
  if (match === null) return undefined;
  const [, base = "", fraction = "", zone = "Z"] = match;
  const secondsMs = Date.parse(`${base.replace(/[t ]/, "T")}${zone.toUpperCase()}`);
  if (Number.isNaN(secondsMs)) return undefined;
  const nanos = Number(fraction.slice(0, 9).padEnd(9, "0"));
  return { time: new Date(secondsMs + Math.floor(nanos / 1e6)), nanos };
}

/**
 * One kubelet log line: the message with a newline, prefixed by its RFC 3339 nanosecond time and a
 * space when `timestamps` is set. One trailing newline of the message is not doubled.
 */
export function formatLogLine(entry: LogEntry, timestamps: boolean): string {
  const message = entry.message.endsWith("\n") ? entry.message.slice(0, -1) : entry.message;
  return `${timestamps ? `${formatRFC3339Nano(entry.time, entry.nanos)} ` : ""}${message}\n`;
}

/** Nanoseconds since the epoch as a number: exact enough to order and compare entries. */
function instantOf(entry: LogEntry): number {
  const ms = entry.time.getTime();
  return entry.nanos === undefined ? ms * 1e6 : Math.floor(ms / 1000) * 1e9 + entry.nanos;
}

/** Remembers the entries already written, with bounded memory. */
class SeenEntries {
  readonly #keys = new Map<string, number>();
  /** Entries older than this were forgotten and count as seen. */
  #watermark = Number.NEGATIVE_INFINITY;

  constructor(private readonly max: number) {}

  /** True the first time an entry is offered. */
  add(entry: LogEntry): boolean {
    const instant = instantOf(entry);
    if (instant < this.#watermark) return false;
    const key = entry.id ?? `${String(instant)}|${entry.message}`;
    if (this.#keys.has(key)) return false;
    this.#keys.set(key, instant);
    if (this.#keys.size > this.max) this.#forgetOldestHalf();
    return true;
  }

  #forgetOldestHalf(): void {
    const instants = [...this.#keys.values()].sort((a, b) => a - b);
    const cut = instants[Math.floor(instants.length / 2)] ?? Number.NEGATIVE_INFINITY;
    for (const [key, instant] of this.#keys) if (instant < cut) this.#keys.delete(key);
    this.#watermark = Math.max(this.#watermark, cut);
  }
}

/** Until the consumer read enough, went away, or the log was stopped. */
function waitForDrain(out: PassThrough, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      out.off("drain", done);
      out.off("close", done);
      signal.removeEventListener("abort", done);
      resolve();
    };
    out.on("drain", done);
    out.on("close", done);
    signal.addEventListener("abort", done, { once: true });
  });
}

/**
 * A container's log as one readable stream over a page-fetching function, with the kubelet's
 * semantics: `sinceSeconds`/`sinceTime` drop older entries, `tailLines` keeps the last N of the
 * first read (all its pages, while `more`), entries are de-duplicated by `id` (or time + message)
 * across pages and polls, `timestamps` prefixes each line, `limitBytes` cuts the output (mid-line,
 * like the kubelet), and with `follow` (not for `previous`) it polls with the cursor every
 * `intervalMs` until the signal aborts, the consumer destroys the stream, or a page says `end`.
 *
 * Resolves once the first page is read, so a provider's typed error for it (`NotFoundError` for an
 * unknown container, `InvalidInputError` for "no previous run") rejects instead of breaking a
 * stream. Later, a retryable fetch error is retried at the next poll while following; any other
 * error ends a followed stream (the run or pod is gone) and destroys an unfollowed one.
 */
export async function followLogsByPolling(
  fetchPage: LogPageFetcher,
  options: FollowLogsOptions,
): Promise<Readable> {
  const { logOptions, signal } = options;
  throwIfAborted(signal);
  const clock = options.clock ?? systemClock;
  const intervalMs = options.intervalMs ?? 1000;
  const sinceMs =
    logOptions.sinceTime?.getTime() ??
    (logOptions.sinceSeconds === undefined ? undefined : clock.now() - logOptions.sinceSeconds * 1000);
  const sinceInstant = sinceMs === undefined ? undefined : sinceMs * 1e6;
  const tailLines = logOptions.tailLines;
  const follow = logOptions.follow && !logOptions.previous;

  // One signal for the fetches: the caller's, or the consumer going away.
  const controller = new AbortController();
  const stop = (): void => {
    controller.abort(signal.reason);
  };
  signal.addEventListener("abort", stop, { once: true });
  const fetchSignal = controller.signal;
  // A function so type narrowing does not assume it unchanged across awaits.
  const stopped = (): boolean => fetchSignal.aborted;

  const hints = (initial: boolean): LogFetchHints => ({
    initial,
    ...(sinceMs === undefined ? {} : { sinceTime: new Date(sinceMs) }),
    ...(initial && tailLines !== undefined ? { tailLines } : {}),
  });

  let first: LogPage;
  try {
    first = await fetchPage(undefined, fetchSignal, hints(true));
  } catch (error) {
    signal.removeEventListener("abort", stop);
    throw error;
  }

  const out = new PassThrough();
  out.on("close", stop);
  const seen = new SeenEntries(Math.max(2, options.maxRemembered ?? 10_000));
  let cursor = first.cursor;
  let written = 0;
  const limit = logOptions.limitBytes;

  const fresh = (entries: readonly LogEntry[]): LogEntry[] =>
    entries.filter((e) => (sinceInstant === undefined || instantOf(e) >= sinceInstant) && seen.add(e));

  /** Writes lines; false once the stream must end (limit reached or consumer gone). */
  const write = async (entries: readonly LogEntry[]): Promise<boolean> => {
    for (const entry of entries) {
      if (out.destroyed || fetchSignal.aborted) return false;
      let chunk = Buffer.from(formatLogLine(entry, logOptions.timestamps), "utf8");
      if (limit !== undefined && written + chunk.length > limit) chunk = chunk.subarray(0, limit - written);
      written += chunk.length;
      if (chunk.length > 0 && !out.write(chunk)) await waitForDrain(out, fetchSignal);
      if (limit !== undefined && written >= limit) return false;
    }
    return true;
  };

  /** Reads pages while the cloud says `more`; false once the stream must end. */
  const drain = async (page: LogPage, initial: boolean): Promise<boolean> => {
    // The first read with `tailLines` is held back: only its last N entries are written.
    const held =
      initial && tailLines !== undefined
        ? { tail: Math.max(0, tailLines), entries: [] as LogEntry[] }
        : undefined;
    let current = page;
    for (;;) {
      const entries = fresh(current.entries);
      if (held === undefined) {
        if (!(await write(entries))) return false;
      } else {
        held.entries.push(...entries);
        if (held.entries.length > 2 * held.tail + 1000)
          held.entries.splice(0, held.entries.length - held.tail);
      }
      if (current.end === true || current.more !== true) break;
      current = await fetchPage(cursor, fetchSignal, hints(initial));
      cursor = current.cursor ?? cursor;
    }
    if (held !== undefined && !(await write(held.tail === 0 ? [] : held.entries.slice(-held.tail))))
      return false;
    return current.end !== true;
  };

  const run = async (): Promise<void> => {
    let keepGoing = true;
    try {
      keepGoing = await drain(first, true);
    } catch (error) {
      if (fetchSignal.aborted) return;
      if (!follow) throw error; // an unfollowed read that broke off must not look complete
      if (!isRetryable(error)) return;
    }
    while (keepGoing && follow && !fetchSignal.aborted) {
      try {
        await clock.sleep(intervalMs, fetchSignal);
      } catch {
        return; // aborted: the stream ends normally
      }
      try {
        const page = await fetchPage(cursor, fetchSignal, hints(false));
        cursor = page.cursor ?? cursor;
        keepGoing = await drain(page, false);
      } catch (error) {
        // Transient trouble: try again at the next poll. Anything else: the run or pod is gone.
        if (stopped() || !isRetryable(error)) return;
      }
    }
  };

  run().then(
    () => {
      signal.removeEventListener("abort", stop);
      if (!out.destroyed) out.end();
    },
    (error: unknown) => {
      signal.removeEventListener("abort", stop);
      out.destroy(error instanceof Error ? error : new Error(String(error)));
    },
  );
  return out;
}
