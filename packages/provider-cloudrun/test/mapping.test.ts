import { errorCode } from "@virtual-node/core";
import type { ResolvedPod, ResolvedVolume } from "@virtual-node/core";
import { makeResolvedPod } from "@virtual-node/testing/conformance";
import { describe, expect, it } from "vitest";
import { cloudRunId, mapPod, planSecrets, resourceKindFor, specResource } from "../src/mapping.js";
import type { MappingOptions, SecretVersions } from "../src/mapping.js";
import { loadRunDiscovery, loadRunProtos, validateValue } from "./simulator/schema.js";

const options: MappingOptions = {
  onFailureMaxRetries: 3,
  defaultJobTimeoutSeconds: 86_400,
  secrets: "mirror",
  serviceIngress: "INGRESS_TRAFFIC_INTERNAL_ONLY",
  gpuType: "nvidia-l4",
};

type Spec = NonNullable<ResolvedPod["pod"]["spec"]>;

function pod(
  restartPolicy: "Always" | "OnFailure" | "Never",
  edit: (spec: Spec, resolved: ResolvedPod) => void = () => undefined,
): ResolvedPod {
  const p = makeResolvedPod({
    namespace: "team-a",
    name: "worker",
    uid: "0b7c1c5e-1111-4a9e-9d1f-2a6f9e3c0001",
    restartPolicy,
    nodeName: "vn-1",
  });
  const spec = p.pod.spec;
  if (spec === undefined) throw new Error("no spec");
  edit(spec, p);
  return p;
}

/** Every version a mapping needs, as AddSecretVersion would name them. */
function versionsFor(p: ResolvedPod): SecretVersions {
  return new Map(
    planSecrets(p, options).map((m) => [
      m.secretId,
      m.payloads.map((_, i) => `projects/p1/secrets/${m.secretId}/versions/${i + 1}`),
    ]),
  );
}

const discovery = loadRunDiscovery();
const runProtos = loadRunProtos();
/** Services are the opt-in for pods that declare a port. */
const serviceOptions: MappingOptions = { ...options, longRunning: "service" };

/** The mapped object must be valid for the discovery schema (what the simulator will check too). */
function expectValid(schema: string, value: unknown): void {
  const out: { path: string; message: string }[] = [];
  // The client library turns `{ seconds }` Durations into "Ns"; do the same for the check.
  const json = JSON.parse(
    JSON.stringify(value, (_k, v: unknown) =>
      v !== null && typeof v === "object" && "seconds" in v && Object.keys(v).length === 1
        ? `${String((v as { seconds: number }).seconds)}s`
        : v,
    ),
  ) as unknown;
  const set = schema.startsWith("google.") ? runProtos : discovery;
  validateValue(set, { $ref: schema }, json, "body", out, { enumInt: false });
  expect(out).toEqual([]);
}

/** A pod whose main container declares `containerPort`. */
function ported(restartPolicy: "Always" | "OnFailure" | "Never", port = 8080): ResolvedPod {
  return pod(restartPolicy, (s) => {
    const c = s.containers[0];
    if (c !== undefined) c.ports = [{ containerPort: port }];
  });
}

function rejects(p: ResolvedPod, field: string | RegExp, opts: MappingOptions = options): void {
  let error: unknown;
  try {
    mapPod(p, opts, versionsFor(p));
  } catch (e) {
    error = e;
  }
  expect(errorCode(error), String(error)).toBe("VN_UNSUPPORTED");
  expect((error as { field?: string }).field).toMatch(field);
}

describe("resource choice", () => {
  it.each([
    ["Never", false, undefined, "job"],
    ["OnFailure", false, undefined, "job"],
    ["Always", false, undefined, "workerPool"],
    ["Always", true, undefined, "workerPool"],
    ["Always", true, "workerPool", "workerPool"],
    ["Always", false, "service", "workerPool"],
    ["Always", true, "service", "service"],
    ["Never", true, "service", "job"],
    ["Always", false, "instance", "instance"],
    ["OnFailure", false, "instance", "job"],
  ] as const)(
    "restartPolicy %s, port declared %s, longRunning %s → %s",
    (policy, withPort, longRunning, kind) => {
      const p = withPort ? ported(policy) : pod(policy);
      expect(resourceKindFor(p, longRunning)).toBe(kind);
      const opts = longRunning === undefined ? options : { ...options, longRunning };
      expect(mapPod(p, opts).kind).toBe(kind);
    },
  );
});

