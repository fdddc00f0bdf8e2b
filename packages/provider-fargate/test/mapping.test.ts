import { readFileSync } from "node:fs";
import { errorCode } from "@virtual-node/core";
import { describe, expect, it } from "vitest";
import {
  FILE_WRITER_CONTAINER,
  FARGATE_CPU_MEMORY,
  FARGATE_SHAPES,
  FargateAnnotations,
  ROLES_TAG,
  mapPodToTask,
  mirrorDocuments,
  parseEfsVolumeHandle,
  parseRoles,
  planSecretMirrors,
  pullLoginFor,
  registryOf,
} from "../src/index.js";
import type { FargateTaskSpec } from "../src/index.js";
import { ECS_FIXTURES } from "./simulator/server.js";
import { fileVolume, pod, secretEnv, testOptions } from "./support/pods.js";
import type { PodParts } from "./support/pods.js";

const options = testOptions();

function map(parts: PodParts, arns = new Map<string, string>(), opts = options): FargateTaskSpec {
  return mapPodToTask(pod(parts), { options: opts, secretArns: arns });
}

function failure(fn: () => unknown): { code: string; field?: string; message: string } {
  try {
    fn();
  } catch (error) {
    return {
      code: errorCode(error),
      message: (error as Error).message,
      ...((error as { field?: string }).field === undefined
        ? {}
        : { field: (error as { field?: string }).field }),
    };
  }
  throw new Error("expected an error");
}

function container(spec: FargateTaskSpec, name: string) {
  const found = spec.taskDefinition.containerDefinitions?.find((c) => c.name === name);
  if (found === undefined) throw new Error(`no container ${name}`);
  return found;
}

