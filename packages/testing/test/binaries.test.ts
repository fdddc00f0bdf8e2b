import { chmod, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";

import { describe, expect, it } from "vitest";

import {
  ETCD_CACHE,
  KUBERNETES_CACHE,
  decideCacheAction,
  defaultCacheRoot,
  ensureCachedBinaries,
  inspectCache,
  resolveBinaries,
  resolveFromEnvironment,
  type CacheDecision,
  type CacheStamp,
  type ObservedBinary,
} from "../src/binaries.js";
import { ErrorCode, TestingError } from "../src/errors.js";
import { silentProgress } from "../src/progress.js";
import { ETCD_VERSION, KUBERNETES_VERSION, type BinaryName } from "../src/versions.js";
import { writeFakeAssets, writeFakeBinary, writeFakeCache } from "./helpers/fakes.js";
import { tempDir } from "./helpers/temp.js";

const VERSIONS = { kubernetes: KUBERNETES_VERSION, etcd: ETCD_VERSION };
const ALL = ["etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubectl"] as const;

/** An environment without `go`: PATH only has directories without it. */
function envWithoutGo(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return { PATH: "/nonexistent-bin", HOME: "/nonexistent-home", ...extra };
}

/** The rebuild reason of a decision ("" when the cache would be used). */
function reasonOf(decision: CacheDecision): string {
  return decision.action === "rebuild" ? decision.reason : "";
}

async function rejection(promise: Promise<unknown>): Promise<TestingError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof TestingError) return error;
    throw error;
  }
  throw new Error("expected a rejection");
}

describe("resolveFromEnvironment", () => {
  it("takes binaries from KUBEBUILDER_ASSETS", async () => {
    const assets = await tempDir();
    await writeFakeAssets(assets, ["etcd", "kube-apiserver", "kubectl"], VERSIONS);
    const found = resolveFromEnvironment({ KUBEBUILDER_ASSETS: assets });
    expect(found.etcd).toEqual({
      path: join(assets, "etcd"),
      source: "kubebuilder-assets",
      variable: "KUBEBUILDER_ASSETS",
    });
    expect(found["kube-apiserver"]?.source).toBe("kubebuilder-assets");
    expect(found.kubectl?.source).toBe("kubebuilder-assets");
    expect(found["kube-controller-manager"]).toBeUndefined();
  });

  it("prefers VIRTUAL_NODE_* over TEST_ASSET_* over KUBEBUILDER_ASSETS", async () => {
    const dir = await tempDir();
    const assets = join(dir, "assets");
    await writeFakeAssets(assets, ALL, VERSIONS);
    const vn = await writeFakeBinary(join(dir, "vn-etcd"), "etcd Version: 3.6.16");
    const ta = await writeFakeBinary(join(dir, "ta-etcd"), "etcd Version: 3.6.16");
    const taApiserver = await writeFakeBinary(join(dir, "ta-apiserver"), "Kubernetes v1.37.2");

    const found = resolveFromEnvironment({
      KUBEBUILDER_ASSETS: assets,
      VIRTUAL_NODE_ETCD: vn,
      TEST_ASSET_ETCD: ta,
      TEST_ASSET_KUBE_APISERVER: taApiserver,
    });
    expect(found.etcd).toEqual({ path: vn, source: "env", variable: "VIRTUAL_NODE_ETCD" });
    expect(found["kube-apiserver"]).toEqual({
      path: taApiserver,
      source: "env",
      variable: "TEST_ASSET_KUBE_APISERVER",
    });
    expect(found["kube-scheduler"]?.source).toBe("kubebuilder-assets");

    const withoutVn = resolveFromEnvironment({ KUBEBUILDER_ASSETS: assets, TEST_ASSET_ETCD: ta });
    expect(withoutVn.etcd?.path).toBe(ta);
  });

  it("fails clearly when an explicit override points nowhere", () => {
    expect(() => resolveFromEnvironment({ VIRTUAL_NODE_KUBE_SCHEDULER: "/no/such/kube-scheduler" })).toThrow(
      expect.objectContaining({ code: ErrorCode.BinaryNotFound }),
    );
  });

  it("ignores non-executable files in KUBEBUILDER_ASSETS", async () => {
    const assets = await tempDir();
    await writeFakeAssets(assets, ["etcd"], VERSIONS);
    await chmod(join(assets, "etcd"), 0o644);
    expect(resolveFromEnvironment({ KUBEBUILDER_ASSETS: assets }).etcd).toBeUndefined();
  });
});

