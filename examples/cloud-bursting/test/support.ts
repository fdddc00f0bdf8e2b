/**
 * What the cloud-bursting tests share: the example's manifests applied with the harness kubectl,
 * and where the Deployment's pods run.
 */
import { readFile } from "node:fs/promises";
import type { V1Pod } from "@kubernetes/client-node";
import type { ControlPlaneHandle } from "@virtual-node/testing";
import { kubectl } from "../../../packages/core/test/kubelet-api/support.js";
import { waitFor, type Apis } from "../../../packages/core/test/support.js";

export { kubectl };

const manifests = new URL("../manifests/", import.meta.url);

/** A manifest of the example, with `replace` applied to its text. */
export async function manifest(name: string, replace: Record<string, string> = {}): Promise<string> {
  let text = await readFile(new URL(name, manifests), "utf8");
  for (const [from, to] of Object.entries(replace)) text = text.replaceAll(from, to);
  return text;
}

/** `kubectl <args>` that must succeed; returns stdout. */
export async function kubectlOk(
  cp: ControlPlaneHandle,
  args: readonly string[],
  stdin?: string,
): Promise<string> {
  const result = await kubectl(cp, args, stdin === undefined ? {} : { stdin });
  if (result.code !== 0)
    throw new Error(`kubectl ${args.join(" ")} failed (${String(result.code)}): ${result.stderr}`);
  return result.stdout;
}

export async function apply(cp: ControlPlaneHandle, namespace: string, yaml: string): Promise<void> {
  await kubectlOk(cp, ["apply", "-n", namespace, "-f", "-"], yaml);
}

/** The Deployment's pods that are not being deleted. */
export async function activePods(api: Apis, namespace: string, selector = "app=burst-web"): Promise<V1Pod[]> {
  const list = await api.core.listNamespacedPod({ namespace, labelSelector: selector });
  return list.items.filter((p) => p.metadata?.deletionTimestamp === undefined);
}

export function isReady(pod: V1Pod): boolean {
  return pod.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") ?? false;
}

/** Pods per node name (`""` for unscheduled). */
export function placement(pods: readonly V1Pod[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const pod of pods) {
    const node = pod.spec?.nodeName ?? "";
    counts[node] = (counts[node] ?? 0) + 1;
  }
  return counts;
}

/**
 * Waits until the Deployment has exactly `replicas` pods, all Ready, and no pod of it is left in
 * the API (terminating ones included) beyond those; returns them.
 */
export async function settled(
  api: Apis,
  namespace: string,
  replicas: number,
  timeoutMs = 90_000,
): Promise<V1Pod[]> {
  let last: V1Pod[] = [];
  return waitFor(
    `${String(replicas)} ready burst-web pods`,
    async () => {
      const list = await api.core.listNamespacedPod({ namespace, labelSelector: "app=burst-web" });
      last = list.items;
      return list.items.length === replicas &&
        list.items.every((p) => isReady(p) && p.metadata?.deletionTimestamp === undefined)
        ? list.items
        : undefined;
    },
    { timeoutMs, intervalMs: 500 },
  ).catch((error: unknown) => {
    throw new Error(
      `${String(error)}; last seen: ${JSON.stringify(placement(last))} (${String(last.length)} pods)`,
    );
  });
}
