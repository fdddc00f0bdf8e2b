import { describe, expect, it } from "vitest";
import { FakeClock } from "../src/clock.js";
import { KubeApiError, type KubeClient } from "../src/kube/client.js";
import { ObjectWatchCache, type References, type ReferenceKind } from "../src/kube/object-cache.js";
import { ApiReachability } from "../src/kube/reachability.js";
import { noopLogger } from "../src/logger.js";

/** An API with only GET, over a mutable object table keyed by path; records every GET. */
function fakeApi(objects: Map<string, unknown>) {
  const gets: string[] = [];
  const client = {
    get: <T>(path: string): Promise<T> => {
      gets.push(path);
      const object = objects.get(path);
      if (object === undefined) return Promise.reject(new KubeApiError(404, "NotFound", `${path} not found`));
      return Promise.resolve(structuredClone(object) as T);
    },
  } as unknown as KubeClient;
  return { client, gets };
}

const CLAIM = "/api/v1/namespaces/apps/persistentvolumeclaims/data";
const VOLUME = "/api/v1/persistentvolumes/pv-data";
const claim = (rv: string, phase: string) => ({
  metadata: { name: "data", namespace: "apps", uid: "c1", resourceVersion: rv },
  spec: { volumeName: "pv-data" },
  status: { phase },
});
const refs = (): References => ({ configMaps: new Set(), secrets: new Set(), volumes: new Map() });

