/**
 * The kubelet API hooks of the mock provider: container logs (with follow), exec, attach,
 * port-forward and stats, all over the mock cloud's API, so `kubectl logs/exec/attach/port-forward/top`
 * can be tested end to end without a container runtime.
 *
 * - logs: the generated log ring (`line N from <container>` every `logs.intervalMs`); `follow`
 *   polls for new lines and ends when the container stops;
 * - exec: the built-in commands of `runMockCommand` (`echo`, `cat`, `env`, `sleep N`, `exit N`, ...);
 *   `cat` without arguments streams stdin to stdout as it arrives, and `stty size` prints the
 *   terminal size of a `-t` session (`rows cols`);
 * - attach: a simulated main process that prints its new log lines and echoes stdin;
 * - port-forward: an echo server on every declared `containerPort`;
 * - stats: the cloud's plausible CPU and memory figures in the kubelet's Summary shape.
 */
import { once } from "node:events";
import { PassThrough, type Duplex, type Readable, type Writable } from "node:stream";
import { InvalidInputError, NotFoundError, throwIfAborted } from "@virtual-node/core";
import type {
  CallOptions,
  ContainerLogOptions,
  ExecResult,
  ExecStreams,
  PodRef,
  PodStats,
  ProviderStatsSummary,
} from "@virtual-node/core";
import type { MockCloudApi, MockContainerState, MockGroupState, MockLogLine } from "./types.js";

export interface MockKubeletHooksOptions {
  /** How often a followed log (and an attached process) polls for new lines. Default 200 ms. */
  pollIntervalMs?: number;
}

export interface MockKubeletHooks {
  getContainerLogs(
    ref: PodRef,
    container: string,
    logOptions: ContainerLogOptions,
    options: CallOptions,
  ): Promise<Readable>;
  exec(
    ref: PodRef,
    container: string,
    command: readonly string[],
    streams: ExecStreams,
    options: CallOptions,
  ): Promise<ExecResult>;
  attach(ref: PodRef, container: string, streams: ExecStreams, options: CallOptions): Promise<ExecResult>;
  portForward(ref: PodRef, port: number, stream: Duplex, options: CallOptions): Promise<void>;
  getStatsSummary(
    nodeName: string,
    pods: readonly PodRef[],
    options: CallOptions,
  ): Promise<ProviderStatsSummary>;
}

/** RFC 3339 with up to nine fraction digits and trailing zeros trimmed (Go's `time.RFC3339Nano`). */
export function formatRFC3339Nano(epochMs: number): string {
  const iso = new Date(epochMs).toISOString(); // 2026-01-02T03:04:05.678Z
  const [seconds, fraction = ""] = iso.slice(0, -1).split(".");
  const trimmed = fraction.replace(/0+$/, "");
  return `${seconds ?? iso}${trimmed.length > 0 ? `.${trimmed}` : ""}Z`;
}

function containerOf(state: MockGroupState, name: string): MockContainerState | undefined {
  return [...state.initContainers, ...state.containers].find((c) => c.name === name);
}

async function writeAll(stream: Writable, data: string | Buffer): Promise<void> {
  if (data.length === 0 || stream.destroyed || stream.writableEnded) return;
  if (!stream.write(data)) await once(stream, "drain");
}

async function readAll(stream: Readable | undefined, signal: AbortSignal): Promise<string> {
  if (stream === undefined) return "";
  const chunks: Buffer[] = [];
  for await (const chunk of stream) {
    throwIfAborted(signal);
    chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk)));
  }
  return Buffer.concat(chunks).toString("utf8");
}

/** Reads `signal.aborted` afresh (it changes while awaiting). */
function aborted(signal: AbortSignal): boolean {
  return signal.aborted;
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
    signal.addEventListener("abort", done, { once: true });
  });
}

