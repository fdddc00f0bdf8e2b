import { DescribeTasksCommand, ECSClient, RunTaskCommand, StopTaskCommand } from "@aws-sdk/client-ecs";
import { FakeClock, errorCode } from "@virtual-node/core";
import type { ContainerLogOptions, ResolvedPod } from "@virtual-node/core";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { FargateAnnotations, createFargateProvider } from "../src/index.js";
import type { FargateProvider } from "../src/index.js";
import { startAwsSimulator } from "./simulator/server.js";
import type { AwsSimulator } from "./simulator/server.js";
import { fileVolume, pod, secretEnv } from "./support/pods.js";
import { simulatorOptions, simulatorProvider } from "./support/provider.js";

const clock = new FakeClock();
let sim: AwsSimulator;
let provider: FargateProvider;
const call = () => ({ signal: new AbortController().signal });

async function until<T>(
  read: () => Promise<T>,
  ok: (v: T) => boolean,
  stepMs = 500,
  limitMs = 120_000,
): Promise<T> {
  for (let waited = 0; ; waited += stepMs) {
    const value = await read();
    if (ok(value)) return value;
    if (waited > limitMs) throw new Error(`timed out; last ${JSON.stringify(value)}`);
    await clock.advanceAsync(stepMs);
  }
}

function phase(p: ResolvedPod) {
  return provider.getPodStatus(p.ref, call()).then((s) => s?.phase);
}

beforeAll(async () => {
  sim = await startAwsSimulator({ clock });
  provider = simulatorProvider(sim, clock);
});

afterAll(async () => {
  provider.close();
  await sim.close();
});

afterEach(() => {
  expect(sim.violations).toEqual([]);
});

describe("options", () => {
  it.each([
    [{ subnets: [] }, "subnets"],
    [{ subnets: ["nope"] }, "subnets[0]"],
    [{ cluster: "" }, "cluster"],
    [{ executionRoleArn: "role" }, "executionRoleArn"],
    [
      { capacityProviderStrategy: [{ capacityProvider: "EC2" }] },
      "capacityProviderStrategy[0].capacityProvider",
    ],
    [{ executionRoleArn: undefined }, "executionRoleArn"],
  ])("rejects %j naming %s", (extra, field) => {
    let error: unknown;
    try {
      createFargateProvider({ ...simulatorOptions(sim, clock), ...(extra as object) });
    } catch (e) {
      error = e;
    }
    expect(errorCode(error)).toBe("VN_INVALID_INPUT");
    expect((error as { field?: string }).field).toBe(field);
    expect((error as Error).message).toContain(`FargateProviderOptions.${field}`);
  });
});