describe("ObjectWatchCache: claims and volumes", () => {
  it("reads claims and PVs by GET (404 is undefined) and records what it saw", async () => {
    const objects = new Map<string, unknown>([[CLAIM, claim("5", "Bound")]]);
    const { client, gets } = fakeApi(objects);
    const cache = new ObjectWatchCache(client, noopLogger, { clock: new FakeClock() });
    const references = refs();
    const source = cache.sourceFor(references);
    const signal = new AbortController().signal;
    expect((await source.getPersistentVolumeClaim?.("apps", "data", signal))?.status?.phase).toBe("Bound");
    expect(await source.getPersistentVolume?.("pv-data", signal)).toBeUndefined();
    expect(gets).toEqual([CLAIM, VOLUME]);
    expect(references.volumes).toEqual(
      new Map([
        ["persistentvolumeclaims/apps/data", "c1/5"],
        ["persistentvolumes//pv-data", "absent"],
      ]),
    );
    cache.close();
  });

  it("polls what a waiting pod read and wakes it when the claim binds; a pod that started is not polled", async () => {
    const objects = new Map<string, unknown>([[CLAIM, claim("5", "Pending")]]);
    const { client, gets } = fakeApi(objects);
    const clock = new FakeClock();
    const cache = new ObjectWatchCache(client, noopLogger, { clock, volumePollIntervalMs: 1_000 });
    const woken: { kind: ReferenceKind; name: string; pods: string[] }[] = [];
    cache.onChange((kind, _ns, name, pods) => woken.push({ kind, name, pods: [...pods] }));
    const signal = new AbortController().signal;

    const waiting = refs();
    await cache.sourceFor(waiting).getPersistentVolumeClaim?.("apps", "data", signal);
    cache.retain("apps/web-0", waiting, true);
    const running = refs();
    await cache.sourceFor(running).getPersistentVolumeClaim?.("apps", "data", signal);
    cache.retain("apps/web-1", running, false);
    expect(cache.pollCount).toBe(1);

    gets.length = 0;
    await clock.advanceAsync(3_000);
    expect(gets).toEqual([CLAIM, CLAIM, CLAIM]); // one GET per interval, shared, while nothing changes
    expect(woken).toEqual([]);

    objects.set(CLAIM, claim("6", "Bound"));
    await clock.advanceAsync(1_000);
    expect(woken).toEqual([{ kind: "persistentvolumeclaims", name: "data", pods: ["apps/web-0"] }]);
    // Woken pods re-resolve; until one waits again nothing is polled.
    expect(cache.pollCount).toBe(0);
    gets.length = 0;
    await clock.advanceAsync(5_000);
    expect(gets).toEqual([]);
    cache.close();
  });

  it("notices a PV that appears, and stops polling for a pod that is released", async () => {
    const objects = new Map<string, unknown>([[CLAIM, claim("5", "Bound")]]);
    const { client, gets } = fakeApi(objects);
    const clock = new FakeClock();
    const cache = new ObjectWatchCache(client, noopLogger, { clock, volumePollIntervalMs: 500 });
    const woken: string[] = [];
    cache.onChange((kind, _ns, name) => woken.push(`${kind}/${name}`));
    const signal = new AbortController().signal;

    const a = refs();
    const source = cache.sourceFor(a);
    await source.getPersistentVolumeClaim?.("apps", "data", signal);
    await source.getPersistentVolume?.("pv-data", signal);
    cache.retain("apps/a", a, true);
    expect(cache.pollCount).toBe(2);
    objects.set(VOLUME, { metadata: { name: "pv-data", uid: "v1", resourceVersion: "9" } });
    await clock.advanceAsync(500);
    expect(woken).toEqual(["persistentvolumes/pv-data"]);
    expect(cache.pollCount).toBe(1); // the unchanged claim is still polled for the pod

    cache.release("apps/a");
    expect(cache.pollCount).toBe(0);
    gets.length = 0;
    await clock.advanceAsync(2_000);
    expect(gets).toEqual([]);
    cache.close();
  });

  it("wakes each waiting pod on a change after its own lookup, and polls again for a pod that waits later", async () => {
    const objects = new Map<string, unknown>();
    const { client, gets } = fakeApi(objects);
    const clock = new FakeClock();
    const cache = new ObjectWatchCache(client, noopLogger, { clock, volumePollIntervalMs: 1_000 });
    const woken: string[][] = [];
    cache.onChange((_kind, _ns, _name, pods) => woken.push([...pods]));
    const signal = new AbortController().signal;
    const lookUp = async (pod: string): Promise<void> => {
      const r = refs();
      await cache.sourceFor(r).getPersistentVolumeClaim?.("apps", "data", signal);
      cache.retain(pod, r, true);
    };

    await lookUp("apps/early"); // sees the claim absent
    objects.set(CLAIM, claim("5", "Pending"));
    await lookUp("apps/late"); // sees it Pending, before any poll ran
    await clock.advanceAsync(1_000);
    expect(woken).toEqual([["apps/early"]]);
    expect(cache.pollCount).toBe(1); // still polled for the late pod

    objects.set(CLAIM, claim("6", "Bound"));
    await clock.advanceAsync(1_000);
    expect(woken).toEqual([["apps/early"], ["apps/late"]]);
    expect(cache.pollCount).toBe(0);

    // The loop has ended; a pod that waits afterwards starts it again.
    await lookUp("apps/again");
    objects.set(CLAIM, claim("7", "Bound"));
    gets.length = 0;
    await clock.advanceAsync(1_000);
    expect(gets).toEqual([CLAIM]);
    expect(woken.at(-1)).toEqual(["apps/again"]);
    cache.close();
  });

  it("keeps polling through API errors", async () => {
    const objects = new Map<string, unknown>();
    let fail = true;
    const inner = fakeApi(objects);
    const client = {
      get: <T>(path: string): Promise<T> =>
        fail ? Promise.reject(new KubeApiError(403, "Forbidden", "no path")) : inner.client.get<T>(path),
    } as unknown as KubeClient;
    const clock = new FakeClock();
    const cache = new ObjectWatchCache(client, noopLogger, { clock, volumePollIntervalMs: 500 });
    const woken: string[] = [];
    cache.onChange((_kind, _ns, name) => woken.push(name));
    const r: References = refs();
    r.volumes?.set("persistentvolumeclaims/apps/data", "absent");
    cache.retain("apps/a", r, true);
    await clock.advanceAsync(1_000);
    expect(woken).toEqual([]);
    fail = false;
    objects.set(CLAIM, claim("7", "Bound"));
    await clock.advanceAsync(500);
    expect(woken).toEqual(["data"]);
    cache.close();
  });
});

