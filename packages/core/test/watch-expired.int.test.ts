/**
 * A real 410 Gone from a real API server: with the watch cache off, a watch that resumes from a
 * resourceVersion etcd has compacted away is answered with `Expired`; the reflector must re-list and
 * go on delivering. (The shared control plane keeps its watch cache, which answers old versions from
 * its initial state, so this test starts its own small control plane.)
 */
import { CoreV1Api } from "@kubernetes/client-node";
import { createConsoleLogger } from "@virtual-node/core";
import { KubeClient, Reflector, type ConfigMap } from "@virtual-node/core/kube";
import { startControlPlane } from "@virtual-node/testing";
import { describe, expect, it } from "vitest";
import { waitFor } from "./support.js";

async function etcdCompact(etcdUrl: string): Promise<number> {
  const range = (await (
    await fetch(`${etcdUrl}/v3/kv/range`, { method: "POST", body: JSON.stringify({ key: "YQ==" }) })
  ).json()) as {
    header: { revision: string };
  };
  const revision = Number(range.header.revision);
  const res = await fetch(`${etcdUrl}/v3/kv/compaction`, {
    method: "POST",
    body: JSON.stringify({ revision, physical: true }),
  });
  expect(res.ok).toBe(true);
  return revision;
}

describe("watch resumed after compaction (410 Expired)", () => {
  it("re-lists and keeps delivering", async () => {
    await using cp = await startControlPlane({
      components: [],
      extraArgs: { apiServer: ["--watch-cache=false"] },
    });
    const core = cp.kubeConfig.makeApiClient(CoreV1Api);
    // ConfigMaps: this control plane runs no controller-manager, so there are no ServiceAccounts for pods.
    const object = (name: string, labels: Record<string, string> = { app: "watched" }) => ({
      metadata: { name, labels },
      data: { k: "v" },
    });
    const client = new KubeClient({ kubeConfig: cp.kubeConfig });
    const seen = new Set<string>();
    const restarts: string[] = [];
    const reflector = new Reflector<ConfigMap>({
      client,
      path: "/api/v1/namespaces/default/configmaps",
      labelSelector: "app=watched",
      logger: createConsoleLogger({ level: "error" }),
      maxBackoffMs: 2_000,
      onRestart: (reason) => restarts.push(reason),
      handlers: { onUpsert: (p) => seen.add(p.metadata?.name ?? ""), onDelete: () => undefined },
    });
    const abort = new AbortController();
    const run = reflector.run(abort.signal);
    try {
      await reflector.waitForSync();
      await core.createNamespacedConfigMap({ namespace: "default", body: object("before") });
      await waitFor("first event", () => seen.has("before"));
      // The cluster moves on with objects this watch does not select (its resourceVersion stays
      // behind), etcd compacts, and then the connection drops: the watch resumes from a compacted
      // resourceVersion.
      for (let i = 0; i < 5; i++) {
        await core.createNamespacedConfigMap({
          namespace: "default",
          body: object(`other-${String(i)}`, { app: "other" }),
        });
      }
      await core.createNamespacedConfigMap({
        namespace: "default",
        body: object("during", { app: "other" }),
      });
      await etcdCompact(`http://127.0.0.1:${String(cp.ports.etcdClient)}`);
      client.resetConnection();
      await waitFor("410 observed and re-listed", () => restarts.includes("expired"), {
        timeoutMs: 30_000,
      });
      expect(seen.has("other-0")).toBe(false);
      await core.createNamespacedConfigMap({ namespace: "default", body: object("after") });
      await waitFor("event after the re-list", () => seen.has("after"));
    } finally {
      abort.abort();
      await run;
      client.close();
    }
  });
});
