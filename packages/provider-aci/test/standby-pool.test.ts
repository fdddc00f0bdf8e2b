/**
 * The standby pool through the real `ContainerInstanceManagementClient` against the simulator:
 * profile reads, claims, the empty-pool fallback, the reuse-failure flag, pods that do not fit, and
 * the time-to-Running of claimed vs cold pods in the simulator's model.
 */
import { FakeClock, RetryableError, podKey } from "@virtual-node/core";
import type { PodRef, ProviderPodStatus, ResolvedPod } from "@virtual-node/core";
import { createHttpHeaders, createPipelineRequest, isRestError } from "@azure/core-rest-pipeline";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { StandbyAnnotations, containerGroupName, getProfileRevision } from "../src/index.js";
import type { AciProvider, StandbyPoolOptions } from "../src/index.js";
import { providerOn } from "./harness.js";
import { resolvedPod } from "./pods.js";
import { simulatorClient } from "./simulator/client.js";
import { AciSimulator } from "./simulator/simulator.js";
import type { SimulatorTiming } from "./simulator/simulator.js";

const RG = "vn-rg";
const call = () => ({ signal: new AbortController().signal });

/** The profile the pool's groups are made from (wire form, as `az container container-group-profile create` sends it). */
const PROFILE = {
  containers: [
    {
      name: "web",
      properties: {
        image: "nginx:1.27",
        ports: [{ port: 8000 }],
        environmentVariables: [{ name: "MODE", value: "standby" }],
        resources: { requests: { cpu: 1, memoryInGB: 1.5 } },
      },
    },
  ],
  ipAddress: { type: "Public", ports: [{ port: 8000, protocol: "TCP" }] },
  osType: "Linux",
  restartPolicy: "Always",
  sku: "Standard",
};

/** A pod whose group is the profile's (or not, with `image`). */
function webPod(name: string, image = "nginx:1.27"): ResolvedPod {
  return resolvedPod(
    {
      restartPolicy: "Always",
      containers: [
        {
          name: "web",
          image,
          ports: [{ containerPort: 8000 }],
          env: [{ name: "MODE", value: "standby" }],
          resources: { requests: { cpu: "1", memory: "1.5Gi" } },
        },
      ],
    },
    { name, uid: `00000000-0000-4000-8000-${name.padStart(12, "0").slice(-12)}` },
  );
}

interface Bench {
  clock: FakeClock;
  sim: AciSimulator;
  provider: AciProvider;
  pool: StandbyPoolOptions;
}

async function bench(
  poolState: { maxReadyCapacity: number; ready?: number; refillIntervalMs: number } | undefined,
  timing: Partial<SimulatorTiming> = {},
  pool: Partial<StandbyPoolOptions> = {},
): Promise<Bench> {
  const clock = new FakeClock();
  const sim = new AciSimulator({ clock, timing, readQuota: 10_000_000, writeQuota: 10_000_000 });
  await sim.start();
  const revision = sim.addProfile(RG, "web", PROFILE);
  const options: StandbyPoolOptions = {
    poolId: sim.poolId(RG, "web-pool"),
    profileId: sim.profileId(RG, "web"),
    profileRevision: revision,
    ...pool,
  };
  if (poolState !== undefined)
    sim.addStandbyPool(RG, "web-pool", { profileId: options.profileId, revision, ...poolState });
  const provider = providerOn(sim, clock, poolState === undefined ? {} : { standbyPool: options });
  return { clock, sim, provider, pool: options };
}

/** Waits for `promise`, advancing virtual time while it is pending (its retries sleep on the clock). */
async function settle<T>(clock: FakeClock, promise: Promise<T>): Promise<T> {
  const state = { done: false };
  const watched = promise.finally(() => {
    state.done = true;
  });
  while (!state.done) {
    await new Promise((resolve) => setTimeout(resolve, 5));
    await clock.advanceAsync(250);
  }
  return watched;
}

const running = (s: ProviderPodStatus | undefined) =>
  s !== undefined && s.containers.length > 0 && s.containers.every((c) => "running" in c.state);

