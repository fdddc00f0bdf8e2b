/**
 * PersistentVolumeClaim volumes against the real control plane, with the agent running as the Node
 * identity `system:node:<name>` (Node authorizer: `get` on the claims and PVs of its own pods, and
 * on the Secrets those PVs name; no list, no watch). The PV controller of kube-controller-manager
 * does the binding.
 */
import { CoreV1Api, type V1PersistentVolume } from "@kubernetes/client-node";
import { MockCloud, createMockProvider, type MockGroupInfo } from "@virtual-node/provider-mock";
import type { ControlPlaneHandle } from "@virtual-node/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Provider, ResolvedPod } from "@virtual-node/core";
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

const DRIVER = "example.csi.k8s.io";

describe("persistent volumes (real control plane, Node identity)", () => {
  const nodeName = uniqueName("vn-pvc");
  const namespace = uniqueName("pvc");
  const cloud = new MockCloud();
  const received = new Map<string, ResolvedPod>();
  const volumes: string[] = [];
  let cp: ControlPlaneHandle;
  let api: Apis;
  let running: RunningNode;
  let asNode: CoreV1Api;

  /** The mock provider, recording every ResolvedPod core hands it (Secret bytes included). */
  function recordingProvider(): Provider {
    const inner = createMockProvider({ cloud });
    return {
      ...inner,
      createPod: async (pod, options) => {
        received.set(pod.ref.name, pod);
        await inner.createPod(pod, options);
      },
    };
  }

  const persistentVolume = (name: string, claimName: string): V1PersistentVolume => ({
    metadata: { name },
    spec: {
      capacity: { storage: "1Gi" },
      accessModes: ["ReadWriteMany"],
      persistentVolumeReclaimPolicy: "Retain",
      storageClassName: "",
      claimRef: { namespace, name: claimName },
      csi: {
        driver: DRIVER,
        volumeHandle: `handle-${name}`,
        volumeAttributes: { share: "team-a", tier: "premium" },
        nodePublishSecretRef: { name: "csi-creds", namespace },
      },
    },
  });

  async function createVolume(name: string, claimName: string): Promise<void> {
    volumes.push(name);
    await api.core.createPersistentVolume({ body: persistentVolume(name, claimName) });
  }

  async function createClaim(name: string, volumeName: string): Promise<void> {
    await api.core.createNamespacedPersistentVolumeClaim({
      namespace,
      body: {
        metadata: { name },
        spec: {
          accessModes: ["ReadWriteMany"],
          storageClassName: "",
          volumeName,
          resources: { requests: { storage: "1Gi" } },
        },
      },
    });
  }

  async function events(podName: string): Promise<{ reason: string; message: string; type: string }[]> {
    const list = await api.core.listNamespacedEvent({
      namespace,
      fieldSelector: `involvedObject.name=${podName}`,
    });
    return list.items.map((e) => ({ reason: e.reason ?? "", message: e.message ?? "", type: e.type ?? "" }));
  }

  const group = async (name: string): Promise<MockGroupInfo> =>
    waitFor(`provider received ${name}`, async () => cloud.getGroup(namespace, name));

  beforeAll(async () => {
    cp = await controlPlane();
    api = apis(cp.kubeConfig);
    await createNamespace(api, namespace);
    await api.core.createNamespacedSecret({
      namespace,
      body: { metadata: { name: "csi-creds" }, stringData: { username: "svc", password: "pv-s3cret" } },
    });
    const identity = await cp.nodeIdentity(nodeName);
    asNode = identity.kubeConfig.makeApiClient(CoreV1Api);
    running = await startNode(identity.kubeConfig, nodeName, recordingProvider(), {
      volumePollIntervalMs: 300,
    });
  });

  afterAll(async () => {
    await running.stop();
    for (const name of volumes) await api.core.deletePersistentVolume({ name }).catch(() => undefined);
  });

  it("hands a pod on a bound claim its CSI PersistentVolume, with the node-publish Secret", async () => {
    const pvName = uniqueName("pv-bound");
    await createVolume(pvName, "data");
    await createClaim("data", pvName);
    await waitFor("claim bound", async () => {
      const pvc = await api.core.readNamespacedPersistentVolumeClaim({ name: "data", namespace });
      return pvc.status?.phase === "Bound";
    });
    const name = "bound";
    await api.core.createNamespacedPod({
      namespace,
      body: {
        metadata: { name },
        spec: podSpecFor(nodeName, {
          volumes: [{ name: "data", persistentVolumeClaim: { claimName: "data", readOnly: true } }],
          containers: [
            {
              name: "app",
              image: "registry.example/app:1",
              volumeMounts: [{ name: "data", mountPath: "/data" }],
            },
          ],
        }),
      },
    });
    await waitFor("pod ready", async () => isReady(await api.core.readNamespacedPod({ name, namespace })));
    const pv = received.get(name)?.volumes.find((v) => v.name === "data")?.persistentVolume;
    expect(pv).toMatchObject({
      claimName: "data",
      volumeName: pvName,
      readOnly: true,
      accessModes: ["ReadWriteMany"],
      capacity: "1Gi",
      volumeMode: "Filesystem",
      csi: {
        driver: DRIVER,
        volumeHandle: `handle-${pvName}`,
        volumeAttributes: { share: "team-a", tier: "premium" },
        nodePublishSecret: { name: "csi-creds", namespace },
      },
    });
    const secret = pv?.csi?.nodePublishSecret?.data;
    expect(Buffer.from(secret?.password ?? new Uint8Array()).toString()).toBe("pv-s3cret");
    // The mock cloud holds the Secret by reference only.
    const mounted = (await group(name)).spec.volumes.find((v) => v.name === "data");
    expect(mounted?.persistentVolume?.csi?.nodePublishSecret).toEqual({
      name: "csi-creds",
      namespace,
      keys: ["password", "username"],
    });
    expect(JSON.stringify(mounted)).not.toContain("pv-s3cret");
  });

  it("keeps a pod on a missing, then unbound claim Pending with Events, and starts it when the claim binds", async () => {
    const name = "waits";
    const pvName = uniqueName("pv-late");
    // Bound to the node directly: the scheduler would not place a pod on an unbound immediate claim.
    await api.core.createNamespacedPod({
      namespace,
      body: {
        metadata: { name },
        spec: {
          ...podSpecFor(nodeName, {
            volumes: [{ name: "data", persistentVolumeClaim: { claimName: "later" } }],
          }),
          nodeName,
        },
      },
    });
    const waiting = await waitFor("pod waiting on the missing claim", async () => {
      const pod = await api.core.readNamespacedPod({ name, namespace });
      const state = pod.status?.containerStatuses?.[0]?.state?.waiting;
      return pod.status?.phase === "Pending" && state?.message?.includes('"later" not found') === true
        ? state
        : undefined;
    });
    expect(waiting.reason).toBe("ContainerCreating");
    const notFound = await waitFor("PersistentVolumeClaimNotFound event", async () =>
      (await events(name)).find((e) => e.reason === "PersistentVolumeClaimNotFound"),
    );
    expect(notFound).toMatchObject({ type: "Warning" });
    expect(notFound.message).toContain(`PVC ${namespace}/later`);
    expect(received.has(name)).toBe(false);

    // The claim appears, pre-bound to a PV that does not exist yet: phase Pending.
    await createClaim("later", pvName);
    const notBound = await waitFor("PersistentVolumeClaimNotBound event", async () =>
      (await events(name)).find((e) => e.reason === "PersistentVolumeClaimNotBound"),
    );
    expect(notBound.message).toContain(`PVC ${namespace}/later: PVC is not bound`);
    const pending = await api.core.readNamespacedPod({ name, namespace });
    expect(pending.status?.phase).toBe("Pending");
    expect(received.has(name)).toBe(false);

    // The PV appears; the PV controller binds the pair and the pod starts.
    await createVolume(pvName, "later");
    await waitFor(
      "pod ready after the claim binds",
      async () => isReady(await api.core.readNamespacedPod({ name, namespace })),
      { timeoutMs: 90_000 },
    );
    expect(received.get(name)?.volumes[0]?.persistentVolume).toMatchObject({
      claimName: "later",
      volumeName: pvName,
      readOnly: false,
      csi: { driver: DRIVER, volumeHandle: `handle-${pvName}` },
    });
  });

  it("keeps a running pod on its volume while the claim is being deleted, and still hands it file updates", async () => {
    const pvName = uniqueName("pv-kept");
    await createVolume(pvName, "kept");
    await createClaim("kept", pvName);
    await api.core.createNamespacedConfigMap({
      namespace,
      body: { metadata: { name: "conf" }, data: { "app.conf": "v1" } },
    });
    const name = "kept";
    await api.core.createNamespacedPod({
      namespace,
      body: {
        metadata: { name },
        spec: podSpecFor(nodeName, {
          volumes: [
            { name: "data", persistentVolumeClaim: { claimName: "kept" } },
            { name: "conf", configMap: { name: "conf" } },
          ],
        }),
      },
    });
    await waitFor("pod ready", async () => isReady(await api.core.readNamespacedPod({ name, namespace })), {
      timeoutMs: 90_000,
    });
    // In use: the pvc-protection finalizer keeps the claim, terminating, until the pod is gone.
    await api.core.deleteNamespacedPersistentVolumeClaim({ name: "kept", namespace });
    await waitFor("claim terminating", async () => {
      const pvc = await api.core.readNamespacedPersistentVolumeClaim({ name: "kept", namespace });
      return pvc.metadata?.deletionTimestamp !== undefined;
    });
    await api.core.replaceNamespacedConfigMap({
      name: "conf",
      namespace,
      body: { metadata: { name: "conf" }, data: { "app.conf": "v2" } },
    });
    const updated = await waitFor(
      "provider sees v2",
      async () => {
        const g = await group(name);
        const file = g.spec.volumes.find((v) => v.name === "conf")?.files.find((f) => f.path === "app.conf");
        return file !== undefined && Buffer.from(file.base64, "base64").toString() === "v2" ? g : undefined;
      },
      { timeoutMs: 30_000 },
    );
    expect(updated.spec.volumes.find((v) => v.name === "data")?.persistentVolume?.volumeName).toBe(pvName);
    expect(isReady(await api.core.readNamespacedPod({ name, namespace }))).toBe(true);
    expect((await events(name)).map((e) => e.reason)).not.toContain("PersistentVolumeClaimTerminating");
  });

  it("lets the Node identity get exactly the claims, PVs and Secrets of its pods, and list or watch none", async () => {
    const status = async (call: () => Promise<unknown>): Promise<number> =>
      call().then(
        () => 200,
        (e: unknown) => (e as { code?: number }).code ?? 0,
      );
    // Referenced by the pods of the tests above (run in order): readable.
    const bound = await asNode.readNamespacedPersistentVolumeClaim({ name: "data", namespace });
    const pvName = bound.spec?.volumeName ?? "";
    expect(await status(() => asNode.readPersistentVolume({ name: pvName }))).toBe(200);
    expect(await status(() => asNode.readNamespacedSecret({ name: "csi-creds", namespace }))).toBe(200);
    // Not referenced by any pod of this node: refused.
    const strayPv = uniqueName("pv-stray");
    await createVolume(strayPv, "stray");
    await createClaim("stray", strayPv);
    expect(await status(() => asNode.readNamespacedPersistentVolumeClaim({ name: "stray", namespace }))).toBe(
      403,
    );
    expect(await status(() => asNode.readPersistentVolume({ name: strayPv }))).toBe(403);
    // No list (so no watch) of claims or PVs, not even of one object by name.
    expect(await status(() => asNode.listNamespacedPersistentVolumeClaim({ namespace }))).toBe(403);
    expect(
      await status(() => asNode.listPersistentVolume({ fieldSelector: `metadata.name=${pvName}` })),
    ).toBe(403);
  });
});
