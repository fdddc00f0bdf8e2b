/**
 * What core enforces itself, whatever the provider does (real control plane, Node identity): the
 * kubelet's admission for pods bound with spec.nodeName (they skip the scheduler) and
 * activeDeadlineSeconds.
 */
import { createMockProvider } from "@virtual-node/provider-mock";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  apis,
  controlPlane,
  createNamespace,
  podSpecFor,
  startNode,
  uniqueName,
  waitFor,
  type Apis,
  type RunningNode,
} from "./support.js";

describe("core enforces admission and deadlines (real control plane)", () => {
  const nodeName = uniqueName("vn-admit");
  const namespace = uniqueName("admit");
  const provider = createMockProvider();
  let api: Apis;
  let running: RunningNode;

  beforeAll(async () => {
    const cp = await controlPlane();
    api = apis(cp.kubeConfig);
    await createNamespace(api, namespace);
    const identity = await cp.nodeIdentity(nodeName);
    running = await startNode(identity.kubeConfig, nodeName, provider);
  });

  afterAll(async () => {
    await running.stop();
  });

  async function failedWith(name: string): Promise<{ reason?: string; message?: string }> {
    return waitFor(`${name} Failed`, async () => {
      const p = await api.core.readNamespacedPod({ name, namespace });
      return p.status?.phase === "Failed"
        ? { reason: p.status.reason, message: p.status.message }
        : undefined;
    });
  }

  async function warningEvent(name: string, reason: string): Promise<boolean> {
    return waitFor(`${reason} event for ${name}`, async () => {
      const events = await api.core.listNamespacedEvent({
        namespace,
        fieldSelector: `involvedObject.name=${name}`,
      });
      return events.items.some((e) => e.type === "Warning" && e.reason === reason);
    });
  }

  it.each([
    ["wrong-os", { os: { name: "windows" as const } }, "PodOSNotSupported"],
    [
      "wrong-selector",
      { nodeSelector: { "kubernetes.io/hostname": nodeName, zone: "nowhere" } },
      "NodeAffinity",
    ],
    [
      "too-big",
      {
        containers: [
          { name: "app", image: "registry.example/app:1", resources: { requests: { cpu: "5000" } } },
        ],
      },
      "OutOfcpu",
    ],
  ])(
    "%s: a pod bound with spec.nodeName that the kubelet would refuse fails with %s",
    async (name, extra, reason) => {
      await api.core.createNamespacedPod({
        namespace,
        body: { metadata: { name }, spec: { ...podSpecFor(nodeName, extra), nodeName } },
      });
      const failed = await failedWith(name);
      expect(failed.reason).toBe(reason);
      expect(failed.message).toMatch(/^Pod was rejected: /);
      expect(await warningEvent(name, reason)).toBe(true);
      // Never reached the provider.
      const held = await provider.listPods(nodeName, { signal: AbortSignal.timeout(5_000) });
      expect(held.map((p) => p.name)).not.toContain(name);
    },
  );

  it("ephemeral containers the provider cannot run wait with a reason and a Warning Event (kubectl debug)", async () => {
    const name = "debug-me";
    await api.core.createNamespacedPod({
      namespace,
      body: { metadata: { name }, spec: podSpecFor(nodeName) },
    });
    const pod = await waitFor("running", async () => {
      const p = await api.core.readNamespacedPod({ name, namespace });
      return p.status?.phase === "Running" ? p : undefined;
    });
    await api.core.replaceNamespacedPodEphemeralcontainers({
      name,
      namespace,
      body: {
        ...pod,
        spec: {
          ...(pod.spec ?? { containers: [] }),
          ephemeralContainers: [
            { name: "debugger", image: "registry.example/busybox:1", stdin: true, tty: true },
          ],
        },
      },
    });
    const waiting = await waitFor("ephemeral container status", async () => {
      const p = await api.core.readNamespacedPod({ name, namespace });
      return p.status?.ephemeralContainerStatuses?.[0]?.state?.waiting;
    });
    expect(waiting.reason).toBe("EphemeralContainersNotSupported");
    expect(waiting.message).toContain("spec.ephemeralContainers is not supported by provider mock");
    expect(await warningEvent(name, "UnsupportedPodSpec")).toBe(true);
    // The pod itself keeps running.
    const after = await api.core.readNamespacedPod({ name, namespace });
    expect(after.status?.phase).toBe("Running");
  });

  it("activeDeadlineSeconds: a running pod is stopped and fails with DeadlineExceeded", async () => {
    const name = "deadline";
    await api.core.createNamespacedPod({
      namespace,
      body: { metadata: { name }, spec: podSpecFor(nodeName, { activeDeadlineSeconds: 2 }) },
    });
    await waitFor("running", async () => {
      const p = await api.core.readNamespacedPod({ name, namespace });
      return p.status?.phase === "Running";
    });
    const failed = await failedWith(name);
    expect(failed).toEqual({
      reason: "DeadlineExceeded",
      message: "Pod was active on the node longer than the specified deadline",
    });
    expect(await warningEvent(name, "DeadlineExceeded")).toBe(true);
    const pod = await api.core.readNamespacedPod({ name, namespace });
    const started = new Date(pod.status?.startTime ?? 0).getTime();
    const terminated = pod.status?.containerStatuses?.[0]?.state?.terminated;
    expect(terminated).toBeDefined();
    expect(new Date(terminated?.finishedAt ?? 0).getTime() - started).toBeGreaterThanOrEqual(2_000);
    // Its containers were stopped in the provider.
    const ref = { namespace, name, uid: pod.metadata?.uid ?? "" };
    const status = await provider.getPodStatus(ref, { signal: AbortSignal.timeout(5_000) });
    expect(status === undefined || status.containers.every((c) => "terminated" in c.state)).toBe(true);
  });
});
