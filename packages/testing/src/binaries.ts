import { execFile } from "node:child_process";
import { mkdir, rename, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";

import { ErrorCode, TestingError } from "./errors.js";
import {
  etcdBuildTarget,
  goBuildArgs,
  kubernetesBuildTarget,
  prepareEtcdModule,
  prepareKubernetesModule,
  runGoStep,
  type GoBuildTarget,
  type GoStepResult,
  type GoToolchain,
  type PreparedModule,
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
import {
  ETCD_VERSION,
  KUBERNETES_BINARY_NAMES,
  KUBERNETES_VERSION,
  MINIMUM_GO_VERSION,
  etcdCacheDirName,
  kubernetesCacheDirName,
  type BinaryName,
} from "./versions.js";
import { isExecutableFile } from "./which.js";

const execFileAsync = promisify(execFile);

/** Absolute paths of the control-plane binaries. */
export interface ControlPlaneBinaries {
  readonly etcd: string;
  readonly kubeApiserver: string;
  readonly kubeControllerManager?: string | undefined;
  readonly kubeScheduler?: string | undefined;
  readonly kubectl?: string | undefined;
}

/** Where a binary came from. */
export type BinarySource = "env" | "kubebuilder-assets" | "cache";

export interface ResolvedBinary {
  readonly path: string;
  readonly source: BinarySource;
  /** The environment variable that selected it, when source is env or kubebuilder-assets. */
  readonly variable?: string;
}

export const ALL_BINARY_NAMES: readonly BinaryName[] = ["etcd", ...KUBERNETES_BINARY_NAMES];

/** Per-binary override variables, in order of precedence. */
export const BINARY_ENV_VARIABLES: Readonly<Record<BinaryName, readonly string[]>> = {
  etcd: ["VIRTUAL_NODE_ETCD", "TEST_ASSET_ETCD"],
  "kube-apiserver": ["VIRTUAL_NODE_KUBE_APISERVER", "TEST_ASSET_KUBE_APISERVER"],
  "kube-controller-manager": ["VIRTUAL_NODE_KUBE_CONTROLLER_MANAGER", "TEST_ASSET_KUBE_CONTROLLER_MANAGER"],
  "kube-scheduler": ["VIRTUAL_NODE_KUBE_SCHEDULER", "TEST_ASSET_KUBE_SCHEDULER"],
  kubectl: ["VIRTUAL_NODE_KUBECTL", "TEST_ASSET_KUBECTL"],
};

// ---------------------------------------------------------------------------------------------------------
// Cache location (the cache root, stamp file, locking and sha256 are go-cache.ts, shared with go-tool.ts)

export { defaultCacheRoot, sha256File, STAMP_FILE };

/** What gets built into one cache directory. */
export interface CacheSpec {
  readonly kind: "kubernetes" | "etcd";
  readonly version: string;
  readonly dirName: string;
  readonly binaries: readonly BinaryName[];
}

export const KUBERNETES_CACHE: CacheSpec = {
  kind: "kubernetes",
  version: KUBERNETES_VERSION,
  dirName: kubernetesCacheDirName(),
  binaries: KUBERNETES_BINARY_NAMES,
};

export const ETCD_CACHE: CacheSpec = {
  kind: "etcd",
  version: ETCD_VERSION,
  dirName: etcdCacheDirName(),
  binaries: ["etcd"],
};

export function cacheSpecFor(name: BinaryName): CacheSpec {
  return name === "etcd" ? ETCD_CACHE : KUBERNETES_CACHE;
}

export function cachePaths(cacheRoot: string, spec: CacheSpec) {
  const dir = join(cacheRoot, spec.dirName);
  return {
    dir,
    binDir: join(dir, "bin"),
    srcDir: join(dir, "src"),
    logDir: join(dir, "logs"),
    stampFile: join(dir, STAMP_FILE),
    lockFile: join(cacheRoot, `${spec.dirName}.lock`),
    binary: (name: BinaryName) => join(dir, "bin", name),
  };
}

// ---------------------------------------------------------------------------------------------------------
// Stamp and cache validation

export interface BuildStepRecord {
  readonly seconds: number;
  readonly peakRssKiB: number | null;
}

/** Written (last) into a cache directory once every binary in it was built and verified. */
export interface CacheStamp {
  readonly schema: 1;
  readonly kind: CacheSpec["kind"];
  readonly version: string;
  readonly goVersion: string;
  readonly builtAt: string;
  readonly binaries: Readonly<Record<string, { readonly sha256: string; readonly size: number }>>;
  readonly build: {
    readonly totalSeconds: number;
    /** Largest peak RSS of any step, when measured. */
    readonly peakRssKiB: number | null;
    readonly steps: Readonly<Record<string, BuildStepRecord>>;
  };
}

/** Facts about one cached binary, gathered by {@link inspectCache}. */
export interface ObservedBinary {
  readonly exists: boolean;
  readonly sha256?: string;
  /** Output of the version command, or undefined when it could not run. */
  readonly versionOutput?: string;
}

export type CacheDecision =
  { readonly action: "use" } | { readonly action: "rebuild"; readonly reason: string };

/** The text a binary prints for `versionArgs(name)` when it is the pinned version. */
export function expectedVersionText(name: BinaryName, version: string): string {
  if (name === "etcd") {
    return `etcd Version: ${version.replace(/^v/, "")}`;
  }
  if (name === "kubectl") {
    return `Client Version: ${version}`;
  }
  return `Kubernetes ${version}`;
}

export function versionArgs(name: BinaryName): string[] {
  return name === "kubectl" ? ["version", "--client"] : ["--version"];
}

function isStamp(value: unknown): value is CacheStamp {
  if (typeof value !== "object" || value === null) {
    return false;
  }
  const v = value as Partial<CacheStamp>;
  return (
    v.schema === 1 &&
    typeof v.version === "string" &&
    typeof v.kind === "string" &&
    typeof v.binaries === "object" &&
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- runtime check of parsed JSON
    v.binaries !== null
  );
}

/**
 * Pure decision: may the cache directory be used as it is? `stampText` is the raw stamp file contents
 * (undefined when missing). Any doubt → rebuild.
 */
export function decideCacheAction(
  spec: CacheSpec,
  stampText: string | undefined,
  observed: Readonly<Partial<Record<BinaryName, ObservedBinary>>>,
): CacheDecision {
  if (stampText === undefined) {
    return { action: "rebuild", reason: "no stamp file (never built, or a build did not finish)" };
  }
  let stamp: unknown;
  try {
    stamp = JSON.parse(stampText);
  } catch {
    return { action: "rebuild", reason: "stamp file is not valid JSON" };
  }
  if (!isStamp(stamp)) {
    return { action: "rebuild", reason: "stamp file has an unexpected shape" };
  }
  if (stamp.kind !== spec.kind || stamp.version !== spec.version) {
    return {
      action: "rebuild",
      reason: `stamp is for ${stamp.kind} ${stamp.version}, expected ${spec.kind} ${spec.version}`,
    };
  }
  for (const name of spec.binaries) {
    const recorded = stamp.binaries[name];
    const seen = observed[name];
    if (recorded === undefined) {
      return { action: "rebuild", reason: `stamp does not list ${name}` };
    }
    if (seen?.exists !== true) {
      return { action: "rebuild", reason: `${name} is missing` };
    }
    if (seen.sha256 !== recorded.sha256) {
      return { action: "rebuild", reason: `${name} does not match the sha256 recorded in the stamp` };
    }
    if (seen.versionOutput === undefined) {
      return { action: "rebuild", reason: `${name} ${versionArgs(name).join(" ")} failed` };
    }
    if (!seen.versionOutput.includes(expectedVersionText(name, spec.version))) {
      return {
        action: "rebuild",
        reason: `${name} reports "${seen.versionOutput.trim().split("\n")[0] ?? ""}", expected "${expectedVersionText(name, spec.version)}"`,
      };
    }
  }
  return { action: "use" };
}

async function runVersion(path: string, name: BinaryName): Promise<string | undefined> {
  try {
    const { stdout, stderr } = await execFileAsync(path, versionArgs(name), {
      timeout: 30_000,
      env: { ...process.env, KUBECONFIG: "/dev/null" },
    });
    return `${stdout}${stderr}`;
  } catch {
    return undefined;
  }
}

async function observeBinary(path: string, name: BinaryName): Promise<ObservedBinary> {
  if (!isExecutableFile(path)) {
    return { exists: false };
  }
  const [sha256, versionOutput] = await Promise.all([sha256File(path), runVersion(path, name)]);
  return versionOutput === undefined ? { exists: true, sha256 } : { exists: true, sha256, versionOutput };
}

export interface CacheInspection {
  readonly decision: CacheDecision;
  readonly stamp?: CacheStamp;
}

/** Reads the stamp, hashes the binaries and runs their version command, then decides. */
export async function inspectCache(cacheRoot: string, spec: CacheSpec): Promise<CacheInspection> {
  const paths = cachePaths(cacheRoot, spec);
  const stampText = await readStampText(paths.stampFile);
  if (stampText === undefined) {
    return { decision: decideCacheAction(spec, undefined, {}) };
  }
  const entries = await Promise.all(
    spec.binaries.map(async (name) => [name, await observeBinary(paths.binary(name), name)] as const),
  );
  const decision = decideCacheAction(spec, stampText, Object.fromEntries(entries));
  return decision.action === "use" ? { decision, stamp: JSON.parse(stampText) as CacheStamp } : { decision };
}

// ---------------------------------------------------------------------------------------------------------
// Building a cache directory

export interface EnsureCacheOptions {
  readonly cacheRoot?: string;
  readonly env?: NodeJS.ProcessEnv;
  readonly progress?: ProgressSink;
  readonly signal?: AbortSignal;
  /** Resolved Go toolchain (looked up when omitted). */
  readonly go?: GoToolchain | null;
  /** When false, a missing or invalid cache is an error instead of a build. Default true. */
  readonly build?: boolean;
}

export interface EnsuredCache {
  readonly spec: CacheSpec;
  readonly dir: string;
  readonly paths: Readonly<Partial<Record<BinaryName, string>>>;
  readonly stamp: CacheStamp;
  /** True when this call built the binaries. */
  readonly built: boolean;
}

function noGoError(spec: CacheSpec, cacheRoot: string, reason: string, buildDisabled: boolean): TestingError {
  const wanted = spec.binaries.join(", ");
  const vars = spec.binaries.map((b) => BINARY_ENV_VARIABLES[b][0] ?? "").join(", ");
  const how = buildDisabled
    ? "Building is disabled for this call."
    : `There is no Go toolchain on PATH to build them (install Go ${MINIMUM_GO_VERSION} or newer from https://go.dev/dl/ ` +
      `and make sure \`go\` is on PATH; they are then built once into ${join(cacheRoot, spec.dirName)}).`;
  return new TestingError(
    ErrorCode.BinariesUnavailable,
    `The control plane needs ${wanted} (${spec.kind} ${spec.version}), but the cache has none usable (${reason}). ` +
      `${how} Alternatively set KUBEBUILDER_ASSETS to a directory containing etcd, kube-apiserver, ` +
      `kube-controller-manager, kube-scheduler and kubectl, or point ${vars} at the binaries.`,
  );
}

async function buildCache(
  cacheRoot: string,
  spec: CacheSpec,
  go: GoToolchain,
  progress: ProgressSink,
  env: NodeJS.ProcessEnv,
  signal: AbortSignal | undefined,
): Promise<CacheStamp> {
  const paths = cachePaths(cacheRoot, spec);
  const startedAt = Date.now();
  progress.line(
    `building ${spec.kind} ${spec.version} (${spec.binaries.join(", ")}) with ${go.version} into ${paths.dir}`,
  );
  progress.line(
    spec.kind === "kubernetes"
      ? "a cold Kubernetes build takes about 10 minutes on 2 cores (plus module downloads); later runs reuse the cache"
      : "a cold etcd build takes about a minute; later runs reuse the cache",
  );
  await rm(paths.stampFile, { force: true });
  await rm(paths.binDir, { recursive: true, force: true });
  await mkdir(paths.binDir, { recursive: true });
  await rm(paths.logDir, { recursive: true, force: true });
  const moduleOptions: WrapperModuleOptions = {
    go,
    srcDir: paths.srcDir,
    logDir: paths.logDir,
    progress,
    env,
    ...(signal === undefined ? {} : { signal }),
  };
  const prepared: PreparedModule =
    spec.kind === "kubernetes"
      ? await prepareKubernetesModule(moduleOptions)
      : await prepareEtcdModule(moduleOptions);
  const steps: Record<string, GoStepResult> = { ...prepared.steps };
  for (const name of spec.binaries) {
    const target: GoBuildTarget = name === "etcd" ? etcdBuildTarget() : kubernetesBuildTarget(name);
    const tmp = join(paths.binDir, `.${name}.tmp-${process.pid}`);
    steps[`go build ${name}`] = await runGoStep({
      go,
      args: goBuildArgs(target, tmp),
      cwd: paths.srcDir,
      logFile: join(paths.logDir, `build-${name}.log`),
      label: `go build ${name}`,
      progress,
      env,
      ...(signal === undefined ? {} : { signal }),
    });
    await rename(tmp, paths.binary(name));
  }
  const binaries: Record<string, { sha256: string; size: number }> = {};
  for (const name of spec.binaries) {
    const path = paths.binary(name);
    const observed = await observeBinary(path, name);
    const expected = expectedVersionText(name, spec.version);
    if (observed.versionOutput?.includes(expected) !== true) {
      throw new TestingError(
        ErrorCode.BuildVerificationFailed,
        `freshly built ${path} does not report "${expected}"`,
        { logTail: observed.versionOutput ?? "(version command failed)" },
      );
    }
    binaries[name] = { sha256: observed.sha256 ?? "", size: (await stat(path)).size };
  }
  const rssValues = Object.values(steps)
    .map((s) => s.peakRssKiB)
    .filter((v): v is number => v !== null);
  const stamp: CacheStamp = {
    schema: 1,
    kind: spec.kind,
    version: spec.version,
    goVersion: go.version,
    builtAt: new Date().toISOString(),
    binaries,
    build: {
      totalSeconds: Math.round((Date.now() - startedAt) / 100) / 10,
      peakRssKiB: rssValues.length === 0 ? null : Math.max(...rssValues),
      steps: Object.fromEntries(
        Object.entries(steps).map(([k, v]) => [
          k,
          { seconds: Math.round(v.seconds * 10) / 10, peakRssKiB: v.peakRssKiB },
        ]),
      ),
    },
  };
  await writeStamp(paths.stampFile, stamp);
  progress.line(
    `built ${spec.kind} ${spec.version} in ${formatDuration(Date.now() - startedAt)} → ${paths.binDir}`,
  );
  return stamp;
}

/**
 * Makes sure the cache directory for `spec` holds verified binaries, building them (under a lock) when it
 * does not. A valid cache costs no `go` invocation at all.
 */
export async function ensureCachedBinaries(
  spec: CacheSpec,
  options: EnsureCacheOptions = {},
): Promise<EnsuredCache> {
  const env = options.env ?? process.env;
  const cacheRoot = options.cacheRoot ?? defaultCacheRoot(env);
  const progress = options.progress ?? stderrProgress();
  const paths = cachePaths(cacheRoot, spec);
  const result = (stamp: CacheStamp, built: boolean): EnsuredCache => ({
    spec,
    dir: paths.dir,
    paths: Object.fromEntries(spec.binaries.map((b) => [b, paths.binary(b)])),
    stamp,
    built,
  });

  const entry: CacheEntry<CacheStamp> = {
    name: spec.dirName,
    parentDir: cacheRoot,
    lockFile: paths.lockFile,
    inspect: async () => {
      const inspection = await inspectCache(cacheRoot, spec);
      if (inspection.stamp !== undefined) return { valid: true, stamp: inspection.stamp };
      const { decision } = inspection;
      return { valid: false, reason: decision.action === "rebuild" ? decision.reason : "" };
    },
    build: (go) => buildCache(cacheRoot, spec, go, progress, env, options.signal),
    unavailable: (reason, buildDisabled) => noGoError(spec, cacheRoot, reason, buildDisabled),
  };
  const { stamp, built } = await ensureCacheEntry(entry, { ...options, env, progress });
  return result(stamp, built);
}

// ---------------------------------------------------------------------------------------------------------
// Resolution

export interface ResolveBinariesOptions extends EnsureCacheOptions {
  /**
   * Binaries that must be available. Default: etcd, kube-apiserver, kube-controller-manager, kube-scheduler.
   * kubectl is always filled in when it is available without building.
   */
  readonly required?: readonly BinaryName[];
}

export interface ResolvedBinaries extends ControlPlaneBinaries {
  readonly sources: Readonly<Partial<Record<BinaryName, ResolvedBinary>>>;
  /** Cache directories that were built by this call. */
  readonly built: readonly EnsuredCache[];
}

export const DEFAULT_REQUIRED_BINARIES: readonly BinaryName[] = [
  "etcd",
  "kube-apiserver",
  "kube-controller-manager",
  "kube-scheduler",
];

/**
 * Binaries selected by the environment alone (no cache, no build): per-binary variables first
 * (VIRTUAL_NODE_*, then TEST_ASSET_*), then `$KUBEBUILDER_ASSETS/<name>`. A per-binary variable that points
 * at something that is not an executable file is an error; a file missing from KUBEBUILDER_ASSETS is not.
 */
export function resolveFromEnvironment(env: NodeJS.ProcessEnv): Partial<Record<BinaryName, ResolvedBinary>> {
  const found: Partial<Record<BinaryName, ResolvedBinary>> = {};
  const assets = env.KUBEBUILDER_ASSETS;
  for (const name of ALL_BINARY_NAMES) {
    const variable = BINARY_ENV_VARIABLES[name].find((v) => env[v] !== undefined && env[v] !== "");
    if (variable !== undefined) {
      const path = env[variable] ?? "";
      if (!isExecutableFile(path)) {
        throw new TestingError(ErrorCode.BinaryNotFound, `${variable}=${path} is not an executable file`);
      }
      found[name] = { path, source: "env", variable };
      continue;
    }
    if (assets !== undefined && assets !== "") {
      const path = join(assets, name);
      if (isExecutableFile(path)) {
        found[name] = { path, source: "kubebuilder-assets", variable: "KUBEBUILDER_ASSETS" };
      }
    }
  }
  return found;
}

function toBinaries(
  sources: Partial<Record<BinaryName, ResolvedBinary>>,
  built: EnsuredCache[],
): ResolvedBinaries {
  const etcd = sources.etcd?.path;
  const kubeApiserver = sources["kube-apiserver"]?.path;
  if (etcd === undefined || kubeApiserver === undefined) {
    throw new Error("internal error: etcd and kube-apiserver must be resolved");
  }
  return {
    etcd,
    kubeApiserver,
    kubeControllerManager: sources["kube-controller-manager"]?.path,
    kubeScheduler: sources["kube-scheduler"]?.path,
    kubectl: sources.kubectl?.path,
    sources,
    built,
  };
}

/**
 * Finds the control-plane binaries: environment overrides, then KUBEBUILDER_ASSETS, then the version-keyed
 * cache — built from the Go module proxy on first use (needs Go on PATH).
 */
export async function resolveBinaries(options: ResolveBinariesOptions = {}): Promise<ResolvedBinaries> {
  const env = options.env ?? process.env;
  const required = new Set<BinaryName>([
    "etcd",
    "kube-apiserver",
    ...(options.required ?? DEFAULT_REQUIRED_BINARIES),
  ]);
  const sources = resolveFromEnvironment(env);
  const built: EnsuredCache[] = [];
  const specs = [ETCD_CACHE, KUBERNETES_CACHE].filter((spec) =>
    spec.binaries.some((name) => required.has(name) && sources[name] === undefined),
  );
  for (const spec of specs) {
    const ensured = await ensureCachedBinaries(spec, { ...options, env });
    if (ensured.built) {
      built.push(ensured);
    }
    for (const name of spec.binaries) {
      const path = ensured.paths[name];
      if (sources[name] === undefined && path !== undefined) {
        sources[name] = { path, source: "cache" };
      }
    }
  }
  if (sources.kubectl === undefined) {
    // Not required: use a previously built one without verifying the whole Kubernetes cache.
    const paths = cachePaths(options.cacheRoot ?? defaultCacheRoot(env), KUBERNETES_CACHE);
    const stampText = await readStampText(paths.stampFile);
    if (stampText !== undefined && isExecutableFile(paths.binary("kubectl"))) {
      sources.kubectl = { path: paths.binary("kubectl"), source: "cache" };
    }
  }
  return toBinaries(sources, built);
}
