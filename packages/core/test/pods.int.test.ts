/**
 * The pod's path against the real control plane: Deployments, Jobs, graceful deletion, validation,
 * provider failures. The agent runs as the Node identity `system:node:<name>`.
 */
import type { V1Pod } from "@kubernetes/client-node";
import { Watch } from "@kubernetes/client-node";
import { createMockProvider, MockAnnotations } from "@virtual-node/provider-mock";
import { createConsoleLogger } from "@virtual-node/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
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
  type RunningNode,
} from "./support.js";

const PHASE_ORDER: Record<string, number> = { Pending: 0, Running: 1, Succeeded: 2, Failed: 2 };

describe("pods on a virtual node (real control plane, Node identity)", () => {
  const nodeName = uniqueName("vn-pods");
  const namespace = uniqueName("pods");
  const provider = createMockProvider();
  let api: Apis;
  let running: RunningNode;
  const regressions: string[] = [];
  const lastPhase = new Map<string, number>();
  let stopWatch: AbortController | undefined;

  /** The agent's warnings, as JSON lines: sync failures must be visible to operators. */
  const logged: string[] = [];
  const logLines = { write: (line: string) => logged.push(line) };

  beforeAll(async () => {
    const cp = await controlPlane();
    api = apis(cp.kubeConfig);
    await createNamespace(api, namespace);
    const identity = await cp.nodeIdentity(nodeName);
    running = await startNode(identity.kubeConfig, nodeName, provider, {
      logger: createConsoleLogger({ level: "warn", stream: logLines }),
    });
    // Record every status the API server sees, to prove it never regresses.
    stopWatch = await new Watch(cp.kubeConfig).watch(
      `/api/v1/namespaces/${namespace}/pods`,
      {},
      (_type: string, pod: V1Pod) => {
        const key = `${pod.metadata?.name ?? ""}@${pod.metadata?.uid ?? ""}`;
        const rank = PHASE_ORDER[pod.status?.phase ?? "Pending"] ?? 0;
        const before = lastPhase.get(key) ?? 0;
        if (rank < before) regressions.push(`${key}: ${String(before)} -> ${pod.status?.phase ?? "?"}`);
        lastPhase.set(key, Math.max(rank, before));
      },
      () => undefined,
    );
  });

  afterAll(async () => {
    stopWatch?.abort();
    await running.stop();
  });

  it("runs a Deployment of 20 replicas to Running+Ready, and scale to 0 leaves the provider empty", async () => {
    const labels = { app: "web" };
    await api.apps.createNamespacedDeployment({
      namespace,
      body: {
        metadata: { name: "web" },
        spec: {
          replicas: 20,
          selector: { matchLabels: labels },
          template: { metadata: { labels }, spec: podSpecFor(nodeName) },
        },
      },
    });
    const pods = await waitFor(
      "20 ready pods",
      async () => {
        const items = (await listPods(api, namespace)).filter((p) => p.metadata?.labels?.app === "web");
        return items.length === 20 && items.every(isReady) ? items : undefined;
      },
      { timeoutMs: 90_000 },
    );
    for (const pod of pods) {
      expect(pod.spec?.nodeName).toBe(nodeName);
      expect(pod.status?.podIP).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
      expect(pod.status?.hostIP).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
      expect(pod.status?.startTime).toBeDefined();
      const types = Object.fromEntries((pod.status?.conditions ?? []).map((c) => [c.type, c.status]));
      expect(types).toMatchObject({
        PodScheduled: "True",
        Initialized: "True",
        ContainersReady: "True",
        Ready: "True",
      });
      expect(pod.status?.containerStatuses?.[0]?.state?.running).toBeDefined();
      expect(pod.status?.containerStatuses?.[0]?.containerID).toBeTruthy();
    }
    const deployment = await api.apps.readNamespacedDeployment({ name: "web", namespace });
    await waitFor("deployment ready", async () => {
      const d = await api.apps.readNamespacedDeployment({ name: "web", namespace });
      return d.status?.readyReplicas === 20;
    });
    expect(deployment.metadata?.name).toBe("web");

    await api.apps.replaceNamespacedDeploymentScale({
      name: "web",
      namespace,
      body: { metadata: { name: "web", namespace }, spec: { replicas: 0 } },
    });
    await waitFor(
      "all web pods gone from the API and the provider",
      async () => {
        const left = (await listPods(api, namespace)).filter((p) => p.metadata?.labels?.app === "web");
        const held = (await provider.listPods(nodeName, { signal: AbortSignal.timeout(5_000) })).filter(
          (p) => p.namespace === namespace,
        );
        return left.length === 0 && held.length === 0;
      },
      { timeoutMs: 90_000 },
    );
  });

  it("a Job completes: Succeeded with exit code 0; a failing Job: Failed with its exit code", async () => {
    const job = (name: string, exitCode: number) => ({
      metadata: { name },
      spec: {
        backoffLimit: 0,
        template: {
          metadata: {
            annotations: {
              [MockAnnotations.runDuration]: "1s",
              [MockAnnotations.exitCode]: String(exitCode),
            },
          },
          spec: podSpecFor(nodeName, { restartPolicy: "Never" }),
        },
      },
    });
    await api.batch.createNamespacedJob({ namespace, body: job("ok", 0) });
    await api.batch.createNamespacedJob({ namespace, body: job("bad", 3) });
    const ok = await waitFor(
      "job ok pod Succeeded",
      async () =>
        (await listPods(api, namespace)).find(
          (p) => p.metadata?.labels?.["job-name"] === "ok" && p.status?.phase === "Succeeded",
        ),
      { timeoutMs: 60_000 },
    );
    expect(ok.status?.containerStatuses?.[0]?.state?.terminated?.exitCode).toBe(0);
    expect(ok.status?.containerStatuses?.[0]?.state?.terminated?.reason).toBe("Completed");
    const bad = await waitFor(
      "job bad pod Failed",
      async () =>
        (await listPods(api, namespace)).find(
          (p) => p.metadata?.labels?.["job-name"] === "bad" && p.status?.phase === "Failed",
        ),
      { timeoutMs: 60_000 },
    );
    expect(bad.status?.containerStatuses?.[0]?.state?.terminated?.exitCode).toBe(3);
    expect(bad.status?.containerStatuses?.[0]?.state?.terminated?.reason).toBe("Error");
    await waitFor("job ok complete", async () => {
      const j = await api.batch.readNamespacedJob({ name: "ok", namespace });
      return (j.status?.succeeded ?? 0) === 1;
    });
    await waitFor("job bad failed", async () => {
      const j = await api.batch.readNamespacedJob({ name: "bad", namespace });
      return (j.status?.failed ?? 0) >= 1;
    });
  });

  it("a gracefully deleted running pod leaves the API as soon as the provider confirms", async () => {
    const name = "graceful";
    await api.core.createNamespacedPod({
      namespace,
      body: { metadata: { name }, spec: podSpecFor(nodeName, { terminationGracePeriodSeconds: 120 }) },
    });
    await waitFor("pod ready", async () => isReady(await api.core.readNamespacedPod({ name, namespace })));
    const started = Date.now();
    await api.core.deleteNamespacedPod({ name, namespace });
    await waitFor(
      "pod gone",
      async () => {
        try {
          await api.core.readNamespacedPod({ name, namespace });
          return false;
        } catch {
          return true;
        }
      },
      { timeoutMs: 30_000 },
    );
    // The grace period is 120 s; the mock stops at once, so the object must be gone long before.
    expect(Date.now() - started).toBeLessThan(30_000);
  });

  it("a pod with a field the provider does not support fails with the field named, and the provider is never called", async () => {
    expect(provider.capabilities.hostNetwork).toBe(false);
    const name = "host-network";
    await api.core.createNamespacedPod({
      namespace,
      body: { metadata: { name }, spec: podSpecFor(nodeName, { hostNetwork: true }) },
    });
    const pod = await waitFor("pod failed", async () => {
      const p = await api.core.readNamespacedPod({ name, namespace });
      return p.status?.phase === "Failed" ? p : undefined;
    });
    expect(pod.status?.reason).toBe("UnsupportedPodSpec");
    expect(pod.status?.message).toContain("spec.hostNetwork");
    const events = await waitFor("warning event", async () => {
      const list = await api.core.listNamespacedEvent({
        namespace,
        fieldSelector: `involvedObject.name=${name}`,
      });
      return list.items.find((e) => e.reason === "UnsupportedPodSpec");
    });
    expect(events.type).toBe("Warning");
    expect(events.message).toContain("spec.hostNetwork");
    const held = await provider.listPods(nodeName, { signal: AbortSignal.timeout(5_000) });
    expect(held.find((p) => p.name === name)).toBeUndefined();
  });

  it("a permanent provider error fails the pod with ProviderFailed and a Warning Event", async () => {
    const name = "rejected";
    await api.core.createNamespacedPod({
      namespace,
      body: {
        metadata: { name, annotations: { [MockAnnotations.failCreate]: "VN_PERMANENT" } },
        spec: podSpecFor(nodeName),
      },
    });
    const pod = await waitFor("pod failed", async () => {
      const p = await api.core.readNamespacedPod({ name, namespace });
      return p.status?.phase === "Failed" ? p : undefined;
    });
    expect(pod.status?.reason).toBe("ProviderFailed");
    expect(pod.status?.message).toMatch(/VN_PERMANENT/);
    await waitFor("ProviderFailed event", async () => {
      const list = await api.core.listNamespacedEvent({
        namespace,
        fieldSelector: `involvedObject.name=${name}`,
      });
      return list.items.some((e) => e.reason === "ProviderFailed" && e.type === "Warning");
    });
  });

  it("a retryable provider error is visible (waiting ProviderFailed + Event) and the pod starts once a retry succeeds", async () => {
    const name = "flaky-create";
    await api.core.createNamespacedPod({
      namespace,
      body: {
        metadata: { name, annotations: { [MockAnnotations.failCreate]: "Retryable:5" } },
        spec: podSpecFor(nodeName),
      },
    });
    const waiting = await waitFor(
      "waiting ProviderFailed",
      async () => {
        const p = await api.core.readNamespacedPod({ name, namespace });
        const w = p.status?.containerStatuses?.[0]?.state?.waiting;
        return w?.reason === "ProviderFailed" ? w : undefined;
      },
      { intervalMs: 50 },
    );
    expect(waiting.message).toContain("VN_RETRYABLE");
    await waitFor("pod ready after retries", async () =>
      isReady(await api.core.readNamespacedPod({ name, namespace })),
    );
    const events = await api.core.listNamespacedEvent({
      namespace,
      fieldSelector: `involvedObject.name=${name}`,
    });
    expect(events.items.some((e) => e.reason === "ProviderFailed" && e.type === "Warning")).toBe(true);
    const syncFailures = logged.filter((l) => l.includes("sync failed; retrying") && l.includes(name));
    expect(syncFailures.length).toBeGreaterThan(0);
  });

  it("never let a pod's phase regress", () => {
    expect(lastPhase.size).toBeGreaterThan(20);
    expect(regressions).toEqual([]);
  });
});
