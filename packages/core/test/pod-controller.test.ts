/**
 * The pod controller's sync decisions without a control plane: provider-mock on a fake clock, an
 * in-memory API behind the controller's port (`kube/pod-api.ts`) that records every write and plays
 * the informer (changes are delivered back as watch events), and time moved by hand.
 */
import {
  MockAnnotations,
  MockCloud,
  createMockProvider,
  type MockProvider,
} from "@virtual-node/provider-mock";
import { afterEach, describe, expect, it } from "vitest";
import { BILLED_RESOURCES_ANNOTATION } from "../src/billing.js";
import { FakeClock } from "../src/clock.js";
import { createInMemoryConfigSource } from "../src/config/source.js";
import { resolvePodConfig } from "../src/config/resolve.js";
import type { EventRecorder, EventType, InvolvedObject } from "../src/events.js";
import { KubeApiError } from "../src/kube/client.js";
import { REPORT_TERMINATION_ANNOTATION, type PodApi } from "../src/kube/pod-api.js";
import type { Node, Pod, PodStatus } from "../src/kube/types.js";
import { noopLogger } from "../src/logger.js";
import { createMetrics } from "../src/metrics.js";
import { PodController } from "../src/pod-controller.js";
import type { ResolvedPod } from "../src/pod-config.js";
import type { ProviderPodEvent } from "../src/provider.js";
import { decorateStatuses } from "./decorate-statuses.js";

const NODE = "vn-unit";
const HOST_IP = "192.0.2.10";
const NS = "default";

// ---- the in-memory API --------------------------------------------------------------------

interface Write {
  verb: "replace" | "patch" | "delete";
  path: string;
  body: unknown;
  /** A status write: the status it asks for (applied unless answered with a 409). */
  status?: PodStatus;
}

const POD_PATH = /^\/api\/v1\/namespaces\/([^/]+)\/pods\/([^/]+)(\/status)?$/;

/** JSON round trip: what the controller sends and reads is what crosses the wire (dates as strings). */
function wire<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}

/**
 * The API server as the pod controller sees it. Writes are checked the way the API server checks them
 * (resourceVersion on a status replace, the UID precondition on a delete) and answered with
 * `KubeApiError`s; `onChange` plays the informer.
 */
class FakePodApi implements PodApi {
  readonly objects = new Map<string, Pod>();
  readonly writes: Write[] = [];
  onChange: ((pod: Pod, deleted: boolean) => void) | undefined;
  /** Status replaces to answer with 409 (as if another writer got there first). */
  conflicts = 0;
  #rv = 0;

  constructor(private readonly clock: FakeClock) {}

