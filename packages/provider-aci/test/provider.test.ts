import { PassThrough } from "node:stream";
import type { ContainerGroup } from "@azure/arm-containerinstance";
import { FakeClock, errorCode } from "@virtual-node/core";
import type { ProviderPodStatus } from "@virtual-node/core";
import { makeResolvedPod } from "@virtual-node/testing/conformance";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { containerGroupName, toContainerGroup } from "../src/index.js";
import type { AciProvider } from "../src/index.js";
import { providerOn } from "./harness.js";
import { resolvedPod } from "./pods.js";
import { AciSimulator } from "./simulator/simulator.js";

const call = () => ({ signal: new AbortController().signal });

describe("provider-aci lifecycle on the simulator", () => {
  let clock: FakeClock;
  let sim: AciSimulator;
  let provider: AciProvider;
  beforeEach(async () => {
    clock = new FakeClock();
    sim = new AciSimulator({ clock });
    await sim.start();
    provider = providerOn(sim, clock, { provisioningDeadlineMs: 60_000 });
  });
  afterEach(async () => {
    provider.close();
    expect(sim.violations).toEqual([]);
    await sim.close();
  });

  /** Advances virtual time in steps until `accept` holds for the pod's status. */
  async function until(
    ref: Parameters<AciProvider["getPodStatus"]>[0],
    accept: (s: ProviderPodStatus | undefined) => boolean,
    limitMs = 120_000,
  ) {
    for (let waited = 0; ; waited += 500) {
      const s = await provider.getPodStatus(ref, call());
      if (accept(s)) return s;
      if (waited > limitMs) throw new Error(`timed out; last ${JSON.stringify(s)}`);
      await clock.advanceAsync(500);
    }
  }

  it("create returns after the PUT (not after provisioning); the LRO is followed in the background", async () => {
    const pod = makeResolvedPod({ behaviour: "run" });
    await provider.createPod(pod, call());
    const counts = sim.counts();
    expect(counts.ContainerGroups_CreateOrUpdate).toBe(1);
    const s = await provider.getPodStatus(pod.ref, call());
    expect(s?.containers[0]?.state).toHaveProperty("waiting");
    const running = await until(
      pod.ref,
      (x) => x?.containers[0] !== undefined && "running" in x.containers[0].state,
    );
    expect(running?.podIPs?.[0]).toMatch(/^10\./);
    expect(running?.billed).toEqual({ vcpu: 0.5, memoryGiB: 0.5, shape: "0.5 cores / 0.5 GB" });
    expect(sim.counts().AsyncOperation_Get).toBeGreaterThanOrEqual(2);
    // ACI's instance-view events ride on the status (core records each id once) with the group's ID.
    expect(running?.events?.map((e) => e.reason)).toEqual(
      expect.arrayContaining(["Pulling", "Pulled", "Started"]),
    );
    expect(new Set(running?.events?.map((e) => e.id)).size).toBe(running?.events?.length);
    expect(running?.annotations?.["aci.virtual-node.io/container-group"]).toMatch(
      /\/resourceGroups\/.+\/providers\/Microsoft\.ContainerInstance\/containerGroups\//,
    );
  });

  it("reports an LRO failure (inaccessible image) as Failed with the ARM code, without re-polling it", async () => {
    const pod = makeResolvedPod({ image: "sim/does-not-exist:latest" });
    await provider.createPod(pod, call());
    // The group's own Failed state may show first; the operation's ARM error then names the cause.
    const s = await until(
      pod.ref,
      (x) => x?.phase === "Failed" && /^InaccessibleImage/.test(x.message ?? ""),
    );
    expect(s?.reason).toBe("ProviderFailed");
    expect(s?.message).toMatch(/^InaccessibleImage: (?!InaccessibleImage)/);
    // The failed operation is an answer: the kit's caller does not retry it as a transient error.
    const polls = sim.counts().AsyncOperation_Get ?? 0;
    await clock.advanceAsync(120_000);
    expect(sim.counts().AsyncOperation_Get ?? 0).toBe(polls);
    expect(provider.call.limiters.get("ContainerGroups.Poll").stats().throttles).toBe(0);
  });

  it("slows the read limiters when x-ms-ratelimit-remaining-subscription-reads runs low, before ARM answers 429", async () => {
    const low = new AciSimulator({ clock, readQuota: 60 });
    await low.start();
    const limited = providerOn(low, clock, { limits: {} }); // ACI_RATE_LIMITS
    try {
      const get = () => limited.call.limiters.get("ContainerGroups.Get").stats();
      const configured = get().configuredRatePerSecond;
      let pings = 0;
      while (get().throttles === 0 && pings < 40) {
        const ping = limited.ping(call());
        await clock.advanceAsync(1_000);
        await ping;
        pings++;
      }
      // Remaining reads fell below 50 after ~11 GETs: the limiter was cut with ARM's quota left.
      expect(get().throttles).toBeGreaterThan(0);
      expect(pings).toBeLessThan(20);
      expect(get().ratePerSecond).toBeLessThan(configured);
      expect(low.requests.filter((r) => r.status === 429)).toEqual([]);
    } finally {
      limited.close();
      await low.close();
    }
  });

  it("fails a pod stuck in provisioning after the deadline, with ACI's detail", async () => {
    const pod = makeResolvedPod({});
    sim.stuckGroups.add(containerGroupName(pod.ref));
    await provider.createPod(pod, call());
    const s = await until(pod.ref, (x) => x?.phase === "Failed", 200_000);
    expect(s?.reason).toBe("ProvisioningDeadlineExceeded");
    expect(s?.message).toContain("state Creating");
  });

  it("reports init containers, then the app container, and exit codes on success", async () => {
    const pod = resolvedPod({
      restartPolicy: "Never",
      initContainers: [{ name: "init", image: "busybox", command: ["sh", "-c", "echo init; sleep 3"] }],
      containers: [{ name: "main", image: "busybox", command: ["sh", "-c", "echo done; exit 0"] }],
    });
    await provider.createPod(pod, call());
    const initRunning = await until(
      pod.ref,
      (x) => x?.initContainers?.[0] !== undefined && "running" in x.initContainers[0].state,
    );
    expect(initRunning?.containers[0]?.state).toMatchObject({ waiting: { reason: "PodInitializing" } });
    const done = await until(
      pod.ref,
      (x) => x?.containers[0] !== undefined && "terminated" in x.containers[0].state,
    );
    expect(done?.initContainers?.[0]?.state).toMatchObject({ terminated: { exitCode: 0 } });
    expect(done?.containers[0]?.state).toMatchObject({ terminated: { exitCode: 0, reason: "Completed" } });
  });

  it("retries a throttled PUT after Retry-After through the kit, without SDK retries", async () => {
    sim.throttle("ContainerGroups_CreateOrUpdate", 2, 3);
    const pod = makeResolvedPod({});
    const created = provider.createPod(pod, call());
    for (let i = 0; i < 40 && sim.counts().ContainerGroups_CreateOrUpdate !== 3; i++)
      await clock.advanceAsync(500);
    await created;
    const puts = sim.requests.filter((r) => r.operation === "ContainerGroups_CreateOrUpdate");
    expect(puts.map((r) => r.status)).toEqual([429, 429, 201]);
    expect((puts[1]?.at ?? 0) - (puts[0]?.at ?? 0)).toBeGreaterThanOrEqual(3_000);
  });

  it("maps an ARM 400 to InvalidInputError with the ARM code", async () => {
    sim.inject({
      operation: "ContainerGroups_CreateOrUpdate",
      status: 400,
      code: "InvalidContainerGroupDefinition",
      message: "bad group",
    });
    const error = await provider.createPod(makeResolvedPod({}), call()).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(errorCode(error)).toBe("VN_INVALID_INPUT");
    expect((error as { cloudCode?: string }).cloudCode).toBe("InvalidContainerGroupDefinition");
  });

  it("deletes through the LRO and waits until ARM confirms", async () => {
    const pod = makeResolvedPod({});
    await provider.createPod(pod, call());
    const deleted = provider.deletePod(pod.ref, 30, call());
    let done = false;
    void deleted.then(() => (done = true));
    await clock.advanceAsync(100);
    expect(done).toBe(false);
    for (let i = 0; i < 20 && !(done as boolean); i++) await clock.advanceAsync(500);
    await deleted;
    expect(sim.groupNames()).toEqual([]);
    expect(await provider.getPodStatus(pod.ref, call())).toBeUndefined();
  });

  it("never sends a Secret value as a plain value", async () => {
    const secretValue = "s3cr3t-" + "value-42";
    const pod = resolvedPod(
      { containers: [{ name: "main", image: "nginx", env: [{ name: "PLAIN", value: "ok" }] }] },
      { secretEnv: { main: { TOKEN: secretValue } } },
    );
    await provider.createPod(pod, call());
    const bodies = sim.bodies();
    expect(bodies.some((b) => b.includes(`"secureValue":"${secretValue}"`))).toBe(true);
    expect(bodies.some((b) => b.includes(`"value":"${secretValue}"`))).toBe(false);
  });

  it("sends a pull-secret password only in imageRegistryCredentials[].password (ARM's x-ms-secret field)", async () => {
    const password = "pull-" + "p4ssw0rd";
    const pod = resolvedPod({
      imagePullSecrets: [{ name: "acr" }],
      containers: [{ name: "main", image: "myacr.azurecr.io/app:1" }],
    });
    pod.imagePullSecrets = [{ server: "myacr.azurecr.io", username: "puller", password, secretName: "acr" }];
    await provider.createPod(pod, call());
    const carrying = sim.bodies().filter((b) => b.includes(password));
    expect(carrying).toHaveLength(1);
    const body = JSON.parse(carrying[0] ?? "{}") as {
      properties: { imageRegistryCredentials: { server: string; password?: string }[] };
    };
    expect(body.properties.imageRegistryCredentials).toEqual([
      { server: "myacr.azurecr.io", username: "puller", password },
    ]);
    for (const c of body.properties.imageRegistryCredentials) delete c.password;
    expect(JSON.stringify(body)).not.toContain(password);
  });

  it("changed mounted files: keeps the group, says the pod must be restarted", async () => {
    const pod = makeResolvedPod({ volumes: ["configMap"] });
    await provider.createPod(pod, call());
    await until(pod.ref, (x) => x?.containers[0] !== undefined && "running" in x.containers[0].state);
    await provider.updatePod(pod, { ...call(), reason: "volumes" });
    expect(sim.counts().ContainerGroups_CreateOrUpdate).toBe(1);
    const s = await until(pod.ref, (x) => x?.message !== undefined);
    expect(s?.message).toMatch(/restart the pod/);
    expect(s?.events?.at(-1)).toMatchObject({ type: "Warning", reason: "MountedFilesStale" });
  });

  it("pings: ResourceNotFound is healthy, a missing resource group is not", async () => {
    await provider.ping(call());
    sim.resourceGroups.clear();
    const error = await provider.ping(call()).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(errorCode(error)).toBe("VN_PERMANENT");
  });

  it("logs: tail and timestamps, and follow through the kit until the run ends", async () => {
    const pod = resolvedPod({
      restartPolicy: "Never",
      containers: [
        {
          name: "main",
          image: "busybox",
          command: ["sh", "-c", "echo one; sleep 1; echo two; sleep 1; echo three; sleep 4; exit 0"],
        },
      ],
    });
    await provider.createPod(pod, call());
    await until(pod.ref, (x) => x?.containers[0] !== undefined && "running" in x.containers[0].state);
    await clock.advanceAsync(1_500);
    const tail = await provider.getContainerLogs(
      pod.ref,
      "main",
      { follow: false, timestamps: true, tailLines: 1, previous: false },
      call(),
    );
    let text = "";
    for await (const chunk of tail) text += String(chunk);
    expect(text).toMatch(/^2024-01-01T00:00:03Z two\n$/);
    const controller = new AbortController();
    const follow = await provider.getContainerLogs(
      pod.ref,
      "main",
      { follow: true, timestamps: false, previous: false },
      { signal: controller.signal },
    );
    const lines: string[] = [];
    follow.on("data", (c: Buffer) => lines.push(String(c)));
    const ended = new Promise((resolve) => follow.on("end", resolve));
    for (let i = 0; i < 60 && !lines.join("").includes("three"); i++) await clock.advanceAsync(500);
    expect(lines.join("")).toBe("one\ntwo\nthree\n");
    for (let i = 0; i < 60; i++) await clock.advanceAsync(1_000);
    controller.abort();
    await ended;
    const previous = await provider
      .getContainerLogs(pod.ref, "main", { follow: false, timestamps: false, previous: true }, call())
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(errorCode(previous)).toBe("VN_INVALID_INPUT");
  });

  it("exec: argument boundaries and the exit code survive (shell mode)", async () => {
    const pod = makeResolvedPod({ behaviour: "run", volumes: ["secret"] });
    await provider.createPod(pod, call());
    await until(pod.ref, (x) => x?.containers[0] !== undefined && "running" in x.containers[0].state);
    const stdout = new PassThrough();
    let out = "";
    stdout.on("data", (c: Buffer) => (out += String(c)));
    const r1 = await provider.exec(pod.ref, "main", ["echo", "a  b", "it's"], { stdout, tty: false }, call());
    expect(r1.exitCode).toBe(0);
    expect(out).toBe("a  b it's\n");
    out = "";
    const r2 = await provider.exec(pod.ref, "main", ["sh", "-c", "exit 7"], { stdout, tty: false }, call());
    expect(r2.exitCode).toBe(7);
    const r3 = await provider.exec(
      pod.ref,
      "main",
      ["cat", "/mnt/vol-secret/password"],
      { stdout, tty: false },
      call(),
    );
    expect(r3.exitCode).toBe(0);
    expect(out).toBe("conformance-secret");
    const bad = await provider.exec(pod.ref, "main", ["no-such-tool"], { stdout, tty: false }, call());
    expect(bad.exitCode).toBe(127);
  });

  it("attach streams the main process's output", async () => {
    const pod = resolvedPod({
      containers: [{ name: "main", image: "busybox", command: ["sh", "-c", "echo hello; sleep 3600"] }],
    });
    await provider.createPod(pod, call());
    await until(pod.ref, (x) => x?.containers[0] !== undefined && "running" in x.containers[0].state);
    const stdout = new PassThrough();
    let out = "";
    stdout.on("data", (c: Buffer) => (out += String(c)));
    const result = await provider.attach(pod.ref, "main", { stdout, tty: false }, call());
    expect(result.exitCode).toBe(0);
    expect(out).toBe("hello\n");
  });

  it("exec direct mode: rejects arguments ACI would split", async () => {
    const direct = providerOn(sim, clock, { execMode: "direct" });
    const pod = makeResolvedPod({ behaviour: "run" });
    await direct.createPod(pod, call());
    const error = await direct.exec(pod.ref, "main", ["echo", "a b"], { tty: false }, call()).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(errorCode(error)).toBe("VN_INVALID_INPUT");
    direct.close();
  });
});

