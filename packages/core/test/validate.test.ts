import * as fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { Container, Pod, PodSpec } from "../src/kube/types.js";
import { minimalCapabilities, type ProbeHandler, type ProviderCapabilities } from "../src/provider.js";
import { unsupportedFieldsMessage, validatePodAgainstCapabilities } from "../src/validate.js";

function makePod(spec: Partial<PodSpec> = {}): Pod {
  return {
    metadata: { name: "p", namespace: "ns", uid: "u" },
    spec: { containers: [{ name: "app", image: "app:1" }], ...spec },
  };
}

const app = (extra: Partial<Container> = {}): Container => ({ name: "app", image: "app:1", ...extra });

const everything: ProviderCapabilities = {
  volumes: [
    "emptyDir",
    "configMap",
    "secret",
    "projected",
    "downwardAPI",
    "persistentVolumeClaim",
    "hostPath",
  ],
  initContainers: true,
  sidecarContainers: true,
  ephemeralContainers: true,
  probes: {
    liveness: ["exec", "httpGet", "tcpSocket", "grpc"],
    readiness: ["exec", "httpGet", "tcpSocket", "grpc"],
    startup: ["exec", "httpGet", "tcpSocket", "grpc"],
  },
  hostNetwork: true,
  hostPID: true,
  hostIPC: true,
  privileged: true,
  securityContext: [
    "runAsUser",
    "runAsGroup",
    "runAsNonRoot",
    "capabilities",
    "fsGroup",
    "allowPrivilegeEscalation",
  ],
  restartPolicies: ["Always", "OnFailure", "Never"],
  portProtocols: ["TCP", "UDP", "SCTP"],
  extendedResources: ["nvidia.com/gpu"],
  mountedFileUpdates: true,
  podIPBeforeStart: true,
};

const fields = (pod: Pod, caps: ProviderCapabilities = minimalCapabilities) =>
  validatePodAgainstCapabilities(pod, "aci", caps).map((f) => f.field);

