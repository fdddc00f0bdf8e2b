/**
 * One simulated container group: the lifecycle state machine of its containers. It never reads a
 * clock itself — the cloud passes `now` in — so every transition happens at an exact, computed
 * time (`advance` replays everything due, in time order), which keeps it deterministic under a
 * fake clock and accurate under a late real timer.
 */
import { InvalidInputError, NotFoundError } from "@virtual-node/core";
import { hashString } from "./random.js";
import type {
  MockContainerSpec,
  MockContainerState,
  MockContainerStats,
  MockGroupSpec,
  MockGroupStage,
  MockGroupState,
  MockLogLine,
  MockLogQuery,
  MockPodStats,
  MockTermination,
  MockUsage,
} from "./types.js";

export interface MockDefaults {
  /** Time in ContainerCreating before the first container starts (default 0). */
  startDelayMs: number;
  /** Run time of each (non-sidecar) init container (default 0). */
  initDurationMs: number;
  /** Run time of main containers; `null` (default) runs forever. */
  runDurationMs: number | null;
  /** Exit code of main containers when they end (default 0). */
  exitCode: number;
  /** Start → ready (default 0). */
  readyDelayMs: number;
  /** Time containers take to stop on delete (default 0: immediate). */
  stopDelayMs: number;
}

/** CrashLoopBackOff: first restart immediate, then `initialMs` doubling up to `maxMs` (kubelet: 10 s, 300 s). */
export interface MockBackoff {
  initialMs: number;
  maxMs: number;
  /** A run at least this long resets the backoff (kubelet: 10 min). */
  resetAfterMs: number;
}

export interface MockLogSettings {
  /** One line per container every `intervalMs` while it runs (default 1000). */
  intervalMs: number;
  /** Ring size per container (default 1000 lines). */
  maxLines: number;
}

export interface GroupSettings {
  defaults: MockDefaults;
  backoff: MockBackoff;
  logs: MockLogSettings;
}

interface Knobs {
  runDurationMs: number | null;
  exitCode: number;
  ready: boolean;
  readyDelayMs: number;
}

interface LogEntry extends MockLogLine {
  run: number;
}

/** Bounded, lazily generated log lines: `line N from <container>` every interval while running. */
class LogRing {
  readonly lines: LogEntry[] = [];
  #nextAt: number | undefined;
  #seq = 0;
  #run = 0;

  constructor(
    private readonly container: string,
    private readonly settings: MockLogSettings,
  ) {}

  start(t: number, run: number, image: string): void {
    this.#run = run;
    this.#seq = 0;
    this.#push(t, `starting ${this.container} (image ${image})`);
    this.#nextAt = t + this.settings.intervalMs;
  }

