/**
 * `createCloudRunProvider`: the Provider contract over Cloud Run Admin v2, thin calls through the
 * provider kit — every call rate-limited per API with typed errors (`createCloudCaller` +
 * `fromGoogleError`), long-running operations awaited with `pollUntil`, status for all pods from
 * shared list calls (`createListStatusSource`), logs by the kit's polling follower.
 */
import { NotFoundError, systemClock, throwIfAborted } from "@virtual-node/core";
import type {
  CallOptions,
  NodeDescription,
  PodRef,
  Provider,
  ProviderPodStatus,
  ResolvedPod,
} from "@virtual-node/core";
import {
  createCloudCaller,
  createListStatusSource,
  fromGoogleError,
  parseOwnership,
  pollUntil,
} from "@virtual-node/core/provider-kit";
import type { CloudCaller, ListStatusSource } from "@virtual-node/core/provider-kit";
import type { protos } from "@google-cloud/run";
import type { Readable } from "node:stream";
import { cloudRunCapabilities } from "./capabilities.js";
import { createCloudRunClients } from "./clients.js";
import type { CloudRunClients } from "./clients.js";
import { CLOUD_RUN_RATE_LIMITS } from "./limits.js";
import { readContainerLogs } from "./logs.js";
import { cloudRunId, mapPod, planSecrets, resourceKindFor } from "./mapping.js";
import type { CloudRunKind, MappingOptions } from "./mapping.js";
import { describeCloudRunNode } from "./node.js";
import { resolveOptions } from "./options.js";
import type { CloudRunProviderOptions } from "./options.js";
import { deleteMirroredSecrets, mirrorSecrets } from "./secrets.js";
import { toDate, toPodStatus } from "./status.js";
import type { CloudRunObject } from "./status.js";

type Job = protos.google.cloud.run.v2.IJob;
type Execution = protos.google.cloud.run.v2.IExecution;
type Service = protos.google.cloud.run.v2.IService;
type WorkerPool = protos.google.cloud.run.v2.IWorkerPool;
type Instance = protos.google.cloud.run.v2.IInstance;

/** The Cloud Run provider: the contract plus logs, batched status, ping and node description. */
export interface CloudRunProvider extends Provider {
  readonly statusBatchSize: number;
  getPodStatuses(
    refs: readonly PodRef[],
    options: CallOptions,
  ): Promise<Map<string, ProviderPodStatus | undefined>>;
  ping(options: CallOptions): Promise<void>;
  describeNode(nodeName: string, options: CallOptions): Promise<NodeDescription>;
  getContainerLogs: NonNullable<Provider["getContainerLogs"]>;
  /** The shared status list's counters (lists, pages, gets), for metrics and tests. */
  statusStats(): ReturnType<ListStatusSource["stats"]>;
  /** Closes the Google clients' channels (when the provider built them). */
  close(): Promise<void>;
}

interface LroLike {
  name?: string | null;
  done?: boolean | null;
  error?: unknown;
  metadata?: unknown;
}

function isAlreadyExists(error: unknown): boolean {
  return (error as { cloudCode?: string } | null)?.cloudCode === "ALREADY_EXISTS";
}

function shortName(name: string | null | undefined): string {
  return (name ?? "").split("/").at(-1) ?? "";
}

function createdAtOf(execution: Execution): number {
  return Number(String(execution.createTime?.seconds ?? 0)) * 1000 + (execution.createTime?.nanos ?? 0) / 1e6;
}

/**
 * A provider that runs pods on Cloud Run in `options.project` / `options.region`:
 * `restartPolicy: Never | OnFailure` pods as Jobs (one Execution), `Always` pods as Worker Pools
 * with one manual instance (or Services / Instances, by `longRunning`). Options are validated
 * here; errors name the option.
 */
