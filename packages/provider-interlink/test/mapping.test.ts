import { makeResolvedPod } from "@virtual-node/testing/conformance";
import { describe, expect, it } from "vitest";
import { envSecretName, toCreateRequest, wirePodRef } from "../src/index.js";

describe("toCreateRequest (ResolvedPod → PodCreateRequests)", () => {
  it("puts each volume kind where interLink's plugins look for it", () => {
    const pod = makeResolvedPod({
      nodeName: "vn",
      volumes: ["configMap", "secret", "projected", "downwardAPI", "emptyDir"],
    });
    const body = toCreateRequest(pod, { nodeName: "vn", jobScriptBuilderURL: "http://builder:8080/build" });
    expect(body.configmaps.map((c) => c.metadata.name)).toEqual(["vol-configmap"]);
    expect(body.secrets.map((s) => [s.metadata.name, Object.keys(s.data ?? {})])).toEqual([
      ["vol-secret", ["password"]],
    ]);
    expect(body.projectedvolumesmaps.map((c) => [c.metadata.name, c.data])).toEqual([
      ["vol-projected", { "config.txt": "hello from projected\n" }],
      ["vol-downwardapi", { labels: 'app="conformance"\n' }],
    ]);
    // downwardAPI volumes reach the plugin as projected ones, as interLink's VK sends them.
    const dapi = body.pod.spec?.volumes?.find((v) => v.name === "vol-downwardapi");
    expect(dapi?.downwardAPI).toBeUndefined();
    expect(dapi?.projected?.sources?.[0]?.downwardAPI).toBeDefined();
    expect(body.jobscriptURL).toBe("http://builder:8080/build");
    expect(body.pod.metadata?.annotations).toMatchObject({
      "virtual-node-uid": pod.ref.uid,
      "virtual-node-node": "vn",
    });
    expect(body.pod.status).toBeUndefined();
  });

  it("binary ConfigMap files go to binaryData", () => {
    const pod = makeResolvedPod({ nodeName: "vn", volumes: ["configMap"] });
    const file = pod.volumes[0]?.files[0];
    if (file) file.content = new Uint8Array([0xff, 0xfe, 0x00]);
    const body = toCreateRequest(pod, { nodeName: "vn" });
    expect(body.configmaps[0]?.binaryData).toEqual({ "config.txt": "//4A" });
    expect(body.configmaps[0]?.data).toEqual({});
  });

  it("env: plain values inline, envFrom dropped (core resolved it), Secret values by reference", () => {
    const pod = makeResolvedPod({ nodeName: "vn", env: { PLAIN: "1" } });
    const spec = pod.pod.spec?.containers[0];
    if (spec) spec.envFrom = [{ configMapRef: { name: "cfg" } }];
    pod.containers[0]?.env.push({ name: "TOKEN", value: "x$(Y)", secret: true, source: { kind: "value" } });
    const body = toCreateRequest(pod, { nodeName: "vn" });
    const c = body.pod.spec?.containers[0];
    expect(c?.envFrom).toBeUndefined();
    expect(c?.env).toEqual([
      { name: "PLAIN", value: "1" },
      { name: "TOKEN", valueFrom: { secretKeyRef: { name: envSecretName(pod), key: "main.TOKEN" } } },
    ]);
    expect(envSecretName(pod)).toMatch(/^vn-env-[a-z0-9-]+$/);
    expect(envSecretName(pod).length).toBeLessThanOrEqual(63);
  });

  it("rejects a pod without containers naming the field", () => {
    const pod = makeResolvedPod({ nodeName: "vn" });
    if (pod.pod.spec) pod.pod.spec.containers = [];
    expect(() => toCreateRequest(pod, { nodeName: "vn" })).toThrow(
      expect.objectContaining({ field: "spec.containers" }) as Error,
    );
  });

  it("wirePodRef carries the job ID, the phase hint and the grace period", () => {
    expect(
      wirePodRef(
        { namespace: "a", name: "b", uid: "c" },
        { jobId: "7", phase: "Running", gracePeriodSeconds: 30 },
      ),
    ).toEqual({
      apiVersion: "v1",
      kind: "Pod",
      metadata: {
        name: "b",
        namespace: "a",
        uid: "c",
        annotations: { JobID: "7" },
        deletionGracePeriodSeconds: 30,
      },
      status: { phase: "Running" },
    });
  });
});
