import { describe, expect, it } from "vitest";
import type {
  Container,
  KubeContainerStatus,
  Pod,
  PodCondition,
  PodSpec,
  PodStatus,
} from "../src/kube/types.js";
import type { ContainerStatus, PodPhase, ProviderPodStatus } from "../src/provider.js";
import {
  buildPodStatus,
  computeQOSClass,
  failedPodStatus,
  isTerminalPhase,
  mergePodStatus,
  pendingWithContainerWaiting,
  podStatusEqual,
  terminatedPodStatus,
} from "../src/status.js";

const T0 = new Date("2025-01-01T00:00:00Z");
const T1 = new Date("2025-01-01T00:01:00Z");
const NOW = new Date("2025-01-01T00:02:00Z");
const ctx = { now: NOW, hostIP: "10.0.0.1", runtime: "mock" };

type SpecInput = Partial<Omit<PodSpec, "containers" | "initContainers">> & {
  containers?: (string | Container)[];
  initContainers?: (string | Container)[];
};

function container(c: string | Container): Container {
  return typeof c === "string" ? { name: c, image: `${c}:1` } : { image: `${c.name}:1`, ...c };
}

function makePod(spec: SpecInput = {}, status?: PodStatus, deleting = false): Pod {
  const { containers = ["app"], initContainers, ...rest } = spec;
  return {
    metadata: {
      name: "p",
      namespace: "ns",
      uid: "uid-1",
      ...(deleting ? { deletionTimestamp: NOW } : {}),
    },
    spec: {
      ...rest,
      containers: containers.map(container),
      ...(initContainers === undefined ? {} : { initContainers: initContainers.map(container) }),
    },
    ...(status === undefined ? {} : { status }),
  };
}

const sidecar = (name: string): Container => ({ name, restartPolicy: "Always" });

const running = (name: string, extra: Partial<ContainerStatus> = {}): ContainerStatus => ({
  name,
  state: { running: { startedAt: T0 } },
  ...extra,
});
const waiting = (
  name: string,
  reason = "ContainerCreating",
  extra: Partial<ContainerStatus> = {},
): ContainerStatus => ({
  name,
  state: { waiting: { reason } },
  ...extra,
});
const exited = (name: string, exitCode: number, extra: Partial<ContainerStatus> = {}): ContainerStatus => ({
  name,
  state: { terminated: { exitCode, startedAt: T0, finishedAt: T1 } },
  ...extra,
});
const crashLooping = (name: string, lastExit = 1): ContainerStatus =>
  waiting(name, "CrashLoopBackOff", {
    lastState: { terminated: { exitCode: lastExit } },
    restartCount: 1,
  });

function provider(containers: ContainerStatus[], extra: Partial<ProviderPodStatus> = {}): ProviderPodStatus {
  return { containers, ...extra };
}

function condition(status: PodStatus, type: string): PodCondition | undefined {
  return status.conditions?.find((c) => c.type === type);
}

function containerStatus(status: PodStatus, name: string): KubeContainerStatus | undefined {
  return [...(status.initContainerStatuses ?? []), ...(status.containerStatuses ?? [])].find(
    (s) => s.name === name,
  );
}

/** What the API server hands back: JSON, so every Date became an RFC 3339 string. */
function roundTrip(status: PodStatus): PodStatus {
  return JSON.parse(JSON.stringify(status)) as PodStatus;
}

describe("isTerminalPhase", () => {
  it.each([
    ["Succeeded", true],
    ["Failed", true],
    ["Running", false],
    ["Pending", false],
    ["Unknown", false],
    [undefined, false],
  ])("%s → %s", (phase, expected) => {
    expect(isTerminalPhase(phase)).toBe(expected);
  });
});

describe("buildPodStatus: phase (kubelet getPhase)", () => {
  type Row = [string, SpecInput, ProviderPodStatus | undefined, PodPhase];
  const two = { containers: ["a", "b"] };
  const rows: Row[] = [
    ["provider has no pod yet", {}, undefined, "Pending"],
    ["all containers waiting", {}, provider([waiting("app", "ErrImagePull")]), "Pending"],
    ["all running", two, provider([running("a"), running("b")]), "Running"],
    ["one running, one never started", two, provider([running("a"), waiting("b")]), "Pending"],
    ["one running, one not reported", two, provider([running("a")]), "Pending"],
    ["one running, one crash-looping", two, provider([running("a"), crashLooping("b")]), "Running"],
    [
      "crash-looping without lastState but restartCount > 0 (OnFailure)",
      { restartPolicy: "OnFailure" },
      provider([waiting("app", "CrashLoopBackOff", { restartCount: 2 })]),
      "Running",
    ],
    [
      "Always, all exited 0: restarting",
      { ...two, restartPolicy: "Always" },
      provider([exited("a", 0), exited("b", 0)]),
      "Running",
    ],
    [
      "Always, one failed: restarting",
      { ...two, restartPolicy: "Always" },
      provider([exited("a", 1), exited("b", 0)]),
      "Running",
    ],
    ["default policy is Always", two, provider([exited("a", 0), exited("b", 0)]), "Running"],
    [
      "OnFailure, all exited 0",
      { ...two, restartPolicy: "OnFailure" },
      provider([exited("a", 0), exited("b", 0)]),
      "Succeeded",
    ],
    [
      "OnFailure, one failed: restarting",
      { ...two, restartPolicy: "OnFailure" },
      provider([exited("a", 1), exited("b", 0)]),
      "Running",
    ],
    [
      "Never, all exited 0",
      { ...two, restartPolicy: "Never" },
      provider([exited("a", 0), exited("b", 0)]),
      "Succeeded",
    ],
    [
      "Never, one failed",
      { ...two, restartPolicy: "Never" },
      provider([exited("a", 0), exited("b", 137)]),
      "Failed",
    ],
    [
      "Never, one failed, one still running",
      { ...two, restartPolicy: "Never" },
      provider([exited("a", 1), running("b")]),
      "Running",
    ],
    [
      "provider phase wins",
      { restartPolicy: "Never" },
      provider([running("app")], { phase: "Failed" }),
      "Failed",
    ],
    ["provider may say Unknown", {}, provider([running("app")], { phase: "Unknown" }), "Unknown"],
  ];
  it.each(rows)("%s", (_, spec, reported, expected) => {
    expect(buildPodStatus(makePod(spec), reported, ctx).phase).toBe(expected);
  });
});