describe("worker pools", () => {
  it("one manual instance, no ports sent, probes mapped; valid for the WorkerPool proto", () => {
    const spec = mapPod(
      pod("Always", (s) => {
        const c = s.containers[0];
        if (c === undefined) return;
        c.ports = [{ containerPort: 8080 }];
        c.startupProbe = { tcpSocket: { port: 8080 }, periodSeconds: 2 };
      }),
      { ...options, serviceAccount: "run@p1.iam.gserviceaccount.com", vpc: { network: "default" } },
    );
    if (spec.kind !== "workerPool") throw new Error("worker pool expected");
    expect(spec.id).toMatch(/^[a-z][a-z0-9-]{0,47}[a-z0-9]$/);
    expect(spec.workerPool.scaling).toEqual({ manualInstanceCount: 1 });
    const t = spec.workerPool.template;
    expect(t?.serviceAccount).toBe("run@p1.iam.gserviceaccount.com");
    expect(t?.vpcAccess).toEqual({
      egress: "PRIVATE_RANGES_ONLY",
      networkInterfaces: [{ network: "default" }],
    });
    const c = t?.containers?.[0];
    expect(c?.ports).toBeUndefined();
    expect(c?.resources).toEqual({ limits: { cpu: "1", memory: "512Mi" } });
    expect(c?.startupProbe).toEqual({ periodSeconds: 2, tcpSocket: { port: 8080 } });
    expect(spec.workerPool.labels).toMatchObject({ "virtual-node-node": "vn-1" });
    expect(spec.workerPool.annotations).toMatchObject({ "virtual-node-shape": "1 vCPU / 512Mi" });
    expectValid("google.cloud.run.v2.WorkerPool", spec.workerPool);
  });

  it("launchStage is sent only when set (preview features)", () => {
    const plain = mapPod(pod("Always"), options);
    expect(plain.kind === "workerPool" && plain.workerPool.launchStage).toBe(undefined);
    const beta = mapPod(pod("Always"), { ...options, launchStage: "BETA" });
    if (beta.kind !== "workerPool") throw new Error("worker pool expected");
    expect(beta.workerPool.launchStage).toBe("BETA");
    expectValid("google.cloud.run.v2.WorkerPool", beta.workerPool);
    const instance = mapPod(pod("Always"), { ...options, longRunning: "instance", launchStage: "ALPHA" });
    if (instance.kind !== "instance") throw new Error("instance expected");
    expect(instance.instance.launchStage).toBe("ALPHA");
    expectValid("google.cloud.run.v2.Instance", instance.instance);
  });

  it("a GPU worker pool gets the accelerator node selector; NFS volumes need no execution environment", () => {
    const p = pod("Always", (s) => {
      const c = s.containers[0];
      if (c !== undefined) c.resources = { limits: { "nvidia.com/gpu": "1" } };
    });
    const spec = mapPod(p, { ...options, gpuType: "nvidia-rtx-pro-6000" });
    if (spec.kind !== "workerPool") throw new Error("worker pool expected");
    expect(spec.workerPool.template?.nodeSelector).toEqual({ accelerator: "nvidia-rtx-pro-6000" });
    expectValid("google.cloud.run.v2.WorkerPool", spec.workerPool);
  });
});

describe("instances (longRunning: instance)", () => {
  it("containers, ports and ingress at the top level; valid for the Instance proto", () => {
    const spec = mapPod(ported("Always"), { ...options, longRunning: "instance" });
    if (spec.kind !== "instance") throw new Error("instance expected");
    expect(spec.instance.containers?.[0]?.ports).toEqual([{ containerPort: 8080 }]);
    expect(spec.instance.ingress).toBe("INGRESS_TRAFFIC_INTERNAL_ONLY");
    expect(spec.instance.annotations).toMatchObject({ "virtual-node-shape": "1 vCPU / 512Mi" });
    expectValid("google.cloud.run.v2.Instance", spec.instance);
  });
});

