#!/usr/bin/env node
import { copyFile } from "node:fs/promises";
import { resolve } from "node:path";
import { parseArgs } from "node:util";

import { DEFAULT_REQUIRED_BINARIES, defaultCacheRoot, resolveBinaries } from "./binaries.js";
import { startControlPlane, type OptionalComponent } from "./control-plane.js";
import { ErrorCode, TestingError, isTestingError } from "./errors.js";
import { formatDuration, formatKiB, stderrProgress } from "./progress.js";
import { ETCD_VERSION, KUBERNETES_VERSION } from "./versions.js";

const USAGE = `Usage: virtual-node-testing <command> [options]

Commands:
  build     Make sure etcd ${ETCD_VERSION} and Kubernetes ${KUBERNETES_VERSION} binaries are available
            (environment overrides, KUBEBUILDER_ASSETS, or the cache — built with Go on first use).
  start     Start a local control plane and keep it running until Ctrl-C / SIGTERM.

Options (start):
  --kubeconfig <path>                also copy the admin kubeconfig to <path>
  --no-controller-manager            do not run kube-controller-manager
  --no-scheduler                     do not run kube-scheduler
  --node-monitor-grace-period <dur>  e.g. 20s (default: Kubernetes' 50s)
  --node-monitor-period <dur>        e.g. 2s (default: Kubernetes' 5s)
  --no-request-limits                disable apiserver inflight limits / priority & fairness
  --keep                             keep the temporary directory (logs, etcd data) after stopping
  -v, --verbosity <n>                klog verbosity of the Kubernetes components

Environment: VIRTUAL_NODE_CACHE_DIR, KUBEBUILDER_ASSETS, VIRTUAL_NODE_ETCD, VIRTUAL_NODE_KUBE_APISERVER,
VIRTUAL_NODE_KUBE_CONTROLLER_MANAGER, VIRTUAL_NODE_KUBE_SCHEDULER, VIRTUAL_NODE_KUBECTL (see README).
`;

function print(line = ""): void {
  process.stdout.write(`${line}\n`);
}

async function build(): Promise<void> {
  const startedAt = Date.now();
  const binaries = await resolveBinaries({
    required: [...DEFAULT_REQUIRED_BINARIES, "kubectl"],
    progress: stderrProgress(),
  });
  print(
    `control-plane binaries ready in ${formatDuration(Date.now() - startedAt)} (cache: ${defaultCacheRoot()})`,
  );
  for (const [name, resolved] of Object.entries(binaries.sources)) {
    const via =
      resolved.variable === undefined ? resolved.source : `${resolved.source}: ${resolved.variable}`;
    print(`  ${name.padEnd(24)} ${resolved.path}  (${via})`);
  }
  for (const built of binaries.built) {
    const rss = built.stamp.build.peakRssKiB;
    print(
      `  built ${built.spec.kind} ${built.spec.version} in ${formatDuration(built.stamp.build.totalSeconds * 1000)}` +
        (rss === null ? "" : `, peak RSS ${formatKiB(rss)}`),
    );
  }
}

async function start(args: readonly string[]): Promise<number> {
  const { values } = parseArgs({
    args: [...args],
    options: {
      kubeconfig: { type: "string" },
      "no-controller-manager": { type: "boolean", default: false },
      "no-scheduler": { type: "boolean", default: false },
      "node-monitor-grace-period": { type: "string" },
      "node-monitor-period": { type: "string" },
      "no-request-limits": { type: "boolean", default: false },
      keep: { type: "boolean", default: false },
      verbosity: { type: "string", short: "v" },
    },
    strict: true,
  });
  const components: OptionalComponent[] = [];
  if (!values["no-controller-manager"]) components.push("kube-controller-manager");
  if (!values["no-scheduler"]) components.push("kube-scheduler");

  const abort = new AbortController();
  let stopRequested = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (stopRequested) {
      process.stderr.write(`\nreceived ${signal} again, exiting now\n`);
      process.exit(130);
    }
    stopRequested = true;
    abort.abort();
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  const keepAlive = setInterval(() => undefined, 1 << 30);

  try {
    let cp;
    try {
      cp = await startControlPlane({
        components,
        apiServerRequestLimits: !values["no-request-limits"],
        keepTempDir: values.keep,
        progress: stderrProgress(),
        resolve: { progress: stderrProgress() },
        signal: abort.signal,
        ...(values["node-monitor-grace-period"] === undefined
          ? {}
          : { nodeMonitorGracePeriod: values["node-monitor-grace-period"] }),
        ...(values["node-monitor-period"] === undefined
          ? {}
          : { nodeMonitorPeriod: values["node-monitor-period"] }),
        ...(values.verbosity === undefined ? {} : { verbosity: Number(values.verbosity) }),
      });
    } catch (error) {
      if (isTestingError(error, ErrorCode.Aborted)) {
        process.stderr.write("start-up interrupted; everything started so far was stopped\n");
        return 130;
      }
      throw error;
    }
    let kubeconfig = cp.kubeconfigPath;
    if (values.kubeconfig !== undefined) {
      kubeconfig = resolve(values.kubeconfig);
      await copyFile(cp.kubeconfigPath, kubeconfig);
    }
    const kubectl = cp.binaries.kubectl ?? "kubectl";
    print(`control plane ready in ${formatDuration(cp.startupMs)}`);
    print(`  server:     ${cp.server}`);
    print(`  kubeconfig: ${kubeconfig}`);
    print(`  logs:       ${cp.tempDir}/logs`);
    print();
    print(`  export KUBECONFIG=${kubeconfig}`);
    print(`  ${kubectl} get --raw /readyz?verbose`);
    print();
    print("Press Ctrl-C to stop.");
    if (!abort.signal.aborted) {
      await new Promise<void>((resolveStop) => {
        abort.signal.addEventListener("abort", () => {
          resolveStop();
        });
      });
    }
    process.stderr.write("stopping control plane…\n");
    await cp.stop();
    process.stderr.write(values.keep ? `stopped; files kept in ${cp.tempDir}\n` : "stopped\n");
    return 0;
  } finally {
    clearInterval(keepAlive);
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }
}

async function main(argv: readonly string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case "build":
      await build();
      return 0;
    case "start":
      return start(rest);
    case undefined:
    case "-h":
    case "--help":
    case "help":
      process.stdout.write(USAGE);
      return command === undefined ? 1 : 0;
    default:
      process.stderr.write(`unknown command: ${command}\n\n${USAGE}`);
      return 1;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    if (error instanceof TestingError) {
      process.stderr.write(`error [${error.code}]: ${error.message}\n`);
    } else {
      process.stderr.write(
        `error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
      );
    }
    process.exitCode = 1;
  },
);
