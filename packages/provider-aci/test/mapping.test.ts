import { errorCode } from "@virtual-node/core";
import type { ResolvedPod, InvalidInputError, UnsupportedError } from "@virtual-node/core";
import { describe, expect, it } from "vitest";
import { AciAnnotations, AciTags, containerGroupName, toContainerGroup } from "../src/index.js";
import type { MappingOptions } from "../src/index.js";
import { SwaggerValidator } from "./simulator/swagger.js";
import { file, resolvedPod } from "./pods.js";

const OPTIONS: MappingOptions = { nodeName: "vn-aci", location: "westeurope", osType: "Linux" };
const validator = new SwaggerValidator();

/** The body as the SDK would send it is validated in the simulator tests; here the shape of the model. */
function map(pod: ResolvedPod, options: Partial<MappingOptions> = {}) {
  return toContainerGroup(pod, { ...OPTIONS, ...options });
}

function rejects(
  pod: ResolvedPod,
  field: string,
  code: "VN_INVALID_INPUT" | "VN_UNSUPPORTED",
  options: Partial<MappingOptions> = {},
) {
  let error: unknown;
  try {
    map(pod, options);
  } catch (e) {
    error = e;
  }
  expect(errorCode(error), String(error)).toBe(code);
  expect((error as InvalidInputError | UnsupportedError).field).toBe(field);
}

const basic = { containers: [{ name: "main", image: "nginx:1.27" }] };

