import {
  AppsV1Api,
  CoordinationV1Api,
  CoreV1Api,
  V1MicroTime,
  type V1Deployment,
  type V1Namespace,
  type V1Pod,
} from "@kubernetes/client-node";
import { afterAll, describe, expect, inject, it } from "vitest";

import { model } from "../src/kube-objects.js";
import { useControlPlane } from "../src/shared-control-plane.js";
import {
  NODE_LEASE_NAMESPACE,
  NODE_SELECTOR_LABEL,
  VIRTUAL_NODE_TAINT,
  nodeLease,
  readyNode,
} from "./helpers/kube.js";
import { eventually, randomSuffix, sleep } from "./helpers/temp.js";

const suffix = randomSuffix();
const namespace = `proof-${suffix}`;
const nodeName = `proof-${suffix}`;

function isUnschedulable(pod: V1Pod): boolean {
  return (
    pod.status?.conditions?.some(
      (c) => c.type === "PodScheduled" && c.status === "False" && c.reason === "Unschedulable",
    ) === true
  );
}

describe("the real control plane schedules onto a node it only knows from the API", () => {
  const cleanups: (() => Promise<unknown>)[] = [];
  afterAll(async () => {
    for (const cleanup of cleanups.reverse()) {
      await cleanup().catch(() => undefined);
    }
  });

  it("Deployment → Pending pods → Node + Lease → bound pods → Lease stops → node Unknown + unreachable", async () => {
    const cp = await useControlPlane(inject("controlPlane"));
    // The shared control plane runs with a short node-monitor grace period (see vitest-global-setup.ts).
    expect(cp.info.nodeMonitorGracePeriod).toBe("20s");
    const core = cp.kubeConfig.makeApiClient(CoreV1Api);
    const apps = cp.kubeConfig.makeApiClient(AppsV1Api);
    const coordination = cp.kubeConfig.makeApiClient(CoordinationV1Api);

    await core.createNamespace({ body: model<V1Namespace>({ metadata: { name: namespace } }) });
    cleanups.push(() => core.deleteNamespace({ name: namespace }));

    // 1. A Deployment whose pods can only run on a node that does not exist yet.
    await apps.createNamespacedDeployment({
      namespace,
      body: model<V1Deployment>({
        metadata: { name: "proof" },
        spec: {
          replicas: 3,
          selector: { matchLabels: { app: "proof" } },
          template: {
            metadata: { labels: { app: "proof" } },
            spec: {
              nodeSelector: { [NODE_SELECTOR_LABEL]: nodeName },
              tolerations: [{ ...VIRTUAL_NODE_TAINT, operator: "Equal" }],
              containers: [{ name: "app", image: "registry.invalid/proof:1" }],
            },
          },
        },
      }),
    });

    // 2. controller-manager creates 3 pods, the scheduler leaves them Pending / Unschedulable.
    const pending = await eventually("3 unschedulable pods", async () => {
      const pods = await core.listNamespacedPod({ namespace, labelSelector: "app=proof" });
      return pods.items.length === 3 && pods.items.every(isUnschedulable) ? pods.items : undefined;
    });
    expect(pending.map((p) => p.status?.phase)).toEqual(["Pending", "Pending", "Pending"]);
    expect(pending.every((p) => p.spec?.nodeName === undefined)).toBe(true);

    // 3. The node appears (registered as admin) and its Lease is renewed every 2 s.
    const node = readyNode(nodeName);
    const created = await core.createNode({ body: node });
    cleanups.push(() => core.deleteNode({ name: nodeName }));
    // Like a kubelet's registration, the status sent on create is kept.
    expect(created.status?.conditions?.find((c) => c.type === "Ready")?.status).toBe("True");
    expect(created.status?.allocatable).toEqual({ cpu: "8", memory: "32Gi", pods: "110" });
    await coordination.createNamespacedLease({ namespace: NODE_LEASE_NAMESPACE, body: nodeLease(nodeName) });
    cleanups.push(() =>
      coordination.deleteNamespacedLease({ name: nodeName, namespace: NODE_LEASE_NAMESPACE }),
    );

    let renewing = true;
    const isRenewing = (): boolean => renewing; // read through a call: the flag flips while awaiting
    let renewals = 0;
    const renewer = (async () => {
      while (isRenewing()) {
        await sleep(2000);
        if (!isRenewing()) break;
        const lease = await coordination.readNamespacedLease({
          name: nodeName,
          namespace: NODE_LEASE_NAMESPACE,
        });
        if (lease.spec !== undefined) lease.spec.renewTime = new V1MicroTime();
        await coordination.replaceNamespacedLease({
          name: nodeName,
          namespace: NODE_LEASE_NAMESPACE,
          body: lease,
        });
        renewals++;
      }
    })();
    cleanups.push(async () => {
      renewing = false;
      await renewer;
    });

    // 4. The scheduler binds all 3 pods to it.
    const bound = await eventually("3 pods bound to the node", async () => {
      const pods = await core.listNamespacedPod({ namespace, labelSelector: "app=proof" });
      return pods.items.length === 3 && pods.items.every((p) => p.spec?.nodeName === nodeName)
        ? pods.items
        : undefined;
    });
    expect(bound.map((p) => p.spec?.nodeName)).toEqual([nodeName, nodeName, nodeName]);

    // 5. The Lease alone keeps the node Ready beyond the grace period (its status heartbeat is never updated).
    await sleep(25_000);
    const whileRenewing = await core.readNode({ name: nodeName });
    expect(whileRenewing.status?.conditions?.find((c) => c.type === "Ready")?.status).toBe("True");

    // 6. The "kubelet" goes away: no more Lease renewals → Ready=Unknown and the unreachable taint.
    renewing = false;
    await renewer;
    expect(renewals).toBeGreaterThanOrEqual(10);
    const stoppedAt = Date.now();
    const lost = await eventually(
      "node Ready=Unknown with the unreachable taint",
      async () => {
        const current = await core.readNode({ name: nodeName });
        const ready = current.status?.conditions?.find((c) => c.type === "Ready");
        const tainted =
          current.spec?.taints?.some((t) => t.key === "node.kubernetes.io/unreachable") === true;
        return ready?.status === "Unknown" && tainted ? current : undefined;
      },
      { timeoutMs: 90_000, intervalMs: 1000 },
    );
    const ready = lost.status?.conditions?.find((c) => c.type === "Ready");
    expect(ready?.reason).toBe("NodeStatusUnknown");
    // Not much later than the 20 s grace period (plus the 2 s monitor period and polling).
    expect(Date.now() - stoppedAt).toBeLessThan(60_000);
    expect(lost.spec?.taints?.map((t) => `${t.key}:${t.effect}`)).toContain(
      "node.kubernetes.io/unreachable:NoSchedule",
    );
    // The NoExecute variant (which evicts pods) is not asserted: when every node of the cluster is NotReady —
    // as here when this test runs alone — the node lifecycle controller enters "full disruption" mode and
    // deliberately stops NoExecute tainting.
  });
});