describe("lifecycle on the simulator", () => {
  it("pings the cluster, and fails ping for a missing or inactive cluster", async () => {
    await provider.ping(call());
    const missing = createFargateProvider({ ...simulatorOptions(sim, clock), cluster: "nope" });
    await expect(missing.ping(call())).rejects.toMatchObject({ code: "VN_NOT_FOUND" });
    sim.ecs.addCluster("draining", "INACTIVE");
    const inactive = createFargateProvider({ ...simulatorOptions(sim, clock), cluster: "draining" });
    await expect(inactive.ping(call())).rejects.toMatchObject({ code: "VN_PERMANENT" });
    missing.close();
    inactive.close();
  });

  it("runs a pod to Succeeded with RunTask carrying startedBy, ownership tags and a clientToken", async () => {
    const p = pod({
      containers: [{ name: "main", command: ["sh", "-c", "echo done; exit 0"] }],
      spec: { restartPolicy: "Never" },
    });
    await provider.createPod(p, call());
    const run = sim.calls("RunTask").at(-1)?.body as {
      startedBy: string;
      clientToken: string;
      tags: { key: string; value: string }[];
    };
    expect(run.clientToken).toContain(p.ref.uid);
    expect(run.tags).toEqual(
      expect.arrayContaining([
        { key: "virtual-node-uid", value: p.ref.uid },
        { key: "virtual-node-node", value: "vn-fargate" },
      ]),
    );
    await until(
      () => phase(p),
      (v) => v === "Succeeded",
    );
    const status = await provider.getPodStatus(p.ref, call());
    expect(status?.billed).toEqual({ vcpu: 0.25, memoryGiB: 0.5, shape: "256/512" });
  });

  it("a retried RunTask after a lost answer does not start a second task (clientToken)", async () => {
    const p = pod({ spec: { restartPolicy: "Never" } });
    const spec = provider.mapPod(p);
    // A create that reached ECS but whose answer was lost: the same RunTask already ran once.
    await provider.createPod(p, call());
    const first = sim.calls("RunTask").at(-1)?.body as Record<string, unknown>;
    const ecs = new ECSClient(sim.clientConfig());
    await ecs.send(new RunTaskCommand(first as never));
    ecs.destroy();
    const mine = [...sim.ecs.tasks.values()].filter((t) => t.tags.some((tag) => tag.value === p.ref.uid));
    expect(mine).toHaveLength(1);
    expect(spec.runTask.clientToken).toBe(first.clientToken);
  });

  it("shares one task definition between identical pods and deregisters it when the last one is deleted", async () => {
    const a = pod({ containers: [{ name: "main", image: "redis:7", command: ["sleep", "1"] }] });
    const b = pod({ containers: [{ name: "main", image: "redis:7", command: ["sleep", "1"] }] });
    const before = sim.calls("RegisterTaskDefinition").length;
    await provider.createPod(a, call());
    await provider.createPod(b, call());
    expect(sim.calls("RegisterTaskDefinition").length - before).toBe(1);
    const family = provider.mapPod(a).family;
    await provider.deletePod(a.ref, 30, call());
    expect([...sim.ecs.taskDefinitions.values()].find((td) => td.family === family)?.status).toBe("ACTIVE");
    await provider.deletePod(b.ref, 30, call());
    expect([...sim.ecs.taskDefinitions.values()].find((td) => td.family === family)?.status).toBe("INACTIVE");
    const stop = sim.calls("StopTask").at(-1)?.body as { reason: string };
    expect(stop.reason).toMatch(/^virtual-node: pod default\/.* deleted/);
  });

  it("mirrors Secret env and files into Secrets Manager, never sends them plain, and deletes the mirror with the last user", async () => {
    const value = "correct-horse-battery-staple";
    const make = () =>
      pod({
        containers: [
          {
            name: "main",
            command: ["sleep", "3600"],
            volumeMounts: [{ name: "creds", mountPath: "/creds" }],
          },
        ],
        env: { main: [secretEnv("PASSWORD", "db", "password", value)] },
        volumes: [fileVolume("creds", "secret", { password: value }, "db")],
      });
    const a = make();
    const b = make();
    await provider.createPod(a, call());
    await provider.createPod(b, call());
    const mirrors = sim.secrets.live().filter((s) => s.name.includes("default-db"));
    expect(mirrors).toHaveLength(1);
    expect(JSON.parse(mirrors[0]?.value ?? "{}")).toEqual({
      "e.password": value,
      "f.password": Buffer.from(value).toString("base64"),
    });
    await until(
      () => phase(a),
      (v) => v === "Running",
    );
    for (const r of sim.requests.filter((r) => r.service === "ecs")) {
      expect(r.raw).not.toContain(value);
      expect(r.raw).not.toContain(Buffer.from(value).toString("base64"));
    }
    await provider.deletePod(a.ref, 0, call());
    expect(sim.secrets.live().filter((s) => s.name.includes("default-db"))).toHaveLength(1);
    await provider.deletePod(b.ref, 0, call());
    expect(sim.secrets.live().filter((s) => s.name.includes("default-db"))).toHaveLength(0);
  });

  it("mirrors a pull-secret login into its own Secrets Manager secret for repositoryCredentials, never in ECS requests", async () => {
    const password = "pull-" + "s3cr3t-password";
    const p = pod({
      containers: [{ name: "main", image: "reg.example.com/team/app:1", command: ["sleep", "3600"] }],
      spec: { imagePullSecrets: [{ name: "regcred" }] },
    });
    p.imagePullSecrets = [
      { server: "https://reg.example.com", username: "puller", password, secretName: "regcred" },
    ];
    await provider.createPod(p, call());
    const mirrors = sim.secrets.live().filter((s) => s.value?.includes(password) === true);
    expect(mirrors).toHaveLength(1);
    expect(JSON.parse(mirrors[0]?.value ?? "{}")).toEqual({ username: "puller", password });
    const registered = sim.calls("RegisterTaskDefinition").at(-1)?.body as {
      containerDefinitions: { name: string; repositoryCredentials?: { credentialsParameter: string } }[];
    };
    const main = registered.containerDefinitions.find((c) => c.name === "main");
    expect(main?.repositoryCredentials?.credentialsParameter).toMatch(/^arn:aws:secretsmanager:.*regcred/);
    for (const r of sim.requests.filter((r) => r.service === "ecs")) expect(r.raw).not.toContain(password);
    await provider.deletePod(p.ref, 0, call());
    expect(sim.secrets.live().filter((s) => s.value?.includes(password) === true)).toHaveLength(0);
  });

  it("sweeps mirrors left behind by tasks that ended while nobody deleted them", async () => {
    const p = pod({
      containers: [{ name: "main", command: ["sleep", "3600"] }],
      env: { main: [secretEnv("TOKEN", "api", "token", "sweep-me-token")] },
    });
    const keep = pod({
      containers: [{ name: "main", command: ["sleep", "3601"] }],
      env: { main: [secretEnv("TOKEN", "keep", "token", "keep-me-token")] },
    });
    await provider.createPod(p, call());
    await provider.createPod(keep, call());
    expect(sim.secrets.live().filter((s) => s.name.includes("default-api"))).toHaveLength(1);
    // The task stops behind the agent's back (an outage, someone in the console).
    const ecs = new ECSClient(sim.clientConfig());
    const arn = [...sim.ecs.tasks.values()].find((t) => t.tags.some((tag) => tag.value === p.ref.uid))?.arn;
    await ecs.send(new StopTaskCommand({ cluster: "vn-test", task: arn, reason: "stopped in the console" }));
    ecs.destroy();
    const restarted = simulatorProvider(sim, clock, { mirrorSweepIntervalMs: 1 });
    await clock.advanceAsync(5_000);
    await restarted.listPods("vn-fargate", call());
    expect(sim.secrets.live().filter((s) => s.name.includes("default-api"))).toHaveLength(0);
    // The mirror of a running pod stays.
    expect(sim.secrets.live().filter((s) => s.name.includes("default-keep"))).toHaveLength(1);
    restarted.close();
  });

  it("reports an image pull failure as Failed with CannotPullContainerError", async () => {
    sim.ecs.faults.pullFailImages.add("ghcr.io/nope/missing:1");
    const p = pod({
      containers: [{ name: "main", image: "ghcr.io/nope/missing:1" }],
      spec: { restartPolicy: "Never" },
    });
    await provider.createPod(p, call());
    const status = await until(
      () => provider.getPodStatus(p.ref, call()),
      (s) => s?.phase === "Failed",
    );
    expect(status?.reason).toBe("CannotPullContainerError");
  });

  it("reports a Spot interruption as Failed with reason SpotInterruption", async () => {
    sim.ecs.faults.spotInterruptNext = 1;
    const p = pod({
      containers: [{ name: "main", command: ["sleep", "3600"] }],
      annotations: { [FargateAnnotations.capacityProvider]: "FARGATE_SPOT" },
    });
    await provider.createPod(p, call());
    const run = sim.calls("RunTask").at(-1)?.body as {
      capacityProviderStrategy?: unknown;
      launchType?: string;
    };
    expect(run.capacityProviderStrategy).toEqual([{ capacityProvider: "FARGATE_SPOT", weight: 1 }]);
    expect(run.launchType).toBeUndefined();
    const status = await until(
      () => provider.getPodStatus(p.ref, call()),
      (s) => s?.phase === "Failed",
    );
    expect(status?.reason).toBe("SpotInterruption");
    expect(status?.message).toContain("SpotInterruption");
  });

  it("fails a pod whose task never starts past the start deadline", async () => {
    const slow = await startAwsSimulator({ clock, timings: { provisionMs: 3_600_000 } });
    const p2 = simulatorProvider(slow, clock, { startDeadlineMs: 60_000 });
    const p = pod({ containers: [{ name: "main", command: ["sleep", "3600"] }] });
    await p2.createPod(p, call());
    const status = await until(
      () => p2.getPodStatus(p.ref, call()),
      (s) => s?.phase === "Failed",
    );
    expect(status).toMatchObject({ reason: "StartDeadlineExceeded" });
    // Stopped when failed, not only at pod delete; the stopped task keeps reporting the failure.
    await until(
      () => Promise.resolve(slow.calls("StopTask").length),
      (n) => n === 1,
    );
    const stopBody = slow.calls("StopTask")[0]?.body as { reason?: string };
    expect(stopBody.reason).toMatch(/^virtual-node-deadline: /);
    const after = await until(
      () => p2.getPodStatus(p.ref, call()),
      (s) => s?.message?.includes("stopped by the provider") === true,
    );
    expect(after).toMatchObject({ phase: "Failed", reason: "StartDeadlineExceeded" });
    expect(slow.calls("StopTask")).toHaveLength(1);
    p2.close();
    await slow.close();
  });

  it("surfaces an ECS 4xx as a typed error carrying the AWS code and message", async () => {
    sim.fail("RunTask", "AccessDeniedException", "User is not authorized to perform ecs:RunTask");
    const p = pod({ containers: [{ name: "main", image: "busybox:1.36", command: ["sleep", "7"] }] });
    const error = await provider.createPod(p, call()).catch((e: unknown) => e);
    expect(errorCode(error)).toBe("VN_PERMANENT");
    expect((error as Error).message).toBe(
      "AccessDeniedException: User is not authorized to perform ecs:RunTask",
    );
  });

  it("retries a throttled call through the kit's caller and succeeds", async () => {
    sim.throttle("RunTask", 2);
    const p = pod({ containers: [{ name: "main", image: "busybox:1.36", command: ["sleep", "8"] }] });
    const before = sim.calls("RunTask").length;
    const creating = provider.createPod(p, call());
    // Backoff delays run on the fake clock.
    for (let i = 0; i < 40; i++) await clock.advanceAsync(500);
    await creating;
    expect(sim.calls("RunTask").length - before).toBe(3);
    expect(provider.call.limiters.get("RunTask").stats().throttles).toBeGreaterThanOrEqual(2);
  });

  it("retries an ECS 5xx (ServerException) and succeeds", async () => {
    sim.fail("DescribeClusters", "ServerException", "Service Unavailable. Please try again later.", 1, 500);
    const before = sim.calls("DescribeClusters").length;
    const pinging = provider.ping(call());
    for (let i = 0; i < 20; i++) await clock.advanceAsync(250);
    await pinging;
    expect(sim.calls("DescribeClusters").length - before).toBe(2);
  });

  it("adopts tasks after a restart and cleans up only this node's tasks", async () => {
    const p = pod({ containers: [{ name: "main", command: ["sleep", "3600"] }] });
    await provider.createPod(p, call());
    const other = createFargateProvider(simulatorOptions(sim, clock));
    const q = {
      ...pod({ containers: [{ name: "main", command: ["sleep", "3601"] }] }),
      nodeName: "vn-other",
    };
    await other.createPod(q, call());
    const restarted = simulatorProvider(sim, clock);
    const listed = await restarted.listPods("vn-fargate", call());
    expect(listed.map((s) => s.uid)).toContain(p.ref.uid);
    expect(listed.map((s) => s.uid)).not.toContain(q.ref.uid);
    await restarted.deletePod(p.ref, 0, call());
    expect(await restarted.getPodStatus(p.ref, call())).toBeUndefined();
    const ecs = new ECSClient(sim.clientConfig());
    const theirs = [...sim.ecs.tasks.values()].find((t) => t.tags.some((tag) => tag.value === q.ref.uid));
    const described = await ecs.send(
      new DescribeTasksCommand({ cluster: "vn-test", tasks: [theirs?.arn ?? ""] }),
    );
    expect(described.tasks?.[0]?.desiredStatus).toBe("RUNNING");
    ecs.destroy();
    restarted.close();
    other.close();
  });

  it("reads logs from CloudWatch with tail and timestamps", async () => {
    const p = pod({
      containers: [{ name: "main", command: ["sh", "-c", "echo one; echo two; echo three; sleep 60"] }],
    });
    await provider.createPod(p, call());
    await until(
      () => phase(p),
      (v) => v === "Running",
    );
    const opts: ContainerLogOptions = { follow: false, timestamps: true, previous: false, tailLines: 2 };
    const stream = await provider.getContainerLogs(p.ref, "main", opts, call());
    let text = "";
    for await (const chunk of stream) text += String(chunk);
    const lines = text.trim().split("\n");
    expect(lines.map((l) => l.split(" ").slice(1).join(" "))).toEqual(["two", "three"]);
    expect(lines[0]).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z two$/);
  });
});
