import { FakeClock } from "@virtual-node/core";
import type { ContainerStatus, ProviderPodStatus, ResolvedPod } from "@virtual-node/core";
import { beforeEach, describe, expect, it } from "vitest";
import { MockAnnotations, MockCloud, createMockProvider } from "../src/index.js";
import type { MockCloudEvent, MockCloudOptions, MockProvider } from "../src/index.js";
import { corePhase, signal, testPod } from "./pods.js";

let clock: FakeClock;
let cloud: MockCloud;
let provider: MockProvider;

function setup(options: MockCloudOptions = {}): void {
  clock = new FakeClock();
  cloud = new MockCloud({ clock, ...options });
  provider = createMockProvider({ cloud });
}

beforeEach(() => {
  setup();
});

async function status(pod: ResolvedPod) {
  const s = await provider.getPodStatus(pod.ref, signal());
  if (s === undefined) throw new Error(`no status for ${pod.ref.name}`);
  return s;
}

function container(s: { containers: ContainerStatus[] }, index = 0): ContainerStatus {
  const c = s.containers[index];
  if (c === undefined) throw new Error("no container status");
  return c;
}

describe("lifecycle", () => {
  it("runs forever and is ready at once by default", async () => {
    const pod = testPod();
    await provider.createPod(pod, signal());
    const s = await status(pod);
    expect(s.phase, "the mock states no phase: core derives it").toBeUndefined();
    expect(corePhase(pod, s)).toBe("Running");
    expect(container(s).ready).toBe(true);
    expect(container(s).state).toEqual({ running: { startedAt: new Date(clock.now()) } });
    expect(s.podIPs).toEqual(["10.244.0.2"]);
    expect(s.hostIP).toBe("10.0.0.1");
  });

  it("waits in ContainerCreating for start-delay with the pod IP already known", async () => {
    const pod = testPod({ annotations: { [MockAnnotations.startDelay]: "2s" } });
    await provider.createPod(pod, signal());
    let s = await status(pod);
    expect(corePhase(pod, s)).toBe("Pending");
    expect(container(s).state).toEqual({ waiting: { reason: "ContainerCreating" } });
    expect(s.podIPs?.[0]).toMatch(/^10\.244\./);
    clock.advance(1999);
    expect(corePhase(pod, await status(pod))).toBe("Pending");
    clock.advance(1);
    s = await status(pod);
    expect(corePhase(pod, s)).toBe("Running");
  });

  it("Never: exit 0 → Succeeded", async () => {
    const pod = testPod({ restartPolicy: "Never", annotations: { [MockAnnotations.runDuration]: "5s" } });
    await provider.createPod(pod, signal());
    const started = clock.now();
    clock.advance(5000);
    const s = await status(pod);
    expect(corePhase(pod, s)).toBe("Succeeded");
    expect(container(s).state).toEqual({
      terminated: {
        exitCode: 0,
        reason: "Completed",
        startedAt: new Date(started),
        finishedAt: new Date(started + 5000),
      },
    });
    expect(container(s).restartCount).toBe(0);
  });

  it("Never: nonzero exit → Failed with the exit code", async () => {
    const pod = testPod({
      restartPolicy: "Never",
      annotations: { [MockAnnotations.runDuration]: "100ms", [MockAnnotations.exitCode]: "3" },
    });
    await provider.createPod(pod, signal());
    clock.advance(100);
    const s = await status(pod);
    expect(corePhase(pod, s)).toBe("Failed");
    expect(container(s).state).toMatchObject({ terminated: { exitCode: 3, reason: "Error" } });
  });

  it("OnFailure: restarts a failing container with CrashLoopBackOff, not a succeeding one", async () => {
    const pod = testPod({
      restartPolicy: "OnFailure",
      containers: [{}, {}],
      annotations: {
        [MockAnnotations.runDuration]: "1s",
        [`${MockAnnotations.exitCode}.app`]: "1",
      },
    });
    await provider.createPod(pod, signal());
    clock.advance(1000);
    let s = await status(pod);
    // First restart is immediate (kubelet behaviour), the next ones back off.
    expect(container(s).state).toHaveProperty("running");
    expect(container(s).restartCount).toBe(1);
    expect(container(s).lastState).toMatchObject({ terminated: { exitCode: 1, reason: "Error" } });
    expect(container(s, 1).state).toMatchObject({ terminated: { exitCode: 0 } });
    expect(corePhase(pod, s)).toBe("Running");
    clock.advance(1000);
    s = await status(pod);
    expect(container(s).state).toMatchObject({ waiting: { reason: "CrashLoopBackOff" } });
    expect(container(s).restartCount).toBe(1);
    expect(corePhase(pod, s)).toBe("Running");
    clock.advance(10_000);
    s = await status(pod);
    expect(container(s).state).toHaveProperty("running");
    expect(container(s).restartCount).toBe(2);
  });

  it("OnFailure: all exit 0 → Succeeded", async () => {
    const pod = testPod({ restartPolicy: "OnFailure", annotations: { [MockAnnotations.runDuration]: "1s" } });
    await provider.createPod(pod, signal());
    clock.advance(1000);
    expect(corePhase(pod, await status(pod))).toBe("Succeeded");
  });

  it("Always: restarts even after exit 0, with doubling backoff capped at the maximum", async () => {
    setup({ backoff: { initialMs: 1000, maxMs: 4000 } });
    const pod = testPod({ annotations: { [MockAnnotations.runDuration]: "0" } });
    await provider.createPod(pod, signal());
    // run 1 ends at once → immediate restart (run 2) ends at once → back-off 1s, 2s, 4s, 4s ...
    let s = await status(pod);
    expect(container(s).restartCount).toBe(1);
    expect(container(s).state).toMatchObject({ waiting: { reason: "CrashLoopBackOff" } });
    for (const [wait, count] of [
      [1000, 2],
      [2000, 3],
      [4000, 4],
      [4000, 5],
    ] as const) {
      clock.advance(wait - 1);
      expect(container(await status(pod)).restartCount).toBe(count - 1);
      clock.advance(1);
      s = await status(pod);
      expect(container(s).restartCount).toBe(count);
    }
    expect(corePhase(pod, s)).toBe("Running");
  });

  it("runs init containers one after another before the main containers", async () => {
    setup({ defaults: { initDurationMs: 1000 } });
    const pod = testPod({ initContainers: [{}, {}] });
    await provider.createPod(pod, signal());
    let s = await status(pod);
    expect(corePhase(pod, s)).toBe("Pending");
    expect(s.initContainers?.map((c) => Object.keys(c.state)[0])).toEqual(["running", "waiting"]);
    expect(container(s).state).toEqual({ waiting: { reason: "PodInitializing" } });
    clock.advance(1000);
    s = await status(pod);
    expect(s.initContainers?.map((c) => Object.keys(c.state)[0])).toEqual(["terminated", "running"]);
    expect(s.initContainers?.[0]?.ready).toBe(true);
    clock.advance(1000);
    s = await status(pod);
    expect(corePhase(pod, s)).toBe("Running");
    expect(container(s).state).toEqual({ running: { startedAt: new Date(clock.now()) } });
  });

  it("a failing init container fails a Never pod and keeps the main container waiting", async () => {
    const pod = testPod({
      restartPolicy: "Never",
      initContainers: [{}],
      annotations: { "mock.virtual-node.io/exit-code.init0": "2" },
    });
    await provider.createPod(pod, signal());
    const s = await status(pod);
    expect(corePhase(pod, s)).toBe("Failed");
    expect(s.initContainers?.[0]?.state).toMatchObject({ terminated: { exitCode: 2 } });
    expect(container(s).state).toEqual({ waiting: { reason: "PodInitializing" } });
  });

  it("starts a sidecar, keeps it running, and stops it when the main containers finish", async () => {
    const pod = testPod({
      restartPolicy: "Never",
      initContainers: [{ restartPolicy: "Always" }],
      annotations: { [MockAnnotations.runDuration]: "3s" },
    });
    await provider.createPod(pod, signal());
    let s = await status(pod);
    expect(corePhase(pod, s)).toBe("Running");
    expect(s.initContainers?.[0]?.state).toHaveProperty("running");
    clock.advance(3000);
    s = await status(pod);
    expect(corePhase(pod, s)).toBe("Succeeded");
    expect(s.initContainers?.[0]?.state).toMatchObject({ terminated: { exitCode: 0, reason: "Completed" } });
  });

  it("honours ready-delay and ready=false", async () => {
    const pod = testPod({
      containers: [{}, { name: "never" }],
      annotations: { [MockAnnotations.readyDelay]: "500ms", "mock.virtual-node.io/ready.never": "false" },
    });
    await provider.createPod(pod, signal());
    expect((await status(pod)).containers.map((c) => c.ready)).toEqual([false, false]);
    clock.advance(500);
    expect((await status(pod)).containers.map((c) => c.ready)).toEqual([true, false]);
  });

  it("create is idempotent by UID; a new UID replaces the group", async () => {
    const pod = testPod({ name: "same" });
    await provider.createPod(pod, signal());
    await provider.createPod(pod, signal());
    expect(await provider.listPods("vn-test", signal())).toHaveLength(1);
    const again = testPod({ name: "same", uid: "uid-new" });
    await provider.createPod(again, signal());
    const list = await provider.listPods("vn-test", signal());
    expect(list.map((p) => p.uid)).toEqual(["uid-new"]);
    expect(await provider.getPodStatus(pod.ref, signal())).toBeUndefined();
    // A late delete of the old pod must not touch the new one.
    await provider.deletePod(pod.ref, 30, signal());
    expect(await provider.getPodStatus(again.ref, signal())).toBeDefined();
  });

  it("delete of a missing pod succeeds; delete removes the group and frees its IP", async () => {
    await provider.deletePod({ namespace: "default", name: "ghost", uid: "x" }, 30, signal());
    const pod = testPod();
    await provider.createPod(pod, signal());
    await provider.deletePod(pod.ref, 30, signal());
    expect(await provider.getPodStatus(pod.ref, signal())).toBeUndefined();
    const next = testPod();
    await provider.createPod(next, signal());
    expect((await status(next)).podIPs).toEqual(["10.244.0.3"]);
  });

  it("delete of a pod that was never created gives back its reserved IP", async () => {
    setup({ podCIDR: "10.9.0.0/30" }); // exactly one usable address
    const allocate = async (pod: ResolvedPod): Promise<string[] | undefined> =>
      provider.allocatePodIPs?.(pod.ref, signal());
    const reservedOnly = testPod();
    expect(await allocate(reservedOnly)).toEqual(["10.9.0.2"]);
    const other = testPod();
    await expect(allocate(other)).rejects.toThrow(/no pod IP left/);
    await provider.deletePod(reservedOnly.ref, 0, signal());
    expect(await allocate(other)).toEqual(["10.9.0.2"]);
  });

  it("a slow shutdown within the grace period ends with exit 0; beyond it with 137", async () => {
    const slow = testPod({ annotations: { [MockAnnotations.stopDelay]: "2s" } });
    await provider.createPod(slow, signal());
    let done = false;
    const deleting = provider.deletePod(slow.ref, 30, signal()).then(() => (done = true));
    await Promise.resolve();
    expect(done).toBe(false);
    clock.advance(2000);
    await deleting;
    expect(await provider.getPodStatus(slow.ref, signal())).toBeUndefined();

    const stubborn = testPod({ annotations: { [MockAnnotations.stopDelay]: "1m" } });
    await provider.createPod(stubborn, signal());
    const seen: unknown[] = [];
    const stop = cloud.watch(undefined, (e) => seen.push(e));
    const deleting2 = provider.deletePod(stubborn.ref, 5, signal());
    clock.advance(5000);
    await deleting2;
    stop();
    const terminated = seen.find(
      (e) => (e as { type: string }).type === "status" && JSON.stringify(e).includes('"exitCode":137'),
    );
    expect(terminated).toBeDefined();
    expect(seen.at(-1)).toMatchObject({ type: "deleted", ref: { name: stubborn.ref.name } });
  });

  it("an image update restarts the container with the new image and keeps the pod running", async () => {
    const pod = testPod();
    await provider.createPod(pod, signal());
    clock.advance(1000);
    const updated = structuredClone(pod);
    const spec = updated.pod.spec;
    if (spec?.containers[0] === undefined) throw new Error("no container");
    spec.containers[0].image = "busybox:1.37";
    await provider.updatePod(updated, { ...signal(), reason: "spec" });
    const s = await status(pod);
    expect(corePhase(pod, s)).toBe("Running");
    expect(container(s).image).toBe("busybox:1.37");
    expect(container(s).restartCount).toBe(1);
    expect((await provider.getGroup("default", pod.ref.name))?.updates).toBe(1);
  });

  it("stores what it received: resolved env with provenance and volume files", async () => {
    const pod = testPod({
      env: [
        {
          name: "PASSWORD",
          value: "hunter2",
          secret: true,
          source: { kind: "secret", name: "db", key: "pw" },
        },
      ],
      volumes: [
        {
          name: "cfg",
          kind: "configMap",
          files: [{ path: "app.conf", content: new TextEncoder().encode("a=1"), mode: 0o644, secret: false }],
        },
      ],
    });
    await provider.createPod(pod, signal());
    const info = await provider.getGroup("default", pod.ref.name);
    expect(info?.spec.containers[0]?.env).toEqual([
      { name: "PASSWORD", value: "hunter2", secret: true, source: { kind: "secret", name: "db", key: "pw" } },
    ]);
    const file = info?.spec.volumes[0]?.files[0];
    expect(file?.path).toBe("app.conf");
    expect(Buffer.from(file?.base64 ?? "", "base64").toString()).toBe("a=1");
    expect(info?.spec.nodeName).toBe("vn-test");
  });

  it("lists only the pods of the node, with ownership marks", async () => {
    const mine = testPod({ nodeName: "vn-a" });
    const theirs = testPod({ nodeName: "vn-b" });
    await provider.createPod(mine, signal());
    await provider.createPod(theirs, signal());
    const list = await provider.listPods("vn-a", signal());
    expect(list.map((p) => [p.name, p.uid, p.nodeName])).toEqual([[mine.ref.name, mine.ref.uid, "vn-a"]]);
    expect(corePhase(mine, list[0]?.status)).toBe("Running");
  });

  it("keeps each node's list and watch right through creates, deletes and a re-created pod", async () => {
    const a = testPod({ nodeName: "vn-a" });
    const b = testPod({ nodeName: "vn-b" });
    const c = testPod({ nodeName: "vn-a" });
    const seen = { a: new Set<string>(), all: new Set<string>(), gone: new Set<string>() };
    const nameOf = (e: MockCloudEvent) =>
      e.type === "sync" ? "" : e.type === "deleted" ? e.ref.name : e.state.name;
    const stopA = cloud.watch("vn-a", (e) => seen.a.add(nameOf(e)));
    const stopAll = cloud.watch(undefined, (e) => seen.all.add(nameOf(e)));
    const stopGone = cloud.watch("vn-gone", (e) => seen.gone.add(nameOf(e)));
    stopGone();
    for (const pod of [a, b, c]) await provider.createPod(pod, signal());
    expect(seen.a).toEqual(new Set(["", a.ref.name, c.ref.name]));
    expect(seen.all).toEqual(new Set(["", a.ref.name, b.ref.name, c.ref.name]));
    expect(seen.gone, "unsubscribed before its sync was delivered").toEqual(new Set());
    stopA();
    stopAll();
    const names = async (node: string | undefined) => (await cloud.listPods(node)).map((g) => g.name);
    expect(await names("vn-a")).toEqual([a.ref.name, c.ref.name].sort());
    expect(await names(undefined)).toEqual([a.ref.name, b.ref.name, c.ref.name].sort());
    await cloud.deletePod(a.ref, 0);
    expect(await names("vn-a")).toEqual([c.ref.name]);
    // The same name re-created for another node (a new UID) leaves the first node's list.
    const moved = testPod({ nodeName: "vn-b", name: c.ref.name });
    await provider.createPod(moved, signal());
    expect(await names("vn-a")).toEqual([]);
    expect(await names("vn-b")).toEqual([b.ref.name, c.ref.name].sort());
    expect(await names("vn-none")).toEqual([]);
    // An update that names another node moves the group to that node's list.
    const info = await cloud.getGroup("default", b.ref.name);
    if (info === undefined) throw new Error("no group");
    await cloud.updatePod({ ...info.spec, nodeName: "vn-c" });
    expect(await names("vn-b")).toEqual([c.ref.name]);
    expect(await names("vn-c")).toEqual([b.ref.name]);
  });

  it("batch status agrees with single status, keyed by namespace/name", async () => {
    const a = testPod();
    await provider.createPod(a, signal());
    const missing = { namespace: "default", name: "missing", uid: "u" };
    const batch = await provider.getPodStatuses([a.ref, missing], signal());
    expect(batch.get(`default/${a.ref.name}`)).toEqual(await provider.getPodStatus(a.ref, signal()));
    expect(batch.has("default/missing")).toBe(true);
    expect(batch.get("default/missing")).toBeUndefined();
  });
});

