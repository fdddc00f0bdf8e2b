import { InvalidInputError } from "@virtual-node/core";
import type { Pod } from "@virtual-node/core";
import { describe, expect, it } from "vitest";
import { STANDBY_TAG, containerGroupName, parseArmId, standbyClaim, validateOptions } from "../src/index.js";
import type {
  AciProviderOptions,
  ContainerGroupProfileResource,
  MappingOptions,
  StandbyPoolOptions,
} from "../src/index.js";
import { file, resolvedPod } from "./pods.js";

type Spec = NonNullable<Pod["spec"]>;
const enc = (text: string) => new TextEncoder().encode(text);

const SUB = "00000000-0000-0000-0000-000000000000";
const POOL: StandbyPoolOptions = {
  poolId: `/subscriptions/${SUB}/resourceGroups/vn-rg/providers/Microsoft.StandbyPool/standbyContainerGroupPools/web-pool`,
  profileId: `/subscriptions/${SUB}/resourceGroups/vn-rg/providers/Microsoft.ContainerInstance/containerGroupProfiles/web`,
  profileRevision: 2,
};
const MAPPING: MappingOptions = { nodeName: "vn-aci", location: "westeurope", osType: "Linux" };

/** The profile of Microsoft's walkthrough (nginx, port 8000, 1 core, 1.5 GB, restart Never), as ARM returns it. */
function profile(
  edit: (p: NonNullable<ContainerGroupProfileResource["properties"]>) => void = () => undefined,
) {
  const properties: NonNullable<ContainerGroupProfileResource["properties"]> = {
    containers: [
      {
        name: "web",
        properties: {
          image: "nginx:1.27",
          command: [],
          environmentVariables: [{ name: "MODE", value: "standby" }],
          ports: [{ port: 8000 }],
          resources: { requests: { cpu: 1, memoryInGB: 1.5 } },
        },
      },
    ],
    imageRegistryCredentials: [],
    initContainers: [],
    ipAddress: { type: "Public", ports: [{ port: 8000, protocol: "TCP" }] },
    osType: "Linux",
    restartPolicy: "Never",
    sku: "Standard",
    revision: 2,
  };
  edit(properties);
  return { name: "web", location: "westeurope", properties };
}

type Container = Spec["containers"][number];
const web = (edit: Partial<Container> = {}): Container => ({
  name: "web",
  image: "nginx:1.27",
  ports: [{ containerPort: 8000 }],
  env: [{ name: "MODE", value: "standby" }],
  resources: { requests: { cpu: "1", memory: "1.5Gi" } },
  ...edit,
});

const pod = (
  spec: Partial<Spec> = {},
  extra: Parameters<typeof resolvedPod>[1] = {},
  container: Partial<Container> = {},
) => resolvedPod({ restartPolicy: "Never", containers: [web(container)], ...spec }, extra);

