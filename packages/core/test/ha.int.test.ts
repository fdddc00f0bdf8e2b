/**
 * High availability against the real control plane: two replicas (two node groups in this process)
 * for the same six virtual nodes, sharing one mock cloud. They share the nodes by rendezvous
 * hashing, a graceful stop hands the nodes over at once without the shutdown policy (the Nodes stay
 * Ready, the pods keep running, nothing is created twice), and only the last replica to stop applies
 * the shutdown policy.
 */
import {
  createConsoleLogger,
  createVirtualNodeGroup,
  type OwnershipChange,
  type VirtualNodeGroup,
} from "@virtual-node/core";
import { MockCloud, createMockProvider } from "@virtual-node/provider-mock";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { rendezvousAssignment } from "../src/ha/sharding.js";
import {
  apis,
  controlPlane,
  createNamespace,
  isReady,
  listPods,
  uniqueName,
  waitFor,
  type Apis,
} from "./support.js";

const sorted = (xs: string[]): string[] => [...xs].sort();

describe("high availability: two replicas in one process", () => {
  let api: Apis;
  let kubeConfig: Awaited<ReturnType<typeof controlPlane>>["kubeConfig"];
  const namespace = uniqueName("ha");
  beforeAll(async () => {
    const cp = await controlPlane();
    kubeConfig = cp.kubeConfig;
    api = apis(kubeConfig);
    await createNamespace(api, namespace);
  });
  afterAll(async () => {
    await api.core.deleteNamespace({ name: namespace }).catch(() => undefined);
  });

  it("shares the nodes, hands them over at once on stop, and runs the shutdown policy only when the last replica stops", async () => {
    const cloud = new MockCloud();
    const prefix = uniqueName("vn-ha");
    const names = Array.from({ length: 6 }, (_, i) => `${prefix}-${String(i)}`);
    const replica = (identity: string): VirtualNodeGroup =>
      createVirtualNodeGroup({
        kubeConfig,
        nodes: names.map((nodeName) => ({
          nodeName,
          provider: createMockProvider({ cloud }),
          internalIP: "127.0.0.1",
        })),
        logger: createConsoleLogger({ level: process.env.VIRTUAL_NODE_TEST_LOG === "1" ? "debug" : "error" }),
        statusPollFastMs: 200,
        statusPollSlowMs: 1_000,
        pingIntervalMs: 1_000,
        leaseRenewIntervalMs: 2_000,
        qps: 500,
        burst: 1000,
        // Visible if it ran while a peer was live: the Nodes would vanish.
        shutdown: "delete",
        kubeletApi: { enabled: false },
        highAvailability: {
          identity,
          namespace,
          leaseDurationSeconds: 4,
          renewDeadlineSeconds: 3,
          retryPeriodSeconds: 1,
        },
      });
    const a = replica("replica-a");
    const b = replica("replica-b");
    const changesOfB: (OwnershipChange & { at: number })[] = [];
    b.onOwnershipChange((c) => changesOfB.push({ ...c, at: Date.now() }));
    const runningA = a.run();
    let runningB: Promise<void> | undefined;
    try {
      await a.ready;
      await waitFor("replica a owns every node", () => a.ownedNodes().length === names.length);
      await waitFor("six Ready nodes", async () => {
        for (const name of names) {
          const node = await api.core.readNode({ name });
          if (node.status?.conditions?.find((c) => c.type === "Ready")?.status !== "True") return false;
        }
        return true;
      });

      runningB = b.run();
      await b.ready;
      // b joins; after its stabilisation period (2 × 4 s) a hands b its rendezvous share.
      const want = rendezvousAssignment(names, ["replica-a", "replica-b"]);
      const forA = names.filter((n) => want.get(n) === "replica-a");
      const forB = names.filter((n) => want.get(n) === "replica-b");
      await waitFor(
        "the rendezvous assignment",
        () =>
          sorted(a.ownedNodes()).join() === sorted(forA).join() &&
          sorted(b.ownedNodes()).join() === sorted(forB).join(),
        { timeoutMs: 30_000 },
      );
      for (const node of names) {
        const lease = await api.coordination.readNamespacedLease({
          name: `virtual-node-owner-${node}`,
          namespace,
        });
        expect(lease.spec?.holderIdentity).toBe(forA.includes(node) ? "replica-a" : "replica-b");
      }
      const members = await api.coordination.listNamespacedLease({
        namespace,
        labelSelector: "virtual-node.io/ha-role=member",
      });
      expect(sorted(members.items.map((l) => l.spec?.holderIdentity ?? ""))).toEqual([
        "replica-a",
        "replica-b",
      ]);

      // A pod on every node, each run once in the cloud by its node's owner.
      for (const nodeName of names) {
        await api.core.createNamespacedPod({
          namespace,
          body: {
            metadata: { name: `${nodeName}-p` },
            spec: { nodeName, containers: [{ name: "app", image: "registry.example/app:1" }] },
          },
        });
      }
      const before = await waitFor("six Ready pods", async () => {
        const pods = await listPods(api, namespace);
        return pods.length === names.length && pods.every(isReady) ? pods : undefined;
      });
      expect((await cloud.callStats()).counts.createPod).toBe(names.length);

      // Graceful stop of a: b holds every node at once, and a ran no shutdown policy.
      const stoppedAt = Date.now();
      await a.stop();
      await runningA;
      await waitFor("b owns every node", () => b.ownedNodes().length === names.length, { timeoutMs: 10_000 });
      const lastGain = Math.max(
        ...changesOfB.filter((c) => c.owned && forA.includes(c.nodeName)).map((c) => c.at),
      );
      const handOverMs = lastGain - stoppedAt;
      console.log(
        `[ha] graceful hand-over of ${String(forA.length)} node(s): ${String(handOverMs)} ms after stop() began`,
      );
      expect(handOverMs).toBeLessThan(3_000);
      for (const name of names) {
        const node = await api.core.readNode({ name });
        expect(node.status?.conditions?.find((c) => c.type === "Ready")?.status).toBe("True");
      }
      // b adopted a's pods: no duplicate create, no restart.
      await new Promise((r) => setTimeout(r, 3_000));
      const after = await listPods(api, namespace);
      expect(after.every(isReady)).toBe(true);
      expect((await cloud.callStats()).counts.createPod).toBe(names.length);
      for (const pod of before) {
        const now = after.find((p) => p.metadata?.uid === pod.metadata?.uid);
        expect(now?.status?.containerStatuses?.[0]?.restartCount ?? 0).toBe(0);
        expect(now?.status?.containerStatuses?.[0]?.state?.running?.startedAt).toEqual(
          pod.status?.containerStatuses?.[0]?.state?.running?.startedAt,
        );
      }
      // And b acts for a's former nodes: a new pod there starts.
      const formerA = forA[0] ?? names[0] ?? "";
      await api.core.createNamespacedPod({
        namespace,
        body: {
          metadata: { name: `${formerA}-late` },
          spec: { nodeName: formerA, containers: [{ name: "app", image: "registry.example/app:1" }] },
        },
      });
      await waitFor("the late pod Ready", async () =>
        isReady(await api.core.readNamespacedPod({ name: `${formerA}-late`, namespace })),
      );
      expect((await cloud.callStats()).counts.createPod).toBe(names.length + 1);
    } finally {
      await a.stop();
      await b.stop();
      await runningB;
    }
    // b was the last replica: it applied the shutdown policy (delete) and released its Leases.
    for (const name of names) await expect(api.core.readNode({ name })).rejects.toThrow();
    for (const node of names) {
      const lease = await api.coordination.readNamespacedLease({
        name: `virtual-node-owner-${node}`,
        namespace,
      });
      expect(lease.spec?.holderIdentity ?? "").toBe("");
    }
  });
});