describe("names and labels", () => {
  it("names are deterministic, valid and differ by UID", () => {
    const a = pod("Never");
    const id = cloudRunId(a.ref, "job");
    expect(id).toMatch(/^[a-z][a-z0-9-]{0,55}[a-z0-9]$/);
    expect(cloudRunId(a.ref, "job")).toBe(id);
    expect(cloudRunId({ ...a.ref, uid: "other" }, "job")).not.toBe(id);
    const long = { namespace: "n".repeat(63), name: "x".repeat(253), uid: "u" };
    expect(cloudRunId(long, "service").length).toBeLessThan(50);
    expect(cloudRunId(long, "job").length).toBeLessThanOrEqual(57);
  });

  it("labels carry namespace, name, UID and node; annotations the full marks and shape", () => {
    const spec = mapPod(pod("Never"), { ...options, labels: { team: "a" } });
    if (spec.kind !== "job") throw new Error("job expected");
    expect(spec.job.labels).toEqual({
      team: "a",
      "virtual-node-namespace": "team-a",
      "virtual-node-pod": "worker",
      "virtual-node-uid": "0b7c1c5e-1111-4a9e-9d1f-2a6f9e3c0001",
      "virtual-node-node": "vn-1",
    });
    expect(spec.job.annotations).toMatchObject({
      "virtual-node-uid": "0b7c1c5e-1111-4a9e-9d1f-2a6f9e3c0001",
      "virtual-node-shape": "1 vCPU / 512Mi",
    });
    expect(spec.job.annotations).not.toHaveProperty("virtual-node-ignored-pull-secrets");
  });

  it("records the pod's imagePullSecrets as not used (Cloud Run pulls with the service account), never their content", () => {
    const p = pod("Never");
    if (p.pod.spec) p.pod.spec.imagePullSecrets = [{ name: "regcred" }];
    p.imagePullSecrets = [
      { server: "reg.example.com", username: "u", password: "pull-pw-1", secretName: "regcred" },
    ];
    const spec = mapPod(p, options);
    if (spec.kind !== "job") throw new Error("job expected");
    expect(spec.job.annotations?.["virtual-node-ignored-pull-secrets"]).toBe("regcred");
    expect(JSON.stringify(spec)).not.toContain("pull-pw-1");
  });
});

describe("jobs", () => {
  it("Never: taskCount 1, maxRetries 0, timeout from activeDeadlineSeconds; valid for the discovery schema", () => {
    const spec = mapPod(
      pod("Never", (s) => {
        s.activeDeadlineSeconds = 120;
        const c = s.containers[0];
        if (c !== undefined) c.workingDir = "/work";
      }),
      options,
    );
    if (spec.kind !== "job") throw new Error("job expected");
    expect(spec.job.template).toMatchObject({
      taskCount: 1,
      parallelism: 1,
      template: { maxRetries: 0, timeout: { seconds: 120 } },
    });
    expect(spec.job.template?.template?.containers?.[0]).toMatchObject({
      name: "main",
      image: "busybox:1.36",
      command: ["sh", "-c", "sleep 86400"],
      workingDir: "/work",
      resources: { limits: { cpu: "1", memory: "512Mi" } },
    });
    expectValid("GoogleCloudRunV2Job", spec.job);
  });

  it("OnFailure: the configured retries; no deadline → the default timeout, never Cloud Run's 600 s", () => {
    const spec = mapPod(pod("OnFailure"), { ...options, onFailureMaxRetries: 5 });
    if (spec.kind !== "job") throw new Error("job expected");
    expect(spec.job.template?.template).toMatchObject({ maxRetries: 5, timeout: { seconds: 86_400 } });
  });

  it("rejects probes and GPUs on jobs", () => {
    rejects(
      pod("Never", (s) => {
        const c = s.containers[0];
        if (c !== undefined) c.livenessProbe = { httpGet: { path: "/", port: 8080 } };
      }),
      "spec.containers[0].livenessProbe",
    );
    rejects(
      pod("Never", (s) => {
        const c = s.containers[0];
        if (c !== undefined) c.resources = { limits: { "nvidia.com/gpu": "1" } };
      }),
      "spec.containers[].resources",
    );
  });
});

