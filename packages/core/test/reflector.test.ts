import { describe, expect, it } from "vitest";
import { KubeApiError } from "../src/kube/client.js";
import { Reflector } from "../src/kube/reflector.js";
import { noopLogger } from "../src/logger.js";

interface Obj {
  metadata: { name: string; namespace: string; resourceVersion: string };
}
const obj = (name: string, rv: string): Obj => ({ metadata: { name, namespace: "ns", resourceVersion: rv } });

type WatchScript = (
  emit: (type: "ADDED" | "MODIFIED" | "DELETED" | "BOOKMARK", o: Obj) => void,
  signal: AbortSignal,
) => Promise<void>;

/** A scripted API: each list/watch call takes the next step; records what was asked. */
function fakeClient(lists: Obj[][], watches: WatchScript[]) {
  const calls: { op: "list" | "watch"; resourceVersion?: unknown }[] = [];
  let rv = 100;
  return {
    calls,
    client: {
      get: async <T>(): Promise<T> => {
        const items = lists.shift() ?? [];
        calls.push({ op: "list" });
        rv += 10;
        return Promise.resolve({ metadata: { resourceVersion: String(rv) }, items } as T);
      },
      watch: async (
        _path: string,
        query: Record<string, unknown>,
        onEvent: (type: "ADDED" | "MODIFIED" | "DELETED" | "BOOKMARK" | "ERROR", o: unknown) => void,
        signal: AbortSignal,
      ): Promise<void> => {
        calls.push({ op: "watch", resourceVersion: query.resourceVersion });
        const step = watches.shift();
        if (!step) {
          await new Promise<void>((resolve) => {
            signal.addEventListener(
              "abort",
              () => {
                resolve();
              },
              { once: true },
            );
          });
          return;
        }
        await step(onEvent, signal);
      },
    },
  };
}

describe("Reflector", () => {
  it("re-lists after 410 Expired and reports objects that vanished meanwhile as deleted", async () => {
    const upserts: string[] = [];
    const deletes: string[] = [];
    const restarts: string[] = [];
    const { client, calls } = fakeClient(
      [
        [obj("a", "101"), obj("b", "102")],
        [obj("b", "102"), obj("c", "120")],
      ],
      [
        async (emit) => {
          emit("MODIFIED", obj("a", "105"));
          await Promise.resolve();
          throw new KubeApiError(410, "Expired", "too old resource version: 105 (200)");
        },
        async (emit) => {
          emit("ADDED", obj("d", "121"));
          return Promise.resolve();
        },
      ],
    );
    const reflector = new Reflector<Obj>({
      client,
      path: "/api/v1/pods",
      logger: noopLogger,
      onRestart: (r) => restarts.push(r),
      handlers: {
        onUpsert: (o) => upserts.push(`${o.metadata.name}@${o.metadata.resourceVersion}`),
        onDelete: (o) => deletes.push(o.metadata.name),
      },
    });
    const abort = new AbortController();
    const run = reflector.run(abort.signal);
    await reflector.waitForSync();
    await expect.poll(() => upserts.includes("d@121")).toBe(true);
    abort.abort();
    await run;
    expect(restarts).toEqual(["expired"]);
    // a was modified, then gone by the re-list: deleted; c appeared during the gap: upserted.
    expect(deletes).toEqual(["a"]);
    expect(upserts).toEqual(["a@101", "b@102", "a@105", "c@120", "d@121"]);
    expect(calls.map((c) => c.op)).toEqual(["list", "watch", "list", "watch", "watch"]);
    // The watch after the re-list starts from the new list's resourceVersion, the next from the last event.
    expect(calls[3]?.resourceVersion).toBe("120");
    expect(calls[4]?.resourceVersion).toBe("121");
    expect([...reflector.store.keys()].sort()).toEqual(["ns/b", "ns/c", "ns/d"]);
  });

  it("handles a 410 ERROR event inside the stream like a 410 answer", async () => {
    const restarts: string[] = [];
    const { client, calls } = fakeClient(
      [[], []],
      [
        async (emit) => {
          (emit as (t: string, o: unknown) => void)("ERROR", {
            code: 410,
            reason: "Expired",
            message: "too old",
          });
          return Promise.resolve();
        },
      ],
    );
    const reflector = new Reflector<Obj>({
      client,
      path: "/api/v1/pods",
      logger: noopLogger,
      onRestart: (r) => restarts.push(r),
      handlers: { onUpsert: () => undefined, onDelete: () => undefined },
    });
    const abort = new AbortController();
    const run = reflector.run(abort.signal);
    await expect.poll(() => calls.filter((c) => c.op === "list").length).toBe(2);
    abort.abort();
    await run;
    expect(restarts).toEqual(["expired"]);
  });

  it("restarts a watch that stays silent past the watchdog, without re-listing", async () => {
    const restarts: string[] = [];
    const { client, calls } = fakeClient(
      [[obj("a", "1")]],
      [
        async (_emit, signal) =>
          new Promise<void>((_resolve, reject) => {
            signal.addEventListener(
              "abort",
              () => {
                reject(new Error("aborted by watchdog"));
              },
              { once: true },
            );
          }),
      ],
    );
    const reflector = new Reflector<Obj>({
      client,
      path: "/api/v1/pods",
      logger: noopLogger,
      silenceTimeoutMs: 50,
      maxBackoffMs: 10,
      onRestart: (r) => restarts.push(r),
      handlers: { onUpsert: () => undefined, onDelete: () => undefined },
    });
    const abort = new AbortController();
    const run = reflector.run(abort.signal);
    await expect
      .poll(() => calls.filter((c) => c.op === "watch").length, { timeout: 5_000 })
      .toBeGreaterThanOrEqual(2);
    abort.abort();
    await run;
    expect(restarts[0]).toBe("error");
    expect(calls.filter((c) => c.op === "list")).toHaveLength(1);
  });
});
