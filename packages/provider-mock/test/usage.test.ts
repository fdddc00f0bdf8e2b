/**
 * Reported CPU/memory use under control: the `cpu-usage`/`memory-usage` annotations at create and
 * `setUsage` (in process and over `PUT /admin/usage/{ns}/{name}`) at run time, as `stats` and the
 * kubelet stats hook report them. The cumulative CPU counter must stay monotonic and follow the set
 * rate, because metrics-server derives usage from the difference of two scrapes.
 */
import { FakeClock, InvalidInputError, NotFoundError } from "@virtual-node/core";
import { afterEach, describe, expect, it } from "vitest";
import {
  MockAnnotations,
  MockCloud,
  connectMockCloud,
  containerAnnotation,
  createMockProvider,
  startMockCloudServer,
  toMockGroupSpec,
} from "../src/index.js";
import type { MockCloudClient, MockCloudServer } from "../src/index.js";
import { signal, testPod } from "./pods.js";

const MI = 1024 * 1024;
let server: MockCloudServer | undefined;
let client: MockCloudClient | undefined;

afterEach(async () => {
  client?.close();
  await server?.close();
  server?.cloud.dispose();
  server = client = undefined;
});

describe("usage annotations", () => {
  it("pod-level and per-container forms become the container's fixed usage", () => {
    const spec = toMockGroupSpec(
      testPod({
        annotations: {
          [MockAnnotations.cpuUsage]: "250m",
          [MockAnnotations.memoryUsage]: "64Mi",
          [containerAnnotation(MockAnnotations.cpuUsage, "app1")]: "1.5",
        },
        containers: [{}, {}],
      }),
    );
    expect(spec.containers[0]?.usage).toEqual({ cpuNanoCores: 250_000_000, memoryBytes: 64 * MI });
    expect(spec.containers[1]?.usage).toEqual({ cpuNanoCores: 1_500_000_000, memoryBytes: 64 * MI });
  });

  it("a malformed quantity fails the pod with a field naming the annotation", () => {
    const pod = testPod({ annotations: { [MockAnnotations.cpuUsage]: "a lot" } });
    expect(() => toMockGroupSpec(pod)).toThrow(InvalidInputError);
    try {
      toMockGroupSpec(pod);
    } catch (error) {
      expect((error as InvalidInputError).field).toBe(
        "metadata.annotations['mock.virtual-node.io/cpu-usage']",
      );
      expect((error as Error).message).toContain("expected a cpu quantity such as 250m");
    }
    expect(() =>
      toMockGroupSpec(testPod({ annotations: { [MockAnnotations.memoryUsage]: "-1Mi" } })),
    ).toThrow(/memory-usage.*expected a memory quantity/);
  });

  it("stats report the annotated figures; the CPU counter grows at that rate", async () => {
    const clock = new FakeClock();
    const cloud = new MockCloud({ clock });
    const provider = createMockProvider({ cloud });
    const pod = testPod({
      annotations: { [MockAnnotations.cpuUsage]: "400m", [MockAnnotations.memoryUsage]: "100Mi" },
    });
    await provider.createPod(pod, signal());
    const first = await cloud.stats(pod.ref);
    clock.advance(10_000);
    const second = await cloud.stats(pod.ref);
    expect(second.containers[0]).toMatchObject({
      cpuNanoCores: 400_000_000,
      memoryWorkingSetBytes: 100 * MI,
    });
    const deltaCoreSeconds =
      ((second.containers[0]?.cpuUsageCoreNanoSeconds ?? 0) -
        (first.containers[0]?.cpuUsageCoreNanoSeconds ?? 0)) /
      1e9;
    expect(deltaCoreSeconds).toBeCloseTo(4, 6); // 0.4 cores for 10 s
    const summary = await provider.getStatsSummary("vn-test", [], signal());
    expect(summary.pods[0]?.containers[0]?.cpu?.usageNanoCores).toBe(400_000_000);
    expect(summary.pods[0]?.containers[0]?.memory?.workingSetBytes).toBe(100 * MI);
    cloud.dispose();
  });
});

describe("setUsage at run time", () => {
  it("changes the rate from now on without the counter running backwards; null returns to the wave", async () => {
    const clock = new FakeClock();
    const cloud = new MockCloud({ clock });
    const provider = createMockProvider({ cloud });
    const pod = testPod({ containers: [{}, {}] });
    await provider.createPod(pod, signal());
    clock.advance(30_000);
    const before = await cloud.stats(pod.ref);
    const simulated = before.containers[0]?.cpuNanoCores ?? 0;
    expect(simulated).toBeLessThan(200_000_000); // the wave stays under 0.12 cores

    const after = await cloud.setUsage(pod.ref.namespace, pod.ref.name, { cpu: "2", container: "app" });
    expect(after.containers[0]?.cpuNanoCores).toBe(2_000_000_000);
    expect(after.containers[0]?.cpuUsageCoreNanoSeconds).toBe(before.containers[0]?.cpuUsageCoreNanoSeconds);
    expect(after.containers[1]?.cpuNanoCores).toBe(before.containers[1]?.cpuNanoCores); // other container as it was

    clock.advance(5_000);
    const later = await cloud.stats(pod.ref);
    const delta =
      (later.containers[0]?.cpuUsageCoreNanoSeconds ?? 0) -
      (after.containers[0]?.cpuUsageCoreNanoSeconds ?? 0);
    expect(delta / 1e9).toBeCloseTo(10, 6); // 2 cores for 5 s

    await cloud.setUsage(pod.ref.namespace, pod.ref.name, { cpu: null, memory: "1Gi" });
    clock.advance(1000);
    const released = await cloud.stats(pod.ref);
    expect(released.containers[0]?.cpuNanoCores).toBeLessThan(200_000_000);
    expect(released.containers[0]?.cpuUsageCoreNanoSeconds).toBeGreaterThan(
      later.containers[0]?.cpuUsageCoreNanoSeconds ?? 0,
    );
    expect(released.containers.map((c) => c.memoryWorkingSetBytes)).toEqual([1024 * MI, 1024 * MI]);
    cloud.dispose();
  });

  it("over HTTP: PUT /admin/usage sets it; bad input is a 400 naming the field, a missing pod a 404", async () => {
    server = await startMockCloudServer({ cloud: new MockCloud() });
    client = connectMockCloud(server.url);
    const provider = createMockProvider({ cloud: client });
    const pod = testPod({ name: "web" });
    await provider.createPod(pod, signal());

    const response = await fetch(`${server.url}/admin/usage/default/web`, {
      method: "PUT",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ cpu: "750m", memory: "256Mi" }),
    });
    expect(response.status).toBe(200);
    const stats = (await client.stats(pod.ref)).containers[0];
    expect(stats).toMatchObject({ cpuNanoCores: 750_000_000, memoryWorkingSetBytes: 256 * MI });

    const bad = await fetch(`${server.url}/admin/usage/default/web`, {
      method: "PUT",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ cpu: "fast" }),
    });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ error: { code: "VN_INVALID_INPUT", field: "cpu" } });

    await expect(client.setUsage("default", "web", { container: "nope", cpu: "1" })).rejects.toThrow(
      /container nope not found/,
    );
    await expect(client.setUsage("default", "absent", { cpu: "1" })).rejects.toThrow(NotFoundError);
    // The client method and the route agree.
    const viaClient = await client.setUsage("default", "web", { cpu: "100m" });
    expect(viaClient.containers[0]?.cpuNanoCores).toBe(100_000_000);
  });
});