describe("buildPodStatus: phase with init containers and sidecars", () => {
  type Row = [string, SpecInput, ProviderPodStatus, PodPhase];
  const init = (restartPolicy: string, initContainers: (string | Container)[] = ["init"]): SpecInput => ({
    restartPolicy,
    initContainers,
  });
  const rows: Row[] = [
    ["init not reported", init("Always"), provider([]), "Pending"],
    ["init running", init("Always"), provider([], { initContainers: [running("init")] }), "Pending"],
    [
      "init succeeded, app running",
      init("Always"),
      provider([running("app")], { initContainers: [exited("init", 0)] }),
      "Running",
    ],
    [
      "init succeeded, app not started",
      init("Always"),
      provider([], { initContainers: [exited("init", 0)] }),
      "Pending",
    ],
    ["init failed, Never", init("Never"), provider([], { initContainers: [exited("init", 1)] }), "Failed"],
    [
      "init failed, OnFailure: retried",
      init("OnFailure"),
      provider([], { initContainers: [exited("init", 1)] }),
      "Pending",
    ],
    [
      "init failed, Always: retried",
      init("Always"),
      provider([], { initContainers: [exited("init", 2)] }),
      "Pending",
    ],
    [
      "init crash-looping, Never",
      init("Never"),
      provider([], { initContainers: [crashLooping("init")] }),
      "Failed",
    ],
    [
      "init crash-looping, Always",
      init("Always"),
      provider([], { initContainers: [crashLooping("init")] }),
      "Pending",
    ],
    [
      "first init done, second pending",
      init("Always", ["i1", "i2"]),
      provider([], { initContainers: [exited("i1", 0), running("i2")] }),
      "Pending",
    ],
    [
      "sidecar started, app running",
      init("Always", [sidecar("proxy")]),
      provider([running("app")], { initContainers: [running("proxy", { started: true })] }),
      "Running",
    ],
    [
      "sidecar running but startup probe not passed",
      init("Always", [sidecar("proxy")]),
      provider([], { initContainers: [running("proxy", { started: false })] }),
      "Pending",
    ],
    [
      "sidecar restarting after the app started",
      init("Always", [sidecar("proxy")]),
      provider([running("app")], { initContainers: [crashLooping("proxy")] }),
      "Running",
    ],
    [
      "Never: app done, sidecar stopped",
      init("Never", [sidecar("proxy")]),
      provider([exited("app", 0)], { initContainers: [exited("proxy", 143)] }),
      "Succeeded",
    ],
  ];
  it.each(rows)("%s", (_, spec, reported, expected) => {
    expect(buildPodStatus(makePod(spec), reported, ctx).phase).toBe(expected);
  });
});

