import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { closeSync, openSync } from "node:fs";
import { open } from "node:fs/promises";

import { tailLines } from "./errors.js";
import { findExecutable } from "./which.js";

/**
 * How a component is tied to the life of this process:
 * - `setpriv`: started through `setpriv --pdeathsig SIGKILL`, so the kernel kills it the moment the thread that
 *   spawned it dies (even on SIGKILL of this process).
 * - `watchdog`: a small detached `sh` loop polls this process and kills the component once it is gone.
 * - `auto`: `setpriv` when util-linux's setpriv supports --pdeathsig, else `watchdog`.
 */
export type DeathSignalStrategy = "auto" | "setpriv" | "watchdog";

export interface SpawnComponentOptions {
  /** Human-readable name used in errors. */
  readonly name: string;
  readonly command: string;
  readonly args: readonly string[];
  /** stdout and stderr of the component are appended to this file. */
  readonly logFile: string;
  readonly env?: NodeJS.ProcessEnv;
  readonly cwd?: string;
  readonly deathSignal?: DeathSignalStrategy;
  /**
   * Keep this process's event loop alive while the child runs. Default false: a program that forgets to stop
   * its components still exits, and the exit hook kills them.
   */
  readonly keepAlive?: boolean;
}

export interface ComponentExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  /** Set when the process could not be spawned at all. */
  readonly error?: Error;
}

export interface StopOptions {
  /** Time between SIGTERM and SIGKILL. Default 10 s. */
  readonly timeoutMs?: number;
}

export interface ComponentProcess {
  readonly name: string;
  readonly pid: number | undefined;
  readonly logFile: string;
  readonly strategy: "setpriv" | "watchdog";
  /** pid of the watchdog shell, when the watchdog strategy is used. */
  readonly watchdogPid: number | undefined;
  /** Resolves (never rejects) when the process has exited. */
  readonly exited: Promise<ComponentExit>;
  /** The exit, once it happened. */
  exitStatus(): ComponentExit | undefined;
  /** SIGTERM, then SIGKILL after the timeout. Idempotent. */
  stop(options?: StopOptions): Promise<ComponentExit>;
  /** SIGKILL now (no chance to clean up, like a crash or the OOM killer); resolves on exit. */
  kill(): Promise<ComponentExit>;
  /** Sends any signal (e.g. SIGSTOP / SIGCONT to freeze and thaw it). False when it has already exited. */
  signal(signal: NodeJS.Signals): boolean;
  readLog(): Promise<string>;
  logTail(lines?: number): Promise<string>;
}

const DEFAULT_STOP_TIMEOUT_MS = 10_000;
const MAX_LOG_READ_BYTES = 256 * 1024;

let setprivCache: string | null | undefined;

/** Path of a `setpriv` that supports `--pdeathsig`, or null. */
export function setprivPath(): string | null {
  if (setprivCache !== undefined) {
    return setprivCache;
  }
  const candidate = findExecutable("setpriv");
  let result: string | null = null;
  if (candidate !== null) {
    try {
      execFileSync(candidate, ["--pdeathsig", "SIGKILL", "--", "true"], { stdio: "ignore", timeout: 5000 });
      result = candidate;
    } catch {
      result = null;
    }
  }
  setprivCache = result;
  return result;
}

// ---------------------------------------------------------------------------------------------------------
// Registry of live components: killed when this process exits or is interrupted.

const live = new Set<ChildProcess>();
const liveWatchdogs = new Set<ChildProcess>();
let hooksInstalled = false;

function killAllNow(): void {
  for (const child of live) {
    try {
      child.kill("SIGKILL");
    } catch {
      // already gone
    }
  }
  for (const watchdog of liveWatchdogs) {
    try {
      watchdog.kill("SIGKILL");
    } catch {
      // already gone
    }
  }
}

function onSignal(signal: NodeJS.Signals): void {
  // Somebody else (e.g. the CLI, or vitest) handles this signal and will stop components in order; the
  // 'exit' hook below is the safety net. When we are the only listener, mimic the default behaviour.
  if (process.listenerCount(signal) > 1) {
    return;
  }
  killAllNow();
  process.removeListener(signal, onSignal);
  process.kill(process.pid, signal);
}

function installHooks(): void {
  if (hooksInstalled) {
    return;
  }
  hooksInstalled = true;
  process.on("exit", killAllNow);
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    process.on(signal, onSignal);
  }
}

/** Number of components started by this process that are still running (for diagnostics and tests). */
export function liveComponentCount(): number {
  return live.size;
}

// ---------------------------------------------------------------------------------------------------------

