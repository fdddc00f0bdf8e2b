/**
 * `npm run bench`: virtual-node, virtual-kubelet, KWOK and a raw writer side by side on one real control
 * plane (server-side request limits off, then on), A B A B over rounds. See docs/benchmarks.md.
 */
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { cpus, release, tmpdir, totalmem } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

import {
  ETCD_VERSION,
  KUBERNETES_VERSION,
  startControlPlane,
  stderrProgress,
  type ControlPlane,
} from "@virtual-node/testing";

import { formatCloudCalls } from "./cloud-calls.js";
import { cloudCallsSummaries, runCloudCalls } from "./cloud-scenario.js";
import { clientFor } from "./kube.js";
import { formatProfiles } from "./profile.js";
import {
  parseOptions,
  SYSTEM_IDS,
  USAGE,
  type BenchOptions,
  type ScenarioId,
  type SystemId,
} from "./options.js";
import { formatSummaries, metricValue, readyChart, SCENARIO_METRICS, summarize, table } from "./report.js";
import { writeSnapshot } from "./snapshot.js";
import { runOnce, type ControlPlaneConfig, type RunnerContext, type RunResult } from "./scenarios.js";
import { ensureTools, KWOK_VERSION, VIRTUAL_KUBELET_VERSION, type BuiltTools } from "./tools.js";

const here = dirname(fileURLToPath(import.meta.url));
const benchRoot = resolve(here, "..");

function print(line = ""): void {
  process.stdout.write(`${line}\n`);
}

function timestamp(): string {
  return new Date()
    .toISOString()
    .replace(/[-:]/g, "")
    .replace(/\.\d+Z$/, "Z")
    .replace("T", "-");
}

function oneLine(run: RunResult): string {
  if (!run.ok) return `FAILED: ${(run.error ?? "").split("\n")[0] ?? ""}`;
  const parts = SCENARIO_METRICS[run.scenario]
    .map((m) => [m.label, metricValue(run, m.key)] as const)
    .filter(([, v]) => Number.isFinite(v))
    .map(([label, v]) => `${label} ${Math.abs(v) >= 100 ? Math.round(v) : v}`);
  return parts.join(", ");
}

interface Plan {
  readonly config: ControlPlaneConfig;
  readonly scenarios: readonly ScenarioId[];
}

function plan(options: BenchOptions): Plan[] {
  const plans: Plan[] = [{ config: "limits-off", scenarios: options.scenarios }];
  if (options.scenarios.includes("churn") && options.limitsOnRounds > 0) {
    plans.push({ config: "limits-on", scenarios: ["churn"] });
  }
  return plans;
}

function roundsFor(options: BenchOptions, config: ControlPlaneConfig, scenario: ScenarioId): number {
  if (scenario === "churn") return config === "limits-off" ? options.rounds : options.limitsOnRounds;
  return options.longRounds;
}

async function runPlan(
  p: Plan,
  options: BenchOptions,
  tools: BuiltTools,
  logDir: string,
  profileDir: string | undefined,
  runs: RunResult[],
): Promise<void> {
  const progress = stderrProgress();
  progress.line(
    `starting a control plane (server-side request limits ${p.config === "limits-off" ? "off" : "on"})`,
  );
  let cp: ControlPlane | undefined;
  try {
    cp = await startControlPlane({
      apiServerRequestLimits: p.config === "limits-on",
      components: ["kube-controller-manager", "kube-scheduler"],
      progress,
      resolve: { progress },
    });
    const harness = await cp.mintClientIdentity({
      user: "virtual-node-bench:harness",
      groups: ["system:masters"],
    });
    const kubeconfigs = {} as Record<SystemId, string>;
    for (const system of SYSTEM_IDS) {
      // The same kind of identity for everyone: an admin-equivalent client certificate.
      const id = await cp.mintClientIdentity({
        user: `virtual-node-bench:${system}`,
        groups: ["system:masters"],
      });
      kubeconfigs[system] = id.kubeconfigPath;
    }
    const admin = clientFor(harness.kubeconfigPath, "virtual-node-bench-harness");
    const ctx: RunnerContext = {
      tools,
      kubeconfigs,
      admin,
      logDir,
      clientQps: options.clientQps,
      vkStock: options.vkStock,
      vkWorkers: options.vkWorkers,
      vnOptions: options.vnOptions,
      vnNodeArgs: options.vnNodeArgs,
      profileDir,
      beforeDir: options.beforeDir,
      runId: "",
      options,
      server: cp.server,
      metricsTls: { ca: cp.caCertPem, cert: harness.certPem, key: harness.keyPem },
      harnessKubeconfig: harness.kubeconfigPath,
      config: p.config,
      progress: (line) => {
        progress.line(line);
      },
    };
    for (const scenario of p.scenarios) {
      const rounds = roundsFor(options, p.config, scenario);
      for (let round = 1; round <= rounds; round++) {
        if (scenario === "cloud-calls") {
          // One run per cloud provider (the agent is virtual-node's; the peers have no cloud providers here).
          for (const provider of options.cloudProviders) {
            const started = Date.now();
            const run = await runCloudCalls(ctx, provider, round);
            runs.push(run);
            progress.line(
              `[${p.config}] cloud-calls ${round}/${rounds} ${provider} (${Math.round((Date.now() - started) / 1000)} s): ${oneLine(run)}`,
            );
          }
          continue;
        }
        for (const system of options.systems) {
          const started = Date.now();
          const run = await runOnce(ctx, scenario, system, round);
          runs.push(run);
          progress.line(
            `[${p.config}] ${scenario} ${round}/${rounds} ${system} (${Math.round((Date.now() - started) / 1000)} s): ${oneLine(run)}`,
          );
        }
      }
    }
    admin.close();
  } finally {
    await cp?.stop();
  }
}