describe("list-based status at 1,000 pods", () => {
  it("costs far fewer ARM calls per pod per minute than upstream's 24", async () => {
    const clock = new FakeClock();
    const sim = new AciSimulator({
      clock,
      pageSize: 100,
      readQuota: 10_000_000,
      writeQuota: 10_000_000,
      timing: { pullMs: 1_000 },
    });
    await sim.start();
    const provider = providerOn(sim, clock);
    const refs = [];
    for (let i = 0; i < 1000; i++) {
      const pod = makeResolvedPod({ name: `p-${String(i)}`, nodeName: "vn-aci", behaviour: "run" });
      const mapped = toContainerGroup(pod, {
        nodeName: "vn-aci",
        location: sim.location,
        osType: "Linux",
      });
      sim.seed("vn-rg", mapped.name, wireBody(mapped.group));
      refs.push(pod.ref);
    }
    await clock.advanceAsync(2_000);
    // Warm up: every pod seen once (one detail GET each), all settled.
    for (let i = 0; i < 10; i++) {
      await provider.getPodStatuses(refs, call());
      await clock.advanceAsync(2_000);
    }
    const before = sim.requests.length;
    // Core asks for status every few seconds; simulate 5 minutes (one full detail-refresh period) of asks every 5 s.
    const minutes = 5;
    for (let t = 0; t < minutes * 60_000; t += 5_000) {
      const statuses = await provider.getPodStatuses(refs, call());
      expect(statuses.size).toBe(1000);
      await clock.advanceAsync(5_000);
    }
    const calls = sim.requests.length - before;
    const perPodPerMinute = calls / 1000 / minutes;
    console.log(
      `ACI status calls at 1,000 steady pods: ${String(calls)} in ${String(minutes)} min = ${perPodPerMinute.toFixed(3)} per pod per minute (upstream: 24); ${JSON.stringify(provider.statusStats())}`,
    );
    expect(perPodPerMinute).toBeLessThan(24 / 50);
    provider.close();
    expect(sim.violations).toEqual([]);
    await sim.close();
  }, 300_000);
});

/** The ARM wire shape of an SDK model (the SDK flattens `properties`). */
function wireBody(group: ContainerGroup): Record<string, unknown> {
  const { location, tags, identity, ...props } = group;
  return JSON.parse(
    JSON.stringify({
      location,
      tags,
      identity,
      properties: {
        ...props,
        containers: group.containers.map(({ name, ...p }) => ({ name, properties: p })),
      },
    }),
  ) as Record<string, unknown>;
}
