import { execFile } from "node:child_process";
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";

import { ErrorCode, TestingError, tailLines } from "./errors.js";
import { spawnComponent } from "./process.js";
import { formatDuration, formatKiB, startTicker, type ProgressSink } from "./progress.js";
import {
  ETCD_LDFLAGS,
  ETCD_MODULE,
  ETCD_VERSION,
  ETCD_WRAPPER_MODULE,
  GO_DIRECTIVE,
  KUBERNETES_VERSION,
  KUBERNETES_WRAPPER_MODULE,
  MINIMUM_GO_VERSION,
  STAGING_VERSION,
  kubernetesLdflags,
} from "./versions.js";
import { findExecutable, isExecutableFile } from "./which.js";

const execFileAsync = promisify(execFile);

/** Number of build-log lines carried by a {@link ErrorCode.GoBuildFailed} error. */
export const BUILD_LOG_TAIL_LINES = 40;

export interface GoToolchain {
  readonly path: string;
  /** e.g. "go1.26.8" */
  readonly version: string;
}

/** Compares dotted numeric versions ("1.26.8" vs "1.26"); missing parts count as 0. */
export function compareVersions(a: string, b: string): number {
  const pa = a.split(".").map((p) => Number.parseInt(p, 10) || 0);
  const pb = b.split(".").map((p) => Number.parseInt(p, 10) || 0);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const diff = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (diff !== 0) {
      return diff;
    }
  }
  return 0;
}

/**
 * Finds `go` (VIRTUAL_NODE_GO, else PATH). Returns null when there is none; throws
 * {@link ErrorCode.GoTooOld} when it is older than {@link MINIMUM_GO_VERSION}.
 */
export async function findGoToolchain(env: NodeJS.ProcessEnv = process.env): Promise<GoToolchain | null> {
  const override = env.VIRTUAL_NODE_GO;
  const path =
    override !== undefined && override !== "" ? findExecutable(override, env) : findExecutable("go", env);
  if (path === null) {
    return null;
  }
  const { stdout } = await execFileAsync(path, ["env", "GOVERSION"], { env, timeout: 60_000 });
  const version = stdout.trim();
  const numeric = /^go(\d+(?:\.\d+)*)/.exec(version)?.[1];
  if (numeric === undefined || compareVersions(numeric, MINIMUM_GO_VERSION) < 0) {
    throw new TestingError(
      ErrorCode.GoTooOld,
      `${path} is ${version || "of unknown version"}; building the control plane needs Go ${MINIMUM_GO_VERSION} or newer. ` +
        `Install a newer Go, or set KUBEBUILDER_ASSETS to a directory with prebuilt binaries.`,
    );
  }
  return { path, version };
}

// ---------------------------------------------------------------------------------------------------------
// go.mod handling

/**
 * Returns the module paths that a go.mod requires at exactly `v0.0.0` — in k8s.io/kubernetes these are the
 * staging modules that its own (ignored for dependents) replace directives point into ./staging.
 */
