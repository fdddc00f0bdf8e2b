/**
 * The simulated backend: a store of container groups that progress through their lifecycle on an
 * injected clock, with per-call latency and seeded fault injection. In-process it is used
 * directly; `startMockCloudServer` puts it behind HTTP so its state outlives an agent process.
 */
import {
  AbortedError,
  InvalidInputError,
  PermanentError,
  RetryableError,
  createSystemClock,
  errorCode,
  throwIfAborted,
} from "@virtual-node/core";
import type { Clock, TimerHandle } from "@virtual-node/core";
import { errorFromCode } from "./errors.js";
import { runMockCommand } from "./exec.js";
import { GroupSim } from "./group.js";
import type { GroupSettings, MockBackoff, MockDefaults, MockLogSettings } from "./group.js";
import { IpPool } from "./ip-pool.js";
import { seededRandom } from "./random.js";
import type { Random } from "./random.js";
import { validateGroupSpec, validateRef } from "./validate.js";
import type {
  MockCallOptions,
  MockCallRecord,
  MockCallStats,
  MockCloudApi,
  MockCloudEvent,
  MockCloudInfo,
  MockCloudListener,
  MockCloudSettings,
  MockExecResult,
  MockFaults,
  MockGroupInfo,
  MockGroupSpec,
  MockGroupState,
  MockLatency,
  MockLogLine,
  MockLogQuery,
  MockOperation,
  MockPodStats,
  MockRef,
  MockUsageUpdate,
} from "./types.js";
import { usageQuantity } from "./annotations.js";

export interface MockCloudOptions {
  /** Drives every delay and transition (default: the system clock, timers unref'd). */
  clock?: Clock;
  /** Pod IPs come from here (default `10.244.0.0/16`). */
  podCIDR?: string;
  /** The host IP reported for every group (default `10.0.0.1`). */
  hostIP?: string;
  /** Lifecycle defaults; annotations override them per pod. */
  defaults?: Partial<MockDefaults>;
  backoff?: Partial<MockBackoff>;
  logs?: Partial<MockLogSettings>;
  latency?: MockLatency;
  faults?: MockFaults;
  /** Entries kept in the call log (default 10 000). */
  callLogSize?: number;
}

export const defaultMockDefaults: MockDefaults = {
  startDelayMs: 0,
  initDurationMs: 0,
  runDurationMs: null,
  exitCode: 0,
  readyDelayMs: 0,
  stopDelayMs: 0,
};

interface Entry {
  sim: GroupSim;
  timer: TimerHandle | undefined;
  waiters: (() => void)[];
}

interface Subscription {
  listener: MockCloudListener;
  /** Events waiting for the initial sync to be delivered. */
  backlog: MockCloudEvent[] | undefined;
}

const ALL_OPERATIONS: readonly MockOperation[] = [
  "createPod",
  "updatePod",
  "deletePod",
  "getPod",
  "listPods",
  "getStatuses",
  "ping",
  "reservePodIP",
  "logs",
  "stats",
  "exec",
];

function keyOf(ref: { namespace: string; name: string }): string {
  return `${ref.namespace}/${ref.name}`;
}

function clone<T>(value: T): T {
  return structuredClone(value);
}

export class MockCloud implements MockCloudApi {
  readonly clock: Clock;
  readonly #pool: IpPool;
  readonly #hostIP: string;
  readonly #settings: GroupSettings;
  readonly #groups = new Map<string, Entry>();
  /**
   * The same groups by node: `listPods` and `watch` for one node read only its groups (a fleet of 500
   * nodes lists its own pods, not all 50,000, on every reconcile).
   */
  readonly #groupsByNode = new Map<string, Map<string, Entry>>();
  readonly #failedCreates = new Map<string, number>();
  /** Pod IPs handed out before create (by pod UID), like a cloud that pre-allocates a NIC. */
  readonly #reservedIPs = new Map<string, string>();
  /** Watch subscriptions by the node they follow (undefined: every node), so an event reaches only its node's. */
  readonly #subscriptions = new Map<string | undefined, Set<Subscription>>();
  readonly #counts = new Map<MockOperation, number>();
  readonly #log: MockCallRecord[] = [];
  readonly #logSize: number;
  #seq = 0;
  #latency: MockLatency = {};
  #faults: MockFaults = {};
  #faultRandom: Random = seededRandom(0);
  #jitterRandom: Random = seededRandom(1);

