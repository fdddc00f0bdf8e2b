import { errorCode } from "@virtual-node/core";
import type { Pod } from "@virtual-node/core/kube";
import { buildPodStatus } from "@virtual-node/core/status";
import { describe, expect, it } from "vitest";
import {
  MockAnnotations,
  mockCapabilities,
  parseDuration,
  toMockGroupSpec,
  toProviderPodStatus,
} from "../src/index.js";
import type { MockContainerState, MockGroupState, MockRestartPolicy } from "../src/index.js";
import { testPod } from "./pods.js";

describe("parseDuration", () => {
  it.each([
    ["1500", 1500],
    ["2s", 2000],
    ["1m30s", 90_000],
    ["250ms", 250],
    ["1.5s", 1500],
    ["1h", 3_600_000],
    ["500us", 1],
  ])("%s → %d ms", (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });
  it.each(["", "abc", "-1s", "2 s", "1d"])("rejects %j", (text) => {
    expect(parseDuration(text)).toBeUndefined();
  });
});

describe("toMockGroupSpec", () => {
  it("maps a resolved PersistentVolume, keeping its Secrets by name and keys only", () => {
    const secret = {
      name: "csi-creds",
      namespace: "storage",
      data: { password: new TextEncoder().encode("p4ss"), username: new TextEncoder().encode("u") },
    };
    const spec = toMockGroupSpec(
      testPod({
        volumes: [
          {
            name: "data",
            kind: "persistentVolumeClaim",
            files: [],
            persistentVolume: {
              claimName: "shared",
              volumeName: "pv-shared",
              readOnly: true,
              accessModes: ["ReadWriteMany"],
              capacity: "10Gi",
              volumeMode: "Filesystem",
              csi: {
                driver: "example.csi.k8s.io",
                volumeHandle: "vol-1",
                volumeAttributes: { share: "a" },
                nodePublishSecret: secret,
              },
            },
          },
        ],
      }),
      { capabilities: mockCapabilities },
    );
    expect(spec.volumes[0]?.persistentVolume).toEqual({
      claimName: "shared",
      volumeName: "pv-shared",
      readOnly: true,
      accessModes: ["ReadWriteMany"],
      capacity: "10Gi",
      volumeMode: "Filesystem",
      csi: {
        driver: "example.csi.k8s.io",
        volumeHandle: "vol-1",
        volumeAttributes: { share: "a" },
        nodePublishSecret: { name: "csi-creds", namespace: "storage", keys: ["password", "username"] },
      },
    });
    expect(JSON.stringify(spec)).not.toContain("p4ss");
  });

  it("maps the pod and the behaviour annotations, per-container forms first", () => {
    const spec = toMockGroupSpec(
      testPod({
        name: "web",
        uid: "u1",
        restartPolicy: "OnFailure",
        containers: [{ ports: [{ containerPort: 53, protocol: "UDP" }] }, { name: "worker" }],
        initContainers: [{}, { name: "proxy", restartPolicy: "Always" }],
        annotations: {
          [MockAnnotations.startDelay]: "2s",
          [MockAnnotations.stopDelay]: "1500",
          [MockAnnotations.runDuration]: "10s",
          [MockAnnotations.exitCode]: "1",
          "mock.virtual-node.io/exit-code.worker": "0",
          "mock.virtual-node.io/run-duration.worker": "forever",
          "mock.virtual-node.io/run-duration.init0": "3s",
          [MockAnnotations.ready]: "false",
          [MockAnnotations.readyDelay]: "1s",
          [MockAnnotations.failCreate]: "Retryable:2",
        },
      }),
    );
    expect(spec).toMatchObject({
      namespace: "default",
      name: "web",
      uid: "u1",
      nodeName: "vn-test",
      restartPolicy: "OnFailure",
      startDelayMs: 2000,
      stopDelayMs: 1500,
      failCreate: { code: "VN_RETRYABLE", times: 2 },
    });
    expect(spec.containers[0]).toMatchObject({
      name: "app",
      runDurationMs: 10_000,
      exitCode: 1,
      ready: false,
      readyDelayMs: 1000,
      ports: [{ containerPort: 53, protocol: "UDP" }],
    });
    expect(spec.containers[1]).toMatchObject({ name: "worker", runDurationMs: null, exitCode: 0 });
    // Pod-level knobs apply to main containers only; init containers take per-container forms.
    expect(spec.initContainers[0]).toEqual({
      name: "init0",
      image: "busybox:1.36",
      env: [],
      runDurationMs: 3000,
    });
    expect(spec.initContainers[1]).toMatchObject({ name: "proxy", restartPolicy: "Always" });
  });

  it.each([
    ["no containers", testPod({ containers: [] }), "VN_INVALID_INPUT", "spec.containers"],
    ["no image", testPod({ containers: [{ image: "" }] }), "VN_INVALID_INPUT", "spec.containers[0].image"],
    [
      "duplicate names",
      testPod({ containers: [{ name: "a" }, { name: "a" }] }),
      "VN_INVALID_INPUT",
      "spec.containers[1].name",
    ],
    [
      "bad duration",
      testPod({ annotations: { [MockAnnotations.startDelay]: "soon" } }),
      "VN_INVALID_INPUT",
      "metadata.annotations['mock.virtual-node.io/start-delay']",
    ],
    [
      "bad exit code",
      testPod({ annotations: { [MockAnnotations.exitCode]: "300" } }),
      "VN_INVALID_INPUT",
      "metadata.annotations['mock.virtual-node.io/exit-code']",
    ],
    [
      "bad fail-create",
      testPod({ annotations: { [MockAnnotations.failCreate]: "Sometimes" } }),
      "VN_INVALID_INPUT",
      "metadata.annotations['mock.virtual-node.io/fail-create']",
    ],
    [
      "undeclared volume kind",
      testPod({ volumes: [{ name: "logs", kind: "hostPath", files: [] }] }),
      "VN_UNSUPPORTED",
      "spec.volumes[0].hostPath",
    ],
    [
      "a claim core did not resolve",
      testPod({ volumes: [{ name: "data", kind: "persistentVolumeClaim", files: [] }] }),
      "VN_INVALID_INPUT",
      "spec.volumes[0].persistentVolumeClaim",
    ],
  ])("rejects %s", (_name, pod, code, field) => {
    let thrown: unknown;
    try {
      toMockGroupSpec(pod, { capabilities: mockCapabilities });
    } catch (error) {
      thrown = error;
    }
    expect(errorCode(thrown)).toBe(code);
    expect(thrown).toMatchObject({ field });
  });
});