describe("logs, stats and exec", () => {
  it("generates deterministic, timestamped log lines in a bounded ring", async () => {
    setup({ logs: { intervalMs: 1000, maxLines: 5 } });
    const pod = testPod();
    await provider.createPod(pod, signal());
    const start = clock.now();
    clock.advance(3000);
    const lines = await cloud.logs(pod.ref, "app");
    expect(lines).toEqual([
      { time: start, text: "starting app (image busybox:1.36)" },
      { time: start + 1000, text: "line 1 from app" },
      { time: start + 2000, text: "line 2 from app" },
      { time: start + 3000, text: "line 3 from app" },
    ]);
    clock.advance(3_600_000);
    const later = await cloud.logs(pod.ref, "app", { tailLines: 2 });
    expect(later.map((l) => l.text)).toEqual(["line 3602 from app", "line 3603 from app"]);
    expect(await cloud.logs(pod.ref, "app")).toHaveLength(5);
  });

  it("keeps the previous run's logs after a restart", async () => {
    const pod = testPod({
      restartPolicy: "OnFailure",
      annotations: { [MockAnnotations.runDuration]: "2s", [MockAnnotations.exitCode]: "1" },
    });
    await provider.createPod(pod, signal());
    clock.advance(2000);
    const previous = await cloud.logs(pod.ref, "app", { previous: true });
    expect(previous.at(-1)?.text).toBe("app exited with code 1");
    await expect(cloud.logs(pod.ref, "nope")).rejects.toMatchObject({ code: "VN_NOT_FOUND" });
  });

  it("reports plausible, deterministic usage", async () => {
    const sample = async (): Promise<unknown> => {
      setup();
      const pod = testPod({ name: "stats", uid: "u-stats" });
      await provider.createPod(pod, signal());
      clock.advance(30_000);
      return cloud.stats(pod.ref);
    };
    const a = (await sample()) as Awaited<ReturnType<MockCloud["stats"]>>;
    const [c] = a.containers;
    expect(c?.cpuNanoCores).toBeGreaterThan(0);
    expect(c?.cpuUsageCoreNanoSeconds).toBeGreaterThan(0);
    expect(c?.memoryWorkingSetBytes).toBeGreaterThan(32 * 1024 * 1024);
    expect(await sample()).toEqual(a);
  });

  it("runs the tiny command set", async () => {
    const pod = testPod({ env: [{ name: "A", value: "1", secret: false, source: { kind: "value" } }] });
    await provider.createPod(pod, signal());
    expect(await cloud.exec(pod.ref, "app", ["echo", "hi", "there"])).toEqual({
      stdout: "hi there\n",
      stderr: "",
      exitCode: 0,
    });
    expect(await cloud.exec(pod.ref, "app", ["cat"], { stdin: "abc" })).toMatchObject({ stdout: "abc" });
    expect(await cloud.exec(pod.ref, "app", ["env"])).toMatchObject({ stdout: "A=1\n" });
    expect(await cloud.exec(pod.ref, "app", ["hostname"])).toMatchObject({ stdout: `${pod.ref.name}\n` });
    expect(await cloud.exec(pod.ref, "app", ["sh", "-c", "exit 7"])).toMatchObject({ exitCode: 7 });
    expect(await cloud.exec(pod.ref, "app", ["ls"])).toMatchObject({ exitCode: 127 });
    let slept = false;
    const sleeping = cloud.exec(pod.ref, "app", ["sleep", "2"]).then(() => (slept = true));
    await Promise.resolve();
    clock.advance(1999);
    await Promise.resolve();
    expect(slept).toBe(false);
    clock.advance(1);
    await sleeping;
    expect(slept).toBe(true);
  });
});