describe("mapPodToTask: containers", () => {
  it("maps command → entryPoint, args → command, workingDir, ports, env, logs, stopTimeout, user", () => {
    const spec = map({
      containers: [
        {
          name: "web",
          image: "nginx:1.27",
          command: ["/docker-entrypoint.sh"],
          args: ["nginx", "-g", "daemon off;"],
          workingDir: "/srv",
          ports: [{ containerPort: 80 }, { containerPort: 53, protocol: "UDP" }],
          env: [{ name: "MODE", value: "prod" }],
          securityContext: {
            runAsUser: 1000,
            runAsGroup: 2000,
            readOnlyRootFilesystem: true,
            capabilities: { add: ["SYS_PTRACE"], drop: ["ALL"] },
          },
        },
      ],
      spec: { terminationGracePeriodSeconds: 600 },
    });
    const web = container(spec, "web");
    expect(web).toMatchObject({
      image: "nginx:1.27",
      essential: true,
      entryPoint: ["/docker-entrypoint.sh"],
      command: ["nginx", "-g", "daemon off;"],
      workingDirectory: "/srv",
      portMappings: [
        { containerPort: 80, hostPort: 80, protocol: "tcp" },
        { containerPort: 53, hostPort: 53, protocol: "udp" },
      ],
      environment: [{ name: "MODE", value: "prod" }],
      user: "1000:2000",
      readonlyRootFilesystem: true,
      linuxParameters: { capabilities: { add: ["SYS_PTRACE"], drop: ["ALL"] } },
      stopTimeout: 120,
      logConfiguration: {
        logDriver: "awslogs",
        options: {
          "awslogs-group": "/vn/test",
          "awslogs-region": "us-east-1",
          "awslogs-stream-prefix": "vn",
        },
      },
    });
    expect(spec.taskDefinition).toMatchObject({
      networkMode: "awsvpc",
      requiresCompatibilities: ["FARGATE"],
      cpu: "256",
      memory: "512",
      executionRoleArn: "arn:aws:iam::123456789012:role/vn-exec",
      runtimePlatform: { cpuArchitecture: "X86_64", operatingSystemFamily: "LINUX" },
    });
  });

  it("runs init containers in order (SUCCESS), sidecars with START, or HEALTHY with a health check", () => {
    const spec = map({
      initContainers: [
        { name: "migrate", command: ["sh", "-c", "exit 0"] },
        { name: "proxy", restartPolicy: "Always", command: ["sleep", "inf"] },
        { name: "agent", restartPolicy: "Always", readinessProbe: { exec: { command: ["true"] } } },
        { name: "seed", command: ["sh", "-c", "exit 0"] },
      ],
    });
    expect(container(spec, "migrate")).toMatchObject({ essential: false });
    expect(container(spec, "migrate").dependsOn).toBeUndefined();
    expect(container(spec, "proxy").dependsOn).toEqual([{ containerName: "migrate", condition: "SUCCESS" }]);
    expect(container(spec, "agent").dependsOn).toEqual([
      { containerName: "migrate", condition: "SUCCESS" },
      { containerName: "proxy", condition: "START" },
    ]);
    expect(container(spec, "seed").dependsOn).toEqual([
      { containerName: "migrate", condition: "SUCCESS" },
      { containerName: "proxy", condition: "START" },
      { containerName: "agent", condition: "HEALTHY" },
    ]);
    expect(container(spec, "main")).toMatchObject({
      essential: true,
      dependsOn: [
        { containerName: "seed", condition: "SUCCESS" },
        { containerName: "proxy", condition: "START" },
        { containerName: "agent", condition: "HEALTHY" },
      ],
    });
    const roles = parseRoles(spec.runTask.tags?.find((t) => t.key === ROLES_TAG)?.value);
    expect(roles).toEqual({ init: ["migrate", "seed"], sidecar: ["proxy", "agent"], health: ["agent"] });
  });

  it("turns an exec liveness probe into an ECS health check within ECS's bounds", () => {
    const spec = map({
      containers: [
        {
          name: "main",
          livenessProbe: {
            exec: { command: ["cat", "/tmp/ok"] },
            periodSeconds: 1,
            timeoutSeconds: 100,
            failureThreshold: 20,
          },
        },
      ],
    });
    expect(container(spec, "main").healthCheck).toEqual({
      command: ["CMD", "cat", "/tmp/ok"],
      interval: 5,
      timeout: 60,
      retries: 10,
      startPeriod: 0,
    });
  });

  it.each([
    [{ securityContext: { privileged: true } }, "spec.containers[0].securityContext.privileged"],
    [
      { securityContext: { capabilities: { add: ["NET_ADMIN"] } } },
      "spec.containers[0].securityContext.capabilities.add",
    ],
    [{ ports: [{ containerPort: 1, protocol: "SCTP" }] }, "spec.containers[0].ports[0].protocol"],
  ])("rejects %j naming %s", (extra, field) => {
    const error = failure(() => map({ containers: [{ name: "main", ...extra }] }));
    expect(error).toMatchObject({ code: "VN_UNSUPPORTED", field });
  });

  it.each([["hostNetwork"], ["hostPID"], ["hostIPC"]])("rejects %s", (key) => {
    expect(failure(() => map({ spec: { [key]: true } }))).toMatchObject({
      code: "VN_UNSUPPORTED",
      field: `spec.${key}`,
    });
  });

  it("rejects a pod without containers as invalid input", () => {
    const p = pod();
    p.containers = [];
    if (p.pod.spec) p.pod.spec.containers = [];
    expect(failure(() => mapPodToTask(p, { options, secretArns: new Map() })).code).toBe("VN_INVALID_INPUT");
  });

  it("puts imagePullSecrets → repositoryCredentials and the task role annotation → taskRoleArn", () => {
    const opts = testOptions({
      repositoryCredentials: {
        regcred: "arn:aws:secretsmanager:us-east-1:123456789012:secret:regcred-AbCdEf",
      },
    });
    const spec = map(
      {
        spec: { imagePullSecrets: [{ name: "regcred" }] },
        annotations: { [FargateAnnotations.taskRoleArn]: "arn:aws:iam::123456789012:role/app" },
      },
      new Map(),
      opts,
    );
    expect(container(spec, "main").repositoryCredentials).toEqual({
      credentialsParameter: "arn:aws:secretsmanager:us-east-1:123456789012:secret:regcred-AbCdEf",
    });
    expect(spec.taskDefinition.taskRoleArn).toBe("arn:aws:iam::123456789012:role/app");
  });
});

