/**
 * The SSM Parameter Store mirror (`secretMirroring.store: "ssm"`): names and limits (pure), the
 * mapping's `valueFrom`, option validation, and the provider through the real `SSMClient` against
 * the simulator (every SSM request validated against the botocore SSM model).
 */
import { ECSClient, StopTaskCommand } from "@aws-sdk/client-ecs";
import { DeleteParametersCommand, PutParameterCommand, SSMClient } from "@aws-sdk/client-ssm";
import { FakeClock, errorCode } from "@virtual-node/core";
import type { ResolvedPod } from "@virtual-node/core";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createFargateProvider, mapPodToTask, planSecretMirrors, ssmParameters } from "../src/index.js";
import type { FargateProvider } from "../src/index.js";
import {
  SSM_MAX_LEAF,
  SSM_MAX_NAME,
  SSM_VALUE_LIMITS,
  checkSsmName,
  partitionAndAccount,
  ssmGroupOf,
  ssmLeaf,
  ssmParameterArn,
  ssmPodGroup,
  ssmSecretGroup,
} from "../src/ssm-names.js";
import { startAwsSimulator } from "./simulator/server.js";
import type { AwsSimulator } from "./simulator/server.js";
import { fileVolume, pod, secretEnv, testOptions } from "./support/pods.js";
import { simulatorOptions, simulatorProvider } from "./support/provider.js";

const ssmOptions = testOptions({ secretMirroring: { store: "ssm" } });

function failure(fn: () => unknown): Error & { code?: string; field?: string } {
  try {
    fn();
  } catch (e) {
    return e as Error & { code?: string; field?: string };
  }
  throw new Error("expected a failure");
}

describe("SSM names", () => {
  it.each([
    [
      "a Secret key",
      ssmSecretGroup("/virtual-node/", "vn-1", "default", "db"),
      "env",
      ["password"],
      "/virtual-node/vn-1/default/secret/db/env.password",
    ],
    [
      "a Secret file",
      ssmSecretGroup("/p/", "node.example.com", "team-a", "tls.certs"),
      "file",
      ["tls.crt"],
      "/p/node.example.com/team-a/secret/tls.certs/file.tls.crt",
    ],
  ] as const)("%s: readable hierarchy", (_what, group, kind, parts, name) => {
    const full = `${group}/${ssmLeaf(kind, ...parts)}`;
    expect(full).toBe(name);
    expect(ssmGroupOf(full)).toBe(group);
    expect(() => {
      checkSsmName(full, "f");
    }).not.toThrow();
  });

  it("a pod's own values live under its pod group with a UID hash", () => {
    const a = ssmPodGroup("/vn/", "node", { namespace: "ns", name: "web-0", uid: "uid-a" });
    const b = ssmPodGroup("/vn/", "node", { namespace: "ns", name: "web-0", uid: "uid-b" });
    expect(a).toMatch(/^\/vn\/node\/ns\/pod\/web-0-[0-9a-z]{10}$/);
    expect(a).not.toBe(b);
  });

  it("characters SSM refuses are replaced and the level gets a hash, so different names stay different", () => {
    const x = ssmLeaf("env", "main", "MY VAR");
    const y = ssmLeaf("env", "main", "MY_VAR");
    expect(x).toMatch(/^env\.main\.MY_VAR-[0-9a-z]{12}$/);
    expect(y).toBe("env.main.MY_VAR");
    expect(ssmLeaf("file", "v", "a/b")).not.toBe(ssmLeaf("file", "v", "a_b"));
  });

  it("the longest Kubernetes names stay readable; a group over the budget (long prefix) is hashed", () => {
    const [node, ns, secret] = ["n".repeat(253), "x".repeat(63), "s".repeat(253)];
    const readable = `${ssmSecretGroup("/virtual-node/", node, ns, secret)}/${ssmLeaf("env", "k".repeat(253))}`;
    expect(readable.startsWith(`/virtual-node/${node}/${ns}/secret/${secret}/env.kkk`)).toBe(true);
    expect(readable.length).toBeLessThanOrEqual(SSM_MAX_NAME);
    expect(ssmLeaf("env", "k".repeat(253)).length).toBeLessThanOrEqual(SSM_MAX_LEAF);
    const prefix = `/${"p".repeat(190)}/`;
    const group = ssmSecretGroup(prefix, node, ns, secret);
    expect(group).toMatch(new RegExp(`^${prefix}_h/x+-s+-[0-9a-z]{16}$`));
    const name = `${group}/${ssmLeaf("env", "k".repeat(253))}`;
    expect(name.length).toBeLessThanOrEqual(SSM_MAX_NAME);
    expect(() => {
      checkSsmName(name, "f");
    }).not.toThrow();
    const arn = ssmParameterArn(`${ssmSecretGroup(prefix, node, ns, secret)}/${"e".repeat(SSM_MAX_LEAF)}`, {
      partition: "aws-iso-b",
      region: "ap-southeast-5",
      account: "123456789012",
    });
    expect(arn.length).toBeLessThanOrEqual(1011);
    // Same inputs, same group; another Secret, another group.
    expect(ssmSecretGroup(prefix, node, ns, secret)).toBe(group);
    expect(ssmSecretGroup(prefix, node, ns, "t".repeat(253))).not.toBe(group);
  });

  it.each([
    ["no-slash", "must start with /"],
    ["/aws/x", "starts with aws or ssm"],
    ["/SSM-x/y", "starts with aws or ssm"],
    ["/a//b", "empty level"],
    ["/a/b c", "characters"],
    [`/${Array.from({ length: 16 }, () => "l").join("/")}`, "deeper than 15"],
    [`/${"a".repeat(SSM_MAX_NAME)}`, "longer than"],
  ])("checkSsmName rejects %s (%s)", (name, why) => {
    const error = failure(() => {
      checkSsmName(name, "spec.containers[0].env[X]");
    });
    expect(error.message).toContain(why);
    expect(error.field).toBe("spec.containers[0].env[X]");
  });

  it("ARN from the execution role's partition and account", () => {
    expect(partitionAndAccount("arn:aws-us-gov:iam::123456789012:role/exec")).toEqual({
      partition: "aws-us-gov",
      account: "123456789012",
    });
    expect(partitionAndAccount("role/exec")).toBeUndefined();
    expect(ssmParameterArn("/a/b", { partition: "aws", region: "eu-west-1", account: "123456789012" })).toBe(
      "arn:aws:ssm:eu-west-1:123456789012:parameter/a/b",
    );
  });
});