  /** A user creates or updates a pod. */
  put(pod: Pod): Pod {
    const stored = wire(pod);
    stored.metadata = { ...stored.metadata, resourceVersion: String(++this.#rv) };
    this.objects.set(keyOf(stored), stored);
    this.#notify(stored, false);
    return stored;
  }

  /** A user deletes a pod: a grace period sets `deletionTimestamp`; 0 (`--force`) removes it at once. */
  requestDelete(key: string, graceSeconds: number): void {
    const pod = this.objects.get(key);
    if (pod === undefined) throw new Error(`no pod ${key}`);
    if (graceSeconds === 0) {
      this.objects.delete(key);
      this.#notify(pod, true);
      return;
    }
    this.put({
      ...pod,
      metadata: {
        ...pod.metadata,
        deletionTimestamp: new Date(this.clock.now()),
        deletionGracePeriodSeconds: graceSeconds,
      },
    });
  }

  status(key: string): PodStatus | undefined {
    return this.objects.get(key)?.status;
  }

  /** Every status the controller wrote for `key`, in order. */
  statusWrites(key: string): PodStatus[] {
    return this.writes
      .filter((w) => w.status !== undefined && w.path === `${pathOf(key)}/status`)
      .map((w) => w.status ?? {});
  }

  get<T>(path: string): Promise<T> {
    return Promise.resolve(wire(this.#find(path).pod) as T);
  }

  replace<T>(path: string, body: unknown): Promise<T> {
    const { key, pod, status } = this.#find(path);
    if (!status) throw new Error(`the pod controller only replaces pods/status, not ${path}`);
    this.writes.push({ verb: "replace", path, body: wire(body) });
    const sent = wire(body) as Pod;
    if (this.conflicts > 0) {
      this.conflicts--;
      this.put(pod); // someone else wrote: the resourceVersion moves on
      throw new KubeApiError(409, "Conflict", `the object has been modified (${key})`);
    }
    const rv = sent.metadata?.resourceVersion;
    if (rv !== undefined && rv !== pod.metadata?.resourceVersion)
      throw new KubeApiError(409, "Conflict", `the object has been modified (${key})`);
    return Promise.resolve(this.put({ ...pod, status: sent.status ?? {} }) as T);
  }

  patch<T>(path: string, body: unknown, contentType: string): Promise<T> {
    const { key, pod } = this.#find(path);
    const write: Write = { verb: "patch", path, body: wire(body) };
    this.writes.push(write);
    expect(contentType).toBe("application/merge-patch+json");
    const sent = wire(body) as Pod;
    if (sent.status !== undefined) {
      // A status write: a merge patch with the uid and resourceVersion it was computed from.
      write.status = applyMergePatch(pod.status ?? {}, sent.status) as PodStatus;
      if (this.conflicts > 0) {
        this.conflicts--;
        this.put(pod); // someone else wrote: the resourceVersion moves on
        throw new KubeApiError(409, "Conflict", `the object has been modified (${key})`);
      }
    }
    // The resourceVersion precondition, as the API server checks it.
    const rv = sent.metadata?.resourceVersion;
    if (rv !== undefined && rv !== pod.metadata?.resourceVersion)
      throw new KubeApiError(409, "Conflict", `the object has been modified (${key})`);
    const annotations = sent.metadata?.annotations ?? {};
    return Promise.resolve(
      this.put({
        ...pod,
        metadata: { ...pod.metadata, annotations: { ...pod.metadata?.annotations, ...annotations } },
        ...(write.status === undefined ? {} : { status: write.status }),
      }) as T,
    );
  }

  delete<T>(path: string, body?: unknown): Promise<T> {
    this.writes.push({ verb: "delete", path, body: wire(body) });
    const { key, pod } = this.#find(path);
    const uid = (body as { preconditions?: { uid?: string } } | undefined)?.preconditions?.uid;
    if (uid !== undefined && uid !== pod.metadata?.uid)
      throw new KubeApiError(409, "Conflict", `precondition failed: UID in precondition: ${uid}`);
    this.objects.delete(key);
    this.#notify(pod, true);
    return Promise.resolve(wire(pod) as T);
  }

  #find(path: string): { key: string; pod: Pod; status: boolean } {
    const match = POD_PATH.exec(path);
    if (match === null) throw new Error(`the pod controller called an unexpected path: ${path}`);
    const key = `${match[1] ?? ""}/${match[2] ?? ""}`;
    const pod = this.objects.get(key);
    if (pod === undefined) throw new KubeApiError(404, "NotFound", `pods "${match[2] ?? ""}" not found`);
    return { key, pod, status: match[3] !== undefined };
  }

  #notify(pod: Pod, deleted: boolean): void {
    // Informers deliver after the write returns, never inside it.
    queueMicrotask(() => this.onChange?.(pod, deleted));
  }
}

/** RFC 7386, as the API server applies a merge patch. */
function applyMergePatch(target: unknown, patch: unknown): unknown {
  if (typeof patch !== "object" || patch === null || Array.isArray(patch)) return patch;
  const out: Record<string, unknown> =
    typeof target === "object" && target !== null && !Array.isArray(target)
      ? { ...(target as Record<string, unknown>) }
      : {};
  for (const [k, v] of Object.entries(patch)) out[k] = applyMergePatch(out[k], v);
  return Object.fromEntries(
    Object.entries(out).filter(([k]) => (patch as Record<string, unknown>)[k] !== null),
  );
}

function keyOf(pod: Pod): string {
  return `${pod.metadata?.namespace ?? ""}/${pod.metadata?.name ?? ""}`;
}

function pathOf(key: string): string {
  const [ns = "", name = ""] = key.split("/");
  return `/api/v1/namespaces/${ns}/pods/${name}`;
}

// ---- the rest of the harness --------------------------------------------------------------

interface RecordedEvent {
  object: InvolvedObject;
  type: EventType;
  reason: string;
  message: string;
}

function recordingEvents(): EventRecorder & { recorded: RecordedEvent[] } {
  const recorded: RecordedEvent[] = [];
  return {
    recorded,
    event(object, type, reason, message) {
      recorded.push({ object, type, reason, message });
    },
    flush: () => Promise.resolve(),
    close: () => Promise.resolve(),
    stats: () => ({ queued: 0, written: recorded.length, failed: 0, filtered: 0, dropped: 0 }),
  };
}

type ProviderCall = ["createPod" | "updatePod", string] | ["deletePod", string, number];

/** Records the calls that change what the provider runs, by pod UID. */
function recordCalls(provider: MockProvider): ProviderCall[] {
  const calls: ProviderCall[] = [];
  const create = provider.createPod.bind(provider);
  const update = provider.updatePod.bind(provider);
  const remove = provider.deletePod.bind(provider);
  provider.createPod = (pod, options) => {
    calls.push(["createPod", pod.ref.uid]);
    return create(pod, options);
  };
  provider.updatePod = (pod, options) => {
    calls.push(["updatePod", pod.ref.uid]);
    return update(pod, options);
  };
  provider.deletePod = (ref, grace, options) => {
    calls.push(["deletePod", ref.uid, grace]);
    return remove(ref, grace, options);
  };
  return calls;
}

interface PodOptions {
  uid?: string;
  image?: string;
  restartPolicy?: "Always" | "OnFailure" | "Never";
  annotations?: Record<string, string>;
  activeDeadlineSeconds?: number;
  spec?: Partial<NonNullable<Pod["spec"]>>;
  status?: PodStatus;
}

function apiPod(name: string, options: PodOptions = {}): Pod {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      namespace: NS,
      name,
      uid: options.uid ?? `uid-${name}`,
      annotations: options.annotations ?? {},
    },
    spec: {
      nodeName: NODE,
      restartPolicy: options.restartPolicy ?? "Always",
      terminationGracePeriodSeconds: 30,
      containers: [{ name: "app", image: options.image ?? "busybox:1.36" }],
      ...(options.activeDeadlineSeconds === undefined
        ? {}
        : { activeDeadlineSeconds: options.activeDeadlineSeconds }),
      ...options.spec,
    },
    ...(options.status === undefined ? {} : { status: options.status }),
  };
}