export function createMockKubeletHooks(
  cloud: MockCloudApi,
  options: MockKubeletHooksOptions = {},
): MockKubeletHooks {
  const pollMs = options.pollIntervalMs ?? 200;

  async function requireRunning(ref: PodRef, container: string, signal: AbortSignal): Promise<void> {
    const state = await cloud.getPod(ref, { signal });
    if (state === undefined) throw new NotFoundError(`pod ${ref.namespace}/${ref.name} not found`);
    const c = containerOf(state, container);
    if (c === undefined) throw new NotFoundError(`container ${container} not found in pod ${ref.name}`);
    if (c.state !== "running")
      throw new InvalidInputError(`container ${container} is not running (${c.reason ?? c.state})`);
  }

  /**
   * Polls the log ring for lines after the last one seen, until the container's run ends (it
   * exits, or is restarted: then the rest of the run that was followed is read from `previous`).
   */
  async function follow(
    ref: PodRef,
    container: string,
    from: { time: number; seenAtTime: number },
    emit: (line: MockLogLine) => Promise<void>,
    signal: AbortSignal,
    isGone: () => boolean,
  ): Promise<void> {
    let { time, seenAtTime } = from;
    const current = async (): Promise<MockContainerState | undefined> => {
      const state = await cloud.getPod(ref, { signal });
      return state === undefined ? undefined : containerOf(state, container);
    };
    let runId: string | undefined;
    try {
      runId = (await current())?.containerId;
    } catch {
      return;
    }
    for (;;) {
      await sleep(pollMs, signal);
      if (aborted(signal) || isGone()) return;
      let lines: MockLogLine[];
      let last: boolean;
      try {
        const before = await current();
        const sameRun = before !== undefined && before.containerId === runId;
        lines = await cloud.logs(ref, container, { sinceTime: time, previous: !sameRun }, { signal });
        const after = sameRun ? await current() : before;
        if (sameRun && after?.containerId !== runId) {
          // Restarted while reading: read the followed run from `previous` next round.
          continue;
        }
        last = !sameRun || after?.state !== "running";
      } catch {
        return; // the group or container is gone: the log ends
      }
      let skip = 0;
      for (const line of lines) {
        if (line.time === time && skip < seenAtTime) {
          skip++;
          continue;
        }
        if (line.time === time) seenAtTime++;
        else {
          time = line.time;
          seenAtTime = 1;
        }
        await emit(line);
        if (isGone() || aborted(signal)) return;
      }
      if (last) return;
    }
  }

  function position(lines: readonly MockLogLine[], fallback: number): { time: number; seenAtTime: number } {
    const last = lines.at(-1);
    if (last === undefined) return { time: fallback, seenAtTime: 0 };
    return { time: last.time, seenAtTime: lines.filter((l) => l.time === last.time).length };
  }

  const hooks: MockKubeletHooks = {
    async getContainerLogs(ref, container, logOptions, { signal }) {
      throwIfAborted(signal);
      const sinceTime =
        logOptions.sinceTime?.getTime() ??
        (logOptions.sinceSeconds === undefined ? undefined : Date.now() - logOptions.sinceSeconds * 1000);
      const lines = await cloud.logs(
        ref,
        container,
        {
          ...(logOptions.tailLines === undefined ? {} : { tailLines: logOptions.tailLines }),
          ...(sinceTime === undefined ? {} : { sinceTime }),
          previous: logOptions.previous,
        },
        { signal },
      );
      const format = (line: MockLogLine): string =>
        `${logOptions.timestamps ? `${formatRFC3339Nano(line.time)} ` : ""}${line.text}\n`;
      const out = new PassThrough();
      const emit = (line: MockLogLine): Promise<void> => writeAll(out, format(line));
      void (async () => {
        try {
          for (const line of lines) await emit(line);
          if (logOptions.follow && !logOptions.previous) {
            await follow(
              ref,
              container,
              position(lines, sinceTime ?? Date.now()),
              emit,
              signal,
              () => out.destroyed,
            );
          }
        } finally {
          if (!out.destroyed) out.end();
        }
      })().catch((error: unknown) => out.destroy(error instanceof Error ? error : new Error(String(error))));
      return out;
    },

    async exec(ref, container, command, streams, { signal }) {
      throwIfAborted(signal);
      const [program = "", ...args] = command;
      const base = program.slice(program.lastIndexOf("/") + 1);
      const stdout = streams.stdout;
      const stderr = streams.tty ? streams.stdout : streams.stderr;
      if (base === "cat" && args.length === 0 && streams.stdin !== undefined) {
        // Streaming cat: what comes in goes out at once, with backpressure.
        await requireRunning(ref, container, signal);
        for await (const chunk of streams.stdin) {
          if (signal.aborted) break;
          if (stdout !== undefined) await writeAll(stdout, chunk as Buffer);
        }
        return { exitCode: 0 };
      }
      if (base === "stty" && args[0] === "size") {
        await requireRunning(ref, container, signal);
        if (!streams.tty || streams.resize === undefined) {
          if (stderr !== undefined) await writeAll(stderr, "stty: standard input: Not a tty\n");
          return { exitCode: 1 };
        }
        const iterator = streams.resize[Symbol.asyncIterator]();
        const first = await Promise.race([
          iterator.next(),
          sleep(5000, signal).then(() => ({ done: true as const, value: undefined })),
        ]);
        const size = first.done === true ? { width: 80, height: 24 } : first.value;
        if (stdout !== undefined) await writeAll(stdout, `${size.height} ${size.width}\r\n`);
        return { exitCode: 0 };
      }
      const readsStdin = base === "cat" || (base === "sh" && /^\s*cat\s*$/.test(args[1] ?? ""));
      const stdin = readsStdin ? await readAll(streams.stdin, signal) : "";
      const result = await cloud.exec(ref, container, command, { stdin }, { signal });
      if (stdout !== undefined) await writeAll(stdout, result.stdout);
      if (stderr !== undefined) await writeAll(stderr, result.stderr);
      return { exitCode: result.exitCode };
    },

    async attach(ref, container, streams, { signal }) {
      throwIfAborted(signal);
      await requireRunning(ref, container, signal);
      const stdout = streams.stdout;
      const start = await cloud.logs(ref, container, { tailLines: 1 }, { signal });
      const echo = (async () => {
        if (streams.stdin === undefined) return;
        for await (const chunk of streams.stdin) {
          if (signal.aborted) return;
          if (stdout !== undefined) await writeAll(stdout, chunk as Buffer);
        }
      })();
      echo.catch(() => undefined);
      await follow(
        ref,
        container,
        position(start, Date.now()),
        async (line) => {
          if (stdout !== undefined) await writeAll(stdout, `${line.text}\n`);
        },
        signal,
        () => false,
      );
      if (signal.aborted) return { exitCode: 0 };
      // The process ended: report its exit code, like an attach to a container that exits.
      const state = await cloud.getPod(ref, { signal }).catch(() => undefined);
      const c = state === undefined ? undefined : containerOf(state, container);
      return { exitCode: c?.exitCode ?? c?.lastTermination?.exitCode ?? 0 };
    },

    async portForward(ref, port, stream, { signal }) {
      throwIfAborted(signal);
      const info = await cloud.getGroup(ref.namespace, ref.name);
      if (info === undefined || (ref.uid !== "" && info.spec.uid !== ref.uid))
        throw new NotFoundError(`pod ${ref.namespace}/${ref.name} not found`);
      const ports = [...info.spec.initContainers, ...info.spec.containers].flatMap((c) =>
        (c.ports ?? []).filter((p) => p.protocol === "TCP").map((p) => p.containerPort),
      );
      if (!ports.includes(port)) {
        throw new InvalidInputError(
          `connection refused: nothing listens on port ${port} in pod ${ref.namespace}/${ref.name} (declared TCP ports: ${ports.join(", ") || "none"})`,
        );
      }
      const onAbort = (): void => {
        stream.destroy();
      };
      signal.addEventListener("abort", onAbort, { once: true });
      try {
        for await (const chunk of stream) await writeAll(stream, chunk as Buffer);
        if (!stream.destroyed) stream.end();
      } finally {
        signal.removeEventListener("abort", onAbort);
      }
    },

    async getStatsSummary(nodeName, _pods, { signal }) {
      throwIfAborted(signal);
      const states = await cloud.listPods(nodeName, { signal });
      const pods: PodStats[] = [];
      for (const state of states) {
        const running = [...state.initContainers, ...state.containers].filter((c) => c.state === "running");
        if (running.length === 0) continue;
        let stats;
        try {
          stats = await cloud.stats(state, { signal });
        } catch {
          continue; // gone meanwhile
        }
        const time = new Date(stats.time).toISOString();
        const containers = stats.containers.map((c) => {
          const startedAt = running.find((r) => r.name === c.name)?.startedAt ?? state.createdAt;
          return {
            name: c.name,
            startTime: new Date(startedAt).toISOString(),
            cpu: {
              time,
              usageNanoCores: c.cpuNanoCores,
              usageCoreNanoSeconds: c.cpuUsageCoreNanoSeconds,
            },
            memory: {
              time,
              usageBytes: c.memoryWorkingSetBytes,
              workingSetBytes: c.memoryWorkingSetBytes,
              rssBytes: Math.round(c.memoryWorkingSetBytes * 0.8),
              pageFaults: 0,
              majorPageFaults: 0,
            },
          };
        });
        pods.push({
          podRef: { name: state.name, namespace: state.namespace, uid: state.uid },
          startTime: new Date(state.createdAt).toISOString(),
          containers,
        });
      }
      return { pods };
    },
  };
  return hooks;
}
