/**
 * Pod configuration like the kubelet, against the real control plane, with the agent running as the
 * Node identity `system:node:<name>` (which may read only what its own pods reference).
 */
import { AuthenticationV1Api, PatchStrategy, setHeaderOptions } from "@kubernetes/client-node";
import { MockCloud, createMockProvider, type MockGroupInfo } from "@virtual-node/provider-mock";
import type { ControlPlaneHandle } from "@virtual-node/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
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

const fileText = (group: MockGroupInfo, volume: string, path: string): string | undefined => {
  const file = group.spec.volumes.find((v) => v.name === volume)?.files.find((f) => f.path === path);
  return file === undefined ? undefined : Buffer.from(file.base64, "base64").toString("utf8");
};

describe("pod configuration (real control plane, Node identity)", () => {
  const nodeName = uniqueName("vn-config");
  const namespace = uniqueName("config");
  const cloud = new MockCloud();
  let cp: ControlPlaneHandle;
  let api: Apis;
  let running: RunningNode;

  const group = async (name: string): Promise<MockGroupInfo> =>
    waitFor(`provider received ${name}`, async () => cloud.getGroup(namespace, name));

  beforeAll(async () => {
    cp = await controlPlane();
    api = apis(cp.kubeConfig);
    await createNamespace(api, namespace);
    const identity = await cp.nodeIdentity(nodeName);
    running = await startNode(identity.kubeConfig, nodeName, createMockProvider({ cloud }));
  });

  afterAll(async () => {
    await running.stop();
  });

  it("resolves every env source, with provenance, including podIP, hostIP and resourceFieldRef", async () => {
    await api.core.createNamespacedConfigMap({
      namespace,
      body: { metadata: { name: "settings" }, data: { MODE: "fast", "1BAD": "x", LEVEL: "3" } },
    });
    await api.core.createNamespacedSecret({
      namespace,
      body: { metadata: { name: "creds" }, stringData: { password: "s3cret" } },
    });
    const name = "env";
    await api.core.createNamespacedPod({
      namespace,
      body: {
        metadata: { name, labels: { tier: "web" }, annotations: { owner: "ops" } },
        spec: podSpecFor(nodeName, {
          containers: [
            {
              name: "app",
              image: "registry.example/app:1",
              resources: { limits: { cpu: "500m", memory: "256Mi" } },
              envFrom: [
                { prefix: "CFG_", configMapRef: { name: "settings" } },
                { configMapRef: { name: "settings" } },
              ],
              env: [
                { name: "GREETING", value: "hello" },
                { name: "MESSAGE", value: "$(GREETING) from $(MY_POD_NAME), $$(NOT_EXPANDED)" },
                { name: "MY_POD_NAME", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } },
                { name: "AFTER", value: "$(MY_POD_NAME)" },
                { name: "MY_NAMESPACE", valueFrom: { fieldRef: { fieldPath: "metadata.namespace" } } },
                { name: "MY_UID", valueFrom: { fieldRef: { fieldPath: "metadata.uid" } } },
                { name: "MY_TIER", valueFrom: { fieldRef: { fieldPath: "metadata.labels['tier']" } } },
                { name: "MY_OWNER", valueFrom: { fieldRef: { fieldPath: "metadata.annotations['owner']" } } },
                { name: "MY_NODE", valueFrom: { fieldRef: { fieldPath: "spec.nodeName" } } },
                { name: "MY_SA", valueFrom: { fieldRef: { fieldPath: "spec.serviceAccountName" } } },
                { name: "MY_HOST_IP", valueFrom: { fieldRef: { fieldPath: "status.hostIP" } } },
                { name: "MY_POD_IP", valueFrom: { fieldRef: { fieldPath: "status.podIP" } } },
                {
                  name: "CPU_MILLIS",
                  valueFrom: { resourceFieldRef: { resource: "limits.cpu", divisor: "1m" } },
                },
                {
                  name: "MEM_MI",
                  valueFrom: { resourceFieldRef: { resource: "limits.memory", divisor: "1Mi" } },
                },
                { name: "MODE", valueFrom: { configMapKeyRef: { name: "settings", key: "MODE" } } },
                { name: "PASSWORD", valueFrom: { secretKeyRef: { name: "creds", key: "password" } } },
                { name: "WITH_SECRET", value: "pw=$(PASSWORD)" },
              ],
            },
          ],
        }),
      },
    });
    const pod = await waitFor("pod ready", async () => {
      const p = await api.core.readNamespacedPod({ name, namespace });
      return isReady(p) ? p : undefined;
    });
    const env = Object.fromEntries((await group(name)).spec.containers[0]?.env.map((e) => [e.name, e]) ?? []);
    const value = (k: string) => env[k]?.value;
    expect(value("CFG_MODE")).toBe("fast");
    expect(value("CFG_LEVEL")).toBe("3");
    expect(value("CFG_1BAD")).toBe("x");
    expect(env["1BAD"]).toBeUndefined(); // invalid name skipped (with an Event)
    expect(value("LEVEL")).toBe("3");
    expect(value("MESSAGE")).toBe("hello from $(MY_POD_NAME), $(NOT_EXPANDED)"); // defined later: not expanded
    expect(value("AFTER")).toBe(name);
    expect(value("MY_NAMESPACE")).toBe(namespace);
    expect(value("MY_UID")).toBe(pod.metadata?.uid);
    expect(value("MY_TIER")).toBe("web");
    expect(value("MY_OWNER")).toBe("ops");
    expect(value("MY_NODE")).toBe(nodeName);
    expect(value("MY_SA")).toBe("default");
    expect(value("MY_HOST_IP")).toBe("127.0.0.1");
    // The mock pre-allocates pod IPs: the env value is the IP the pod really got.
    expect(value("MY_POD_IP")).toBe(pod.status?.podIP);
    expect(value("CPU_MILLIS")).toBe("500");
    expect(value("MEM_MI")).toBe("256");
    expect(value("MODE")).toBe("fast");
    expect(env.PASSWORD).toMatchObject({ value: "s3cret", secret: true });
    expect(env.WITH_SECRET).toMatchObject({ value: "pw=s3cret", secret: true });
    expect(env.MODE?.secret).toBe(false);
    await waitFor("InvalidEnvironmentVariableNames event", async () => {
      const list = await api.core.listNamespacedEvent({
        namespace,
        fieldSelector: `involvedObject.name=${name}`,
      });
      return list.items.some((e) => e.reason === "InvalidEnvironmentVariableNames");
    });
  });

  it("mounts a ConfigMap volume and hands edits to the provider", async () => {
    await api.core.createNamespacedConfigMap({
      namespace,
      body: { metadata: { name: "files" }, data: { "app.conf": "v1" } },
    });
    const name = "files";
    await api.core.createNamespacedPod({
      namespace,
      body: {
        metadata: { name },
        spec: podSpecFor(nodeName, {
          volumes: [{ name: "conf", configMap: { name: "files" } }],
          containers: [{ name: "app", image: "x", volumeMounts: [{ name: "conf", mountPath: "/etc/app" }] }],
        }),
      },
    });
    await waitFor("pod ready", async () => isReady(await api.core.readNamespacedPod({ name, namespace })));
    expect(fileText(await group(name), "conf", "app.conf")).toBe("v1");
    await api.core.replaceNamespacedConfigMap({
      name: "files",
      namespace,
      body: { metadata: { name: "files" }, data: { "app.conf": "v2" } },
    });
    await waitFor("provider sees v2", async () => fileText(await group(name), "conf", "app.conf") === "v2", {
      timeoutMs: 30_000,
    });
    const updated = await group(name);
    expect(updated.updates).toBeGreaterThanOrEqual(1);
    // Env stays as started; the pod keeps running.
    expect(isReady(await api.core.readNamespacedPod({ name, namespace }))).toBe(true);
  });

  it("rewrites downward-API files when the pod's labels or annotations change", async () => {
    const name = "downward";
    await api.core.createNamespacedPod({
      namespace,
      body: {
        metadata: { name, labels: { tier: "blue" } },
        spec: podSpecFor(nodeName, {
          volumes: [
            {
              name: "info",
              downwardAPI: {
                items: [
                  { path: "labels", fieldRef: { fieldPath: "metadata.labels" } },
                  { path: "tier", fieldRef: { fieldPath: "metadata.labels['tier']" } },
                ],
              },
            },
          ],
          containers: [{ name: "app", image: "x", volumeMounts: [{ name: "info", mountPath: "/etc/info" }] }],
        }),
      },
    });
    await waitFor("pod ready", async () => isReady(await api.core.readNamespacedPod({ name, namespace })));
    expect(fileText(await group(name), "info", "tier")).toBe("blue");
    await api.core.patchNamespacedPod(
      { name, namespace, body: { metadata: { labels: { tier: "green" } } } },
      setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
    );
    await waitFor(
      "provider sees the new label",
      async () => fileText(await group(name), "info", "tier") === "green",
      {
        timeoutMs: 30_000,
      },
    );
    expect(fileText(await group(name), "info", "labels")?.split("\n")).toContain('tier="green"');
  });

  it("waits with CreateContainerConfigError for a missing Secret, then starts by itself once it exists", async () => {
    const name = "needs-secret";
    await api.core.createNamespacedPod({
      namespace,
      body: {
        metadata: { name },
        spec: podSpecFor(nodeName, {
          containers: [
            {
              name: "app",
              image: "x",
              env: [{ name: "TOKEN", valueFrom: { secretKeyRef: { name: "late", key: "token" } } }],
            },
          ],
        }),
      },
    });
    const waiting = await waitFor("CreateContainerConfigError", async () => {
      const p = await api.core.readNamespacedPod({ name, namespace });
      const w = p.status?.containerStatuses?.[0]?.state?.waiting;
      return w?.reason === "CreateContainerConfigError" ? { pod: p, waiting: w } : undefined;
    });
    expect(waiting.pod.status?.phase).toBe("Pending");
    expect(waiting.waiting.message).toContain("late");
    const event = await waitFor("MandatorySecretNotFound event", async () => {
      const list = await api.core.listNamespacedEvent({
        namespace,
        fieldSelector: `involvedObject.name=${name}`,
      });
      return list.items.find((e) => e.reason === "MandatorySecretNotFound");
    });
    expect(event.type).toBe("Warning");
    expect(event.message).toContain("late");
    expect(await cloud.getGroup(namespace, name)).toBeUndefined();

    await api.core.createNamespacedSecret({
      namespace,
      body: { metadata: { name: "late" }, stringData: { token: "t0k" } },
    });
    await waitFor("pod ready", async () => isReady(await api.core.readNamespacedPod({ name, namespace })), {
      timeoutMs: 20_000,
    });
    const env = (await group(name)).spec.containers[0]?.env.find((e) => e.name === "TOKEN");
    expect(env).toMatchObject({ value: "t0k", secret: true });
  });

  it("projects a bound service-account token (the default kube-api-access volume) that the API server accepts", async () => {
    const name = "token";
    await api.core.createNamespacedPod({
      namespace,
      body: { metadata: { name }, spec: podSpecFor(nodeName) },
    });
    const pod = await waitFor("pod ready", async () => {
      const p = await api.core.readNamespacedPod({ name, namespace });
      return isReady(p) ? p : undefined;
    });
    const volume = pod.spec?.volumes?.find((v) => v.name.startsWith("kube-api-access-"));
    expect(volume, "ServiceAccount admission injected kube-api-access").toBeDefined();
    const g = await group(name);
    const token = fileText(g, volume?.name ?? "", "token");
    expect(token).toMatch(/^eyJ/);
    expect(fileText(g, volume?.name ?? "", "ca.crt")).toContain("BEGIN CERTIFICATE");
    expect(fileText(g, volume?.name ?? "", "namespace")).toBe(namespace);
    const review = await cp.kubeConfig.makeApiClient(AuthenticationV1Api).createTokenReview({
      body: { spec: { token: token ?? "" } },
    });
    expect(review.status?.authenticated).toBe(true);
    expect(review.status?.user?.username).toBe(`system:serviceaccount:${namespace}:default`);
    expect(review.status?.user?.extra?.["authentication.kubernetes.io/pod-name"]).toEqual([name]);
  });
});