describe("validatePodAgainstCapabilities", () => {
  it("a plain pod runs on the minimal provider", () => {
    expect(validatePodAgainstCapabilities(makePod(), "aci", minimalCapabilities)).toEqual([]);
  });

  it("a pod without a spec has nothing to check", () => {
    expect(validatePodAgainstCapabilities({ metadata: { name: "p" } }, "aci", minimalCapabilities)).toEqual(
      [],
    );
  });

  it("names the field and the provider", () => {
    const pod = makePod({
      volumes: [
        { name: "a", emptyDir: {} },
        { name: "b", configMap: { name: "cm" } },
        { name: "c", persistentVolumeClaim: { claimName: "data" } },
      ],
    });
    expect(validatePodAgainstCapabilities(pod, "aci", minimalCapabilities)).toEqual([
      {
        field: "spec.volumes[2].persistentVolumeClaim",
        message: "spec.volumes[2].persistentVolumeClaim is not supported by provider aci",
      },
    ]);
  });

  type Row = [string, Partial<PodSpec>, Partial<ProviderCapabilities>, string[]];
  const rows: Row[] = [
    [
      "supported volume kinds",
      {
        volumes: [
          { name: "s", secret: { secretName: "x" } },
          { name: "e", emptyDir: {} },
        ],
      },
      {},
      [],
    ],
    [
      "hostPath volume",
      { volumes: [{ name: "h", hostPath: { path: "/" } }] },
      {},
      ["spec.volumes[0].hostPath"],
    ],
    [
      "hostPath volume, supported",
      { volumes: [{ name: "h", hostPath: { path: "/" } }] },
      { volumes: ["hostPath"] },
      [],
    ],
    ["init container", { initContainers: [{ name: "i" }] }, {}, ["spec.initContainers[0]"]],
    ["init container, supported", { initContainers: [{ name: "i" }] }, { initContainers: true }, []],
    [
      "sidecar where init containers are supported but sidecars are not",
      { initContainers: [{ name: "s", restartPolicy: "Always" }] },
      { initContainers: true },
      ["spec.initContainers[0].restartPolicy"],
    ],
    [
      "sidecar, supported",
      { initContainers: [{ name: "s", restartPolicy: "Always" }] },
      { sidecarContainers: true },
      [],
    ],
    [
      "ephemeral container",
      { ephemeralContainers: [{ name: "debug" }] },
      {},
      ["spec.ephemeralContainers[0]"],
    ],
    [
      "ephemeral container, supported",
      { ephemeralContainers: [{ name: "debug" }] },
      { ephemeralContainers: true },
      [],
    ],
    [
      "probe handler not supported for its kind",
      {
        containers: [
          app({ readinessProbe: { httpGet: { port: 80 } }, livenessProbe: { exec: { command: ["true"] } } }),
        ],
      },
      { probes: { liveness: ["exec"], readiness: ["exec"], startup: [] } },
      ["spec.containers[0].readinessProbe.httpGet"],
    ],
    [
      "each probe kind checked",
      {
        containers: [
          app({
            livenessProbe: { tcpSocket: { port: 1 } },
            readinessProbe: { grpc: { port: 2 } },
            startupProbe: { exec: { command: ["x"] } },
          }),
        ],
      },
      {},
      [
        "spec.containers[0].livenessProbe.tcpSocket",
        "spec.containers[0].readinessProbe.grpc",
        "spec.containers[0].startupProbe.exec",
      ],
    ],
    [
      "sidecar probes are checked too",
      { initContainers: [{ name: "s", restartPolicy: "Always", startupProbe: { httpGet: { port: 8 } } }] },
      { sidecarContainers: true },
      ["spec.initContainers[0].startupProbe.httpGet"],
    ],
    [
      "host namespaces",
      { hostNetwork: true, hostPID: true, hostIPC: true },
      {},
      ["spec.hostNetwork", "spec.hostPID", "spec.hostIPC"],
    ],
    ["host namespaces off", { hostNetwork: false, hostPID: false, hostIPC: false }, {}, []],
    [
      "host namespaces, supported",
      { hostNetwork: true, hostPID: true },
      { hostNetwork: true, hostPID: true },
      [],
    ],
    [
      "privileged",
      { containers: [app({ securityContext: { privileged: true } })] },
      {},
      ["spec.containers[0].securityContext.privileged"],
    ],
    [
      "privileged: false asks for nothing",
      { containers: [app({ securityContext: { privileged: false } })] },
      {},
      [],
    ],
    [
      "privileged, supported",
      { containers: [app({ securityContext: { privileged: true } })] },
      { privileged: true },
      [],
    ],
    [
      "container securityContext fields",
      {
        containers: [
          app(),
          {
            name: "b",
            securityContext: {
              capabilities: { add: ["NET_ADMIN"] },
              runAsUser: 1000,
              allowPrivilegeEscalation: false,
              readOnlyRootFilesystem: true,
            },
          },
        ],
      },
      { securityContext: ["runAsUser"] },
      [
        "spec.containers[1].securityContext.capabilities",
        "spec.containers[1].securityContext.allowPrivilegeEscalation",
        "spec.containers[1].securityContext.readOnlyRootFilesystem",
      ],
    ],
    [
      "empty or null securityContext fields are not requests",
      {
        securityContext: { sysctls: [], seLinuxOptions: {} },
        containers: [
          app({
            securityContext: { capabilities: { add: [], drop: [] }, runAsUser: null as unknown as number },
          }),
        ],
      },
      {},
      [],
    ],
    [
      "pod securityContext fields",
      {
        securityContext: {
          fsGroup: 2000,
          runAsNonRoot: true,
          sysctls: [{ name: "net.core.somaxconn", value: "1024" }],
        },
      },
      { securityContext: ["fsGroup"] },
      ["spec.securityContext.runAsNonRoot", "spec.securityContext.sysctls"],
    ],
    [
      "extended resources",
      {
        containers: [
          app({
            resources: {
              requests: { cpu: "1", memory: "1Gi", "ephemeral-storage": "1Gi", "nvidia.com/gpu": "1" },
              limits: { "nvidia.com/gpu": "1", "hugepages-2Mi": "2Mi" },
            },
          }),
        ],
      },
      {},
      [
        "spec.containers[0].resources.requests[nvidia.com/gpu]",
        "spec.containers[0].resources.limits[nvidia.com/gpu]",
        "spec.containers[0].resources.limits[hugepages-2Mi]",
      ],
    ],
    [
      "extended resources, supported",
      { containers: [app({ resources: { limits: { "nvidia.com/gpu": "1" } } })] },
      { extendedResources: ["nvidia.com/gpu"] },
      [],
    ],
    [
      "pod-level resources",
      { resources: { limits: { cpu: "1", "example.com/fpga": "1" } } },
      {},
      ["spec.resources.limits[example.com/fpga]"],
    ],
    [
      "resource claims",
      { resourceClaims: [{ name: "gpu" }], containers: [app({ resources: { claims: [{ name: "gpu" }] } })] },
      {},
      ["spec.resourceClaims[0]", "spec.containers[0].resources.claims[0]"],
    ],
    [
      "restart policy",
      { restartPolicy: "OnFailure" },
      { restartPolicies: ["Always", "Never"] },
      ["spec.restartPolicy"],
    ],
    ["default restart policy is Always", {}, { restartPolicies: ["Never"] }, ["spec.restartPolicy"]],
    [
      "port protocols",
      { containers: [app({ ports: [{ containerPort: 80 }, { containerPort: 53, protocol: "UDP" }] })] },
      {},
      ["spec.containers[0].ports[1].protocol"],
    ],
    [
      "host ports need host networking",
      {
        containers: [
          app({
            ports: [
              { containerPort: 80, hostPort: 8080 },
              { containerPort: 81, hostPort: 0 },
            ],
          }),
        ],
      },
      {},
      ["spec.containers[0].ports[0].hostPort"],
    ],
    [
      "host ports with host networking",
      { containers: [app({ ports: [{ containerPort: 80, hostPort: 8080 }] })] },
      { hostNetwork: true },
      [],
    ],
  ];
  it.each(rows)("%s", (_, spec, caps, expected) => {
    expect(fields(makePod(spec), { ...minimalCapabilities, ...caps })).toEqual(expected);
  });

  it("reports every problem, in spec order", () => {
    const pod = makePod({
      restartPolicy: "Never",
      hostNetwork: true,
      volumes: [{ name: "d", persistentVolumeClaim: { claimName: "x" } }],
      initContainers: [{ name: "i", securityContext: { privileged: true } }],
      containers: [
        app({ readinessProbe: { httpGet: { port: 80 } } }),
        { name: "b", ports: [{ containerPort: 53, protocol: "SCTP", hostPort: 53 }] },
      ],
    });
    expect(fields(pod, { ...minimalCapabilities, restartPolicies: ["Always"] })).toEqual([
      "spec.restartPolicy",
      "spec.hostNetwork",
      "spec.volumes[0].persistentVolumeClaim",
      "spec.initContainers[0]",
      "spec.initContainers[0].securityContext.privileged",
      "spec.containers[0].readinessProbe.httpGet",
      "spec.containers[1].ports[0].protocol",
      "spec.containers[1].ports[0].hostPort",
    ]);
  });

  it("messages show unsupported values and what is supported", () => {
    const pod = makePod({
      restartPolicy: "OnFailure",
      containers: [app({ ports: [{ containerPort: 53, protocol: "UDP" }] })],
    });
    const problems = validatePodAgainstCapabilities(pod, "ecs", {
      ...minimalCapabilities,
      restartPolicies: [],
    });
    expect(problems.map((p) => p.message)).toEqual([
      'spec.restartPolicy "OnFailure" is not supported by provider ecs (supported: none)',
      'spec.containers[0].ports[0].protocol "UDP" is not supported by provider ecs (supported: TCP)',
    ]);
  });

  it("a user namespace (hostUsers: false) is refused unless the provider declares it: less isolation is never silent", () => {
    const pod = makePod({ hostUsers: false });
    expect(validatePodAgainstCapabilities(pod, "fargate", minimalCapabilities)).toEqual([
      {
        field: "spec.hostUsers",
        message: 'spec.hostUsers "false" is not supported by provider fargate',
      },
    ]);
    expect(
      validatePodAgainstCapabilities(pod, "fargate", { ...minimalCapabilities, userNamespaces: true }),
    ).toEqual([]);
    expect(
      validatePodAgainstCapabilities(makePod({ hostUsers: true }), "fargate", minimalCapabilities),
    ).toEqual([]);
  });

  it("everything is supported by a provider that supports everything", () => {
    const pod = makePod({
      hostNetwork: true,
      hostPID: true,
      hostIPC: true,
      restartPolicy: "OnFailure",
      securityContext: { fsGroup: 1 },
      volumes: [{ name: "h", hostPath: { path: "/data" } }],
      initContainers: [
        { name: "i" },
        { name: "s", restartPolicy: "Always", readinessProbe: { grpc: { port: 1 } } },
      ],
      ephemeralContainers: [{ name: "debug" }],
      containers: [
        app({
          securityContext: { privileged: true, capabilities: { add: ["NET_ADMIN"] } },
          ports: [{ containerPort: 53, protocol: "UDP", hostPort: 53 }],
          resources: { limits: { "nvidia.com/gpu": "1" } },
        }),
      ],
    });
    expect(fields(pod, everything)).toEqual([]);
  });
});