describe("mapping with the SSM store", () => {
  const value = "hunter2-ssm-secret";
  const secretPod = (): ResolvedPod =>
    pod({
      containers: [{ name: "main", volumeMounts: [{ name: "creds", mountPath: "/creds" }] }],
      env: { main: [secretEnv("DB_PASSWORD", "db", "password", value)] },
      volumes: [fileVolume("creds", "secret", { password: value }, "db")],
    });

  it("plans one parameter per value and references each by its ARN (no JSON key)", () => {
    const p = secretPod();
    const planned = planSecretMirrors(p, ssmOptions);
    expect(planned.map((v) => [v.mirror, v.jsonKey, v.field])).toEqual([
      [
        "/virtual-node/vn-fargate/default/secret/db/env.password",
        undefined,
        "spec.containers[0].env[DB_PASSWORD]",
      ],
      ["/virtual-node/vn-fargate/default/secret/db/file.password", undefined, "spec.volumes[0]"],
    ]);
    const arns = new Map(
      planned.map((v) => [v.mirror, `arn:aws:ssm:us-east-1:123456789012:parameter${v.mirror}`]),
    );
    const spec = mapPodToTask(p, { options: ssmOptions, secretArns: arns });
    const main = spec.taskDefinition.containerDefinitions?.find((c) => c.name === "main");
    expect(main?.secrets).toEqual([
      {
        name: "DB_PASSWORD",
        valueFrom:
          "arn:aws:ssm:us-east-1:123456789012:parameter/virtual-node/vn-fargate/default/secret/db/env.password",
      },
    ]);
    const writer = spec.taskDefinition.containerDefinitions?.find((c) => c.name !== "main");
    expect(writer?.secrets?.[0]?.valueFrom).toBe(
      "arn:aws:ssm:us-east-1:123456789012:parameter/virtual-node/vn-fargate/default/secret/db/file.password",
    );
    expect(JSON.stringify(spec)).not.toContain(value);
    expect(JSON.stringify(spec)).not.toContain(Buffer.from(value).toString("base64"));
  });

  it.each([
    ["Standard", SSM_VALUE_LIMITS.Standard],
    ["Advanced", SSM_VALUE_LIMITS.Advanced],
  ] as const)(
    "%s tier: a value of exactly %i bytes fits, one more byte rejects the pod naming the Secret key",
    (tier, limit) => {
      const make = (size: number) =>
        planSecretMirrors(
          pod({ env: { main: [secretEnv("BIG", "blob", "data", "x".repeat(size))] } }),
          ssmOptions,
        );
      expect(ssmParameters(make(limit), tier).size).toBe(1);
      const error = failure(() => ssmParameters(make(limit + 1), tier));
      expect(error.code).toBe("VN_INVALID_INPUT");
      expect(error.field).toBe("spec.containers[0].env[BIG]");
      expect(error.message).toContain("Secret default/blob key data");
      expect(error.message).toContain(`at most ${limit}`);
      expect(error.message).not.toContain("xxxx");
    },
  );

  it("a Secret file counts as its base64 form (3 KiB of bytes is 4 KiB stored)", () => {
    const p = pod({ volumes: [fileVolume("v", "secret", { "key.bin": "y".repeat(3073) }, "bin")] });
    const error = failure(() => ssmParameters(planSecretMirrors(p, ssmOptions)));
    expect(error.field).toBe("spec.volumes[0]");
    expect(error.message).toMatch(
      /Secret default\/bin key key\.bin \(file key\.bin of volume v, base64\) is 4100 bytes/,
    );
  });

  it("a pull-secret login cannot go to SSM: rejected naming the pull secret unless repositoryCredentials names a secret", () => {
    const make = () => {
      const p = pod({
        containers: [{ name: "main", image: "reg.example.com/app:1" }],
        spec: { imagePullSecrets: [{ name: "regcred" }] },
      });
      p.imagePullSecrets = [
        { server: "reg.example.com", username: "u", password: "pull-pw", secretName: "regcred" },
      ];
      return p;
    };
    expect(planSecretMirrors(make(), ssmOptions)).toEqual([]);
    const error = failure(() => mapPodToTask(make(), { options: ssmOptions, secretArns: new Map() }));
    expect(error.field).toBe("spec.imagePullSecrets[0]");
    expect(error.message).toContain("Secrets Manager only");
    expect(error.message).not.toContain("pull-pw");
    const arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:regcred-AbCdEf";
    const opts = testOptions({ secretMirroring: { store: "ssm" }, repositoryCredentials: { regcred: arn } });
    const spec = mapPodToTask(make(), { options: opts, secretArns: new Map() });
    expect(spec.taskDefinition.containerDefinitions?.[0]?.repositoryCredentials).toEqual({
      credentialsParameter: arn,
    });
  });
});