describe("mapPodToTask: secrets are never plain text", () => {
  const env = { main: [secretEnv("DB_PASSWORD", "db", "password", "hunter2-very-secret")] };

  it("rejects a Secret env var when no mirroring is configured, naming the field", () => {
    const error = failure(() => map({ env }));
    expect(error.code).toBe("VN_INVALID_INPUT");
    expect(error.field).toBe("spec.containers[0].env[DB_PASSWORD]");
    expect(error.message).not.toContain("hunter2");
  });

  it("references the mirrored secret by ARN and JSON key", () => {
    const p = pod({ env });
    const opts = testOptions({ secretMirroring: { store: "secretsmanager" } });
    const planned = planSecretMirrors(p, opts);
    expect(planned).toHaveLength(1);
    const docs = mirrorDocuments(planned);
    const [name, doc] = [...docs.entries()][0] ?? ["", {}];
    expect(doc).toEqual({ "e.password": "hunter2-very-secret" });
    const arn = `arn:aws:secretsmanager:us-east-1:123456789012:secret:${name}-AbCdEf`;
    const spec = mapPodToTask(p, { options: opts, secretArns: new Map([[name, arn]]) });
    expect(container(spec, "main").secrets).toEqual([
      { name: "DB_PASSWORD", valueFrom: `${arn}:e.password::` },
    ]);
    expect(JSON.stringify(spec)).not.toContain("hunter2");
  });

  it("registry of an image: host when the first segment looks like one, Docker Hub otherwise", () => {
    const cases: [string, string][] = [
      ["busybox:1.36", "docker.io"],
      ["library/nginx", "docker.io"],
      ["team/app:1", "docker.io"],
      ["reg.example.com/team/app:1", "reg.example.com"],
      ["localhost:5000/app", "localhost:5000"],
      ["localhost/app", "localhost"],
      [
        "123456789012.dkr.ecr.us-east-1.amazonaws.com/app@sha256:abc",
        "123456789012.dkr.ecr.us-east-1.amazonaws.com",
      ],
    ];
    for (const [image, registry] of cases) expect(registryOf(image), image).toBe(registry);
  });

  describe("imagePullSecrets → repositoryCredentials", () => {
    const PASSWORD = "pull-" + "hunter3";
    const withLogin = (server: string, image = "reg.example.com/app:1") => {
      const p = pod({
        containers: [{ name: "main", image }],
        spec: { imagePullSecrets: [{ name: "gone" }, { name: "regcred" }] },
      });
      p.imagePullSecrets = [{ server, username: "puller", password: PASSWORD, secretName: "regcred" }];
      return p;
    };
    const mirroring = testOptions({ secretMirroring: { store: "secretsmanager" } });

    it("the login for the image's registry is mirrored on its own as {username, password} and referenced by ARN", () => {
      const p = withLogin("https://reg.example.com/v2/");
      expect(pullLoginFor(p, "reg.example.com/app:1")?.secretName).toBe("regcred");
      const docs = mirrorDocuments(planSecretMirrors(p, mirroring));
      expect([...docs.values()]).toEqual([{ username: "puller", password: PASSWORD }]);
      const [name] = [...docs.keys()];
      const arn = `arn:aws:secretsmanager:us-east-1:123456789012:secret:${name ?? ""}-AbCdEf`;
      const spec = mapPodToTask(p, { options: mirroring, secretArns: new Map([[name ?? "", arn]]) });
      expect(container(spec, "main").repositoryCredentials).toEqual({ credentialsParameter: arn });
      expect(JSON.stringify(spec)).not.toContain(PASSWORD);
    });

    it("Docker Hub logins match short image names; other registries' logins are not used", () => {
      expect(pullLoginFor(withLogin("https://index.docker.io/v1/"), "busybox:1.36")?.username).toBe("puller");
      const p = withLogin("other.example.com");
      expect(planSecretMirrors(p, mirroring)).toEqual([]);
      expect(
        container(mapPodToTask(p, { options: mirroring, secretArns: new Map() }), "main")
          .repositoryCredentials,
      ).toBeUndefined();
    });

    it("without mirroring, a pod needing a login is rejected naming the pull secret, never inlined", () => {
      const error = failure(() =>
        mapPodToTask(withLogin("reg.example.com"), { options, secretArns: new Map() }),
      );
      expect(error.code).toBe("VN_INVALID_INPUT");
      expect(error.field).toBe("spec.imagePullSecrets[1]");
      expect(error.message).toMatch(/set secretMirroring, or repositoryCredentials\.regcred/);
      expect(error.message).not.toContain(PASSWORD);
    });
  });

  it("inlines a Secret only with the explicit allowPlainTextSecrets opt-in", () => {
    const spec = map({ env }, new Map(), testOptions({ allowPlainTextSecrets: true }));
    expect(container(spec, "main").environment).toEqual([
      { name: "DB_PASSWORD", value: "hunter2-very-secret" },
    ]);
  });
});

