import { describe, expect, it } from "vitest";
import { ConfigError, UnsupportedError } from "../../src/errors.js";
import type { PersistentVolume, PersistentVolumeClaim, Pod, Secret, Volume } from "../../src/kube/types.js";
import type { ResolvedVolume } from "../../src/pod-config.js";
import { ConfigReasons, containerWaitingReason, resolvePodConfig } from "../../src/config/resolve.js";
import type { ResolvePodConfigResult } from "../../src/config/resolve.js";
import { createInMemoryConfigSource } from "../../src/config/source.js";
import type { ConfigSource, InMemoryConfigSourceData } from "../../src/config/source.js";

const NS = "apps";
const b64 = (text: string): string => Buffer.from(text).toString("base64");
const text = (bytes: Uint8Array | undefined): string =>
  Buffer.from(bytes ?? new Uint8Array()).toString("utf8");

function podWith(volumes: Volume[]): Pod {
  return {
    metadata: { name: "web-0", namespace: NS, uid: "pod-uid" },
    spec: { containers: [{ name: "app", image: "busybox" }], volumes },
  };
}

const claimVolume = (claimName: string, readOnly?: boolean): Volume => ({
  name: "data",
  persistentVolumeClaim: { claimName, ...(readOnly === undefined ? {} : { readOnly }) },
});

function claim(
  name: string,
  status: "Bound" | "Pending" | "Lost",
  volumeName?: string,
): PersistentVolumeClaim {
  return {
    metadata: { name, namespace: NS, uid: `uid-${name}` },
    spec: {
      accessModes: ["ReadWriteMany"],
      resources: { requests: { storage: "5Gi" } },
      ...(volumeName === undefined ? {} : { volumeName }),
      storageClassName: "",
    },
    status: { phase: status, ...(status === "Bound" ? { accessModes: ["ReadWriteMany"] } : {}) },
  };
}

function pv(
  name: string,
  claimName: string | undefined,
  source: NonNullable<PersistentVolume["spec"]>,
): PersistentVolume {
  return {
    metadata: { name },
    spec: {
      accessModes: ["ReadWriteMany"],
      capacity: { storage: "10Gi" },
      storageClassName: "files",
      ...(claimName === undefined
        ? {}
        : {
            claimRef: {
              kind: "PersistentVolumeClaim",
              namespace: NS,
              name: claimName,
              uid: `uid-${claimName}`,
            },
          }),
      ...source,
    },
  };
}

function secret(namespace: string, name: string, data: Record<string, string>): Secret {
  return {
    metadata: { name, namespace },
    data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, b64(v)])),
  };
}

function data(
  claims: PersistentVolumeClaim[],
  volumes: PersistentVolume[],
  secrets: Secret[] = [],
): InMemoryConfigSourceData {
  return {
    persistentVolumeClaims: Object.fromEntries(claims.map((c) => [`${NS}/${c.metadata?.name ?? ""}`, c])),
    persistentVolumes: Object.fromEntries(volumes.map((v) => [v.metadata?.name ?? "", v])),
    secrets: Object.fromEntries(
      secrets.map((s) => [`${s.metadata?.namespace ?? ""}/${s.metadata?.name ?? ""}`, s]),
    ),
  };
}

async function resolveWith(pod: Pod, source: ConfigSource): Promise<ResolvePodConfigResult> {
  return resolvePodConfig(pod, {
    source,
    nodeName: "vn-1",
    hostIP: "10.0.0.1",
    signal: new AbortController().signal,
    now: new Date("2030-01-01T00:00:00Z"),
  });
}

const resolve = (pod: Pod, d: InMemoryConfigSourceData) => resolveWith(pod, createInMemoryConfigSource(d));

async function failure(pod: Pod, d: InMemoryConfigSourceData): Promise<unknown> {
  return resolve(pod, d).then(
    () => {
      throw new Error("expected resolution to fail");
    },
    (e: unknown) => e,
  );
}

function only(result: ResolvePodConfigResult): ResolvedVolume {
  const v = result.resolved.volumes[0];
  if (!v) throw new Error("no volume");
  return v;
}

const csiSource = (secretRef?: {
  name: string;
  namespace: string;
}): NonNullable<PersistentVolume["spec"]> => ({
  csi: {
    driver: "example.csi.k8s.io",
    volumeHandle: "vol-123",
    volumeAttributes: { share: "team-a", tier: "premium" },
    fsType: "ext4",
    ...(secretRef === undefined ? {} : { nodePublishSecretRef: secretRef, nodeStageSecretRef: secretRef }),
  },
});

