/**
 * `createFargateProvider`: pods as ECS tasks on Fargate. Thin calls through the provider kit:
 * every AWS call goes through one cloud caller (per-API rate limits, typed errors, retries),
 * status comes from one shared list (ListTasks + DescribeTasks by 100), logs from CloudWatch
 * through the kit's follower.
 */
import {
  DeregisterTaskDefinitionCommand,
  DescribeClustersCommand,
  DescribeTaskDefinitionCommand,
  DescribeTasksCommand,
  ECSClient,
  ListTasksCommand,
  RegisterTaskDefinitionCommand,
  RunTaskCommand,
  StopTaskCommand,
  TagResourceCommand,
} from "@aws-sdk/client-ecs";
import type { Task } from "@aws-sdk/client-ecs";
import { CloudWatchLogsClient } from "@aws-sdk/client-cloudwatch-logs";
import { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { SSMClient } from "@aws-sdk/client-ssm";
import {
  InvalidInputError,
  NotFoundError,
  PermanentError,
  RetryableError,
  UnsupportedError,
  errorCode,
  podKey,
  systemClock,
  throwIfAborted,
} from "@virtual-node/core";
import type {
  CallOptions,
  ContainerLogOptions,
  NodeDescription,
  PodRef,
  Provider,
  ProviderPodEvent,
  ProviderPodStatus,
  ProviderPodSummary,
  ResolvedPod,
  UpdateOptions,
} from "@virtual-node/core";
import {
  createCloudCaller,
  createListStatusSource,
  fromAwsError,
  parseOwnership,
  secretRedactor,
} from "@virtual-node/core/provider-kit";
import type { CloudCaller, ListStatusSource } from "@virtual-node/core/provider-kit";
import type { Readable } from "node:stream";
import { fargateCapabilities } from "./capabilities.js";
import { ECS_LIMITS } from "./limits.js";
import { containerLogs } from "./logs.js";
import { mapPodToTask, mirrorGroup, planSecretMirrors, startedByFor } from "./mapping.js";
import type { FargateTaskSpec, MirroredValue } from "./mapping.js";
import { describeFargateNode } from "./node.js";
import { resolveFargateOptions } from "./options.js";
import type { FargateProviderOptions, ResolvedFargateOptions } from "./options.js";
import { SecretMirror } from "./secret-mirror.js";
import type { MirrorBackend } from "./secret-mirror.js";
import { SsmParameterMirror } from "./ssm-mirror.js";
import { partitionAndAccount } from "./ssm-names.js";
import { DEADLINE_STOP_REASON, taskToPodStatus } from "./status.js";
import { planTaskUpdate } from "./update.js";

/** `stoppedReason` prefix of tasks the provider stopped because their pod was deleted or replaced. */
export const STOP_REASON_PREFIX = "virtual-node:";
/** Task tag listing the Kubernetes Secrets whose mirrors the task uses (`+`-separated; `@pod` for its own). */
export const SECRETS_TAG = "virtual-node-secrets";

/** The Fargate provider: a {@link Provider} plus what tests and agents may want to inspect. */
export interface FargateProvider extends Provider {
  /** The resolved options. */
  readonly options: ResolvedFargateOptions;
  /** The caller all AWS calls go through (its limiters have stats). */
  readonly call: CloudCaller;
  /** The shared status list's counters. */
  statusStats(): ReturnType<ListStatusSource["stats"]>;
  /** The pure mapping with this provider's options (no AWS calls; secrets must already be mirrored). */
  mapPod(pod: ResolvedPod, secretArns?: ReadonlyMap<string, string>): FargateTaskSpec;
  /** Closes the AWS clients. */
  close(): void;
  getPodStatuses(
    refs: readonly PodRef[],
    options: CallOptions,
  ): Promise<Map<string, ProviderPodStatus | undefined>>;
  ping(options: CallOptions): Promise<void>;
  describeNode(nodeName: string, options: CallOptions): Promise<NodeDescription>;
  getContainerLogs(
    ref: PodRef,
    container: string,
    logOptions: ContainerLogOptions,
    options: CallOptions,
  ): Promise<Readable>;
}

function isOurStop(task: Task): boolean {
  return task.stoppedReason?.startsWith(STOP_REASON_PREFIX) === true;
}

function tagValue(task: Task, key: string): string | undefined {
  return task.tags?.find((t) => t.key === key)?.value;
}

function taskId(arn: string): string {
  return arn.split("/").at(-1) ?? arn;
}

/** Runs pods as ECS tasks on AWS Fargate. Validates `options` at once (errors name the option). */
export function createFargateProvider(input: FargateProviderOptions): FargateProvider {
  const options = resolveFargateOptions(input);
  const clock = options.clock ?? systemClock;
  const clientConfig = {
    ...(options.region === undefined ? {} : { region: options.region }),
    ...(options.credentials === undefined ? {} : { credentials: options.credentials }),
    ...(options.clientConfig?.endpoint === undefined ? {} : { endpoint: options.clientConfig.endpoint }),
    // Retries happen in the kit's caller, once, with its backoff and metrics.
    maxAttempts: options.clientConfig?.maxAttempts ?? 1,
  };
  const ecs = new ECSClient(clientConfig);
  const logs = new CloudWatchLogsClient(clientConfig);
  const secretsManager = new SecretsManagerClient(clientConfig);
  const ssm = new SSMClient(clientConfig);
  const call = createCloudCaller({
    provider: "fargate",
    limits: { ...ECS_LIMITS, ...options.limits },
    mapError: fromAwsError,
    clock,
    ...(options.registry === undefined ? {} : { registry: options.registry }),
  });
  const cluster = options.cluster;
  const region = options.region ?? "us-east-1";
  let nodeName: string | undefined;
  let lastZone: string | undefined;
  const mirrors = new Map<string, MirrorBackend>();
  const mirroring = options.secretMirroring;

  /** Partition, Region and account of the SSM parameters: the execution role's account, the tasks' Region. */
  const ssmWhere = async (): Promise<{ partition: string; region: string; account: string }> => {
    const owner = partitionAndAccount(options.executionRoleArn ?? "");
    if (owner === undefined) {
      throw new InvalidInputError(
        "FargateProviderOptions.executionRoleArn: the SSM mirror takes the parameters' account from it, and it is not an IAM role ARN",
        { field: "executionRoleArn" },
      );
    }
    return { ...owner, region: options.region ?? (await ssm.config.region()) };
  };

  const mirrorFor = (node: string): MirrorBackend => {
    let mirror = mirrors.get(node);
    if (mirror === undefined) {
      mirror =
        mirroring?.store === "ssm"
          ? new SsmParameterMirror(ssm, call, {
              nodeName: node,
              tier: mirroring.tier ?? "Standard",
              ...(mirroring.kmsKeyId === undefined ? {} : { kmsKeyId: mirroring.kmsKeyId }),
              where: ssmWhere,
            })
          : new SecretMirror(secretsManager, call, node, mirroring?.kmsKeyId);
      mirrors.set(node, mirror);
    }
    return mirror;
  };

  /** Task definition family → registered ARN, and the creates in flight that use it. */
  const families = new Map<string, string>();
  const creating = new Map<string, { family: string; mirrors: Set<string> }>();
  /** The latest list: every task of the node by ARN. */
  let latest = new Map<string, Task>();
  /** Whether a list completed since this instance started. */
  let listed = false;
  /** Tasks stopped (or being stopped) for their start deadline. */
  const deadlineStops = new Set<string>();
  /** Pod UID → the changes `updatePod` could not apply (Warning Events on the pod's status). */
  const notices = new Map<string, ProviderPodEvent[]>();
  const lifetime = new AbortController();

  async function* listTasks(signal: AbortSignal): AsyncIterable<Task[]> {
    if (nodeName === undefined) return;
    const startedBy = startedByFor(nodeName);
    const listStart = clock.now();
    const seen = new Map<string, Task>();
    for (const desiredStatus of ["RUNNING", "STOPPED"] as const) {
      let nextToken: string | undefined;
      do {
        const page = await call(
          "ListTasks",
          (s) =>
            ecs.send(
              new ListTasksCommand({
                cluster,
                startedBy,
                desiredStatus,
                maxResults: 100,
                ...(nextToken ? { nextToken } : {}),
              }),
              { abortSignal: s },
            ),
          { signal },
        );
        nextToken = page.nextToken;
        const arns = page.taskArns ?? [];
        if (arns.length === 0) continue;
        const described = await call(
          "DescribeTasks",
          (s) =>
            ecs.send(new DescribeTasksCommand({ cluster, tasks: arns, include: ["TAGS"] }), {
              abortSignal: s,
            }),
          { signal },
        );
        const tasks = described.tasks ?? [];
        for (const t of tasks) {
          if (t.taskArn !== undefined) seen.set(t.taskArn, t);
          if (t.availabilityZone !== undefined) lastZone = t.availabilityZone;
        }
        yield tasks;
      } while (nextToken !== undefined);
    }
    // Tasks run while the list was being read may be missing from it; keep those for one more round.
    for (const [arn, task] of latest) {
      if (!seen.has(arn) && (task.createdAt?.getTime() ?? 0) >= listStart - 60_000) seen.set(arn, task);
    }
    latest = seen;
    listed = true;
  }

  const source = createListStatusSource<Task>({
    list: listTasks,
    identify: (task) => (isOurStop(task) ? undefined : parseOwnership(task.tags)),
    fingerprint: (task) =>
      JSON.stringify([
        task.lastStatus,
        task.desiredStatus,
        task.healthStatus,
        task.version,
        (task.containers ?? []).map((c) => [c.lastStatus, c.exitCode, c.healthStatus]),
        // The start deadline changes the status with time alone.
        clock.now() - (task.createdAt?.getTime() ?? clock.now()) > options.startDeadlineMs,
        notices.get(parseOwnership(task.tags)?.uid ?? "")?.length ?? 0,
      ]),
    toStatus: (task) => {
      const status = taskToPodStatus(task, { now: clock.now(), startDeadlineMs: options.startDeadlineMs });
      if (status.reason === "StartDeadlineExceeded") stopPastDeadline(task);
      const events = notices.get(parseOwnership(task.tags)?.uid ?? "");
      return events === undefined ? status : { ...status, events: [...(status.events ?? []), ...events] };
    },
    clock,
    ...(options.statusIntervalMs?.fast === undefined
      ? {}
      : { fastIntervalMs: options.statusIntervalMs.fast }),
    ...(options.statusIntervalMs?.slow === undefined
      ? {}
      : { slowIntervalMs: options.statusIntervalMs.slow }),
  });

  function bind(node: string): void {
    if (nodeName !== undefined && nodeName !== node) {
      throw new InvalidInputError(
        `this Fargate provider serves node ${nodeName}; create one provider per virtual node (asked for ${node})`,
      );
    }
    nodeName = node;
  }

  /** Live (not stopped by us) tasks of a pod in the latest list, newest first. */
  function tasksOf(ref: PodRef): Task[] {
    return [...latest.values()]
      .filter((t) => {
        const owner = parseOwnership(t.tags);
        return (
          !isOurStop(t) &&
          owner?.uid === ref.uid &&
          owner.namespace === ref.namespace &&
          owner.name === ref.name
        );
      })
      .sort((a, b) => (b.createdAt?.getTime() ?? 0) - (a.createdAt?.getTime() ?? 0));
  }

  async function refresh(signal: AbortSignal): Promise<void> {
    source.invalidate();
    if (nodeName !== undefined) await source.listPods(nodeName, { signal });
  }

  async function ensureTaskDefinition(spec: FargateTaskSpec, signal: AbortSignal): Promise<string> {
    const known = families.get(spec.family);
    if (known !== undefined) return known;
    // Same family = same content (the family is its hash): reuse an ACTIVE revision if one exists.
    try {
      const found = await call(
        "DescribeTaskDefinition",
        (s) =>
          ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: spec.family }), { abortSignal: s }),
        { signal },
      );
      const arn = found.taskDefinition?.taskDefinitionArn;
      if (arn !== undefined && found.taskDefinition?.status === "ACTIVE") {
        families.set(spec.family, arn);
        return arn;
      }
    } catch (error) {
      if (errorCode(error) !== "VN_INVALID_INPUT" && errorCode(error) !== "VN_NOT_FOUND") throw error;
    }
    const registered = await call(
      "RegisterTaskDefinition",
      (s) => ecs.send(new RegisterTaskDefinitionCommand(spec.taskDefinition), { abortSignal: s }),
      { signal },
    );
    const arn = registered.taskDefinition?.taskDefinitionArn;
    if (arn === undefined) throw new RetryableError("RegisterTaskDefinition answered without an ARN");
    families.set(spec.family, arn);
    return arn;
  }

  /** Mirrors the pod's secrets (when configured) and maps it. */
  async function prepare(
    pod: ResolvedPod,
    signal: AbortSignal,
  ): Promise<{ spec: FargateTaskSpec; secrets: Set<string> }> {
    const planned = planSecretMirrors(pod, options);
    let arns = new Map<string, string>();
    if (planned.length > 0 && options.secretMirroring !== undefined) {
      arns = await mirrorFor(pod.nodeName).ensure(planned, signal);
    }
    const secrets = secretsOf(planned);
    const redact = secretRedactor(pod);
    try {
      return { spec: mapPodToTask(pod, { options, secretArns: arns }), secrets };
    } catch (error) {
      // Mapping messages may quote values; keep Secret values out of Events.
      if (error instanceof Error) error.message = redact(error.message);
      throw error;
    }
  }

  async function runTask(spec: FargateTaskSpec, secrets: Set<string>, signal: AbortSignal): Promise<void> {
    const taskDefinition = await ensureTaskDefinition(spec, signal);
    const tags = [...(spec.runTask.tags ?? [])];
    if (secrets.size > 0) tags.push({ key: SECRETS_TAG, value: [...secrets].join("+").slice(0, 256) });
    const answer = await call(
      "RunTask",
      (s) => ecs.send(new RunTaskCommand({ ...spec.runTask, tags, taskDefinition }), { abortSignal: s }),
      { signal },
    );
    const failure = answer.failures?.[0];
    if ((answer.tasks ?? []).length === 0) {
      const reason = `${failure?.reason ?? "RunTask started no task"}${failure?.detail ? `: ${failure.detail}` : ""}`;
      // Capacity and quota failures clear up; anything else is the request's fault.
      if (/RESOURCE|capacity|limit|AGENT/i.test(reason))
        throw new RetryableError(`RunTask: ${reason}`, { cloudCode: failure?.reason });
      throw new InvalidInputError(`RunTask: ${reason}`, { cloudCode: failure?.reason });
    }
    const task = answer.tasks?.[0];
    if (task?.taskArn !== undefined) latest.set(task.taskArn, { ...task, tags });
  }

  /**
   * A task failed for its start deadline is stopped at once (not only at pod delete), so it neither
   * bills nor starts late. In the background: status reads stay pure and never wait on a write.
   */
  function stopPastDeadline(task: Task): void {
    const arn = task.taskArn;
    if (arn === undefined || task.desiredStatus === "STOPPED" || deadlineStops.has(arn)) return;
    deadlineStops.add(arn);
    const seconds = String(Math.round(options.startDeadlineMs / 1000));
    stop(
      task,
      `${DEADLINE_STOP_REASON} (${seconds} s, last status ${task.lastStatus ?? "?"})`,
      lifetime.signal,
      {
        prefixed: false,
      },
    ).then(
      () => {
        source.invalidate();
      },
      () => {
        // Tried again on the next status read that finds it past its deadline.
        deadlineStops.delete(arn);
      },
    );
  }

  async function stop(
    task: Task,
    why: string,
    signal: AbortSignal,
    { prefixed = true }: { prefixed?: boolean } = {},
  ): Promise<void> {
    if (task.taskArn === undefined) return;
    const reason = (prefixed ? `${STOP_REASON_PREFIX} ${why}` : why).slice(0, 255);
    try {
      await call(
        "StopTask",
        (s) =>
          ecs.send(
            new StopTaskCommand({
              cluster,
              task: task.taskArn,
              reason,
            }),
            {
              abortSignal: s,
            },
          ),
        { signal },
      );
    } catch (error) {
      // Already gone (expired from ECS) counts as stopped.
      if (errorCode(error) !== "VN_NOT_FOUND" && errorCode(error) !== "VN_INVALID_INPUT") throw error;
    }
    latest.set(task.taskArn, { ...task, stoppedReason: reason, desiredStatus: "STOPPED" });
  }

  /** `namespace/secret` (or `namespace/name/@pod`) keys of the mirrors a task uses. */
  function mirrorKeys(task: Task): string[] {
    const owner = parseOwnership(task.tags);
    if (owner === undefined) return [];
    return (tagValue(task, SECRETS_TAG) ?? "")
      .split("+")
      .filter((s) => s !== "")
      .map((s) =>
        s === "@pod" ? `${owner.namespace}/${owner.name}/${owner.uid}/@pod` : `${owner.namespace}/${s}`,
      );
  }

  /** The mirror group of a `namespace/secret` (or `namespace/name/uid/@pod`) key. */
  function mirrorNameOf(key: string, node: string): string {
    const parts = key.split("/");
    if (parts[3] === "@pod") {
      const ref = { namespace: parts[0] ?? "", name: parts[1] ?? "", uid: parts[2] ?? "" };
      return mirrorGroup(options, node, ref, "@pod");
    }
    const owner = { namespace: parts[0] ?? "", name: "", uid: "" };
    return mirrorGroup(options, node, owner, parts.slice(1).join("/"));
  }

  /** Deregisters task definitions and deletes mirrors no live task and no create in flight uses. */
  async function releaseUnused(released: Task[], node: string, signal: AbortSignal): Promise<void> {
    const live = [...latest.values()].filter(
      (t) => !isOurStop(t) && t.lastStatus !== "STOPPED" && t.desiredStatus !== "STOPPED",
    );
    const inFlight = [...creating.values()];
    const usedFamilies = new Set([
      ...live.map((t) => familyOf(t.taskDefinitionArn)),
      ...inFlight.map((c) => c.family),
    ]);
    const usedMirrors = new Set([...live.flatMap(mirrorKeys), ...inFlight.flatMap((c) => [...c.mirrors])]);
    for (const task of released) {
      const family = familyOf(task.taskDefinitionArn);
      if (usedFamilies.has(family) || task.taskDefinitionArn === undefined) continue;
      usedFamilies.add(family); // once per family
      families.delete(family);
      try {
        await call(
          "DeregisterTaskDefinition",
          (s) =>
            ecs.send(new DeregisterTaskDefinitionCommand({ taskDefinition: task.taskDefinitionArn }), {
              abortSignal: s,
            }),
          { signal },
        );
      } catch (error) {
        if (errorCode(error) !== "VN_INVALID_INPUT" && errorCode(error) !== "VN_NOT_FOUND") throw error;
      }
    }
    if (options.secretMirroring === undefined) return;
    const unused = new Set(released.flatMap(mirrorKeys).filter((k) => !usedMirrors.has(k)));
    await mirrorFor(node).release(
      [...unused].map((k) => mirrorNameOf(k, node)),
      signal,
    );
  }

  function secretsOf(planned: readonly MirroredValue[]): Set<string> {
    return new Set(planned.map((p) => (p.scope.kind === "secret" ? p.scope.name : "@pod")));
  }

  let lastSweep = Number.NEGATIVE_INFINITY;

  /**
   * Deletes this node's mirrors that no live task uses (left behind when a pod's task ended
   * without a delete through this provider, e.g. during an agent outage). At most once per
   * `mirrorSweepIntervalMs`, from the periodic `listPods`.
   */
  async function sweepMirrors(node: string, signal: AbortSignal): Promise<void> {
    if (options.secretMirroring === undefined || !listed) return;
    if (clock.now() - lastSweep < options.mirrorSweepIntervalMs) return;
    lastSweep = clock.now();
    const live = [...latest.values()].filter(
      (t) => !isOurStop(t) && t.lastStatus !== "STOPPED" && t.desiredStatus !== "STOPPED",
    );
    const used = new Set(
      [...live.flatMap(mirrorKeys), ...[...creating.values()].flatMap((c) => [...c.mirrors])].map((k) =>
        mirrorNameOf(k, node),
      ),
    );
    await mirrorFor(node).sweep(used, signal);
  }

  function mirrorKeysOf(pod: ResolvedPod, secrets: Set<string>): Set<string> {
    const { namespace, name, uid } = pod.ref;
    return new Set(
      [...secrets].map((s) => (s === "@pod" ? `${namespace}/${name}/${uid}/@pod` : `${namespace}/${s}`)),
    );
  }

  function familyOf(arn: string | undefined): string {
    const short = arn?.split(":task-definition/")[1] ?? "";
    return short.split(":")[0] ?? "";
  }

  const provider: FargateProvider = {
    name: "fargate",
    capabilities: fargateCapabilities,
    statusBatchSize: 1000,
    options,
    call,

    statusStats: () => source.stats(),
    mapPod: (pod, secretArns = new Map()) => mapPodToTask(pod, { options, secretArns }),
    close() {
      lifetime.abort();
      ecs.destroy();
      logs.destroy();
      secretsManager.destroy();
      ssm.destroy();
    },

    async createPod(pod, { signal }) {
      throwIfAborted(signal);
      bind(pod.nodeName);
      const key = podKey(pod.ref);
      // Idempotent by UID: a task of this pod (also one from before a restart) is reused. The
      // latest list is enough: a task it misses is caught by RunTask's clientToken.
      if (!listed) await refresh(signal);
      if (tasksOf(pod.ref).length > 0) return;
      // Marked before mirroring, so a concurrent sweep never deletes the mirrors this create writes.
      const pending = { family: "", mirrors: mirrorKeysOf(pod, secretsOf(planSecretMirrors(pod, options))) };
      creating.set(key, pending);
      try {
        const { spec, secrets } = await prepare(pod, signal);
        pending.family = spec.family;
        await runTask(spec, secrets, signal);
      } finally {
        creating.delete(key);
        source.invalidate(pod.ref);
      }
    },

    async updatePod(pod, { signal, reason }: UpdateOptions) {
      throwIfAborted(signal);
      bind(pod.nodeName);
      if (reason === "volumes") {
        throw new UnsupportedError(
          "Fargate cannot replace the files of a running task (mountedFileUpdates: false)",
        );
      }
      if (tasksOf(pod.ref).length === 0) await refresh(signal);
      const current = tasksOf(pod.ref)[0];
      if (current?.taskArn === undefined) throw new NotFoundError(`no ECS task for pod ${podKey(pod.ref)}`);
      // ECS cannot change a running task's definition: tags change in place, the rest is reported.
      const plan = planTaskUpdate(current, pod, options);
      if (plan.tags.length > 0 && current.lastStatus !== "STOPPED") {
        const arn = current.taskArn;
        await call(
          "TagResource",
          (s) => ecs.send(new TagResourceCommand({ resourceArn: arn, tags: plan.tags }), { abortSignal: s }),
          { signal },
        );
        const merged = [
          ...(current.tags ?? []).filter((t) => !plan.tags.some((n) => n.key === t.key)),
          ...plan.tags,
        ];
        latest.set(arn, { ...current, tags: merged });
      }
      const known = notices.get(pod.ref.uid) ?? [];
      const fresh = plan.notApplied.filter((n) => !known.some((k) => k.id === n.id));
      if (fresh.length > 0) {
        notices.set(pod.ref.uid, [...known, ...fresh]);
        source.invalidate(pod.ref);
      }
    },

    async deletePod(ref, gracePeriodSeconds, { signal }) {
      throwIfAborted(signal);
      if (nodeName === undefined) return; // nothing was ever created through this instance or listed
      if (tasksOf(ref).length === 0) await refresh(signal);
      const tasks = tasksOf(ref);
      for (const task of tasks) {
        await stop(task, `pod ${podKey(ref)} deleted (grace ${gracePeriodSeconds}s)`, signal);
      }
      source.invalidate(ref);
      notices.delete(ref.uid);
      await releaseUnused(tasks, nodeName, signal);
    },

    async getPodStatus(ref, { signal }): Promise<ProviderPodStatus | undefined> {
      throwIfAborted(signal);
      if (nodeName === undefined) return undefined;
      return source.getPodStatus(ref, { signal });
    },

    async getPodStatuses(refs, { signal }) {
      throwIfAborted(signal);
      if (nodeName === undefined) return new Map(refs.map((r) => [podKey(r), undefined]));
      return source.getPodStatuses(refs, { signal });
    },

    async listPods(node, { signal }): Promise<ProviderPodSummary[]> {
      throwIfAborted(signal);
      if (nodeName === undefined) nodeName = node;
      if (node !== nodeName) return [];
      const pods = await source.listPods(node, { signal });
      await sweepMirrors(node, signal);
      return pods;
    },

    async ping({ signal }) {
      throwIfAborted(signal);
      const answer = await call(
        "DescribeClusters",
        (s) => ecs.send(new DescribeClustersCommand({ clusters: [cluster] }), { abortSignal: s }),
        { signal },
      );
      const found = answer.clusters?.[0];
      if (found === undefined)
        throw new NotFoundError(`ECS cluster ${cluster} not found in ${region}`, { cloudCode: "MISSING" });
      if (found.status !== "ACTIVE") {
        throw new PermanentError(`ECS cluster ${cluster} is ${found.status ?? "not ACTIVE"}`);
      }
    },

    async describeNode(node, { signal }): Promise<NodeDescription> {
      throwIfAborted(signal);
      return Promise.resolve(describeFargateNode(options, region, lastZone));
    },

    async getContainerLogs(
      ref: PodRef,
      container: string,
      logOptions: ContainerLogOptions,
      { signal }: CallOptions,
    ): Promise<Readable> {
      throwIfAborted(signal);
      if (options.logGroup === undefined) {
        throw new InvalidInputError(
          "the Fargate provider has no logGroup configured, so tasks have no logs to read",
        );
      }
      if (logOptions.previous)
        throw new InvalidInputError(
          `container ${container} has no previous run (ECS does not restart containers)`,
        );
      if (tasksOf(ref).length === 0) await refresh(signal);
      const task = tasksOf(ref)[0];
      if (task?.taskArn === undefined) throw new NotFoundError(`no ECS task for pod ${podKey(ref)}`);
      if (!(task.containers ?? []).some((c) => c.name === container)) {
        throw new NotFoundError(`pod ${podKey(ref)} has no container ${container}`);
      }
      const arn = task.taskArn;
      return containerLogs({
        client: logs,
        call,
        clock,
        logGroup: options.logGroup,
        logStream: `${options.logStreamPrefix}/${container}/${taskId(arn)}`,
        logOptions,
        signal,
        ended: () => {
          const now = tasksOf(ref).find((t) => t.taskArn === arn) ?? latest.get(arn);
          return now?.lastStatus === "STOPPED";
        },
      });
    },
  };
  return provider;
}