describe("ObjectWatchCache: API recovery", () => {
  const CONFIG_MAPS = "/api/v1/namespaces/apps/configmaps";
  const configMap = (rv: string) => ({ metadata: { name: "conf", namespace: "apps", resourceVersion: rv } });

  /** List and watch of one ConfigMap; `down` fails both, and fails the open watch when it is set. */
  function watchedApi(clock: FakeClock) {
    const state = { down: false, object: configMap("1"), lists: [] as number[] };
    let failOpenWatch: ((error: Error) => void) | undefined;
    const client = {
      get: <T>(path: string): Promise<T> => {
        expect(path).toBe(CONFIG_MAPS);
        state.lists.push(clock.now());
        if (state.down) return Promise.reject(new Error("connect ECONNREFUSED"));
        return Promise.resolve({ metadata: { resourceVersion: "10" }, items: [state.object] } as T);
      },
      watch: (_path: string, _query: unknown, _onEvent: unknown, signal: AbortSignal): Promise<void> => {
        if (state.down) return Promise.reject(new Error("connect ECONNREFUSED"));
        return new Promise<void>((resolve, reject) => {
          failOpenWatch = reject;
          signal.addEventListener("abort", () => {
            resolve();
          });
        });
      },
    } as unknown as KubeClient;
    const goDown = (): void => {
      state.down = true;
      failOpenWatch?.(new Error("connection reset"));
    };
    return { client, state, goDown };
  }

  it("restarts its watches at once when the API server answers again, instead of waiting out the backoff", async () => {
    const clock = new FakeClock();
    const { client, state, goDown } = watchedApi(clock);
    const reachability = new ApiReachability({
      probe: () => Promise.reject(new Error("still down")),
      clock,
    });
    const cache = new ObjectWatchCache(client, noopLogger, { clock, reachability });
    const woken: string[][] = [];
    cache.onChange((_kind, _ns, _name, pods) => woken.push([...pods]));
    const references = refs();
    const conf = await cache.sourceFor(references).getConfigMap("apps", "conf", new AbortController().signal);
    expect(conf?.metadata?.resourceVersion).toBe("1");
    cache.retain("apps/web", references);
    expect(cache.watchCount).toBe(1);

    // A minute of outage: the watch fails and backs off to its 30 s cap; the ConfigMap changes meanwhile.
    goDown();
    reachability.failed();
    await clock.advanceAsync(60_000);
    state.object = configMap("2");
    state.down = false;
    expect(woken).toEqual([]);
    const listsBefore = state.lists.length;

    reachability.answered();
    await clock.advanceAsync(0);
    expect(state.lists.length).toBe(listsBefore + 1);
    expect(state.lists.at(-1)).toBe(clock.now());
    expect(woken).toEqual([["apps/web"]]);
    cache.close();
    reachability.close();
  });

  it("without a recovery it waits out its backoff (the restart above is the recovery's doing)", async () => {
    const clock = new FakeClock();
    const { client, state, goDown } = watchedApi(clock);
    const reachability = new ApiReachability({ probe: () => Promise.reject(new Error("down")), clock });
    const cache = new ObjectWatchCache(client, noopLogger, { clock, reachability });
    const references = refs();
    await cache.sourceFor(references).getConfigMap("apps", "conf", new AbortController().signal);
    cache.retain("apps/web", references);
    goDown();
    await clock.advanceAsync(60_000);
    state.down = false;
    const listsBefore = state.lists.length;
    await clock.advanceAsync(0);
    expect(state.lists.length).toBe(listsBefore);
    cache.close();
    // Closed: a later recovery no longer reaches the cache's (stopped) watches.
    reachability.failed();
    reachability.answered();
    await clock.advanceAsync(0);
    expect(state.lists.length).toBe(listsBefore);
    reachability.close();
  });
});