describe("unsupportedFieldsMessage", () => {
  it.each([
    [[], ""],
    [[{ field: "a", message: "a is not supported by provider x" }], "a is not supported by provider x"],
    [
      [
        { field: "a", message: "a is not supported by provider x" },
        { field: "b", message: "b is not supported by provider x" },
      ],
      "a is not supported by provider x; b is not supported by provider x",
    ],
  ])("%j", (list, expected) => {
    expect(unsupportedFieldsMessage(list)).toBe(expected);
  });
});

// ---------------------------------------------------------------------------------------------------------
// Property: a pod built only from features the capabilities allow yields no problems; adding one feature
// they do not allow yields a problem for exactly that field.

const ALL_VOLUMES = [
  "emptyDir",
  "configMap",
  "secret",
  "projected",
  "downwardAPI",
  "persistentVolumeClaim",
  "hostPath",
  "nfs",
  "csi",
];
const HANDLERS: ProbeHandler[] = ["exec", "httpGet", "tcpSocket", "grpc"];
const CONTAINER_SC: Record<string, unknown> = {
  runAsUser: 1000,
  runAsGroup: 1000,
  runAsNonRoot: true,
  readOnlyRootFilesystem: true,
  allowPrivilegeEscalation: false,
  capabilities: { drop: ["ALL"] },
  seccompProfile: { type: "RuntimeDefault" },
};
const POD_SC: Record<string, unknown> = {
  runAsUser: 1000,
  fsGroup: 2000,
  supplementalGroups: [3000],
  runAsNonRoot: true,
};
const EXTENDED = ["nvidia.com/gpu", "example.com/fpga"];

