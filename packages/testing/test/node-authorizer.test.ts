import {
  CoordinationV1Api,
  CoreV1Api,
  V1MicroTime,
  type V1Namespace,
  type V1Pod,
  type V1Secret,
} from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";

import type { ControlPlaneHandle } from "../src/control-plane.js";
import type { ClientIdentity } from "../src/identity.js";
import { model } from "../src/kube-objects.js";
import { useControlPlane } from "../src/shared-control-plane.js";
import {
  NODE_LEASE_NAMESPACE,
  VIRTUAL_NODE_TAINT,
  failureStatus,
  nodeLease,
  readyNode,
} from "./helpers/kube.js";
import { eventually, randomSuffix } from "./helpers/temp.js";

const suffix = randomSuffix();
const namespace = `authz-${suffix}`;
const nodeName = `authz-${suffix}`;
const otherNode = `authz-other-${suffix}`;

function podUsingSecret(name: string, node: string, secret: string): V1Pod {
  return model<V1Pod>({
    metadata: { name },
    spec: {
      nodeName: node,
      tolerations: [{ ...VIRTUAL_NODE_TAINT, operator: "Equal" }],
      containers: [
        { name: "app", image: "registry.invalid/app:1", volumeMounts: [{ name: "s", mountPath: "/s" }] },
      ],
      volumes: [{ name: "s", secret: { secretName: secret } }],
    },
  });
}

describe("a node identity is limited by the Node authorizer and NodeRestriction", () => {
  let cp: ControlPlaneHandle;
  let admin: CoreV1Api;
  let identity: ClientIdentity;
  let asNode: CoreV1Api;
  let asNodeCoordination: CoordinationV1Api;

  beforeAll(async () => {
    cp = await useControlPlane(inject("controlPlane"));
    admin = cp.kubeConfig.makeApiClient(CoreV1Api);
    identity = await cp.nodeIdentity(nodeName);
    asNode = identity.kubeConfig.makeApiClient(CoreV1Api);
    asNodeCoordination = identity.kubeConfig.makeApiClient(CoordinationV1Api);

    await admin.createNamespace({ body: model<V1Namespace>({ metadata: { name: namespace } }) });
    await admin.createNode({ body: readyNode(otherNode) });
    for (const name of ["mine", "not-mine"]) {
      await admin.createNamespacedSecret({
        namespace,
        body: model<V1Secret>({ metadata: { name }, stringData: { token: `${name}-value` } }),
      });
    }
    // Pod admission needs the namespace's default ServiceAccount (created by controller-manager).
    await eventually("default ServiceAccount", () =>
      admin.readNamespacedServiceAccount({ name: "default", namespace }),
    );
    await admin.createNamespacedPod({ namespace, body: podUsingSecret("bound-here", nodeName, "mine") });
    await admin.createNamespacedPod({
      namespace,
      body: podUsingSecret("bound-elsewhere", otherNode, "not-mine"),
    });
  });

  afterAll(async () => {
    await admin.deleteNamespace({ name: namespace }).catch(() => undefined);
    for (const name of [nodeName, otherNode]) {
      await admin.deleteNode({ name }).catch(() => undefined);
    }
    await asNodeCoordination
      .deleteNamespacedLease({ name: nodeName, namespace: NODE_LEASE_NAMESPACE })
      .catch(() => undefined);
  });

  it("has the kubelet's user and group", () => {
    expect(identity.user).toBe(`system:node:${nodeName}`);
    expect(identity.groups).toEqual(["system:nodes"]);
  });

  it("registers, reads and updates its own Node", async () => {
    await asNode.createNode({ body: readyNode(nodeName) });
    // The controller-manager writes a new Node at once (taints, annotations): read-modify-write
    // retries on 409 Conflict, as client-go's RetryOnConflict does.
    const retryOnConflict = async <T>(write: () => Promise<T>): Promise<T> => {
      for (let attempt = 1; ; attempt++) {
        try {
          return await write();
        } catch (error) {
          if ((error as { code?: number }).code !== 409 || attempt >= 5) throw error;
        }
      }
    };
    const updated = await retryOnConflict(async () => {
      const own = await asNode.readNode({ name: nodeName });
      const ready = own.status?.conditions?.find((c) => c.type === "Ready");
      expect(ready?.status).toBe("True");
      if (ready !== undefined) ready.message = `heartbeat ${Date.now()}`;
      const written = await asNode.replaceNodeStatus({ name: nodeName, body: own });
      expect(written.metadata?.resourceVersion).not.toBe(own.metadata?.resourceVersion);
      return written;
    });
    expect(updated.status?.conditions?.find((c) => c.type === "Ready")?.message).toMatch(/^heartbeat /);
    const relabelled = await retryOnConflict(async () => {
      const current = await asNode.readNode({ name: nodeName });
      current.metadata = {
        ...current.metadata,
        labels: { ...current.metadata?.labels, "virtual-node.test/touched": "yes" },
      };
      return asNode.replaceNode({ name: nodeName, body: current });
    });
    expect(relabelled.metadata?.labels?.["virtual-node.test/touched"]).toBe("yes");
  });

  it("creates, reads and renews its own Lease", async () => {
    await asNodeCoordination.createNamespacedLease({
      namespace: NODE_LEASE_NAMESPACE,
      body: nodeLease(nodeName),
    });
    const lease = await asNodeCoordination.readNamespacedLease({
      name: nodeName,
      namespace: NODE_LEASE_NAMESPACE,
    });
    if (lease.spec !== undefined) lease.spec.renewTime = new V1MicroTime();
    await asNodeCoordination.replaceNamespacedLease({
      name: nodeName,
      namespace: NODE_LEASE_NAMESPACE,
      body: lease,
    });
  });

  it("cannot read or modify another node, nor create its Lease", async () => {
    // Since AuthorizeNodeWithSelectors, a node may only read its own Node object.
    expect(await failureStatus(asNode.readNode({ name: otherNode }))).toBe(403);
    const other = await admin.readNode({ name: otherNode });
    other.metadata = { ...other.metadata, labels: { ...other.metadata?.labels, hijacked: "yes" } };
    expect(await failureStatus(asNode.replaceNode({ name: otherNode, body: other }))).toBe(403);
    expect(await failureStatus(asNode.replaceNodeStatus({ name: otherNode, body: other }))).toBe(403);
    expect(
      await failureStatus(
        asNodeCoordination.createNamespacedLease({
          namespace: NODE_LEASE_NAMESPACE,
          body: nodeLease(otherNode),
        }),
      ),
    ).toBe(403);
  });

  it("reads a secret referenced by a pod bound to it (once the authorizer graph has it)", async () => {
    const secret = await eventually(
      "secret visible to the node",
      () => asNode.readNamespacedSecret({ name: "mine", namespace }),
      { timeoutMs: 30_000, intervalMs: 250 },
    );
    expect(Buffer.from(secret.data?.token ?? "", "base64").toString()).toBe("mine-value");
  });

  it("cannot read secrets of pods bound elsewhere, nor list secrets", async () => {
    expect(await failureStatus(asNode.readNamespacedSecret({ name: "not-mine", namespace }))).toBe(403);
    expect(await failureStatus(asNode.listSecretForAllNamespaces())).toBe(403);
    expect(await failureStatus(asNode.listNamespacedSecret({ namespace }))).toBe(403);
  });
});