describe("standbyClaim: which pods fit the pool's profile", () => {
  it("claims for a pod whose group is the profile's, with the minimal claim body", () => {
    const p = pod();
    const decision = standbyClaim(p, profile(), { mapping: MAPPING, pool: POOL });
    expect(decision.path).toBe("claim");
    if (decision.path !== "claim") return;
    expect(decision.mapped.name).toBe(containerGroupName(p.ref));
    expect(decision.request).toEqual({
      location: "westeurope",
      tags: expect.objectContaining({
        "virtual-node-uid": p.ref.uid,
        "virtual-node-node": "vn-aci",
        [STANDBY_TAG]: "standby-claim",
      }) as Record<string, string>,
      properties: {
        containerGroupProfile: { id: POOL.profileId, revision: 2 },
        standbyPoolProfile: { id: POOL.poolId, failContainerGroupCreateOnReuseFailure: false },
        containers: [{ name: "web", properties: {} }],
      },
    });
    const strict = standbyClaim(p, profile(), {
      mapping: MAPPING,
      pool: { ...POOL, failOnReuseFailure: true },
    });
    expect(strict.path === "claim" && strict.request.properties.standbyPoolProfile).toEqual({
      id: POOL.poolId,
      failContainerGroupCreateOnReuseFailure: true,
    });
  });

  const cases: {
    name: string;
    pod: ReturnType<typeof pod>;
    profile?: ContainerGroupProfileResource;
    pool?: Partial<StandbyPoolOptions>;
    reason: RegExp;
  }[] = [
    {
      name: "another image",
      pod: pod({}, {}, { image: "nginx:1.28" }),
      reason: /containers\[0\]\.image: the pod's "nginx:1.28", the profile's "nginx:1.27"/,
    },
    {
      name: "more memory",
      pod: pod({}, {}, { resources: { requests: { cpu: "1", memory: "2Gi" } } }),
      reason: /containers\[0\]\.resources\.requests\.memoryInGB: the pod's 2, the profile's 1.5/,
    },
    {
      name: "another restart policy",
      pod: pod({ restartPolicy: "Always" }),
      reason: /restartPolicy: the pod's "Always", the profile's "Never"/,
    },
    {
      name: "an extra env var",
      pod: pod(
        {},
        {},
        {
          env: [
            { name: "MODE", value: "standby" },
            { name: "X", value: "1" },
          ],
        },
      ),
      reason: /containers\[0\]\.environmentVariables: the pod has 2, the profile 1/,
    },
    {
      name: "another env value",
      pod: pod({}, {}, { env: [{ name: "MODE", value: "cold" }] }),
      reason: /environmentVariables\[0\]\.value: the pod's "cold", the profile's "standby"/,
    },
    {
      name: "another port",
      pod: pod({}, {}, { ports: [{ containerPort: 9000 }] }),
      reason: /ipAddress\.ports\[0\]\.port: the pod's 9000, the profile's 8000/,
    },
    {
      name: "a command",
      pod: pod({}, {}, { command: ["nginx", "-g", "daemon off;"] }),
      reason: /containers\[0\]\.command: the pod's \["nginx","-g","daemon off;"\], the profile's none/,
    },
    {
      name: "Secret-sourced env",
      pod: pod({}, { secretEnv: { web: { TOKEN: "s3cr3t" } } }),
      reason: /container web has Secret-sourced environment/,
    },
    {
      name: "mounted files",
      pod: pod(
        { volumes: [{ name: "conf", configMap: { name: "conf" } }] },
        { volumes: [{ name: "conf", kind: "configMap", files: [file("a.conf", "x")] }] },
        { volumeMounts: [{ name: "conf", mountPath: "/etc/conf" }] },
      ),
      reason: /volume conf carries the pod's files/,
    },
    {
      name: "a managed identity",
      pod: pod(
        {},
        {
          annotations: {
            "aci.virtual-node.io/identity": `/subscriptions/${SUB}/resourceGroups/vn-rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id`,
          },
        },
      ),
      reason: /needs a managed identity/,
    },
    {
      name: "a DNS configuration",
      pod: pod({ dnsPolicy: "None", dnsConfig: { nameservers: ["10.0.0.10"] } }),
      reason: /needs a DNS configuration/,
    },
    {
      name: "the opt-out annotation",
      pod: pod({}, { annotations: { "aci.virtual-node.io/standby-pool": "never" } }),
      reason: /annotation aci\.virtual-node\.io\/standby-pool: never/,
    },
    {
      name: "a namespace outside match",
      pod: pod({}, { namespace: "batch" }),
      pool: { match: { namespaces: ["default"] } },
      reason: /namespace batch is not in standbyPool\.match\.namespaces/,
    },
    {
      name: "a label missing for match",
      pod: pod(),
      pool: { match: { labels: { app: "web" } } },
      reason: /label app=web of standbyPool\.match\.labels is not on the pod/,
    },
    {
      name: "a profile with a second container",
      pod: pod(),
      profile: profile((p) => p.containers?.push({ name: "sidecar", properties: { image: "envoy" } })),
      reason: /containers: the pod has 1, the profile 2/,
    },
    {
      name: "a Windows profile",
      pod: pod(),
      profile: profile((p) => (p.osType = "Windows")),
      reason: /osType: the pod's "Linux", the profile's "Windows"/,
    },
    {
      name: "a profile with a volume",
      pod: pod(),
      profile: profile((p) => (p.volumes = [{ name: "cache", emptyDir: {} }])),
      reason: /volumes: the pod has 0, the profile 1|volumes: the pod's none/,
    },
    {
      name: "a Spot profile",
      pod: pod(),
      profile: profile((p) => (p.priority = "Spot")),
      reason: /priority: the pod's "Regular", the profile's "Spot"/,
    },
  ];
  it.each(cases)("takes the cold path for $name, naming the difference", (c) => {
    const decision = standbyClaim(c.pod, c.profile ?? profile(), {
      mapping: MAPPING,
      pool: { ...POOL, ...c.pool },
    });
    expect(decision.path).toBe("cold");
    expect(decision.path === "cold" && decision.reason).toMatch(c.reason);
    // The cold path carries the normal mapping.
    expect(decision.mapped.group.containers[0]?.name).toBe("web");
  });

  it("claims when match is met, ignoring name, tags, registry credentials and subnets", () => {
    const p = pod({}, { namespace: "default", annotations: {} });
    p.pod.metadata = { ...p.pod.metadata, labels: { app: "web", tier: "front" } };
    const withCreds = profile(
      (x) => (x.imageRegistryCredentials = [{ server: "other.azurecr.io", username: "u" }]),
    );
    const subnet = `/subscriptions/${SUB}/resourceGroups/vn-rg/providers/Microsoft.Network/virtualNetworks/v/subnets/s`;
    // A private group in the provider's subnet: the profile says Private; the subnets are the pool's.
    const privateProfile = profile((x) => {
      x.imageRegistryCredentials = [{ server: "other.azurecr.io", username: "u" }];
      x.ipAddress = { type: "Private", ports: [{ port: 8000, protocol: "TCP" }] };
    });
    const inSubnet = standbyClaim(p, privateProfile, {
      mapping: { ...MAPPING, subnetIds: [subnet] },
      pool: { ...POOL, match: { labels: { app: "web" }, namespaces: ["default"] } },
    });
    expect(inSubnet.path === "cold" ? inSubnet.reason : "claim").toBe("claim");
    expect(inSubnet.mapped.group.subnetIds).toEqual([{ id: subnet }]);
    const plain = standbyClaim(p, withCreds, {
      mapping: MAPPING,
      pool: { ...POOL, match: { labels: { app: "web" }, namespaces: ["default"] } },
    });
    expect(plain.path === "cold" ? plain.reason : "claim").toBe("claim");
    // The same pod against the private profile, without subnets: a Public group does not fit.
    const publicPod = standbyClaim(p, privateProfile, { mapping: MAPPING, pool: POOL });
    expect(publicPod.path === "cold" && publicPod.reason).toMatch(
      /ipAddress\.type: the pod's "Public", the profile's "Private"/,
    );
  });

  it("compares Azure Files volumes without the storage key (ARM never returns it)", () => {
    const azureFile = { shareName: "data", storageAccountName: "acct" };
    const p = pod(
      { volumes: [{ name: "data", persistentVolumeClaim: { claimName: "data" } }] },
      {
        volumes: [
          {
            name: "data",
            kind: "persistentVolumeClaim",
            files: [],
            persistentVolume: {
              claimName: "data",
              volumeName: "pv-data",
              readOnly: false,
              accessModes: ["ReadWriteMany"],
              volumeMode: "Filesystem",
              csi: {
                driver: "file.csi.azure.com",
                volumeHandle: "rg#acct#data#",
                volumeAttributes: {},
                nodeStageSecret: {
                  name: "azure-secret",
                  namespace: "default",
                  data: { azurestorageaccountname: enc("acct"), azurestorageaccountkey: enc("S3CRET==") },
                },
              },
            },
          },
        ],
      },
      { volumeMounts: [{ name: "data", mountPath: "/data" }] },
    );
    const withShare = profile((x) => {
      x.volumes = [{ name: "data", azureFile }];
      const c = x.containers?.[0];
      if (c?.properties !== undefined) c.properties.volumeMounts = [{ name: "data", mountPath: "/data" }];
    });
    const decision = standbyClaim(p, withShare, { mapping: MAPPING, pool: POOL });
    expect(decision.path === "cold" ? decision.reason : "claim").toBe("claim");
    // The key is in the cold mapping, not in the claim (the pool's groups have the profile's).
    expect(JSON.stringify(decision.path === "claim" && decision.request)).not.toContain("S3CRET");
  });
});

