import type { Readable } from "node:stream";
import { describe, expect, it } from "vitest";
import { FakeClock, InvalidInputError, NotFoundError, RetryableError } from "@virtual-node/core";
import type { ContainerLogOptions } from "@virtual-node/core";
import {
  followLogsByPolling,
  formatLogLine,
  formatRFC3339Nano,
  parseRFC3339Nano,
} from "@virtual-node/core/provider-kit";
import type { LogEntry, LogFetchHints, LogPage } from "@virtual-node/core/provider-kit";

const T0 = Date.UTC(2024, 0, 1); // FakeClock's start

const base: ContainerLogOptions = { follow: false, timestamps: false, previous: false };

const entry = (second: number, message: string, extra: Partial<LogEntry> = {}): LogEntry => ({
  time: new Date(T0 + second * 1000),
  message,
  ...extra,
});

/** Collects what a stream emits, and whether (and how) it ended. */
function collect(stream: Readable): { text: () => string; ended: Promise<"end" | Error> } {
  const chunks: Buffer[] = [];
  stream.on("data", (chunk: Buffer) => chunks.push(chunk));
  const ended = new Promise<"end" | Error>((resolve) => {
    stream.on("end", () => {
      resolve("end");
    });
    stream.on("error", resolve);
  });
  return { text: () => Buffer.concat(chunks).toString("utf8"), ended };
}

const settle = async (): Promise<void> => {
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
};

/** A cloud log: an array of entries, read in pages of `pageSize` after a numeric cursor. */
class FakeLog {
  entries: LogEntry[] = [];
  calls: { cursor: string | undefined; hints: LogFetchHints }[] = [];
  pageSize = 1000;
  ended = false;
  fail: Error[] = [];
  lastSignal: AbortSignal | undefined;

  fetch = (cursor: string | undefined, signal: AbortSignal, hints: LogFetchHints): Promise<LogPage> => {
    this.calls.push({ cursor, hints });
    this.lastSignal = signal;
    const error = this.fail.shift();
    if (error !== undefined) return Promise.reject(error);
    const from = cursor === undefined ? 0 : Number(cursor);
    const page = this.entries.slice(from, from + this.pageSize);
    const next = from + page.length;
    return Promise.resolve({
      entries: page,
      cursor: String(next),
      more: next < this.entries.length,
      ...(this.ended && next >= this.entries.length ? { end: true } : {}),
    });
  };
}

describe("formatRFC3339Nano / parseRFC3339Nano / formatLogLine", () => {
  it("formats like Go's RFC3339Nano", () => {
    expect(formatRFC3339Nano(new Date("2026-12-01T20:38:50.123Z"))).toBe("2026-12-01T20:38:50.123Z");
    expect(formatRFC3339Nano(Date.parse("2026-01-02T03:04:05.120Z"))).toBe("2026-01-02T03:04:05.12Z");
    expect(formatRFC3339Nano(Date.parse("2026-01-02T03:04:05.000Z"))).toBe("2026-01-02T03:04:05Z");
    expect(formatRFC3339Nano(new Date("2026-12-01T20:38:50.123Z"), 123_456_789)).toBe(
      "2026-12-01T20:38:50.123456789Z",
    );
    expect(formatRFC3339Nano(new Date("2026-12-01T20:38:50Z"), 5)).toBe("2026-12-01T20:38:50.000000005Z");
  });

  it("parses nanosecond times and offsets, and round-trips", () => {
    const parsed = parseRFC3339Nano("2026-12-01T20:38:50.123456789Z");
    expect(parsed).toEqual({ time: new Date("2026-12-01T20:38:50.123Z"), nanos: 123_456_789 });
    if (parsed === undefined) throw new Error("unparsed");
    expect(formatRFC3339Nano(parsed.time, parsed.nanos)).toBe("2026-12-01T20:38:50.123456789Z");
    expect(parseRFC3339Nano("2026-12-01T21:38:50.5+01:00")).toEqual({
      time: new Date("2026-12-01T20:38:50.500Z"),
      nanos: 500_000_000,
    });
    expect(parseRFC3339Nano("yesterday")).toBeUndefined();
  });

  it("formats a kubelet log line", () => {
    const e = entry(1, "hello", { nanos: 7 });
    expect(formatLogLine(e, false)).toBe("hello\n");
    expect(formatLogLine(e, true)).toBe("2024-01-01T00:00:01.000000007Z hello\n");
    expect(formatLogLine(entry(1, "done\n"), false)).toBe("done\n");
    expect(formatLogLine(entry(1, "two\nlines"), false)).toBe("two\nlines\n");
  });
});

