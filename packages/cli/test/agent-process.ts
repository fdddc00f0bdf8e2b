/**
 * The built `virtual-node` bin as a child process, the way a Deployment runs it: its JSON log lines
 * collected, its exit awaited. Tests run `npm run build` first (as `npm test` does).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

export const CLI = fileURLToPath(new URL("../dist/cli.js", import.meta.url));

/** A running agent process. */
export interface AgentProcess {
  readonly child: ChildProcess;
  /** Every stderr line so far, parsed when it is JSON. */
  readonly lines: { raw: string; json?: Record<string, unknown> }[];
  readonly stdout: () => string;
  /** Resolves with the exit code (or the signal name). */
  readonly exited: Promise<number | string>;
  /** The first log record `match` accepts, waiting up to `timeoutMs`. */
  waitForLog(
    match: (record: Record<string, unknown>, raw: string) => boolean,
    timeoutMs?: number,
  ): Promise<Record<string, unknown>>;
  stop(signal?: NodeJS.Signals): Promise<number | string>;
}

/** Starts `node dist/cli.js ...args`. */
export function startAgentProcess(args: readonly string[], env: Record<string, string> = {}): AgentProcess {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run npm run build -w packages/cli`);
  const child = spawn(process.execPath, [CLI, ...args], {
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/tmp", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const lines: AgentProcess["lines"] = [];
  let out = "";
  let partial = "";
  const waiters = new Set<() => void>();
  child.stdout.on("data", (chunk: Buffer) => {
    out += chunk.toString("utf8");
  });
  child.stderr.on("data", (chunk: Buffer) => {
    partial += chunk.toString("utf8");
    const parts = partial.split("\n");
    partial = parts.pop() ?? "";
    for (const raw of parts) {
      let json: Record<string, unknown> | undefined;
      try {
        json = JSON.parse(raw) as Record<string, unknown>;
      } catch {
        json = undefined;
      }
      lines.push(json ? { raw, json } : { raw });
    }
    for (const w of waiters) w();
  });
  const exited = new Promise<number | string>((resolve) => {
    child.on("exit", (code, signal) => {
      resolve(code ?? signal ?? -1);
      for (const w of waiters) w();
    });
  });
  let exitValue: number | string | undefined;
  void exited.then((v) => (exitValue = v));
  return {
    child,
    lines,
    stdout: () => out,
    exited,
    async waitForLog(match, timeoutMs = 60_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const found = lines.find((l) => l.json !== undefined && match(l.json, l.raw));
        if (found?.json) return found.json;
        if (exitValue !== undefined) {
          throw new Error(
            `agent exited (${String(exitValue)}) before the log line; stderr:\n${lines.map((l) => l.raw).join("\n")}`,
          );
        }
        if (Date.now() > deadline) {
          throw new Error(
            `timed out waiting for a log line; stderr:\n${lines
              .map((l) => l.raw)
              .slice(-40)
              .join("\n")}`,
          );
        }
        await new Promise<void>((resolve) => {
          const wake = (): void => {
            waiters.delete(wake);
            clearTimeout(timer);
            resolve();
          };
          const timer = setTimeout(wake, 500);
          waiters.add(wake);
        });
      }
    },
    async stop(signal = "SIGTERM") {
      if (exitValue === undefined) child.kill(signal);
      return exited;
    },
  };
}

/** GET `url`; status and body. */
export async function get(url: string): Promise<{ status: number; body: string }> {
  const response = await fetch(url);
  return { status: response.status, body: await response.text() };
}
