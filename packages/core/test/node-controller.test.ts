/**
 * NodeController without a cluster: an in-memory API (fake-node-api.ts) and a fake clock. What the
 * real control plane judges (taints lifted, the lifecycle controller's view) is in node.int.test.ts
 * and api-outage.int.test.ts; this covers the decisions and the timing.
 */
import { afterEach, describe, expect, it } from "vitest";
import { FakeClock } from "../src/clock.js";
import { createEventRecorder } from "../src/events.js";
import { paths } from "../src/kube/api.js";
import { KubeApiError } from "../src/kube/client.js";
import type { Node, NodeCondition, Taint } from "../src/kube/types.js";
import { noopLogger } from "../src/logger.js";
import {
  LAST_APPLIED_ANNOTATION,
  NodeController,
  conditionsDiffer,
  mergeOwnedTaints,
} from "../src/node-controller.js";
import { FakeNodeApi } from "./fake-node-api.js";

const NODE = "vn-unit";
const NODE_PATH = paths.node(NODE);

interface Harness {
  clock: FakeClock;
  api: FakeNodeApi;
  controller: NodeController;
  events: { type: string; reason: string; message: string }[];
  provider: { healthy: boolean };
  stop(): Promise<void>;
}

const running: Harness[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((h) => h.stop()));
});

async function start(
  options: { seed?: (api: FakeNodeApi) => void; awaitRegistered?: boolean } = {},
): Promise<Harness> {
  const clock = new FakeClock();
  const api = new FakeNodeApi(clock);
  options.seed?.(api);
  const events: Harness["events"] = [];
  const provider = { healthy: true };
  // The real recorder over a sink that keeps nothing; the test reads what the controller recorded.
  const recorder = createEventRecorder({
    sink: { create: async () => Promise.resolve(), patch: async () => Promise.resolve() },
    host: NODE,
    clock,
  });
  const controller = new NodeController({
    client: api,
    nodeName: NODE,
    provider: {
      name: "fake",
      ping: async () => {
        if (!provider.healthy) throw new Error("backend unreachable");
        return Promise.resolve();
      },
    },
    logger: noopLogger,
    events: {
      ...recorder,
      event: (ref, type, reason, message) => {
        events.push({ type, reason, message });
        recorder.event(ref, type, reason, message);
      },
    },
    labels: { team: "a" },
    annotations: {},
    taints: [{ key: "virtual-kubelet.io/provider", value: "fake", effect: "NoSchedule" }],
    internalIP: "10.0.0.9",
    kubeletPort: 10250,
    kubeletVersion: "v1.37.2-virtual-node",
    pingIntervalMs: 10_000,
    statusReportIntervalMs: 300_000,
    shutdown: "notReady",
    clock,
  });
  const abort = new AbortController();
  const loop = controller.run(abort.signal);
  const harness: Harness = {
    clock,
    api,
    controller,
    events,
    provider,
    stop: async () => {
      abort.abort();
      await loop;
    },
  };
  running.push(harness);
  await clock.advanceAsync(0);
  if (options.awaitRegistered !== false) await controller.registeredOnce();
  return harness;
}

const stored = (api: FakeNodeApi): Node => api.objects.get(NODE_PATH) as Node;
const readyOf = (node: Node | undefined): NodeCondition | undefined =>
  node?.status?.conditions?.find((c) => c.type === "Ready");

/**
 * What the node lifecycle controller writes when it stopped hearing from the node (through `put`,
 * which is how other clients write: unaffected by `down`).
 */
function markUnknown(api: FakeNodeApi): Node {
  const node = stored(api);
  return api.put(NODE_PATH, {
    ...node,
    status: {
      ...node.status,
      conditions: (node.status?.conditions ?? []).map((c) => ({
        ...c,
        status: "Unknown",
        reason: "NodeStatusUnknown",
        message: "Kubelet stopped posting node status.",
      })),
    },
  });
}