describe("standbyPool option validation", () => {
  const base: AciProviderOptions = { subscriptionId: SUB, resourceGroup: "vn-rg", region: "westeurope" };
  const bad: { name: string; pool: Partial<StandbyPoolOptions> | Record<string, unknown>; field: string }[] =
    [
      {
        name: "a pool ID that is no ARM ID",
        pool: { poolId: "web-pool" },
        field: "options.standbyPool.poolId",
      },
      {
        name: "a pool ID of another type",
        pool: { poolId: POOL.profileId },
        field: "options.standbyPool.poolId",
      },
      {
        name: "a pool name too short",
        pool: { poolId: POOL.poolId.replace("web-pool", "wp") },
        field: "options.standbyPool.poolId",
      },
      {
        name: "a pool in another subscription",
        pool: { poolId: POOL.poolId.replace(SUB, "11111111-1111-1111-1111-111111111111") },
        field: "options.standbyPool.poolId",
      },
      {
        name: "a profile ID of another type",
        pool: { profileId: POOL.poolId },
        field: "options.standbyPool.profileId",
      },
      {
        name: "a profile name with a trailing hyphen",
        pool: { profileId: `${POOL.profileId}-` },
        field: "options.standbyPool.profileId",
      },
      { name: "revision 0", pool: { profileRevision: 0 }, field: "options.standbyPool.profileRevision" },
      { name: "revision 1.5", pool: { profileRevision: 1.5 }, field: "options.standbyPool.profileRevision" },
      {
        name: "a non-boolean failOnReuseFailure",
        pool: { failOnReuseFailure: "yes" },
        field: "options.standbyPool.failOnReuseFailure",
      },
      {
        name: "an empty namespace list",
        pool: { match: { namespaces: [] } },
        field: "options.standbyPool.match.namespaces",
      },
      {
        name: "a non-string label",
        pool: { match: { labels: { app: 1 } } },
        field: "options.standbyPool.match.labels.app",
      },
    ];
  it.each(bad)("rejects $name, naming the field", ({ pool, field }) => {
    const options = { ...base, standbyPool: { ...POOL, ...pool } };
    let caught: unknown;
    try {
      validateOptions(options);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(InvalidInputError);
    expect((caught as InvalidInputError).field).toBe(field);
    expect((caught as Error).message).toContain(field.replace("options.", "option "));
  });
  it("accepts a valid pool and parses ARM IDs", () => {
    expect(() => {
      validateOptions({
        ...base,
        standbyPool: { ...POOL, failOnReuseFailure: true, match: { labels: { app: "web" } } },
      });
    }).not.toThrow();
    expect(parseArmId(POOL.poolId)).toEqual({
      subscriptionId: SUB,
      resourceGroup: "vn-rg",
      type: "Microsoft.StandbyPool/standbyContainerGroupPools",
      name: "web-pool",
    });
    expect(parseArmId("/subscriptions/x/resourceGroups/y")).toBeUndefined();
  });
});