describe("services", () => {
  it("one always-on instance, CPU always allocated, port and probes mapped; valid for the discovery schema", () => {
    const spec = mapPod(
      pod("Always", (s) => {
        const c = s.containers[0];
        if (c === undefined) return;
        c.ports = [{ containerPort: 8080 }];
        c.startupProbe = { tcpSocket: { port: 8080 }, periodSeconds: 2 };
        c.livenessProbe = { httpGet: { path: "/healthz", port: 8080 } };
      }),
      serviceOptions,
    );
    if (spec.kind !== "service") throw new Error("service expected");
    expect(spec.service.template?.scaling).toEqual({ minInstanceCount: 1, maxInstanceCount: 1 });
    expect(spec.service.ingress).toBe("INGRESS_TRAFFIC_INTERNAL_ONLY");
    const c = spec.service.template?.containers?.[0];
    expect(c?.ports).toEqual([{ containerPort: 8080 }]);
    expect(c?.resources?.cpuIdle).toBe(false);
    expect(c?.startupProbe).toEqual({ periodSeconds: 2, tcpSocket: { port: 8080 } });
    expect(c?.livenessProbe).toEqual({ httpGet: { path: "/healthz", port: 8080 } });
    expectValid("GoogleCloudRunV2Service", spec.service);
  });

  it("sidecars start first (dependsOn); several ported containers are rejected", () => {
    const withSidecar = pod("Always", (s, r) => {
      s.initContainers = [{ name: "proxy", image: "envoy", restartPolicy: "Always" }];
      r.initContainers = [{ name: "proxy", env: [], command: undefined, args: undefined }];
    });
    const pool = mapPod(withSidecar, options);
    if (pool.kind !== "workerPool") throw new Error("worker pool expected");
    expect(pool.workerPool.template?.containers?.map((c) => [c.name, c.dependsOn])).toEqual([
      ["proxy", undefined],
      ["main", ["proxy"]],
    ]);
    const spec = mapPod(withSidecar, serviceOptions);
    if (spec.kind !== "workerPool") throw new Error("no port: a worker pool even when services are allowed");
    expect(spec.workerPool.template?.containers?.map((c) => [c.name, c.dependsOn])).toEqual([
      ["proxy", undefined],
      ["main", ["proxy"]],
    ]);
    rejects(
      pod("Always", (s, r) => {
        s.containers.push({ name: "b", image: "x", ports: [{ containerPort: 81 }] });
        r.containers.push({ name: "b", env: [], command: undefined, args: undefined });
        const c = s.containers[0];
        if (c !== undefined) c.ports = [{ containerPort: 80 }];
      }),
      "spec.containers[1].ports",
      serviceOptions,
    );
  });

  it("rejects run-to-completion init containers, readiness probes, exec probes and more than 10 containers", () => {
    rejects(
      pod("Always", (s, r) => {
        s.initContainers = [{ name: "init", image: "busybox" }];
        r.initContainers = [{ name: "init", env: [], command: undefined, args: undefined }];
      }),
      "spec.initContainers[0]",
    );
    rejects(
      pod("Always", (s) => {
        const c = s.containers[0];
        if (c !== undefined) c.readinessProbe = { httpGet: { port: 80 } };
      }),
      "spec.containers[0].readinessProbe",
    );
    rejects(
      pod("Always", (s) => {
        const c = s.containers[0];
        if (c !== undefined) c.startupProbe = { exec: { command: ["true"] } };
      }),
      "spec.containers[0].startupProbe",
    );
    rejects(
      pod("Always", (s, r) => {
        for (let i = 0; i < 10; i++) {
          s.containers.push({ name: `c${i}`, image: "x" });
          r.containers.push({ name: `c${i}`, env: [], command: undefined, args: undefined });
        }
      }),
      "spec.containers",
    );
  });
});