describe("NodeController", () => {
  it("says the Node exists as soon as it is created, before its first status write succeeds", async () => {
    const { api, controller } = await start({
      awaitRegistered: false,
      seed: (fake) => {
        fake.patch = async () => Promise.reject(new KubeApiError(500, "InternalError", "etcd is slow"));
      },
    });
    let registered = false;
    void controller.registeredOnce().then(() => (registered = true));
    await controller.existsOnce(); // the lease starts here, with the Node's UID for its owner reference
    expect(controller.uid).toBe(stored(api).metadata?.uid);
    expect(registered).toBe(false);
  });

  it("registers the Node and reports Ready with its labels, taints and address", async () => {
    const { api } = await start();
    const node = stored(api);
    expect(node.metadata?.labels).toMatchObject({
      type: "virtual-kubelet",
      team: "a",
      "kubernetes.io/hostname": NODE,
    });
    expect(node.spec?.taints).toEqual([
      { key: "virtual-kubelet.io/provider", value: "fake", effect: "NoSchedule" },
    ]);
    expect(readyOf(node)).toMatchObject({ status: "True", reason: "KubeletReady" });
    expect(node.status?.addresses).toContainEqual({ type: "InternalIP", address: "10.0.0.9" });
  });

  it("writes nothing while nothing changed, then reports at the 5-minute interval", async () => {
    const { api, clock } = await start();
    const writes = (): number => api.callsTo("patch", "/status").length;
    expect(writes()).toBe(1);
    await clock.advanceAsync(290_000);
    expect(writes()).toBe(1);
    await clock.advanceAsync(10_000);
    expect(writes()).toBe(2);
  });

  it("overwrites a Ready=Unknown it observes at once, not at the next report", async () => {
    const { api, clock, controller } = await start();
    await clock.advanceAsync(30_000);
    const before = api.callsTo("patch", "/status").length;
    controller.observe(markUnknown(api));
    await clock.advanceAsync(0);
    expect(api.callsTo("patch", "/status").length).toBe(before + 1);
    expect(readyOf(stored(api))).toMatchObject({ status: "True", reason: "KubeletReady" });
  });

  it("overwrites conditions changed behind its back within one ping interval even without a wake", async () => {
    const { api, clock, controller } = await start();
    const unknown = markUnknown(api);
    // Seen by the watch, but Ready as we wrote it: no wake; the next pass compares and writes.
    const ready = readyOf(stored(api));
    controller.observe({
      ...unknown,
      status: {
        ...unknown.status,
        conditions: unknown.status?.conditions?.map((c) => (c.type === "Ready" ? { ...c, ...ready } : c)),
      },
    });
    const before = api.callsTo("patch", "/status").length;
    await clock.advanceAsync(10_000);
    expect(api.callsTo("patch", "/status").length).toBe(before + 1);
    expect(stored(api).status?.conditions?.every((c) => c.status !== "Unknown")).toBe(true);
  });

  it("a failing ping sets Ready=False with the error, and a Warning Event; recovery sets it back", async () => {
    const { api, clock, events, provider } = await start();
    provider.healthy = false;
    await clock.advanceAsync(10_000);
    expect(readyOf(stored(api))).toMatchObject({
      status: "False",
      reason: "ProviderUnhealthy",
      message: expect.stringContaining("backend unreachable") as string,
    });
    expect(events).toContainEqual(expect.objectContaining({ type: "Warning", reason: "NodeNotReady" }));
    provider.healthy = true;
    await clock.advanceAsync(10_000);
    expect(readyOf(stored(api))?.status).toBe("True");
    expect(events.at(-1)).toMatchObject({ type: "Normal", reason: "NodeReady" });
  });

  it("retries a failed pass after 500 ms doubling, never later than the ping interval", async () => {
    const { api, clock, controller } = await start();
    api.down = true;
    // Force a write so every pass calls the API.
    controller.observe(markUnknown(api));
    const from = api.calls.length;
    await clock.advanceAsync(40_000);
    const attempts = api.calls
      .slice(from)
      .filter((c) => c.verb === "patch")
      .map((c) => c.at);
    const gaps = attempts.slice(1).map((t, i) => t - (attempts[i] ?? 0));
    expect(gaps.slice(0, 5)).toEqual([500, 1_000, 2_000, 4_000, 8_000]);
    expect(Math.max(...gaps)).toBe(10_000);
  });

  it("wake() runs the next pass at once (the API server answers again)", async () => {
    const { api, clock, controller } = await start();
    api.down = true;
    controller.observe(markUnknown(api));
    await clock.advanceAsync(60_000);
    api.down = false;
    const restored = clock.now();
    controller.wake();
    await clock.advanceAsync(0);
    expect(clock.now()).toBe(restored);
    expect(readyOf(stored(api))?.status).toBe("True");
  });

  it("re-creates a deleted Node at once", async () => {
    const { api, clock, controller } = await start();
    const firstUid = stored(api).metadata?.uid;
    api.objects.delete(NODE_PATH);
    controller.observe(undefined);
    await clock.advanceAsync(0);
    expect(stored(api).metadata?.uid).not.toBe(firstUid);
    expect(readyOf(stored(api))?.status).toBe("True");
    expect(controller.uid).toBe(stored(api).metadata?.uid);
  });

  it("adopts an existing Node: others' labels and taints stay, ones we applied and dropped go", async () => {
    const { api } = await start({
      seed: (fake) => {
        fake.put(NODE_PATH, {
          apiVersion: "v1",
          kind: "Node",
          metadata: {
            name: NODE,
            labels: { "others/label": "x", old: "ours" },
            annotations: {
              [LAST_APPLIED_ANNOTATION]: JSON.stringify({
                labels: ["old"],
                annotations: [],
                taints: ["gone:NoSchedule"],
              }),
            },
          },
          spec: {
            taints: [
              { key: "others", effect: "NoExecute" },
              { key: "gone", effect: "NoSchedule" },
            ],
          },
        });
      },
    });
    const node = stored(api);
    expect(node.metadata?.labels).toMatchObject({ "others/label": "x", team: "a" });
    expect(node.metadata?.labels?.old).toBeUndefined();
    expect(node.spec?.taints?.map((t) => t.key).sort()).toEqual(["others", "virtual-kubelet.io/provider"]);
  });

  it("the notReady shutdown policy writes Ready=False KubeletStopped", async () => {
    const harness = await start();
    await harness.stop();
    await harness.controller.shutdown(new AbortController().signal);
    expect(readyOf(stored(harness.api))).toMatchObject({ status: "False", reason: "KubeletStopped" });
  });
});