const WATCHDOG_SCRIPT =
  'while kill -0 "$1" 2>/dev/null && kill -0 "$2" 2>/dev/null; do sleep 1; done; kill -9 "$2" 2>/dev/null; exit 0';

function startWatchdog(parentPid: number, childPid: number): ChildProcess {
  const watchdog = spawn(
    "/bin/sh",
    ["-c", WATCHDOG_SCRIPT, "vn-watchdog", String(parentPid), String(childPid)],
    {
      detached: true,
      stdio: "ignore",
    },
  );
  watchdog.unref();
  liveWatchdogs.add(watchdog);
  watchdog.once("exit", () => liveWatchdogs.delete(watchdog));
  watchdog.once("error", () => liveWatchdogs.delete(watchdog));
  return watchdog;
}

async function readFileTail(path: string): Promise<string> {
  let handle;
  try {
    handle = await open(path, "r");
  } catch {
    return "";
  }
  try {
    const { size } = await handle.stat();
    const length = Math.min(size, MAX_LOG_READ_BYTES);
    const buffer = Buffer.alloc(length);
    await handle.read(buffer, 0, length, size - length);
    return buffer.toString("utf8");
  } finally {
    await handle.close();
  }
}

/**
 * Starts a long-running component whose output goes to `logFile` and that cannot outlive this process.
 * The child runs in its own process group, so a Ctrl-C on the terminal reaches only this process, which then
 * stops components in order.
 */
export function spawnComponent(options: SpawnComponentOptions): ComponentProcess {
  installHooks();
  const requested = options.deathSignal ?? "auto";
  const setpriv = requested === "watchdog" ? null : setprivPath();
  if (requested === "setpriv" && setpriv === null) {
    throw new Error("setpriv with --pdeathsig support is not available on this machine");
  }
  const strategy = setpriv === null ? "watchdog" : "setpriv";
  const command = setpriv ?? options.command;
  const args =
    setpriv === null ? [...options.args] : ["--pdeathsig", "SIGKILL", "--", options.command, ...options.args];

  const fd = openSync(options.logFile, "a");
  let child: ChildProcess;
  try {
    child = spawn(command, args, {
      cwd: options.cwd,
      env: options.env ?? process.env,
      stdio: ["ignore", fd, fd],
      detached: true,
    });
  } finally {
    closeSync(fd);
  }
  if (options.keepAlive !== true) {
    child.unref();
  }
  live.add(child);

  let exitStatus: ComponentExit | undefined;
  const exited = new Promise<ComponentExit>((resolve) => {
    child.once("exit", (code, signal) => {
      exitStatus = { code, signal };
      resolve(exitStatus);
    });
    child.once("error", (error) => {
      exitStatus ??= { code: null, signal: null, error };
      resolve(exitStatus);
    });
  });
  void exited.then(() => live.delete(child));

  const watchdog =
    strategy === "watchdog" && child.pid !== undefined ? startWatchdog(process.pid, child.pid) : undefined;

  let stopping: Promise<ComponentExit> | undefined;
  const stop = (stopOptions: StopOptions = {}): Promise<ComponentExit> => {
    stopping ??= (async () => {
      if (exitStatus === undefined) {
        child.kill("SIGTERM");
        const timeoutMs = stopOptions.timeoutMs ?? DEFAULT_STOP_TIMEOUT_MS;
        let timer: NodeJS.Timeout | undefined;
        const timedOut = new Promise<"timeout">((resolve) => {
          timer = setTimeout(() => {
            resolve("timeout");
          }, timeoutMs);
        });
        const first = await Promise.race([exited, timedOut]);
        clearTimeout(timer);
        if (first === "timeout") {
          child.kill("SIGKILL");
        }
      }
      const status = await exited;
      watchdog?.kill("SIGKILL");
      return status;
    })();
    return stopping;
  };

  const kill = async (): Promise<ComponentExit> => {
    if (exitStatus === undefined) child.kill("SIGKILL");
    const status = await exited;
    watchdog?.kill("SIGKILL");
    return status;
  };

  return {
    name: options.name,
    pid: child.pid,
    logFile: options.logFile,
    strategy,
    watchdogPid: watchdog?.pid,
    exited,
    exitStatus: () => exitStatus,
    stop,
    kill,
    signal: (signal) => exitStatus === undefined && child.kill(signal),
    readLog: () => readFileTail(options.logFile),
    logTail: async (lines = 30) => tailLines(await readFileTail(options.logFile), lines),
  };
}

/** True when a process with this pid exists (zombies included). */
export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}
