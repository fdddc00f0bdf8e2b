import { describe, expect, it } from "vitest";
import { RetryableError } from "../src/errors.js";
import { createConsoleLogger, noopLogger, type ConsoleLoggerOptions, type Logger } from "../src/logger.js";

const NOW = Date.UTC(2024, 0, 1, 12, 0, 0);

function capture(options: Omit<ConsoleLoggerOptions, "stream" | "now"> = {}) {
  const lines: string[] = [];
  const logger = createConsoleLogger({
    ...options,
    now: () => NOW,
    stream: { write: (line) => lines.push(line) },
  });
  const records = (): Record<string, unknown>[] =>
    lines.map((line) => JSON.parse(line) as Record<string, unknown>);
  return { logger, lines, records };
}

describe("createConsoleLogger", () => {
  it("writes one JSON line per record with time, level, bindings, fields and msg", () => {
    const { logger, lines, records } = capture({ bindings: { node: "vn-1" } });
    logger.info({ pod: "ns/a", attempt: 2 }, "created pod");
    expect(lines).toHaveLength(1);
    expect(lines[0]?.endsWith("\n")).toBe(true);
    expect(lines[0]?.trimEnd()).not.toContain("\n");
    expect(records()[0]).toEqual({
      time: "2024-01-01T12:00:00.000Z",
      level: "info",
      node: "vn-1",
      pod: "ns/a",
      attempt: 2,
      msg: "created pod",
    });
  });

  it("drops records below the level", () => {
    const { logger, records } = capture({ level: "warn" });
    logger.debug({}, "d");
    logger.info({}, "i");
    logger.warn({}, "w");
    logger.error({}, "e");
    expect(records().map((r) => [r.level, r.msg])).toEqual([
      ["warn", "w"],
      ["error", "e"],
    ]);
  });

  it("defaults to info and can be silenced", () => {
    const info = capture();
    info.logger.debug({}, "hidden");
    info.logger.info({}, "shown");
    expect(info.records().map((r) => r.msg)).toEqual(["shown"]);

    const silent = capture({ level: "silent" });
    silent.logger.error({}, "nothing");
    expect(silent.lines).toEqual([]);
  });

  it("redacts credentials in the message and in every string field, however deep", () => {
    const { logger, lines } = capture();
    logger.warn(
      {
        url: "https://x.blob.core.windows.net/c?sig=SuperSecretSig&sv=2020",
        headers: ["Authorization: Bearer abc.def.ghi"],
        nested: { deeper: { note: "token=t0ps3cret" } },
        jwt: "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.sig-part",
      },
      "calling with password=hunter2",
    );
    const line = lines.join("");
    for (const secret of ["SuperSecretSig", "abc.def.ghi", "t0ps3cret", "eyJhbGciOiJIUzI1NiJ9", "hunter2"]) {
      expect(line).not.toContain(secret);
    }
    expect(line).toContain("[REDACTED");
    expect(line).toContain("sv=2020");
  });

  it("redacts values under secret-named keys and summarises binary data", () => {
    const { logger, records } = capture({ bindings: { token: "plain-looking" } });
    logger.info(
      { password: "hunter2", apiKey: "k", credentials: { user: "u" }, file: Buffer.from("secret file") },
      "m",
    );
    expect(records()[0]).toMatchObject({
      token: "[REDACTED]",
      password: "[REDACTED]",
      apiKey: "[REDACTED]",
      credentials: "[REDACTED]",
      file: "[binary 11 bytes]",
    });
    expect(JSON.stringify(records())).not.toContain("secret file");
  });

  it("serialises errors (redacted) and survives cycles, bigint and dates", () => {
    const { logger, records } = capture();
    const cyclic: Record<string, unknown> = { name: "loop" };
    cyclic.self = cyclic;
    const error = new RetryableError("throttled", {
      retryAfterMs: 1_000,
      cause: new Error("upstream said token=abc123"),
    });
    logger.error({ err: error, cyclic, big: 10n, at: new Date(0) }, "failed");
    const record = records()[0] as { err: Record<string, unknown>; cyclic: Record<string, unknown> } & Record<
      string,
      unknown
    >;
    expect(record.err).toMatchObject({
      type: "RetryableError",
      message: "throttled",
      code: "VN_RETRYABLE",
      retryAfterMs: 1_000,
    });
    expect(record.err.cause).toMatchObject({ type: "Error", message: "upstream said token=[REDACTED]" });
    expect(record.cyclic).toEqual({ name: "loop", self: "[Circular]" });
    expect(record.big).toBe("10");
    expect(record.at).toBe("1970-01-01T00:00:00.000Z");
  });

  it("keeps time and level authoritative over fields of the same name", () => {
    const { logger, records } = capture();
    logger.info({ level: "fatal", time: "yesterday" }, "m");
    expect(records()[0]).toMatchObject({ level: "info", time: "2024-01-01T12:00:00.000Z" });
  });

  it("child loggers add bindings without touching the parent", () => {
    const { logger, records } = capture({ bindings: { a: 1 } });
    const child = logger.child({ b: 2 });
    const grandchild = child.child({ a: 3, c: 4 });
    grandchild.info({}, "g");
    logger.info({}, "p");
    expect(records()).toMatchObject([
      { a: 3, b: 2, c: 4, msg: "g" },
      { a: 1, msg: "p" },
    ]);
    expect(records()[1]).not.toHaveProperty("b");
  });

  it("never throws, even when the stream does", () => {
    const logger = createConsoleLogger({
      stream: {
        write() {
          throw new Error("EPIPE");
        },
      },
    });
    expect(() => {
      logger.error({}, "x");
    }).not.toThrow();
  });
});

describe("noopLogger", () => {
  it("accepts everything and its children are no-ops too", () => {
    const logger: Logger = noopLogger.child({ a: 1 });
    expect(() => {
      logger.debug({}, "x");
      logger.info({});
      logger.warn({ a: 1 }, "y");
      logger.error(new Error("z"));
    }).not.toThrow();
    expect(logger).toBe(noopLogger);
  });
});