describe("secretMirroring options", () => {
  it.each([
    [{ store: "vault" }, "secretMirroring.store"],
    [{ store: "secretsmanager", tier: "Advanced" }, "secretMirroring.tier"],
    [{ store: "ssm", tier: "Premium" }, "secretMirroring.tier"],
    [{ store: "ssm", prefix: "virtual-node/" }, "secretMirroring.prefix"],
    [{ store: "ssm", prefix: "/aws/vn/" }, "secretMirroring.prefix"],
    [{ store: "ssm", prefix: "/a b/" }, "secretMirroring.prefix"],
    [
      { store: "ssm", prefix: `/${Array.from({ length: 11 }, () => "l").join("/")}/` },
      "secretMirroring.prefix",
    ],
    [{ store: "ssm", kmsKeyId: "key with spaces" }, "secretMirroring.kmsKeyId"],
  ])("rejects %j naming %s", (secretMirroring, field) => {
    const error = failure(() => testOptions({ secretMirroring: secretMirroring as never }));
    expect(errorCode(error)).toBe("VN_INVALID_INPUT");
    expect(error.field).toBe(field);
    expect(error.message).toContain(`FargateProviderOptions.${field}`);
  });

  it("accepts an SSM store with a path prefix, a KMS alias and the Advanced tier", () => {
    const opts = testOptions({
      secretMirroring: { store: "ssm", prefix: "/team/vn/", kmsKeyId: "alias/vn-secrets", tier: "Advanced" },
    });
    expect(opts.secretMirroring?.store).toBe("ssm");
  });
});