describe("names and ownership", () => {
  it("uses the kit's hashed name: valid for ACI, deterministic by UID, different for a new UID", () => {
    const long = resolvedPod(basic, { name: "a".repeat(200), namespace: "Team.Payments" });
    const name = containerGroupName(long.ref);
    expect(name.length).toBeLessThanOrEqual(63);
    expect(name).toMatch(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
    expect(containerGroupName(long.ref)).toBe(name);
    expect(containerGroupName({ ...long.ref, uid: "another" })).not.toBe(name);
  });
  it("tags the group with namespace, name, UID, node, shape and files digest", () => {
    const { group } = map(resolvedPod(basic));
    expect(group.tags).toMatchObject({
      "virtual-node-namespace": "default",
      "virtual-node-pod": "web",
      "virtual-node-uid": "0b7f3c1e-8d2a-4c55-9a1e-2f6d7c8b9a01",
      "virtual-node-node": "vn-aci",
    });
    expect(group.tags?.[AciTags.shape]).toBe("0.5/0.5");
  });
});

describe("containers", () => {
  const cases: {
    title: string;
    container: Record<string, unknown>;
    annotations?: Record<string, string>;
    expected: unknown;
  }[] = [
    {
      title: "command + args → one exec-form command",
      container: { command: ["sh", "-c"], args: ["echo hi"] },
      expected: ["sh", "-c", "echo hi"],
    },
    { title: "command only", container: { command: ["sleep", "10"] }, expected: ["sleep", "10"] },
    { title: "neither → image default", container: {}, expected: undefined },
    {
      title: "args only + entrypoint annotation → entrypoint + args",
      container: { args: ["-g", "daemon off;"] },
      annotations: { [`${AciAnnotations.entrypointPrefix}main`]: '["nginx"]' },
      expected: ["nginx", "-g", "daemon off;"],
    },
  ];
  for (const c of cases) {
    it(c.title, () => {
      const { group } = map(
        resolvedPod(
          { containers: [{ name: "main", image: "nginx", ...c.container }] },
          { annotations: c.annotations ?? {} },
        ),
      );
      expect(group.containers[0]?.command).toEqual(c.expected);
    });
  }
  it("rejects args without command or entrypoint, naming the field", () => {
    rejects(
      resolvedPod({ containers: [{ name: "main", image: "nginx", args: ["x"] }] }),
      "spec.containers[0].args",
      "VN_INVALID_INPUT",
    );
  });
  it("sends Secret-sourced env as secureValue and plain env as value", () => {
    const pod = resolvedPod(
      { containers: [{ name: "main", image: "nginx", env: [{ name: "MODE", value: "prod" }] }] },
      { secretEnv: { main: { TOKEN: "hunter2" } } },
    );
    const env = map(pod).group.containers[0]?.environmentVariables;
    expect(env).toEqual([
      { name: "MODE", value: "prod" },
      { name: "TOKEN", secureValue: "hunter2" },
    ]);
  });
  it("maps TCP/UDP ports and exposes them on a public IP without a subnet, private with one", () => {
    const pod = resolvedPod({
      containers: [
        {
          name: "main",
          image: "nginx",
          ports: [{ containerPort: 80 }, { containerPort: 53, protocol: "UDP" }],
        },
      ],
    });
    expect(map(pod).group.ipAddress).toEqual({
      type: "Public",
      ports: [
        { port: 80, protocol: "TCP" },
        { port: 53, protocol: "UDP" },
      ],
    });
    const subnet =
      "/subscriptions/s/resourceGroups/r/providers/Microsoft.Network/virtualNetworks/v/subnets/aci";
    const priv = map(pod, { subnetIds: [subnet] }).group;
    expect(priv.ipAddress?.type).toBe("Private");
    expect(priv.subnetIds).toEqual([{ id: subnet }]);
    rejects(
      resolvedPod({
        containers: [{ name: "main", image: "nginx", ports: [{ containerPort: 1, protocol: "SCTP" }] }],
      }),
      "spec.containers[0].ports[0].protocol",
      "VN_UNSUPPORTED",
    );
  });
  it("puts a DNS name label on a public IP", () => {
    const pod = resolvedPod(
      { containers: [{ name: "main", image: "nginx", ports: [{ containerPort: 80 }] }] },
      { annotations: { [AciAnnotations.dnsNameLabel]: "myapp" } },
    );
    expect(map(pod).group.ipAddress).toMatchObject({ type: "Public", dnsNameLabel: "myapp" });
  });
});

describe("resources, shapes and GPU", () => {
  const table: {
    title: string;
    resources: Record<string, Record<string, string>>;
    shape: string;
    requests: unknown;
    limits?: unknown;
  }[] = [
    {
      title: "no requests → smallest shape",
      resources: {},
      shape: "0.5/0.5",
      requests: { cpu: 0.5, memoryInGB: 0.5 },
    },
    {
      title: "250m / 300Mi → 0.5 / 0.5",
      resources: { requests: { cpu: "250m", memory: "300Mi" } },
      shape: "0.5/0.5",
      requests: { cpu: 0.5, memoryInGB: 0.5 },
    },
    {
      title: "1 / 1.5Gi → 1 / 1.5",
      resources: { requests: { cpu: "1", memory: "1536Mi" } },
      shape: "1/1.5",
      requests: { cpu: 1, memoryInGB: 1.5 },
    },
    {
      title: "limits above requests: group sized by the max, limits kept within it",
      resources: { requests: { cpu: "500m", memory: "1Gi" }, limits: { cpu: "2", memory: "2Gi" } },
      shape: "2/2",
      requests: { cpu: 2, memoryInGB: 2 },
      limits: { cpu: 2, memoryInGB: 2 },
    },
  ];
  for (const row of table) {
    it(row.title, () => {
      const mapped = map(
        resolvedPod({ containers: [{ name: "main", image: "nginx", resources: row.resources }] }),
      );
      expect(mapped.shape.name).toBe(row.shape);
      expect(mapped.group.containers[0]?.resources.requests).toEqual(row.requests);
      if (row.limits !== undefined) expect(mapped.group.containers[0]?.resources.limits).toEqual(row.limits);
    });
  }
  it("splits the shape across containers so the group total is the shape", () => {
    const mapped = map(
      resolvedPod({
        containers: [
          { name: "app", image: "a", resources: { requests: { cpu: "1", memory: "1Gi" } } },
          { name: "side", image: "b", resources: { requests: { cpu: "200m", memory: "256Mi" } } },
        ],
      }),
    );
    const [app, side] = mapped.group.containers;
    expect(side?.resources.requests).toEqual({ cpu: 0.2, memoryInGB: 0.3 });
    expect((app?.resources.requests.cpu ?? 0) + (side?.resources.requests.cpu ?? 0)).toBeCloseTo(
      mapped.shape.cpu,
    );
  });
  it("rejects a pod bigger than any ACI group", () => {
    rejects(
      resolvedPod({ containers: [{ name: "main", image: "x", resources: { requests: { cpu: "64" } } }] }),
      "spec.containers[].resources",
      "VN_INVALID_INPUT",
    );
  });
  it("maps nvidia.com/gpu to a GPU request with the SKU from the annotation or the option", () => {
    const gpuPod = (annotations: Record<string, string> = {}) =>
      resolvedPod(
        { containers: [{ name: "main", image: "cuda", resources: { limits: { "nvidia.com/gpu": "2" } } }] },
        { annotations },
      );
    expect(map(gpuPod()).group.containers[0]?.resources.requests.gpu).toEqual({ count: 2, sku: "V100" });
    expect(map(gpuPod(), { gpuSku: "K80" }).group.containers[0]?.resources.requests.gpu).toEqual({
      count: 2,
      sku: "K80",
    });
    expect(
      map(gpuPod({ [AciAnnotations.gpuSku]: "P100" })).group.containers[0]?.resources.requests.gpu,
    ).toEqual({ count: 2, sku: "P100" });
    rejects(
      gpuPod({ [AciAnnotations.gpuSku]: "H100" }),
      `metadata.annotations[${AciAnnotations.gpuSku}]`,
      "VN_INVALID_INPUT",
    );
  });
});

describe("probes and securityContext", () => {
  it("maps exec and httpGet probes (named ports resolved) and rejects tcpSocket", () => {
    const pod = resolvedPod({
      containers: [
        {
          name: "main",
          image: "nginx",
          ports: [{ name: "http", containerPort: 8080 }],
          livenessProbe: {
            httpGet: { path: "/healthz", port: "http", scheme: "HTTPS" },
            periodSeconds: 5,
            failureThreshold: 3,
          },
          readinessProbe: { exec: { command: ["cat", "/ready"] }, initialDelaySeconds: 2 },
        },
      ],
    });
    const c = map(pod).group.containers[0];
    expect(c?.livenessProbe).toEqual({
      httpGet: { path: "/healthz", port: 8080, scheme: "https" },
      periodSeconds: 5,
      failureThreshold: 3,
    });
    expect(c?.readinessProbe).toEqual({ exec: { command: ["cat", "/ready"] }, initialDelaySeconds: 2 });
    rejects(
      resolvedPod({ containers: [{ name: "main", image: "x", livenessProbe: { tcpSocket: { port: 80 } } }] }),
      "spec.containers[0].livenessProbe.tcpSocket",
      "VN_UNSUPPORTED",
    );
  });
  it("maps the securityContext fields ACI has and rejects the rest by name", () => {
    const pod = resolvedPod({
      securityContext: { runAsUser: 1000 },
      containers: [
        {
          name: "main",
          image: "x",
          securityContext: {
            privileged: true,
            runAsGroup: 3000,
            capabilities: { add: ["NET_ADMIN"] },
            seccompProfile: { type: "RuntimeDefault" },
          },
        },
      ],
    });
    expect(map(pod).group.containers[0]?.securityContext).toEqual({
      privileged: true,
      capabilities: { add: ["NET_ADMIN"] },
      runAsUser: 1000,
      runAsGroup: 3000,
    });
    rejects(
      resolvedPod({
        containers: [{ name: "main", image: "x", securityContext: { readOnlyRootFilesystem: true } }],
      }),
      "spec.containers[0].securityContext.readOnlyRootFilesystem",
      "VN_UNSUPPORTED",
    );
    rejects(
      resolvedPod({ securityContext: { fsGroup: 2000 }, containers: [{ name: "main", image: "x" }] }),
      "spec.securityContext.fsGroup",
      "VN_UNSUPPORTED",
    );
    rejects(
      resolvedPod({ containers: [{ name: "main", image: "x", securityContext: { runAsNonRoot: true } }] }),
      "spec.containers[0].securityContext.runAsNonRoot",
      "VN_UNSUPPORTED",
    );
  });
});

describe("group-level fields", () => {
  it("maps init containers, restart policy, identity, Spot, confidential SKU and DNS", () => {
    const pod = resolvedPod(
      {
        restartPolicy: "Never",
        initContainers: [{ name: "init", image: "busybox", command: ["sh", "-c", "echo init"] }],
        containers: [{ name: "main", image: "nginx" }],
        dnsPolicy: "None",
        dnsConfig: {
          nameservers: ["10.0.0.10"],
          searches: ["default.svc.cluster.local", "svc.cluster.local"],
          options: [{ name: "ndots", value: "5" }],
        },
      },
      {
        annotations: {
          [AciAnnotations.identity]:
            "/subscriptions/s/resourceGroups/r/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id1",
          [AciAnnotations.priority]: "Spot",
          [AciAnnotations.sku]: "Confidential",
          [AciAnnotations.ccePolicy]: "cG9saWN5",
        },
      },
    );
    const { group } = map(pod);
    expect(group.restartPolicy).toBe("Never");
    expect(group.initContainers).toEqual([
      {
        name: "init",
        image: "busybox",
        command: ["sh", "-c", "echo init"],
        environmentVariables: [],
        volumeMounts: undefined,
        securityContext: undefined,
      },
    ]);
    expect(group.identity).toEqual({
      type: "UserAssigned",
      userAssignedIdentities: {
        "/subscriptions/s/resourceGroups/r/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id1":
          {},
      },
    });
    expect(group.priority).toBe("Spot");
    expect(group.sku).toBe("Confidential");
    expect(group.confidentialComputeProperties).toEqual({ ccePolicy: "cG9saWN5" });
    expect(group.dnsConfig).toEqual({
      nameServers: ["10.0.0.10"],
      searchDomains: "default.svc.cluster.local svc.cluster.local",
      options: "ndots:5",
    });
  });
  it("turns the pull-secret logins core resolved into registry credentials (password: ACI's secret field)", () => {
    const pod = resolvedPod({
      imagePullSecrets: [{ name: "acr" }, { name: "hub" }],
      containers: [{ name: "main", image: "myacr.azurecr.io/app:1" }],
    });
    pod.imagePullSecrets = [
      { server: "myacr.azurecr.io", username: "user", password: "p4ss", secretName: "acr" },
      { server: "https://index.docker.io/v1/", username: "bob", password: "hub-pass", secretName: "hub" },
      { server: "myacr.azurecr.io", username: "other", password: "ignored", secretName: "hub" },
    ];
    expect(map(pod).group.imageRegistryCredentials).toEqual([
      { server: "myacr.azurecr.io", username: "user", password: "p4ss" },
      { server: "index.docker.io", username: "bob", password: "hub-pass" },
    ]);
    // Without logins (no pull secrets, or core could not read them) the group has none.
    expect(
      map(resolvedPod({ containers: [{ name: "main", image: "nginx" }] })).group.imageRegistryCredentials,
    ).toBeUndefined();
  });
});

describe("volumes", () => {
  it("maps emptyDir, Secret/ConfigMap files to ACI secret volumes (one per directory) and gitRepo", () => {
    const pod = resolvedPod(
      {
        volumes: [
          { name: "scratch", emptyDir: {} },
          {
            name: "cfg",
            configMap: {
              name: "cfg",
              items: [
                { key: "a", path: "conf/app.yaml" },
                { key: "b", path: "b.txt" },
              ],
            },
          },
          { name: "src", gitRepo: { repository: "https://github.com/x/y", revision: "main" } },
        ],
        containers: [
          {
            name: "main",
            image: "nginx",
            volumeMounts: [
              { name: "scratch", mountPath: "/tmp/s" },
              { name: "cfg", mountPath: "/etc/cfg", readOnly: true },
              { name: "src", mountPath: "/src" },
            ],
          },
        ],
      },
      {
        volumes: [
          { name: "scratch", kind: "emptyDir", files: [], emptyDir: {} },
          { name: "cfg", kind: "configMap", files: [file("conf/app.yaml", "x: 1\n"), file("b.txt", "bee")] },
          { name: "src", kind: "gitRepo", files: [] },
        ],
      },
    );
    const { group } = map(pod);
    const cfgSub = group.volumes?.find((v) => v.name.startsWith("cfg-"));
    expect(group.volumes).toEqual([
      { name: "scratch", emptyDir: {} },
      { name: cfgSub?.name, secret: { "app.yaml": Buffer.from("x: 1\n").toString("base64") } },
      { name: "cfg", secret: { "b.txt": Buffer.from("bee").toString("base64") } },
      { name: "src", gitRepo: { repository: "https://github.com/x/y", revision: "main" } },
    ]);
    expect(group.containers[0]?.volumeMounts).toEqual([
      { name: "scratch", mountPath: "/tmp/s" },
      { name: cfgSub?.name, mountPath: "/etc/cfg/conf", readOnly: true },
      { name: "cfg", mountPath: "/etc/cfg", readOnly: true },
      { name: "src", mountPath: "/src" },
    ]);
  });
  it("rejects subPath mounts naming the field", () => {
    const pod = resolvedPod(
      {
        volumes: [{ name: "v", emptyDir: {} }],
        containers: [
          { name: "main", image: "x", volumeMounts: [{ name: "v", mountPath: "/a", subPath: "b" }] },
        ],
      },
      { volumes: [{ name: "v", kind: "emptyDir", files: [] }] },
    );
    rejects(pod, "spec.containers[0].volumeMounts[0].subPath", "VN_UNSUPPORTED");
  });
  const secret = (data: Record<string, string>) => ({
    name: "azure-secret",
    namespace: "default",
    data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, new TextEncoder().encode(v)])),
  });
  const pvcPod = (pv: NonNullable<ResolvedPod["volumes"][number]["persistentVolume"]>) =>
    resolvedPod(
      {
        volumes: [{ name: "data", persistentVolumeClaim: { claimName: "data" } }],
        containers: [{ name: "main", image: "x", volumeMounts: [{ name: "data", mountPath: "/data" }] }],
      },
      { volumes: [{ name: "data", kind: "persistentVolumeClaim", files: [], persistentVolume: pv }] },
    );
  const pvBase = {
    claimName: "data",
    volumeName: "pv-data",
    readOnly: false,
    accessModes: ["ReadWriteMany"],
    volumeMode: "Filesystem",
  };
  it("maps a file.csi.azure.com PV to an Azure Files volume with the key from its Secret", () => {
    const pod = pvcPod({
      ...pvBase,
      csi: {
        driver: "file.csi.azure.com",
        volumeHandle: "rg#acct1#share1#",
        volumeAttributes: {},
        nodeStageSecret: secret({ azurestorageaccountname: "acct1", azurestorageaccountkey: "S3CRET==" }),
      },
    });
    expect(map(pod).group.volumes).toEqual([
      {
        name: "data",
        azureFile: { shareName: "share1", storageAccountName: "acct1", storageAccountKey: "S3CRET==" },
      },
    ]);
  });
  it("maps an in-tree azureFile PV, read-only", () => {
    const pod = pvcPod({
      ...pvBase,
      readOnly: true,
      azureFile: {
        shareName: "logs",
        secret: secret({ azurestorageaccountname: "acct2", azurestorageaccountkey: "K" }),
      },
    });
    expect(map(pod).group.volumes).toEqual([
      {
        name: "data",
        azureFile: { shareName: "logs", storageAccountName: "acct2", storageAccountKey: "K", readOnly: true },
      },
    ]);
  });
  it("rejects other PV sources and a PV without a key, naming the volume", () => {
    rejects(
      pvcPod({ ...pvBase, nfs: { server: "n", path: "/" } }),
      "spec.volumes[0].persistentVolumeClaim",
      "VN_UNSUPPORTED",
    );
    rejects(
      pvcPod({ ...pvBase, csi: { driver: "disk.csi.azure.com", volumeHandle: "x", volumeAttributes: {} } }),
      "spec.volumes[0].persistentVolumeClaim",
      "VN_UNSUPPORTED",
    );
    rejects(
      pvcPod({
        ...pvBase,
        csi: { driver: "file.csi.azure.com", volumeHandle: "rg#a#s", volumeAttributes: {} },
      }),
      "spec.volumes[0].persistentVolumeClaim",
      "VN_INVALID_INPUT",
    );
  });
});

describe("swagger shape", () => {
  it("every mapped group's fields are members the swagger knows", () => {
    const pod = resolvedPod(
      {
        containers: [
          {
            name: "main",
            image: "nginx",
            ports: [{ containerPort: 80 }],
            livenessProbe: { exec: { command: ["true"] } },
          },
        ],
      },
      { secretEnv: { main: { K: "v" } } },
    );
    const { group } = map(pod);
    // The SDK flattens `properties`; rebuild the wire shape the same way for the check.
    const { location, tags, identity, ...props } = group;
    const wire = {
      location,
      tags,
      ...(identity ? { identity } : {}),
      properties: {
        ...props,
        containers: group.containers.map(({ name, ...p }) => ({
          name,
          properties: JSON.parse(JSON.stringify(p)) as unknown,
        })),
      },
    };
    expect(validator.validate("ContainerGroup", JSON.parse(JSON.stringify(wire)))).toEqual([]);
  });
});