describe("buildPodStatus: container statuses", () => {
  it("lists containers in spec order, fills image, IDs and defaults", () => {
    const pod = makePod({ containers: ["web", "log", "side"] });
    const status = buildPodStatus(
      pod,
      provider([
        running("side", { ready: false }),
        exited("log", 0),
        running("web", { imageID: "sha256:abc" }),
      ]),
      ctx,
    );
    expect(status.containerStatuses?.map((s) => s.name)).toEqual(["web", "log", "side"]);
    expect(status.containerStatuses?.[0]).toEqual({
      name: "web",
      state: { running: { startedAt: T0 } },
      lastState: {},
      ready: true,
      started: true,
      restartCount: 0,
      image: "web:1",
      imageID: "sha256:abc",
      containerID: "mock://uid-1-web",
    });
    expect(containerStatus(status, "log")).toMatchObject({
      ready: false,
      started: false,
      containerID: "mock://uid-1-log",
      state: {
        terminated: {
          exitCode: 0,
          reason: "Completed",
          startedAt: T0,
          finishedAt: T1,
          containerID: "mock://uid-1-log",
        },
      },
    });
    expect(containerStatus(status, "side")).toMatchObject({ ready: false, started: true });
  });

  it("keeps what the provider says: image, IDs, restart count, last state, reasons", () => {
    const status = buildPodStatus(
      makePod({ containers: ["a", "b"] }),
      provider([
        running("a", {
          image: "docker.io/a:1",
          containerID: "aci://x",
          restartCount: 3,
          lastState: { terminated: { exitCode: 2, reason: "OOMKilled" } },
        }),
        exited("b", 1),
      ]),
      ctx,
    );
    expect(containerStatus(status, "a")).toMatchObject({
      image: "docker.io/a:1",
      containerID: "aci://x",
      restartCount: 3,
      lastState: { terminated: { exitCode: 2, reason: "OOMKilled" } },
    });
    expect(containerStatus(status, "b")?.state?.terminated?.reason).toBe("Error");
  });

  it("a started container whose startup probe has not passed is neither started nor ready", () => {
    const status = buildPodStatus(makePod(), provider([running("app", { started: false })]), ctx);
    expect(containerStatus(status, "app")).toMatchObject({ started: false, ready: false });
  });

  it.each([
    ["no init containers", {}, "app", "ContainerCreating"],
    ["app of a pod with init containers", { initContainers: ["init"] }, "app", "PodInitializing"],
    ["init container", { initContainers: ["init"] }, "init", "PodInitializing"],
  ])("unreported container waits (%s)", (_, spec: SpecInput, name, reason) => {
    const status = buildPodStatus(makePod(spec), undefined, ctx);
    const s = containerStatus(status, name);
    expect(s?.state).toEqual({ waiting: { reason } });
    expect(s).toMatchObject({ ready: false, started: false, restartCount: 0, imageID: "" });
    expect(s?.containerID).toBeUndefined();
  });

  it("never-started waiting containers get no container ID; restarted ones do", () => {
    const status = buildPodStatus(
      makePod({ containers: ["a", "b"] }),
      provider([waiting("a"), crashLooping("b")]),
      ctx,
    );
    expect(containerStatus(status, "a")?.containerID).toBeUndefined();
    expect(containerStatus(status, "b")?.containerID).toBe("mock://uid-1-b");
  });

  it("init containers are ready once they exited 0; sidecars once running", () => {
    const status = buildPodStatus(
      makePod({ initContainers: ["i1", "i2", sidecar("proxy")] }),
      provider([running("app")], { initContainers: [exited("i1", 0), exited("i2", 1), running("proxy")] }),
      ctx,
    );
    expect(status.initContainerStatuses?.map((s) => [s.name, s.ready])).toEqual([
      ["i1", true],
      ["i2", false],
      ["proxy", true],
    ]);
  });

  it("keeps a previous terminated status the provider no longer reports", () => {
    const first = buildPodStatus(makePod({ restartPolicy: "Never" }), provider([exited("app", 0)]), ctx);
    const again = buildPodStatus(makePod({ restartPolicy: "Never" }, roundTrip(first)), provider([]), ctx);
    expect(containerStatus(again, "app")?.state?.terminated).toMatchObject({ exitCode: 0, finishedAt: T1 });
    expect(again.phase).toBe("Succeeded");
  });

  it("a running container that vanished is recorded as lost (exit 137) and restarted", () => {
    const first = buildPodStatus(makePod(), provider([running("app")]), ctx);
    const again = buildPodStatus(makePod({}, roundTrip(first)), provider([]), ctx);
    const s = containerStatus(again, "app");
    expect(s?.state?.waiting?.reason).toBe("ContainerCreating");
    expect(s?.lastState?.terminated).toMatchObject({ exitCode: 137, reason: "ContainerStatusUnknown" });
    expect(s?.restartCount).toBe(1);
    expect(again.phase).toBe("Running");
    const deleting = buildPodStatus(makePod({}, roundTrip(first), true), provider([]), ctx);
    expect(containerStatus(deleting, "app")?.restartCount).toBe(0);
  });

  it("an init container the provider dropped after the app started is assumed completed", () => {
    const status = buildPodStatus(makePod({ initContainers: ["init"] }), provider([running("app")]), ctx);
    expect(containerStatus(status, "init")).toMatchObject({
      ready: true,
      state: { terminated: { exitCode: 0 } },
    });
    expect(status.phase).toBe("Running");
  });

  it("infers a restart the provider did not describe", () => {
    const first = buildPodStatus(makePod(), provider([exited("app", 1)]), ctx);
    const again = buildPodStatus(makePod({}, roundTrip(first)), provider([running("app")]), ctx);
    const s = containerStatus(again, "app");
    expect(s?.lastState?.terminated).toMatchObject({ exitCode: 1, finishedAt: T1 });
    expect(s?.restartCount).toBe(1);
  });
});