describe("resources fitted to Cloud Run sizes", () => {
  const withResources = (requests: Record<string, string>, limits: Record<string, string> = {}) =>
    pod("Always", (s) => {
      const c = s.containers[0];
      if (c !== undefined) c.resources = { requests, limits };
    });
  it.each([
    [{ cpu: "250m", memory: "128Mi" }, {}, "1", "512Mi"],
    [{ cpu: "1500m", memory: "3Gi" }, {}, "2", "3Gi"],
    [{ cpu: "1", memory: "10Gi" }, {}, "4", "10Gi"],
    [{ cpu: "3" }, { memory: "1Gi" }, "4", "2Gi"],
  ])("%o / %o → cpu %s, memory %s", (requests, limits, cpu, memory) => {
    const spec = mapPod(withResources(requests, limits), options);
    if (spec.kind !== "workerPool") throw new Error("worker pool expected");
    expect(spec.workerPool.template?.containers?.[0]?.resources?.limits).toEqual({ cpu, memory });
  });
  it("a GPU pod gets an L4, at least 4 vCPU / 16 GiB", () => {
    const spec = mapPod(withResources({}, { "nvidia.com/gpu": "1" }), options);
    if (spec.kind !== "workerPool") throw new Error("worker pool expected");
    expect(spec.workerPool.template?.containers?.[0]?.resources?.limits).toEqual({
      cpu: "4",
      memory: "16Gi",
      "nvidia.com/gpu": "1",
    });
    expect(spec.workerPool.template?.nodeSelector).toEqual({ accelerator: "nvidia-l4" });
  });
  it("too large for Cloud Run: rejected with the reason", () => {
    rejects(withResources({ cpu: "16" }), "spec.containers[].resources");
  });
});

describe("secrets", () => {
  const secretEnv = (p: ResolvedPod) => {
    p.containers[0]?.env.push({
      name: "DB_PASSWORD",
      value: "s3cr3t",
      secret: true,
      source: { kind: "secret", name: "db", key: "password" },
    });
  };
  it("Secret env → a Secret Manager reference (value mirrored, never inlined)", () => {
    const p = pod("Never", (_s, r) => {
      secretEnv(r);
    });
    const mirrors = planSecrets(p, options);
    expect(mirrors).toHaveLength(1);
    expect(new TextDecoder().decode(mirrors[0]?.payloads[0])).toBe("s3cr3t");
    const spec = mapPod(p, options, versionsFor(p));
    expect(JSON.stringify(specResource(spec))).not.toContain("s3cr3t");
    if (spec.kind !== "job") throw new Error("job expected");
    expect(spec.job.template?.template?.containers?.[0]?.env).toEqual([
      { name: "DB_PASSWORD", valueSource: { secretKeyRef: { secret: mirrors[0]?.secretId, version: "1" } } },
    ]);
  });
  it("without mirroring, Secret env and file volumes are rejected with the field", () => {
    const reject: MappingOptions = { ...options, secrets: "reject" };
    rejects(
      pod("Never", (_s, r) => {
        secretEnv(r);
      }),
      "spec.containers[0].env",
      reject,
    );
    const withVolume = makeResolvedPod({ volumes: ["secret"], restartPolicy: "Never" });
    rejects(withVolume, "spec.volumes[0].secret", reject);
  });
  it("Secret and ConfigMap volumes → one secret each, one version per file", () => {
    const p = makeResolvedPod({ volumes: ["secret", "configMap"], restartPolicy: "Never", nodeName: "vn-1" });
    const spec = mapPod(p, options, versionsFor(p));
    if (spec.kind !== "job") throw new Error("job expected");
    const volumes = spec.job.template?.template?.volumes ?? [];
    expect(volumes.map((v) => [v.name, v.secret?.items])).toEqual([
      ["vol-secret", [{ path: "password", version: "1", mode: 0o644 }]],
      ["vol-configmap", [{ path: "config.txt", version: "1", mode: 0o644 }]],
    ]);
    expectValid("GoogleCloudRunV2Job", spec.job);
  });
});