const linuxNode: Node = {
  metadata: { name: NODE, labels: { "kubernetes.io/os": "linux", "kubernetes.io/hostname": NODE } },
  status: {
    nodeInfo: { operatingSystem: "linux" } as NonNullable<Node["status"]>["nodeInfo"],
    allocatable: { cpu: "2", memory: "4Gi", pods: "110" },
  },
};

const ORPHAN_GRACE_MS = 120_000;
const RECONCILE_MS = 60_000;

class Harness {
  readonly clock = new FakeClock();
  readonly cloud = new MockCloud({ clock: this.clock });
  readonly provider = createMockProvider({ cloud: this.cloud });
  readonly calls = recordCalls(this.provider);
  readonly api = new FakePodApi(this.clock);
  readonly events = recordingEvents();
  readonly source = createInMemoryConfigSource({});
  readonly controller: PodController;
  readonly #abort = new AbortController();
  #running: Promise<void> | undefined;

  /** The Node as the controller sees it (`getNode`); tests may change it. */
  node: Node | undefined;

  constructor(node: Node | undefined = linuxNode) {
    this.node = node;
    this.controller = new PodController({
      client: this.api,
      nodeName: NODE,
      provider: this.provider,
      logger: noopLogger,
      metrics: createMetrics(),
      events: this.events,
      getPod: (key) => this.api.objects.get(key),
      podsSynced: () => true,
      resolvePod: (pod, signal, podIPs) => this.resolve(pod, signal, podIPs),
      releaseReferences: () => undefined,
      concurrency: 4,
      fastPollMs: 1000,
      slowPollMs: 10_000,
      reconcileIntervalMs: RECONCILE_MS,
      orphanGraceMs: ORPHAN_GRACE_MS,
      hostIP: HOST_IP,
      maxRetryDelayMs: 60_000,
      getNode: () => this.node,
      clock: this.clock,
    });
    this.api.onChange = (pod, deleted) => {
      if (deleted) this.controller.onPodDelete(pod);
      else this.controller.onPodUpsert(pod);
    };
  }

  resolve(pod: Pod, signal: AbortSignal, podIPs?: string[]) {
    return resolvePodConfig(pod, {
      source: this.source,
      nodeName: NODE,
      hostIP: HOST_IP,
      signal,
      now: new Date(this.clock.now()),
      ...(podIPs === undefined ? {} : { podIPs }),
    });
  }