describe("buildPodStatus: conditions", () => {
  const types = (status: PodStatus) => status.conditions?.map((c) => [c.type, c.status, c.reason, c.message]);

  it("a running, ready pod", () => {
    const status = buildPodStatus(makePod(), provider([running("app")], { podIPs: ["10.1.0.5"] }), ctx);
    expect(types(status)).toEqual([
      ["PodReadyToStartContainers", "True", undefined, undefined],
      ["Initialized", "True", undefined, undefined],
      ["Ready", "True", undefined, undefined],
      ["ContainersReady", "True", undefined, undefined],
      ["PodScheduled", "True", undefined, undefined],
    ]);
    expect(status.conditions?.every((c) => c.lastTransitionTime === NOW)).toBe(true);
  });

  it("a pod the provider does not have yet", () => {
    const status = buildPodStatus(makePod({ containers: ["a", "b"] }), undefined, ctx);
    expect(types(status)).toEqual([
      ["PodReadyToStartContainers", "False", undefined, undefined],
      ["Initialized", "True", undefined, undefined],
      ["Ready", "False", "ContainersNotReady", "containers with unready status: [a b]"],
      ["ContainersReady", "False", "ContainersNotReady", "containers with unready status: [a b]"],
      ["PodScheduled", "True", undefined, undefined],
    ]);
  });

  it.each([
    ["all waiting, no IP", provider([waiting("app")]), "False"],
    ["waiting but has an IP", provider([waiting("app")], { podIPs: ["10.1.0.5"] }), "True"],
    ["a container ran", provider([crashLooping("app")]), "True"],
    ["running", provider([running("app")]), "True"],
    ["terminal", provider([exited("app", 0)], { phase: "Succeeded" }), "False"],
  ])("PodReadyToStartContainers: %s", (_, reported, expected) => {
    expect(condition(buildPodStatus(makePod(), reported, ctx), "PodReadyToStartContainers")?.status).toBe(
      expected,
    );
  });

  it("lists unready containers in spec order, sidecars first", () => {
    const status = buildPodStatus(
      makePod({ containers: ["a", "b", "c"], initContainers: [sidecar("proxy")] }),
      provider([running("c", { ready: false }), running("b"), waiting("a")], {
        initContainers: [running("proxy", { ready: false })],
      }),
      ctx,
    );
    expect(condition(status, "ContainersReady")?.message).toBe("containers with unready status: [proxy a c]");
    expect(condition(status, "Ready")).toMatchObject({ status: "False", reason: "ContainersNotReady" });
  });

  it.each([
    ["Succeeded", "Never", [exited("app", 0)], "PodCompleted", "PodCompleted"],
    ["Failed", "Never", [exited("app", 1)], "PodFailed", undefined],
  ])("terminal phase %s: not ready", (phase, restartPolicy, containers, readyReason, initReason) => {
    const status = buildPodStatus(makePod({ restartPolicy }), provider(containers), ctx);
    expect(status.phase).toBe(phase);
    expect(condition(status, "Ready")).toMatchObject({ status: "False", reason: readyReason });
    expect(condition(status, "ContainersReady")).toMatchObject({ status: "False", reason: readyReason });
    expect(condition(status, "Initialized")?.reason).toBe(initReason);
  });

  it.each([
    ["init containers not reported", [], "False", "containers with incomplete status: [i1 i2]"],
    ["first init done", [exited("i1", 0)], "False", "containers with incomplete status: [i2]"],
    ["first init failed", [exited("i1", 1)], "False", "containers with incomplete status: [i1 i2]"],
    ["all init done", [exited("i1", 0), exited("i2", 0)], "True", undefined],
  ])("Initialized: %s", (_, initContainers, expected, message) => {
    const status = buildPodStatus(
      makePod({ initContainers: ["i1", "i2"] }),
      provider([], { initContainers }),
      ctx,
    );
    const c = condition(status, "Initialized");
    expect(c?.status).toBe(expected);
    expect(c?.message).toBe(message);
    if (expected === "False") expect(c?.reason).toBe("ContainersNotInitialized");
  });

  it("Initialized: a sidecar counts once started; a started app means initialized", () => {
    const spec = { initContainers: [sidecar("proxy")] };
    const notStarted = buildPodStatus(
      makePod(spec),
      provider([], { initContainers: [running("proxy", { started: false })] }),
      ctx,
    );
    expect(condition(notStarted, "Initialized")?.status).toBe("False");
    const restarting = buildPodStatus(
      makePod(spec),
      provider([running("app")], { initContainers: [crashLooping("proxy")] }),
      ctx,
    );
    expect(condition(restarting, "Initialized")?.status).toBe("True");
  });

  describe("readiness gates", () => {
    const gated = (conditions: PodCondition[]) =>
      makePod({ readinessGates: [{ conditionType: "example.com/lb" }] }, { conditions });
    it.each([
      [
        "missing",
        [],
        "False",
        'corresponding condition of pod readiness gate "example.com/lb" does not exist.',
      ],
      [
        "False",
        [{ type: "example.com/lb", status: "False" }],
        "False",
        'the status of pod readiness gate "example.com/lb" is not "True", but False',
      ],
      ["True", [{ type: "example.com/lb", status: "True" }], "True", undefined],
    ])("gate condition %s", (_, conditions: PodCondition[], ready, message) => {
      const status = buildPodStatus(gated(conditions), provider([running("app")]), ctx);
      expect(condition(status, "ContainersReady")?.status).toBe("True");
      expect(condition(status, "Ready")?.status).toBe(ready);
      expect(condition(status, "Ready")?.message).toBe(message);
      if (ready === "False") expect(condition(status, "Ready")?.reason).toBe("ReadinessGatesNotReady");
      // The gate's own condition belongs to someone else: kept as it was.
      expect(status.conditions?.filter((c) => c.type === "example.com/lb")).toHaveLength(conditions.length);
    });
  });

  it("keeps lastTransitionTime while the status does not change (string or Date)", () => {
    const existing: PodStatus = roundTrip({
      conditions: [
        { type: "Ready", status: "True", lastTransitionTime: T0 },
        { type: "ContainersReady", status: "False", lastTransitionTime: T0 },
        { type: "PodScheduled", status: "True", lastTransitionTime: T1 },
        { type: "DisruptionTarget", status: "True", reason: "Preemption", lastTransitionTime: T0 },
      ],
    });
    const status = buildPodStatus(makePod({}, existing), provider([running("app")]), ctx);
    expect(condition(status, "Ready")?.lastTransitionTime).toEqual(T0);
    expect(condition(status, "ContainersReady")?.lastTransitionTime).toEqual(NOW);
    expect(condition(status, "PodScheduled")?.lastTransitionTime).toEqual(T1);
    expect(condition(status, "Initialized")?.lastTransitionTime).toEqual(NOW);
    expect(condition(status, "DisruptionTarget")).toEqual({
      type: "DisruptionTarget",
      status: "True",
      reason: "Preemption",
      lastTransitionTime: T0,
    });
    expect(condition(status, "Ready")?.lastTransitionTime).toBeInstanceOf(Date);
  });
});