const capsArb: fc.Arbitrary<ProviderCapabilities> = fc.record({
  volumes: fc.subarray(ALL_VOLUMES),
  initContainers: fc.boolean(),
  sidecarContainers: fc.boolean(),
  ephemeralContainers: fc.boolean(),
  probes: fc.record({
    liveness: fc.subarray(HANDLERS),
    readiness: fc.subarray(HANDLERS),
    startup: fc.subarray(HANDLERS),
  }),
  hostNetwork: fc.boolean(),
  hostPID: fc.boolean(),
  hostIPC: fc.boolean(),
  privileged: fc.boolean(),
  securityContext: fc.subarray([...new Set([...Object.keys(CONTAINER_SC), ...Object.keys(POD_SC)])]),
  restartPolicies: fc.subarray(["Always", "OnFailure", "Never"] as const, { minLength: 1 }),
  portProtocols: fc.subarray(["TCP", "UDP", "SCTP"] as const, { minLength: 1 }),
  extendedResources: fc.subarray(EXTENDED),
  mountedFileUpdates: fc.boolean(),
  podIPBeforeStart: fc.boolean(),
});

/** A pod using only what `caps` allows, with the random choices drawn from `fc`. */
function supportedPodArb(caps: ProviderCapabilities): fc.Arbitrary<Pod> {
  const pick = <T>(items: readonly T[]) => fc.subarray([...items]);
  const probeArb = (handlers: readonly ProbeHandler[]) =>
    handlers.length === 0
      ? fc.constant(undefined)
      : fc.option(
          fc
            .constantFrom(...handlers)
            .map((h) => ({ [h]: h === "exec" ? { command: ["true"] } : { port: 8080 } })),
          { nil: undefined },
        );
  const securityContextArb = (table: Record<string, unknown>) =>
    pick(caps.securityContext.filter((f) => f in table)).map((names) =>
      Object.fromEntries(names.map((n) => [n, table[n]])),
    );
  const containerArb = (name: string, sidecar: boolean) =>
    fc
      .record({
        liveness: probeArb(caps.probes.liveness),
        readiness: probeArb(caps.probes.readiness),
        startup: probeArb(caps.probes.startup),
        sc: securityContextArb(CONTAINER_SC),
        privileged: caps.privileged ? fc.boolean() : fc.constant(false),
        extended: pick(caps.extendedResources),
        protocols: fc.array(fc.constantFrom(...caps.portProtocols), { maxLength: 3 }),
        hostPort: caps.hostNetwork ? fc.boolean() : fc.constant(false),
      })
      .map((r): Container => ({
        name,
        image: `${name}:1`,
        ...(sidecar ? { restartPolicy: "Always" } : {}),
        ...(!sidecar && name.startsWith("init")
          ? {}
          : { livenessProbe: r.liveness, readinessProbe: r.readiness, startupProbe: r.startup }),
        securityContext: { ...r.sc, privileged: r.privileged },
        resources: {
          requests: { cpu: "100m", memory: "64Mi", "ephemeral-storage": "1Gi" },
          limits: { memory: "128Mi", ...Object.fromEntries(r.extended.map((e) => [e, "1"])) },
        },
        ports: r.protocols.map((protocol, i) => ({
          containerPort: 8000 + i,
          protocol,
          ...(r.hostPort ? { hostPort: 9000 + i } : {}),
        })),
      }));
  return fc
    .record({
      volumes: pick(caps.volumes.filter((v) => ALL_VOLUMES.includes(v))),
      restartPolicy: fc.constantFrom(...caps.restartPolicies),
      hostNetwork: caps.hostNetwork ? fc.boolean() : fc.constant(false),
      hostPID: caps.hostPID ? fc.boolean() : fc.constant(false),
      hostIPC: caps.hostIPC ? fc.boolean() : fc.constant(false),
      podSC: securityContextArb(POD_SC),
      containers: fc
        .array(fc.nat(), { minLength: 1, maxLength: 3 })
        .chain((list) => fc.tuple(...list.map((_, i) => containerArb(`c${i}`, false)))),
      init: caps.initContainers
        ? fc.option(containerArb("init0", false), { nil: undefined })
        : fc.constant(undefined),
      sidecar: caps.sidecarContainers
        ? fc.option(containerArb("side0", true), { nil: undefined })
        : fc.constant(undefined),
      ephemeral: caps.ephemeralContainers ? fc.boolean() : fc.constant(false),
    })
    .map((r) =>
      makePod({
        restartPolicy: r.restartPolicy,
        hostNetwork: r.hostNetwork,
        hostPID: r.hostPID,
        hostIPC: r.hostIPC,
        securityContext: r.podSC,
        volumes: r.volumes.map((kind, i) => ({ name: `v${i}`, [kind]: {} })),
        containers: r.containers,
        initContainers: [r.init, r.sidecar].filter((c): c is Container => c !== undefined),
        ...(r.ephemeral ? { ephemeralContainers: [{ name: "debug", image: "busybox" }] } : {}),
      }),
    );
}