describe("followLogsByPolling", () => {
  it("reads every page of the first read and ends without follow", async () => {
    const clock = new FakeClock();
    const log = new FakeLog();
    log.pageSize = 2;
    log.entries = [entry(1, "a"), entry(2, "b"), entry(3, "c"), entry(4, "d"), entry(5, "e")];
    const out = collect(
      await followLogsByPolling(log.fetch, {
        logOptions: { ...base, timestamps: true },
        signal: new AbortController().signal,
        clock,
      }),
    );
    expect(await out.ended).toBe("end");
    expect(out.text()).toBe(
      [1, 2, 3, 4, 5].map((s, i) => `2024-01-01T00:00:0${s}Z ${"abcde"[i] ?? ""}\n`).join(""),
    );
    expect(log.calls.map((c) => c.cursor)).toEqual([undefined, "2", "4"]);
  });

  it("keeps the last tailLines of the whole first read", async () => {
    const log = new FakeLog();
    log.pageSize = 2;
    log.entries = [entry(1, "a"), entry(2, "b"), entry(3, "c"), entry(4, "d"), entry(5, "e")];
    const signal = new AbortController().signal;
    const out = collect(
      await followLogsByPolling(log.fetch, { logOptions: { ...base, tailLines: 3 }, signal }),
    );
    expect(await out.ended).toBe("end");
    expect(out.text()).toBe("c\nd\ne\n");
    expect(log.calls[0]?.hints).toEqual({ initial: true, tailLines: 3 });

    const none = collect(
      await followLogsByPolling(log.fetch, { logOptions: { ...base, tailLines: 0 }, signal }),
    );
    expect(await none.ended).toBe("end");
    expect(none.text()).toBe("");
  });

  it("drops entries before sinceSeconds (on the clock) and sinceTime", async () => {
    const clock = new FakeClock(T0 + 10_000);
    const log = new FakeLog();
    log.entries = [entry(1, "old"), entry(6, "edge"), entry(8, "new")];
    const signal = new AbortController().signal;
    const out = collect(
      await followLogsByPolling(log.fetch, { logOptions: { ...base, sinceSeconds: 4 }, signal, clock }),
    );
    expect(await out.ended).toBe("end");
    expect(out.text()).toBe("edge\nnew\n");
    expect(log.calls[0]?.hints.sinceTime).toEqual(new Date(T0 + 6000));

    const since = collect(
      await followLogsByPolling(log.fetch, {
        logOptions: { ...base, sinceTime: new Date(T0 + 7000) },
        signal,
        clock,
      }),
    );
    expect(await since.ended).toBe("end");
    expect(since.text()).toBe("new\n");
  });

  it("follows with the cursor on the clock until the signal aborts", async () => {
    const clock = new FakeClock();
    const log = new FakeLog();
    log.entries = [entry(1, "a")];
    const controller = new AbortController();
    const out = collect(
      await followLogsByPolling(log.fetch, {
        logOptions: { ...base, follow: true },
        signal: controller.signal,
        clock,
        intervalMs: 500,
      }),
    );
    await settle();
    expect(out.text()).toBe("a\n");
    log.entries.push(entry(2, "b"), entry(3, "c"));
    await clock.advanceAsync(499);
    expect(out.text()).toBe("a\n");
    await clock.advanceAsync(1);
    await settle();
    expect(out.text()).toBe("a\nb\nc\n");
    expect(log.calls.at(-1)).toEqual({ cursor: "1", hints: { initial: false } });
    await clock.advanceAsync(500);
    await settle();
    expect(log.calls).toHaveLength(3);
    controller.abort();
    expect(await out.ended).toBe("end");
    expect(out.text()).toBe("a\nb\nc\n");
    await clock.advanceAsync(5000);
    expect(log.calls).toHaveLength(3);
  });

  it("ends a followed stream when a page says end", async () => {
    const clock = new FakeClock();
    const log = new FakeLog();
    log.entries = [entry(1, "a")];
    const out = collect(
      await followLogsByPolling(log.fetch, {
        logOptions: { ...base, follow: true },
        signal: new AbortController().signal,
        clock,
      }),
    );
    log.entries.push(entry(2, "last"));
    log.ended = true;
    await clock.advanceAsync(1000);
    expect(await out.ended).toBe("end");
    expect(out.text()).toBe("a\nlast\n");
    expect(clock.pendingTimers).toBe(0);
  });

  it("de-duplicates overlapping and repeated reads by time+message, and by id", async () => {
    const clock = new FakeClock();
    const all = [
      entry(1, "a"),
      entry(1, "b"),
      entry(2, "a"),
      entry(2, "x", { id: "1" }),
      entry(2, "x", { id: "2" }),
    ];
    let shown = 2;
    // Like ACI: every call returns the whole log so far, with no cursor.
    const fetch = (): Promise<LogPage> => Promise.resolve({ entries: all.slice(0, shown) });
    const controller = new AbortController();
    const out = collect(
      await followLogsByPolling(fetch, {
        logOptions: { ...base, follow: true },
        signal: controller.signal,
        clock,
      }),
    );
    await settle();
    shown = 5;
    await clock.advanceAsync(1000);
    await settle();
    await clock.advanceAsync(1000);
    await settle();
    controller.abort();
    expect(await out.ended).toBe("end");
    expect(out.text()).toBe("a\nb\na\nx\nx\n");
  });

  it("does not repeat old entries after forgetting them (bounded memory)", async () => {
    const clock = new FakeClock();
    const all = Array.from({ length: 50 }, (_, i) => entry(i, `line ${i}`));
    const fetch = (): Promise<LogPage> => Promise.resolve({ entries: all });
    const controller = new AbortController();
    const out = collect(
      await followLogsByPolling(fetch, {
        logOptions: { ...base, follow: true },
        signal: controller.signal,
        clock,
        maxRemembered: 8,
      }),
    );
    for (let i = 0; i < 3; i++) {
      await clock.advanceAsync(1000);
      await settle();
    }
    controller.abort();
    expect(await out.ended).toBe("end");
    expect(out.text()).toBe(all.map((e) => `${e.message}\n`).join(""));
  });

  it("stops at limitBytes, mid-line like the kubelet", async () => {
    const clock = new FakeClock();
    const log = new FakeLog();
    log.entries = [entry(1, "12345"), entry(2, "67890"), entry(3, "abcde")];
    const out = collect(
      await followLogsByPolling(log.fetch, {
        logOptions: { ...base, follow: true, limitBytes: 9 },
        signal: new AbortController().signal,
        clock,
      }),
    );
    expect(await out.ended).toBe("end");
    expect(out.text()).toBe("12345\n678");
    expect(clock.pendingTimers).toBe(0);
  });

  it("rejects with the typed error of the first read", async () => {
    const log = new FakeLog();
    log.fail = [new NotFoundError("container app not found")];
    await expect(
      followLogsByPolling(log.fetch, { logOptions: base, signal: new AbortController().signal }),
    ).rejects.toThrow(NotFoundError);
  });

  it("retries transient errors while following and ends on a permanent one", async () => {
    const clock = new FakeClock();
    const log = new FakeLog();
    log.entries = [entry(1, "a")];
    const out = collect(
      await followLogsByPolling(log.fetch, {
        logOptions: { ...base, follow: true },
        signal: new AbortController().signal,
        clock,
      }),
    );
    log.fail = [new RetryableError("throttled")];
    log.entries.push(entry(2, "b"));
    await clock.advanceAsync(1000);
    await settle();
    expect(out.text()).toBe("a\n");
    await clock.advanceAsync(1000);
    await settle();
    expect(out.text()).toBe("a\nb\n");
    log.fail = [new InvalidInputError("the container is gone")];
    await clock.advanceAsync(1000);
    expect(await out.ended).toBe("end");
  });

  it("breaks an unfollowed stream whose later page fails", async () => {
    const log = new FakeLog();
    log.pageSize = 1;
    log.entries = [entry(1, "a"), entry(2, "b")];
    const fetch = (
      cursor: string | undefined,
      signal: AbortSignal,
      hints: LogFetchHints,
    ): Promise<LogPage> =>
      cursor === undefined ? log.fetch(cursor, signal, hints) : Promise.reject(new RetryableError("lost"));
    const out = collect(
      await followLogsByPolling(fetch, { logOptions: base, signal: new AbortController().signal }),
    );
    const ended = await out.ended;
    expect(ended).toBeInstanceOf(RetryableError);
  });

  it("stops polling when the consumer destroys the stream", async () => {
    const clock = new FakeClock();
    const log = new FakeLog();
    const stream = await followLogsByPolling(log.fetch, {
      logOptions: { ...base, follow: true },
      signal: new AbortController().signal,
      clock,
    });
    stream.resume();
    await clock.advanceAsync(1000);
    expect(log.calls).toHaveLength(2);
    stream.destroy();
    await settle();
    expect(log.lastSignal?.aborted).toBe(true);
    await clock.advanceAsync(5000);
    expect(log.calls).toHaveLength(2);
  });

  it("does not follow a previous run", async () => {
    const clock = new FakeClock();
    const log = new FakeLog();
    log.entries = [entry(1, "before the restart")];
    const out = collect(
      await followLogsByPolling(log.fetch, {
        logOptions: { ...base, follow: true, previous: true },
        signal: new AbortController().signal,
        clock,
      }),
    );
    expect(await out.ended).toBe("end");
    expect(out.text()).toBe("before the restart\n");
    expect(log.calls).toHaveLength(1);
  });
});
