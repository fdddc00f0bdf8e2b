import {
  AbortedError,
  InvalidInputError,
  NotFoundError,
  PermanentError,
  RetryableError,
  errorCode,
} from "@virtual-node/core";
import type { PodRef, ProviderPodStatus } from "@virtual-node/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  MockAnnotations,
  MockCloud,
  connectMockCloud,
  createMockProvider,
  startMockCloudServer,
} from "../src/index.js";
import type { MockCloudClient, MockCloudEvent, MockCloudServer, MockGroupSpec } from "../src/index.js";
import type * as CoreErrors from "../../core/src/errors.js";
import type * as ClientModule from "../src/client.js";
import { corePhase, signal, testPod } from "./pods.js";

let server: MockCloudServer;
const clients: MockCloudClient[] = [];

function client(): MockCloudClient {
  const c = connectMockCloud(server.url);
  clients.push(c);
  return c;
}

beforeAll(async () => {
  server = await startMockCloudServer({ cloud: new MockCloud({ logs: { intervalMs: 10, maxLines: 100 } }) });
});

afterAll(async () => {
  for (const c of clients) c.close();
  await server.close();
  server.cloud.dispose();
});

async function eventually<T>(
  read: () => Promise<T>,
  accept: (value: T) => boolean,
  timeoutMs = 5000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (accept(value) || Date.now() > deadline) return value;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe("server mode", () => {
  it("listens on loopback and answers ping", async () => {
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(await client().ping()).toEqual({
      hostIP: "10.0.0.1",
      podCIDR: "10.244.0.0/16",
      groups: expect.any(Number) as number,
    });
  });

  it("round-trips the whole provider contract over HTTP", async () => {
    const provider = createMockProvider({ cloud: client() });
    const pod = testPod({
      nodeName: "vn-http",
      restartPolicy: "Never",
      annotations: { [MockAnnotations.runDuration]: "200ms", [MockAnnotations.exitCode]: "4" },
      env: [
        { name: "TOKEN", value: "s3cr3t", secret: true, source: { kind: "secret", name: "t", key: "k" } },
      ],
      volumes: [
        {
          name: "cfg",
          kind: "configMap",
          files: [{ path: "a", content: new Uint8Array([1, 2, 255]), mode: 0o600, secret: false }],
        },
      ],
    });
    await provider.createPod(pod, signal());
    await provider.createPod(pod, signal());
    const list = await provider.listPods("vn-http", signal());
    expect(list.map((p) => [p.name, p.uid, p.nodeName])).toEqual([[pod.ref.name, pod.ref.uid, "vn-http"]]);
    expect(corePhase(pod, await provider.getPodStatus(pod.ref, signal()))).toBe("Running");

    const info = await provider.getGroup("default", pod.ref.name);
    expect(info?.spec.containers[0]?.env[0]).toMatchObject({ name: "TOKEN", secret: true });
    expect(Buffer.from(info?.spec.volumes[0]?.files[0]?.base64 ?? "", "base64")).toEqual(
      Buffer.from([1, 2, 255]),
    );

    const failed = await eventually(
      () => provider.getPodStatus(pod.ref, signal()),
      (s) => corePhase(pod, s) === "Failed",
    );
    expect(failed?.containers[0]?.state).toMatchObject({ terminated: { exitCode: 4, reason: "Error" } });
    expect(failed?.startTime).toBeInstanceOf(Date);

    const batch = await provider.getPodStatuses([pod.ref, { ...pod.ref, name: "nope" }], signal());
    expect(corePhase(pod, batch.get(`default/${pod.ref.name}`))).toBe("Failed");
    expect(batch.get("default/nope")).toBeUndefined();

    await provider.deletePod(pod.ref, 30, signal());
    expect(await provider.getPodStatus(pod.ref, signal())).toBeUndefined();
    await provider.deletePod(pod.ref, 30, signal());

    const stats = await provider.cloud.callStats();
    expect(stats.counts.createPod).toBeGreaterThanOrEqual(2);
    expect(stats.log.some((r) => r.op === "deletePod" && r.key === `default/${pod.ref.name}`)).toBe(true);
  });

  it("serves logs, stats and exec", async () => {
    const cloud = client();
    const provider = createMockProvider({ cloud });
    const pod = testPod({ nodeName: "vn-http" });
    await provider.createPod(pod, signal());
    const lines = await eventually(
      () => cloud.logs(pod.ref, "app", { tailLines: 2 }),
      (l) => l.length === 2,
    );
    expect(lines[1]?.text).toMatch(/^line \d+ from app$/);
    expect((await cloud.stats(pod.ref)).containers).toHaveLength(1);
    expect(await cloud.exec(pod.ref, "app", ["cat"], { stdin: "piped" })).toEqual({
      stdout: "piped",
      stderr: "",
      exitCode: 0,
    });
    await provider.deletePod(pod.ref, 0, signal());
  });

  it("maps HTTP errors to typed errors", async () => {
    const cloud = client();
    const provider = createMockProvider({ cloud });

    const bad = {
      namespace: "default",
      name: "bad",
      uid: "u",
      nodeName: "n",
      restartPolicy: "Sometimes",
    } as unknown as MockGroupSpec;
    const invalid = await cloud.createPod(bad).catch((e: unknown) => e);
    expect(invalid).toBeInstanceOf(InvalidInputError);
    expect(invalid).toMatchObject({ field: "restartPolicy" });

    await expect(
      provider.updatePod(testPod({ nodeName: "vn-http" }), { ...signal(), reason: "spec" }),
    ).rejects.toBeInstanceOf(NotFoundError);
    await expect(
      provider.createPod(
        testPod({ nodeName: "vn-http", annotations: { [MockAnnotations.failCreate]: "Permanent" } }),
        signal(),
      ),
    ).rejects.toBeInstanceOf(PermanentError);

    const raw = await fetch(`${server.url}/no/such/route`);
    expect(raw.status).toBe(404);
    await raw.body?.cancel();

    await cloud.configure({ faults: { rate: 1, seed: 5, operations: ["ping"] } });
    try {
      const seen = new Set<string>();
      for (let i = 0; i < 20; i++) {
        const response = await fetch(`${server.url}/ping`);
        await response.body?.cancel();
        seen.add(`${response.status}:${response.headers.get("retry-after") ?? "-"}`);
        const error = await cloud.ping().catch((e: unknown) => e);
        expect(error).toBeInstanceOf(RetryableError);
      }
      // Throttles answer 429 with Retry-After, the others 503 without it.
      expect([...seen].some((s) => /^429:\d+$/.test(s))).toBe(true);
      expect(seen.has("503:-")).toBe(true);
      const errors = await Promise.all(
        Array.from({ length: 10 }, () => cloud.ping().catch((e: unknown) => e)),
      );
      expect(errors.some((e) => e instanceof RetryableError && typeof e.retryAfterMs === "number")).toBe(
        true,
      );
    } finally {
      await cloud.configure({ faults: {} });
    }
  });

  it("maps an unreachable server to RetryableError", async () => {
    const other = await startMockCloudServer();
    const url = other.url;
    await other.close();
    const error = await connectMockCloud(url)
      .ping()
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RetryableError);
  });

  it("rejects promptly with AbortedError while the server is slow", async () => {
    const cloud = client();
    await cloud.configure({ latency: { fixedMs: 5000 } });
    try {
      const controller = new AbortController();
      const started = Date.now();
      const call = cloud.listPods("vn-http", { signal: controller.signal });
      setTimeout(() => {
        controller.abort();
      }, 50);
      await expect(call).rejects.toBeInstanceOf(AbortedError);
      expect(Date.now() - started).toBeLessThan(2000);
      await expect(cloud.ping({ signal: AbortSignal.abort() })).rejects.toMatchObject({ code: "VN_ABORTED" });
    } finally {
      await cloud.configure({ latency: {} });
    }
  });

  it("works from a client in a different module instance; errors stay typed across copies", async () => {
    const clientUrl = new URL("../src/client.ts?instance=2", import.meta.url).href;
    const errorsUrl = new URL("../../core/src/errors.ts?instance=2", import.meta.url).href;
    const otherClient = (await import(/* @vite-ignore */ clientUrl)) as typeof ClientModule;
    const otherErrors = (await import(/* @vite-ignore */ errorsUrl)) as typeof CoreErrors;
    expect(otherClient.connectMockCloud).not.toBe(connectMockCloud);
    expect(otherErrors.NotFoundError).not.toBe(NotFoundError);

    const writer = createMockProvider({ cloud: client() });
    const reader = createMockProvider({ cloud: otherClient.connectMockCloud(server.url) });
    const pod = testPod({ nodeName: "vn-copy" });
    await writer.createPod(pod, signal());
    expect(corePhase(pod, await reader.getPodStatus(pod.ref, signal()))).toBe("Running");

    const error = await reader
      .updatePod(testPod({ nodeName: "vn-copy" }), { ...signal(), reason: "spec" })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NotFoundError);
    expect(error).toBeInstanceOf(otherErrors.NotFoundError);
    expect(error).not.toBeInstanceOf(otherErrors.RetryableError);
    expect(errorCode(error)).toBe("VN_NOT_FOUND");
    await writer.deletePod(pod.ref, 0, signal());
  });

  it("keeps state when the agent goes away: a new client adopts the pods", async () => {
    const first = client();
    const pod = testPod({ nodeName: "vn-adopt" });
    await createMockProvider({ cloud: first }).createPod(pod, signal());
    first.close();
    const second = createMockProvider({ cloud: client() });
    const adopted = await second.listPods("vn-adopt", signal());
    expect(adopted.map((p) => p.uid)).toEqual([pod.ref.uid]);
    await second.deletePod(pod.ref, 0, signal());
    expect(await second.listPods("vn-adopt", signal())).toEqual([]);
  });

  it("pushes status over server-sent events", async () => {
    const cloud = client();
    const events: MockCloudEvent[] = [];
    const stopWatch = cloud.watch("vn-push", (e) => events.push(e));
    await eventually(
      () => Promise.resolve(events.length),
      (n) => n > 0,
    );
    expect(events[0]).toEqual({ type: "sync", states: [] });

    const provider = createMockProvider({ cloud });
    const pod = testPod({
      nodeName: "vn-push",
      restartPolicy: "Never",
      annotations: { [MockAnnotations.runDuration]: "500ms" },
    });
    await provider.createPod(pod, signal());
    // Subscribing after the create: the initial sync reports the running pod.
    const pushed: [PodRef, ProviderPodStatus | undefined][] = [];
    const unsubscribe = provider.subscribeStatus?.("vn-push", (ref, status) => pushed.push([ref, status]));
    await eventually(
      () => Promise.resolve(pushed.map(([, s]) => corePhase(pod, s))),
      (phases) => phases.includes("Succeeded"),
    );
    await provider.deletePod(pod.ref, 0, signal());
    await eventually(
      () => Promise.resolve(pushed.at(-1)),
      (last) => last?.[1] === undefined,
    );
    // Consecutive duplicates are allowed (the final status before removal repeats the phase).
    const phases = pushed
      .map(([, s]) => corePhase(pod, s))
      .filter((p, i, all) => i === 0 || p !== all[i - 1]);
    expect(phases.slice(-2)).toEqual(["Succeeded", undefined]);
    expect(phases[0]).toBe("Running");
    expect(pushed.at(-1)?.[0]).toEqual(pod.ref);
    expect(events[0]?.type).toBe("sync");
    expect(events.at(-1)).toMatchObject({ type: "deleted", ref: { ...pod.ref, nodeName: "vn-push" } });
    unsubscribe?.();
    stopWatch();
  });
});
