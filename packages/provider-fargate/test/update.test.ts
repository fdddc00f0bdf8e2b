/**
 * updatePod: ECS cannot change a running task's definition. Tags change in place (TagResource);
 * an image change is not applied and is reported as a Warning Event naming the field; the other
 * mutable fields core passes (activeDeadlineSeconds, tolerations) need nothing from ECS.
 */
import type { Task } from "@aws-sdk/client-ecs";
import { FakeClock, errorCode } from "@virtual-node/core";
import type { ResolvedPod } from "@virtual-node/core";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { UPDATE_NOT_APPLIED, planTaskUpdate } from "../src/update.js";
import type { FargateProvider } from "../src/index.js";
import { startAwsSimulator } from "./simulator/server.js";
import type { AwsSimulator } from "./simulator/server.js";
import { pod, testOptions } from "./support/pods.js";
import { simulatorProvider } from "./support/provider.js";

const task = (images: Record<string, string>, tags: Record<string, string> = {}): Task => ({
  taskArn: "arn:aws:ecs:us-east-1:123456789012:task/vn-test/abc",
  lastStatus: "RUNNING",
  containers: Object.entries(images).map(([name, image]) => ({ name, image })),
  tags: Object.entries(tags).map(([key, value]) => ({ key, value })),
});

describe("planTaskUpdate (pure)", () => {
  const options = testOptions({ tags: { team: "blue", cost: "42" } });

  it.each([
    [
      "same images, same tags: nothing",
      pod({ containers: [{ name: "main", image: "app:1" }] }),
      task({ main: "app:1" }, { team: "blue", cost: "42" }),
      [],
      [],
    ],
    [
      "a changed tag value and a missing tag are put on the task",
      pod({ containers: [{ name: "main", image: "app:1" }] }),
      task({ main: "app:1" }, { team: "red" }),
      [
        { key: "team", value: "blue" },
        { key: "cost", value: "42" },
      ],
      [],
    ],
    [
      "a changed app image is not applied, naming spec.containers[1].image",
      pod({
        containers: [
          { name: "main", image: "app:1" },
          { name: "side", image: "proxy:2" },
        ],
      }),
      task({ main: "app:1", side: "proxy:1" }, { team: "blue", cost: "42" }),
      [],
      ["spec.containers[1].image"],
    ],
    [
      "a changed init container image too, naming spec.initContainers[0].image",
      pod({
        initContainers: [{ name: "init", image: "migrate:2" }],
        containers: [{ name: "main", image: "app:1" }],
      }),
      task({ init: "migrate:1", main: "app:1" }, { team: "blue", cost: "42" }),
      [],
      ["spec.initContainers[0].image"],
    ],
  ] as [string, ResolvedPod, Task, { key: string; value: string }[], string[]][])(
    "%s",
    (_name, p, t, tags, fields) => {
      const plan = planTaskUpdate(t, p, options);
      expect(plan.tags).toEqual(tags);
      expect(plan.notApplied.map((e) => e.message.split(":")[0])).toEqual(fields);
      for (const e of plan.notApplied) {
        expect(e).toMatchObject({ type: "Warning", reason: UPDATE_NOT_APPLIED });
        expect(e.message).toMatch(/keeps running \S+ \(wanted \S+\)/);
      }
    },
  );
});