describe("validatePodAgainstCapabilities properties", () => {
  it("a pod built only from supported features has no problems", () => {
    fc.assert(
      fc.property(
        capsArb.chain((caps) => fc.tuple(fc.constant(caps), supportedPodArb(caps))),
        ([caps, pod]) => {
          expect(validatePodAgainstCapabilities(pod, "prop", caps)).toEqual([]);
        },
      ),
      { numRuns: 300 },
    );
  });

  type Mutation = [string, (caps: ProviderCapabilities) => boolean, (pod: Pod) => void];
  const spec = (pod: Pod): PodSpec => pod.spec ?? { containers: [] };
  const first = (pod: Pod): Container => spec(pod).containers[0] ?? { name: "none" };
  const mutations: Mutation[] = [
    [
      "spec.hostPID",
      (c) => !c.hostPID,
      (p) => {
        spec(p).hostPID = true;
      },
    ],
    [
      "spec.containers[0].securityContext.privileged",
      (c) => !c.privileged,
      (p) => {
        first(p).securityContext = { ...first(p).securityContext, privileged: true };
      },
    ],
    [
      "spec.containers[0].readinessProbe.grpc",
      (c) => !c.probes.readiness.includes("grpc"),
      (p) => {
        first(p).readinessProbe = { grpc: { port: 1 } };
      },
    ],
    [
      "spec.containers[0].resources.limits[example.com/fpga]",
      (c) => !c.extendedResources.includes("example.com/fpga"),
      (p) => {
        first(p).resources = { limits: { "example.com/fpga": "1" } };
      },
    ],
    [
      "spec.containers[0].securityContext.seccompProfile",
      (c) => !c.securityContext.includes("seccompProfile"),
      (p) => {
        first(p).securityContext = {
          ...first(p).securityContext,
          seccompProfile: { type: "RuntimeDefault" },
        };
      },
    ],
  ];

  it.each(mutations)("adding an unsupported %s is reported", (field, applies, mutate) => {
    fc.assert(
      fc.property(
        capsArb.filter(applies).chain((caps) => fc.tuple(fc.constant(caps), supportedPodArb(caps))),
        ([caps, pod]) => {
          mutate(pod);
          expect(validatePodAgainstCapabilities(pod, "prop", caps).map((f) => f.field)).toContain(field);
        },
      ),
      { numRuns: 100 },
    );
  });
});