  async resolved(pod: Pod): Promise<ResolvedPod> {
    return (await this.resolve(pod, new AbortController().signal)).resolved;
  }

  /** Starts the controller (adoption first) and lets it settle. */
  async start(): Promise<void> {
    this.#running = this.controller.run(this.#abort.signal);
    await settle();
  }

  async stop(): Promise<void> {
    this.#abort.abort();
    await this.#running;
  }

  /** Moves time forward, letting every sync the timers start run to its end. */
  async advance(ms: number): Promise<void> {
    await this.clock.advanceAsync(ms);
    await settle();
  }

  phase(key: string): string | undefined {
    return this.api.status(key)?.phase;
  }

  creates(uid: string): number {
    return this.calls.filter((c) => c[0] === "createPod" && c[1] === uid).length;
  }

  eventReasons(): string[] {
    return this.events.recorded.map((e) => e.reason);
  }
}

/**
 * Lets the controller's promise chains run to where they wait (a timer, or nothing left). Real time
 * barely moves: only `setImmediate` turns, no sleeping.
 */
async function settle(turns = 200): Promise<void> {
  for (let i = 0; i < turns; i++) await new Promise((resolve) => setImmediate(resolve));
}

let harness: Harness | undefined;

function setup(node?: Node): Harness {
  harness = new Harness(node);
  return harness;
}

afterEach(async () => {
  await harness?.stop();
  harness?.cloud.dispose();
  harness = undefined;
});

function containerState(status: PodStatus | undefined): Record<string, unknown> | undefined {
  return status?.containerStatuses?.[0]?.state as Record<string, unknown> | undefined;
}

// ---- the decisions ------------------------------------------------------------------------