/** Advances virtual time in 250 ms steps until `accept` holds; returns the status and when. */
async function until(
  b: Bench,
  ref: PodRef,
  accept: (s: ProviderPodStatus | undefined) => boolean,
  limitMs = 300_000,
) {
  const start = b.clock.now();
  for (;;) {
    const s = await b.provider.getPodStatus(ref, call());
    if (accept(s)) return { status: s, afterMs: b.clock.now() - start };
    if (b.clock.now() - start > limitMs) throw new Error(`timed out; last ${JSON.stringify(s)}`);
    await b.clock.advanceAsync(250);
  }
}

describe("simulator: profiles and standby pools behind the real ARM client", () => {
  let b: Bench;
  beforeEach(async () => {
    b = await bench({ maxReadyCapacity: 2, refillIntervalMs: 10_000 });
  });
  afterEach(async () => {
    b.provider.close();
    expect(b.sim.violations).toEqual([]);
    await b.sim.close();
  });

  it("serves a profile revision at api-version 2026-05-01, and ARM's 404 for an unknown one", async () => {
    const client = simulatorClient(b.sim);
    const profile = await getProfileRevision(client, b.pool.profileId, 1, new AbortController().signal);
    expect(profile.properties?.revision).toBe(1);
    expect(profile.properties?.containers?.[0]?.properties?.image).toBe("nginx:1.27");
    const request = b.sim.requests.at(-1);
    expect(request?.operation).toBe("CGProfile_GetByRevisionNumber");
    expect(request?.query["api-version"]).toBe("2026-05-01");
    const missing = await getProfileRevision(client, b.pool.profileId, 7, new AbortController().signal).catch(
      (e: unknown) => e,
    );
    expect(isRestError(missing)).toBe(true);
    expect(isRestError(missing) && missing.statusCode).toBe(404);
    expect(isRestError(missing) && missing.code).toBe("ResourceNotFound");
  });

  it("validates claims: against the swagger, at 2026-05-01 only, profile containers by name, configMap the only override", async () => {
    const client = simulatorClient(b.sim);
    const put = async (name: string, body: unknown, apiVersion = "2026-05-01") => {
      const response = await client.sendRequest(
        createPipelineRequest({
          url: `${b.sim.url}/subscriptions/${b.sim.subscriptionId}/resourceGroups/${RG}/providers/Microsoft.ContainerInstance/containerGroups/${name}?api-version=${apiVersion}`,
          method: "PUT",
          body: JSON.stringify(body),
          headers: createHttpHeaders({ "content-type": "application/json" }),
        }),
      );
      const parsed = JSON.parse(response.bodyAsText ?? "{}") as {
        error?: { code: string };
        properties?: { isCreatedFromStandbyPool?: boolean };
      };
      return { status: response.status, code: parsed.error?.code, body: parsed };
    };
    const claim = (containers: unknown[], extra: Record<string, unknown> = {}) => ({
      location: b.sim.location,
      properties: {
        containerGroupProfile: { id: b.pool.profileId, revision: 1 },
        standbyPoolProfile: { id: b.pool.poolId, ...extra },
        containers,
      },
    });
    const web = [{ name: "web", properties: {} }];
    expect(await put("old-api", claim(web), "2023-05-01")).toMatchObject({
      status: 400,
      code: "InvalidRequestContent",
    });
    expect(await put("override", claim([{ name: "web", properties: { image: "evil:1" } }]))).toMatchObject({
      status: 400,
      code: "ContainerGroupProfileOverrideNotAllowed",
    });
    expect(await put("names", claim([{ name: "other", properties: {} }]))).toMatchObject({
      status: 400,
      code: "ContainerGroupProfileMismatch",
    });
    expect(await put("schema", claim(web, { bogus: true }))).toMatchObject({
      status: 400,
      code: "InvalidRequestContent",
    });
    expect(b.sim.violations.splice(0).map((v) => v.path)).toEqual(["$.properties.standbyPoolProfile.bogus"]);
    expect(b.sim.poolStatus(RG, "web-pool")).toMatchObject({ ready: 2, claimed: 0 });
    // A config map is the one thing a claim may add.
    const ok = await put(
      "ok",
      claim([{ name: "web", properties: { configMap: { keyValuePairs: { k: "v" } } } }]),
    );
    expect(ok).toMatchObject({ status: 201, body: { properties: { isCreatedFromStandbyPool: true } } });
    expect(b.sim.storedBody(RG, "ok")).toMatchObject({
      properties: {
        containers: [
          { name: "web", properties: { image: "nginx:1.27", configMap: { keyValuePairs: { k: "v" } } } },
        ],
      },
    });
    expect(b.sim.poolStatus(RG, "web-pool")).toMatchObject({ ready: 1, claimed: 1 });
  });

  it("hands out ready groups and refills one per interval up to capacity", async () => {
    const take = async (name: string) => {
      const pod = webPod(name);
      await b.provider.createPod(pod, call());
      return pod;
    };
    await take("a");
    await take("b");
    expect(b.sim.poolStatus(RG, "web-pool")).toMatchObject({ ready: 0, claimed: 2, coldFallbacks: 0 });
    await take("c"); // empty: created cold from the profile
    expect(b.sim.poolStatus(RG, "web-pool")).toMatchObject({ ready: 0, claimed: 2, coldFallbacks: 1 });
    await b.clock.advanceAsync(10_000);
    expect(b.sim.poolStatus(RG, "web-pool").ready).toBe(1);
    await b.clock.advanceAsync(10_000);
    expect(b.sim.poolStatus(RG, "web-pool").ready).toBe(2);
    await b.clock.advanceAsync(60_000);
    expect(b.sim.poolStatus(RG, "web-pool").ready).toBe(2); // capacity
  });
});

