/** Small API helpers for the harness (admin-equivalent identity, HTTP/2 JSON client from core). */
import { KubeConfig } from "@kubernetes/client-node";
import { KubeApiError, KubeClient, type Node, type Pod } from "@virtual-node/core/kube";
import { httpGet, type HttpTls } from "@virtual-node/testing";

export function clientFor(kubeconfigPath: string, userAgent = "virtual-node-bench"): KubeClient {
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromFile(kubeconfigPath);
  // qps 0: no client-side rate limit.
  return new KubeClient({ kubeConfig, qps: 0, burst: 0, userAgent });
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export function isStatus(error: unknown, status: number): boolean {
  return error instanceof KubeApiError && error.status === status;
}

/** Polls `check` until it returns true; throws with `describe()` after `timeoutMs`. */
export async function waitUntil(
  what: string,
  check: () => Promise<boolean> | boolean,
  timeoutMs: number,
  intervalMs = 250,
  describe?: () => string,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) {
      throw new Error(
        `timed out after ${Math.round(timeoutMs / 1000)} s waiting for ${what}${describe ? `: ${describe()}` : ""}`,
      );
    }
    await sleep(intervalMs);
  }
}

/** A fresh namespace whose `default` ServiceAccount exists (pods are admitted only then). */
export async function createNamespace(client: KubeClient, name: string, timeoutMs = 60_000): Promise<void> {
  await client.create("/api/v1/namespaces", { apiVersion: "v1", kind: "Namespace", metadata: { name } });
  await waitUntil(
    `ServiceAccount ${name}/default`,
    async () => {
      try {
        await client.get(`/api/v1/namespaces/${name}/serviceaccounts/default`);
        return true;
      } catch (error) {
        if (isStatus(error, 404)) return false;
        throw error;
      }
    },
    timeoutMs,
  );
}

/**
 * Removes every pod of the namespace at once (grace 0) and waits until none is left. The empty namespace
 * stays (the control plane is thrown away at the end); deleting it would put the namespace controller's
 * clean-up into the next run's request counts.
 */
export async function purgeNamespace(client: KubeClient, name: string, timeoutMs: number): Promise<void> {
  const podsPath = `/api/v1/namespaces/${name}/pods`;
  const deadline = Date.now() + timeoutMs;
  // Individual deletes, 64 in flight: a DELETE collection runs one worker in the API server (slow at 10k pods).
  while (Date.now() < deadline) {
    const names: string[] = [];
    let next: string | undefined;
    do {
      const page = await client.get<{ items?: Pod[]; metadata?: { continue?: string } }>(podsPath, {
        query: { limit: 1000, continue: next },
      });
      for (const pod of page.items ?? []) names.push(pod.metadata?.name ?? "");
      next = page.metadata?.continue || undefined;
    } while (next !== undefined);
    if (names.length === 0) return;
    await inBatches(names, 64, async (pod) => {
      await client
        .delete(`${podsPath}/${pod}`, { apiVersion: "v1", kind: "DeleteOptions", gracePeriodSeconds: 0 })
        .catch(() => undefined);
    });
  }
}

export async function deleteNodes(client: KubeClient, names: readonly string[]): Promise<void> {
  await inBatches(names, 32, async (name) => {
    await client.delete(`/api/v1/nodes/${name}`).catch(() => undefined);
    await client
      .delete(`/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/${name}`)
      .catch(() => undefined);
  });
}

export async function inBatches<T>(
  items: readonly T[],
  width: number,
  fn: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    for (let i = next++; i < items.length; i = next++) await fn(items[i] as T);
  };
  await Promise.all(Array.from({ length: Math.min(width, items.length) }, worker));
}

export function isNodeReady(node: Node): boolean {
  return node.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") === true;
}

export function isPodReady(pod: Pod): boolean {
  return pod.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") === true;
}

/** Waits until every named Node exists with Ready=True. */
export async function waitNodesReady(
  client: KubeClient,
  names: readonly string[],
  timeoutMs: number,
  isAlive: () => boolean = () => true,
): Promise<void> {
  const wanted = new Set(names);
  let ready = 0;
  await waitUntil(
    `${names.length} node(s) Ready`,
    async () => {
      if (!isAlive()) throw new Error("the agent exited before its node(s) became Ready");
      const list = await client.get<{ items?: Node[] }>("/api/v1/nodes");
      ready = (list.items ?? []).filter((n) => wanted.has(n.metadata?.name ?? "") && isNodeReady(n)).length;
      return ready === wanted.size;
    },
    timeoutMs,
    500,
    () => `${ready}/${wanted.size} Ready`,
  );
}

// ---- apiserver metrics ----------------------------------------------------------------------

/** `apiserver_request_total` summed by "VERB resource[/subresource]". */
export type RequestCounts = Record<string, number>;

export function parseRequestTotals(text: string): RequestCounts {
  const counts: RequestCounts = {};
  for (const line of text.split("\n")) {
    if (!line.startsWith("apiserver_request_total{")) continue;
    const close = line.lastIndexOf("}");
    const labels: Record<string, string> = {};
    for (const m of line.slice(line.indexOf("{") + 1, close).matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) {
      labels[m[1] ?? ""] = m[2] ?? "";
    }
    const value = Number(
      line
        .slice(close + 1)
        .trim()
        .split(/\s+/)[0],
    );
    if (!Number.isFinite(value)) continue;
    const resource = labels.subresource
      ? `${labels.resource ?? ""}/${labels.subresource}`
      : (labels.resource ?? "");
    const key = `${labels.verb ?? "?"} ${resource || "(none)"}`;
    counts[key] = (counts[key] ?? 0) + value;
  }
  return counts;
}

export function diffCounts(
  after: RequestCounts,
  before: RequestCounts,
  minus: RequestCounts = {},
): RequestCounts {
  const out: RequestCounts = {};
  for (const [key, value] of Object.entries(after)) {
    const d = value - (before[key] ?? 0) - (minus[key] ?? 0);
    if (d > 0) out[key] = d;
  }
  return out;
}

export async function scrapeRequestTotals(server: string, tls: HttpTls): Promise<RequestCounts> {
  const res = await httpGet(`${server}/metrics`, tls, 30_000);
  if (res.status !== 200) throw new Error(`GET /metrics: ${res.status}`);
  return parseRequestTotals(res.body);
}
