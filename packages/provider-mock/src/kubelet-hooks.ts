/**
 * The kubelet API hooks of the mock provider: container logs (with follow), exec, attach,
 * port-forward and stats, all over the mock cloud's API, so `kubectl logs/exec/attach/port-forward/top`
 * can be tested end to end without a container runtime.
 *
 * - logs: the generated log ring (`line N from <container>` every `logs.intervalMs`), read through
 *   the provider kit's `followLogsByPolling` (tail, since, limitBytes, de-duplication); `follow`
 *   polls for new lines and ends when the container stops;
 * - exec: the built-in commands of `runMockCommand` (`echo`, `cat`, `env`, `sleep N`, `exit N`, ...);
 *   `cat` without arguments streams stdin to stdout as it arrives, and `stty size` prints the
 *   terminal size of a `-t` session (`rows cols`);
 * - attach: a simulated main process that prints its new log lines and echoes stdin;
 * - port-forward: an echo server on every declared `containerPort`;
 * - stats: the cloud's plausible CPU and memory figures in the kubelet's Summary shape.
 */
import { once } from "node:events";
import type { Duplex, Readable, Writable } from "node:stream";
import { InvalidInputError, NotFoundError, systemClock, throwIfAborted } from "@virtual-node/core";
import type {
  CallOptions,
  Clock,
  ContainerLogOptions,
  ExecResult,
  ExecStreams,
  PodRef,
  ProviderStatsSummary,
} from "@virtual-node/core";
import type { PodStats } from "@virtual-node/core/kubelet-api";
import { followLogsByPolling } from "@virtual-node/core/provider-kit";
import type { LogEntry, LogPageFetcher } from "@virtual-node/core/provider-kit";
import type { MockCloudApi, MockContainerState, MockGroupState, MockLogLine } from "./types.js";

/** Kept for compatibility: the kit's formatter (Go's `time.RFC3339Nano`, as the kubelet writes it). */
export { formatRFC3339Nano } from "@virtual-node/core/provider-kit";

export interface MockKubeletHooksOptions {
  /** How often a followed log (and an attached process) polls for new lines. Default 200 ms. */
  pollIntervalMs?: number;
  /** Drives the polling and `sinceSeconds` (default: the system clock). */
  clock?: Clock;
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
  const clock = options.clock ?? systemClock;

  async function requireRunning(ref: PodRef, container: string, signal: AbortSignal): Promise<void> {
    const state = await cloud.getPod(ref, { signal });
    if (state === undefined) throw new NotFoundError(`pod ${ref.namespace}/${ref.name} not found`);
    const c = containerOf(state, container);
    if (c === undefined) throw new NotFoundError(`container ${container} not found in pod ${ref.name}`);
    if (c.state !== "running")
      throw new InvalidInputError(`container ${container} is not running (${c.reason ?? c.state})`);
  }

  /**
   * The mock cloud's log call as the kit's page fetcher. The cursor is the run being read (its
   * container ID) and the time of the last line seen; the kit de-duplicates the lines at that time,
   * which the cloud returns again (`sinceTime` is inclusive). A followed run ends when its container
   * stops or restarts (then the rest of the run is read from `previous`), as a kubelet's log does.
   */
  function logFetcher(ref: PodRef, container: string, previous: boolean): LogPageFetcher {
    const current = async (signal: AbortSignal): Promise<MockContainerState | undefined> => {
      const state = await cloud.getPod(ref, { signal });
      return state === undefined ? undefined : containerOf(state, container);
    };
    const entries = (lines: readonly MockLogLine[]): LogEntry[] =>
      lines.map((l) => ({ time: new Date(l.time), message: l.text }));
    const encode = (run: string | undefined, time: number | undefined): string =>
      JSON.stringify({ run, time });

    return async (cursor, signal, hints) => {
      if (cursor === undefined) {
        // Ask for at least one line even with tailLines=0: its time is where following starts.
        const tailLines = hints.tailLines === undefined ? undefined : Math.max(1, hints.tailLines);
        const lines = await cloud.logs(
          ref,
          container,
          {
            ...(tailLines === undefined ? {} : { tailLines }),
            ...(hints.sinceTime === undefined ? {} : { sinceTime: hints.sinceTime.getTime() }),
            previous,
          },
          { signal },
        );
        const c = previous ? undefined : await current(signal);
        return {
          entries: entries(lines),
          cursor: encode(c?.containerId, lines.at(-1)?.time ?? hints.sinceTime?.getTime()),
          end: c?.state !== "running",
        };
      }
      const { run, time } = JSON.parse(cursor) as { run?: string; time?: number };
      const before = await current(signal);
      if (before === undefined) return { entries: [], end: true }; // the group or container is gone
      const sameRun = before.containerId === run;
      const read = (): Promise<MockLogLine[]> =>
        cloud.logs(
          ref,
          container,
          { ...(time === undefined ? {} : { sinceTime: time }), previous: !sameRun },
          { signal },
        );
      let lines = await read();
      if (sameRun) {
        const after = await current(signal);
        // Restarted while reading: read the followed run from `previous` at the next poll.
        if (after?.containerId !== run) return { entries: [], cursor };
        if (after.state !== "running") {
          // It stopped while reading: read once more for the lines up to its end.
          lines = await read();
          return { entries: entries(lines), end: true };
        }
      }
      return {
        entries: entries(lines),
        cursor: encode(run, lines.at(-1)?.time ?? time),
        ...(sameRun ? {} : { end: true }),
      };
    };
  }

  const hooks: MockKubeletHooks = {
    async getContainerLogs(ref, container, logOptions, { signal }) {
      throwIfAborted(signal);
      return followLogsByPolling(logFetcher(ref, container, logOptions.previous), {
        logOptions,
        signal,
        clock,
        intervalMs: pollMs,
      });
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
      const echo = (async () => {
        if (streams.stdin === undefined) return;
        for await (const chunk of streams.stdin) {
          if (signal.aborted) return;
          if (stdout !== undefined) await writeAll(stdout, chunk as Buffer);
        }
      })();
      echo.catch(() => undefined);
      // The process's output: the log lines from now on (none of the past), until its run ends.
      const output = await followLogsByPolling(logFetcher(ref, container, false), {
        logOptions: { follow: true, tailLines: 0, timestamps: false, previous: false },
        signal,
        clock,
        intervalMs: pollMs,
      });
      try {
        for await (const chunk of output) if (stdout !== undefined) await writeAll(stdout, chunk as Buffer);
      } catch {
        // The log broke off: the attach ends like the process did.
      }
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