describe("provider-aci standby pool through the real ARM client", () => {
  const cleanup: Bench[] = [];
  afterEach(async () => {
    for (const b of cleanup.splice(0)) {
      b.provider.close();
      expect(b.sim.violations).toEqual([]);
      await b.sim.close();
    }
  });
  const make = async (...args: Parameters<typeof bench>) => {
    const b = await bench(...args);
    cleanup.push(b);
    return b;
  };

  it("claims a pre-provisioned group for a pod that fits: the claim body, api-version, warm start and annotation", async () => {
    const b = await make(
      { maxReadyCapacity: 3, refillIntervalMs: 60_000 },
      { pullMs: 30_000, claimMs: 1_000 },
    );
    const pod = webPod("claimed");
    await b.provider.createPod(pod, call());
    const puts = b.sim.requests.filter((r) => r.operation === "ContainerGroups_CreateOrUpdate");
    expect(puts).toHaveLength(1);
    expect(puts[0]?.query["api-version"]).toBe("2026-05-01");
    expect(puts[0]?.body).toEqual({
      location: b.sim.location,
      tags: expect.objectContaining({
        "virtual-node-uid": pod.ref.uid,
        "virtual-node-start": "standby-claim",
      }) as object,
      properties: {
        containerGroupProfile: { id: b.pool.profileId, revision: 1 },
        standbyPoolProfile: { id: b.pool.poolId, failContainerGroupCreateOnReuseFailure: false },
        containers: [{ name: "web", properties: {} }],
      },
    });
    // The profile was read once, through the client, at 2026-05-01.
    expect(b.sim.counts().CGProfile_GetByRevisionNumber).toBe(1);
    const { status, afterMs } = await until(b, pod.ref, running);
    expect(afterMs).toBeLessThan(30_000);
    expect(status?.annotations?.[StandbyAnnotations.startPath]).toBe("standby-pool");
    expect(status?.annotations?.[StandbyAnnotations.startPathReason]).toBeUndefined();
    expect(b.sim.poolStatus(RG, "web-pool")).toMatchObject({ claimed: 1, ready: 2 });
    // A second pod reuses the cached profile.
    await b.provider.createPod(webPod("second"), call());
    expect(b.sim.counts().CGProfile_GetByRevisionNumber).toBe(1);
  });

  it("an empty pool: ACI creates the group cold from the profile (standby-fallback)", async () => {
    const b = await make(
      { maxReadyCapacity: 1, ready: 0, refillIntervalMs: 600_000 },
      { pullMs: 30_000, claimMs: 1_000 },
    );
    const pod = webPod("fallback");
    await b.provider.createPod(pod, call());
    const { status, afterMs } = await until(b, pod.ref, running);
    expect(afterMs).toBeGreaterThanOrEqual(30_000);
    expect(status?.annotations?.[StandbyAnnotations.startPath]).toBe("standby-fallback");
    expect(b.sim.poolStatus(RG, "web-pool")).toMatchObject({ claimed: 0, coldFallbacks: 1 });
  });

  it("failOnReuseFailure: an empty pool fails the create as retryable and creates nothing; once refilled the retry claims", async () => {
    const b = await make(
      { maxReadyCapacity: 1, ready: 0, refillIntervalMs: 20_000 },
      { pullMs: 30_000, claimMs: 1_000 },
      { failOnReuseFailure: true },
    );
    const pod = webPod("strict");
    const started = b.clock.now();
    const error = await settle(
      b.clock,
      b.provider.createPod(pod, call()).catch((e: unknown) => e),
    );
    expect(b.clock.now() - started).toBeLessThan(20_000); // the kit's retries of the 409, before any refill
    expect(error).toBeInstanceOf(RetryableError);
    expect((error as RetryableError).message).toMatch(/StandbyPoolReuseFailed/);
    expect(b.sim.groupNames(RG)).toEqual([]);
    const refused = b.sim.poolStatus(RG, "web-pool").refused;
    expect(refused).toBeGreaterThanOrEqual(1);
    await b.clock.advanceAsync(20_000); // one group refilled
    await b.provider.createPod(pod, call()); // core's retry
    const { status } = await until(b, pod.ref, running);
    expect(status?.annotations?.[StandbyAnnotations.startPath]).toBe("standby-pool");
    expect(b.sim.poolStatus(RG, "web-pool")).toMatchObject({ claimed: 1, coldFallbacks: 0 });
  });

  it("a pod that does not fit takes the normal path, with the reason in an annotation; the pool is untouched", async () => {
    const b = await make(
      { maxReadyCapacity: 2, refillIntervalMs: 60_000 },
      { pullMs: 30_000, claimMs: 1_000 },
    );
    const pod = webPod("other", "nginx:1.28");
    await b.provider.createPod(pod, call());
    const put = b.sim.requests.find((r) => r.operation === "ContainerGroups_CreateOrUpdate");
    expect(put?.query["api-version"]).toBe("2023-05-01");
    expect(JSON.stringify(put?.body)).not.toContain("standbyPoolProfile");
    expect(JSON.stringify(put?.body)).toContain("nginx:1.28");
    const { status, afterMs } = await until(b, pod.ref, running);
    expect(afterMs).toBeGreaterThanOrEqual(30_000);
    expect(status?.annotations?.[StandbyAnnotations.startPath]).toBe("cold");
    expect(status?.annotations?.[StandbyAnnotations.startPathReason]).toMatch(
      /containers\[0\]\.image: the pod's "nginx:1.28", the profile's "nginx:1.27"/,
    );
    expect(b.sim.poolStatus(RG, "web-pool")).toMatchObject({ ready: 2, claimed: 0, coldFallbacks: 0 });
  });

  it("a refused claim (the pool does not exist) falls back to the cold create with the reason", async () => {
    const b = await make({ maxReadyCapacity: 1, refillIntervalMs: 60_000 }, { pullMs: 5_000 });
    const elsewhere = b.sim.poolId(RG, "no-such-pool");
    const provider = providerOn(b.sim, b.clock, { standbyPool: { ...b.pool, poolId: elsewhere } });
    try {
      const pod = webPod("refused");
      await settle(b.clock, provider.createPod(pod, call()));
      const puts = b.sim.requests.filter((r) => r.operation === "ContainerGroups_CreateOrUpdate");
      expect(puts.map((r) => [r.status, r.query["api-version"]])).toEqual([
        [404, "2026-05-01"],
        [201, "2023-05-01"],
      ]);
      for (;;) {
        const s = await provider.getPodStatus(pod.ref, call());
        if (running(s)) {
          expect(s?.annotations?.[StandbyAnnotations.startPath]).toBe("cold");
          expect(s?.annotations?.[StandbyAnnotations.startPathReason]).toMatch(
            /the claim was refused \(.*StandbyPoolNotFound.*\); created cold/,
          );
          break;
        }
        await b.clock.advanceAsync(250);
      }
      expect(b.sim.poolStatus(RG, "web-pool")).toMatchObject({ ready: 1, claimed: 0 });
    } finally {
      provider.close();
    }
  });

  it("an unreadable profile revision: pods go cold with the reason, and the read is tried again at the next create", async () => {
    const b = await make(
      { maxReadyCapacity: 2, refillIntervalMs: 60_000 },
      { pullMs: 5_000 },
      { profileRevision: 9 },
    );
    const pod = webPod("noprofile");
    await settle(b.clock, b.provider.createPod(pod, call()));
    const { status } = await until(b, pod.ref, running);
    expect(status?.annotations?.[StandbyAnnotations.startPath]).toBe("cold");
    expect(status?.annotations?.[StandbyAnnotations.startPathReason]).toMatch(
      /revision 9 unreadable: .*not found/i,
    );
    const reads = b.sim.counts().CGProfile_GetByRevisionNumber ?? 0;
    await b.provider.createPod(webPod("again"), call());
    expect(b.sim.counts().CGProfile_GetByRevisionNumber).toBe(reads + 1);
  });

  it("without the option nothing changes: no profile read, no start-path annotation", async () => {
    const b = await make(undefined, { pullMs: 2_000 });
    const pod = webPod("plain");
    await b.provider.createPod(pod, call());
    const { status } = await until(b, pod.ref, running);
    expect(status?.annotations?.[StandbyAnnotations.startPath]).toBeUndefined();
    expect(b.sim.counts().CGProfile_GetByRevisionNumber).toBeUndefined();
    expect(containerGroupName(pod.ref)).toMatch(/^default-plain-/);
  });
});