describe("persistentVolumeClaim volumes", () => {
  it("resolves a bound claim to its CSI PersistentVolume with the node-publish and node-stage Secrets", async () => {
    const creds = secret("storage", "csi-creds", { username: "u", password: "p4ss" });
    const result = await resolve(
      podWith([claimVolume("shared")]),
      data(
        [claim("shared", "Bound", "pv-shared")],
        [pv("pv-shared", "shared", csiSource({ name: "csi-creds", namespace: "storage" }))],
        [creds],
      ),
    );
    const v = only(result);
    expect(v).toMatchObject({ name: "data", kind: "persistentVolumeClaim", files: [] });
    const resolved = v.persistentVolume;
    expect(resolved).toMatchObject({
      claimName: "shared",
      volumeName: "pv-shared",
      readOnly: false,
      accessModes: ["ReadWriteMany"],
      capacity: "10Gi",
      storageClassName: "files",
      volumeMode: "Filesystem",
      csi: {
        driver: "example.csi.k8s.io",
        volumeHandle: "vol-123",
        volumeAttributes: { share: "team-a", tier: "premium" },
        fsType: "ext4",
      },
    });
    expect(resolved?.nfs).toBeUndefined();
    expect(resolved?.azureFile).toBeUndefined();
    const publish = resolved?.csi?.nodePublishSecret;
    expect(publish).toMatchObject({ name: "csi-creds", namespace: "storage" });
    expect(text(publish?.data.password)).toBe("p4ss");
    expect(text(resolved?.csi?.nodeStageSecret?.data.username)).toBe("u");
    // The Secret lives in another namespace: not one of the pod's own references.
    expect(result.references.secrets.size).toBe(0);
  });

  it("is read-only when the pod's volume says so or when the PV source does", async () => {
    const bound = [claim("shared", "Bound", "pv-shared")];
    const byPod = await resolve(
      podWith([claimVolume("shared", true)]),
      data(bound, [pv("pv-shared", "shared", csiSource())]),
    );
    expect(only(byPod).persistentVolume?.readOnly).toBe(true);
    const readOnlyNfs = pv("pv-shared", "shared", {
      nfs: { server: "10.0.0.5", path: "/exports/a", readOnly: true },
    });
    const bySource = await resolve(podWith([claimVolume("shared", false)]), data(bound, [readOnlyNfs]));
    expect(only(bySource).persistentVolume).toMatchObject({
      readOnly: true,
      nfs: { server: "10.0.0.5", path: "/exports/a" },
    });
    const writable = pv("pv-shared", "shared", { nfs: { server: "10.0.0.5", path: "/exports/a" } });
    const neither = await resolve(podWith([claimVolume("shared")]), data(bound, [writable]));
    expect(only(neither).persistentVolume?.readOnly).toBe(false);
  });

  it("resolves in-tree azureFile with its Secret from the claim's namespace, or from secretNamespace", async () => {
    const key = { azurestorageaccountname: "acct", azurestorageaccountkey: "k3y" };
    const bound = [claim("files", "Bound", "pv-files")];
    const local = await resolve(
      podWith([claimVolume("files")]),
      data(
        bound,
        [pv("pv-files", "files", { azureFile: { secretName: "azure", shareName: "share-1" } })],
        [secret(NS, "azure", key)],
      ),
    );
    const azure = only(local).persistentVolume?.azureFile;
    expect(azure).toMatchObject({ shareName: "share-1", secret: { name: "azure", namespace: NS } });
    expect(text(azure?.secret.data.azurestorageaccountkey)).toBe("k3y");
    expect(local.references.secrets).toEqual(new Set(["azure"]));

    const elsewhere = await resolve(
      podWith([claimVolume("files")]),
      data(
        bound,
        [
          pv("pv-files", "files", {
            azureFile: { secretName: "azure", secretNamespace: "infra", shareName: "s" },
          }),
        ],
        [secret("infra", "azure", key)],
      ),
    );
    expect(only(elsewhere).persistentVolume?.azureFile?.secret.namespace).toBe("infra");
  });

  it("passes volumeMode through and falls back to the claim's access modes", async () => {
    const volume = pv("pv-b", "blk", { csi: { driver: "d", volumeHandle: "h" } });
    if (volume.spec) {
      volume.spec.volumeMode = "Block";
      delete volume.spec.accessModes;
    }
    const result = await resolve(
      podWith([claimVolume("blk")]),
      data([claim("blk", "Bound", "pv-b")], [volume]),
    );
    expect(only(result).persistentVolume).toMatchObject({
      volumeMode: "Block",
      accessModes: ["ReadWriteMany"],
      csi: { driver: "d", volumeHandle: "h", volumeAttributes: {} },
    });
  });

  it("waits (ConfigError, ContainerCreating) while the claim is missing, naming the claim and the field", async () => {
    const error = await failure(podWith([{ name: "cfg", emptyDir: {} }, claimVolume("later")]), data([], []));
    expect(error).toBeInstanceOf(ConfigError);
    const e = error as ConfigError;
    expect(e.reason).toBe(ConfigReasons.PersistentVolumeClaimNotFound);
    expect(e.message).toBe(`error processing PVC ${NS}/later: persistentvolumeclaim "later" not found`);
    expect(e.field).toBe("spec.volumes[1].persistentVolumeClaim");
    expect(containerWaitingReason(e.reason)).toBe("ContainerCreating");
    expect(containerWaitingReason(ConfigReasons.MandatorySecretNotFound)).toBe("CreateContainerConfigError");
  });

  it("waits while the claim is Pending, Lost, or Bound without a volumeName", async () => {
    for (const c of [claim("c", "Pending"), claim("c", "Lost", "pv-c"), claim("c", "Bound")]) {
      const e = await failure(podWith([claimVolume("c")]), data([c], [pv("pv-c", "c", csiSource())]));
      expect(e).toBeInstanceOf(ConfigError);
      expect((e as ConfigError).reason).toBe(ConfigReasons.PersistentVolumeClaimNotBound);
      expect((e as ConfigError).message).toContain(`error processing PVC ${NS}/c: PVC is not bound`);
    }
  });

  it("waits while the claim is being deleted", async () => {
    const c = claim("c", "Bound", "pv-c");
    if (c.metadata) c.metadata.deletionTimestamp = new Date("2030-01-01T00:00:00Z");
    const e = await failure(podWith([claimVolume("c")]), data([c], [pv("pv-c", "c", csiSource())]));
    expect((e as ConfigError).reason).toBe(ConfigReasons.PersistentVolumeClaimTerminating);
  });

  it("waits while the bound PV is missing or its claimRef does not point at the claim", async () => {
    const bound = [claim("c", "Bound", "pv-c")];
    const missing = await failure(podWith([claimVolume("c")]), data(bound, []));
    expect((missing as ConfigError).reason).toBe(ConfigReasons.PersistentVolumeNotFound);
    expect((missing as ConfigError).message).toContain('persistentvolume "pv-c" not found');

    const unclaimed = await failure(
      podWith([claimVolume("c")]),
      data(bound, [pv("pv-c", undefined, csiSource())]),
    );
    expect((unclaimed as ConfigError).reason).toBe(ConfigReasons.PersistentVolumeClaimMismatch);

    const other = pv("pv-c", "c", csiSource());
    if (other.spec?.claimRef) other.spec.claimRef.uid = "uid-of-an-older-claim";
    const mismatch = await failure(podWith([claimVolume("c")]), data(bound, [other]));
    expect((mismatch as ConfigError).reason).toBe(ConfigReasons.PersistentVolumeClaimMismatch);
    expect((mismatch as ConfigError).message).toContain('"uid-of-an-older-claim"');
  });

  it("waits for a Secret the PV names (MandatorySecretNotFound), without its values in the message", async () => {
    const e = await failure(
      podWith([claimVolume("c")]),
      data([claim("c", "Bound", "pv-c")], [pv("pv-c", "c", csiSource({ name: "csi-creds", namespace: NS }))]),
    );
    expect((e as ConfigError).reason).toBe(ConfigReasons.MandatorySecretNotFound);
    expect((e as ConfigError).message).toContain(`Secret ${NS}/csi-creds`);
    expect((e as ConfigError).message).toContain("csi.nodePublishSecretRef");
  });

  it("starts once the claim binds: the same source resolves after the objects change", async () => {
    const d = data([claim("c", "Pending")], []);
    const source = createInMemoryConfigSource(d);
    const pod = podWith([claimVolume("c")]);
    await expect(resolveWith(pod, source)).rejects.toMatchObject({
      reason: ConfigReasons.PersistentVolumeClaimNotBound,
    });
    d.persistentVolumes = { "pv-c": pv("pv-c", "c", csiSource()) };
    d.persistentVolumeClaims = { [`${NS}/c`]: claim("c", "Bound", "pv-c") };
    const result = await resolveWith(pod, source);
    expect(only(result).persistentVolume?.volumeName).toBe("pv-c");
  });

  it("reuses the PV a running pod was started with instead of reading the claim again", async () => {
    const started = only(
      await resolve(
        podWith([claimVolume("c")]),
        data([claim("c", "Bound", "pv-c")], [pv("pv-c", "c", csiSource())]),
      ),
    ).persistentVolume;
    if (!started) throw new Error("no persistent volume");
    const mountedPersistentVolumes = new Map([["data", started]]);
    // The claim is being deleted now (the pod keeps it in use) and its PV is gone from the source.
    const terminating = claim("c", "Bound", "pv-c");
    if (terminating.metadata) terminating.metadata.deletionTimestamp = new Date("2030-01-01T00:00:00Z");
    const refresh = (pod: Pod) =>
      resolvePodConfig(pod, {
        source: createInMemoryConfigSource(data([terminating], [])),
        nodeName: "vn-1",
        signal: new AbortController().signal,
        now: new Date("2030-01-01T00:00:00Z"),
        mountedPersistentVolumes,
      });
    expect(only(await refresh(podWith([claimVolume("c")]))).persistentVolume).toEqual(started);
    // A volume of that name on another claim is resolved afresh.
    await expect(refresh(podWith([claimVolume("other")]))).rejects.toMatchObject({
      reason: ConfigReasons.PersistentVolumeClaimNotFound,
    });
  });

  it("rejects PV sources a virtual node cannot hand to a cloud, naming the volume field", async () => {
    for (const [kind, source] of [
      ["hostPath", { hostPath: { path: "/data" } }],
      ["awsElasticBlockStore", { awsElasticBlockStore: { volumeID: "vol-1" } }],
    ] as const) {
      const e = await failure(
        podWith([{ name: "cfg", emptyDir: {} }, claimVolume("c")]),
        data([claim("c", "Bound", "pv-c")], [pv("pv-c", "c", source)]),
      );
      expect(e).toBeInstanceOf(UnsupportedError);
      expect((e as UnsupportedError).field).toBe("spec.volumes[1].persistentVolumeClaim");
      expect((e as UnsupportedError).message).toContain(`uses ${kind}`);
    }
  });

  it("fails with UnsupportedError when the source cannot read claims", async () => {
    const full = createInMemoryConfigSource({});
    const withoutClaims: ConfigSource = {
      getConfigMap: (ns, name, signal) => full.getConfigMap(ns, name, signal),
      getSecret: (ns, name, signal) => full.getSecret(ns, name, signal),
    };
    const e = await resolveWith(podWith([claimVolume("c")]), withoutClaims).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(e).toBeInstanceOf(UnsupportedError);
  });
});