describe("mapPodToTask: volumes", () => {
  it("writes ConfigMap files with the file-writer init container into a shared bind mount", () => {
    const spec = map({
      containers: [{ name: "main", volumeMounts: [{ name: "cfg", mountPath: "/etc/app" }] }],
      volumes: [fileVolume("cfg", "configMap", { "app.conf": "port=80\n", "nested/x.txt": "x" })],
    });
    expect(spec.taskDefinition.volumes).toEqual([{ name: "cfg" }]);
    const writer = container(spec, FILE_WRITER_CONTAINER);
    expect(writer).toMatchObject({
      essential: false,
      image: options.fileWriterImage,
      entryPoint: ["sh", "-c"],
    });
    expect(writer.environment).toEqual([
      { name: "VN_FILE_0", value: Buffer.from("port=80\n").toString("base64") },
      { name: "VN_FILE_1", value: Buffer.from("x").toString("base64") },
    ]);
    expect(writer.command?.[0]).toContain(`base64 -d > '/vn-files/cfg/nested/x.txt'`);
    expect(container(spec, "main")).toMatchObject({
      mountPoints: [{ sourceVolume: "cfg", containerPath: "/etc/app", readOnly: true }],
      dependsOn: [{ containerName: FILE_WRITER_CONTAINER, condition: "SUCCESS" }],
    });
  });

  it("writes Secret files through the writer's secrets, never as plain values", () => {
    const p = pod({
      containers: [{ name: "main", volumeMounts: [{ name: "creds", mountPath: "/creds" }] }],
      volumes: [fileVolume("creds", "secret", { token: "s3cr3t-token-value" }, "creds")],
    });
    expect(failure(() => mapPodToTask(p, { options, secretArns: new Map() })).code).toBe("VN_INVALID_INPUT");
    const opts = testOptions({ secretMirroring: { store: "secretsmanager" } });
    const docs = mirrorDocuments(planSecretMirrors(p, opts));
    const [name, doc] = [...docs.entries()][0] ?? ["", {}];
    expect(doc).toEqual({ "f.token": Buffer.from("s3cr3t-token-value").toString("base64") });
    const spec = mapPodToTask(p, {
      options: opts,
      secretArns: new Map([[name, `arn:aws:secretsmanager:us-east-1:123456789012:secret:${name}-x`]]),
    });
    expect(container(spec, FILE_WRITER_CONTAINER).secrets?.[0]?.name).toBe("VN_FILE_0");
    expect(JSON.stringify(spec)).not.toContain("s3cr3t");
    expect(JSON.stringify(spec)).not.toContain(Buffer.from("s3cr3t-token-value").toString("base64"));
  });

  it("rejects file content over ECS's 64 KiB task definition limit", () => {
    const error = failure(() =>
      map({ volumes: [fileVolume("big", "configMap", { "blob.txt": "x".repeat(70_000) })] }),
    );
    expect(error.code).toBe("VN_INVALID_INPUT");
    expect(error.message).toMatch(/at most 65536/);
  });

  it("rejects a subPath mount", () => {
    const error = failure(() =>
      map({
        containers: [{ name: "main", volumeMounts: [{ name: "cfg", mountPath: "/x", subPath: "a" }] }],
        volumes: [fileVolume("cfg", "configMap", { a: "1" })],
      }),
    );
    expect(error).toMatchObject({
      code: "VN_UNSUPPORTED",
      field: "spec.containers[0].volumeMounts[0].subPath",
    });
  });

  const pvc = (driver: string, volumeHandle: string) => ({
    name: "data",
    kind: "persistentVolumeClaim",
    files: [],
    persistentVolume: {
      claimName: "data",
      volumeName: "pv-1",
      readOnly: false,
      accessModes: ["ReadWriteMany"],
      volumeMode: "Filesystem",
      csi: { driver, volumeHandle, volumeAttributes: {} },
    },
  });

  it.each([
    [
      "fs-0123abcd",
      {
        fileSystemId: "fs-0123abcd",
        rootDirectory: "/",
        transitEncryption: "ENABLED",
        authorizationConfig: { iam: "ENABLED" },
      },
    ],
    [
      "fs-0123abcd:/exports/app",
      {
        fileSystemId: "fs-0123abcd",
        rootDirectory: "/exports/app",
        transitEncryption: "ENABLED",
        authorizationConfig: { iam: "ENABLED" },
      },
    ],
    [
      "fs-0123abcd::fsap-0abc",
      {
        fileSystemId: "fs-0123abcd",
        transitEncryption: "ENABLED",
        authorizationConfig: { iam: "ENABLED", accessPointId: "fsap-0abc" },
      },
    ],
  ])("maps an EFS PVC %s to efsVolumeConfiguration", (handle, expected) => {
    const spec = map({
      containers: [{ name: "main", volumeMounts: [{ name: "data", mountPath: "/data" }] }],
      volumes: [pvc("efs.csi.aws.com", handle)],
    });
    expect(spec.taskDefinition.volumes).toEqual([{ name: "data", efsVolumeConfiguration: expected }]);
    expect(container(spec, "main").mountPoints).toEqual([
      { sourceVolume: "data", containerPath: "/data", readOnly: false },
    ]);
  });

  it("rejects a PVC on another CSI driver, naming the volume", () => {
    const error = failure(() => map({ volumes: [pvc("ebs.csi.aws.com", "vol-1")] }));
    expect(error).toMatchObject({ code: "VN_UNSUPPORTED", field: "spec.volumes[0].persistentVolumeClaim" });
    expect(error.message).toContain("ebs.csi.aws.com");
  });

  it("parses EFS volume handles", () => {
    expect(parseEfsVolumeHandle("fs-1a:/p:fsap-2")).toEqual({
      fileSystemId: "fs-1a",
      path: "/p",
      accessPointId: "fsap-2",
    });
    expect(parseEfsVolumeHandle("vol-1")).toBeUndefined();
  });
});

