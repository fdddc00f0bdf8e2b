import { describe, expect, it } from "vitest";
import { AbortedError, FakeClock, RetryableError, podKey } from "@virtual-node/core";
import type { PodRef, ProviderPodStatus } from "@virtual-node/core";
import { createListStatusSource, isSettledStatus } from "@virtual-node/core/provider-kit";
import type { ListStatusSourceOptions } from "@virtual-node/core/provider-kit";

/** A cloud object as a list call returns it; `detail` is only filled by `get`. */
interface CloudObject {
  namespace: string;
  name: string;
  uid: string;
  node?: string;
  rev: number;
  state: "starting" | "running" | "done";
  /** Present on the detailed object only (the list view of ACI lacks container states). */
  exitCode?: number;
  detailed?: boolean;
}

function toStatus(o: CloudObject): ProviderPodStatus {
  if (o.state === "starting")
    return {
      phase: "Pending",
      containers: [{ name: "c", state: { waiting: { reason: "ContainerCreating" } } }],
    };
  if (o.state === "running")
    return {
      phase: "Running",
      containers: [{ name: "c", state: { running: { startedAt: new Date(0) } }, ready: true }],
    };
  return {
    phase: o.exitCode === 0 ? "Succeeded" : "Failed",
    containers: [{ name: "c", state: { terminated: { exitCode: o.exitCode ?? -1 } } }],
  };
}

class FakeCloud {
  objects = new Map<string, CloudObject>();
  lists = 0;
  gets = 0;
  pageSize = 100;
  /** When set, list waits for this promise before answering (to test sharing of a round in flight). */
  gate: Promise<void> | undefined;
  failList: Error | undefined;
  failGet: Error | undefined;

  add(i: number, state: CloudObject["state"] = "running", extra: Partial<CloudObject> = {}): CloudObject {
    const o: CloudObject = { namespace: "ns", name: `pod-${i}`, uid: `uid-${i}`, rev: 1, state, ...extra };
    this.objects.set(`${o.namespace}/${o.name}/${o.uid}`, o);
    return o;
  }

  async *list(): AsyncIterable<CloudObject[]> {
    this.lists++;
    // The answer is what the cloud held when the call arrived, however long it then takes.
    const all = [...this.objects.values()].map((o) => ({ ...o }));
    if (this.gate !== undefined) await this.gate;
    if (this.failList !== undefined) throw this.failList;
    for (let i = 0; i < all.length; i += this.pageSize) {
      await Promise.resolve();
      yield all.slice(i, i + this.pageSize);
    }
  }

  get(ref: PodRef): Promise<CloudObject | undefined> {
    this.gets++;
    if (this.failGet !== undefined) return Promise.reject(this.failGet);
    const o = this.objects.get(`${ref.namespace}/${ref.name}/${ref.uid}`);
    return Promise.resolve(o === undefined ? undefined : { ...o, detailed: true, exitCode: o.exitCode ?? 0 });
  }
}

function makeSource(
  cloud: FakeCloud,
  clock: FakeClock,
  extra: Partial<ListStatusSourceOptions<CloudObject>> = {},
) {
  return createListStatusSource<CloudObject>({
    list: () => cloud.list(),
    identify: (o) => ({
      namespace: o.namespace,
      name: o.name,
      uid: o.uid,
      ...(o.node === undefined ? {} : { nodeName: o.node }),
    }),
    fingerprint: (o) => `${o.rev}`,
    toStatus,
    clock,
    ...extra,
  });
}

const refOf = (i: number, uid = `uid-${i}`): PodRef => ({ namespace: "ns", name: `pod-${i}`, uid });
const call = () => ({ signal: new AbortController().signal });

