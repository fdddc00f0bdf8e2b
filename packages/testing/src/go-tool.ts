/**
 * Generic, cached builds of a Go `main` package at a pinned module version (e.g. other virtual kubelets for
 * benchmarks): a wrapper module that requires `module@version`, `go mod tidy`, `go build`, cached under
 * `<cacheRoot>/go-tools/<name>-<version>[-<variant>]/` and verified by sha256 on every use. The cache
 * (root, stamp, lock, check-lock-check-build) is go-cache.ts and the build steps go-build.ts, the same
 * as the control-plane build's.
 */
import { chmod, copyFile, cp, mkdir, readdir, rename, rm, stat, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";

import { ErrorCode, TestingError } from "./errors.js";
import {
  goModDownload,
  moduleDownloadError,
  runGoStep,
  tidyWrapperModule,
  type GoToolchain,
  type WrapperModuleOptions,
} from "./go-build.js";
import {
  defaultCacheRoot,
  ensureCacheEntry,
  readStampText,
  sha256File,
  STAMP_FILE,
  writeStamp,
  type CacheEntry,
} from "./go-cache.js";
import { formatDuration, stderrProgress, type ProgressSink } from "./progress.js";
import { GO_DIRECTIVE } from "./versions.js";
import { isExecutableFile } from "./which.js";

/** A Go main package to build at a pinned module version. */
export interface GoToolSpec {
  /** Binary file name, e.g. `virtual-kubelet`. */
  readonly name: string;
  /** Module that holds the main package, e.g. `github.com/virtual-kubelet/virtual-kubelet`. */
  readonly module: string;
  /** Module version, e.g. `v1.14.1`. */
  readonly version: string;
  /** Import path of the main package. */
  readonly packagePath: string;
  /** `-ldflags`. Default `-s -w`. */
  readonly ldflags?: string;
  /** Names a variant of the build (e.g. one with an overlay); part of the cache directory name. */
  readonly variant?: string;
  /**
   * Files laid over the module's source at build time (`go build -overlay`): module-relative path →
   * contents. Called with the module's source directory, so it may derive them from the module's files.
   * Go refuses overlays inside the module cache, so the module is then built from a copy of its source in
   * the cache directory (`module-src/`, wired with a `replace`); the copy itself is left as downloaded.
   */
  readonly overlay?: (moduleDir: string) => Promise<Readonly<Record<string, string>>>;
  /** Module-relative files copied next to the binary (`<dir>/module-files/<path>`) for use at run time. */
  readonly copyFiles?: readonly string[];
}

export interface GoToolStamp {
  readonly schema: 1;
  readonly module: string;
  readonly version: string;
  readonly packagePath: string;
  readonly variant: string | null;
  readonly goVersion: string;
  readonly builtAt: string;
  readonly sha256: string;
  readonly size: number;
  readonly copiedFiles: readonly string[];
  readonly build: { readonly totalSeconds: number; readonly peakRssKiB: number | null };
}

export interface EnsuredGoTool {
  /** Absolute path of the binary. */
  readonly path: string;
  /** The cache directory. */
  readonly dir: string;
  /** Directory holding `copyFiles` (module-relative layout). */
  readonly filesDir: string;
  readonly stamp: GoToolStamp;
  /** True when this call built it. */
  readonly built: boolean;
}

export interface EnsureGoToolOptions {
  readonly cacheRoot?: string;
  readonly env?: NodeJS.ProcessEnv;
  readonly progress?: ProgressSink;
  readonly signal?: AbortSignal;
  readonly go?: GoToolchain | null;
  /** When false, a missing or invalid cache is an error instead of a build. Default true. */
  readonly build?: boolean;
}

/** Cache directory name: `<name>-<version>[-<variant>]`. */
export function goToolDirName(spec: GoToolSpec): string {
  return [spec.name, spec.version, ...(spec.variant === undefined ? [] : [spec.variant])].join("-");
}

export function goToolPaths(cacheRoot: string, spec: GoToolSpec) {
  const root = join(cacheRoot, "go-tools");
  const dir = join(root, goToolDirName(spec));
  return {
    root,
    dir,
    binary: join(dir, "bin", spec.name),
    srcDir: join(dir, "src"),
    moduleSrcDir: join(dir, "module-src"),
    logDir: join(dir, "logs"),
    overlayDir: join(dir, "overlay"),
    filesDir: join(dir, "module-files"),
    stampFile: join(dir, STAMP_FILE),
    lockFile: join(root, `${goToolDirName(spec)}.lock`),
  };
}

/** go.mod of the wrapper module: requires exactly `module@version`; `go mod tidy` fills in the rest. */
export function goToolWrapperGoMod(spec: GoToolSpec, replaceWith?: string): string {
  const replace = replaceWith === undefined ? "" : `\nreplace ${spec.module} => ${replaceWith}\n`;
  return `module virtualnode.local/go-tool-build\n\ngo ${GO_DIRECTIVE}\n\nrequire ${spec.module} ${spec.version}\n${replace}`;
}

/** Module cache files and directories are read-only; a copy must be removable again. */
async function makeWritable(dir: string): Promise<void> {
  await chmod(dir, 0o755);
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) await makeWritable(path);
    else if (entry.isFile()) await chmod(path, 0o644);
  }
}