describe("defaultCacheRoot", () => {
  it("honours VIRTUAL_NODE_CACHE_DIR, then XDG_CACHE_HOME, then ~/.cache", () => {
    expect(defaultCacheRoot({ VIRTUAL_NODE_CACHE_DIR: "/c", XDG_CACHE_HOME: "/x", HOME: "/h" })).toBe("/c");
    expect(defaultCacheRoot({ XDG_CACHE_HOME: "/x", HOME: "/h" })).toBe("/x/virtual-node");
    expect(defaultCacheRoot({ HOME: "/h" })).toBe("/h/.cache/virtual-node");
  });
});

describe("resolveBinaries", () => {
  it("uses KUBEBUILDER_ASSETS without touching the cache or go", async () => {
    const dir = await tempDir();
    await writeFakeAssets(join(dir, "assets"), ALL, VERSIONS);
    const binaries = await resolveBinaries({
      env: envWithoutGo({ KUBEBUILDER_ASSETS: join(dir, "assets") }),
      cacheRoot: join(dir, "cache"),
      progress: silentProgress(),
    });
    expect(binaries.etcd).toBe(join(dir, "assets", "etcd"));
    expect(binaries.kubeScheduler).toBe(join(dir, "assets", "kube-scheduler"));
    expect(binaries.kubectl).toBe(join(dir, "assets", "kubectl"));
    expect(binaries.built).toEqual([]);
  });

  it("fills what the environment lacks from a valid cache, without go", async () => {
    const dir = await tempDir();
    const cacheRoot = join(dir, "cache");
    await writeFakeCache(cacheRoot, KUBERNETES_CACHE);
    await writeFakeCache(cacheRoot, ETCD_CACHE);
    const etcd = await writeFakeBinary(join(dir, "my-etcd"), "etcd Version: 3.6.16");
    const binaries = await resolveBinaries({
      env: envWithoutGo({ VIRTUAL_NODE_ETCD: etcd }),
      cacheRoot,
      progress: silentProgress(),
    });
    expect(binaries.sources.etcd?.source).toBe("env");
    expect(binaries.etcd).toBe(etcd);
    expect(binaries.sources["kube-apiserver"]?.source).toBe("cache");
    expect(binaries.kubeApiserver).toBe(join(cacheRoot, "k8s-v1.37.2", "bin", "kube-apiserver"));
    expect(binaries.kubectl).toBe(join(cacheRoot, "k8s-v1.37.2", "bin", "kubectl"));
  });

  it("explains what to install or set when there are no binaries and no go", async () => {
    const dir = await tempDir();
    const assets = join(dir, "assets");
    await writeFakeAssets(assets, ["etcd", "kube-apiserver"], VERSIONS);
    const error = await rejection(
      resolveBinaries({
        env: envWithoutGo({ KUBEBUILDER_ASSETS: assets }),
        cacheRoot: join(dir, "cache"),
        progress: silentProgress(),
      }),
    );
    expect(error.code).toBe(ErrorCode.BinariesUnavailable);
    expect(error.message).toContain("Go 1.26 or newer");
    expect(error.message).toContain("KUBEBUILDER_ASSETS");
    expect(error.message).toContain("VIRTUAL_NODE_KUBE_CONTROLLER_MANAGER");
    expect(error.message).toContain(join(dir, "cache", "k8s-v1.37.2"));
  });

  it("does not need kube-controller-manager / kube-scheduler when they are not required", async () => {
    const dir = await tempDir();
    const assets = join(dir, "assets");
    await writeFakeAssets(assets, ["etcd", "kube-apiserver"], VERSIONS);
    const binaries = await resolveBinaries({
      env: envWithoutGo({ KUBEBUILDER_ASSETS: assets }),
      cacheRoot: join(dir, "cache"),
      required: ["etcd", "kube-apiserver"],
      progress: silentProgress(),
    });
    expect(binaries.kubeControllerManager).toBeUndefined();
    expect(binaries.kubectl).toBeUndefined();
  });
});

