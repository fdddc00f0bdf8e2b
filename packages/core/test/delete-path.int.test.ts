/**
 * The last writes of a pod's life against the real control plane: when the terminated status is written
 * before the final grace-0 DELETE (the object outlives the DELETE, or a watcher asked for it) and when it is
 * skipped (nobody could read it), and the status write itself: a merge patch of `pods/status` preconditioned
 * on uid and resourceVersion.
 */
import type { V1Pod } from "@kubernetes/client-node";
import { Watch } from "@kubernetes/client-node";
import { createMockProvider } from "@virtual-node/provider-mock";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { isConflict, KubeClient } from "../src/kube/client.js";
import { MERGE_PATCH } from "../src/kube/merge-patch.js";
import { podStatusPatch, REPORT_TERMINATION_ANNOTATION } from "../src/kube/pod-api.js";
import type { Pod } from "../src/kube/types.js";
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

const HOLD = "virtual-node.io/test-hold";

interface Seen {
  type: string;
  deleting: boolean;
  terminated: boolean;
  phase: string | undefined;
}

describe("delete path and status writes (real control plane, Node identity)", () => {
  const nodeName = uniqueName("vn-delete");
  const namespace = uniqueName("delete");
  let api: Apis;
  let running: RunningNode;
  let admin: KubeClient;
  let stopWatch: AbortController | undefined;
  /** Every watch event per pod name, as the API server sent it. */
  const seen = new Map<string, Seen[]>();

  beforeAll(async () => {
    const cp = await controlPlane();
    api = apis(cp.kubeConfig);
    admin = new KubeClient({ kubeConfig: cp.kubeConfig, qps: 0 });
    await createNamespace(api, namespace);
    const identity = await cp.nodeIdentity(nodeName);
    running = await startNode(identity.kubeConfig, nodeName, createMockProvider());
    stopWatch = await new Watch(cp.kubeConfig).watch(
      `/api/v1/namespaces/${namespace}/pods`,
      {},
      (type: string, pod: V1Pod) => {
        const name = pod.metadata?.name ?? "";
        const list = seen.get(name) ?? [];
        list.push({
          type,
          deleting: pod.metadata?.deletionTimestamp !== undefined,
          terminated: (pod.status?.containerStatuses ?? []).some((c) => c.state?.terminated !== undefined),
          phase: pod.status?.phase,
        });
        seen.set(name, list);
      },
      () => undefined,
    );
  });

  afterAll(async () => {
    stopWatch?.abort();
    admin.close();
    await running.stop();
  });

  async function runningPod(name: string, metadata: NonNullable<V1Pod["metadata"]> = {}): Promise<void> {
    await api.core.createNamespacedPod({
      namespace,
      body: { metadata: { name, ...metadata }, spec: podSpecFor(nodeName) },
    });
    await waitFor(`${name} Ready`, async () =>
      isReady(await api.core.readNamespacedPod({ name, namespace })),
    );
  }

  async function gone(name: string): Promise<void> {
    await waitFor(
      `${name} gone`,
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
    await waitFor(`DELETED event of ${name}`, () => seen.get(name)?.some((e) => e.type === "DELETED"));
  }

  it("without finalizers: the DELETE follows the provider's delete with no status write in between", async () => {
    await runningPod("plain");
    await api.core.deleteNamespacedPod({ name: "plain", namespace, gracePeriodSeconds: 30 });
    await gone("plain");

    const events = seen.get("plain") ?? [];
    const afterDelete = events.slice(events.findIndex((e) => e.deleting));
    // The user's DELETE (deletionTimestamp set), then the node's grace-0 DELETE (the API server shortens
    // the deletion timestamp, then removes the object): no status write in between.
    expect(afterDelete.at(-1)?.type).toBe("DELETED");
    expect(afterDelete.every((e) => !e.terminated && e.phase === "Running")).toBe(true);
  });

  it("with a finalizer: the terminated containers are written and stay readable until the finalizer goes", async () => {
    await runningPod("held", { finalizers: [HOLD] });
    await api.core.deleteNamespacedPod({ name: "held", namespace, gracePeriodSeconds: 30 });

    const held = await waitFor("held: terminated and deleted with grace 0", async () => {
      const pod = await api.core.readNamespacedPod({ name: "held", namespace });
      const terminated = pod.status?.containerStatuses?.[0]?.state?.terminated;
      return terminated !== undefined && pod.metadata?.deletionGracePeriodSeconds === 0 ? pod : undefined;
    });
    expect(held.status?.phase).toBe("Failed");
    expect(held.status?.containerStatuses?.[0]?.state?.running).toBeUndefined();
    expect(held.metadata?.finalizers).toEqual([HOLD]);

    await api.core.patchNamespacedPod({
      name: "held",
      namespace,
      body: [{ op: "remove", path: "/metadata/finalizers" }],
    });
    await gone("held");
  });

  it("a Job's pod deleted while running is counted failed by the Job controller (job-tracking finalizer)", async () => {
    await api.batch.createNamespacedJob({
      namespace,
      body: {
        metadata: { name: "tracked" },
        spec: {
          backoffLimit: 0,
          template: { spec: podSpecFor(nodeName, { restartPolicy: "Never" }) },
        },
      },
    });
    const pod = await waitFor("the Job's pod Ready", async () => {
      const pods = await api.core.listNamespacedPod({ namespace, labelSelector: "job-name=tracked" });
      return pods.items.find(isReady);
    });
    expect(pod.metadata?.finalizers).toContain("batch.kubernetes.io/job-tracking");
    const name = pod.metadata?.name ?? "";
    await api.core.deleteNamespacedPod({ name, namespace });

    const job = await waitFor("the Job counts the pod failed", async () => {
      const j = await api.batch.readNamespacedJob({ name: "tracked", namespace });
      return (j.status?.failed ?? 0) >= 1 ? j : undefined;
    });
    expect(job.status?.failed).toBe(1);
    // The terminated states were on the object while the finalizer held it.
    expect((seen.get(name) ?? []).some((e) => e.deleting && e.terminated && e.phase === "Failed")).toBe(true);
    await gone(name);
  });

  it("a watcher that asked for it sees the terminated containers just before DELETED", async () => {
    await runningPod("asked", { annotations: { [REPORT_TERMINATION_ANNOTATION]: "true" } });
    await api.core.deleteNamespacedPod({ name: "asked", namespace, gracePeriodSeconds: 30 });
    await gone("asked");

    const events = seen.get("asked") ?? [];
    const last = events.slice(-2);
    expect(last.map((e) => e.type)).toEqual(["MODIFIED", "DELETED"]);
    expect(last[0]?.terminated).toBe(true);
    expect(last[0]?.phase).toBe("Failed");
  });

  it("the status merge patch applies only to the object it was computed from (409 otherwise)", async () => {
    // A pod bound to a node nobody serves: only this test writes its status.
    const created = await admin.create<Pod>(`/api/v1/namespaces/${namespace}/pods`, {
      metadata: { name: "patched" },
      spec: { ...podSpecFor("nowhere"), nodeName: "nowhere" },
    });
    const path = `/api/v1/namespaces/${namespace}/pods/patched/status`;
    const readyGate = { type: "example.com/gate", status: "True" };
    const first = podStatusPatch(created, {
      ...created.status,
      conditions: [...(created.status?.conditions ?? []), readyGate],
    });
    const updated = await admin.patch<Pod>(path, first, MERGE_PATCH);
    expect(updated.status?.conditions?.some((c) => c.type === "example.com/gate")).toBe(true);

    // Computed from the stale read: refused, and the condition written meanwhile is kept.
    const stale = podStatusPatch(created, { ...created.status, phase: "Running" });
    const refused = await admin.patch(path, stale, MERGE_PATCH).catch((error: unknown) => error);
    expect(isConflict(refused)).toBe(true);
    const after = await admin.get<Pod>(`/api/v1/namespaces/${namespace}/pods/patched`);
    expect(after.status?.phase).toBe("Pending");
    expect(after.status?.conditions?.some((c) => c.type === "example.com/gate")).toBe(true);

    // Another object under the same name (deleted and created again): refused too.
    const late = podStatusPatch(updated, { ...updated.status, phase: "Running" });
    await admin.delete(`/api/v1/namespaces/${namespace}/pods/patched`, { gracePeriodSeconds: 0 });
    await admin.create<Pod>(`/api/v1/namespaces/${namespace}/pods`, {
      metadata: { name: "patched" },
      spec: { ...podSpecFor("nowhere"), nodeName: "nowhere" },
    });
    const recreated = await admin.patch(path, late, MERGE_PATCH).catch((error: unknown) => error);
    expect(isConflict(recreated)).toBe(true);
  });
});
