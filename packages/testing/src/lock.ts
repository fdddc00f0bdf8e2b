import { hostname } from "node:os";
import { open, readFile, unlink } from "node:fs/promises";

import { ErrorCode, TestingError } from "./errors.js";
import { isProcessAlive } from "./process.js";
import { formatDuration, type ProgressSink } from "./progress.js";

interface LockOwner {
  readonly pid: number;
  readonly hostname: string;
  readonly startedAt: string;
}

export interface LockOptions {
  /** Give up after this long. Default 2 hours (a cold Kubernetes build can take most of an hour). */
  readonly timeoutMs?: number;
  readonly pollMs?: number;
  readonly progress?: ProgressSink;
  readonly signal?: AbortSignal;
}

export type ReleaseLock = () => Promise<void>;

async function readOwner(path: string): Promise<LockOwner | undefined> {
  try {
    const parsed = JSON.parse(await readFile(path, "utf8")) as Partial<LockOwner>;
    if (typeof parsed.pid === "number" && typeof parsed.hostname === "string") {
      return { pid: parsed.pid, hostname: parsed.hostname, startedAt: String(parsed.startedAt) };
    }
  } catch {
    // unreadable or half-written: treated as unknown owner
  }
  return undefined;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Takes an exclusive lock file (O_EXCL create). A lock whose owner process no longer exists on this host is
 * taken over. Two concurrent test runs therefore never build into the same cache directory at once.
 */
export async function acquireLock(path: string, options: LockOptions = {}): Promise<ReleaseLock> {
  const timeoutMs = options.timeoutMs ?? 2 * 60 * 60 * 1000;
  const pollMs = options.pollMs ?? 1000;
  const startedAt = Date.now();
  let lastNotice = 0;
  for (;;) {
    if (options.signal?.aborted === true) {
      throw new TestingError(ErrorCode.Aborted, `aborted while waiting for ${path}`);
    }
    try {
      const handle = await open(path, "wx");
      const owner: LockOwner = {
        pid: process.pid,
        hostname: hostname(),
        startedAt: new Date().toISOString(),
      };
      await handle.writeFile(JSON.stringify(owner));
      await handle.close();
      let released = false;
      return async () => {
        if (released) {
          return;
        }
        released = true;
        await unlink(path).catch(() => undefined);
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") {
        throw error;
      }
    }
    const owner = await readOwner(path);
    if (owner !== undefined && owner.hostname === hostname() && !isProcessAlive(owner.pid)) {
      options.progress?.line(`removing stale lock ${path} (pid ${owner.pid} is gone)`);
      await unlink(path).catch(() => undefined);
      continue;
    }
    if (owner === undefined) {
      // Possibly being written right now; give the writer a moment, then treat as stale if it stays unreadable.
      await sleep(pollMs);
      if ((await readOwner(path)) === undefined) {
        await unlink(path).catch(() => undefined);
      }
      continue;
    }
    const waited = Date.now() - startedAt;
    if (waited > timeoutMs) {
      throw new TestingError(
        ErrorCode.LockTimeout,
        `timed out after ${formatDuration(waited)} waiting for ${path} held by pid ${owner.pid}`,
      );
    }
    if (Date.now() - lastNotice > 30_000) {
      lastNotice = Date.now();
      options.progress?.line(
        `waiting for another build (pid ${owner.pid}, since ${owner.startedAt}) holding ${path}`,
      );
    }
    await sleep(pollMs);
  }
}