describe("buildPodStatus: IPs, times, reason", () => {
  it.each([
    [
      "provider IPs, v4 node: v4 first, one per family",
      {},
      { podIPs: ["fd00::5", "10.1.0.5", "10.1.0.6"] },
      undefined,
      "10.1.0.5",
      ["10.1.0.5", "fd00::5"],
    ],
    [
      "the node's family decides the order, not a host IP the provider reports",
      {},
      { podIPs: ["fd00::5", "10.1.0.5"], hostIP: "fd00::1" },
      undefined,
      "10.1.0.5",
      ["10.1.0.5", "fd00::5"],
    ],
    ["junk dropped", {}, { podIPs: ["not-an-ip", "10.1.0.5"] }, undefined, "10.1.0.5", ["10.1.0.5"]],
    ["host network: the host IP", { hostNetwork: true }, {}, undefined, "10.0.0.1", ["10.0.0.1"]],
    [
      "none reported: existing kept",
      {},
      {},
      { podIP: "10.9.9.9", podIPs: [{ ip: "10.9.9.9" }] },
      "10.9.9.9",
      ["10.9.9.9"],
    ],
    ["none anywhere", {}, {}, undefined, undefined, undefined],
  ])("%s", (_, spec: SpecInput, extra: Partial<ProviderPodStatus>, existing, podIP, podIPs) => {
    const status = buildPodStatus(makePod(spec, existing), provider([running("app")], extra), ctx);
    expect(status.podIP).toBe(podIP);
    expect(status.podIPs?.map((p) => p.ip)).toEqual(podIPs);
  });

  it.each([
    ["the node's IP", {}, "10.0.0.1"],
    // One value: the node's InternalIP is also what a `status.hostIP` env var resolves to.
    ["the node's host IP over the provider's", { hostIP: "192.168.1.7" }, "10.0.0.1"],
  ])("hostIP: %s", (_, extra: Partial<ProviderPodStatus>, hostIP) => {
    const status = buildPodStatus(makePod(), provider([running("app")], extra), ctx);
    expect(status.hostIP).toBe(hostIP);
    expect(status.hostIPs).toEqual([{ ip: hostIP }]);
  });

  it("a v6 node: v6 pod IPs first; without a node IP the provider's host IP is used", () => {
    const extra = { podIPs: ["10.1.0.5", "fd00::5"], hostIP: "fd00::1" };
    const v6 = buildPodStatus(makePod(), provider([running("app")], extra), { ...ctx, hostIP: "fd00::9" });
    expect(v6.podIPs?.map((p) => p.ip)).toEqual(["fd00::5", "10.1.0.5"]);
    expect(v6.hostIP).toBe("fd00::9");
    const none = buildPodStatus(makePod(), provider([running("app")], extra), { now: NOW, runtime: "mock" });
    expect(none.hostIP).toBe("fd00::1");
    expect(none.podIP).toBe("fd00::5");
  });

  it("ephemeral containers: waiting with a reason when the provider cannot run them, else as reported", () => {
    const pod = makePod({ ephemeralContainers: [{ name: "debugger", image: "busybox" }] });
    const refused = buildPodStatus(pod, provider([running("app")]), {
      ...ctx,
      ephemeralContainersUnsupported: "spec.ephemeralContainers is not supported by provider mock",
    });
    expect(refused.ephemeralContainerStatuses).toEqual([
      {
        name: "debugger",
        state: {
          waiting: {
            reason: "EphemeralContainersNotSupported",
            message: "spec.ephemeralContainers is not supported by provider mock",
          },
        },
        lastState: {},
        ready: false,
        restartCount: 0,
        image: "busybox",
        imageID: "",
      },
    ]);
    expect(refused.phase).toBe("Running");
    const pending = buildPodStatus(pod, provider([running("app")]), ctx);
    expect(pending.ephemeralContainerStatuses?.[0]?.state?.waiting?.reason).toBe("ContainerCreating");
    const runs = buildPodStatus(
      pod,
      { ...provider([running("app")]), ephemeralContainers: [running("debugger")] },
      ctx,
    );
    expect(runs.ephemeralContainerStatuses?.[0]?.state?.running).toBeDefined();
  });

  it.each([
    ["existing (a string from the informer) wins", roundTrip({ startTime: T0 }), { startTime: T1 }, T0],
    ["else the provider's", undefined, { startTime: T1 }, T1],
    ["else now (the kubelet acknowledges the pod)", undefined, {}, NOW],
  ])("startTime: %s", (_, existing: PodStatus | undefined, extra: Partial<ProviderPodStatus>, expected) => {
    const status = buildPodStatus(makePod({}, existing), provider([], extra), ctx);
    expect(status.startTime).toEqual(expected);
    expect(status.startTime).toBeInstanceOf(Date);
  });

  it.each([
    ["provider's", undefined, { reason: "Evicted", message: "out of quota" }, "Evicted", "out of quota"],
    ["kept while the phase is unchanged", { phase: "Running", reason: "X", message: "m" }, {}, "X", "m"],
    [
      "dropped when the phase changes",
      { phase: "Pending", reason: "X", message: "m" },
      {},
      undefined,
      undefined,
    ],
  ])(
    "reason/message: %s",
    (_, existing: PodStatus | undefined, extra: Partial<ProviderPodStatus>, reason, message) => {
      const status = buildPodStatus(makePod({}, existing), provider([running("app")], extra), ctx);
      expect(status.reason).toBe(reason);
      expect(status.message).toBe(message);
    },
  );

  it("builds the same status from its own round-tripped output (no write loops)", () => {
    const pod = makePod({
      containers: ["a", "b"],
      initContainers: ["i"],
      readinessGates: [{ conditionType: "g" }],
    });
    const reported = provider([running("a"), crashLooping("b")], {
      initContainers: [exited("i", 0)],
      podIPs: ["10.1.0.5"],
    });
    const first = buildPodStatus(pod, reported, { ...ctx, now: new Date("2025-01-01T00:02:00.123Z") });
    const stored = roundTrip(mergePodStatus(undefined, first));
    const later = { ...ctx, now: new Date("2025-01-01T00:09:00Z") };
    const next = mergePodStatus(stored, buildPodStatus({ ...pod, status: stored }, reported, later), {
      spec: pod.spec,
    });
    expect(podStatusEqual(stored, next)).toBe(true);
  });
});

