/**
 * KEDA v2.21 (operator and metrics adapter) built from the Go module proxy and cached under
 * `<cacheRoot>/go-tools/keda-<version>/` like the harness's other Go tools, verified by sha256 on
 * every use. Not through `ensureGoTool`: that builds from a wrapper module, which ignores KEDA's own
 * `replace` directive (nexus-proto-annotations) and would `go mod tidy` KEDA's whole test graph; KEDA is
 * built instead in a copy of its module source, with its own go.mod/go.sum (`-mod=readonly`: the
 * versions KEDA released with). The CRDs come from the same source (`config/crd/bases`).
 */
import { spawn } from "node:child_process";
import { createWriteStream } from "node:fs";
import { chmod, cp, mkdir, readdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import {
  acquireLock,
  defaultCacheRoot,
  findGoToolchain,
  sha256File,
  stderrProgress,
  type GoToolchain,
  type ProgressSink,
} from "@virtual-node/testing";

export const KEDA_MODULE = "github.com/kedacore/keda/v2";
export const KEDA_VERSION = "v2.21.0";
const BINARIES = { "keda-operator": "./cmd/operator", "keda-adapter": "./cmd/adapter" } as const;
type KedaBinary = keyof typeof BINARIES;

export interface KedaBuild {
  readonly operator: string;
  readonly adapter: string;
  /** `config/crd/bases/*.yaml` of the same version. */
  readonly crdFiles: readonly string[];
  readonly stamp: KedaStamp;
  readonly built: boolean;
}

interface KedaStamp {
  readonly schema: 1;
  readonly module: string;
  readonly version: string;
  readonly goVersion: string;
  readonly builtAt: string;
  readonly sha256: Record<KedaBinary, string>;
  readonly crds: string[];
  readonly build: { readonly totalSeconds: number };
}

function paths(cacheRoot: string) {
  const dir = join(cacheRoot, "go-tools", `keda-${KEDA_VERSION}`);
  return {
    dir,
    bin: join(dir, "bin"),
    src: join(dir, "module-src"),
    crds: join(dir, "crds"),
    logs: join(dir, "logs"),
    stamp: join(dir, "stamp.json"),
    lock: join(cacheRoot, "go-tools", `keda-${KEDA_VERSION}.lock`),
  };
}

async function validStamp(p: ReturnType<typeof paths>): Promise<KedaStamp | undefined> {
  const text = await readFile(p.stamp, "utf8").catch(() => undefined);
  if (text === undefined) return undefined;
  const stamp = JSON.parse(text) as Partial<KedaStamp>;
  if (stamp.schema !== 1 || stamp.module !== KEDA_MODULE || stamp.version !== KEDA_VERSION) return undefined;
  for (const name of Object.keys(BINARIES) as KedaBinary[]) {
    const sha = await sha256File(join(p.bin, name)).catch(() => undefined);
    if (sha === undefined || sha !== stamp.sha256?.[name]) return undefined;
  }
  return stamp as KedaStamp;
}

/** Runs `go …`, output to `logFile`, a progress line every 60 s; rejects with the log's tail. */
function runGo(
  go: GoToolchain,
  args: readonly string[],
  cwd: string,
  logFile: string,
  progress: ProgressSink,
): Promise<string> {
  return new Promise((resolve, reject) => {
    const log = createWriteStream(logFile);
    const out: Buffer[] = [];
    const child = spawn(go.path, args, {
      cwd,
      env: { ...process.env, GOFLAGS: "-mod=readonly", GOTOOLCHAIN: "local" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    const startedAt = Date.now();
    const timer = setInterval(() => {
      progress.line(
        `keda: go ${args[0] ?? ""} running for ${String(Math.round((Date.now() - startedAt) / 1000))}s`,
      );
    }, 60_000);
    child.stdout.on("data", (c: Buffer) => {
      out.push(c);
      log.write(c);
    });
    child.stderr.on("data", (c: Buffer) => log.write(c));
    child.on("error", reject);
    child.on("close", (code) => {
      clearInterval(timer);
      log.end();
      if (code === 0) {
        resolve(Buffer.concat(out).toString("utf8"));
        return;
      }
      void readFile(logFile, "utf8").then((text) => {
        reject(
          new Error(
            `go ${args.join(" ")} failed (${String(code)}); ${logFile}:\n${text.split("\n").slice(-30).join("\n")}`,
          ),
        );
      }, reject);
    });
  });
}

async function makeWritable(dir: string): Promise<void> {
  await chmod(dir, 0o755);
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) await makeWritable(path);
    else if (entry.isFile()) await chmod(path, 0o644);
  }
}

/**
 * A verified cached build of KEDA's operator and adapter, building it (under a lock) when missing.
 * A cold build downloads KEDA's dependencies and compiles every scaler: tens of minutes on 2 cores.
 */
export async function ensureKeda(
  options: { cacheRoot?: string; progress?: ProgressSink } = {},
): Promise<KedaBuild> {
  const cacheRoot = options.cacheRoot ?? defaultCacheRoot(process.env);
  const progress = options.progress ?? stderrProgress();
  const p = paths(cacheRoot);
  const result = (stamp: KedaStamp, built: boolean): KedaBuild => ({
    operator: join(p.bin, "keda-operator"),
    adapter: join(p.bin, "keda-adapter"),
    crdFiles: stamp.crds.map((name) => join(p.crds, name)),
    stamp,
    built,
  });
  const cached = await validStamp(p);
  if (cached !== undefined) return result(cached, false);
  const go = await findGoToolchain(process.env);
  if (go === null)
    throw new Error(`KEDA ${KEDA_VERSION} is not in ${p.dir} and there is no Go toolchain on PATH`);
  await mkdir(join(cacheRoot, "go-tools"), { recursive: true });
  const release = await acquireLock(p.lock, { progress });
  try {
    const again = await validStamp(p);
    if (again !== undefined) return result(again, false);
    const startedAt = Date.now();
    await rm(p.dir, { recursive: true, force: true });
    await Promise.all([p.bin, p.logs, p.crds].map((d) => mkdir(d, { recursive: true })));
    progress.line(`keda: building ${KEDA_MODULE}@${KEDA_VERSION} into ${p.dir} (log: ${p.logs})`);
    const download = await runGo(
      go,
      ["mod", "download", "-json", `${KEDA_MODULE}@${KEDA_VERSION}`],
      p.logs,
      join(p.logs, "go-mod-download.log"),
      progress,
    );
    const moduleDir = (JSON.parse(download) as { Dir?: string }).Dir;
    if (moduleDir === undefined) throw new Error(`go mod download gave no directory for ${KEDA_MODULE}`);
    await cp(moduleDir, p.src, { recursive: true });
    await makeWritable(p.src);
    const tmpBin = join(p.dir, `bin.tmp-${String(process.pid)}`);
    await mkdir(tmpBin, { recursive: true });
    await runGo(
      go,
      ["build", "-trimpath", "-ldflags", "-s -w", "-o", `${tmpBin}/`, ...Object.values(BINARIES)],
      p.src,
      join(p.logs, "build.log"),
      progress,
    );
    const sha256 = {} as Record<KedaBinary, string>;
    for (const [name, pkg] of Object.entries(BINARIES) as [KedaBinary, string][]) {
      await rename(join(tmpBin, pkg.split("/").pop() ?? name), join(p.bin, name));
      sha256[name] = await sha256File(join(p.bin, name));
    }
    await rm(tmpBin, { recursive: true, force: true });
    const crdDir = join(p.src, "config", "crd", "bases");
    const crds = (await readdir(crdDir)).filter((f) => f.endsWith(".yaml")).sort();
    for (const name of crds) await cp(join(crdDir, name), join(p.crds, name));
    // The copy of the source is needed only while building.
    await rm(p.src, { recursive: true, force: true });
    const stamp: KedaStamp = {
      schema: 1,
      module: KEDA_MODULE,
      version: KEDA_VERSION,
      goVersion: go.version,
      builtAt: new Date().toISOString(),
      sha256,
      crds,
      build: { totalSeconds: Math.round((Date.now() - startedAt) / 1000) },
    };
    await writeFile(`${p.stamp}.tmp`, `${JSON.stringify(stamp, null, 2)}\n`);
    await rename(`${p.stamp}.tmp`, p.stamp);
    const size = (await stat(join(p.bin, "keda-operator"))).size;
    progress.line(
      `keda: built in ${String(stamp.build.totalSeconds)}s (operator ${String(Math.round(size / 2 ** 20))} MiB)`,
    );
    return result(stamp, true);
  } finally {
    await release();
  }
}
