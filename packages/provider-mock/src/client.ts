/**
 * An HTTP client for `startMockCloudServer`, with the same interface as the in-process
 * `MockCloud`. HTTP failures become typed errors: 404 → `NotFoundError`, 400 → `InvalidInputError`,
 * 429/503 (with `Retry-After`) and network failures → `RetryableError`, an aborted signal →
 * `AbortedError`.
 */
import { AbortedError, RetryableError, createSystemClock } from "@virtual-node/core";
import type { Clock } from "@virtual-node/core";
import { errorFromHttp } from "./errors.js";
import type {
  MockCallOptions,
  MockCallStats,
  MockCloudApi,
  MockCloudEvent,
  MockCloudInfo,
  MockCloudListener,
  MockCloudSettings,
  MockExecResult,
  MockGroupInfo,
  MockGroupSpec,
  MockGroupState,
  MockLogLine,
  MockLogQuery,
  MockPodStats,
  MockUsageUpdate,
  MockRef,
} from "./types.js";

export interface MockCloudClientOptions {
  /** Delay before an event stream reconnects (default 500 ms). */
  reconnectDelayMs?: number;
  /** Clock for reconnect delays (default: the system clock, unref'd). */
  clock?: Clock;
}

export interface MockCloudClient extends MockCloudApi {
  readonly url: string;
  /** Ends every event stream this client opened. */
  close(): void;
}

type ErrorBody =
  { error?: { code?: string; message?: string; field?: string; retryAfterMs?: number } } | undefined;

function path(...segments: string[]): string {
  return `/${segments.map(encodeURIComponent).join("/")}`;
}

function query(params: Record<string, string | number | boolean | undefined>): string {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params))
    if (value !== undefined && value !== "") search.set(key, String(value));
  const text = search.toString();
  return text === "" ? "" : `?${text}`;
}

/** Read through a function: TypeScript would otherwise keep the narrowing from before an await. */
function isAborted(signal: AbortSignal | undefined): boolean {
  return signal?.aborted === true;
}

function abortError(signal: AbortSignal | undefined, cause: unknown): AbortedError {
  return new AbortedError(undefined, { cause: signal?.reason ?? cause });
}