describe("computeQOSClass (kubelet rules)", () => {
  const res = (requests?: Record<string, string>, limits?: Record<string, string>) => ({
    ...(requests === undefined ? {} : { requests }),
    ...(limits === undefined ? {} : { limits }),
  });
  const withResources = (...list: ReturnType<typeof res>[]) =>
    makePod({ containers: list.map((resources, i) => ({ name: `c${i}`, resources })) });
  const guaranteed = res({ cpu: "1", memory: "1Gi" }, { cpu: "1", memory: "1Gi" });

  it.each([
    ["no resources", withResources(res()), "BestEffort"],
    [
      "only extended resources",
      withResources(res({ "nvidia.com/gpu": "1" }, { "nvidia.com/gpu": "1" })),
      "BestEffort",
    ],
    ["zero quantities", withResources(res({ cpu: "0", memory: "0" })), "BestEffort"],
    ["requests only", withResources(res({ cpu: "100m" })), "Burstable"],
    ["limits equal requests", withResources(guaranteed), "Guaranteed"],
    [
      "equal in other units",
      withResources(res({ cpu: "1000m", memory: "1024Mi" }, { cpu: "1", memory: "1Gi" })),
      "Guaranteed",
    ],
    [
      "decimal and exponent forms",
      withResources(res({ cpu: "0.5", memory: "1e9" }, { cpu: "500m", memory: "1G" })),
      "Guaranteed",
    ],
    [
      "limits only (requests default to limits)",
      withResources(res(undefined, { cpu: "2", memory: "1Gi" })),
      "Guaranteed",
    ],
    [
      "limit above request",
      withResources(res({ cpu: "1", memory: "1Gi" }, { cpu: "2", memory: "1Gi" })),
      "Burstable",
    ],
    ["memory limit missing", withResources(res({ cpu: "1" }, { cpu: "1" })), "Burstable"],
    ["one container without resources", withResources(guaranteed, res()), "Burstable"],
    ["two guaranteed containers", withResources(guaranteed, guaranteed), "Guaranteed"],
    [
      "init container counts",
      makePod({ containers: [{ name: "a", resources: guaranteed }], initContainers: ["i"] }),
      "Burstable",
    ],
    [
      "pod-level resources win",
      makePod({ resources: res(undefined, { cpu: "1", memory: "1Gi" }), containers: ["a"] }),
      "Guaranteed",
    ],
  ])("%s → %s", (_, pod, expected) => {
    expect(computeQOSClass(pod)).toBe(expected);
    expect(buildPodStatus(pod, undefined, ctx).qosClass).toBe(expected);
  });

  it("keeps the class already recorded (it is immutable)", () => {
    expect(buildPodStatus(makePod({}, { qosClass: "Guaranteed" }), undefined, ctx).qosClass).toBe(
      "Guaranteed",
    );
  });
});

describe("mergePodStatus", () => {
  const spec = (restartPolicy: string, initContainers?: Container[]): PodSpec => ({
    restartPolicy,
    containers: [{ name: "app" }],
    ...(initContainers === undefined ? {} : { initContainers }),
  });
  const build = (restartPolicy: string, reported: ContainerStatus[], existing?: PodStatus) =>
    buildPodStatus(makePod({ restartPolicy }, existing), provider(reported), ctx);

  it("without an existing status returns next", () => {
    const next = build("Always", [running("app")]);
    expect(mergePodStatus(undefined, next)).toBe(next);
  });

  it.each([
    ["Succeeded → Running", "Succeeded", "Running"],
    ["Succeeded → Pending", "Succeeded", "Pending"],
    ["Failed → Running", "Failed", "Running"],
    ["Succeeded → Failed", "Succeeded", "Failed"],
    ["Failed → Succeeded", "Failed", "Succeeded"],
  ])("terminal phases are sticky: %s", (_, from, to) => {
    const existing: PodStatus = { phase: from, reason: "R", message: "M" };
    const merged = mergePodStatus(existing, { phase: to, reason: "other" });
    expect(merged).toMatchObject({ phase: from, reason: "R", message: "M" });
  });

  it("a sticky terminal status keeps its container states and is not ready", () => {
    const done = roundTrip(build("Always", [exited("app", 0)]));
    const existing = { ...done, phase: "Succeeded" };
    const next = build("Always", [running("app", { restartCount: 1 })], existing);
    const merged = mergePodStatus(existing, next, { spec: spec("Always") });
    expect(merged.phase).toBe("Succeeded");
    expect(merged.containerStatuses?.[0]?.state?.terminated?.exitCode).toBe(0);
    expect(condition(merged, "Ready")?.status).toBe("False");
    expect(condition(merged, "ContainersReady")?.status).toBe("False");
  });

  it.each([
    ["Pending → Running", "Pending", "Running", "Running"],
    ["Running → Pending (never)", "Running", "Pending", "Running"],
    ["Running → Succeeded", "Running", "Succeeded", "Succeeded"],
    ["Running → Failed", "Running", "Failed", "Failed"],
    ["Pending → Failed", "Pending", "Failed", "Failed"],
  ])("phase %s", (_, from, to, expected) => {
    expect(mergePodStatus({ phase: from }, { phase: to }).phase).toBe(expected);
  });

  it.each([
    ["Never: terminated stays", "Never", 1, running("app"), "terminated"],
    ["Never: even with a restart count", "Never", 0, running("app", { restartCount: 1 }), "terminated"],
    ["OnFailure after exit 0: stays", "OnFailure", 0, running("app"), "terminated"],
    ["OnFailure after a failure: restarts", "OnFailure", 1, running("app", { restartCount: 1 }), "running"],
    ["Always: restarts", "Always", 0, running("app", { restartCount: 1 }), "running"],
    ["Always: back-off", "Always", 1, crashLooping("app"), "waiting"],
  ])(
    "container transitions (kubelet checkContainerStateTransition): %s",
    (_, policy, exitCode, now, expected) => {
      const existing = roundTrip({ ...build(policy, [exited("app", exitCode)]), phase: "Running" });
      const merged = mergePodStatus(existing, build(policy, [now], existing), { spec: spec(policy) });
      expect(Object.keys(merged.containerStatuses?.[0]?.state ?? {})).toEqual([expected]);
    },
  );

  it.each([
    ["same restart count, no last state: stays", running("app"), "terminated"],
    ["restart count went up: restarts", running("app", { restartCount: 1 }), "running"],
    ["last state recorded: back-off", crashLooping("app"), "waiting"],
  ])("without the spec, a restart needs evidence: %s", (_, now, expected) => {
    const existing = roundTrip({ ...build("Always", [exited("app", 1)]), phase: "Running" });
    const next: PodStatus = { ...existing, containerStatuses: build("Always", [now]).containerStatuses };
    const merged = mergePodStatus(existing, next);
    expect(Object.keys(merged.containerStatuses?.[0]?.state ?? {})).toEqual([expected]);
  });

  it("a kept terminated container makes the pod not ready", () => {
    const existing = roundTrip(build("Never", [exited("app", 1)]));
    const existingRunning = { ...existing, phase: "Running" };
    const next = build("Never", [running("app")], existingRunning);
    expect(condition(next, "Ready")?.status).toBe("True");
    const merged = mergePodStatus(existingRunning, next, { spec: spec("Never"), now: NOW });
    expect(condition(merged, "Ready")).toMatchObject({
      status: "False",
      reason: "ContainersNotReady",
      message: "containers with unready status: [app]",
    });
    expect(condition(merged, "ContainersReady")?.status).toBe("False");
  });

  it("a sidecar may restart under restartPolicy Never", () => {
    const init = [sidecar("proxy")];
    const pod = makePod({ restartPolicy: "Never", initContainers: init });
    const existing = roundTrip(
      buildPodStatus(pod, provider([running("app")], { initContainers: [exited("proxy", 1)] }), ctx),
    );
    const next = buildPodStatus(
      { ...pod, status: existing },
      provider([running("app")], { initContainers: [running("proxy", { restartCount: 1 })] }),
      ctx,
    );
    const merged = mergePodStatus(existing, next, { spec: spec("Never", init) });
    expect(merged.initContainerStatuses?.[0]?.state?.running).toBeDefined();
  });

  it("keeps startTime, qosClass, fields it does not own and conditions it does not own", () => {
    const existing: PodStatus = {
      phase: "Running",
      startTime: T0,
      qosClass: "Burstable",
      nominatedNodeName: "n1",
      conditions: [
        { type: "example.com/lb", status: "True", lastTransitionTime: T0 },
        { type: "Ready", status: "True", lastTransitionTime: T0 },
      ],
    };
    const next: PodStatus = {
      phase: "Running",
      startTime: T1,
      qosClass: "BestEffort",
      conditions: [
        { type: "example.com/lb", status: "False" },
        { type: "Ready", status: "True", lastTransitionTime: T0 },
      ],
    };
    const merged = mergePodStatus(existing, next);
    expect(merged.startTime).toEqual(T0);
    expect(merged.qosClass).toBe("Burstable");
    expect(merged.nominatedNodeName).toBe("n1");
    expect(condition(merged, "example.com/lb")?.status).toBe("True");
    expect(merged.conditions).toHaveLength(2);
  });

  it("drops owned fields the next status no longer has", () => {
    const merged = mergePodStatus(
      { phase: "Pending", reason: "Old", podIP: "10.0.0.9" },
      { phase: "Pending" },
    );
    expect(merged.reason).toBeUndefined();
    expect(merged.podIP).toBeUndefined();
  });

  it("forces Ready False when next is terminal but claims ready", () => {
    const merged = mergePodStatus(
      { phase: "Running", conditions: [{ type: "Ready", status: "True", lastTransitionTime: T0 }] },
      { phase: "Failed", conditions: [{ type: "Ready", status: "True", lastTransitionTime: T0 }] },
      { now: NOW },
    );
    expect(condition(merged, "Ready")).toEqual({
      type: "Ready",
      status: "False",
      reason: "PodFailed",
      lastTransitionTime: NOW,
    });
  });
});

