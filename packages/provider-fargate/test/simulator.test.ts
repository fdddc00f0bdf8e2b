import {
  DescribeTasksCommand,
  ECSClient,
  ListTasksCommand,
  RegisterTaskDefinitionCommand,
  RunTaskCommand,
  StopTaskCommand,
  paginateListTasks,
} from "@aws-sdk/client-ecs";
import type { RegisterTaskDefinitionCommandInput } from "@aws-sdk/client-ecs";
import { CloudWatchLogsClient, GetLogEventsCommand } from "@aws-sdk/client-cloudwatch-logs";
import { CreateSecretCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { FakeClock } from "@virtual-node/core";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { readScript } from "./simulator/ecs-state.js";
import { startAwsSimulator } from "./simulator/server.js";
import type { AwsSimulator } from "./simulator/server.js";

const clock = new FakeClock();
let sim: AwsSimulator;
let ecs: ECSClient;

const network = {
  awsvpcConfiguration: {
    subnets: ["subnet-1"],
    securityGroups: ["sg-1"],
    assignPublicIp: "DISABLED" as const,
  },
};

function taskDefinition(
  command: string[],
  extra: Partial<RegisterTaskDefinitionCommandInput> = {},
): RegisterTaskDefinitionCommandInput {
  return {
    family: "sim-test",
    networkMode: "awsvpc",
    requiresCompatibilities: ["FARGATE"],
    cpu: "256",
    memory: "512",
    containerDefinitions: [
      {
        name: "main",
        image: "busybox:1.36",
        essential: true,
        entryPoint: ["sh", "-c"],
        command,
        logConfiguration: {
          logDriver: "awslogs",
          options: {
            "awslogs-group": "/vn/test",
            "awslogs-region": "us-east-1",
            "awslogs-stream-prefix": "vn",
          },
        },
      },
    ],
    ...extra,
  };
}

async function run(
  command: string[],
  extra: Partial<RegisterTaskDefinitionCommandInput> = {},
): Promise<string> {
  const td = await ecs.send(new RegisterTaskDefinitionCommand(taskDefinition(command, extra)));
  const out = await ecs.send(
    new RunTaskCommand({
      cluster: "vn-test",
      taskDefinition: td.taskDefinition?.taskDefinitionArn ?? "",
      launchType: "FARGATE",
      networkConfiguration: network,
      startedBy: "vn-sim",
    }),
  );
  return out.tasks?.[0]?.taskArn ?? "";
}

async function describe1(arn: string) {
  const out = await ecs.send(new DescribeTasksCommand({ cluster: "vn-test", tasks: [arn] }));
  const task = out.tasks?.[0];
  if (task === undefined) throw new Error("task missing");
  return task;
}

beforeAll(async () => {
  sim = await startAwsSimulator({ clock });
  ecs = new ECSClient(sim.clientConfig());
});

afterAll(async () => {
  ecs.destroy();
  await sim.close();
});

beforeEach(() => {
  sim.violations.length = 0;
});

describe("ECS simulator: schema validation", () => {
  it("rejects a wrong enum and a missing required member, and records them", async () => {
    const bad = {
      ...taskDefinition(["exit 0"]),
      networkMode: "bridged",
    } as unknown as RegisterTaskDefinitionCommandInput;
    const error = await ecs.send(new RegisterTaskDefinitionCommand(bad)).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(error?.name).toBe("InvalidParameterException");
    expect(sim.violations.map((v) => [v.path, v.kind])).toEqual([["networkMode", "enum"]]);
    sim.violations.length = 0;
    await ecs.send(new RunTaskCommand({ cluster: "vn-test" } as never)).catch((e: unknown) => e);
    expect(sim.violations).toEqual([expect.objectContaining({ path: "taskDefinition", kind: "required" })]);
  });

  it("rejects an unknown member (the SDK drops them, so this goes on the wire by hand)", async () => {
    const response = await fetch(sim.url, {
      method: "POST",
      headers: {
        "content-type": "application/x-amz-json-1.1",
        "x-amz-target": "AmazonEC2ContainerServiceV20141113.ListTasks",
        authorization: "AWS4-HMAC-SHA256 Credential=AKIDSIMULATOR/20240101/us-east-1/ecs/aws4_request",
      },
      body: JSON.stringify({ cluster: "vn-test", notAMember: 1 }),
    });
    expect(response.status).toBe(400);
    expect(((await response.json()) as { __type: string }).__type).toBe("InvalidParameterException");
    expect(sim.violations).toEqual([expect.objectContaining({ path: "notAMember", kind: "unknown" })]);
  });

  it("rejects a wrong type deep in the request", async () => {
    const bad = taskDefinition(["exit 0"]);
    (bad.containerDefinitions?.[0] as Record<string, unknown>).portMappings = [
      { containerPort: "80", protocol: "tcp" },
    ];
    await ecs.send(new RegisterTaskDefinitionCommand(bad)).catch((e: unknown) => e);
    expect(sim.violations).toEqual([
      expect.objectContaining({
        path: "containerDefinitions[0].portMappings[0].containerPort",
        kind: "type",
      }),
    ]);
  });

  it("rejects more than 100 tasks in DescribeTasks (the SDK does not)", async () => {
    const tasks = Array.from({ length: 101 }, (_, i) => `t${i}`);
    const error = await ecs
      .send(new DescribeTasksCommand({ cluster: "vn-test", tasks }))
      .catch((e: unknown) => e as Error);
    expect((error as Error).name).toBe("InvalidParameterException");
  });

  it("rejects a task size Fargate does not offer", async () => {
    const error = await ecs
      .send(new RegisterTaskDefinitionCommand(taskDefinition(["exit 0"], { cpu: "256", memory: "4096" })))
      .catch((e: unknown) => e as Error);
    expect((error as Error).name).toBe("ClientException");
    expect((error as Error).message).toMatch(/No Fargate configuration/);
    expect(sim.violations).toEqual([]);
  });

  it("validates Logs and Secrets Manager requests against the SDK's own schemas", async () => {
    const logs = new CloudWatchLogsClient(sim.clientConfig());
    const error = await logs
      .send(new GetLogEventsCommand({ logGroupName: "/x" } as never))
      .catch((e: unknown) => e as Error);
    expect((error as Error).name).toBe("InvalidParameterException");
    expect(sim.violations).toEqual([expect.objectContaining({ path: "logStreamName", kind: "required" })]);
    sim.violations.length = 0;
    const sm = new SecretsManagerClient(sim.clientConfig());
    const created = await sm.send(new CreateSecretCommand({ Name: "a/b", SecretString: "{}" }));
    expect(created.ARN).toMatch(/^arn:aws:secretsmanager:us-east-1:\d+:secret:a\/b-/);
    expect(sim.violations).toEqual([]);
    logs.destroy();
    sm.destroy();
  });
});

describe("ECS simulator: task state machine", () => {
  it("moves a task PROVISIONING → PENDING → ACTIVATING → RUNNING → STOPPED with the exit code", async () => {
    const arn = await run(["echo hello; sleep 5; exit 3"]);
    expect((await describe1(arn)).lastStatus).toBe("PROVISIONING");
    clock.advance(1000);
    expect((await describe1(arn)).lastStatus).toBe("PENDING");
    clock.advance(1000);
    expect((await describe1(arn)).lastStatus).toBe("ACTIVATING");
    clock.advance(500);
    const running = await describe1(arn);
    expect(running.lastStatus).toBe("RUNNING");
    expect(running.containers?.[0]?.networkInterfaces?.[0]?.privateIpv4Address).toMatch(/^10\.0\./);
    clock.advance(5000);
    expect((await describe1(arn)).lastStatus).toBe("DEACTIVATING");
    clock.advance(1000);
    const stopped = await describe1(arn);
    expect(stopped.lastStatus).toBe("STOPPED");
    expect(stopped.stopCode).toBe("EssentialContainerExited");
    expect(stopped.containers?.[0]?.exitCode).toBe(3);
    expect(stopped.stoppedAt).toBeInstanceOf(Date);
    const logs = new CloudWatchLogsClient(sim.clientConfig());
    const events = await logs.send(
      new GetLogEventsCommand({
        logGroupName: "/vn/test",
        logStreamName: `vn/main/${arn.split("/").at(-1) ?? ""}`,
      }),
    );
    expect(events.events?.map((e) => e.message)).toEqual(["hello"]);
    logs.destroy();
    expect(sim.violations).toEqual([]);
  });

  it("fails a task whose image cannot be pulled, with TaskFailedToStart", async () => {
    sim.ecs.faults.pullFailImages.add("nope:1");
    const td = taskDefinition(["exit 0"]);
    const container = td.containerDefinitions?.[0];
    if (container !== undefined) container.image = "nope:1";
    const reg = await ecs.send(new RegisterTaskDefinitionCommand(td));
    const out = await ecs.send(
      new RunTaskCommand({
        cluster: "vn-test",
        taskDefinition: reg.taskDefinition?.taskDefinitionArn ?? "",
        launchType: "FARGATE",
        networkConfiguration: network,
      }),
    );
    clock.advance(10_000);
    const task = await describe1(out.tasks?.[0]?.taskArn ?? "");
    expect(task.lastStatus).toBe("STOPPED");
    expect(task.stopCode).toBe("TaskFailedToStart");
    expect(task.stoppedReason).toMatch(/^CannotPullContainerError/);
  });

  it("stops a task on StopTask with the reason and SIGTERM exit code", async () => {
    const arn = await run(["sleep 86400"]);
    clock.advance(3000);
    await ecs.send(new StopTaskCommand({ cluster: "vn-test", task: arn, reason: "pod deleted" }));
    clock.advance(1000);
    const task = await describe1(arn);
    expect(task.lastStatus).toBe("STOPPED");
    expect(task.stopCode).toBe("UserInitiated");
    expect(task.stoppedReason).toBe("pod deleted");
    expect(task.containers?.[0]?.exitCode).toBe(143);
  });

  it("returns the same task for a repeated clientToken", async () => {
    const reg = await ecs.send(new RegisterTaskDefinitionCommand(taskDefinition(["sleep 60"])));
    const input = {
      cluster: "vn-test",
      taskDefinition: reg.taskDefinition?.taskDefinitionArn ?? "",
      launchType: "FARGATE" as const,
      networkConfiguration: network,
      clientToken: "token-1",
    };
    const a = await ecs.send(new RunTaskCommand(input));
    const b = await ecs.send(new RunTaskCommand(input));
    expect(b.tasks?.[0]?.taskArn).toBe(a.tasks?.[0]?.taskArn);
  });

  it("pages ListTasks with nextToken and filters by startedBy", async () => {
    for (let i = 0; i < 5; i++) await run(["sleep 600"]);
    const arns: string[] = [];
    for await (const page of paginateListTasks(
      { client: ecs, pageSize: 2 },
      { cluster: "vn-test", startedBy: "vn-sim", maxResults: 2 },
    )) {
      arns.push(...(page.taskArns ?? []));
    }
    const all = await ecs.send(new ListTasksCommand({ cluster: "vn-test", startedBy: "vn-sim" }));
    expect(arns.length).toBe(all.taskArns?.length);
    expect(arns.length).toBeGreaterThanOrEqual(5);
  });

  it("answers a planned throttle with ThrottlingException (HTTP 400)", async () => {
    sim.throttle("ListTasks", 1);
    const error = await ecs
      .send(new ListTasksCommand({ cluster: "vn-test" }))
      .catch((e: unknown) => e as Error);
    expect((error as Error).name).toBe("ThrottlingException");
    expect((error as { $metadata: { httpStatusCode: number } }).$metadata.httpStatusCode).toBe(400);
  });
});

describe("readScript", () => {
  it.each([
    [["sh", "-c", "exit 0"], { runMs: 0, exitCode: 0 }],
    [["sh", "-c", "echo a; sleep 2; exit 1"], { runMs: 2000, exitCode: 1 }],
    [["sleep", "10"], { runMs: Infinity, exitCode: 0 }],
  ])("%j", (argv, expected) => {
    expect(readScript(undefined, argv)).toMatchObject(expected);
  });
});