describe("pod sync decisions", () => {
  it("create: a new API pod is created in the provider and its status written Running", async () => {
    const h = setup();
    await h.start();
    h.api.put(apiPod("web"));
    await settle();

    expect(h.calls).toEqual([["createPod", "uid-web"]]);
    const status = h.api.status("default/web");
    expect(status?.phase).toBe("Running");
    expect(status?.hostIP).toBe(HOST_IP);
    expect(status?.podIP).toMatch(/^10\.244\./);
    expect(containerState(status)).toHaveProperty("running");
    expect(status?.conditions?.find((c) => c.type === "Ready")?.status).toBe("True");
    // RFC 3339 at whole seconds, as the API server stores times.
    expect(status?.startTime).toBe(new Date(h.clock.now()).toISOString().replace(/\.\d{3}Z$/, "Z"));
    // Written through pods/status only: the status, and once the billed shape as an annotation.
    expect(new Set(h.api.writes.map((w) => `${w.verb} ${w.path}`))).toEqual(
      new Set(["patch /api/v1/namespaces/default/pods/web/status"]),
    );
    // The billed shape rides along with a status write: no write of its own.
    const annotated = h.api.writes.filter((w) => (w.body as Pod).metadata?.annotations !== undefined);
    expect(annotated).toHaveLength(1);
    expect(annotated[0]?.status).toBeDefined();
    expect(
      h.api.objects.get("default/web")?.metadata?.annotations?.[BILLED_RESOURCES_ANNOTATION],
    ).toBeTruthy();
    // A repeated sync of an unchanged pod writes nothing.
    const writes = h.api.writes.length;
    h.controller.onPodUpsert(h.api.objects.get("default/web") ?? apiPod("web"));
    await settle();
    expect(h.api.writes.length).toBe(writes);
    expect(h.creates("uid-web")).toBe(1);
  });

  it("update: an image change goes to the provider as updatePod; the pod stays Running", async () => {
    const h = setup();
    await h.start();
    h.api.put(apiPod("web"));
    await settle();
    const current = h.api.objects.get("default/web");
    if (current?.spec === undefined) throw new Error("pod not stored");
    h.api.put({
      ...current,
      spec: { ...current.spec, containers: [{ name: "app", image: "busybox:1.37" }] },
    });
    await settle();

    expect(h.calls).toEqual([
      ["createPod", "uid-web"],
      ["updatePod", "uid-web"],
    ]);
    const group = await h.cloud.getGroup(NS, "web");
    expect(group?.updates).toBe(1);
    expect(group?.state.containers[0]?.image).toBe("busybox:1.37");
    expect(h.phase("default/web")).toBe("Running");
    expect(h.api.status("default/web")?.containerStatuses?.[0]?.image).toBe("busybox:1.37");
  });

  it("graceful delete of a pod without finalizers: the provider pod stops, then one DELETE and no status write (nobody could read it)", async () => {
    const h = setup();
    await h.start();
    h.api.put(apiPod("web"));
    await settle();
    const before = h.api.writes.length;
    h.api.requestDelete("default/web", 20);
    await settle();

    expect(h.calls).toEqual([
      ["createPod", "uid-web"],
      ["deletePod", "uid-web", 20],
    ]);
    expect(h.api.writes.slice(before).map((w) => w.verb)).toEqual(["delete"]);
    expect(h.api.objects.has("default/web")).toBe(false);
  });

  it("graceful delete of a pod that asked for it: the provider pod stops with the grace period, containers are reported terminated, then the API object goes", async () => {
    const h = setup();
    await h.start();
    h.api.put(apiPod("web", { annotations: { [REPORT_TERMINATION_ANNOTATION]: "true" } }));
    await settle();
    h.api.requestDelete("default/web", 20);
    await settle();

    expect(h.calls).toEqual([
      ["createPod", "uid-web"],
      ["deletePod", "uid-web", 20],
    ]);
    expect(await h.cloud.getGroup(NS, "web")).toBeUndefined();
    const last = h.api.statusWrites("default/web").at(-1);
    expect(containerState(last)).toHaveProperty("terminated");
    const deletes = h.api.writes.filter((w) => w.verb === "delete");
    expect(deletes).toEqual([
      {
        verb: "delete",
        path: "/api/v1/namespaces/default/pods/web",
        body: {
          apiVersion: "v1",
          kind: "DeleteOptions",
          gracePeriodSeconds: 0,
          preconditions: { uid: "uid-web" },
        },
      },
    ]);
    expect(h.api.objects.has("default/web")).toBe(false);
  });

  it("forced delete: the API object is already gone; the provider pod is deleted at once, nothing written", async () => {
    const h = setup();
    await h.start();
    h.api.put(apiPod("web"));
    await settle();
    const writes = h.api.writes.length;
    h.api.requestDelete("default/web", 0);
    await settle();

    expect(h.calls).toEqual([
      ["createPod", "uid-web"],
      ["deletePod", "uid-web", 0],
    ]);
    expect(await h.cloud.getGroup(NS, "web")).toBeUndefined();
    expect(h.api.writes.length).toBe(writes);
    expect(h.controller.trackedCount).toBe(0);
  });

  it("UID change: a new pod under the same name makes the old provider pod go first", async () => {
    const h = setup();
    await h.start();
    h.api.put(apiPod("web", { uid: "uid-1" }));
    await settle();
    // The informer never saw the delete (a relist coalesced it): only the new object arrives.
    h.api.put(apiPod("web", { uid: "uid-2" }));
    await settle();

    expect(h.calls).toEqual([
      ["createPod", "uid-1"],
      ["deletePod", "uid-1", 0],
      ["createPod", "uid-2"],
    ]);
    expect((await h.cloud.getGroup(NS, "web"))?.state.uid).toBe("uid-2");
    expect(h.phase("default/web")).toBe("Running");
  });

  it("terminal: a finished pod is never created again", async () => {
    const h = setup();
    // Finished while the agent was down, and the provider has forgotten it.
    h.api.put(apiPod("done", { restartPolicy: "Never", status: { phase: "Succeeded" } }));
    await h.start();
    expect(h.calls).toEqual([]);
    expect(h.api.writes).toEqual([]);

    // Runs to completion here, then is synced again: still one create, and no status change.
    h.api.put(
      apiPod("job", { restartPolicy: "Never", annotations: { [MockAnnotations.runDuration]: "2s" } }),
    );
    await settle();
    expect(h.phase("default/job")).toBe("Running");
    await h.advance(2000);
    expect(h.phase("default/job")).toBe("Succeeded");
    const writes = h.api.writes.length;
    h.controller.onPodUpsert(h.api.objects.get("default/job") ?? apiPod("job"));
    await h.advance(60_000);
    expect(h.creates("uid-job")).toBe(1);
    expect(h.api.writes.length).toBe(writes);
  });

  it("lost: a pod the provider forgets fails with ProviderPodLost and is not re-created", async () => {
    const h = setup();
    await h.start();
    h.api.put(apiPod("web"));
    await settle();
    await h.cloud.deletePod({ namespace: NS, name: "web" }, 0); // gone behind the agent's back
    await settle();

    const status = h.api.status("default/web");
    expect(status?.phase).toBe("Failed");
    expect(status?.reason).toBe("ProviderPodLost");
    expect(h.events.recorded).toContainEqual(
      expect.objectContaining({ type: "Warning", reason: "ProviderPodLost" }),
    );
    await h.advance(RECONCILE_MS);
    expect(h.creates("uid-web")).toBe(1);
    expect(h.phase("default/web")).toBe("Failed");
  });

  it("a pod created while a reconcile list is in flight is not called lost", async () => {
    const h = setup();
    await h.start();
    const list = h.provider.listPods.bind(h.provider);
    let created = false;
    // The provider answers with the list as it was when the call started; the create lands meanwhile.
    h.provider.listPods = async (nodeName, options) => {
      const before = await list(nodeName, options);
      if (!created) {
        created = true;
        h.api.put(apiPod("fresh"));
        await settle();
      }
      return before;
    };
    await h.advance(RECONCILE_MS);
    expect(created).toBe(true);
    expect(h.creates("uid-fresh")).toBe(1);
    expect(h.api.status("default/fresh")?.reason).not.toBe("ProviderPodLost");
    expect(h.phase("default/fresh")).not.toBe("Failed");
    // The next round's list has it: still not lost.
    h.provider.listPods = list;
    await h.advance(RECONCILE_MS);
    expect(h.eventReasons()).not.toContain("ProviderPodLost");
    expect(h.phase("default/fresh")).not.toBe("Failed");
  });

  it("orphan: a provider pod without an API pod is deleted only after the grace window", async () => {
    const h = setup();
    await h.start();
    // Left behind by another instance of this node (a crash between create and the API's answer).
    const leaked = apiPod("leaked");
    await createMockProvider({ cloud: h.cloud }).createPod(await h.resolved(leaked), {
      signal: new AbortController().signal,
    });

    await h.advance(RECONCILE_MS); // first seen
    await h.advance(RECONCILE_MS); // 60 s absent: within the grace window
    expect(await h.cloud.getGroup(NS, "leaked")).toBeDefined();
    await h.advance(RECONCILE_MS); // 120 s absent: deleted
    expect(await h.cloud.getGroup(NS, "leaked")).toBeUndefined();
    expect(h.calls).toEqual([["deletePod", "uid-leaked", 0]]);
    expect(h.api.writes).toEqual([]);
  });

  it("orphan: one that comes back into the API within the window is adopted, not deleted", async () => {
    const h = setup();
    await h.start();
    const late = apiPod("late");
    await createMockProvider({ cloud: h.cloud }).createPod(await h.resolved(late), {
      signal: new AbortController().signal,
    });
    await h.advance(RECONCILE_MS); // first seen as an orphan
    // The informer was behind: the API pod shows up (as a cached pod the controller is not told of).
    h.api.objects.set("default/late", wire(late));
    await h.advance(RECONCILE_MS);

    expect(h.calls).toEqual([]);
    expect(h.phase("default/late")).toBe("Running");
    await h.advance(3 * RECONCILE_MS);
    expect(await h.cloud.getGroup(NS, "late")).toBeDefined();
  });

  it("adoption: pods the provider already runs are taken over at start, not created or restarted", async () => {
    const h = setup();
    const pod = apiPod("web");
    h.api.put(pod);
    await createMockProvider({ cloud: h.cloud }).createPod(await h.resolved(pod), {
      signal: new AbortController().signal,
    });
    const before = (await h.cloud.getGroup(NS, "web"))?.state.containers[0];
    await h.start();

    expect(h.calls).toEqual([]);
    expect(h.controller.trackedCount).toBe(1);
    expect(h.phase("default/web")).toBe("Running");
    const after = (await h.cloud.getGroup(NS, "web"))?.state.containers[0];
    expect(after?.containerId).toBe(before?.containerId);
    expect(h.api.status("default/web")?.containerStatuses?.[0]?.restartCount).toBe(0);
  });

  it("a 409 on the status write re-reads the pod and writes once more", async () => {
    const h = setup();
    await h.start();
    h.api.conflicts = 1;
    h.api.put(apiPod("web"));
    await settle();

    expect(h.api.statusWrites("default/web").length).toBeGreaterThanOrEqual(2);
    expect(h.phase("default/web")).toBe("Running");
    expect(h.creates("uid-web")).toBe(1);
  });
});

