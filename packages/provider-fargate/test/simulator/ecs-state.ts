/**
 * The stateful part of the ECS simulator: clusters, task definitions and tasks on a clock.
 *
 * A task's life is decided when it is run (a timeline from its containers' commands), and its
 * view is computed from the clock on each read, so the same code works on a FakeClock and in
 * real time. Container commands are read the way the conformance suite and the e2e test write
 * them: `sh -c "echo hi; sleep 2; exit 3"` prints, waits and exits; a container without a shell
 * script runs until stopped.
 */
import { createHash, randomUUID } from "node:crypto";
import type { Clock } from "@virtual-node/core";

type Json = Record<string, unknown>;

/** An API error the simulator answers with (`__type` and message). */
export class SimError extends Error {
  constructor(
    readonly type: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

/** Timing of the simulated task life, in ms. */
export interface EcsTimings {
  provisionMs: number;
  pendingMs: number;
  activatingMs: number;
  /** From "essential container exited" or StopTask to STOPPED. */
  stoppingMs: number;
  /** How long STOPPED tasks stay visible (ECS: about an hour). */
  retentionMs: number;
  /** A container with a health check turns HEALTHY this long after it started. */
  healthyAfterMs: number;
}

const DEFAULT_TIMINGS: EcsTimings = {
  provisionMs: 1000,
  pendingMs: 1000,
  activatingMs: 500,
  stoppingMs: 1000,
  retentionMs: 3_600_000,
  healthyAfterMs: 1000,
};

/** What a container does, read from its command. */
interface Script {
  lines: string[];
  /** ms from start to exit; Infinity = until stopped. */
  runMs: number;
  exitCode: number;
}

const encoder = new TextEncoder();

/** Reads `sh -c "<script>"`: echo/printf lines, sleep N, exit N. Anything else is a no-op. */
export function readScript(entryPoint: string[] | undefined, command: string[] | undefined): Script {
  const argv = [...(entryPoint ?? []), ...(command ?? [])];
  const shell = argv.findIndex((a) => a === "-c");
  if (shell < 0 || argv[shell + 1] === undefined) return { lines: [], runMs: Infinity, exitCode: 0 };
  const script = argv.slice(shell + 1).join(" ");
  const out: Script = { lines: [], runMs: 0, exitCode: 0 };
  for (const raw of script.split(/;|&&|\n/)) {
    const statement = raw.trim();
    const echo = /^echo\s+(.*)$/.exec(statement);
    if (echo?.[1] !== undefined) out.lines.push(echo[1].replace(/^["']|["']$/g, ""));
    const sleep = /^sleep\s+(\d+(?:\.\d+)?)$/.exec(statement);
    if (sleep?.[1] !== undefined) out.runMs += Number(sleep[1]) * 1000;
    const exit = /^exit\s+(\d+)$/.exec(statement);
    if (exit?.[1] !== undefined) {
      out.exitCode = Number(exit[1]);
      return out;
    }
  }
  return out;
}

interface ContainerPlan {
  name: string;
  image: string;
  essential: boolean;
  script: Script;
  hasHealthCheck: boolean;
  dependsOn: { containerName: string; condition: string }[];
  logGroup?: string;
  logStream?: string;
  /** Computed: when it starts / exits (ms epoch), or undefined if it never starts. */
  startAt?: number;
  exitAt?: number;
  exitCode?: number;
  reason?: string;
}

/** A registered task definition revision. */
export interface TaskDefinitionRecord {
  arn: string;
  family: string;
  revision: number;
  status: "ACTIVE" | "INACTIVE" | "DELETE_IN_PROGRESS";
  request: Json;
  registeredAt: number;
  deregisteredAt?: number;
}

/** A task in the simulator. */
export interface TaskRecord {
  arn: string;
  id: string;
  clusterArn: string;
  taskDefinition: TaskDefinitionRecord;
  request: Json;
  createdAt: number;
  tags: { key: string; value: string }[];
  containers: ContainerPlan[];
  ip: string;
  /** Start failure decided at RunTask (image pull, secrets). */
  startFailure?: { stopCode: string; reason: string };
  stopRequestedAt?: number;
  stopReason?: string;
  stopCode?: string;
  capacityProvider: string;
}

/** Hooks other simulated services provide (secret existence, log sink). */
export interface EcsEnvironment {
  secretExists?: (valueFrom: string) => boolean;
  writeLog?: (group: string, stream: string, time: number, message: string) => void;
}

/** Failures the test can plan. */
export interface EcsFaults {
  /** Images whose pull fails (CannotPullContainerError). */
  pullFailImages: Set<string>;
  /** Task ARNs (or the next N RunTask calls) to interrupt as a Spot reclaim. */
  spotInterruptNext: number;
}

const ACCOUNT = "123456789012";

/** The ECS service state. */
export class EcsState {
  readonly clusters = new Map<string, { arn: string; name: string; status: string }>();
  readonly taskDefinitions = new Map<string, TaskDefinitionRecord>();
  readonly families = new Map<string, number>();
  readonly tasks = new Map<string, TaskRecord>();
  readonly clientTokens = new Map<string, { arn: string; fingerprint: string }>();
  readonly timings: EcsTimings;
  readonly faults: EcsFaults = { pullFailImages: new Set(), spotInterruptNext: 0 };
  #ipCounter = 10;

  constructor(
    readonly clock: Clock,
    readonly region: string,
    timings: Partial<EcsTimings> = {},
    readonly env: EcsEnvironment = {},
  ) {
    this.timings = { ...DEFAULT_TIMINGS, ...timings };
  }

  /** Adds an ACTIVE cluster (tests set up the account). */
  addCluster(name: string, status = "ACTIVE"): string {
    const arn = `arn:aws:ecs:${this.region}:${ACCOUNT}:cluster/${name}`;
    this.clusters.set(name, { arn, name, status });
    return arn;
  }

  #cluster(ref: unknown): { arn: string; name: string; status: string } {
    const given = typeof ref === "string" ? ref : "default";
    const name = given.includes(":cluster/") ? (given.split(":cluster/")[1] ?? "") : given;
    const cluster = this.clusters.get(name);
    if (cluster === undefined) throw new SimError("ClusterNotFoundException", "Cluster not found.");
    return cluster;
  }

  #taskDefinition(ref: string): TaskDefinitionRecord {
    const byArn = this.taskDefinitions.get(ref);
    if (byArn !== undefined) return byArn;
    const short = ref.includes(":task-definition/") ? (ref.split(":task-definition/")[1] ?? "") : ref;
    const [family, rev] = short.split(":");
    const revision = rev === undefined ? this.families.get(family ?? "") : Number(rev);
    const found = [...this.taskDefinitions.values()].find(
      (td) => td.family === family && td.revision === revision,
    );
    if (found === undefined) {
      throw new SimError("ClientException", "Unable to describe task definition.");
    }
    return found;
  }

  // ---- operations -------------------------------------------------------------------------

  describeClusters(body: Json): Json {
    const names = (body.clusters as string[] | undefined) ?? ["default"];
    const clusters: Json[] = [];
    const failures: Json[] = [];
    for (const ref of names) {
      try {
        const c = this.#cluster(ref);
        clusters.push({ clusterArn: c.arn, clusterName: c.name, status: c.status });
      } catch {
        failures.push({ arn: `arn:aws:ecs:${this.region}:${ACCOUNT}:cluster/${ref}`, reason: "MISSING" });
      }
    }
    return { clusters, failures };
  }

  registerTaskDefinition(body: Json): Json {
    const family = String(body.family);
    if (!/^[A-Za-z0-9_-]{1,255}$/.test(family)) {
      throw new SimError("ClientException", "Family contains invalid characters.");
    }
    const cpu = body.cpu as string | undefined;
    const memory = body.memory as string | undefined;
    if (cpu === undefined || memory === undefined) {
      throw new SimError("ClientException", "Fargate requires task definition to have cpu and memory.");
    }
    if (!isValidFargateSize(Number(cpu), Number(memory))) {
      throw new SimError(
        "ClientException",
        "No Fargate configuration exists for given values: " + `${cpu} CPU, ${memory} memory.`,
      );
    }
    if (body.networkMode !== "awsvpc") {
      throw new SimError("ClientException", "Fargate only supports network mode 'awsvpc'.");
    }
    const containers = body.containerDefinitions as Json[];
    for (const c of containers) {
      if (c.name === undefined || c.image === undefined) {
        throw new SimError(
          "ClientException",
          "Container.name and Container.image should not be null or empty.",
        );
      }
      if (c.privileged === true) {
        throw new SimError("ClientException", "Privileged mode is not supported on Fargate.");
      }
    }
    if (!containers.some((c) => c.essential !== false)) {
      throw new SimError("ClientException", "At least one essential container is required.");
    }
    const revision = (this.families.get(family) ?? 0) + 1;
    this.families.set(family, revision);
    const arn = `arn:aws:ecs:${this.region}:${ACCOUNT}:task-definition/${family}:${revision}`;
    const record: TaskDefinitionRecord = {
      arn,
      family,
      revision,
      status: "ACTIVE",
      request: body,
      registeredAt: this.clock.now(),
    };
    this.taskDefinitions.set(arn, record);
    return { taskDefinition: this.#taskDefinitionView(record), tags: body.tags ?? [] };
  }

  #taskDefinitionView(td: TaskDefinitionRecord): Json {
    const rest = { ...td.request };
    delete rest.tags;
    return {
      ...rest,
      taskDefinitionArn: td.arn,
      revision: td.revision,
      status: td.status,
      compatibilities: ["EC2", "FARGATE"],
      registeredAt: td.registeredAt / 1000,
      ...(td.deregisteredAt === undefined ? {} : { deregisteredAt: td.deregisteredAt / 1000 }),
    };
  }

  describeTaskDefinition(body: Json): Json {
    const td = this.#taskDefinition(String(body.taskDefinition));
    return { taskDefinition: this.#taskDefinitionView(td), tags: td.request.tags ?? [] };
  }

  deregisterTaskDefinition(body: Json): Json {
    const ref = String(body.taskDefinition);
    if (!ref.includes(":")) throw new SimError("ClientException", "A revision must be specified.");
    const td = this.#taskDefinition(ref);
    td.status = "INACTIVE";
    td.deregisteredAt = this.clock.now();
    return { taskDefinition: this.#taskDefinitionView(td) };
  }

  listTaskDefinitions(body: Json): Json {
    const prefix = body.familyPrefix as string | undefined;
    const status = (body.status as string | undefined) ?? "ACTIVE";
    const arns = [...this.taskDefinitions.values()]
      .filter((td) => td.status === status && (prefix === undefined || td.family === prefix))
      .map((td) => td.arn);
    return page(arns, body, "taskDefinitionArns", 100);
  }

  runTask(body: Json): Json {
    const cluster = this.#cluster(body.cluster);
    if (cluster.status !== "ACTIVE") throw new SimError("ClusterNotFoundException", "Cluster is not active.");
    if (body.launchType !== undefined && body.capacityProviderStrategy !== undefined) {
      throw new SimError(
        "InvalidParameterException",
        "Specifying both a launch type and capacity provider strategy is not supported.",
      );
    }
    const network = (body.networkConfiguration as Json | undefined)?.awsvpcConfiguration as Json | undefined;
    if (network === undefined) {
      throw new SimError(
        "InvalidParameterException",
        "Network Configuration must be provided when networkMode 'awsvpc' is specified.",
      );
    }
    const count = (body.count as number | undefined) ?? 1;
    if (count !== 1) throw new SimError("InvalidParameterException", "The simulator runs one task per call.");
    const td = this.#taskDefinition(String(body.taskDefinition));
    if (td.status !== "ACTIVE") {
      throw new SimError("ClientException", "TaskDefinition is inactive");
    }
    const token = body.clientToken as string | undefined;
    const fingerprint = createHash("sha256").update(JSON.stringify(body)).digest("hex");
    if (token !== undefined) {
      const seen = this.clientTokens.get(token);
      if (seen !== undefined) {
        if (seen.fingerprint !== fingerprint) {
          throw new SimError(
            "InvalidParameterException",
            "The client token is already in use with different parameters.",
          );
        }
        const task = this.tasks.get(seen.arn);
        return { tasks: task === undefined ? [] : [this.view(task)], failures: [] };
      }
    }
    const id = randomUUID().replace(/-/g, "");
    const arn = `arn:aws:ecs:${this.region}:${ACCOUNT}:task/${cluster.name}/${id}`;
    const now = this.clock.now();
    const strategy = body.capacityProviderStrategy as { capacityProvider: string }[] | undefined;
    const task: TaskRecord = {
      arn,
      id,
      clusterArn: cluster.arn,
      taskDefinition: td,
      request: body,
      createdAt: now,
      tags: (body.tags as { key: string; value: string }[] | undefined) ?? [],
      containers: this.#plan(td, id),
      ip: `10.0.${Math.floor(this.#ipCounter / 250)}.${(this.#ipCounter++ % 250) + 2}`,
      capacityProvider: strategy?.[0]?.capacityProvider ?? "FARGATE",
    };
    this.#decideStartFailure(task);
    this.#schedule(task);
    this.tasks.set(arn, task);
    if (token !== undefined) this.clientTokens.set(token, { arn, fingerprint });
    return { tasks: [this.view(task)], failures: [] };
  }

  #plan(td: TaskDefinitionRecord, taskId: string): ContainerPlan[] {
    const defs = td.request.containerDefinitions as Json[];
    return defs.map((c) => {
      const log = c.logConfiguration as { logDriver: string; options?: Record<string, string> } | undefined;
      const group = log?.logDriver === "awslogs" ? log.options?.["awslogs-group"] : undefined;
      const prefix = log?.options?.["awslogs-stream-prefix"];
      const plan: ContainerPlan = {
        name: String(c.name),
        image: String(c.image),
        essential: c.essential !== false,
        script: readScript(c.entryPoint as string[] | undefined, c.command as string[] | undefined),
        hasHealthCheck: c.healthCheck !== undefined,
        dependsOn: (c.dependsOn as { containerName: string; condition: string }[] | undefined) ?? [],
      };
      if (group !== undefined) {
        plan.logGroup = group;
        plan.logStream = `${prefix ?? "ecs"}/${String(c.name)}/${taskId}`;
      }
      return plan;
    });
  }

  #decideStartFailure(task: TaskRecord): void {
    const defs = task.taskDefinition.request.containerDefinitions as Json[];
    for (const c of defs) {
      if (this.faults.pullFailImages.has(String(c.image))) {
        task.startFailure = {
          stopCode: "TaskFailedToStart",
          reason: `CannotPullContainerError: pull image manifest has been retried 7 time(s): failed to resolve ref ${String(c.image)}: not found`,
        };
        return;
      }
      for (const s of (c.secrets as { valueFrom: string }[] | undefined) ?? []) {
        if (this.env.secretExists !== undefined && !this.env.secretExists(s.valueFrom)) {
          task.startFailure = {
            stopCode: "TaskFailedToStart",
            reason: s.valueFrom.startsWith("arn:aws:ssm:")
              ? `ResourceInitializationError: unable to pull secrets or registry auth: unable to retrieve secrets from ssm: invalid parameters: ${s.valueFrom}`
              : `ResourceInitializationError: unable to pull secrets or registry auth: retrieved secret from Secrets Manager did not contain json key ${s.valueFrom}`,
          };
          return;
        }
      }
    }
    if (this.faults.spotInterruptNext > 0 && task.capacityProvider === "FARGATE_SPOT") {
      this.faults.spotInterruptNext--;
      task.stopCode = "SpotInterruption";
      task.stopReason = "Your Spot Task was interrupted.";
      // Interrupted one second after it started running.
      task.stopRequestedAt = task.createdAt + this.#runningOffset() + 1000;
    }
  }

  #runningOffset(): number {
    const t = this.timings;
    return t.provisionMs + t.pendingMs + t.activatingMs;
  }

  /** Computes start/exit times of the containers in dependency order. */
  #schedule(task: TaskRecord): void {
    if (task.startFailure !== undefined) return;
    const base = task.createdAt + this.#runningOffset();
    const byName = new Map(task.containers.map((c) => [c.name, c]));
    const done = new Set<string>();
    for (let guard = 0; guard < task.containers.length + 1; guard++) {
      for (const c of task.containers) {
        if (done.has(c.name)) continue;
        let start = base;
        let blocked = false;
        for (const dep of c.dependsOn) {
          const d = byName.get(dep.containerName);
          if (d === undefined || !done.has(d.name)) {
            blocked = true;
            break;
          }
          if (d.startAt === undefined) {
            start = Infinity;
            continue;
          }
          if (dep.condition === "START") start = Math.max(start, d.startAt);
          else if (dep.condition === "HEALTHY")
            start = Math.max(start, d.startAt + this.timings.healthyAfterMs);
          else if (dep.condition === "COMPLETE") start = Math.max(start, d.exitAt ?? Infinity);
          else if (dep.condition === "SUCCESS") {
            start = d.exitCode === 0 ? Math.max(start, d.exitAt ?? Infinity) : Infinity;
          }
        }
        if (blocked) continue;
        done.add(c.name);
        if (start === Infinity) continue; // dependency failed: never starts
        c.startAt = start;
        if (c.script.runMs !== Infinity) {
          c.exitAt = start + c.script.runMs;
          c.exitCode = c.script.exitCode;
        }
        if (c.logGroup !== undefined && c.logStream !== undefined) {
          for (const [i, line] of c.script.lines.entries()) {
            this.env.writeLog?.(c.logGroup, c.logStream, start + i, line);
          }
        }
      }
    }
  }

  /** When the task's stop began (essential exit, dependency failure, StopTask), if it has. */
  #stopBegins(task: TaskRecord): { at: number; code: string; reason: string } | undefined {
    const now = this.clock.now();
    const created = task.createdAt;
    if (task.startFailure !== undefined) {
      return {
        at: created + this.timings.provisionMs + this.timings.pendingMs,
        code: task.startFailure.stopCode,
        reason: task.startFailure.reason,
      };
    }
    let first: { at: number; code: string; reason: string } | undefined;
    for (const c of task.containers) {
      if (!c.essential) continue;
      if (c.exitAt !== undefined) {
        if (first === undefined || c.exitAt < first.at) {
          first = {
            at: c.exitAt,
            code: "EssentialContainerExited",
            reason: "Essential container in task exited",
          };
        }
      } else if (c.startAt === undefined) {
        // A dependency of this essential container failed: ECS stops the task once it exited.
        const failedDep = c.dependsOn
          .map((d) => task.containers.find((x) => x.name === d.containerName))
          .find((d) => d?.exitAt !== undefined);
        const at = failedDep?.exitAt ?? created + this.#runningOffset();
        if (first === undefined || at < first.at) {
          first = { at, code: "EssentialContainerExited", reason: "Essential container in task exited" };
        }
      }
    }
    if (task.stopRequestedAt !== undefined && (first === undefined || task.stopRequestedAt < first.at)) {
      first = {
        at: task.stopRequestedAt,
        code: task.stopCode ?? "UserInitiated",
        reason: task.stopReason ?? "Task stopped by user",
      };
    }
    return first !== undefined && first.at <= now ? first : undefined;
  }