describe("cache validation", () => {
  const good = (name: BinaryName, version: string): ObservedBinary => ({
    exists: true,
    sha256: `sha-${name}`,
    versionOutput:
      name === "etcd"
        ? `etcd Version: ${version.slice(1)}\nGit SHA: GitNotFound\n`
        : name === "kubectl"
          ? `Client Version: ${version}\nKustomize Version: v5.8.1\n`
          : `Kubernetes ${version}\n`,
  });
  const stampFor = (version = KUBERNETES_VERSION): CacheStamp => ({
    schema: 1,
    kind: "kubernetes",
    version,
    goVersion: "go1.26.8",
    builtAt: "2026-01-01T00:00:00.000Z",
    binaries: Object.fromEntries(KUBERNETES_CACHE.binaries.map((n) => [n, { sha256: `sha-${n}`, size: 1 }])),
    build: { totalSeconds: 1, peakRssKiB: null, steps: {} },
  });
  const allGood = Object.fromEntries(KUBERNETES_CACHE.binaries.map((n) => [n, good(n, KUBERNETES_VERSION)]));
  const decide = (stamp: string | undefined, observed = allGood) =>
    decideCacheAction(KUBERNETES_CACHE, stamp, observed);

  it("uses a cache whose stamp, hashes and versions all match", () => {
    expect(decide(JSON.stringify(stampFor()))).toEqual({ action: "use" });
  });

  it.each([
    ["a missing stamp", undefined, allGood, /no stamp/],
    ["a stamp that is not JSON", "{not json", allGood, /not valid JSON/],
    ["a stamp with the wrong shape", JSON.stringify({ hello: 1 }), allGood, /unexpected shape/],
    [
      "a stamp for another version",
      JSON.stringify(stampFor("v1.36.0")),
      allGood,
      /expected kubernetes v1\.37\.2/,
    ],
    [
      "a missing binary",
      JSON.stringify(stampFor()),
      { ...allGood, "kube-scheduler": { exists: false } },
      /kube-scheduler is missing/,
    ],
    [
      "a binary that changed since the stamp",
      JSON.stringify(stampFor()),
      { ...allGood, "kube-apiserver": { ...good("kube-apiserver", KUBERNETES_VERSION), sha256: "other" } },
      /sha256/,
    ],
    [
      "a binary reporting another version",
      JSON.stringify(stampFor()),
      { ...allGood, kubectl: good("kubectl", "v1.36.9") },
      /reports "Client Version: v1\.36\.9"/,
    ],
    [
      "a binary that cannot run",
      JSON.stringify(stampFor()),
      { ...allGood, "kube-controller-manager": { exists: true, sha256: "sha-kube-controller-manager" } },
      /failed/,
    ],
  ] as const)("rebuilds on %s", (_label, stamp, observed, reason) => {
    const decision = decide(stamp, observed);
    expect(decision.action).toBe("rebuild");
    expect(decision.action === "rebuild" ? decision.reason : "").toMatch(reason);
  });

  it("inspects a real directory: valid, then corrupted binary, then corrupted stamp", async () => {
    const cacheRoot = await tempDir();
    const paths = await writeFakeCache(cacheRoot, KUBERNETES_CACHE);
    expect((await inspectCache(cacheRoot, KUBERNETES_CACHE)).decision).toEqual({ action: "use" });

    await writeFile(paths.binary("kube-scheduler"), "#!/bin/sh\necho corrupted\n");
    const corrupted = await inspectCache(cacheRoot, KUBERNETES_CACHE);
    expect(reasonOf(corrupted.decision)).toMatch(/kube-scheduler/);

    await writeFakeCache(cacheRoot, KUBERNETES_CACHE);
    await writeFile(paths.stampFile, (await readFile(paths.stampFile, "utf8")).slice(0, 20));
    expect((await inspectCache(cacheRoot, KUBERNETES_CACHE)).decision).toMatchObject({ action: "rebuild" });
  });

  it("rejects binaries that report the wrong version even with a matching stamp", async () => {
    const cacheRoot = await tempDir();
    await writeFakeCache(cacheRoot, ETCD_CACHE, { binaryVersion: "v3.5.0" });
    expect(reasonOf((await inspectCache(cacheRoot, ETCD_CACHE)).decision)).toMatch(/etcd Version: 3\.5\.0/);
  });

  it("an invalid cache without go is an error naming the reason", async () => {
    const cacheRoot = await tempDir();
    await writeFakeCache(cacheRoot, ETCD_CACHE, { stampVersion: "v3.5.0" });
    const error = await rejection(
      ensureCachedBinaries(ETCD_CACHE, { cacheRoot, env: envWithoutGo(), progress: silentProgress() }),
    );
    expect(error.code).toBe(ErrorCode.BinariesUnavailable);
    expect(error.message).toContain("stamp is for etcd v3.5.0");
  });
});