function c(state: Partial<MockContainerState>): MockContainerState {
  return {
    name: "c",
    image: "i",
    containerId: "x",
    state: "running",
    ready: true,
    started: true,
    restartCount: 0,
    ...state,
  };
}
const running = c({ name: "running" });
const waiting = c({ name: "waiting", state: "waiting", reason: "ContainerCreating" });
const ok = c({ name: "exit0", state: "terminated", exitCode: 0 });
const failed = c({ name: "exit1", state: "terminated", exitCode: 1 });
const backingOff = c({
  name: "backoff",
  state: "waiting",
  reason: "CrashLoopBackOff",
  lastTermination: { exitCode: 1, reason: "Error", startedAt: 0, finishedAt: 1 },
});

/**
 * The mock reports no phase of its own: core derives it (`buildPodStatus`, the kubelet's `getPhase`)
 * from the container states the mock translates, so this table checks that translation end to end.
 */
function phaseThroughCore(
  restartPolicy: MockRestartPolicy,
  init: readonly MockContainerState[],
  main: readonly MockContainerState[],
): string | undefined {
  // Unique names: a table row may use the same sample container twice.
  const initContainers = init.map((x, i) => ({ ...x, name: `init${String(i)}-${x.name}` }));
  const containers = main.map((x, i) => ({ ...x, name: `main${String(i)}-${x.name}` }));
  const pod: Pod = {
    metadata: { namespace: "default", name: "p", uid: "u" },
    spec: {
      restartPolicy,
      initContainers: initContainers.map((x) => ({
        name: x.name,
        image: x.image,
        ...(x.sidecar === true ? { restartPolicy: "Always" } : {}),
      })),
      containers: containers.map((x) => ({ name: x.name, image: x.image })),
    },
  };
  const state: MockGroupState = {
    namespace: "default",
    name: "p",
    uid: "u",
    nodeName: "vn-test",
    restartPolicy,
    stage: "Running",
    createdAt: 0,
    podIP: "10.244.0.2",
    hostIP: "10.0.0.1",
    revision: 1,
    initContainers,
    containers,
  };
  const status = toProviderPodStatus(state);
  expect(status.phase, "the mock leaves the phase to core").toBeUndefined();
  return buildPodStatus(pod, status, { now: new Date(0), runtime: "mock" }).phase;
}

describe("phase derived by core from the mock's container states (kubelet rules)", () => {
  it.each([
    ["Pending", "Always", [], [waiting]],
    ["Pending", "Always", [], [running, waiting]],
    ["Running", "Always", [], [running]],
    ["Running", "Always", [], [ok]],
    ["Running", "Always", [], [backingOff]],
    ["Succeeded", "Never", [], [ok, ok]],
    ["Failed", "Never", [], [ok, failed]],
    ["Running", "Never", [], [running, failed]],
    ["Succeeded", "OnFailure", [], [ok]],
    ["Running", "OnFailure", [], [backingOff, ok]],
    ["Pending", "Never", [running], [waiting]],
    ["Failed", "Never", [failed], [waiting]],
    ["Pending", "OnFailure", [failed], [waiting]],
    ["Running", "Never", [ok, c({ name: "sidecar", sidecar: true })], [running]],
  ] as const)("%s with restartPolicy %s (case %#)", (phase, policy, init, containers) => {
    expect(
      phaseThroughCore(policy, init, containers),
      [...init, ...containers].map((x) => x.name).join(),
    ).toBe(phase);
  });
});