  /** The task as DescribeTasks returns it, at the clock's now. */
  view(task: TaskRecord, includeTags = false): Json {
    const now = this.clock.now();
    const t = this.timings;
    const stop = this.#stopBegins(task);
    const stoppedAt = stop === undefined ? undefined : stop.at + t.stoppingMs;
    let lastStatus: string;
    const age = now - task.createdAt;
    if (stoppedAt !== undefined && now >= stoppedAt) lastStatus = "STOPPED";
    else if (stop !== undefined)
      lastStatus =
        now < stop.at + t.stoppingMs / 3
          ? "DEACTIVATING"
          : now < stop.at + (2 * t.stoppingMs) / 3
            ? "STOPPING"
            : "DEPROVISIONING";
    else if (age < t.provisionMs) lastStatus = "PROVISIONING";
    else if (age < t.provisionMs + t.pendingMs) lastStatus = "PENDING";
    else if (age < this.#runningOffset()) lastStatus = "ACTIVATING";
    else lastStatus = "RUNNING";

    const sec = (ms: number | undefined): number | undefined => (ms === undefined ? undefined : ms / 1000);
    const runningAt = task.createdAt + this.#runningOffset();
    const started = task.startFailure === undefined && now >= runningAt;
    const containers = task.containers.map((c) => {
      const out: Json = {
        containerArn: `arn:aws:ecs:${this.region}:${ACCOUNT}:container/${task.id}/${c.name}`,
        taskArn: task.arn,
        name: c.name,
        image: c.image,
        lastStatus: "PENDING",
        networkInterfaces: started
          ? [{ attachmentId: `eni-attach-${task.id.slice(0, 8)}`, privateIpv4Address: task.ip }]
          : [],
        healthStatus: "UNKNOWN",
      };
      const exited = c.exitAt !== undefined && c.exitAt <= now;
      const stoppedByTask = stop !== undefined && stop.at <= now;
      if (c.startAt !== undefined && c.startAt <= now) {
        out.lastStatus = "RUNNING";
        out.runtimeId = `${task.id}-${c.name}`;
        out.imageDigest = "sha256:" + createHash("sha256").update(c.image).digest("hex");
        if (c.hasHealthCheck && now >= c.startAt + t.healthyAfterMs) out.healthStatus = "HEALTHY";
      }
      if (exited) {
        out.lastStatus = "STOPPED";
        out.exitCode = c.exitCode;
      } else if (stoppedByTask && lastStatus === "STOPPED") {
        out.lastStatus = "STOPPED";
        if (c.startAt !== undefined && c.startAt <= stop.at) {
          // SIGTERM on StopTask/Spot; containers that never started have no exit code.
          out.exitCode = 143;
        } else if (task.startFailure !== undefined) {
          out.reason = task.startFailure.reason;
        }
      }
      return out;
    });
    const attachment: Json = {
      id: `eni-attach-${task.id.slice(0, 8)}`,
      type: "ElasticNetworkInterface",
      status: lastStatus === "STOPPED" ? "DELETED" : age >= t.provisionMs ? "ATTACHED" : "PRECREATED",
      details: [
        { name: "subnetId", value: "subnet-sim" },
        { name: "networkInterfaceId", value: `eni-${task.id.slice(0, 8)}` },
        ...(age >= t.provisionMs ? [{ name: "privateIPv4Address", value: task.ip }] : []),
      ],
    };
    const td = task.taskDefinition.request;
    const view: Json = {
      taskArn: task.arn,
      clusterArn: task.clusterArn,
      taskDefinitionArn: task.taskDefinition.arn,
      lastStatus,
      desiredStatus: stop !== undefined ? "STOPPED" : "RUNNING",
      launchType: "FARGATE",
      capacityProviderName: task.capacityProvider,
      platformVersion: task.request.platformVersion ?? "1.4.0",
      platformFamily: "Linux",
      cpu: td.cpu,
      memory: td.memory,
      availabilityZone: `${this.region}a`,
      attachments: [attachment],
      containers,
      createdAt: sec(task.createdAt),
      version: 1,
      healthStatus: "UNKNOWN",
      startedBy: task.request.startedBy,
      group: task.request.group ?? `family:${task.taskDefinition.family}`,
      overrides: { containerOverrides: [] },
    };
    if (age >= t.provisionMs + t.pendingMs / 2 && task.startFailure === undefined) {
      view.pullStartedAt = sec(task.createdAt + t.provisionMs);
      view.pullStoppedAt = sec(task.createdAt + t.provisionMs + t.pendingMs);
    }
    if (started && (stop === undefined || stop.at >= runningAt)) view.startedAt = sec(runningAt);
    if (stop !== undefined) {
      view.stopCode = stop.code;
      view.stoppedReason = stop.reason;
      view.stoppingAt = sec(stop.at);
      view.executionStoppedAt = sec(stop.at);
      if (lastStatus === "STOPPED") view.stoppedAt = sec(stoppedAt);
    }
    if (includeTags) view.tags = task.tags;
    return view;
  }

  #task(ref: string): TaskRecord | undefined {
    const direct = this.tasks.get(ref);
    if (direct !== undefined) return direct;
    return [...this.tasks.values()].find((t) => t.id === ref);
  }