describe("the SSM mirror on the simulator, through the real SSM client", () => {
  const clock = new FakeClock();
  let sim: AwsSimulator;
  let provider: FargateProvider;
  const call = () => ({ signal: new AbortController().signal });
  const ssmExtra = { secretMirroring: { store: "ssm" as const, kmsKeyId: "alias/vn-test" } };

  beforeAll(async () => {
    sim = await startAwsSimulator({ clock });
    provider = simulatorProvider(sim, clock, ssmExtra);
  });
  afterAll(async () => {
    provider.close();
    await sim.close();
  });
  afterEach(() => {
    expect(sim.violations).toEqual([]);
  });

  async function phaseOf(p: ResolvedPod, want: string): Promise<void> {
    for (let i = 0; i < 400; i++) {
      const status = await provider.getPodStatus(p.ref, call());
      if (status?.phase === want) return;
      await clock.advanceAsync(500);
    }
    throw new Error(`pod never reached ${want}`);
  }

  /** Runs `work` while the fake clock moves on (the SSM limiters, 5/s, wait on it). */
  async function settle<T>(work: Promise<T>): Promise<T> {
    let done = false;
    const finished = work.finally(() => {
      done = true;
    });
    while (!done) await clock.advanceAsync(100);
    return finished;
  }

  const dbParams = () => [...sim.ssm.parameters.keys()].filter((n) => n.includes("/default/secret/db/"));

  it("mirrors env and files as tagged SecureString parameters, ECS resolves their ARNs, no value in any ECS request", async () => {
    const value = "correct-horse-ssm-staple";
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
    expect(dbParams().sort()).toEqual([
      "/virtual-node/vn-fargate/default/secret/db/env.password",
      "/virtual-node/vn-fargate/default/secret/db/file.password",
    ]);
    const env = sim.ssm.parameters.get("/virtual-node/vn-fargate/default/secret/db/env.password");
    expect(env).toMatchObject({ type: "SecureString", tier: "Standard", keyId: "alias/vn-test", value });
    expect(sim.ssm.tagsOf(env?.name ?? "")).toEqual([{ Key: "virtual-node-node", Value: "vn-fargate" }]);
    // The second pod found the values unchanged: no second write.
    expect(sim.calls("PutParameter")).toHaveLength(2);
    await phaseOf(a, "Running");
    const registered = sim.calls("RegisterTaskDefinition").at(-1)?.body as {
      containerDefinitions: { name: string; secrets?: { valueFrom: string }[] }[];
    };
    const main = registered.containerDefinitions.find((c) => c.name === "main");
    expect(main?.secrets?.[0]?.valueFrom).toBe(
      sim.ssm.arnOf("/virtual-node/vn-fargate/default/secret/db/env.password"),
    );
    for (const r of sim.requests.filter((r) => r.service !== "ssm")) {
      expect(r.raw).not.toContain(value);
      expect(r.raw).not.toContain(Buffer.from(value).toString("base64"));
    }
    await provider.deletePod(a.ref, 0, call());
    expect(dbParams()).toHaveLength(2);
    await provider.deletePod(b.ref, 0, call());
    expect(dbParams()).toHaveLength(0);
  });

  it("a changed Secret value is written with Overwrite and without Tags (SSM refuses both together)", async () => {
    const make = (v: string) =>
      pod({
        containers: [{ name: "main", command: ["sleep", "3600"] }],
        env: { main: [secretEnv("TOKEN", "rotating", "token", v)] },
      });
    const first = make("token-v1");
    await provider.createPod(first, call());
    const second = make("token-v2");
    await provider.createPod(second, call());
    const name = "/virtual-node/vn-fargate/default/secret/rotating/env.token";
    expect(sim.ssm.valueOf(name)).toBe("token-v2");
    const last = sim.calls("PutParameter").at(-1)?.body as Record<string, unknown>;
    expect(last).toMatchObject({ Name: name, Overwrite: true, Type: "SecureString" });
    expect(last.Tags).toBeUndefined();
    await provider.deletePod(first.ref, 0, call());
    await provider.deletePod(second.ref, 0, call());
    expect(sim.ssm.parameters.has(name)).toBe(false);
  });

  it("a parameter left by an earlier run is overwritten, then tagged with AddTagsToResource", async () => {
    const name = "/virtual-node/vn-fargate/default/secret/older/env.key";
    const client = new SSMClient(sim.clientConfig());
    await client.send(new PutParameterCommand({ Name: name, Value: "stale", Type: "SecureString" }));
    client.destroy();
    const p = pod({
      containers: [{ name: "main", command: ["sleep", "3600"] }],
      env: { main: [secretEnv("K", "older", "key", "fresh")] },
    });
    const fresh = simulatorProvider(sim, clock, ssmExtra);
    await fresh.createPod(p, call());
    expect(sim.ssm.valueOf(name)).toBe("fresh");
    expect(sim.ssm.tagsOf(name)).toEqual([{ Key: "virtual-node-node", Value: "vn-fargate" }]);
    expect(sim.calls("AddTagsToResource").at(-1)?.body).toEqual({
      ResourceType: "Parameter",
      ResourceId: name,
      Tags: [{ Key: "virtual-node-node", Value: "vn-fargate" }],
    });
    await fresh.deletePod(p.ref, 0, call());
    expect(sim.ssm.parameters.has(name)).toBe(false);
    fresh.close();
  });

  it("deletes the last user's parameters with DeleteParameters, 10 names a call", async () => {
    const env = Array.from({ length: 12 }, (_, i) => secretEnv(`K${i}`, "many", `key-${i}`, `value-${i}`));
    const p = pod({ containers: [{ name: "main", command: ["sleep", "3600"] }], env: { main: env } });
    await settle(provider.createPod(p, call()));
    const many = () => [...sim.ssm.parameters.keys()].filter((n) => n.includes("/secret/many/"));
    expect(many()).toHaveLength(12);
    const before = sim.calls("DeleteParameters").length;
    await settle(provider.deletePod(p.ref, 0, call()));
    const batches = sim
      .calls("DeleteParameters")
      .slice(before)
      .map((r) => (r.body.Names as string[]).length);
    expect(batches).toEqual([10, 2]);
    expect(many()).toHaveLength(0);
  });

  it("sweeps the node's unused parameters by tag over several DescribeParameters pages, leaving other nodes' and used ones", async () => {
    const client = new SSMClient(sim.clientConfig());
    for (let i = 0; i < 60; i++) {
      await client.send(
        new PutParameterCommand({
          Name: `/virtual-node/vn-fargate/default/secret/left-behind/env.k${i}`,
          Value: "x",
          Type: "SecureString",
          Tags: [{ Key: "virtual-node-node", Value: "vn-fargate" }],
        }),
      );
    }
    const theirs = "/virtual-node/vn-other/default/secret/left-behind/env.k0";
    await client.send(
      new PutParameterCommand({
        Name: theirs,
        Value: "x",
        Type: "SecureString",
        Tags: [{ Key: "virtual-node-node", Value: "vn-other" }],
      }),
    );
    client.destroy();
    const keep = pod({
      containers: [{ name: "main", command: ["sleep", "3601"] }],
      env: { main: [secretEnv("T", "keep", "token", "keep-me")] },
    });
    await settle(provider.createPod(keep, call()));
    // A task that stops behind the agent's back leaves its parameters too.
    const gone = pod({
      containers: [{ name: "main", command: ["sleep", "3602"] }],
      env: { main: [secretEnv("T", "gone", "token", "gone")] },
    });
    await settle(provider.createPod(gone, call()));
    const ecs = new ECSClient(sim.clientConfig());
    const arn = [...sim.ecs.tasks.values()].find((t) =>
      t.tags.some((tag) => tag.value === gone.ref.uid),
    )?.arn;
    await ecs.send(new StopTaskCommand({ cluster: "vn-test", task: arn, reason: "stopped in the console" }));
    ecs.destroy();
    const restarted = simulatorProvider(sim, clock, { ...ssmExtra, mirrorSweepIntervalMs: 1 });
    await clock.advanceAsync(5_000);
    const pages = sim.calls("DescribeParameters").length;
    await settle(restarted.listPods("vn-fargate", call()));
    expect(sim.calls("DescribeParameters").length - pages).toBeGreaterThanOrEqual(2);
    const left = [...sim.ssm.parameters.keys()];
    expect(left.filter((n) => n.includes("/vn-fargate/default/secret/left-behind/"))).toEqual([]);
    expect(left.filter((n) => n.includes("/secret/gone/"))).toEqual([]);
    expect(left).toContain("/virtual-node/vn-fargate/default/secret/keep/env.token");
    expect(left).toContain(theirs);
    restarted.close();
  });

  it("rejects a pod whose Secret value is over the tier's limit before any AWS write, naming the key", async () => {
    const p = pod({ env: { main: [secretEnv("BIG", "huge", "blob", "z".repeat(5000))] } });
    const runs = sim.calls("RunTask").length;
    const puts = sim.calls("PutParameter").length;
    const error = await provider.createPod(p, call()).catch((e: unknown) => e);
    expect(errorCode(error)).toBe("VN_INVALID_INPUT");
    expect((error as Error).message).toContain("Secret default/huge key blob (env BIG) is 5000 bytes");
    expect(sim.calls("RunTask")).toHaveLength(runs);
    expect(sim.calls("PutParameter")).toHaveLength(puts);
    const advanced = createFargateProvider(
      simulatorOptions(sim, clock, { secretMirroring: { store: "ssm", tier: "Advanced" } }),
    );
    await advanced.createPod(p, call());
    expect(sim.ssm.parameters.get("/virtual-node/vn-fargate/default/secret/huge/env.blob")?.tier).toBe(
      "Advanced",
    );
    await advanced.deletePod(p.ref, 0, call());
    advanced.close();
  });
});