export function goToolToolsGo(spec: GoToolSpec): string {
  return `//go:build tools\n\npackage tools\n\nimport _ "${spec.packagePath}"\n`;
}

/** Pure: may the stamp (raw text) and the binary's hash be used for `spec`? */
export function goToolCacheValid(
  spec: GoToolSpec,
  stampText: string | undefined,
  sha256: string | undefined,
) {
  if (stampText === undefined) return { valid: false, reason: "no stamp file" } as const;
  let stamp: Partial<GoToolStamp>;
  try {
    stamp = JSON.parse(stampText) as Partial<GoToolStamp>;
  } catch {
    return { valid: false, reason: "stamp file is not valid JSON" } as const;
  }
  if (
    stamp.schema !== 1 ||
    stamp.module !== spec.module ||
    stamp.version !== spec.version ||
    stamp.packagePath !== spec.packagePath ||
    stamp.variant !== (spec.variant ?? null)
  ) {
    return { valid: false, reason: "stamp is for another module, version or variant" } as const;
  }
  if (sha256 === undefined) return { valid: false, reason: `${spec.name} is missing` } as const;
  if (stamp.sha256 !== sha256)
    return { valid: false, reason: `${spec.name} does not match its stamp` } as const;
  return { valid: true, stamp: stamp as GoToolStamp } as const;
}

async function inspect(spec: GoToolSpec, paths: ReturnType<typeof goToolPaths>) {
  const stampText = await readStampText(paths.stampFile);
  const sha = isExecutableFile(paths.binary) ? await sha256File(paths.binary) : undefined;
  return goToolCacheValid(spec, stampText, sha);
}