describe("what the provider publishes besides the status", () => {
  it("annotations: merged into the pod through pods/status once, invalid keys dropped, nothing removed", async () => {
    const h = setup();
    let annotations: Record<string, string> = {
      "aci.virtual-node.io/container-group": "cg-abc",
      "not a key!": "dropped",
    };
    decorateStatuses(h.provider, () => ({ annotations }));
    await h.start();
    h.api.put(apiPod("web", { annotations: { "team.example.com/owner": "ops" } }));
    await settle();

    const stored = () => h.api.objects.get("default/web")?.metadata?.annotations ?? {};
    expect(stored()["aci.virtual-node.io/container-group"]).toBe("cg-abc");
    expect(stored()["team.example.com/owner"]).toBe("ops");
    expect(Object.keys(stored())).not.toContain("not a key!");
    const patches = () => h.api.writes.filter((w) => (w.body as Pod).metadata?.annotations !== undefined);
    // One merge patch carries the provider's annotation together with billed-resources.
    expect(patches()).toHaveLength(1);
    expect(Object.keys((patches()[0]?.body as Pod).metadata?.annotations ?? {}).sort()).toEqual([
      "aci.virtual-node.io/container-group",
      BILLED_RESOURCES_ANNOTATION,
    ]);

    // Unchanged on later syncs: no write. A changed value: one patch with only that key.
    await h.advance(30_000);
    expect(patches()).toHaveLength(1);
    annotations = { "aci.virtual-node.io/container-group": "cg-def" };
    await h.advance(30_000);
    expect(stored()["aci.virtual-node.io/container-group"]).toBe("cg-def");
    expect(patches()).toHaveLength(2);
    expect((patches()[1]?.body as Pod).metadata?.annotations).toEqual({
      "aci.virtual-node.io/container-group": "cg-def",
    });
    // A key the provider stops reporting stays (core never removes what it cannot tell apart).
    expect(stored()[BILLED_RESOURCES_ANNOTATION]).toBeTruthy();
  });

  it("cloud events: each id becomes one Kubernetes Event on the pod, however often it is reported", async () => {
    const h = setup();
    const events: ProviderPodEvent[] = [
      { id: "pull-1", type: "Normal", reason: "Pulling", message: "pulling image busybox:1.36" },
    ];
    decorateStatuses(h.provider, () => ({ events: [...events] }));
    await h.start();
    h.api.put(apiPod("web"));
    await settle();
    await h.advance(30_000);
    events.push({ id: "oom-1", type: "Warning", reason: "OOMKilled", message: "container app was killed" });
    await h.advance(30_000);
    await h.advance(30_000);

    const fromCloud = h.events.recorded.filter((e) => e.reason === "Pulling" || e.reason === "OOMKilled");
    expect(fromCloud.map((e) => [e.type, e.reason, e.object.name])).toEqual([
      ["Normal", "Pulling", "web"],
      ["Warning", "OOMKilled", "web"],
    ]);
  });
});

