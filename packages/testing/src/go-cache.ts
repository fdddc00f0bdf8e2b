/**
 * The one cache of Go builds, shared by the control-plane binaries (binaries.ts: etcd and the
 * Kubernetes binaries) and the other Go tools (go-tool.ts: metrics-server, KWOK, virtual-kubelet,
 * …): where the cache lives, the stamp written last into a directory once its build is verified,
 * and the check-lock-check-build sequence. The build steps both use (a wrapper module that requires
 * the pinned module, `go mod download -json`, `go mod tidy`, `go build`) are in go-build.ts.
 *
 * Layout (unchanged, so existing caches stay valid): `<cacheRoot>/<dir>/{bin,src,logs,stamp.json}`
 * with the lock `<dir>.lock` next to the directory; the control plane's directories sit in the
 * cache root (`k8s-<version>`, `etcd-<version>`), the tools' under `go-tools/`.
 */
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { homedir } from "node:os";
import { join } from "node:path";

import type { TestingError } from "./errors.js";
import { findGoToolchain, type GoToolchain } from "./go-build.js";
import { acquireLock } from "./lock.js";
import { stderrProgress, type ProgressSink } from "./progress.js";

/** The stamp's file name in every cache directory. */
export const STAMP_FILE = "stamp.json";

/** `$VIRTUAL_NODE_CACHE_DIR`, else `$XDG_CACHE_HOME/virtual-node`, else `~/.cache/virtual-node`. */
export function defaultCacheRoot(env: NodeJS.ProcessEnv = process.env): string {
  const explicit = env.VIRTUAL_NODE_CACHE_DIR;
  if (explicit !== undefined && explicit !== "") {
    return explicit;
  }
  const xdg = env.XDG_CACHE_HOME;
  if (xdg !== undefined && xdg !== "") {
    return join(xdg, "virtual-node");
  }
  return join(env.HOME !== undefined && env.HOME !== "" ? env.HOME : homedir(), ".cache", "virtual-node");
}

/** The hex sha256 of a file's contents. */
export async function sha256File(path: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(path)) {
    hash.update(chunk as Buffer);
  }
  return hash.digest("hex");
}

/** The raw stamp text, or undefined when there is none. */
export async function readStampText(stampFile: string): Promise<string | undefined> {
  return readFile(stampFile, "utf8").catch(() => undefined);
}

/** Writes the stamp (pretty JSON) through a temporary file, so a reader never sees half of one. */
export async function writeStamp(stampFile: string, stamp: unknown): Promise<void> {
  const tmp = `${stampFile}.tmp-${process.pid}`;
  await writeFile(tmp, `${JSON.stringify(stamp, null, 2)}\n`);
  await rename(tmp, stampFile);
}

/** What an inspection of a cache directory found. */
export type CacheCheck<S> =
  { readonly valid: true; readonly stamp: S } | { readonly valid: false; readonly reason: string };

/** One cache directory: how to check it, how to build it, and what to say when it cannot be. */
export interface CacheEntry<S> {
  /** The directory's name, in progress lines. */
  readonly name: string;
  /** The directory that holds the directory and its lock (created before locking). */
  readonly parentDir: string;
  readonly lockFile: string;
  inspect(): Promise<CacheCheck<S>>;
  build(go: GoToolchain): Promise<S>;
  /** The error when the cache is unusable and there is no Go (or building is disabled). */
  unavailable(reason: string, buildDisabled: boolean): TestingError;
}

/** How {@link ensureCacheEntry} may build. */
export interface CacheBuildOptions {
  readonly env?: NodeJS.ProcessEnv;
  readonly progress?: ProgressSink;
  readonly signal?: AbortSignal;
  /** Resolved Go toolchain (looked up when omitted). */
  readonly go?: GoToolchain | null;
  /** When false, a missing or invalid cache is an error instead of a build. Default true. */
  readonly build?: boolean;
}

/**
 * Uses the cache directory when it is valid (no `go` invocation at all); otherwise builds it under
 * its lock, checking again once the lock is held (another process may have built it meanwhile).
 */
export async function ensureCacheEntry<S>(
  entry: CacheEntry<S>,
  options: CacheBuildOptions = {},
): Promise<{ stamp: S; built: boolean }> {
  const env = options.env ?? process.env;
  const progress = options.progress ?? stderrProgress();
  const first = await entry.inspect();
  if (first.valid) return { stamp: first.stamp, built: false };
  const buildDisabled = options.build === false;
  const go = buildDisabled ? null : options.go === undefined ? await findGoToolchain(env) : options.go;
  if (go === null) throw entry.unavailable(first.reason, buildDisabled);
  await mkdir(entry.parentDir, { recursive: true });
  const release = await acquireLock(entry.lockFile, {
    progress,
    ...(options.signal === undefined ? {} : { signal: options.signal }),
  });
  try {
    const second = await entry.inspect();
    if (second.valid) return { stamp: second.stamp, built: false };
    progress.line(`${entry.name}: ${second.reason}; building`);
    return { stamp: await entry.build(go), built: true };
  } finally {
    await release();
  }
}