async function buildGoTool(
  spec: GoToolSpec,
  paths: ReturnType<typeof goToolPaths>,
  go: GoToolchain,
  progress: ProgressSink,
  env: NodeJS.ProcessEnv,
  signal: AbortSignal | undefined,
): Promise<GoToolStamp> {
  const startedAt = Date.now();
  await rm(paths.dir, { recursive: true, force: true });
  await Promise.all(
    [paths.srcDir, paths.logDir, dirname(paths.binary)].map((d) => mkdir(d, { recursive: true })),
  );
  await writeFile(join(paths.srcDir, "go.mod"), goToolWrapperGoMod(spec));
  await writeFile(join(paths.srcDir, "tools.go"), goToolToolsGo(spec));
  const common = { go, progress, env, ...(signal === undefined ? {} : { signal }) };
  const build: WrapperModuleOptions = { ...common, srcDir: paths.srcDir, logDir: paths.logDir };
  const download = await goModDownload(build, `${spec.module}@${spec.version}`);
  const downloaded = download.info?.Dir;
  if (downloaded === undefined) {
    throw moduleDownloadError(`go mod download gave no directory for ${spec.module}`, download);
  }
  let moduleDir = downloaded;
  let goMod = goToolWrapperGoMod(spec);
  if (spec.overlay !== undefined) {
    await cp(downloaded, paths.moduleSrcDir, { recursive: true });
    await makeWritable(paths.moduleSrcDir);
    moduleDir = paths.moduleSrcDir;
    goMod = goToolWrapperGoMod(spec, "../module-src");
  }
  await tidyWrapperModule(build, { goMod, toolsGo: goToolToolsGo(spec) }, spec.name);
  const overlayArgs: string[] = [];
  if (spec.overlay !== undefined) {
    const files = await spec.overlay(moduleDir);
    const replace: Record<string, string> = {};
    for (const [rel, contents] of Object.entries(files)) {
      const target = join(paths.overlayDir, rel);
      await mkdir(dirname(target), { recursive: true });
      await writeFile(target, contents);
      replace[join(moduleDir, rel)] = target;
    }
    const overlayJson = join(paths.dir, "overlay.json");
    await writeFile(overlayJson, `${JSON.stringify({ Replace: replace }, null, 2)}\n`);
    overlayArgs.push(`-overlay=${overlayJson}`);
  }
  const tmp = `${paths.binary}.tmp-${process.pid}`;
  const step = await runGoStep({
    ...common,
    args: [
      "build",
      "-trimpath",
      "-ldflags",
      spec.ldflags ?? "-s -w",
      ...overlayArgs,
      "-o",
      tmp,
      spec.packagePath,
    ],
    cwd: paths.srcDir,
    logFile: join(paths.logDir, `build-${spec.name}.log`),
    label: `go build ${spec.name} ${spec.version}`,
  });
  await rename(tmp, paths.binary);
  for (const rel of spec.copyFiles ?? []) {
    const target = join(paths.filesDir, rel);
    await mkdir(dirname(target), { recursive: true });
    await copyFile(join(moduleDir, rel), target);
  }
  const stamp: GoToolStamp = {
    schema: 1,
    module: spec.module,
    version: spec.version,
    packagePath: spec.packagePath,
    variant: spec.variant ?? null,
    goVersion: go.version,
    builtAt: new Date().toISOString(),
    sha256: await sha256File(paths.binary),
    size: (await stat(paths.binary)).size,
    copiedFiles: [...(spec.copyFiles ?? [])],
    build: { totalSeconds: Math.round((Date.now() - startedAt) / 100) / 10, peakRssKiB: step.peakRssKiB },
  };
  await writeStamp(paths.stampFile, stamp);
  progress.line(
    `built ${spec.name} ${spec.version} in ${formatDuration(Date.now() - startedAt)} → ${paths.binary}`,
  );
  return stamp;
}

/**
 * Makes sure `<cacheRoot>/go-tools/<name>-<version>[-<variant>]` holds a verified build of `spec`, building
 * it (under a lock) from the Go module proxy when it does not. A valid cache costs no `go` invocation.
 */
export async function ensureGoTool(
  spec: GoToolSpec,
  options: EnsureGoToolOptions = {},
): Promise<EnsuredGoTool> {
  const env = options.env ?? process.env;
  const cacheRoot = options.cacheRoot ?? defaultCacheRoot(env);
  const progress = options.progress ?? stderrProgress();
  const paths = goToolPaths(cacheRoot, spec);
  const result = (stamp: GoToolStamp, built: boolean): EnsuredGoTool => ({
    path: paths.binary,
    dir: paths.dir,
    filesDir: paths.filesDir,
    stamp,
    built,
  });
  const entry: CacheEntry<GoToolStamp> = {
    name: goToolDirName(spec),
    parentDir: paths.root,
    lockFile: paths.lockFile,
    inspect: () => inspect(spec, paths),
    build: (go) => buildGoTool(spec, paths, go, progress, env, options.signal),
    unavailable: (reason, buildDisabled) =>
      new TestingError(
        ErrorCode.BinariesUnavailable,
        `${spec.name} ${spec.version} is not in ${paths.dir} (${reason}) and ` +
          (buildDisabled ? "building is disabled for this call" : "there is no Go toolchain on PATH"),
      ),
  };
  const { stamp, built } = await ensureCacheEntry(entry, { ...options, env, progress });
  return result(stamp, built);
}