describe("the SSM simulator holds requests to the service's rules", () => {
  let sim: AwsSimulator;
  beforeAll(async () => {
    sim = await startAwsSimulator();
  });
  afterAll(async () => {
    await sim.close();
  });

  it("refuses what SSM refuses: Tags with Overwrite, more than 10 names to DeleteParameters, oversized values, reserved names", async () => {
    const client = new SSMClient(sim.clientConfig());
    const reject = async (send: () => Promise<unknown>): Promise<string> => {
      const error = (await send().then(
        () => undefined,
        (e: unknown) => e,
      )) as { name?: string } | undefined;
      return error?.name ?? "accepted";
    };
    const tags = [{ Key: "virtual-node-node", Value: "vn" }];
    await client.send(
      new PutParameterCommand({ Name: "/t/a", Value: "1", Type: "SecureString", Tags: tags }),
    );
    const put = (input: ConstructorParameters<typeof PutParameterCommand>[0]) => () =>
      client.send(new PutParameterCommand(input));
    expect(await reject(put({ Name: "/t/a", Value: "2", Overwrite: true, Tags: tags }))).toBe(
      "ValidationException",
    );
    expect(await reject(put({ Name: "/t/a", Value: "2" }))).toBe("ParameterAlreadyExists");
    expect(await reject(put({ Name: "/t/big", Value: "x".repeat(4097) }))).toBe("ValidationException");
    expect(await reject(put({ Name: "/aws/x", Value: "1" }))).toBe("ValidationException");
    const names = Array.from({ length: 11 }, (_, i) => `/t/n${i}`);
    expect(await reject(() => client.send(new DeleteParametersCommand({ Names: names })))).toBe(
      "ValidationException",
    );
    // The last one broke the botocore model (ParameterNameList max 10): recorded as a violation.
    expect(sim.violations.map((v) => [v.operation, v.path, v.kind])).toEqual([
      ["DeleteParameters", "Names", "max"],
    ]);
    sim.violations.length = 0;
    client.destroy();
  });

  it("a failing SSM write surfaces as a typed error with the AWS code, never with the value", async () => {
    const clock = new FakeClock();
    const provider = simulatorProvider(sim, clock, { secretMirroring: { store: "ssm" } });
    sim.fail("PutParameter", "AccessDeniedException", "User is not authorized to perform ssm:PutParameter");
    const p = pod({ env: { main: [secretEnv("PW", "denied", "pw", "do-not-leak-me")] } });
    const error = await provider
      .createPod(p, { signal: new AbortController().signal })
      .catch((e: unknown) => e);
    expect(errorCode(error)).toBe("VN_PERMANENT");
    expect((error as Error).message).toBe(
      "AccessDeniedException: User is not authorized to perform ssm:PutParameter",
    );
    expect(sim.calls("RunTask")).toHaveLength(0);
    for (const r of sim.requests.filter((r) => r.service === "ecs"))
      expect(r.raw).not.toContain("do-not-leak-me");
    expect(sim.violations).toEqual([]);
    provider.close();
  });
});