  /** Generates the periodic lines due up to `t`, skipping ahead when more than the ring holds. */
  fill(t: number): void {
    if (this.#nextAt === undefined || this.#nextAt > t) return;
    const interval = this.settings.intervalMs;
    const due = Math.floor((t - this.#nextAt) / interval) + 1;
    const skip = Math.max(0, due - this.settings.maxLines);
    this.#seq += skip;
    this.#nextAt += skip * interval;
    for (; this.#nextAt <= t; this.#nextAt += interval) {
      this.#seq++;
      this.#push(this.#nextAt, `line ${this.#seq} from ${this.container}`);
    }
  }

  stop(t: number, exitCode: number): void {
    this.fill(t);
    this.#nextAt = undefined;
    this.#push(t, `${this.container} exited with code ${exitCode}`);
  }

  #push(time: number, text: string): void {
    this.lines.push({ time, text, run: this.#run });
    if (this.lines.length > this.settings.maxLines)
      this.lines.splice(0, this.lines.length - this.settings.maxLines);
  }
}

type Kind = "init" | "sidecar" | "main";

class ContainerSim {
  state: "waiting" | "running" | "terminated" = "waiting";
  reason: string | undefined;
  message: string | undefined;
  startedAt: number | undefined;
  finishedAt: number | undefined;
  exitCode: number | undefined;
  signal: number | undefined;
  ready = false;
  started = false;
  readyAt: number | undefined;
  endAt: number | undefined;
  restartAt: number | undefined;
  restartCount = 0;
  /** Number of runs started so far. */
  run = 0;
  backoffStreak = 0;
  last: MockTermination | undefined;
  readonly logs: LogRing;
  /** Reported use; an absent field follows the simulated wave. Starts from the spec (annotations). */
  usage: MockUsage;
  /**
   * CPU time (core-ns) accumulated up to `time` of this run under earlier usage settings, so the
   * cumulative counter stays monotonic when the rate changes; `undefined`: none since the start.
   */
  cpuCheckpoint: { time: number; coreNanoSeconds: number } | undefined;

  constructor(
    readonly kind: Kind,
    public image: string,
    readonly spec: MockContainerSpec,
    readonly knobs: Knobs,
    waitingReason: string,
    logSettings: MockLogSettings,
  ) {
    this.reason = waitingReason;
    this.logs = new LogRing(spec.name, logSettings);
    this.usage = { ...spec.usage };
  }

  get name(): string {
    return this.spec.name;
  }
}

function knobsOf(spec: MockContainerSpec, kind: Kind, defaults: MockDefaults): Knobs {
  const defaultRun =
    kind === "init" ? defaults.initDurationMs : kind === "sidecar" ? null : defaults.runDurationMs;
  return {
    runDurationMs: spec.runDurationMs === undefined ? defaultRun : spec.runDurationMs,
    exitCode: spec.exitCode ?? (kind === "main" ? defaults.exitCode : 0),
    ready: spec.ready ?? true,
    readyDelayMs: spec.readyDelayMs ?? defaults.readyDelayMs,
  };
}

interface PendingStop {
  at: number;
  exitCode: number;
  reason: string;
  signal?: number;
}

/** A safety net against a zero-length restart loop; real settings never get close. */
const MAX_EVENTS_PER_ADVANCE = 100_000;

export class GroupSim {
  spec: MockGroupSpec;
  stage: MockGroupStage;
  revision = 1;
  updates = 0;
  removed = false;
  readonly init: ContainerSim[];
  readonly main: ContainerSim[];
  #initIndex = 0;
  readonly #startAt: number;
  #stop: PendingStop | undefined;

  constructor(
    spec: MockGroupSpec,
    readonly createdAt: number,
    readonly podIP: string,
    readonly hostIP: string,
    private readonly settings: GroupSettings,
  ) {
    this.spec = spec;
    this.stage = "Creating";
    this.#startAt = createdAt + (spec.startDelayMs ?? settings.defaults.startDelayMs);
    const mainReason = spec.initContainers.length > 0 ? "PodInitializing" : "ContainerCreating";
    this.init = spec.initContainers.map((c, i) => {
      const kind: Kind = c.restartPolicy === "Always" ? "sidecar" : "init";
      const reason = i === 0 ? "ContainerCreating" : "PodInitializing";
      return new ContainerSim(kind, c.image, c, knobsOf(c, kind, settings.defaults), reason, settings.logs);
    });
    this.main = spec.containers.map(
      (c) =>
        new ContainerSim(
          "main",
          c.image,
          c,
          knobsOf(c, "main", settings.defaults),
          mainReason,
          settings.logs,
        ),
    );
  }

  get stopping(): boolean {
    return this.#stop !== undefined;
  }

  /** The time of the next transition, if any. */
  nextDue(): number | undefined {
    if (this.removed) return undefined;
    if (this.#stop !== undefined) return this.#stop.at;
    let due = this.stage === "Creating" ? this.#startAt : Number.POSITIVE_INFINITY;
    for (const c of this.#all()) {
      if (c.state === "running") {
        if (c.endAt !== undefined) due = Math.min(due, c.endAt);
        if (!c.ready && c.readyAt !== undefined) due = Math.min(due, c.readyAt);
      } else if (c.state === "waiting" && c.restartAt !== undefined) due = Math.min(due, c.restartAt);
    }
    return Number.isFinite(due) ? due : undefined;
  }

  /** Applies every transition due at or before `now`, in time order. Returns whether anything changed. */
  advance(now: number): boolean {
    let changed = false;
    for (let i = 0; i < MAX_EVENTS_PER_ADVANCE; i++) {
      const t = this.nextDue();
      if (t === undefined || t > now || !this.#processAt(t)) break;
      changed = true;
    }
    if (changed) this.revision++;
    return changed;
  }

  /**
   * Starts a graceful stop: containers stop after the group's stop delay, or are killed (137)
   * when that exceeds the grace period. A second call can only shorten the stop.
   */
  beginStop(now: number, graceMs: number): void {
    const anyRunning = this.#all().some((c) => c.state === "running");
    const stopDelay = anyRunning ? (this.spec.stopDelayMs ?? this.settings.defaults.stopDelayMs) : 0;
    const stop: PendingStop =
      stopDelay <= graceMs
        ? { at: now + stopDelay, exitCode: 0, reason: "Completed" }
        : { at: now + graceMs, exitCode: 137, reason: "Error", signal: 9 };
    if (this.#stop !== undefined && this.#stop.at <= stop.at) return;
    this.#stop = stop;
    this.stage = "Stopping";
    this.revision++;
  }

  /** Takes a new spec; a container whose image changed restarts with it, as the kubelet does. */
  update(spec: MockGroupSpec, now: number): void {
    this.spec = spec;
    this.updates++;
    this.revision++;
    const images = new Map([...spec.initContainers, ...spec.containers].map((c) => [c.name, c.image]));
    for (const c of this.#all()) {
      const image = images.get(c.name);
      if (image === undefined || image === c.image) continue;
      c.image = image;
      if (c.state === "running" && this.#stop === undefined) {
        c.logs.stop(now, 0);
        c.last = { exitCode: 0, reason: "Completed", startedAt: c.startedAt ?? now, finishedAt: now };
        this.#start(c, now);
      }
    }
  }

  snapshot(): MockGroupState {
    return {
      namespace: this.spec.namespace,
      name: this.spec.name,
      uid: this.spec.uid,
      nodeName: this.spec.nodeName,
      restartPolicy: this.spec.restartPolicy,
      stage: this.stage,
      createdAt: this.createdAt,
      podIP: this.podIP,
      hostIP: this.hostIP,
      revision: this.revision,
      ...(this.spec.tags === undefined ? {} : { tags: { ...this.spec.tags } }),
      ...(this.spec.shape === undefined ? {} : { shape: { ...this.spec.shape } }),
      initContainers: this.init.map((c) => this.#containerState(c)),
      containers: this.main.map((c) => this.#containerState(c)),
    };
  }

  logs(container: string, query: MockLogQuery, now: number): MockLogLine[] {
    const c = this.#container(container);
    c.logs.fill(now);
    const run = query.previous === true ? c.run - 1 : c.run;
    if (run < 1) {
      throw new InvalidInputError(
        query.previous === true
          ? `previous terminated container ${container} not found`
          : `container ${container} is waiting to start: ${c.reason ?? "ContainerCreating"}`,
      );
    }
    let lines = c.logs.lines.filter(
      (l) => l.run === run && (query.sinceTime === undefined || l.time >= query.sinceTime),
    );
    if (query.tailLines !== undefined) lines = query.tailLines > 0 ? lines.slice(-query.tailLines) : [];
    return lines.map((l) => ({ time: l.time, text: l.text }));
  }

  /**
   * Plausible, deterministic usage: a per-container sine wave around a per-container base, unless
   * a fixed usage was set (annotation or {@link setUsage}).
   */
  stats(now: number): MockPodStats {
    const containers: MockContainerStats[] = [];
    for (const c of this.#all()) {
      if (c.state !== "running" || c.startedAt === undefined) continue;
      const wave = this.#wave(c);
      const elapsedS = Math.max(0, now - c.startedAt) / 1000;
      containers.push({
        name: c.name,
        cpuNanoCores: Math.round(c.usage.cpuNanoCores ?? wave.milli(elapsedS) * 1e6),
        cpuUsageCoreNanoSeconds: Math.round(this.#cpuIntegral(c, now)),
        memoryWorkingSetBytes: Math.round(c.usage.memoryBytes ?? wave.memory(elapsedS)),
      });
    }
    return { time: now, containers };
  }

  /**
   * Fixes (or, with `null`, releases) the reported use of one container or all of them from `now`
   * on. The CPU counter is checkpointed first, so it never runs backwards.
   */
  setUsage(
    now: number,
    usage: { cpuNanoCores?: number | null; memoryBytes?: number | null },
    container?: string,
  ): void {
    const targets = container === undefined ? this.#all() : [this.#container(container)];
    for (const c of targets) {
      if (usage.cpuNanoCores !== undefined) {
        if (c.state === "running" && c.startedAt !== undefined)
          c.cpuCheckpoint = { time: now, coreNanoSeconds: this.#cpuIntegral(c, now) };
        if (usage.cpuNanoCores === null) delete c.usage.cpuNanoCores;
        else c.usage.cpuNanoCores = usage.cpuNanoCores;
      }
      if (usage.memoryBytes === null) delete c.usage.memoryBytes;
      else if (usage.memoryBytes !== undefined) c.usage.memoryBytes = usage.memoryBytes;
    }
  }

  /** CPU core-ns used by the current run up to `now`: checkpoint + the current rate since then. */
  #cpuIntegral(c: ContainerSim, now: number): number {
    const startedAt = c.startedAt ?? now;
    const from = c.cpuCheckpoint ?? { time: startedAt, coreNanoSeconds: 0 };
    const fixed = c.usage.cpuNanoCores;
    if (fixed !== undefined) return from.coreNanoSeconds + (fixed * Math.max(0, now - from.time)) / 1000;
    const wave = this.#wave(c);
    const at = (t: number): number => wave.milliSeconds(Math.max(0, t - startedAt) / 1000) * 1e6;
    return from.coreNanoSeconds + at(now) - at(from.time);
  }

  /** The simulated figures of a container as functions of seconds since its start. */
  #wave(c: ContainerSim) {
    const h = hashString(`${this.spec.namespace}/${this.spec.name}/${c.name}`);
    const baseMilli = 20 + (h % 60);
    const amp = baseMilli / 2;
    const omega = (2 * Math.PI) / 60;
    const phi = (h % 628) / 100;
    const mib = 1024 * 1024;
    return {
      milli: (s: number) => baseMilli + amp * Math.sin(omega * s + phi),
      /** Integral of `milli` over [0, s]: millicore-seconds. */
      milliSeconds: (s: number) =>
        baseMilli * s + (amp / omega) * (Math.cos(phi) - Math.cos(omega * s + phi)),
      memory: (s: number) =>
        (32 + (h % 96)) * mib + (Math.min(s, 600) / 600) * 16 * mib + 2 * mib * Math.sin(omega * s),
    };
  }

  /** Env and state of a container, for exec. */
  execTarget(container: string): {
    env: MockContainerSpec["env"];
    running: boolean;
    reason: string | undefined;
  } {
    const c = this.#container(container);
    const spec = [...this.spec.initContainers, ...this.spec.containers].find((s) => s.name === container);
    return { env: spec?.env ?? c.spec.env, running: c.state === "running", reason: c.reason };
  }

  #container(name: string): ContainerSim {
    const c = this.#all().find((x) => x.name === name);
    if (c === undefined)
      throw new NotFoundError(`container ${name} not found in ${this.spec.namespace}/${this.spec.name}`);
    return c;
  }

  #all(): ContainerSim[] {
    return [...this.init, ...this.main];
  }

  #containerState(c: ContainerSim): MockContainerState {
    const s: MockContainerState = {
      name: c.name,
      image: c.image,
      containerId: `mock://${this.spec.uid}/${c.name}/${c.run}`,
      state: c.state,
      ready: c.ready,
      started: c.started,
      restartCount: c.restartCount,
    };
    if (c.reason !== undefined) s.reason = c.reason;
    if (c.message !== undefined) s.message = c.message;
    if (c.startedAt !== undefined) s.startedAt = c.startedAt;
    if (c.finishedAt !== undefined) s.finishedAt = c.finishedAt;
    if (c.exitCode !== undefined) s.exitCode = c.exitCode;
    if (c.signal !== undefined) s.signal = c.signal;
    if (c.last !== undefined) s.lastTermination = { ...c.last };
    if (c.kind === "sidecar") s.sidecar = true;
    return s;
  }

  /** Handles the one transition due at `t` (the earliest); ties go in container order. */
  #processAt(t: number): boolean {
    if (this.#stop !== undefined) {
      this.#finishStop(this.#stop);
      return true;
    }
    if (this.stage === "Creating") {
      if (this.init.length > 0) {
        this.stage = "Initializing";
        this.#startNextInit(t);
      } else this.#startMains(t);
      return true;
    }
    for (const c of this.#all()) {
      if (c.state === "running" && c.endAt !== undefined && c.endAt <= t) {
        this.#exited(c, c.endAt, c.knobs.exitCode);
        return true;
      }
      if (c.state === "running" && !c.ready && c.readyAt !== undefined && c.readyAt <= t) {
        c.ready = true;
        return true;
      }
      if (c.state === "waiting" && c.restartAt !== undefined && c.restartAt <= t) {
        this.#start(c, c.restartAt);
        return true;
      }
    }
    return false;
  }

  #start(c: ContainerSim, t: number): void {
    c.run++;
    if (c.run > 1) c.restartCount++;
    c.state = "running";
    c.started = true;
    c.startedAt = t;
    c.cpuCheckpoint = undefined;
    c.reason = c.message = c.finishedAt = c.exitCode = c.signal = c.restartAt = undefined;
    c.endAt = c.knobs.runDurationMs === null ? undefined : t + c.knobs.runDurationMs;
    c.readyAt = c.kind !== "init" && c.knobs.ready ? t + c.knobs.readyDelayMs : undefined;
    c.ready = c.readyAt !== undefined && c.readyAt <= t;
    c.logs.start(t, c.run, c.image);
  }

  #terminate(c: ContainerSim, t: number, exitCode: number, reason: string, signal?: number): MockTermination {
    c.logs.stop(t, exitCode);
    const termination: MockTermination = { exitCode, reason, startedAt: c.startedAt ?? t, finishedAt: t };
    if (signal !== undefined) termination.signal = signal;
    c.state = "terminated";
    c.reason = reason;
    c.exitCode = exitCode;
    c.signal = signal;
    c.finishedAt = t;
    c.ready = c.kind === "init" && exitCode === 0;
    c.started = false;
    c.endAt = c.readyAt = c.restartAt = undefined;
    return termination;
  }

  #exited(c: ContainerSim, t: number, exitCode: number): void {
    const termination = this.#terminate(c, t, exitCode, exitCode === 0 ? "Completed" : "Error");
    const policy = this.spec.restartPolicy;
    if (c.kind === "sidecar") {
      this.#scheduleRestart(c, t, termination);
    } else if (c.kind === "init") {
      if (exitCode === 0) {
        this.#initIndex++;
        this.#startNextInit(t);
      } else if (policy === "Never") {
        this.#finish(t);
      } else this.#scheduleRestart(c, t, termination);
    } else if (policy === "Always" || (policy === "OnFailure" && exitCode !== 0)) {
      this.#scheduleRestart(c, t, termination);
    } else if (this.main.every((m) => m.state === "terminated")) {
      this.#finish(t);
    }
  }

  #scheduleRestart(c: ContainerSim, t: number, termination: MockTermination): void {
    const { initialMs, maxMs, resetAfterMs } = this.settings.backoff;
    if (termination.finishedAt - termination.startedAt >= resetAfterMs) c.backoffStreak = 0;
    const delay =
      c.backoffStreak === 0 ? 0 : Math.min(Math.max(1, initialMs) * 2 ** (c.backoffStreak - 1), maxMs);
    c.backoffStreak++;
    c.last = termination;
    c.state = "waiting";
    c.reason = "CrashLoopBackOff";
    c.message = `back-off ${Math.round(delay / 1000)}s restarting failed container=${c.name} pod=${this.spec.name}_${this.spec.namespace}(${this.spec.uid})`;
    c.exitCode = c.finishedAt = c.signal = undefined;
    c.restartAt = t + delay;
  }

  #startNextInit(t: number): void {
    for (; this.#initIndex < this.init.length; this.#initIndex++) {
      const c = this.init[this.#initIndex];
      if (c === undefined) break;
      this.#start(c, t);
      // A sidecar counts as done once started; a regular init container must exit 0 first.
      if (c.kind === "init") return;
    }
    this.#startMains(t);
  }

  #startMains(t: number): void {
    this.stage = "Running";
    for (const c of this.main) this.#start(c, t);
  }

  /** Nothing will run again: stop the sidecars, as the kubelet does once regular containers are done. */
  #finish(t: number): void {
    this.stage = "Terminated";
    for (const c of this.init) {
      if (c.kind !== "sidecar") continue;
      if (c.state === "running") this.#terminate(c, t, 0, "Completed");
      c.restartAt = undefined;
    }
  }

  #finishStop(stop: PendingStop): void {
    for (const c of this.#all()) {
      if (c.state === "running") this.#terminate(c, stop.at, stop.exitCode, stop.reason, stop.signal);
      c.restartAt = undefined;
    }
    this.removed = true;
  }
}
