import { readFile, readdir } from "node:fs/promises";
import { join } from "node:path";

import { describe, expect, it } from "vitest";

import { ErrorCode, TestingError } from "../src/errors.js";
import type { GoToolchain } from "../src/go-build.js";
import {
  ensureCacheEntry,
  readStampText,
  writeStamp,
  type CacheCheck,
  type CacheEntry,
} from "../src/go-cache.js";
import { goToolPaths } from "../src/go-tool.js";
import { cachePaths, ETCD_CACHE, KUBERNETES_CACHE } from "../src/binaries.js";
import type { ProgressSink } from "../src/progress.js";
import { tempDir } from "./helpers/temp.js";

const GO: GoToolchain = { path: "/nonexistent/go", version: "go1.26.8" };

/** A cache entry whose inspections answer from `checks` in turn; records builds. */
async function fakeEntry(checks: CacheCheck<string>[]) {
  const dir = await tempDir();
  const calls = { inspect: 0, build: [] as GoToolchain[] };
  const entry: CacheEntry<string> = {
    name: "tool-v1",
    parentDir: join(dir, "go-tools"),
    lockFile: join(dir, "go-tools", "tool-v1.lock"),
    inspect: () => {
      const check = checks[calls.inspect] ?? checks.at(-1);
      calls.inspect++;
      if (check === undefined) throw new Error("no check");
      return Promise.resolve(check);
    },
    build: (go) => {
      calls.build.push(go);
      return Promise.resolve("built-stamp");
    },
    unavailable: (reason, buildDisabled) =>
      new TestingError(
        ErrorCode.BinariesUnavailable,
        `unavailable: ${reason} (disabled ${String(buildDisabled)})`,
      ),
  };
  return { dir, entry, calls };
}

function recordingProgress(): ProgressSink & { lines: string[] } {
  const lines: string[] = [];
  return {
    lines,
    line: (text: string) => {
      lines.push(text);
    },
    interactive: false,
  };
}

describe("ensureCacheEntry", () => {
  it("uses a valid cache without looking for go or taking the lock", async () => {
    const { dir, entry, calls } = await fakeEntry([{ valid: true, stamp: "s1" }]);
    // No go on this PATH and no go-tools directory made: neither a lookup nor a lock was needed.
    const result = await ensureCacheEntry(entry, { env: { PATH: "/nonexistent" } });
    expect(result).toEqual({ stamp: "s1", built: false });
    expect(calls).toEqual({ inspect: 1, build: [] });
    expect(await readdir(dir)).toEqual([]);
  });

  it.each([
    { build: false, go: GO, disabled: true },
    { build: true, go: null, disabled: false },
  ])("is unavailable, naming the reason, when building is off or there is no go ($disabled)", async (c) => {
    const { entry, calls } = await fakeEntry([{ valid: false, reason: "no stamp file" }]);
    await expect(ensureCacheEntry(entry, { build: c.build, go: c.go })).rejects.toThrow(
      `unavailable: no stamp file (disabled ${String(c.disabled)})`,
    );
    expect(calls.build).toEqual([]);
  });

  it("does not build when another process finished the build while it waited for the lock", async () => {
    const { entry, calls } = await fakeEntry([
      { valid: false, reason: "no stamp file" },
      { valid: true, stamp: "theirs" },
    ]);
    const progress = recordingProgress();
    expect(await ensureCacheEntry(entry, { go: GO, progress })).toEqual({ stamp: "theirs", built: false });
    expect(calls).toEqual({ inspect: 2, build: [] });
  });

  it("builds under the lock once both inspections fail, and says why", async () => {
    const { entry, calls } = await fakeEntry([{ valid: false, reason: "tool does not match its stamp" }]);
    const progress = recordingProgress();
    expect(await ensureCacheEntry(entry, { go: GO, progress })).toEqual({
      stamp: "built-stamp",
      built: true,
    });
    expect(calls).toEqual({ inspect: 2, build: [GO] });
    expect(progress.lines).toContain("tool-v1: tool does not match its stamp; building");
    // The lock is released: a second call can take it at once.
    expect(await ensureCacheEntry(entry, { go: GO, progress })).toEqual({
      stamp: "built-stamp",
      built: true,
    });
  });
});

describe("cache layout and stamps (unchanged on disk)", () => {
  it("keeps the directory, stamp and lock paths of the control plane and of the Go tools", () => {
    const root = "/c";
    expect(cachePaths(root, KUBERNETES_CACHE)).toMatchObject({
      dir: `/c/${KUBERNETES_CACHE.dirName}`,
      stampFile: `/c/${KUBERNETES_CACHE.dirName}/stamp.json`,
      lockFile: `/c/${KUBERNETES_CACHE.dirName}.lock`,
    });
    expect(cachePaths(root, ETCD_CACHE).binary("etcd")).toBe(`/c/${ETCD_CACHE.dirName}/bin/etcd`);
    const spec = {
      name: "kwok",
      module: "sigs.k8s.io/kwok",
      version: "v0.7.0",
      packagePath: "x",
      variant: "a",
    };
    expect(goToolPaths(root, spec)).toMatchObject({
      dir: "/c/go-tools/kwok-v0.7.0-a",
      binary: "/c/go-tools/kwok-v0.7.0-a/bin/kwok",
      stampFile: "/c/go-tools/kwok-v0.7.0-a/stamp.json",
      lockFile: "/c/go-tools/kwok-v0.7.0-a.lock",
    });
  });

  it("writes stamps as pretty JSON with a final newline, leaving no temporary file", async () => {
    const dir = await tempDir();
    const stampFile = join(dir, "stamp.json");
    expect(await readStampText(stampFile)).toBeUndefined();
    await writeStamp(stampFile, { schema: 1, sha256: "ab" });
    expect(await readFile(stampFile, "utf8")).toBe('{\n  "schema": 1,\n  "sha256": "ab"\n}\n');
    expect(await readdir(dir)).toEqual(["stamp.json"]);
  });
});
