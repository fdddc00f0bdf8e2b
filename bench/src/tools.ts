/**
 * The Go systems under test, built from the Go module proxy through the testing package's cached Go tool
 * builder (`ensureGoTool`): virtual-kubelet's own command with its mock provider, and KWOK.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";

import { ensureGoTool, type EnsuredGoTool, type GoToolSpec, type ProgressSink } from "@virtual-node/testing";

export const VIRTUAL_KUBELET_MODULE = "github.com/virtual-kubelet/virtual-kubelet";
export const VIRTUAL_KUBELET_VERSION = "v1.14.1";
export const KWOK_MODULE = "sigs.k8s.io/kwok";
export const KWOK_VERSION = "v0.8.0";

/** The call in virtual-kubelet's root command that builds its API client, and the client option after which
 *  the benchmark's pod-controller option is added. */
const VK_CLIENT_CALL = "nodeutil.ClientsetFromEnv(c.KubeConfigPath)";
const VK_CLIENT_OPTION = "nodeutil.WithClient(clientSet),";
const VK_ROOT_GO = "cmd/virtual-kubelet/internal/commands/root/root.go";

/**
 * Added to virtual-kubelet's root command package at build time. virtual-kubelet's command has no flags for
 * two client-side throttles, so it always runs at client-go's defaults: its API client at 5 QPS (burst 10) and
 * each of its pod controller's work queues behind a 10 per second (burst 100) bucket. Those constants alone
 * would decide every throughput figure. The environment variables below lift them the way the other systems
 * run (no client-side limit); with them unset the binary behaves exactly like the stock one.
 */
export const VK_BENCH_OVERLAY_GO = `package root

import (
\t"os"
\t"strconv"
\t"time"

\t"github.com/virtual-kubelet/virtual-kubelet/node"
\t"github.com/virtual-kubelet/virtual-kubelet/node/nodeutil"
\t"k8s.io/client-go/kubernetes"
\t"k8s.io/client-go/tools/clientcmd"
\t"k8s.io/client-go/util/workqueue"
)

// benchClientset is nodeutil.ClientsetFromEnv with the client-side rate limit taken from VK_CLIENT_QPS
// (negative: none) and VK_CLIENT_BURST. Added by the virtual-node benchmark; unset = stock behaviour.
func benchClientset(kubeconfig string) (*kubernetes.Clientset, error) {
\tqps, ok := os.LookupEnv("VK_CLIENT_QPS")
\tif !ok || kubeconfig == "" {
\t\treturn nodeutil.ClientsetFromEnv(kubeconfig)
\t}
\tq, err := strconv.ParseFloat(qps, 32)
\tif err != nil {
\t\treturn nil, err
\t}
\tcfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
\tif err != nil {
\t\treturn nil, err
\t}
\tcfg.QPS = float32(q)
\tif b, err := strconv.Atoi(os.Getenv("VK_CLIENT_BURST")); err == nil {
\t\tcfg.Burst = b
\t}
\treturn kubernetes.NewForConfig(cfg)
}

// benchQueueOverrides: with VK_QUEUE_UNLIMITED=1 the pod controller's queues keep only client-go's per-item
// exponential retry backoff (5 ms to 1000 s), without the shared 10/s bucket. Unset = stock behaviour.
func benchQueueOverrides() nodeutil.NodeOpt {
\treturn nodeutil.WithPodControllerConfigOverrides(func(cfg *node.PodControllerConfig) error {
\t\tif os.Getenv("VK_QUEUE_UNLIMITED") != "1" {
\t\t\treturn nil
\t\t}
\t\tperItem := func() workqueue.TypedRateLimiter[any] {
\t\t\treturn workqueue.NewTypedItemExponentialFailureRateLimiter[any](5*time.Millisecond, 1000*time.Second)
\t\t}
\t\tcfg.SyncPodsFromKubernetesRateLimiter = perItem()
\t\tcfg.DeletePodsFromKubernetesRateLimiter = perItem()
\t\tcfg.SyncPodStatusFromProviderRateLimiter = perItem()
\t\treturn nil
\t})
}
`;

function replaceOnce(source: string, find: string, replacement: string): string {
  const at = source.indexOf(find);
  if (at < 0 || source.indexOf(find, at + 1) >= 0) {
    throw new Error(`${VK_ROOT_GO}: expected exactly one ${find}; the benchmark overlay needs updating`);
  }
  return source.replace(find, replacement);
}

/** Wires {@link VK_BENCH_OVERLAY_GO} into the root command; fails loudly if the code it expects moved. */
export function patchVirtualKubeletRoot(source: string): string {
  return replaceOnce(
    replaceOnce(source, VK_CLIENT_CALL, "benchClientset(c.KubeConfigPath)"),
    VK_CLIENT_OPTION,
    `${VK_CLIENT_OPTION} benchQueueOverrides(),`,
  );
}

export const VIRTUAL_KUBELET_TOOL: GoToolSpec = {
  name: "virtual-kubelet",
  module: VIRTUAL_KUBELET_MODULE,
  version: VIRTUAL_KUBELET_VERSION,
  packagePath: `${VIRTUAL_KUBELET_MODULE}/cmd/virtual-kubelet`,
  ldflags: `-s -w -X main.buildVersion=${VIRTUAL_KUBELET_VERSION}`,
  variant: "bench-knobs",
  overlay: async (moduleDir) => ({
    [VK_ROOT_GO]: patchVirtualKubeletRoot(await readFile(join(moduleDir, VK_ROOT_GO), "utf8")),
    "cmd/virtual-kubelet/internal/commands/root/zz_bench_knobs.go": VK_BENCH_OVERLAY_GO,
  }),
};

/** The stages `kwokctl` configures by default (fast pod lifecycle, node heartbeat with lease). */
export const KWOK_STAGE_FILES = [
  "kustomize/stage/node/fast/node-initialize.yaml",
  "kustomize/stage/node/heartbeat-with-lease/node-heartbeat-with-lease.yaml",
  "kustomize/stage/pod/fast/pod-ready.yaml",
  "kustomize/stage/pod/fast/pod-complete.yaml",
  "kustomize/stage/pod/fast/pod-delete.yaml",
] as const;

export const KWOK_TOOL: GoToolSpec = {
  name: "kwok",
  module: KWOK_MODULE,
  version: KWOK_VERSION,
  packagePath: `${KWOK_MODULE}/cmd/kwok`,
  copyFiles: KWOK_STAGE_FILES,
};

export interface BuiltTools {
  readonly virtualKubelet: EnsuredGoTool;
  readonly kwok: EnsuredGoTool;
}

/** Builds (first time) or verifies (every time) both Go systems. */
export async function ensureTools(progress?: ProgressSink, signal?: AbortSignal): Promise<BuiltTools> {
  const options = {
    ...(progress === undefined ? {} : { progress }),
    ...(signal === undefined ? {} : { signal }),
  };
  const virtualKubelet = await ensureGoTool(VIRTUAL_KUBELET_TOOL, options);
  const kwok = await ensureGoTool(KWOK_TOOL, options);
  return { virtualKubelet, kwok };
}

/** KWOK's `--config` file: the default stages, read from the module files kept next to the binary. */
export async function kwokStagesConfig(tool: EnsuredGoTool): Promise<string> {
  const docs = await Promise.all(KWOK_STAGE_FILES.map((f) => readFile(join(tool.filesDir, f), "utf8")));
  return docs.map((d) => d.trim()).join("\n---\n") + "\n";
}
