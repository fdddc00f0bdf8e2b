import { readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";

import { describe, expect, it } from "vitest";

import {
  ETCD_CACHE,
  KUBERNETES_CACHE,
  cachePaths,
  ensureCachedBinaries,
  type CacheStamp,
} from "../src/binaries.js";
import { ErrorCode, TestingError } from "../src/errors.js";
import {
  BUILD_LOG_TAIL_LINES,
  compareVersions,
  findGoToolchain,
  goBuildArgs,
  kubernetesBuildTarget,
  kubernetesWrapperGoMod,
  parseMaxRss,
  parseZeroVersionRequires,
  runGoStep,
} from "../src/go-build.js";
import { acquireLock } from "../src/lock.js";
import { silentProgress, type ProgressSink } from "../src/progress.js";
import { STAGING_VERSION, kubernetesLdflags, stagingVersionFor } from "../src/versions.js";
import { SAMPLE_KUBERNETES_GO_MOD, writeFakeGo } from "./helpers/fakes.js";
import { tempDir, writeScript } from "./helpers/temp.js";

const EXPECTED_LDFLAGS =
  "-s -w -X k8s.io/component-base/version.gitVersion=v1.37.2 -X k8s.io/component-base/version.gitMajor=1 " +
  "-X k8s.io/component-base/version.gitMinor=37 -X k8s.io/component-base/version.gitTreeState=clean " +
  "-X k8s.io/client-go/pkg/version.gitVersion=v1.37.2 -X k8s.io/client-go/pkg/version.gitMajor=1 " +
  "-X k8s.io/client-go/pkg/version.gitMinor=37";

function collectingProgress(): ProgressSink & { lines: string[] } {
  const lines: string[] = [];
  return { interactive: false, lines, line: (text) => lines.push(text) };
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

describe("versions and go.mod generation", () => {
  it("derives staging versions from the Kubernetes version", () => {
    expect(STAGING_VERSION).toBe("v0.37.2");
    expect(stagingVersionFor("v1.30.14")).toBe("v0.30.14");
    expect(() => stagingVersionFor("1.30")).toThrow();
  });

  it("uses exactly the ldflags of the reference build (shared Go build cache)", () => {
    expect(kubernetesLdflags()).toBe(EXPECTED_LDFLAGS);
    expect(goBuildArgs(kubernetesBuildTarget("kube-apiserver"), "/out/kube-apiserver")).toEqual([
      "build",
      "-trimpath",
      "-ldflags",
      EXPECTED_LDFLAGS,
      "-o",
      "/out/kube-apiserver",
      "k8s.io/kubernetes/cmd/kube-apiserver",
    ]);
  });

  it("finds exactly the v0.0.0 requirements of a go.mod", () => {
    expect(parseZeroVersionRequires(SAMPLE_KUBERNETES_GO_MOD)).toEqual([
      "k8s.io/api",
      "k8s.io/client-go",
      "k8s.io/cri-client",
      "k8s.io/kubectl",
      "k8s.io/streaming",
    ]);
  });

  it("writes a replace for every staging module", () => {
    const goMod = kubernetesWrapperGoMod(["k8s.io/client-go", "k8s.io/api"]);
    expect(goMod).toContain("module virtualnode.local/k8s-build\n");
    expect(goMod).toContain("go 1.26.0\n");
    expect(goMod).toContain("require k8s.io/kubernetes v1.37.2\n");
    expect(goMod).toContain(
      "replace (\n\tk8s.io/api => k8s.io/api v0.37.2\n\tk8s.io/client-go => k8s.io/client-go v0.37.2\n)\n",
    );
  });

  it("parses /usr/bin/time -v output and compares versions", () => {
    expect(parseMaxRss("\tMaximum resident set size (kbytes): 2434024\n")).toBe(2434024);
    expect(parseMaxRss("nothing")).toBeNull();
    expect(compareVersions("1.26.8", "1.26")).toBeGreaterThan(0);
    expect(compareVersions("1.26", "1.26.0")).toBe(0);
    expect(compareVersions("1.25.9", "1.26")).toBeLessThan(0);
  });
});

describe("go toolchain detection", () => {
  it("returns null without go on PATH", async () => {
    expect(await findGoToolchain({ PATH: "/nonexistent" })).toBeNull();
  });

  it("accepts Go 1.26+ and rejects older ones", async () => {
    const dir = await tempDir();
    await writeFakeGo(dir);
    const env = { PATH: `${dir}:/usr/bin:/bin`, FAKE_GO_LOG: join(dir, "log") };
    expect(await findGoToolchain(env)).toEqual({ path: join(dir, "go"), version: "go1.26.8" });
    const error = await rejection(findGoToolchain({ ...env, FAKE_GO_VERSION: "go1.25.4" }));
    expect(error.code).toBe(ErrorCode.GoTooOld);
    expect(error.message).toContain("Go 1.26 or newer");
  });
});

describe("go build steps", () => {
  it("a failing go command becomes a typed error with the tail of the build log", async () => {
    const dir = await tempDir();
    const go = await writeScript(
      join(dir, "go"),
      'i=1; while [ $i -le 100 ]; do echo "error line $i" >&2; i=$((i+1)); done; exit 2',
    );
    const error = await rejection(
      runGoStep({
        go: { path: go, version: "go1.26.8" },
        args: ["build", "./..."],
        cwd: dir,
        logFile: join(dir, "build.log"),
        label: "go build test",
        progress: silentProgress(),
      }),
    );
    expect(error.code).toBe(ErrorCode.GoBuildFailed);
    expect(error.logTail?.split("\n")).toHaveLength(BUILD_LOG_TAIL_LINES);
    expect(error.logTail?.split("\n").at(-1)).toBe("error line 100");
    expect(error.message).toContain("exit code 2");
    expect(error.message).toContain("error line 61");
    expect(error.message).not.toContain("error line 60\n");
  });

  it("prints liveness lines while a step runs (non-interactive sink)", async () => {
    const dir = await tempDir();
    const go = await writeScript(join(dir, "go"), "sleep 0.3");
    const progress = collectingProgress();
    const result = await runGoStep({
      go: { path: go, version: "go1.26.8" },
      args: ["version"],
      cwd: dir,
      logFile: join(dir, "log"),
      label: "go version",
      progress,
    });
    expect(result.seconds).toBeGreaterThan(0.2);
    expect(progress.lines[0]).toBe("go version …");
    expect(progress.lines.at(-1)).toMatch(/^go version done in \d+s/);
  });
});

describe("building the cache (with a fake go)", () => {
  async function setup() {
    const dir = await tempDir();
    const goDir = join(dir, "go-bin");
    await writeFakeGo(goDir);
    const goModPath = join(dir, "kubernetes.go.mod");
    await writeFile(goModPath, SAMPLE_KUBERNETES_GO_MOD);
    const goLog = join(dir, "go-invocations.log");
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      PATH: `${goDir}:${process.env.PATH ?? ""}`,
      FAKE_GO_LOG: goLog,
      FAKE_K8S_GOMOD: goModPath,
    };
    const invocations = async () =>
      (await readFile(goLog, "utf8").catch(() => "")).trim().split("\n").filter(Boolean);
    return { cacheRoot: join(dir, "cache"), env, invocations };
  }

  it("builds once, stamps, and does not run go at all the second time", async () => {
    const { cacheRoot, env, invocations } = await setup();
    const progress = collectingProgress();
    const first = await ensureCachedBinaries(KUBERNETES_CACHE, { cacheRoot, env, progress });
    expect(first.built).toBe(true);
    const paths = cachePaths(cacheRoot, KUBERNETES_CACHE);
    const calls = await invocations();
    expect(calls[0]).toBe("env GOVERSION");
    expect(calls[1]).toBe("mod download -json k8s.io/kubernetes@v1.37.2");
    expect(calls[2]).toBe("mod tidy");
    expect(calls.slice(3).map((c) => c.split(" ").at(-1))).toEqual([
      "k8s.io/kubernetes/cmd/kube-apiserver",
      "k8s.io/kubernetes/cmd/kube-controller-manager",
      "k8s.io/kubernetes/cmd/kube-scheduler",
      "k8s.io/kubernetes/cmd/kubectl",
    ]);
    expect(calls[3]).toContain(
      `-trimpath -ldflags ${EXPECTED_LDFLAGS} -o ${paths.binDir}/.kube-apiserver.tmp-`,
    );

    const goMod = await readFile(join(paths.srcDir, "go.mod"), "utf8");
    expect(goMod).toContain("\tk8s.io/kubectl => k8s.io/kubectl v0.37.2\n");
    expect(goMod).toContain("\tk8s.io/streaming => k8s.io/streaming v0.37.2\n");
    expect(goMod).not.toContain("k8s.io/utils =>");
    expect(await readFile(join(paths.srcDir, "tools.go"), "utf8")).toMatch(/^\/\/go:build tools\n/);

    const stamp = JSON.parse(await readFile(paths.stampFile, "utf8")) as CacheStamp;
    expect(stamp.version).toBe("v1.37.2");
    expect(stamp.goVersion).toBe("go1.26.8");
    expect(Object.keys(stamp.binaries)).toEqual([
      "kube-apiserver",
      "kube-controller-manager",
      "kube-scheduler",
      "kubectl",
    ]);
    expect(Object.keys(stamp.build.steps)).toContain("go build kube-apiserver");
    expect((await stat(paths.binary("kubectl"))).mode & 0o111).not.toBe(0);
    expect(progress.lines.some((l) => l.startsWith("built kubernetes v1.37.2"))).toBe(true);

    const before = (await invocations()).length;
    const second = await ensureCachedBinaries(KUBERNETES_CACHE, {
      cacheRoot,
      env,
      progress: silentProgress(),
    });
    expect(second.built).toBe(false);
    expect((await invocations()).length).toBe(before);
  });

  it("rebuilds a corrupted cache", async () => {
    const { cacheRoot, env } = await setup();
    await ensureCachedBinaries(ETCD_CACHE, { cacheRoot, env, progress: silentProgress() });
    const paths = cachePaths(cacheRoot, ETCD_CACHE);
    await writeFile(paths.binary("etcd"), "garbage");
    const again = await ensureCachedBinaries(ETCD_CACHE, { cacheRoot, env, progress: silentProgress() });
    expect(again.built).toBe(true);
    expect(await readFile(paths.binary("etcd"), "utf8")).toContain("etcd Version: 3.6.16");
  });

  it("a failed build leaves no stamp and releases the lock", async () => {
    const { cacheRoot, env } = await setup();
    const failing = { ...env, FAKE_GO_FAIL: "kube-scheduler" };
    const error = await rejection(
      ensureCachedBinaries(KUBERNETES_CACHE, { cacheRoot, env: failing, progress: silentProgress() }),
    );
    expect(error.code).toBe(ErrorCode.GoBuildFailed);
    expect(error.message).toContain("go build kube-scheduler failed");
    expect(error.logTail?.split("\n").at(-1)).toBe("compile error line 100");
    const paths = cachePaths(cacheRoot, KUBERNETES_CACHE);
    await expect(stat(paths.stampFile)).rejects.toThrow();
    // lock released: can be taken immediately
    const release = await acquireLock(paths.lockFile, { timeoutMs: 1000 });
    await release();
    // and the next attempt builds successfully
    expect(
      (await ensureCachedBinaries(KUBERNETES_CACHE, { cacheRoot, env, progress: silentProgress() })).built,
    ).toBe(true);
  });
});