  #expire(): void {
    const now = this.clock.now();
    for (const [arn, task] of this.tasks) {
      const v = this.view(task);
      const stoppedAt = v.stoppedAt as number | undefined;
      if (stoppedAt !== undefined && now - stoppedAt * 1000 > this.timings.retentionMs)
        this.tasks.delete(arn);
    }
  }

  describeTasks(body: Json): Json {
    this.#cluster(body.cluster);
    const refs = body.tasks as string[];
    if (refs.length > 100) {
      throw new SimError("InvalidParameterException", "Tasks cannot be longer than 100 tasks");
    }
    if (refs.length === 0) throw new SimError("InvalidParameterException", "Tasks cannot be empty.");
    this.#expire();
    const tags = ((body.include as string[] | undefined) ?? []).includes("TAGS");
    const tasks: Json[] = [];
    const failures: Json[] = [];
    for (const ref of refs) {
      const task = this.#task(ref);
      if (task === undefined) failures.push({ arn: ref, reason: "MISSING" });
      else tasks.push(this.view(task, tags));
    }
    return { tasks, failures };
  }

  listTasks(body: Json): Json {
    const cluster = this.#cluster(body.cluster);
    this.#expire();
    const desired = (body.desiredStatus as string | undefined) ?? "RUNNING";
    const startedBy = body.startedBy as string | undefined;
    const family = body.family as string | undefined;
    const arns = [...this.tasks.values()]
      .filter((t) => t.clusterArn === cluster.arn)
      .filter((t) => startedBy === undefined || t.request.startedBy === startedBy)
      .filter((t) => family === undefined || t.taskDefinition.family === family)
      .filter((t) => {
        const d = this.view(t).desiredStatus;
        return desired === "STOPPED" ? d === "STOPPED" : d === "RUNNING";
      })
      .map((t) => t.arn);
    return page(arns, body, "taskArns", 100);
  }

  stopTask(body: Json): Json {
    this.#cluster(body.cluster);
    const task = this.#task(String(body.task));
    if (task === undefined)
      throw new SimError("InvalidParameterException", "The referenced task was not found.");
    if (task.stopRequestedAt === undefined || task.stopRequestedAt > this.clock.now()) {
      task.stopRequestedAt = this.clock.now();
      task.stopCode = "UserInitiated";
      task.stopReason = (body.reason as string | undefined) ?? "Task stopped by user";
    }
    return { task: this.view(task) };
  }

  listTagsForResource(body: Json): Json {
    const task = this.#task(String(body.resourceArn));
    if (task === undefined)
      throw new SimError("InvalidParameterException", "The specified resource is not found.");
    return { tags: task.tags };
  }

  /** TagResource on a task: adds tags, replacing the values of existing keys (ECS: at most 50 tags). */
  tagResource(body: Json): Json {
    const task = this.#task(String(body.resourceArn));
    if (task === undefined)
      throw new SimError("InvalidParameterException", "The specified resource is not found.");
    const tags = body.tags as { key: string; value: string }[];
    const merged = [...task.tags.filter((t) => !tags.some((n) => n.key === t.key)), ...tags];
    if (merged.length > 50) throw new SimError("InvalidParameterException", "Too many tags.");
    task.tags = merged;
    return {};
  }

  /** Test helper: all tasks' current views. */
  snapshot(): Json[] {
    return [...this.tasks.values()].map((t) => this.view(t, true));
  }
}

function page(items: string[], body: Json, key: string, defaultMax: number): Json {
  const max = (body.maxResults as number | undefined) ?? defaultMax;
  const start =
    typeof body.nextToken === "string" ? Number(Buffer.from(body.nextToken, "base64").toString()) : 0;
  const slice = items.slice(start, start + max);
  const next = start + max < items.length ? Buffer.from(String(start + max)).toString("base64") : undefined;
  return { [key]: slice, ...(next === undefined ? {} : { nextToken: next }) };
}

let fargateTable: { cpu: number; memoryMiB: number[] }[] | undefined;

/** Set by the server from the fixture table, so the simulator checks sizes the way Fargate does. */
export function setFargateTable(table: { cpu: number; memoryMiB: number[] }[]): void {
  fargateTable = table;
}

function isValidFargateSize(cpu: number, memory: number): boolean {
  if (fargateTable === undefined) return true;
  return fargateTable.some((row) => row.cpu === cpu && row.memoryMiB.includes(memory));
}

/** Bytes of a UTF-8 string (for size-limit checks). */
export function byteLength(text: string): number {
  return encoder.encode(text).length;
}