describe("failedPodStatus (kubelet rejectPod)", () => {
  it("a pod that never ran: phase, reason, message, no container statuses", () => {
    const pod = makePod({}, { phase: "Pending", conditions: [{ type: "example.com/x", status: "True" }] });
    const status = failedPodStatus(pod, "UnsupportedPodSpec", "spec.hostPID is not supported", NOW);
    expect(status).toMatchObject({
      phase: "Failed",
      reason: "UnsupportedPodSpec",
      message: "spec.hostPID is not supported",
      startTime: NOW,
      qosClass: "BestEffort",
    });
    expect(status.containerStatuses).toBeUndefined();
    expect(status.initContainerStatuses).toBeUndefined();
    expect(status.conditions?.map((c) => [c.type, c.status, c.reason])).toEqual([
      ["example.com/x", "True", undefined],
      ["Ready", "False", "PodFailed"],
      ["ContainersReady", "False", "PodFailed"],
      ["PodScheduled", "True", undefined],
    ]);
  });

  it("replaces waiting defaults: merged with the existing status it has no container statuses", () => {
    const pending = roundTrip(buildPodStatus(makePod(), undefined, ctx));
    const failed = failedPodStatus(makePod({}, pending), "X", "m", NOW);
    const merged = mergePodStatus(pending, failed);
    expect(merged.phase).toBe("Failed");
    expect(merged.containerStatuses).toBeUndefined();
    expect(merged.startTime).toEqual(NOW);
  });

  it("a pod that ran: its containers are terminated as lost", () => {
    const runningStatus = roundTrip(buildPodStatus(makePod(), provider([running("app")]), ctx));
    const status = failedPodStatus(makePod({}, runningStatus), "ProviderPodLost", "gone", NOW);
    expect(status).toMatchObject({ phase: "Failed", reason: "ProviderPodLost", message: "gone" });
    expect(containerStatus(status, "app")?.state?.terminated).toMatchObject({
      exitCode: 137,
      reason: "ContainerStatusUnknown",
    });
  });
});

describe("pendingWithContainerWaiting", () => {
  const why = 'configmap "cfg" not found';

  it.each([
    ["every regular container by default", { containers: ["a", "b"] }, undefined, { a: why, b: why }],
    [
      "the first init container when there are init containers",
      { initContainers: ["i1", "i2"] },
      undefined,
      { i1: why, i2: "PodInitializing", app: "PodInitializing" },
    ],
    ["the named containers", { containers: ["a", "b"] }, ["b"], { a: "ContainerCreating", b: why }],
  ])("affects %s", (_, spec: SpecInput, names: string[] | undefined, expected: Record<string, string>) => {
    const status = pendingWithContainerWaiting(makePod(spec), "CreateContainerConfigError", why, NOW, names);
    expect(status.phase).toBe("Pending");
    expect(status.reason).toBeUndefined();
    for (const [name, text] of Object.entries(expected)) {
      const w = containerStatus(status, name)?.state?.waiting;
      if (text === why) expect(w).toEqual({ reason: "CreateContainerConfigError", message: why });
      else expect(w).toEqual({ reason: text });
    }
  });

  it("conditions say the containers are not ready", () => {
    const status = pendingWithContainerWaiting(makePod(), "CreateContainerConfigError", why, NOW);
    expect(condition(status, "Ready")).toMatchObject({
      status: "False",
      reason: "ContainersNotReady",
      message: "containers with unready status: [app]",
    });
    expect(condition(status, "PodScheduled")?.status).toBe("True");
    expect(status.startTime).toEqual(NOW);
  });
});