describe("mapPodToTask: task size", () => {
  const fixture = JSON.parse(readFileSync(`${ECS_FIXTURES}/fargate-task-cpu-memory.json`, "utf8")) as {
    combinations: { cpu: number; memoryMiB: number[]; os: string[] }[];
  };

  it("carries the documented Fargate table exactly", () => {
    expect(
      FARGATE_CPU_MEMORY.map((r) => ({ cpu: r.cpu, memoryMiB: [...r.memoryMiB], os: [...r.os] })),
    ).toEqual(fixture.combinations.map((r) => ({ cpu: r.cpu, memoryMiB: r.memoryMiB, os: r.os })));
  });

  it.each(FARGATE_SHAPES.map((s) => [s.name, s] as const))(
    "requests of exactly %s get that size",
    (_name, shape) => {
      const spec = map({
        containers: [
          {
            name: "main",
            resources: { requests: { cpu: String(shape.cpu), memory: `${shape.memoryMiB}Mi` } },
          },
        ],
      });
      expect([spec.taskDefinition.cpu, spec.taskDefinition.memory]).toEqual([
        String(shape.cpuUnits),
        String(shape.memoryMiB),
      ]);
    },
  );

  it.each([
    [{}, "256", "512"],
    [{ requests: { cpu: "100m", memory: "100Mi" } }, "256", "512"],
    [{ requests: { cpu: "250m", memory: "3Gi" } }, "512", "3072"],
    [{ limits: { cpu: "3", memory: "1Gi" } }, "4096", "8192"],
    [{ requests: { cpu: "1", memory: "8193Mi" } }, "2048", "9216"],
  ])("fits %j to %s/%s", (resources, cpu, memory) => {
    const spec = map({ containers: [{ name: "main", resources }] });
    expect([spec.taskDefinition.cpu, spec.taskDefinition.memory]).toEqual([cpu, memory]);
    expect(spec.size.name).toBe(`${cpu}/${memory}`);
  });

  it.each([[{ requests: { cpu: "17" } }], [{ requests: { memory: "121Gi" } }]])(
    "rejects an impossible size %j with the reason",
    (resources) => {
      const error = failure(() => map({ containers: [{ name: "main", resources }] }));
      expect(error.code).toBe("VN_INVALID_INPUT");
      expect(error.message).toMatch(/no Fargate task size fits/);
    },
  );

  it("sets container cpu/memory/memoryReservation from limits and requests", () => {
    const spec = map({
      containers: [
        {
          name: "main",
          resources: { requests: { memory: "256Mi" }, limits: { cpu: "500m", memory: "1Gi" } },
        },
      ],
    });
    expect(container(spec, "main")).toMatchObject({ cpu: 512, memory: 1024, memoryReservation: 256 });
  });

  it.each([
    ["10Gi", undefined],
    ["50Gi", 50],
    ["21Gi", 21],
  ])("ephemeral storage %s → %s GiB", (size, expected) => {
    const spec = map({
      containers: [{ name: "main", resources: { requests: { "ephemeral-storage": size } } }],
    });
    expect(spec.taskDefinition.ephemeralStorage?.sizeInGiB).toBe(expected);
  });

  it("rejects ephemeral storage over 200 GiB", () => {
    const error = failure(() =>
      map({ containers: [{ name: "main", resources: { requests: { "ephemeral-storage": "300Gi" } } }] }),
    );
    expect(error.code).toBe("VN_UNSUPPORTED");
  });
});