describe("volumes", () => {
  const pvc = (persistentVolume: ResolvedVolume["persistentVolume"]): ResolvedVolume => ({
    name: "data",
    kind: "persistentVolumeClaim",
    files: [],
    ...(persistentVolume === undefined ? {} : { persistentVolume }),
  });
  const base = {
    claimName: "c",
    volumeName: "pv",
    readOnly: false,
    accessModes: ["ReadWriteMany"],
    volumeMode: "Filesystem",
  };
  it.each([
    [
      "in-tree nfs",
      pvc({ ...base, nfs: { server: "10.0.0.2", path: "/exports" } }),
      { nfs: { server: "10.0.0.2", path: "/exports", readOnly: false } },
    ],
    [
      "Filestore CSI",
      pvc({
        ...base,
        csi: {
          driver: "filestore.csi.storage.gke.io",
          volumeHandle: "modeInstance/us-central1-a/fs1/vol1",
          volumeAttributes: { ip: "10.0.0.3", volume: "vol1" },
        },
      }),
      { nfs: { server: "10.0.0.3", path: "/vol1", readOnly: false } },
    ],
    [
      "Cloud Storage FUSE CSI",
      pvc({
        ...base,
        readOnly: true,
        csi: { driver: "gcsfuse.csi.storage.gke.io", volumeHandle: "my-bucket", volumeAttributes: {} },
      }),
      { gcs: { bucket: "my-bucket", readOnly: true } },
    ],
    [
      "emptyDir",
      { name: "data", kind: "emptyDir", files: [], emptyDir: { sizeLimit: "64Mi" } },
      { emptyDir: { medium: "MEMORY", sizeLimit: "64Mi" } },
    ],
  ] as const)("%s", (_title, volume, expected) => {
    const p = makeResolvedPod({ volumes: [volume as ResolvedVolume], restartPolicy: "Always" });
    const pool = mapPod(p, options);
    if (pool.kind !== "workerPool") throw new Error("worker pool expected");
    expect(pool.workerPool.template?.volumes?.[0]).toEqual({ name: "data", ...expected });
    expectValid("google.cloud.run.v2.WorkerPool", pool.workerPool);
    const c = p.pod.spec?.containers[0];
    if (c !== undefined) c.ports = [{ containerPort: 8080 }];
    const spec = mapPod(p, serviceOptions);
    if (spec.kind !== "service") throw new Error("service expected");
    expect(spec.service.template?.volumes?.[0]).toEqual({ name: "data", ...expected });
    if ("nfs" in expected || "gcs" in expected)
      expect(spec.service.template?.executionEnvironment).toBe("EXECUTION_ENVIRONMENT_GEN2");
    expectValid("GoogleCloudRunV2Service", spec.service);
  });
  it("other PVs, hostPath and subPath mounts are rejected with the field", () => {
    rejects(
      makeResolvedPod({
        volumes: [
          pvc({
            ...base,
            csi: { driver: "pd.csi.storage.gke.io", volumeHandle: "disk", volumeAttributes: {} },
          }),
        ],
      }),
      "spec.volumes[0].persistentVolumeClaim",
    );
    rejects(
      makeResolvedPod({ volumes: [{ name: "h", kind: "hostPath", files: [] }] }),
      "spec.volumes[0].hostPath",
    );
    rejects(
      pod("Always", (s, r) => {
        s.volumes = [{ name: "e", emptyDir: {} }];
        r.volumes = [{ name: "e", kind: "emptyDir", files: [], emptyDir: {} }];
        const c = s.containers[0];
        if (c !== undefined) c.volumeMounts = [{ name: "e", mountPath: "/e", subPath: "x" }];
      }),
      "spec.containers[0].volumeMounts",
    );
  });
});
