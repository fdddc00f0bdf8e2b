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

function replaceOnce(source: string, find: string, replacement: string, file = VK_ROOT_GO): string {
  return replaceTimes(source, find, replacement, 1, file);
}

function replaceTimes(
  source: string,
  find: string,
  replacement: string,
  times: number,
  file: string,
): string {
  const found = source.split(find).length - 1;
  if (found !== times) {
    throw new Error(
      `${file}: expected ${times} × ${find}, found ${found}; the benchmark overlay needs updating`,
    );
  }
  return source.split(find).join(replacement);
}

const VK_MOCK_GO = "cmd/virtual-kubelet/internal/provider/mock/mock.go";

/**
 * virtual-kubelet's mock provider keeps its pods in a plain Go map that CreatePod, UpdatePod and DeletePod
 * write from every pod-sync worker: at the command's default of 10 workers (and no queue throttle) it dies
 * with `fatal error: concurrent map writes`. The overlay guards that map with a mutex and changes nothing
 * else, so virtual-kubelet runs at its defaults: the peer at its best.
 */
export const VK_MOCK_LOCK_GO = `package mock

import (
	"sync"

	v1 "k8s.io/api/core/v1"
)

// benchPodsMu guards MockProvider.pods (added by the virtual-node benchmark; the mock has no lock).
var benchPodsMu sync.RWMutex

// benchPodList is a copy of the pod map's values, read under the lock, for the mock's range loops.
func (p *MockProvider) benchPodList() []*v1.Pod {
	benchPodsMu.RLock()
	defer benchPodsMu.RUnlock()
	pods := make([]*v1.Pod, 0, len(p.pods))
	for _, pod := range p.pods {
		pods = append(pods, pod)
	}
	return pods
}
`;

/** Puts every access to the mock provider's pod map under {@link VK_MOCK_LOCK_GO}'s lock. */
export function patchVirtualKubeletMock(source: string): string {
  let out = replaceTimes(
    source,
    "p.pods[key] = pod\n",
    "benchPodsMu.Lock()\n\tp.pods[key] = pod\n\tbenchPodsMu.Unlock()\n",
    2,
    VK_MOCK_GO,
  );
  // DeletePod: the existence check and the delete under one lock (the delete moves up, nothing else).
  out = replaceOnce(out, "\tdelete(p.pods, key)\n", "", VK_MOCK_GO);
  out = replaceOnce(
    out,
    "if _, exists := p.pods[key]; !exists {",
    "benchPodsMu.Lock()\n\t_, exists := p.pods[key]\n\tdelete(p.pods, key)\n\tbenchPodsMu.Unlock()\n\tif !exists {",
    VK_MOCK_GO,
  );
  out = replaceOnce(
    out,
    "if pod, ok := p.pods[key]; ok {",
    "benchPodsMu.RLock()\n\tpod, ok := p.pods[key]\n\tbenchPodsMu.RUnlock()\n\tif ok {",
    VK_MOCK_GO,
  );
  return replaceTimes(out, "range p.pods {", "range p.benchPodList() {", 3, VK_MOCK_GO);
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
  variant: "bench-knobs-mock-lock",
  overlay: async (moduleDir) => ({
    [VK_ROOT_GO]: patchVirtualKubeletRoot(await readFile(join(moduleDir, VK_ROOT_GO), "utf8")),
    "cmd/virtual-kubelet/internal/commands/root/zz_bench_knobs.go": VK_BENCH_OVERLAY_GO,
    [VK_MOCK_GO]: patchVirtualKubeletMock(await readFile(join(moduleDir, VK_MOCK_GO), "utf8")),
    "cmd/virtual-kubelet/internal/provider/mock/zz_bench_lock.go": VK_MOCK_LOCK_GO,
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