describe("time to Running: claimed vs cold (the simulator's model, fake clock)", () => {
  it("measures N pods created at once against a pool of N/2", async () => {
    const N = 20;
    // Explicit model parameters (Microsoft publishes no figures): a cold group runs 30 s after its
    // PUT, a claimed one 1 s after; the pool holds N/2 ready groups and refills one every 10 s.
    const timing = { pullMs: 30_000, claimMs: 1_000 };
    const measure = async (withPool: boolean) => {
      const b = await bench(
        withPool ? { maxReadyCapacity: N / 2, refillIntervalMs: 10_000 } : undefined,
        timing,
      );
      try {
        const pods = Array.from({ length: N }, (_, i) => webPod(`p${String(i)}`));
        const start = b.clock.now();
        for (const pod of pods) await b.provider.createPod(pod, call());
        const seen = new Map<string, { ms: number; path: string }>();
        while (seen.size < N && b.clock.now() - start < 300_000) {
          const statuses = await b.provider.getPodStatuses(
            pods.map((p) => p.ref),
            call(),
          );
          for (const pod of pods) {
            const s = statuses.get(podKey(pod.ref));
            if (!seen.has(pod.ref.uid) && running(s))
              seen.set(pod.ref.uid, {
                ms: b.clock.now() - start,
                path: s?.annotations?.[StandbyAnnotations.startPath] ?? "cold",
              });
          }
          await b.clock.advanceAsync(250);
        }
        expect(b.sim.violations).toEqual([]);
        return [...seen.values()];
      } finally {
        b.provider.close();
        await b.sim.close();
      }
    };
    const pooled = await measure(true);
    const cold = await measure(false);
    expect(pooled).toHaveLength(N);
    expect(cold).toHaveLength(N);
    const of = (list: { ms: number; path: string }[], path: string) =>
      list
        .filter((x) => x.path === path)
        .map((x) => x.ms)
        .sort((x, y) => x - y);
    const claimed = of(pooled, "standby-pool");
    const fellBack = of(pooled, "standby-fallback");
    const noPool = of(cold, "cold");
    expect(claimed).toHaveLength(N / 2);
    expect(fellBack).toHaveLength(N / 2);
    expect(noPool).toHaveLength(N);
    // Every claimed pod runs before any cold one.
    expect(Math.max(...claimed)).toBeLessThan(Math.min(...fellBack, ...noPool));
    const median = (xs: number[]) => xs[Math.floor(xs.length / 2)] ?? Number.NaN;
    const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
    console.log(
      `ACI time to Running, ${String(N)} pods at once, pool of ${String(N / 2)} (model: cold ${s(timing.pullMs)}, claim ${s(timing.claimMs)}): ` +
        `claimed median ${s(median(claimed))} max ${s(Math.max(...claimed))}; ` +
        `pool-empty fallback median ${s(median(fellBack))} max ${s(Math.max(...fellBack))}; ` +
        `no pool median ${s(median(noPool))} max ${s(Math.max(...noPool))}`,
    );
  }, 300_000);
});