describe("provider errors on create", () => {
  it("retryable: the container waits with ProviderFailed, and the retry (on the clock) succeeds", async () => {
    const h = setup();
    await h.start();
    h.api.put(apiPod("flaky", { annotations: { [MockAnnotations.failCreate]: "Retryable:2" } }));
    await settle();

    const waiting = h.api.status("default/flaky");
    expect(waiting?.phase).toBe("Pending");
    expect(containerState(waiting)).toMatchObject({ waiting: { reason: "ProviderFailed" } });
    expect(h.events.recorded).toContainEqual(
      expect.objectContaining({ type: "Warning", reason: "ProviderFailed" }),
    );
    const attempts = h.creates("uid-flaky");
    expect(attempts).toBeGreaterThanOrEqual(1);
    expect(attempts).toBeLessThanOrEqual(2);

    await h.advance(1000); // the per-pod backoff runs on the controller's clock
    expect(h.phase("default/flaky")).toBe("Running");
    expect(h.creates("uid-flaky")).toBe(3);
  });

  it.each([
    ["Permanent", "VN_PERMANENT"],
    ["InvalidInput", "VN_INVALID_INPUT"],
    ["Unsupported", "VN_UNSUPPORTED"],
  ])("%s: the pod fails with ProviderFailed and is not retried", async (failCreate, code) => {
    const h = setup();
    await h.start();
    h.api.put(apiPod("bad", { annotations: { [MockAnnotations.failCreate]: failCreate } }));
    await settle();

    const status = h.api.status("default/bad");
    expect(status?.phase).toBe("Failed");
    expect(status?.reason).toBe("ProviderFailed");
    expect(status?.message).toContain(code);
    expect(h.events.recorded).toContainEqual(
      expect.objectContaining({ type: "Warning", reason: "ProviderFailed" }),
    );
    await h.advance(60_000);
    expect(h.creates("uid-bad")).toBe(1);
  });
});

