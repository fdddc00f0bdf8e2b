/**
 * Billed resources against the real control plane: the mock provider reports the shape it chose
 * for a pod, and the agent — running as the Node identity `system:node:<name>`, under the Node
 * authorizer and NodeRestriction — writes it to the pod's annotation and counts billed
 * vCPU/GiB-seconds while the pod runs.
 */
import { PatchStrategy, setHeaderOptions } from "@kubernetes/client-node";
import { createMockProvider } from "@virtual-node/provider-mock";
import type { Registry } from "prom-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BILLED_RESOURCES_ANNOTATION } from "../src/billing.js";
import {
  apis,
  controlPlane,
  createNamespace,
  isReady,
  podSpecFor,
  startNode,
  uniqueName,
  waitFor,
  type Apis,
  type RunningNode,
} from "./support.js";

/** The value of one counter series, 0 when it does not exist yet. */
async function counter(registry: Registry, name: string, labels: Record<string, string>): Promise<number> {
  const metric = registry.getSingleMetric(name);
  if (metric === undefined) throw new Error(`metric ${name} is not registered`);
  const data = await metric.get();
  const series = data.values.find((v) => Object.entries(labels).every(([k, value]) => v.labels[k] === value));
  return series?.value ?? 0;
}

describe("billed resources (real control plane, Node identity)", () => {
  const nodeName = uniqueName("vn-billing");
  const namespace = uniqueName("billing");
  const other = uniqueName("billing-other");
  let api: Apis;
  let running: RunningNode;
  let registry: Registry;

  beforeAll(async () => {
    const cp = await controlPlane();
    api = apis(cp.kubeConfig);
    await createNamespace(api, namespace);
    await createNamespace(api, other);
    const identity = await cp.nodeIdentity(nodeName);
    running = await startNode(identity.kubeConfig, nodeName, createMockProvider());
    registry = running.node.metricsRegistry;
  });

  afterAll(async () => {
    await running.stop();
  });

  const resources = { requests: { cpu: "500m", memory: "1Gi" } };
  const vcpu = "virtual_node_pod_billed_vcpu_seconds_total";
  const memory = "virtual_node_pod_billed_memory_gib_seconds_total";

  it("annotates a running pod with its billed shape and counts vCPU/GiB-seconds while it runs", async () => {
    await api.core.createNamespacedPod({
      namespace,
      body: {
        metadata: { name: "billed" },
        spec: podSpecFor(nodeName, {
          containers: [{ name: "app", image: "registry.example/app:1", resources }],
        }),
      },
    });
    const pod = await waitFor("billed annotation", async () => {
      const p = await api.core.readNamespacedPod({ namespace, name: "billed" });
      return isReady(p) && p.metadata?.annotations?.[BILLED_RESOURCES_ANNOTATION] !== undefined
        ? p
        : undefined;
    });
    // 500m / 1Gi fits the mock's 0.5-core row exactly.
    expect(JSON.parse(pod.metadata?.annotations?.[BILLED_RESOURCES_ANNOTATION] ?? "")).toEqual({
      vcpu: 0.5,
      memoryGiB: 1,
      shape: "500/1024",
    });

    const labels = { provider: "mock", namespace };
    const first = await waitFor("billed vCPU-seconds", async () => {
      const v = await counter(registry, vcpu, labels);
      return v > 0 ? v : undefined;
    });
    const grown = await waitFor("the counter to grow", async () => {
      const v = await counter(registry, vcpu, labels);
      return v > first ? v : undefined;
    });
    expect(grown).toBeGreaterThan(first);
    // Memory follows the same clock: 1 GiB at 0.5 vCPU is twice the vCPU figure.
    const [v, m] = [await counter(registry, vcpu, labels), await counter(registry, memory, labels)];
    expect(m).toBeGreaterThanOrEqual(2 * v * 0.99);
    expect(m).toBeLessThanOrEqual(2 * v * 1.01 + 0.01);

    // Written once: status writes are PUTs, the annotation is the node's only PATCH of pods/status,
    // and the status updates since (Ready, polls) did not repeat it.
    expect(
      await counter(registry, "virtual_node_api_requests_total", {
        verb: "PATCH",
        resource: "pods/status",
        code: "200",
      }),
    ).toBe(1);
  });

  it("stops counting once the pod is gone, and labels usage by namespace", async () => {
    await api.core.deleteNamespacedPod({ namespace, name: "billed" });
    await waitFor("pod gone", async () => {
      const list = await api.core.listNamespacedPod({ namespace });
      return list.items.length === 0 ? true : undefined;
    });
    const labels = { provider: "mock", namespace };
    const stopped = await counter(registry, vcpu, labels);
    expect(stopped).toBeGreaterThan(0);

    // Time passes while another pod, in another namespace, starts and is billed.
    await api.core.createNamespacedPod({
      namespace: other,
      body: {
        metadata: { name: "billed" },
        spec: podSpecFor(nodeName, {
          containers: [
            {
              name: "app",
              image: "registry.example/app:1",
              resources: { limits: { cpu: "2", memory: "4Gi" } },
            },
          ],
        }),
      },
    });
    await waitFor("billed in the other namespace", async () => {
      const v = await counter(registry, vcpu, { provider: "mock", namespace: other });
      return v > 0 ? v : undefined;
    });
    const p = await api.core.readNamespacedPod({ namespace: other, name: "billed" });
    expect(JSON.parse(p.metadata?.annotations?.[BILLED_RESOURCES_ANNOTATION] ?? "{}")).toEqual({
      vcpu: 2,
      memoryGiB: 4,
      shape: "2000/4096",
    });
    expect(await counter(registry, vcpu, labels)).toBe(stopped);
  });

  it("the Node identity may write pod status metadata but not update the pod itself", async () => {
    const cp = await controlPlane();
    const identity = await cp.nodeIdentity(nodeName);
    const nodeApi = apis(identity.kubeConfig);
    const patch = { metadata: { annotations: { "example.com/probe": "1" } } };
    const merge = setHeaderOptions("Content-Type", PatchStrategy.MergePatch);
    await expect(
      nodeApi.core.patchNamespacedPod({ namespace: other, name: "billed", body: patch }, merge),
    ).rejects.toMatchObject({ code: 403 });
    const patched = await nodeApi.core.patchNamespacedPodStatus(
      { namespace: other, name: "billed", body: patch },
      merge,
    );
    expect(patched.metadata?.annotations?.["example.com/probe"]).toBe("1");
  });
});