/** Connects to a mock cloud server, e.g. `connectMockCloud(server.url)`. */
export function connectMockCloud(url: string | URL, options: MockCloudClientOptions = {}): MockCloudClient {
  const base = new URL(url);
  const clock = options.clock ?? createSystemClock({ unref: true });
  const reconnectDelayMs = options.reconnectDelayMs ?? 500;
  const streams = new Set<AbortController>();

  async function request<T>(
    method: string,
    target: string,
    body: unknown,
    options: MockCallOptions = {},
  ): Promise<T> {
    const { signal } = options;
    if (isAborted(signal)) throw abortError(signal, undefined);
    let res: Response;
    try {
      res = await fetch(new URL(target, base), {
        method,
        ...(body === undefined
          ? {}
          : { body: JSON.stringify(body), headers: { "content-type": "application/json" } }),
        ...(signal === undefined ? {} : { signal }),
      });
    } catch (error) {
      if (isAborted(signal)) throw abortError(signal, error);
      throw new RetryableError(`mock cloud unreachable at ${base.origin}`, { cause: error });
    }
    let text: string;
    try {
      text = await res.text();
    } catch (error) {
      if (isAborted(signal)) throw abortError(signal, error);
      throw new RetryableError(`mock cloud connection lost while reading the answer to ${method} ${target}`, {
        cause: error,
      });
    }
    let parsed: unknown;
    try {
      parsed = text === "" ? undefined : JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    if (!res.ok)
      throw errorFromHttp(res.status, (parsed as ErrorBody)?.error, res.headers.get("retry-after"));
    return parsed as T;
  }

  async function getOrUndefined<T>(
    target: string,
    options: MockCallOptions | undefined,
  ): Promise<T | undefined> {
    try {
      return await request<T>("GET", target, undefined, options);
    } catch (error) {
      if (error instanceof Error && (error as { code?: unknown }).code === "VN_NOT_FOUND") return undefined;
      throw error;
    }
  }

  function groupPath(ref: MockRef, ...rest: string[]): string {
    return path("pods", ref.namespace, ref.name, ...rest);
  }

  /** Reads one server-sent event stream until it ends; returns normally on end, throws on failure. */
  async function readEvents(
    nodeName: string | undefined,
    listener: MockCloudListener,
    signal: AbortSignal,
  ): Promise<void> {
    const res = await fetch(new URL(`/events${query({ node: nodeName })}`, base), { signal });
    if (!res.ok || res.body === null) throw new Error(`event stream answered HTTP ${res.status}`);
    const decoder = new TextDecoder();
    let buffer = "";
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      buffer += decoder.decode(chunk, { stream: true });
      for (let end = buffer.indexOf("\n\n"); end >= 0; end = buffer.indexOf("\n\n")) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const data = block
          .split("\n")
          .filter((line) => line.startsWith("data:"))
          .map((line) => line.slice(5).trimStart())
          .join("\n");
        if (data === "") continue;
        try {
          listener(JSON.parse(data) as MockCloudEvent);
        } catch {
          // A bad event or a throwing listener must not end the stream.
        }
      }
    }
  }

  return {
    url: base.origin,

    createPod: (spec: MockGroupSpec, o?: MockCallOptions) =>
      request<MockGroupState>("POST", "/pods", spec, o),
    updatePod: (spec: MockGroupSpec, o?: MockCallOptions) =>
      request<MockGroupState>("PUT", path("pods", spec.namespace, spec.name), spec, o),
    deletePod: async (ref: MockRef, gracePeriodSeconds: number, o?: MockCallOptions) => {
      await request<undefined>(
        "DELETE",
        groupPath(ref) + query({ uid: ref.uid, grace: gracePeriodSeconds }),
        undefined,
        o,
      );
    },
    getPod: (ref: MockRef, o?: MockCallOptions) =>
      getOrUndefined<MockGroupState>(groupPath(ref) + query({ uid: ref.uid }), o),
    listPods: (nodeName: string | undefined, o?: MockCallOptions) =>
      request<MockGroupState[]>("GET", `/pods${query({ node: nodeName })}`, undefined, o),
    getStatuses: async (refs: readonly MockRef[], o?: MockCallOptions) => {
      const body = await request<{ states: (MockGroupState | null)[] }>("POST", "/statuses", { refs }, o);
      return body.states.map((s) => s ?? undefined);
    },
    ping: (o?: MockCallOptions) => request<MockCloudInfo>("GET", "/ping", undefined, o),
    reservePodIP: async (ref: MockRef, o?: MockCallOptions) =>
      (await request<{ ip: string }>("POST", "/ips", ref, o)).ip,
    logs: (ref: MockRef, container: string, q: MockLogQuery = {}, o?: MockCallOptions) =>
      request<MockLogLine[]>(
        "GET",
        groupPath(ref, "logs") +
          query({
            uid: ref.uid,
            container,
            tailLines: q.tailLines,
            sinceTime: q.sinceTime,
            previous: q.previous,
          }),
        undefined,
        o,
      ),
    stats: (ref: MockRef, o?: MockCallOptions) =>
      request<MockPodStats>("GET", groupPath(ref, "stats") + query({ uid: ref.uid }), undefined, o),
    exec: (
      ref: MockRef,
      container: string,
      command: readonly string[],
      input: { stdin?: string } = {},
      o?: MockCallOptions,
    ) =>
      request<MockExecResult>(
        "POST",
        groupPath(ref, "exec"),
        { uid: ref.uid, container, command, ...input },
        o,
      ),

    watch(nodeName: string | undefined, listener: MockCloudListener): () => void {
      const controller = new AbortController();
      streams.add(controller);
      void (async () => {
        while (!isAborted(controller.signal)) {
          try {
            await readEvents(nodeName, listener, controller.signal);
          } catch {
            // Reconnect below; the server sends a fresh `sync` on every connection.
          }
          if (isAborted(controller.signal)) break;
          await clock.sleep(reconnectDelayMs, controller.signal).catch(() => undefined);
        }
      })();
      return () => {
        streams.delete(controller);
        controller.abort();
      };
    },

    getGroup: (namespace: string, name: string) =>
      getOrUndefined<MockGroupInfo>(path("admin", "groups", namespace, name), undefined),
    listGroups: () => request<MockGroupInfo[]>("GET", "/admin/groups", undefined),
    callStats: () => request<MockCallStats>("GET", "/admin/calls", undefined),
    resetCallStats: async () => {
      await request<undefined>("DELETE", "/admin/calls", undefined);
    },
    configure: async (settings: Partial<MockCloudSettings>) => {
      await request<MockCloudSettings>("PUT", "/admin/faults", settings);
    },
    setUsage: (namespace: string, name: string, update: MockUsageUpdate) =>
      request<MockPodStats>("PUT", path("admin", "usage", namespace, name), update),

    close(): void {
      for (const controller of streams) controller.abort();
      streams.clear();
    },
  };
}