describe("admission", () => {
  it.each([
    ["another OS", "PodOSNotSupported", { os: { name: "windows" } }],
    ["a node selector the node does not match", "NodeAffinity", { nodeSelector: { disktype: "ssd" } }],
    [
      "requests above allocatable",
      "OutOfcpu",
      { containers: [{ name: "app", image: "busybox:1.36", resources: { requests: { cpu: "4" } } }] },
    ],
  ] as const)("%s: rejected with %s, never created", async (_what, reason, spec) => {
    const h = setup();
    await h.start();
    h.api.put(apiPod("picky", { spec: wire(spec) as Partial<NonNullable<Pod["spec"]>> }));
    await settle();

    const status = h.api.status("default/picky");
    expect(status?.phase).toBe("Failed");
    expect(status?.reason).toBe(reason);
    expect(status?.message).toMatch(/^Pod was rejected: /);
    expect(h.events.recorded).toContainEqual(expect.objectContaining({ type: "Warning", reason }));
    expect(h.calls).toEqual([]);
  });

  it("admits what fits, and counts the pods already admitted", async () => {
    const h = setup();
    await h.start();
    const oneCpu = {
      containers: [{ name: "app", image: "busybox:1.36", resources: { requests: { cpu: "1" } } }],
    };
    h.api.put(apiPod("a", { spec: oneCpu }));
    h.api.put(apiPod("b", { spec: oneCpu }));
    await settle();
    h.api.put(apiPod("c", { spec: oneCpu }));
    await settle();

    expect(h.phase("default/a")).toBe("Running");
    expect(h.phase("default/b")).toBe("Running");
    expect(h.api.status("default/c")?.reason).toBe("OutOfcpu");
    expect(h.creates("uid-c")).toBe(0);
  });
});

describe("admission before the node's first status", () => {
  it("waits for the node's capacity instead of refusing every pod against none", async () => {
    const h = setup({ metadata: linuxNode.metadata });
    await h.start();
    h.api.put(apiPod("early"));
    await h.advance(2_000);
    expect(h.creates("uid-early")).toBe(0);
    expect(h.phase("default/early")).not.toBe("Failed"); // not refused: waiting, status untouched

    h.node = linuxNode; // the first status write landed
    await h.advance(1_000);
    expect(h.creates("uid-early")).toBe(1);
    expect(h.phase("default/early")).toBe("Running");
  });
});

describe("activeDeadlineSeconds", () => {
  it("fails the pod with DeadlineExceeded and stops its containers when the deadline passes", async () => {
    const h = setup();
    await h.start();
    h.api.put(apiPod("bounded", { activeDeadlineSeconds: 5 }));
    await settle();
    expect(h.phase("default/bounded")).toBe("Running");

    await h.advance(4999);
    expect(h.phase("default/bounded")).toBe("Running");
    await h.advance(1);

    expect(h.calls).toEqual([
      ["createPod", "uid-bounded"],
      ["deletePod", "uid-bounded", 30],
    ]);
    expect(await h.cloud.getGroup(NS, "bounded")).toBeUndefined();
    const status = h.api.status("default/bounded");
    expect(status?.phase).toBe("Failed");
    expect(status?.reason).toBe("DeadlineExceeded");
    expect(h.events.recorded).toContainEqual(
      expect.objectContaining({ type: "Warning", reason: "DeadlineExceeded" }),
    );
    // Terminal: never created again.
    await h.advance(RECONCILE_MS);
    expect(h.creates("uid-bounded")).toBe(1);
  });
});