describe("terminatedPodStatus (kubelet TerminatePod)", () => {
  it("running containers become exit 137 ContainerStatusUnknown and the pod Failed", () => {
    const existing = roundTrip(
      buildPodStatus(makePod({ containers: ["a", "b"] }), provider([running("a"), exited("b", 0)]), ctx),
    );
    const status = terminatedPodStatus(makePod({ containers: ["a", "b"] }), existing, NOW);
    expect(status.phase).toBe("Failed");
    expect(containerStatus(status, "a")).toMatchObject({
      ready: false,
      started: false,
      state: {
        terminated: {
          exitCode: 137,
          reason: "ContainerStatusUnknown",
          message: "The container could not be located when the pod was terminated",
          startedAt: T0,
          finishedAt: NOW,
        },
      },
    });
    expect(containerStatus(status, "b")?.state?.terminated).toMatchObject({
      exitCode: 0,
      reason: "Completed",
    });
    expect(condition(status, "Ready")).toMatchObject({ status: "False", reason: "PodFailed" });
    expect(condition(status, "PodReadyToStartContainers")?.status).toBe("False");
    expect(status.podIP).toBe(existing.podIP);
  });

  it("final states from the provider, all exit 0: Succeeded", () => {
    const pod = makePod({ containers: ["a", "b"] });
    const final = buildPodStatus(pod, provider([exited("a", 0), exited("b", 0)]), ctx);
    const status = terminatedPodStatus(pod, final, NOW);
    expect(status.phase).toBe("Succeeded");
    expect(condition(status, "Ready")?.reason).toBe("PodCompleted");
  });

  it("a terminal phase is kept", () => {
    const status = terminatedPodStatus(makePod(), { phase: "Failed", reason: "Evicted" }, NOW);
    expect(status).toMatchObject({ phase: "Failed", reason: "Evicted" });
  });

  it("a pod that never initialized: only the started init container is terminated", () => {
    const pod = makePod({ initContainers: ["i1", "i2"] });
    const existing = roundTrip(buildPodStatus(pod, provider([], { initContainers: [running("i1")] }), ctx));
    const status = terminatedPodStatus(pod, existing, NOW);
    expect(status.phase).toBe("Failed");
    expect(containerStatus(status, "i1")?.state?.terminated?.exitCode).toBe(137);
    expect(containerStatus(status, "i2")?.state?.waiting?.reason).toBe("PodInitializing");
    expect(containerStatus(status, "app")?.state?.waiting?.reason).toBe("PodInitializing");
  });

  it("without any status: containers never ran, the pod fails", () => {
    const status = terminatedPodStatus(makePod(), undefined, NOW);
    expect(status.phase).toBe("Failed");
    expect(status.startTime).toEqual(NOW);
    expect(containerStatus(status, "app")?.state?.terminated?.exitCode).toBe(137);
  });
});

describe("podStatusEqual", () => {
  const base = buildPodStatus(
    makePod({ containers: ["a", "b"] }),
    provider([running("a"), running("b")], { podIPs: ["10.1.0.5"] }),
    { ...ctx, now: new Date("2025-01-01T00:02:00.987Z") },
  );
  const reversed: PodStatus = {
    ...base,
    conditions: [...(base.conditions ?? [])].reverse(),
    containerStatuses: [...(base.containerStatuses ?? [])].reverse(),
  };
  const withNulls = {
    ...roundTrip(base),
    nominatedNodeName: null,
    ephemeralContainerStatuses: [],
    conditions: roundTrip(base).conditions?.map((c) => ({ ...c, lastProbeTime: null })),
  } as unknown as PodStatus;

  it.each([
    ["identical", base, base, true],
    ["Date vs RFC 3339 string (JSON round trip)", base, roundTrip(base), true],
    [
      "sub-second differences",
      base,
      { ...base, startTime: new Date((base.startTime?.getTime() ?? 0) - 400) },
      true,
    ],
    ["order of conditions and containers", base, reversed, true],
    ["null, [] and absent alike; lastProbeTime ignored", base, withNulls, true],
    [
      "lastProbeTime differs",
      base,
      { ...base, conditions: base.conditions?.map((c) => ({ ...c, lastProbeTime: NOW })) },
      true,
    ],
    ["undefined vs undefined", undefined, undefined, true],
    ["phase differs", base, { ...base, phase: "Pending" }, false],
    [
      "one second later",
      base,
      { ...base, startTime: new Date((base.startTime?.getTime() ?? 0) + 1000) },
      false,
    ],
    [
      "a condition flips",
      base,
      {
        ...base,
        conditions: base.conditions?.map((c) => (c.type === "Ready" ? { ...c, status: "False" } : c)),
      },
      false,
    ],
    [
      "a restart count",
      base,
      { ...base, containerStatuses: base.containerStatuses?.map((c) => ({ ...c, restartCount: 1 })) },
      false,
    ],
    ["a pod IP", base, { ...base, podIP: "10.1.0.6" }, false],
    ["undefined vs a status", undefined, base, false],
  ])("%s", (_, a, b, expected) => {
    expect(podStatusEqual(a, b)).toBe(expected);
    expect(podStatusEqual(b, a)).toBe(expected);
  });
});