describe("updatePod on the simulator", () => {
  const clock = new FakeClock();
  let sim: AwsSimulator;
  let provider: FargateProvider;
  const call = () => ({ signal: new AbortController().signal });

  beforeAll(async () => {
    sim = await startAwsSimulator({ clock });
    provider = simulatorProvider(sim, clock, { tags: { team: "blue" } });
  });
  afterAll(async () => {
    provider.close();
    await sim.close();
  });
  afterEach(() => {
    expect(sim.violations).toEqual([]);
  });

  async function running(p: ResolvedPod, on = provider): Promise<void> {
    for (let i = 0; i < 200; i++) {
      if ((await on.getPodStatus(p.ref, call()))?.phase === "Running") return;
      await clock.advanceAsync(500);
    }
    throw new Error("never Running");
  }

  const writes = () =>
    sim.requests.filter((r) =>
      ["RunTask", "StopTask", "RegisterTaskDefinition", "DeregisterTaskDefinition", "TagResource"].includes(
        r.operation,
      ),
    ).length;

  it("an image change is not applied: the task keeps running, one Warning Event names the field", async () => {
    const p = pod({ containers: [{ name: "main", image: "busybox:1.36", command: ["sleep", "3600"] }] });
    await provider.createPod(p, call());
    await running(p);
    const before = writes();
    const tasks = sim.ecs.tasks.size;
    const changed: ResolvedPod = structuredClone(p);
    const spec = changed.pod.spec;
    if (spec === undefined) throw new Error("no spec");
    spec.containers[0] = { ...spec.containers[0], name: "main", image: "busybox:1.37" };
    await provider.updatePod(changed, { ...call(), reason: "spec" });
    await provider.updatePod(changed, { ...call(), reason: "spec" });
    expect(writes()).toBe(before);
    expect(sim.ecs.tasks.size).toBe(tasks);
    const status = await provider.getPodStatus(p.ref, call());
    expect(status?.phase).toBe("Running");
    expect(status?.containers.find((c) => c.name === "main")?.image).toBe("busybox:1.36");
    expect(status?.events?.map(({ id, type, reason }) => ({ id, type, reason }))).toEqual([
      {
        id: `${UPDATE_NOT_APPLIED}/spec.containers[0].image/busybox:1.37`,
        type: "Warning",
        reason: UPDATE_NOT_APPLIED,
      },
    ]);
    expect(status?.events?.[0]?.message).toMatch(
      /^spec\.containers\[0\]\.image: ECS cannot change the image of a running task's container main; it keeps running busybox:1\.36 \(wanted busybox:1\.37\)/,
    );
    await provider.deletePod(p.ref, 0, call());
  });

  it("tags change in place: a restarted agent with new tags puts them on the running task with TagResource", async () => {
    const p = pod({ containers: [{ name: "main", command: ["sleep", "3601"] }] });
    await provider.createPod(p, call());
    const restarted = simulatorProvider(sim, clock, { tags: { team: "green", cost: "7" } });
    await restarted.listPods("vn-fargate", call());
    await restarted.updatePod(p, { ...call(), reason: "spec" });
    const tag = sim.calls("TagResource").at(-1)?.body as { tags: { key: string; value: string }[] };
    expect(tag.tags).toEqual([
      { key: "team", value: "green" },
      { key: "cost", value: "7" },
    ]);
    const simTask = [...sim.ecs.tasks.values()].find((t) => t.tags.some((x) => x.value === p.ref.uid));
    expect(simTask?.tags).toEqual(
      expect.arrayContaining([
        { key: "team", value: "green" },
        { key: "cost", value: "7" },
      ]),
    );
    expect(simTask?.tags).toEqual(expect.arrayContaining([{ key: "virtual-node-uid", value: p.ref.uid }]));
    // Tags in place, nothing else: the same task runs on.
    expect((await restarted.getPodStatus(p.ref, call()))?.events).toBeUndefined();
    await restarted.deletePod(p.ref, 0, call());
    restarted.close();
  });

  it("activeDeadlineSeconds and tolerations changes need no AWS call", async () => {
    const p = pod({ containers: [{ name: "main", command: ["sleep", "3602"] }] });
    await provider.createPod(p, call());
    const changed: ResolvedPod = structuredClone(p);
    Object.assign(changed.pod.spec ?? {}, {
      activeDeadlineSeconds: 600,
      tolerations: [{ key: "example.com/burst", operator: "Exists" }],
    });
    const before = writes();
    await provider.updatePod(changed, { ...call(), reason: "spec" });
    expect(writes()).toBe(before);
    expect((await provider.getPodStatus(p.ref, call()))?.events).toBeUndefined();
    await provider.deletePod(p.ref, 0, call());
  });

  it("mounted-file updates are unsupported; an unknown pod is NotFound", async () => {
    const p = pod({ containers: [{ name: "main", command: ["sleep", "3603"] }] });
    expect(
      errorCode(await provider.updatePod(p, { ...call(), reason: "volumes" }).catch((e: unknown) => e)),
    ).toBe("VN_UNSUPPORTED");
    expect(
      errorCode(await provider.updatePod(p, { ...call(), reason: "spec" }).catch((e: unknown) => e)),
    ).toBe("VN_NOT_FOUND");
  });
});