describe("conditionsDiffer", () => {
  const c = (type: string, status: string, extra: Partial<NodeCondition> = {}): NodeCondition => ({
    type,
    status,
    reason: "R",
    message: "M",
    ...extra,
  });
  it("ignores order and heartbeat/transition times", () => {
    expect(
      conditionsDiffer(
        [c("A", "True", { lastHeartbeatTime: new Date(1) }), c("B", "False")],
        [c("B", "False"), c("A", "True", { lastHeartbeatTime: new Date(2) })],
      ),
    ).toBe(false);
  });
  it("sees a changed status, reason or a missing condition", () => {
    expect(conditionsDiffer([c("A", "Unknown")], [c("A", "True")])).toBe(true);
    expect(conditionsDiffer([c("A", "True", { reason: "X" })], [c("A", "True")])).toBe(true);
    expect(conditionsDiffer([], [c("A", "True")])).toBe(true);
  });
});

describe("mergeOwnedTaints", () => {
  const ours = { key: "virtual-kubelet.io/provider", value: "mock", effect: "NoSchedule" as const };
  const unreachable: Taint = {
    key: "node.kubernetes.io/unreachable",
    effect: "NoExecute" as const,
    timeAdded: new Date("2026-12-02T01:20:00Z"),
  };

  it("keeps the Node's taints in place, as they are, when ours is already there (NodeRestriction refuses any change)", () => {
    const current = [ours, unreachable];
    expect(mergeOwnedTaints(current, [{ ...ours }], [taintKey(ours)])).toEqual(current);
  });

  it("adds a missing taint of ours at the end and drops one we applied before and no longer want", () => {
    const old = { key: "example.com/old", effect: "NoSchedule" as const };
    expect(mergeOwnedTaints([unreachable, old], [ours], [taintKey(old)])).toEqual([unreachable, ours]);
  });
});

function taintKey(t: { key: string; effect: string }): string {
  return `${t.key}:${t.effect}`;
}