describe("file provenance", () => {
  it("records the configMap/secret key, the downward API field and the token source of each file", async () => {
    const pod: Pod = {
      metadata: { name: "web-0", namespace: NS, uid: "pod-uid" },
      spec: {
        containers: [{ name: "app", image: "busybox", resources: { limits: { cpu: "1" } } }],
        volumes: [
          { name: "cm", configMap: { name: "settings" } },
          { name: "sec", secret: { secretName: "db", items: [{ key: "password", path: "pw" }] } },
          {
            name: "proj",
            projected: {
              sources: [
                { configMap: { name: "settings", items: [{ key: "mode", path: "conf/mode" }] } },
                { secret: { name: "db" } },
                { downwardAPI: { items: [{ path: "name", fieldRef: { fieldPath: "metadata.name" } }] } },
                {
                  downwardAPI: {
                    items: [
                      { path: "cpu", resourceFieldRef: { containerName: "app", resource: "limits.cpu" } },
                    ],
                  },
                },
                { serviceAccountToken: { path: "token" } },
              ],
            },
          },
        ],
      },
    };
    const result = await resolve(pod, {
      configMaps: { [`${NS}/settings`]: { metadata: { name: "settings" }, data: { mode: "fast" } } },
      secrets: { [`${NS}/db`]: secret(NS, "db", { password: "pw1" }) },
      issueToken: () => ({ token: "t", expirationTimestamp: new Date("2030-01-01T01:00:00Z") }),
    });
    const sources = (i: number) =>
      Object.fromEntries((result.resolved.volumes[i]?.files ?? []).map((f) => [f.path, f.source]));
    expect(sources(0)).toEqual({ mode: { kind: "configMap", name: "settings", key: "mode" } });
    expect(sources(1)).toEqual({ pw: { kind: "secret", name: "db", key: "password" } });
    expect(sources(2)).toEqual({
      "conf/mode": { kind: "configMap", name: "settings", key: "mode" },
      password: { kind: "secret", name: "db", key: "password" },
      name: { kind: "field", fieldPath: "metadata.name" },
      cpu: { kind: "resource", resource: "limits.cpu", containerName: "app" },
      token: { kind: "value" },
    });
  });
});