export function parseZeroVersionRequires(goMod: string): string[] {
  const modules = new Set<string>();
  const withoutComments = goMod.replace(/\/\/[^\n]*/g, "");
  const consider = (line: string): void => {
    const [path, version, ...rest] = line.trim().split(/\s+/);
    if (path !== undefined && version === "v0.0.0" && rest.length === 0) {
      modules.add(path);
    }
  };
  for (const block of withoutComments.matchAll(/^require\s*\(([\s\S]*?)^\)/gm)) {
    for (const line of (block[1] ?? "").split("\n")) {
      consider(line);
    }
  }
  for (const single of withoutComments.matchAll(/^require\s+([^(\s][^\n]*)$/gm)) {
    consider(single[1] ?? "");
  }
  return [...modules].sort();
}

export function kubernetesWrapperGoMod(
  stagingModules: readonly string[],
  kubernetesVersion: string = KUBERNETES_VERSION,
  stagingVersion: string = STAGING_VERSION,
): string {
  const replaces = [...stagingModules]
    .sort()
    .map((m) => `\t${m} => ${m} ${stagingVersion}\n`)
    .join("");
  return (
    `module ${KUBERNETES_WRAPPER_MODULE}\n\ngo ${GO_DIRECTIVE}\n\nrequire k8s.io/kubernetes ${kubernetesVersion}\n\n` +
    `replace (\n${replaces})\n`
  );
}

export const KUBERNETES_TOOLS_GO = `//go:build tools

package tools

import (
\t_ "k8s.io/kubernetes/cmd/kube-apiserver"
\t_ "k8s.io/kubernetes/cmd/kube-controller-manager"
\t_ "k8s.io/kubernetes/cmd/kube-scheduler"
\t_ "k8s.io/kubectl/pkg/cmd"
\t_ "k8s.io/kubernetes/cmd/kubectl"
)
`;

export function etcdWrapperGoMod(etcdVersion: string = ETCD_VERSION): string {
  return `module ${ETCD_WRAPPER_MODULE}\n\ngo ${GO_DIRECTIVE}\n\nrequire ${ETCD_MODULE} ${etcdVersion}\n`;
}

export const ETCD_TOOLS_GO = `//go:build tools

package tools

import _ "${ETCD_MODULE}"
`;

// ---------------------------------------------------------------------------------------------------------
// Running go

export interface GoStepResult {
  readonly seconds: number;
  /** Peak RSS (largest single process of the step) from /usr/bin/time -v; null when unavailable. */
  readonly peakRssKiB: number | null;
}

export interface GoStepOptions {
  readonly go: GoToolchain;
  readonly args: readonly string[];
  readonly cwd: string;
  readonly logFile: string;
  readonly label: string;
  readonly progress: ProgressSink;
  readonly env?: NodeJS.ProcessEnv;
  readonly signal?: AbortSignal;
  /** Measure with /usr/bin/time -v when available. Default true. */
  readonly measure?: boolean;
}

const TIME_BINARY = "/usr/bin/time";

export function parseMaxRss(timeOutput: string): number | null {
  const match = /Maximum resident set size \(kbytes\):\s*(\d+)/.exec(timeOutput);
  return match?.[1] === undefined ? null : Number(match[1]);
}

/** Runs one go command with its output in `logFile`, a liveness ticker, and a typed error on failure. */
export async function runGoStep(options: GoStepOptions): Promise<GoStepResult> {
  const measure = (options.measure ?? true) && isExecutableFile(TIME_BINARY);
  const timeFile = `${options.logFile}.time`;
  const command = measure ? TIME_BINARY : options.go.path;
  const args = measure ? ["-v", "-o", timeFile, options.go.path, ...options.args] : [...options.args];
  await writeFile(options.logFile, `$ go ${options.args.join(" ")}\n`);
  const startedAt = Date.now();
  const stopTicker = startTicker(options.progress, options.label);
  const child = spawnComponent({
    name: `go ${options.args[0] ?? ""}`,
    command,
    args,
    cwd: options.cwd,
    env: options.env ?? process.env,
    logFile: options.logFile,
    keepAlive: true,
  });
  const onAbort = (): void => void child.stop({ timeoutMs: 2000 });
  options.signal?.addEventListener("abort", onAbort, { once: true });
  let exit;
  try {
    exit = await child.exited;
  } finally {
    stopTicker();
    options.signal?.removeEventListener("abort", onAbort);
  }
  const seconds = (Date.now() - startedAt) / 1000;
  const peakRssKiB = measure ? parseMaxRss(await readFile(timeFile, "utf8").catch(() => "")) : null;
  if (options.signal?.aborted === true) {
    throw new TestingError(ErrorCode.Aborted, `${options.label} aborted`);
  }
  if (exit.code !== 0) {
    const log = await readFile(options.logFile, "utf8").catch(() => "");
    const why =
      exit.error?.message ?? (exit.signal === null ? `exit code ${exit.code}` : `signal ${exit.signal}`);
    throw new TestingError(
      ErrorCode.GoBuildFailed,
      `${options.label} failed after ${formatDuration(seconds * 1000)} (${why}). Full log: ${options.logFile}`,
      { logTail: tailLines(log, BUILD_LOG_TAIL_LINES), logFile: options.logFile },
    );
  }
  const rss = peakRssKiB === null ? "" : `, peak RSS ${formatKiB(peakRssKiB)}`;
  options.progress.line(`${options.label} done in ${formatDuration(seconds * 1000)}${rss}`);
  return { seconds, peakRssKiB };
}

// ---------------------------------------------------------------------------------------------------------
// Wrapper modules

export interface WrapperModuleOptions {
  readonly go: GoToolchain;
  readonly srcDir: string;
  readonly logDir: string;
  readonly progress: ProgressSink;
  readonly env?: NodeJS.ProcessEnv;
  readonly signal?: AbortSignal;
}

export interface PreparedModule {
  readonly steps: Record<string, GoStepResult>;
  /** Staging modules replaced (Kubernetes only). */
  readonly replaced: readonly string[];
}

async function freshDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
}

/** What `go mod download -json` says about a module. */
export interface ModuleDownload {
  readonly Dir?: string;
  readonly GoMod?: string;
  readonly Error?: string;
}

/** The outcome of {@link goModDownload}. */
export interface ModuleDownloadResult {
  readonly step: GoStepResult;
  /** Undefined when the output holds no JSON object (`parseError` says why). */
  readonly info: ModuleDownload | undefined;
  readonly parseError?: unknown;
  readonly output: string;
  readonly logFile: string;
}

/**
 * Runs `go mod download -json <module>@<version>` in the wrapper module at `srcDir` (log:
 * `<logDir>/go-mod-download.log`) and parses what it printed.
 */