export function createCloudRunProvider(options: CloudRunProviderOptions): CloudRunProvider {
  const o = resolveOptions(options);
  const clock = o.clock ?? systemClock;
  const ownsClients = o.clients === undefined;
  const clients: CloudRunClients =
    o.clients ??
    createCloudRunClients({
      projectId: o.project,
      transport: o.transport,
      ...(o.authClient === undefined ? {} : { authClient: o.authClient }),
      ...(o.clientOptions === undefined ? {} : { clientOptions: o.clientOptions }),
    });
  const call: CloudCaller = createCloudCaller({
    provider: o.name,
    limits: o.rateLimits ?? CLOUD_RUN_RATE_LIMITS,
    mapError: (error) => fromGoogleError(error),
    clock,
    ...(o.registry === undefined ? {} : { registry: o.registry }),
    ...(o.maxAttempts === undefined ? {} : { maxAttempts: o.maxAttempts }),
    ...(o.retryBackoff === undefined ? {} : { backoff: o.retryBackoff }),
  });
  const parent = `projects/${o.project}/locations/${o.region}`;
  const mapping: MappingOptions = {
    onFailureMaxRetries: o.onFailureMaxRetries,
    defaultJobTimeoutSeconds: o.defaultJobTimeoutSeconds,
    secrets: o.secrets,
    serviceIngress: o.serviceIngress,
    gpuType: o.gpuType,
    longRunning: o.longRunning,
    ...(o.launchStage === undefined ? {} : { launchStage: o.launchStage }),
    ...(o.serviceAccount === undefined ? {} : { serviceAccount: o.serviceAccount }),
    ...(o.vpc === undefined ? {} : { vpc: o.vpc }),
    ...(o.labels === undefined ? {} : { labels: o.labels }),
  };
  const secretDeps = { call, client: clients.secrets, project: o.project };
  const pageSize = o.listPageSize;

  /** Waits for an operation through single GETs (never the client's own unbounded poller). */
  async function waitFor(what: string, check: () => Promise<LroLike>, signal: AbortSignal): Promise<LroLike> {
    return pollUntil<LroLike>(
      async () => {
        const op = await check();
        return op.done === true ? { done: true as const, value: op } : { done: false as const };
      },
      {
        signal,
        clock,
        backoff: o.operationBackoff ?? { baseMs: 500, maxMs: 10_000, factor: 2, jitter: "equal" },
        deadlineMs: o.operationTimeoutMs,
        description: what,
      },
    );
  }

  async function getJob(id: string, signal: AbortSignal): Promise<Job | undefined> {
    try {
      const [job] = await call("GetJob", () => clients.jobs.getJob({ name: `${parent}/jobs/${id}` }), {
        signal,
      });
      return job;
    } catch (error) {
      if (error instanceof NotFoundError) return undefined;
      throw error;
    }
  }

  /** A Get that answers `undefined` for NOT_FOUND. */
  async function getOrUndefined<T>(
    api: string,
    get: () => Promise<[T, ...unknown[]]>,
    signal: AbortSignal,
  ): Promise<T | undefined> {
    try {
      const [found] = await call(api, get, { signal });
      return found;
    } catch (error) {
      if (error instanceof NotFoundError) return undefined;
      throw error;
    }
  }

  const getService = (id: string, signal: AbortSignal): Promise<Service | undefined> =>
    getOrUndefined(
      "GetService",
      () => clients.services.getService({ name: `${parent}/services/${id}` }),
      signal,
    );
  const getWorkerPool = (id: string, signal: AbortSignal): Promise<WorkerPool | undefined> =>
    getOrUndefined(
      "GetWorkerPool",
      () => clients.workerPools.getWorkerPool({ name: `${parent}/workerPools/${id}` }),
      signal,
    );
  const getInstance = (id: string, signal: AbortSignal): Promise<Instance | undefined> =>
    getOrUndefined(
      "GetInstance",
      () => clients.instances.getInstance({ name: `${parent}/instances/${id}` }),
      signal,
    );

  async function runJob(id: string, signal: AbortSignal): Promise<void> {
    // RunJob's operation ends with the execution; its first answer already names the execution.
    await call("RunJob", () => clients.jobs.runJob({ name: `${parent}/jobs/${id}` }), {
      signal,
      maxAttempts: 1,
    });
  }

  async function createJob(pod: ResolvedPod, signal: AbortSignal): Promise<void> {
    const id = cloudRunId(pod.ref, "job");
    const existing = await getJob(id, signal);
    if (existing !== undefined) {
      // Idempotent: a job without an execution (crash between create and run) is run now.
      if (
        existing.latestCreatedExecution?.name == null &&
        existing.terminalCondition?.state === "CONDITION_SUCCEEDED"
      )
        await runJob(id, signal);
      return;
    }
    const versions = await mirrorSecrets(
      secretDeps,
      pod.ref,
      pod.nodeName,
      planSecrets(pod, mapping),
      signal,
    );
    const spec = mapPod(pod, mapping, versions);
    if (spec.kind !== "job") throw new Error("unreachable: job mapping");
    let op: LroLike;
    try {
      [op] = await call("CreateJob", () => clients.jobs.createJob({ parent, jobId: id, job: spec.job }), {
        signal,
        maxAttempts: 1,
      });
    } catch (error) {
      if (!isAlreadyExists(error)) throw error;
      return createJob(pod, signal);
    }
    const name = op.name ?? "";
    const done =
      op.done === true
        ? op
        : await waitFor(
            `job ${id} create`,
            () => call("GetOperation", () => clients.jobs.checkCreateJobProgress(name), { signal }),
            signal,
          );
    // A failed create (image missing, permission) leaves the job with a failed terminal
    // condition: the status reports it as Failed with Cloud Run's reason.
    if (done.error == null) await runJob(id, signal);
  }

  /**
   * Creates the pod's Worker Pool, Service or Instance. The operation ends when the revision (or
   * instance) is ready, which can take minutes: the status list reports progress and failure.
   */
  async function createLongRunning(pod: ResolvedPod, kind: CloudRunKind, signal: AbortSignal): Promise<void> {
    const id = cloudRunId(pod.ref, kind);
    const existing =
      kind === "workerPool"
        ? await getWorkerPool(id, signal)
        : kind === "instance"
          ? await getInstance(id, signal)
          : await getService(id, signal);
    if (existing !== undefined) return;
    const versions = await mirrorSecrets(
      secretDeps,
      pod.ref,
      pod.nodeName,
      planSecrets(pod, mapping),
      signal,
    );
    const spec = mapPod(pod, mapping, versions);
    const once = { signal, maxAttempts: 1 };
    try {
      switch (spec.kind) {
        case "workerPool":
          await call(
            "CreateWorkerPool",
            () =>
              clients.workerPools.createWorkerPool({ parent, workerPoolId: id, workerPool: spec.workerPool }),
            once,
          );
          return;
        case "instance":
          await call(
            "CreateInstance",
            () => clients.instances.createInstance({ parent, instanceId: id, instance: spec.instance }),
            once,
          );
          return;
        case "service":
          await call(
            "CreateService",
            () => clients.services.createService({ parent, serviceId: id, service: spec.service }),
            once,
          );
          return;
        case "job":
          throw new Error("unreachable: long-running mapping");
      }
    } catch (error) {
      if (!isAlreadyExists(error)) throw error;
    }
  }

  async function* pages<T>(
    api: string,
    fetch: (token: string | undefined) => Promise<[T[], { pageToken?: string | null } | null, unknown]>,
    signal: AbortSignal,
  ): AsyncIterable<T[]> {
    let token: string | undefined;
    do {
      const [items, next] = await call(api, () => fetch(token), { signal });
      yield items;
      token = next?.pageToken ?? undefined;
    } while (token !== undefined && token !== "");
  }

  async function* listObjects(signal: AbortSignal): AsyncIterable<CloudRunObject[]> {
    const latest = new Map<string, Execution>();
    for await (const page of pages(
      "ListExecutions",
      (pageToken) =>
        clients.executions.listExecutions(
          { parent: `${parent}/jobs/-`, pageSize, ...(pageToken === undefined ? {} : { pageToken }) },
          { autoPaginate: false },
        ),
      signal,
    )) {
      for (const e of page) {
        const job = e.job ?? "";
        const seen = latest.get(job);
        if (seen === undefined || createdAtOf(e) >= createdAtOf(seen)) latest.set(job, e);
      }
    }
    for await (const page of pages(
      "ListJobs",
      (pageToken) =>
        clients.jobs.listJobs(
          { parent, pageSize, ...(pageToken === undefined ? {} : { pageToken }) },
          { autoPaginate: false },
        ),
      signal,
    )) {
      const objects: CloudRunObject[] = [];
      for (const job of page) {
        const execution = latest.get(shortName(job.name));
        objects.push(execution === undefined ? { kind: "job", job } : { kind: "job", job, execution });
      }
      yield objects;
    }
    for await (const page of pages(
      "ListWorkerPools",
      (pageToken) =>
        clients.workerPools.listWorkerPools(
          { parent, pageSize, ...(pageToken === undefined ? {} : { pageToken }) },
          { autoPaginate: false },
        ),
      signal,
    )) {
      yield page.map((workerPool): CloudRunObject => ({ kind: "workerPool", workerPool }));
    }
    if (o.longRunning === "instance") {
      for await (const page of pages(
        "ListInstances",
        (pageToken) =>
          clients.instances.listInstances(
            { parent, pageSize, ...(pageToken === undefined ? {} : { pageToken }) },
            { autoPaginate: false },
          ),
        signal,
      )) {
        yield page.map((instance): CloudRunObject => ({ kind: "instance", instance }));
      }
    }
    for await (const page of pages(
      "ListServices",
      (pageToken) =>
        clients.services.listServices(
          { parent, pageSize, ...(pageToken === undefined ? {} : { pageToken }) },
          { autoPaginate: false },
        ),
      signal,
    )) {
      yield page.map((service): CloudRunObject => ({ kind: "service", service }));
    }
  }

  const resourceOf = (object: CloudRunObject): Job | WorkerPool | Service | Instance =>
    object.kind === "job"
      ? object.job
      : object.kind === "workerPool"
        ? object.workerPool
        : object.kind === "service"
          ? object.service
          : object.instance;
  const annotationsOf = (object: CloudRunObject) => resourceOf(object).annotations;

  const source = createListStatusSource<CloudRunObject>({
    list: listObjects,
    identify: (object) => parseOwnership(annotationsOf(object) ?? undefined),
    fingerprint: (object) => {
      if (object.kind !== "job") {
        const r = resourceOf(object) as WorkerPool & Service & Instance;
        return [
          object.kind,
          r.etag,
          r.generation,
          r.observedGeneration,
          r.reconciling,
          r.terminalCondition?.state,
          r.latestReadyRevision,
        ].join("|");
      }
      const { job, execution: e } = object;
      return [
        job.etag,
        job.reconciling,
        job.terminalCondition?.state,
        e?.name,
        e?.runningCount,
        e?.succeededCount,
        e?.failedCount,
        e?.cancelledCount,
        e?.retriedCount,
        e?.completionTime?.seconds,
      ].join("|");
    },
    needsDetail: (object) =>
      object.kind === "job" &&
      object.execution !== undefined &&
      object.tasks === undefined &&
      ((object.execution.failedCount ?? 0) > 0 ||
        (object.execution.cancelledCount ?? 0) > 0 ||
        (object.execution.retriedCount ?? 0) > 0),
    get: async (_ref, object, signal) => {
      if (object.kind !== "job" || object.execution?.name == null) return object;
      const executionName = object.execution.name;
      const [tasks] = await call(
        "ListTasks",
        () => clients.tasks.listTasks({ parent: executionName, pageSize: 10 }, { autoPaginate: false }),
        { signal },
      );
      return { ...object, tasks };
    },
    toStatus: toPodStatus,
    clock,
    ...(o.statusIntervals?.fastMs === undefined ? {} : { fastIntervalMs: o.statusIntervals.fastMs }),
    ...(o.statusIntervals?.slowMs === undefined ? {} : { slowIntervalMs: o.statusIntervals.slowMs }),
  });

  async function deleteJob(job: Job, signal: AbortSignal): Promise<void> {
    const id = shortName(job.name);
    const execution = job.latestCreatedExecution;
    if (execution?.name != null && execution.completionTime == null) {
      const executionName = execution.name;
      try {
        await call("CancelExecution", () => clients.executions.cancelExecution({ name: executionName }), {
          signal,
        });
      } catch (error) {
        // Already finished or gone: nothing to cancel.
        if (
          !(error instanceof NotFoundError) &&
          (error as { cloudCode?: string }).cloudCode !== "FAILED_PRECONDITION"
        )
          throw error;
      }
    }
    try {
      const [op] = await call("DeleteJob", () => clients.jobs.deleteJob({ name: `${parent}/jobs/${id}` }), {
        signal,
      });
      if (op.done !== true) {
        const name = op.name ?? "";
        await waitFor(
          `job ${id} delete`,
          () => call("GetOperation", () => clients.jobs.checkDeleteJobProgress(name), { signal }),
          signal,
        );
      }
    } catch (error) {
      if (!(error instanceof NotFoundError)) throw error;
    }
  }

  /** Deletes a Worker Pool, Service or Instance and waits for the operation (absent: done). */
  async function deleteLongRunning(
    kind: Exclude<CloudRunKind, "job">,
    id: string,
    signal: AbortSignal,
  ): Promise<void> {
    const api = { workerPool: "WorkerPool", service: "Service", instance: "Instance" }[kind];
    const start = (): Promise<[LroLike, ...unknown[]]> => {
      switch (kind) {
        case "workerPool":
          return clients.workerPools.deleteWorkerPool({ name: `${parent}/workerPools/${id}` });
        case "service":
          return clients.services.deleteService({ name: `${parent}/services/${id}` });
        case "instance":
          return clients.instances.deleteInstance({ name: `${parent}/instances/${id}` });
      }
    };
    const check = (name: string): Promise<LroLike> => {
      switch (kind) {
        case "workerPool":
          return clients.workerPools.checkDeleteWorkerPoolProgress(name);
        case "service":
          return clients.services.checkDeleteServiceProgress(name);
        case "instance":
          return clients.instances.checkDeleteInstanceProgress(name);
      }
    };
    try {
      const [op] = await call(`Delete${api}`, start, { signal });
      if (op.done !== true) {
        const name = op.name ?? "";
        await waitFor(
          `${kind} ${id} delete`,
          () => call("GetOperation", () => check(name), { signal }),
          signal,
        );
      }
    } catch (error) {
      if (!(error instanceof NotFoundError)) throw error;
    }
  }

  const owned = (resource: { annotations?: Record<string, string> | null } | undefined, ref: PodRef) =>
    resource !== undefined && parseOwnership(resource.annotations ?? undefined)?.uid === ref.uid;

  /** The pod's Job, Worker Pool, Service or Instance, found by its deterministic ids. */
  async function find(ref: PodRef, signal: AbortSignal): Promise<CloudRunObject | undefined> {
    const job = await getJob(cloudRunId(ref, "job"), signal);
    if (job !== undefined && owned(job, ref)) return { kind: "job", job };
    const workerPool = await getWorkerPool(cloudRunId(ref, "workerPool"), signal);
    if (workerPool !== undefined && owned(workerPool, ref)) return { kind: "workerPool", workerPool };
    const service = await getService(cloudRunId(ref, "service"), signal);
    if (service !== undefined && owned(service, ref)) return { kind: "service", service };
    if (o.longRunning === "instance") {
      const instance = await getInstance(cloudRunId(ref, "instance"), signal);
      if (instance !== undefined && owned(instance, ref)) return { kind: "instance", instance };
    }
    return undefined;
  }

  const provider: CloudRunProvider = {
    name: o.name,
    capabilities: cloudRunCapabilities(o.secrets),
    statusBatchSize: 1000,

    async createPod(pod, { signal }) {
      throwIfAborted(signal);
      try {
        const kind = resourceKindFor(pod, o.longRunning);
        if (kind === "job") await createJob(pod, signal);
        else await createLongRunning(pod, kind, signal);
      } finally {
        source.invalidate(pod.ref);
      }
    },

    async updatePod(pod, { signal }) {
      throwIfAborted(signal);
      const found = await find(pod.ref, signal);
      if (found === undefined)
        throw new NotFoundError(`pod ${pod.ref.namespace}/${pod.ref.name} is not on Cloud Run`);
      // A running Execution cannot change; Jobs keep their spec (documented). Worker Pools and
      // Services roll out a new revision; an Instance cannot be updated (no Update method).
      if (found.kind === "job" || found.kind === "instance") return;
      const versions = await mirrorSecrets(
        secretDeps,
        pod.ref,
        pod.nodeName,
        planSecrets(pod, mapping),
        signal,
      );
      const spec = mapPod(pod, mapping, versions);
      if (spec.kind === "service" && found.kind === "service") {
        const name = found.service.name ?? `${parent}/services/${spec.id}`;
        await call(
          "UpdateService",
          () => clients.services.updateService({ service: { ...spec.service, name } }),
          { signal, maxAttempts: 1 },
        );
      } else if (spec.kind === "workerPool" && found.kind === "workerPool") {
        const name = found.workerPool.name ?? `${parent}/workerPools/${spec.id}`;
        await call(
          "UpdateWorkerPool",
          () => clients.workerPools.updateWorkerPool({ workerPool: { ...spec.workerPool, name } }),
          { signal, maxAttempts: 1 },
        );
      }
      source.invalidate(pod.ref);
    },

    async deletePod(ref, _gracePeriodSeconds, { signal }) {
      throwIfAborted(signal);
      const found = await find(ref, signal);
      if (found?.kind === "job") await deleteJob(found.job, signal);
      else if (found !== undefined)
        await deleteLongRunning(found.kind, shortName(resourceOf(found).name), signal);
      if (o.secrets === "mirror") await deleteMirroredSecrets(secretDeps, ref, signal);
      source.invalidate(ref);
    },

    getPodStatus: (ref, callOptions) => source.getPodStatus(ref, callOptions),
    getPodStatuses: (refs, callOptions) => source.getPodStatuses(refs, callOptions),
    listPods: (name, callOptions) => source.listPods(name, callOptions),
    statusStats: () => source.stats(),

    async ping({ signal }) {
      throwIfAborted(signal);
      await call("ListJobs", () => clients.jobs.listJobs({ parent, pageSize: 1 }, { autoPaginate: false }), {
        signal,
      });
    },

    describeNode(name, { signal }) {
      return new Promise((resolve) => {
        throwIfAborted(signal);
        resolve(describeCloudRunNode(name, o));
      });
    },

    async getContainerLogs(ref, container, logOptions, { signal }): Promise<Readable> {
      throwIfAborted(signal);
      const found = await find(ref, signal);
      if (found === undefined)
        throw new NotFoundError(`pod ${ref.namespace}/${ref.name} is not on Cloud Run`);
      const containers =
        (found.kind === "job"
          ? found.job.template?.template?.containers
          : found.kind === "workerPool"
            ? found.workerPool.template?.containers
            : found.kind === "service"
              ? found.service.template?.containers
              : found.instance.containers) ?? [];
      if (!containers.some((c) => c.name === container))
        throw new NotFoundError(`container ${container} is not in pod ${ref.namespace}/${ref.name}`);
      const created = toDate(resourceOf(found).createTime) ?? new Date(clock.now());
      return readContainerLogs(
        {
          call,
          logging: clients.logging,
          project: o.project,
          region: o.region,
          clock,
          intervalMs: o.logPollIntervalMs,
        },
        {
          kind: found.kind,
          id: shortName(resourceOf(found).name),
          container,
          multiContainer: containers.length > 1,
          createdAt: created,
          finished: async () => {
            const status = await source.getPodStatus(ref, { signal });
            return status === undefined || status.phase === "Succeeded" || status.phase === "Failed";
          },
        },
        logOptions,
        signal,
      );
    },

    async close() {
      if (ownsClients) await clients.close();
    },
  };
  return provider;
}
