/**
 * Reliability against the real control plane: provider faults, an agent killed and restarted
 * mid-way, write conflicts, orphans and lost pods. Expired watches (a real 410): watch-expired.int.test.ts.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { ownershipTags } from "@virtual-node/core/provider-kit";
import { MockCloud, createMockProvider, startMockCloudServer } from "@virtual-node/provider-mock";
import type { Pod, Provider } from "@virtual-node/core";
import type { ControlPlaneHandle } from "@virtual-node/testing";
import { beforeAll, describe, expect, it } from "vitest";
import {
  apis,
  controlPlane,
  createNamespace,
  isReady,
  listPods,
  podSpecFor,
  startNode,
  uniqueName,
  waitFor,
  type Apis,
} from "./support.js";

async function deploy(
  api: Apis,
  namespace: string,
  name: string,
  nodeName: string,
  replicas: number,
): Promise<void> {
  const labels = { app: name };
  await api.apps.createNamespacedDeployment({
    namespace,
    body: {
      metadata: { name },
      spec: {
        replicas,
        selector: { matchLabels: labels },
        template: { metadata: { labels }, spec: podSpecFor(nodeName) },
      },
    },
  });
}

async function readyPods(
  api: Apis,
  namespace: string,
  app: string,
  count: number,
  timeoutMs = 90_000,
): Promise<Pod[]> {
  return waitFor(
    `${count} ready ${app} pods`,
    async () => {
      const pods = (await listPods(api, namespace)).filter(
        (p) => p.metadata?.labels?.app === app && !p.metadata.deletionTimestamp,
      );
      return pods.length === count && pods.every(isReady) ? pods : undefined;
    },
    { timeoutMs },
  );
}

describe("resilience", () => {
  let cp: ControlPlaneHandle;
  let api: Apis;

  beforeAll(async () => {
    cp = await controlPlane();
    api = apis(cp.kubeConfig);
  });

  it("converges with 20 % of provider calls failing (and some creates crashing mid-way)", async () => {
    const nodeName = uniqueName("vn-faults");
    const namespace = uniqueName("faults");
    await createNamespace(api, namespace);
    const cloud = new MockCloud({ faults: { rate: 0.2, crashOnCreateRate: 0.1, seed: 7 } });
    const provider = createMockProvider({ cloud });
    const running = await startNode(cp.kubeConfig, nodeName, provider, { maxRetryDelayMs: 1_000 });
    try {
      await deploy(api, namespace, "flaky", nodeName, 10);
      const pods = await readyPods(api, namespace, "flaky", 10);
      // No duplicates despite crashes mid-create: one group per pod.
      const groups = (await cloud.listGroups()).filter((g) => g.spec.namespace === namespace);
      expect(groups.map((g) => g.spec.uid).sort()).toEqual(pods.map((p) => p.metadata?.uid).sort());
      const stats = await cloud.callStats();
      expect(stats.log.some((c) => c.outcome === "VN_RETRYABLE")).toBe(true);

      await api.apps.deleteNamespacedDeployment({ name: "flaky", namespace });
      await waitFor(
        "pods and provider groups gone",
        async () => {
          const left = (await listPods(api, namespace)).length;
          const held = (await cloud.listGroups()).filter((g) => g.spec.namespace === namespace).length;
          return left === 0 && held === 0;
        },
        { timeoutMs: 90_000 },
      );
    } finally {
      await running.stop();
    }
  });

  it("an agent SIGKILLed mid-way and restarted adopts its pods: no duplicate, no restart", async () => {
    // The agent is provider-mock's own CLI (`virtual-node-mock`), as a user would run it.
    const agentScript = fileURLToPath(new URL("../../provider-mock/dist/cli.js", import.meta.url));
    expect(existsSync(agentScript), "the agent runs the built packages: run `npm run build` first").toBe(
      true,
    );
    const nodeName = uniqueName("vn-crash");
    const namespace = uniqueName("crash");
    await createNamespace(api, namespace);
    const cloud = new MockCloud();
    const server = await startMockCloudServer({ cloud });
    const identity = await cp.nodeIdentity(nodeName);
    const startAgent = async (): Promise<ChildProcess> => {
      const args = [
        "--kubeconfig",
        identity.kubeconfigPath,
        "--node-name",
        nodeName,
        "--cloud-url",
        server.url,
      ];
      const child = spawn(
        process.execPath,
        [agentScript, ...args, "--fast", "--internal-ip", "127.0.0.1", "--log-level", "warn"],
        {
          stdio: ["ignore", "pipe", "inherit"],
        },
      );
      await new Promise<void>((resolve, reject) => {
        child.stdout.on("data", (chunk: Buffer) => {
          if (chunk.toString().includes("READY")) resolve();
        });
        child.once("exit", (code) => {
          reject(new Error(`agent exited early with ${String(code)}`));
        });
      });
      return child;
    };
    let agent = await startAgent();
    try {
      await deploy(api, namespace, "survivor", nodeName, 10);
      const before = await readyPods(api, namespace, "survivor", 10);
      const createsBefore = (await cloud.callStats()).counts.createPod ?? 0;
      expect(createsBefore).toBe(10);

      agent.kill("SIGKILL");
      await new Promise((r) => agent.once("exit", r));
      // While the agent is down, the workload changes.
      await api.apps.replaceNamespacedDeploymentScale({
        name: "survivor",
        namespace,
        body: { metadata: { name: "survivor", namespace }, spec: { replicas: 15 } },
      });
      agent = await startAgent();
      const after = await readyPods(api, namespace, "survivor", 15);

      const groups = (await cloud.listGroups()).filter((g) => g.spec.namespace === namespace);
      expect(groups).toHaveLength(15);
      expect(new Set(groups.map((g) => g.spec.uid)).size).toBe(15);
      // Exactly the 5 new pods were created; the 10 old ones were adopted, not restarted.
      expect((await cloud.callStats()).counts.createPod).toBe(15);
      for (const pod of before) {
        const now = after.find((p) => p.metadata?.uid === pod.metadata?.uid);
        expect(now, `pod ${pod.metadata?.name ?? ""} survived`).toBeDefined();
        expect(now?.status?.containerStatuses?.[0]?.restartCount ?? 0).toBe(0);
        expect(now?.status?.containerStatuses?.[0]?.state?.running?.startedAt).toEqual(
          pod.status?.containerStatuses?.[0]?.state?.running?.startedAt,
        );
      }
    } finally {
      agent.kill("SIGKILL");
      await server.close();
    }
  });

  it("polls pod by pod when the provider has neither batched nor pushed status", async () => {
    const nodeName = uniqueName("vn-poll");
    const namespace = uniqueName("poll");
    await createNamespace(api, namespace);
    const base = createMockProvider({ pushStatus: false });
    // Only the required methods: no batch read, no push.
    const provider: Provider = {
      name: base.name,
      capabilities: base.capabilities,
      createPod: (pod, o) => base.createPod(pod, o),
      updatePod: (pod, o) => base.updatePod(pod, o),
      deletePod: (ref, grace, o) => base.deletePod(ref, grace, o),
      getPodStatus: (ref, o) => base.getPodStatus(ref, o),
      listPods: (nodeName, o) => base.listPods(nodeName, o),
    };
    const running = await startNode(cp.kubeConfig, nodeName, provider);
    try {
      await deploy(api, namespace, "polled", nodeName, 5);
      await readyPods(api, namespace, "polled", 5);
      const metrics = await running.node.metricsRegistry.getSingleMetricAsString(
        "virtual_node_provider_calls_total",
      );
      expect(metrics).not.toContain('operation="getPodStatuses"');
      expect(metrics).toMatch(/operation="getPodStatus",result="ok"} [1-9]/);
    } finally {
      await running.stop();
    }
  });

  it("survives a 409 on status writes: re-reads and writes again", async () => {
    const nodeName = uniqueName("vn-conflict");
    const namespace = uniqueName("conflict");
    await createNamespace(api, namespace);
    const base = createMockProvider();
    // After each create, someone else changes the pod: our cached resourceVersion is then stale.
    const provider: Provider = {
      ...base,
      name: base.name,
      capabilities: base.capabilities,
      createPod: async (pod, options) => {
        await base.createPod(pod, options);
        await api.core.patchNamespacedPod({
          name: pod.ref.name,
          namespace: pod.ref.namespace,
          body: [{ op: "add", path: "/metadata/labels/touched", value: "yes" }],
        });
      },
    };
    const running = await startNode(cp.kubeConfig, nodeName, provider);
    try {
      await api.core.createNamespacedPod({
        namespace,
        body: { metadata: { name: "contested", labels: { app: "c" } }, spec: podSpecFor(nodeName) },
      });
      await waitFor("pod ready", async () =>
        isReady(await api.core.readNamespacedPod({ name: "contested", namespace })),
      );
      const metrics = await running.node.metricsRegistry.getSingleMetricAsString(
        "virtual_node_pod_status_writes_total",
      );
      expect(metrics).toMatch(/result="conflict"} [1-9]/);
    } finally {
      await running.stop();
    }
  });

  it("deletes orphans with this node's mark after the grace window, never others', and fails lost pods", async () => {
    const nodeName = uniqueName("vn-orphans");
    const namespace = uniqueName("orphans");
    await createNamespace(api, namespace);
    const cloud = new MockCloud();
    const provider = createMockProvider({ cloud });
    const running = await startNode(cp.kubeConfig, nodeName, provider);
    try {
      const spec = (name: string, node: string, uid: string) => ({
        namespace,
        name,
        uid,
        nodeName: node,
        // The ownership marks the provider decides by (what its own creates put on every group).
        tags: ownershipTags({ namespace, name, uid }, node),
        restartPolicy: "Always" as const,
        containers: [{ name: "app", image: "x", env: [], ports: [] }],
        initContainers: [],
        volumes: [],
        annotations: {},
      });
      await cloud.createPod(spec("ghost", nodeName, "uid-ghost"));
      await cloud.createPod(spec("foreign", "some-other-node", "uid-foreign"));
      await waitFor("orphan deleted", async () => (await cloud.getGroup(namespace, "ghost")) === undefined, {
        timeoutMs: 30_000,
      });
      expect(await cloud.getGroup(namespace, "foreign")).toBeDefined();

      await api.core.createNamespacedPod({
        namespace,
        body: { metadata: { name: "lost" }, spec: podSpecFor(nodeName) },
      });
      await waitFor("pod ready", async () =>
        isReady(await api.core.readNamespacedPod({ name: "lost", namespace })),
      );
      const pod = await api.core.readNamespacedPod({ name: "lost", namespace });
      // The cloud loses the pod behind the agent's back.
      await cloud.deletePod({ namespace, name: "lost", uid: pod.metadata?.uid ?? "" }, 0);
      const failed = await waitFor("lost pod failed", async () => {
        const p = await api.core.readNamespacedPod({ name: "lost", namespace });
        return p.status?.phase === "Failed" ? p : undefined;
      });
      expect(failed.status?.reason).toBe("ProviderPodLost");
    } finally {
      await running.stop();
      await cloud.deletePod({ namespace, name: "foreign", uid: "uid-foreign" }, 0);
    }
  });
});