describe("push status", () => {
  it("reports each transition of the node's pods, then the removal, in order", async () => {
    const pushed: [string, ProviderPodStatus | undefined][] = [];
    const unsubscribe = provider.subscribeStatus?.("vn-test", (ref, s) => pushed.push([ref.name, s]));
    expect(unsubscribe).toBeTypeOf("function");
    const pod = testPod({
      name: "pushy",
      restartPolicy: "Never",
      annotations: { [MockAnnotations.startDelay]: "1s", [MockAnnotations.runDuration]: "1s" },
    });
    await provider.createPod(pod, signal());
    await provider.createPod(testPod({ nodeName: "elsewhere" }), signal());
    clock.advance(1000);
    clock.advance(1000);
    await provider.deletePod(pod.ref, 30, signal());
    await Promise.resolve();
    const phases = pushed.map(([name, s]) => [name, corePhase(pod, s)]);
    expect(phases.filter((p, i) => i === 0 || JSON.stringify(p) !== JSON.stringify(phases[i - 1]))).toEqual([
      ["pushy", "Pending"],
      ["pushy", "Running"],
      ["pushy", "Succeeded"],
      ["pushy", undefined],
    ]);
    unsubscribe?.();
    await provider.createPod(testPod(), signal());
    expect(pushed.at(-1)).toEqual(["pushy", undefined]);
  });

  it("is absent when pushStatus is false, so core polls", () => {
    expect("subscribeStatus" in createMockProvider({ cloud, pushStatus: false })).toBe(false);
  });
});

describe("node", () => {
  it("describes a large mock node; overrides merge", async () => {
    const node = await createMockProvider({
      cloud,
      node: { labels: { team: "a" }, capacity: { pods: "50" } },
    }).describeNode("vn-test", signal());
    expect(node.capacity).toEqual({ cpu: "1000", memory: "4Ti", pods: "50", "nvidia.com/gpu": "8" });
    expect(node.labels).toMatchObject({
      "topology.kubernetes.io/region": "mock-region-1",
      "node.kubernetes.io/instance-type": "mock.large",
      team: "a",
    });
    expect(node.addresses).toEqual([{ type: "InternalIP", address: "10.0.0.1" }]);
    await expect(provider.ping(signal())).resolves.toBeUndefined();
    expect(provider.capabilities.extendedResources).toEqual(["nvidia.com/gpu"]);
    expect(createMockProvider({ capabilities: { initContainers: false } }).capabilities.initContainers).toBe(
      false,
    );
  });
});