async function main(argv: readonly string[]): Promise<number> {
  const { command, options } = parseOptions(argv, join(benchRoot, "results"));
  if (command === "help") {
    process.stdout.write(USAGE);
    return 0;
  }
  if (command === "snapshot") {
    await writeSnapshot(options.beforeDir, `snapshot of ${new Date().toISOString()}`);
    print(
      `snapshot of the current builds: ${options.beforeDir} (run it with --systems virtual-node-before,...)`,
    );
    return 0;
  }
  const progress = stderrProgress();
  const tools = await ensureTools(progress);
  if (command === "build") {
    print(
      `virtual-kubelet ${VIRTUAL_KUBELET_VERSION}: ${tools.virtualKubelet.path}${tools.virtualKubelet.built ? " (built now)" : ""}`,
    );
    print(`kwok ${KWOK_VERSION}: ${tools.kwok.path}${tools.kwok.built ? " (built now)" : ""}`);
    return 0;
  }
  const stamp = `${timestamp()}${options.quick ? "-quick" : ""}`;
  await mkdir(options.resultsDir, { recursive: true });
  const logDir = await mkdtemp(join(tmpdir(), "virtual-node-bench-"));
  const profileDir = options.profile ? join(options.resultsDir, `profiles-${stamp}`) : undefined;
  if (profileDir !== undefined) await mkdir(profileDir, { recursive: true });
  const startedAt = Date.now();
  const runs: RunResult[] = [];
  try {
    for (const p of plan(options)) await runPlan(p, options, tools, logDir, profileDir, runs);
  } finally {
    if (!options.keepLogs) await rm(logDir, { recursive: true, force: true });
  }
  const summaries = summarize(
    runs.filter((r) => r.scenario !== "cloud-calls"),
    options.systems,
  );
  const cloudCalls = cloudCallsSummaries(runs);
  const machine = {
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model ?? "unknown",
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    kernel: release(),
    node: process.version,
  };
  const versions = {
    kubernetes: KUBERNETES_VERSION,
    etcd: ETCD_VERSION,
    virtualKubelet: VIRTUAL_KUBELET_VERSION,
    kwok: KWOK_VERSION,
    go: tools.virtualKubelet.stamp.goVersion,
  };
  const jsonPath = join(options.resultsDir, `bench-${stamp}.json`);
  await writeFile(
    jsonPath,
    `${JSON.stringify({ startedAt: new Date(startedAt).toISOString(), durationSeconds: Math.round((Date.now() - startedAt) / 1000), machine, versions, options, summaries, cloudCalls, runs }, null, 2)}\n`,
  );
  const svg = readyChart(
    runs,
    options.systems,
    `${options.churnPods} bare pods, one node each, request limits off; ${machine.cpus} cores, Kubernetes ${KUBERNETES_VERSION}`,
  );
  const svgPath = join(options.resultsDir, `bench-${stamp}-churn-ready.svg`);
  if (svg !== undefined) await writeFile(svgPath, svg);
  print(formatSummaries(summaries));
  if (cloudCalls.length > 0) print(formatCloudCalls(cloudCalls, table));
  print();
  print(
    `machine: ${machine.cpus} × ${machine.cpuModel}, ${machine.memoryGiB} GiB, Linux ${machine.kernel}, Node ${machine.node}`,
  );
  print(
    `versions: Kubernetes ${versions.kubernetes}, etcd ${versions.etcd}, virtual-kubelet ${versions.virtualKubelet}, KWOK ${versions.kwok}, ${versions.go}`,
  );
  print(
    `took ${Math.round((Date.now() - startedAt) / 1000)} s; results: ${jsonPath}${svg === undefined ? "" : `, chart: ${svgPath}`}`,
  );
  if (profileDir !== undefined) {
    print(`\nCPU profiles of the virtual-node agent (one per run): ${profileDir}`);
    print(await formatProfiles(profileDir));
  }
  return runs.some((r) => !r.ok) ? 1 : 0;
}

// The API client's HTTP/2 session is unref'd: keep the process alive while work is pending.
const keepAlive = setInterval(() => undefined, 1 << 30);
main(process.argv.slice(2))
  .finally(() => {
    clearInterval(keepAlive);
  })
  .then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      process.stderr.write(
        `bench: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
      );
      process.exitCode = 1;
    },
  );