  constructor(options: MockCloudOptions = {}) {
    this.clock = options.clock ?? createSystemClock({ unref: true });
    this.#pool = new IpPool(options.podCIDR ?? "10.244.0.0/16");
    this.#hostIP = options.hostIP ?? "10.0.0.1";
    this.#settings = {
      defaults: { ...defaultMockDefaults, ...options.defaults },
      backoff: { initialMs: 10_000, maxMs: 300_000, resetAfterMs: 600_000, ...options.backoff },
      logs: { intervalMs: 1000, maxLines: 1000, ...options.logs },
    };
    this.#logSize = options.callLogSize ?? 10_000;
    this.#applySettings({ latency: options.latency ?? {}, faults: options.faults ?? {} });
  }

  // ---- the cloud API -------------------------------------------------------------------------

  createPod(spec: MockGroupSpec, options: MockCallOptions = {}): Promise<MockGroupState> {
    return this.#call("createPod", spec, options.signal, () => {
      validateGroupSpec(spec);
      const key = keyOf(spec);
      const existing = this.#groups.get(key);
      if (existing?.sim.spec.uid === spec.uid) return this.#current(existing);
      if (spec.failCreate !== undefined) {
        const attempts = (this.#failedCreates.get(spec.uid) ?? 0) + 1;
        this.#failedCreates.set(spec.uid, attempts);
        if (spec.failCreate.times === undefined || attempts <= spec.failCreate.times) {
          throw errorFromCode(
            spec.failCreate.code,
            `mock cloud: create of ${key} failed (requested by fail-create)`,
          );
        }
      }
      if (existing !== undefined) this.#remove(existing);
      let podIP: string;
      try {
        podIP = this.#reservedIPs.get(spec.uid) ?? this.#pool.allocate();
        this.#reservedIPs.delete(spec.uid);
      } catch (error) {
        throw new PermanentError(`mock cloud: no pod IP left in ${this.#pool.cidr}`, { cause: error });
      }
      const entry: Entry = {
        sim: new GroupSim(clone(spec), this.clock.now(), podIP, this.#hostIP, this.#settings),
        timer: undefined,
        waiters: [],
      };
      this.#add(entry);
      this.#tick(entry, true);
      const rate = this.#faults.crashOnCreateRate ?? 0;
      if (rate > 0 && this.#faultRandom() < rate) {
        throw new RetryableError(
          `mock cloud: connection lost after the create of ${key} was accepted (injected fault)`,
        );
      }
      return entry.sim.snapshot();
    });
  }

  updatePod(spec: MockGroupSpec, options: MockCallOptions = {}): Promise<MockGroupState> {
    return this.#call("updatePod", spec, options.signal, () => {
      validateGroupSpec(spec);
      const entry = this.#find(spec);
      if (entry === undefined)
        throw errorFromCode("VN_NOT_FOUND", `mock cloud: no group ${keyOf(spec)} with uid ${spec.uid}`);
      entry.sim.advance(this.clock.now());
      this.#unindex(entry);
      entry.sim.update(clone(spec), this.clock.now());
      this.#index(entry);
      this.#tick(entry, true);
      return entry.sim.snapshot();
    });
  }

  deletePod(ref: MockRef, gracePeriodSeconds: number, options: MockCallOptions = {}): Promise<void> {
    return this.#call("deletePod", ref, options.signal, async () => {
      validateRef(ref);
      this.#releaseReservation(ref);
      const entry = this.#find(ref);
      if (entry === undefined) return;
      const graceMs =
        Number.isFinite(gracePeriodSeconds) && gracePeriodSeconds > 0 ? gracePeriodSeconds * 1000 : 0;
      const removed = this.#whenRemoved(entry, options.signal);
      entry.sim.advance(this.clock.now());
      entry.sim.beginStop(this.clock.now(), graceMs);
      this.#tick(entry, true);
      await removed;
    });
  }

  getPod(ref: MockRef, options: MockCallOptions = {}): Promise<MockGroupState | undefined> {
    return this.#call("getPod", ref, options.signal, () => {
      validateRef(ref);
      const entry = this.#find(ref);
      return entry === undefined ? undefined : this.#current(entry);
    });
  }

  listPods(nodeName: string | undefined, options: MockCallOptions = {}): Promise<MockGroupState[]> {
    return this.#call("listPods", undefined, options.signal, () =>
      this.#entries(nodeName).map((e) => this.#current(e)),
    );
  }

  getStatuses(
    refs: readonly MockRef[],
    options: MockCallOptions = {},
  ): Promise<(MockGroupState | undefined)[]> {
    return this.#call("getStatuses", undefined, options.signal, () =>
      refs.map((ref, i) => {
        validateRef(ref, `refs[${i}]`);
        const entry = this.#find(ref);
        return entry === undefined ? undefined : this.#current(entry);
      }),
    );
  }

  /** Reserves the pod IP a later create of this pod (same UID) will get. Idempotent. */
  reservePodIP(ref: MockRef, options: MockCallOptions = {}): Promise<string> {
    return this.#call("reservePodIP", ref, options.signal, () => {
      const existing = this.#groups.get(keyOf(ref));
      if (existing !== undefined && existing.sim.spec.uid === ref.uid) return existing.sim.podIP;
      const uid = ref.uid ?? `${ref.namespace}/${ref.name}`;
      const reserved = this.#reservedIPs.get(uid);
      if (reserved !== undefined) return reserved;
      let ip: string;
      try {
        ip = this.#pool.allocate();
      } catch (error) {
        throw new PermanentError(`mock cloud: no pod IP left in ${this.#pool.cidr}`, { cause: error });
      }
      this.#reservedIPs.set(uid, ip);
      return ip;
    });
  }

  /** A pod deleted before it was created gives back the IP reserved for it. */
  #releaseReservation(ref: MockRef): void {
    const uid = ref.uid ?? `${ref.namespace}/${ref.name}`;
    const reserved = this.#reservedIPs.get(uid);
    if (reserved === undefined) return;
    this.#reservedIPs.delete(uid);
    this.#pool.release(reserved);
  }

  ping(options: MockCallOptions = {}): Promise<MockCloudInfo> {
    return this.#call("ping", undefined, options.signal, () => ({
      hostIP: this.#hostIP,
      podCIDR: this.#pool.cidr,
      groups: this.#groups.size,
    }));
  }

  logs(
    ref: MockRef,
    container: string,
    query: MockLogQuery = {},
    options: MockCallOptions = {},
  ): Promise<MockLogLine[]> {
    return this.#call("logs", ref, options.signal, () => {
      const entry = this.#require(ref);
      this.#tick(entry);
      return entry.sim.logs(container, query, this.clock.now());
    });
  }

  stats(ref: MockRef, options: MockCallOptions = {}): Promise<MockPodStats> {
    return this.#call("stats", ref, options.signal, () => {
      const entry = this.#require(ref);
      this.#tick(entry);
      return entry.sim.stats(this.clock.now());
    });
  }

  exec(
    ref: MockRef,
    container: string,
    command: readonly string[],
    input: { stdin?: string } = {},
    options: MockCallOptions = {},
  ): Promise<MockExecResult> {
    return this.#call("exec", ref, options.signal, async () => {
      const entry = this.#require(ref);
      this.#tick(entry);
      const target = entry.sim.execTarget(container);
      if (!target.running) {
        throw errorFromCode(
          "VN_INVALID_INPUT",
          `container ${container} is not running (${target.reason ?? "waiting"})`,
        );
      }
      const result = runMockCommand(command, input.stdin ?? "", { env: target.env, hostname: ref.name });
      if (result.durationMs > 0) await this.clock.sleep(result.durationMs, options.signal);
      return { stdout: result.stdout, stderr: result.stderr, exitCode: result.exitCode };
    });
  }

  watch(nodeName: string | undefined, listener: MockCloudListener): () => void {
    // The sync is taken now but delivered asynchronously (never inside the caller's `watch`);
    // events published meanwhile wait behind it so the listener never sees them out of order.
    const states = this.#entries(nodeName).map((e) => this.#current(e));
    const subscription: Subscription = { listener, backlog: [{ type: "sync", states }] };
    let subscriptions = this.#subscriptions.get(nodeName);
    if (subscriptions === undefined)
      this.#subscriptions.set(nodeName, (subscriptions = new Set<Subscription>()));
    subscriptions.add(subscription);
    let active = true;
    queueMicrotask(() => {
      const backlog = subscription.backlog ?? [];
      subscription.backlog = undefined;
      for (const event of backlog) if (active) this.#deliver(subscription, event);
    });
    return () => {
      active = false;
      const current = this.#subscriptions.get(nodeName);
      current?.delete(subscription);
      if (current?.size === 0) this.#subscriptions.delete(nodeName);
    };
  }

  // ---- inspection and admin ------------------------------------------------------------------

  getGroup(namespace: string, name: string): Promise<MockGroupInfo | undefined> {
    const entry = this.#groups.get(keyOf({ namespace, name }));
    return Promise.resolve(entry === undefined ? undefined : this.#info(entry));
  }

  listGroups(): Promise<MockGroupInfo[]> {
    return Promise.resolve(this.#entries().map((e) => this.#info(e)));
  }

  callStats(): Promise<MockCallStats> {
    return Promise.resolve({
      counts: Object.fromEntries(this.#counts),
      log: this.#log.map((r) => ({ ...r })),
    });
  }

  resetCallStats(): Promise<void> {
    this.#counts.clear();
    this.#log.length = 0;
    return Promise.resolve();
  }

  configure(settings: Partial<MockCloudSettings>): Promise<void> {
    this.#applySettings(settings);
    return Promise.resolve();
  }

  setUsage(namespace: string, name: string, update: MockUsageUpdate): Promise<MockPodStats> {
    // Admin calls are never delayed or faulted; `then` turns a throw into a rejection.
    return Promise.resolve().then(() => {
      const entry = this.#require({ namespace, name });
      const quantity = (key: "cpu" | "memory"): number | null | undefined => {
        const value: unknown = update[key];
        if (value === undefined || value === null) return value;
        if (typeof value !== "string") throw usageError(key, value);
        return usageQuantity(key, value, key);
      };
      const cpu = quantity("cpu");
      const memory = quantity("memory");
      if (update.container !== undefined && typeof update.container !== "string")
        throw usageError("container", update.container);
      this.#tick(entry);
      const now = this.clock.now();
      entry.sim.setUsage(
        now,
        {
          ...(cpu === undefined ? {} : { cpuNanoCores: cpu === null ? null : Math.round(cpu * 1e9) }),
          ...(memory === undefined ? {} : { memoryBytes: memory === null ? null : Math.round(memory) }),
        },
        update.container,
      );
      return entry.sim.stats(now);
    });
  }

  /** Current latency and fault settings. */
  get settings(): MockCloudSettings {
    return { latency: { ...this.#latency }, faults: { ...this.#faults } };
  }

  /** Stops every timer and drops all groups and subscriptions (for test teardown). */
  dispose(): void {
    for (const entry of this.#groups.values()) this.clock.clearTimeout(entry.timer);
    this.#groups.clear();
    this.#groupsByNode.clear();
    this.#subscriptions.clear();
  }

  // ---- internals -----------------------------------------------------------------------------

  #applySettings(settings: Partial<MockCloudSettings>): void {
    if (settings.latency !== undefined) this.#latency = { ...settings.latency };
    if (settings.faults !== undefined) {
      this.#faults = { ...settings.faults };
      const seed = settings.faults.seed ?? 0;
      this.#faultRandom = seededRandom(seed);
      this.#jitterRandom = seededRandom(seed ^ 0x5bd1e995);
    }
  }

  /** Latency, fault injection and the call log around one API call. */
  async #call<T>(
    op: MockOperation,
    ref: { namespace?: unknown; name?: unknown } | undefined,
    signal: AbortSignal | undefined,
    body: () => T | Promise<T>,
  ): Promise<T> {
    this.#counts.set(op, (this.#counts.get(op) ?? 0) + 1);
    const record: MockCallRecord = { seq: ++this.#seq, op, at: this.clock.now(), outcome: "pending" };
    if (typeof ref?.namespace === "string" && typeof ref.name === "string")
      record.key = `${ref.namespace}/${ref.name}`;
    this.#log.push(record);
    if (this.#log.length > this.#logSize) this.#log.splice(0, this.#log.length - this.#logSize);
    try {
      throwIfAborted(signal);
      const delay = this.#delay();
      if (delay > 0) await this.clock.sleep(delay, signal);
      this.#maybeFault(op);
      const value = await body();
      record.outcome = "ok";
      return value;
    } catch (error) {
      record.outcome = errorCode(error);
      throw error;
    }
  }

  #delay(): number {
    const fixed = this.#latency.fixedMs ?? 0;
    const jitter = this.#latency.jitterMs ?? 0;
    return Math.max(0, fixed + (jitter > 0 ? Math.floor(this.#jitterRandom() * (jitter + 1)) : 0));
  }

  #maybeFault(op: MockOperation): void {
    const rate = this.#faults.rate ?? 0;
    if (rate <= 0 || !(this.#faults.operations ?? ALL_OPERATIONS).includes(op)) return;
    if (this.#faultRandom() >= rate) return;
    if (this.#faultRandom() < 0.5) {
      const retryAfterMs = 100 * (1 + Math.floor(this.#faultRandom() * 10));
      throw new RetryableError(`mock cloud: ${op} throttled (injected fault)`, { retryAfterMs });
    }
    throw new RetryableError(`mock cloud: ${op} failed, service unavailable (injected fault)`);
  }

  /** The groups (of `nodeName` when given) in key order. */
  #entries(nodeName?: string): Entry[] {
    const groups = nodeName === undefined ? this.#groups : this.#groupsByNode.get(nodeName);
    if (groups === undefined) return [];
    return [...groups.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, e]) => e);
  }

  #add(entry: Entry): void {
    this.#groups.set(keyOf(entry.sim.spec), entry);
    this.#index(entry);
  }

  #index(entry: Entry): void {
    const { nodeName } = entry.sim.spec;
    let groups = this.#groupsByNode.get(nodeName);
    if (groups === undefined) this.#groupsByNode.set(nodeName, (groups = new Map<string, Entry>()));
    groups.set(keyOf(entry.sim.spec), entry);
  }

  #unindex(entry: Entry): void {
    const { nodeName } = entry.sim.spec;
    const groups = this.#groupsByNode.get(nodeName);
    if (groups?.get(keyOf(entry.sim.spec)) !== entry) return;
    groups.delete(keyOf(entry.sim.spec));
    if (groups.size === 0) this.#groupsByNode.delete(nodeName);
  }

  #find(ref: MockRef): Entry | undefined {
    const entry = this.#groups.get(keyOf(ref));
    if (entry === undefined) return undefined;
    if (ref.uid !== undefined && ref.uid !== "" && ref.uid !== entry.sim.spec.uid) return undefined;
    return entry;
  }

  #require(ref: MockRef): Entry {
    validateRef(ref);
    const entry = this.#find(ref);
    if (entry === undefined) throw errorFromCode("VN_NOT_FOUND", `mock cloud: no group ${keyOf(ref)}`);
    return entry;
  }

  /** Brings a group up to the clock's time, then snapshots it. */
  #current(entry: Entry): MockGroupState {
    this.#tick(entry);
    return entry.sim.snapshot();
  }

  #info(entry: Entry): MockGroupInfo {
    this.#tick(entry);
    return { spec: clone(entry.sim.spec), state: entry.sim.snapshot(), updates: entry.sim.updates };
  }

  /** Applies due transitions, publishes a change, and arms one timer for the next transition. */
  #tick(entry: Entry, force = false): void {
    if (this.#groups.get(keyOf(entry.sim.spec)) !== entry) return;
    this.clock.clearTimeout(entry.timer);
    entry.timer = undefined;
    const now = this.clock.now();
    const changed = entry.sim.advance(now);
    if (changed || force)
      this.#publish({ type: "status", state: entry.sim.snapshot() }, entry.sim.spec.nodeName);
    if (entry.sim.removed) {
      this.#remove(entry);
      return;
    }
    const due = entry.sim.nextDue();
    if (due !== undefined) {
      entry.timer = this.clock.setTimeout(() => {
        entry.timer = undefined;
        this.#tick(entry);
      }, due - now);
    }
  }

  #remove(entry: Entry): void {
    const { spec } = entry.sim;
    if (this.#groups.get(keyOf(spec)) !== entry) return;
    this.clock.clearTimeout(entry.timer);
    entry.sim.removed = true;
    this.#groups.delete(keyOf(spec));
    this.#unindex(entry);
    this.#pool.release(entry.sim.podIP);
    this.#publish(
      {
        type: "deleted",
        ref: { namespace: spec.namespace, name: spec.name, uid: spec.uid, nodeName: spec.nodeName },
      },
      spec.nodeName,
    );
    for (const resolve of entry.waiters.splice(0)) resolve();
  }

  #whenRemoved(entry: Entry, signal: AbortSignal | undefined): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const onAbort = (): void => {
        reject(new AbortedError(undefined, { cause: signal?.reason }));
      };
      entry.waiters.push(() => {
        signal?.removeEventListener("abort", onAbort);
        resolve();
      });
      signal?.addEventListener("abort", onAbort, { once: true });
    });
  }

  #publish(event: MockCloudEvent, nodeName: string): void {
    for (const scope of [nodeName, undefined]) {
      for (const subscription of this.#subscriptions.get(scope) ?? []) {
        if (subscription.backlog !== undefined) subscription.backlog.push(event);
        else this.#deliver(subscription, event);
      }
    }
  }

  #deliver(subscription: Subscription, event: MockCloudEvent): void {
    try {
      subscription.listener(clone(event));
    } catch {
      // A listener's failure is its own; the cloud keeps going.
    }
  }
}

function usageError(field: string, value: unknown): InvalidInputError {
  return new InvalidInputError(`${field}=${JSON.stringify(value)}: expected a string`, { field });
}