describe("createListStatusSource", () => {
  it("answers 1,000 pods in batches of 100 from one paged list per interval", async () => {
    const clock = new FakeClock();
    const cloud = new FakeCloud();
    for (let i = 0; i < 1000; i++) cloud.add(i);
    const source = makeSource(cloud, clock);
    const refs = Array.from({ length: 1000 }, (_, i) => refOf(i));

    for (let round = 0; round < 3; round++) {
      for (let b = 0; b < refs.length; b += 100) {
        const statuses = await source.getPodStatuses(refs.slice(b, b + 100), call());
        expect(statuses.size).toBe(100);
        expect(statuses.get(podKey(refs[b] as PodRef))?.phase).toBe("Running");
      }
      clock.advance(1000); // still inside the slow interval (all pods settled)
    }
    expect(cloud.lists).toBe(1);
    expect(source.stats()).toMatchObject({ lists: 1, pages: 10, objects: 1000, gets: 0, intervalMs: 15_000 });

    clock.advance(15_000);
    await source.getPodStatuses(refs.slice(0, 100), call());
    expect(cloud.lists).toBe(2);
  });

  it("shares a list in flight among concurrent callers", async () => {
    const clock = new FakeClock();
    const cloud = new FakeCloud();
    for (let i = 0; i < 10; i++) cloud.add(i);
    let open!: () => void;
    cloud.gate = new Promise((resolve) => (open = resolve));
    const source = makeSource(cloud, clock);
    const calls = Array.from({ length: 20 }, (_, i) => source.getPodStatus(refOf(i % 10), call()));
    const listed = source.listPods("vn", call());
    await Promise.resolve();
    open();
    const statuses = await Promise.all(calls);
    expect(statuses.every((s) => s?.phase === "Running")).toBe(true);
    expect(await listed).toHaveLength(10);
    expect(cloud.lists).toBe(1);
  });

  it("lists fast while pods start and slowly once all are settled", async () => {
    const clock = new FakeClock();
    const cloud = new FakeCloud();
    const starting = cloud.add(0, "starting");
    cloud.add(1, "running");
    const source = makeSource(cloud, clock, { fastIntervalMs: 2000, slowIntervalMs: 15_000 });
    const refs = [refOf(0), refOf(1)];

    await source.getPodStatuses(refs, call());
    expect(source.stats().intervalMs).toBe(2000);
    clock.advance(1999);
    await source.getPodStatuses(refs, call());
    expect(cloud.lists).toBe(1);
    clock.advance(1);
    starting.state = "running";
    starting.rev++;
    const now = await source.getPodStatuses(refs, call());
    expect(cloud.lists).toBe(2);
    expect(now.get("ns/pod-0")?.phase).toBe("Running");
    expect(source.stats().intervalMs).toBe(15_000);

    clock.advance(14_999);
    await source.getPodStatuses(refs, call());
    expect(cloud.lists).toBe(2);
    clock.advance(1);
    await source.getPodStatuses(refs, call());
    expect(cloud.lists).toBe(3);
  });

  it("lists fast again while an asked pod is missing (it may be starting)", async () => {
    const clock = new FakeClock();
    const cloud = new FakeCloud();
    cloud.add(0, "running");
    const source = makeSource(cloud, clock);
    const statuses = await source.getPodStatuses([refOf(0), refOf(1)], call());
    expect(statuses.has("ns/pod-1")).toBe(true);
    expect(statuses.get("ns/pod-1")).toBeUndefined();
    expect(source.stats().intervalMs).toBe(2000);
  });

  it("gets details only for changed objects that need them, cached by fingerprint", async () => {
    const clock = new FakeClock();
    const cloud = new FakeCloud();
    for (let i = 0; i < 50; i++) cloud.add(i, i < 10 ? "done" : "running");
    const source = makeSource(cloud, clock, {
      // The list view lacks the exit code of finished containers.
      needsDetail: (o) => o.state === "done" && o.detailed !== true,
      get: (ref) => cloud.get(ref),
    });
    const refs = Array.from({ length: 50 }, (_, i) => refOf(i));
    const first = await source.getPodStatuses(refs, call());
    expect(first.get("ns/pod-3")?.phase).toBe("Succeeded");
    expect(cloud.gets).toBe(10);

    clock.advance(60_000);
    await source.getPodStatuses(refs, call());
    expect(cloud.lists).toBe(2);
    expect(cloud.gets).toBe(10); // nothing changed

    const changed = [...cloud.objects.values()].find((o) => o.name === "pod-12");
    if (changed === undefined) throw new Error("fixture");
    changed.state = "done";
    changed.exitCode = 3;
    changed.rev++;
    clock.advance(60_000);
    const third = await source.getPodStatuses(refs, call());
    expect(cloud.gets).toBe(11);
    expect(third.get("ns/pod-12")?.phase).toBe("Failed");
    expect(source.stats().gets).toBe(11);
  });

  it("treats an object that get reports gone as missing", async () => {
    const clock = new FakeClock();
    const cloud = new FakeCloud();
    cloud.add(0, "done");
    const source = makeSource(cloud, clock, {
      needsDetail: (o) => o.state === "done",
      get: () => Promise.resolve(undefined), // deleted between the list and the get
    });
    const statuses = await source.getPodStatuses([refOf(0)], call());
    expect(statuses.has("ns/pod-0")).toBe(true);
    expect(statuses.get("ns/pod-0")).toBeUndefined();
    expect(await source.listPods(undefined, call())).toEqual([]);
  });

  it("keeps the last detail when a get fails, and fails the read when there is none", async () => {
    const clock = new FakeClock();
    const cloud = new FakeCloud();
    const o = cloud.add(0, "done");
    const source = makeSource(cloud, clock, {
      needsDetail: (x) => x.state === "done",
      get: (ref) => cloud.get(ref),
    });
    expect((await source.getPodStatus(refOf(0), call()))?.phase).toBe("Succeeded");
    o.rev++;
    cloud.failGet = new RetryableError("throttled");
    clock.advance(60_000);
    expect((await source.getPodStatus(refOf(0), call()))?.phase).toBe("Succeeded");
    cloud.add(1, "done");
    clock.advance(60_000);
    await expect(source.getPodStatus(refOf(1), call())).rejects.toThrow(RetryableError);
    cloud.failGet = undefined;
    expect((await source.getPodStatus(refOf(1), call()))?.phase).toBe("Succeeded");
  });

  it("answers undefined for a pod whose UID differs, and picks the right one of two", async () => {
    const clock = new FakeClock();
    const cloud = new FakeCloud();
    cloud.add(0, "done", { uid: "old", exitCode: 1 });
    cloud.add(0, "starting", { uid: "new" });
    cloud.add(1, "running", { uid: "x" });
    const source = makeSource(cloud, clock);
    const statuses = await source.getPodStatuses([refOf(0, "new"), refOf(1, "other")], call());
    expect(statuses.get("ns/pod-0")?.phase).toBe("Pending");
    expect(statuses.has("ns/pod-1")).toBe(true);
    expect(statuses.get("ns/pod-1")).toBeUndefined();
    expect((await source.getPodStatus(refOf(0, "old"), call()))?.phase).toBe("Failed");
  });

  it("lists again after invalidate, also when the list in flight started before it", async () => {
    const clock = new FakeClock();
    const cloud = new FakeCloud();
    const source = makeSource(cloud, clock);
    expect(await source.getPodStatus(refOf(0), call())).toBeUndefined();

    cloud.add(0, "starting");
    source.invalidate(refOf(0));
    expect((await source.getPodStatus(refOf(0), call()))?.phase).toBe("Pending");
    expect(cloud.lists).toBe(2);

    // A round is in flight; the pod is deleted and invalidated meanwhile; a later reader must not
    // get the round's (stale) answer.
    let open!: () => void;
    cloud.gate = new Promise((resolve) => (open = resolve));
    clock.advance(5000);
    const early = source.getPodStatus(refOf(0), call());
    await new Promise((resolve) => setImmediate(resolve));
    expect(cloud.lists).toBe(3);
    cloud.objects.clear();
    source.invalidate(refOf(0));
    const late = source.getPodStatus(refOf(0), call());
    await new Promise((resolve) => setImmediate(resolve));
    open();
    cloud.gate = undefined;
    expect((await early)?.phase).toBe("Pending"); // answered from the round it joined
    expect(await late).toBeUndefined();
    expect(cloud.lists).toBe(4);
  });

  it("lists pods of a node with their status", async () => {
    const clock = new FakeClock();
    const cloud = new FakeCloud();
    cloud.add(0, "running", { node: "vn-a" });
    cloud.add(1, "starting", { node: "vn-b" });
    cloud.add(2, "running"); // no node mark: the list is this node's already
    const source = makeSource(cloud, clock);
    const pods = await source.listPods("vn-a", call());
    expect(pods.map((p) => [p.name, p.uid, p.nodeName, p.status?.phase])).toEqual([
      ["pod-0", "uid-0", "vn-a", "Running"],
      ["pod-2", "uid-2", "vn-a", "Running"],
    ]);
    expect(await source.listPods(undefined, call())).toHaveLength(3);
    expect(cloud.lists).toBe(1);
  });

  it("rejects the callers of a failed list and lists again on the next read", async () => {
    const clock = new FakeClock();
    const cloud = new FakeCloud();
    cloud.add(0);
    cloud.failList = new RetryableError("list throttled");
    const source = makeSource(cloud, clock);
    await expect(source.getPodStatus(refOf(0), call())).rejects.toThrow("list throttled");
    cloud.failList = undefined;
    expect((await source.getPodStatus(refOf(0), call()))?.phase).toBe("Running");
    expect(source.stats()).toMatchObject({ lists: 1, listErrors: 1 });
  });

  it("lets one caller give up without failing the others", async () => {
    const clock = new FakeClock();
    const cloud = new FakeCloud();
    cloud.add(0);
    let open!: () => void;
    cloud.gate = new Promise((resolve) => (open = resolve));
    const source = makeSource(cloud, clock);
    const quitter = new AbortController();
    const quitting = source.getPodStatus(refOf(0), { signal: quitter.signal });
    const staying = source.getPodStatus(refOf(0), call());
    quitter.abort();
    await expect(quitting).rejects.toThrow(AbortedError);
    open();
    expect((await staying)?.phase).toBe("Running");
    expect(cloud.lists).toBe(1);
  });

  it("stops the shared list when its only caller aborts, and a new caller lists afresh", async () => {
    const clock = new FakeClock();
    const cloud = new FakeCloud();
    cloud.add(0);
    let listSignal: AbortSignal | undefined;
    const source = makeSource(cloud, clock, {
      list: (signal) => {
        listSignal = signal;
        return cloud.list();
      },
    });
    let open!: () => void;
    cloud.gate = new Promise((resolve) => (open = resolve));
    const quitter = new AbortController();
    const quitting = source.getPodStatus(refOf(0), { signal: quitter.signal });
    quitter.abort();
    await expect(quitting).rejects.toThrow(AbortedError);
    expect(listSignal?.aborted).toBe(true);
    cloud.gate = undefined;
    open();
    expect((await source.getPodStatus(refOf(0), call()))?.phase).toBe("Running");
    expect(source.stats().listErrors).toBe(0);
  });

  it("accepts a list that answers one array", async () => {
    const clock = new FakeClock();
    const source = createListStatusSource<CloudObject>({
      list: () => Promise.resolve([{ namespace: "ns", name: "a", uid: "u", rev: 1, state: "running" }]),
      identify: (o) => ({ namespace: o.namespace, name: o.name, uid: o.uid }),
      fingerprint: (o) => String(o.rev),
      toStatus,
      clock,
    });
    expect((await source.getPodStatus({ namespace: "ns", name: "a", uid: "u" }, call()))?.phase).toBe(
      "Running",
    );
    expect(source.stats()).toMatchObject({ lists: 1, pages: 1, objects: 1 });
  });
});

describe("isSettledStatus", () => {
  const running = (ready?: boolean): ProviderPodStatus["containers"][number] => ({
    name: "c",
    state: { running: { startedAt: new Date(0) } },
    ...(ready === undefined ? {} : { ready }),
  });
  it.each([
    [{ phase: "Succeeded", containers: [] }, true],
    [{ phase: "Failed", containers: [] }, true],
    [{ phase: "Pending", containers: [running()] }, false],
    [{ containers: [running(), running(true)] }, true],
    [{ phase: "Running", containers: [running(), running(false)] }, false],
    [{ containers: [{ name: "c", state: { terminated: { exitCode: 0 } } }] }, true],
    [{ containers: [{ name: "c", state: { waiting: { reason: "ContainerCreating" } } }] }, false],
    [{ containers: [] }, false],
  ] as [ProviderPodStatus, boolean][])("%j → %s", (status, settled) => {
    expect(isSettledStatus(status)).toBe(settled);
  });
});