describe("mapPodToTask: shared task definitions and RunTask", () => {
  it("names the family by content: identical pods share it, a changed image does not", () => {
    const a = map({ name: "a", uid: "11111111-1111-1111-1111-111111111111" });
    const b = map({ name: "b", uid: "22222222-2222-2222-2222-222222222222" });
    const c = map({ containers: [{ name: "main", image: "busybox:1.37", command: ["sleep", "3600"] }] });
    expect(a.family).toBe(b.family);
    expect(a.family).not.toBe(c.family);
    expect(a.family).toMatch(/^vn-vn-fargate-[a-z0-9]{20}$/);
    expect(a.runTask.clientToken).not.toBe(b.runTask.clientToken);
    expect(a.runTask.clientToken?.length).toBeLessThanOrEqual(64);
  });

  it("tags the task with its pod and node, uses the node's startedBy and the network options", () => {
    const spec = map({ name: "web-1", uid: "33333333-3333-3333-3333-333333333333" });
    const tags: Record<string, string | undefined> = Object.fromEntries(
      (spec.runTask.tags ?? []).map((t) => [t.key ?? "", t.value]),
    );
    expect(tags).toMatchObject({
      "virtual-node-namespace": "default",
      "virtual-node-pod": "web-1",
      "virtual-node-uid": "33333333-3333-3333-3333-333333333333",
      "virtual-node-node": "vn-fargate",
    });
    expect(spec.runTask).toMatchObject({
      cluster: "vn-test",
      count: 1,
      launchType: "FARGATE",
      networkConfiguration: {
        awsvpcConfiguration: {
          subnets: ["subnet-0a1b2c"],
          securityGroups: ["sg-0a1b2c"],
          assignPublicIp: "DISABLED",
        },
      },
    });
    expect(spec.runTask.startedBy?.length).toBeLessThanOrEqual(36);
  });

  it("uses a capacity provider strategy (and a per-pod FARGATE_SPOT annotation) instead of the launch type", () => {
    const spot = map({ annotations: { [FargateAnnotations.capacityProvider]: "FARGATE_SPOT" } });
    expect(spot.runTask.capacityProviderStrategy).toEqual([{ capacityProvider: "FARGATE_SPOT", weight: 1 }]);
    expect(spot.runTask.launchType).toBeUndefined();
  });
});