export async function goModDownload(
  options: WrapperModuleOptions,
  moduleAtVersion: string,
): Promise<ModuleDownloadResult> {
  const logFile = join(options.logDir, "go-mod-download.log");
  const step = await runGoStep({
    ...options,
    args: ["mod", "download", "-json", moduleAtVersion],
    cwd: options.srcDir,
    logFile,
    label: `go mod download ${moduleAtVersion}`,
    measure: false,
  });
  const output = await readFile(logFile, "utf8");
  try {
    const json = output.slice(output.indexOf("{"), output.lastIndexOf("}") + 1);
    return { step, info: JSON.parse(json) as ModuleDownload, output, logFile };
  } catch (parseError) {
    return { step, info: undefined, parseError, output, logFile };
  }
}

/** The error for a `go mod download` whose output lacks what the build needs. */
export function moduleDownloadError(message: string, download: ModuleDownloadResult): TestingError {
  return new TestingError(ErrorCode.GoBuildFailed, message, {
    ...(download.parseError === undefined ? {} : { cause: download.parseError }),
    logTail: download.info?.Error ?? tailLines(download.output, BUILD_LOG_TAIL_LINES),
    logFile: download.logFile,
  });
}

/**
 * Writes the wrapper module (`go.mod`, and `tools.go` importing the main packages so `go mod tidy`
 * keeps their dependencies) into `srcDir` and runs `go mod tidy`.
 */
export async function tidyWrapperModule(
  options: WrapperModuleOptions,
  files: { readonly goMod: string; readonly toolsGo: string },
  label: string,
): Promise<GoStepResult> {
  await writeFile(join(options.srcDir, "go.mod"), files.goMod);
  await writeFile(join(options.srcDir, "tools.go"), files.toolsGo);
  return runGoStep({
    ...options,
    args: ["mod", "tidy"],
    cwd: options.srcDir,
    logFile: join(options.logDir, "go-mod-tidy.log"),
    label: `go mod tidy (${label} wrapper module)`,
    measure: false,
  });
}

/** Generates the Kubernetes wrapper module in `srcDir` and runs `go mod tidy`. */
export async function prepareKubernetesModule(options: WrapperModuleOptions): Promise<PreparedModule> {
  const { srcDir, logDir } = options;
  await freshDir(srcDir);
  await mkdir(logDir, { recursive: true });
  await writeFile(join(srcDir, "go.mod"), `module ${KUBERNETES_WRAPPER_MODULE}\n\ngo ${GO_DIRECTIVE}\n`);
  const download = await goModDownload(options, `k8s.io/kubernetes@${KUBERNETES_VERSION}`);
  if (download.info === undefined) {
    throw moduleDownloadError("could not parse `go mod download -json` output", download);
  }
  if (download.info.GoMod === undefined) {
    throw moduleDownloadError(`go mod download did not return a go.mod path`, download);
  }
  const goModPath = download.info.GoMod;
  const replaced = parseZeroVersionRequires(await readFile(goModPath, "utf8"));
  if (replaced.length === 0) {
    throw new TestingError(
      ErrorCode.GoBuildFailed,
      `k8s.io/kubernetes@${KUBERNETES_VERSION} go.mod (${goModPath}) requires no v0.0.0 staging modules; ` +
        `the wrapper-module layout needs updating for this release`,
    );
  }
  const tidy = await tidyWrapperModule(
    options,
    { goMod: kubernetesWrapperGoMod(replaced), toolsGo: KUBERNETES_TOOLS_GO },
    "Kubernetes",
  );
  return { steps: { "go mod download": download.step, "go mod tidy": tidy }, replaced };
}

/** Generates the etcd wrapper module in `srcDir` and runs `go mod tidy`. */
export async function prepareEtcdModule(options: WrapperModuleOptions): Promise<PreparedModule> {
  const { srcDir, logDir } = options;
  await freshDir(srcDir);
  await mkdir(logDir, { recursive: true });
  const tidy = await tidyWrapperModule(
    options,
    { goMod: etcdWrapperGoMod(), toolsGo: ETCD_TOOLS_GO },
    "etcd",
  );
  return { steps: { "go mod tidy": tidy }, replaced: [] };
}

export interface GoBuildTarget {
  readonly name: string;
  readonly packagePath: string;
  readonly ldflags: string;
}

export function kubernetesBuildTarget(name: string): GoBuildTarget {
  return { name, packagePath: `k8s.io/kubernetes/cmd/${name}`, ldflags: kubernetesLdflags() };
}

export function etcdBuildTarget(): GoBuildTarget {
  return { name: "etcd", packagePath: ETCD_MODULE, ldflags: ETCD_LDFLAGS };
}

/** `go build` arguments; identical to the documented manual build so Go's build cache is shared. */
export function goBuildArgs(target: GoBuildTarget, output: string): string[] {
  return ["build", "-trimpath", "-ldflags", target.ldflags, "-o", output, target.packagePath];
}
