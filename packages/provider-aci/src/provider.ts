/**
 * The ACI provider: thin calls through the provider kit around the pure mapping and status
 * functions. Creates and updates return once ARM accepted the PUT; the long-running operation is
 * then followed in the background (its poller, through the kit's `pollUntil`), so the work queue is
 * never blocked on provisioning. Status for every pod comes from one paged list per interval.
 */
import type { ContainerGroup } from "@azure/arm-containerinstance";
import { ContainerInstanceManagementClient, getContinuationToken } from "@azure/arm-containerinstance";
import { isRestError } from "@azure/core-rest-pipeline";
import type { PipelinePolicy } from "@azure/core-rest-pipeline";
import { DefaultAzureCredential } from "@azure/identity";
import {
  AbortedError,
  InvalidInputError,
  NotFoundError,
  PermanentError,
  VirtualNodeError,
  podKey,
  systemClock,
  throwIfAborted,
} from "@virtual-node/core";
import type {
  CallOptions,
  Clock,
  ContainerLogOptions,
  ExecResult,
  ExecStreams,
  NodeDescription,
  PodRef,
  Provider,
  ProviderPodStatus,
  ProviderPodSummary,
  ResolvedPod,
  UpdateOptions,
} from "@virtual-node/core";
import {
  createCloudCaller,
  createListStatusSource,
  followLogsByPolling,
  fromAzureError,
  parseOwnership,
  pollUntil,
} from "@virtual-node/core/provider-kit";
import type { CloudCaller, ListStatusSource, ListStatusStats } from "@virtual-node/core/provider-kit";
import { aciCapabilities } from "./capabilities.js";
import { bridgeAttach, bridgeExec } from "./exec.js";
import { fetchLogPage } from "./logs.js";
import { AciTags, containerGroupName, toContainerGroup } from "./mapping.js";
import type { MappedGroup, MappingOptions } from "./mapping.js";
import { describeAciNode } from "./node.js";
import { ACI_RATE_LIMITS, validateOptions } from "./options.js";
import type { AciProviderOptions } from "./options.js";
import { CLAIM_HEADER, getProfileRevision, standbyPolicy } from "./profile.js";
import { STANDBY_TAG, StandbyAnnotations, standbyClaim } from "./standby.js";
import type { ContainerGroupProfileResource, StandbyClaimRequest, StartPath } from "./standby.js";
import { toPodStatus } from "./status.js";

/** Operation names of reads and writes, for the `x-ms-ratelimit-remaining-*` feedback. */
const READ_APIS = [
  "ContainerGroups.Get",
  "ContainerGroups.ListByResourceGroup",
  "ContainerGroups.Poll",
  "Containers.ListLogs",
  "ContainerGroupProfiles.GetByRevision",
];
const WRITE_APIS = ["ContainerGroups.CreateOrUpdate", "ContainerGroups.Delete", "Containers.ExecuteCommand"];
const STALE_FILES_MESSAGE =
  "a mounted ConfigMap or Secret changed; ACI cannot update a running group's files without restarting it: restart the pod to see the change";
/** Below this many remaining requests in ARM's window, the limiters slow down before ARM throttles. */
const LOW_REMAINING = 50;

interface Tracked {
  ref: PodRef;
  /** When the current create/update was accepted: the start of the provisioning deadline. */
  since: number;
  operationError?: { code: string; message: string };
  /** When files changed in the API but not in the running group (`fileUpdates: notify`). */
  staleFilesSince?: number;
  operation?: AbortController;
  /** Why the pod's group was created cold although a standby pool is configured. */
  coldReason?: string;
}

/** The ACI provider (every optional hook it implements made required), with counters for tests and dashboards. */
export type AciProvider = Provider &
  Required<
    Pick<Provider, "getPodStatuses" | "ping" | "describeNode" | "getContainerLogs" | "exec" | "attach">
  > & {
    /** Status-source counters (lists, pages, gets). */
    statusStats(): ListStatusStats;
    /** The kit's caller: its limiters (one per ARM operation) show throttles and current rates. */
    call: CloudCaller;
    /** Stops background operation polling. */
    close(): void;
  };

/** Creates the ACI provider. Throws `InvalidInputError` naming the option when an option is wrong. */
export function createAciProvider(options: AciProviderOptions): AciProvider {
  validateOptions(options);
  const clock = options.clock ?? systemClock;
  const rg = options.resourceGroup;
  const client =
    options.client ??
    new ContainerInstanceManagementClient(
      options.credential ?? new DefaultAzureCredential(),
      options.subscriptionId,
      {
        ...options.clientOptions,
        // The kit's caller retries (with the limiter and Retry-After); SDK retries would hide throttles from it.
        retryOptions: { maxRetries: 0 },
      },
    );
  const call: CloudCaller = createCloudCaller({
    provider: "aci",
    limits: { ...ACI_RATE_LIMITS, ...options.limits },
    mapError: fromAzureError,
    clock,
    ...(options.registry === undefined ? {} : { registry: options.registry }),
  });
  client.pipeline.addPolicy(remainingHeadersPolicy(call));
  const pool = options.standbyPool;
  /** Claim bodies by group name while their PUT is in flight; ARM's `isCreatedFromStandbyPool` by group name. */
  const claims = new Map<string, StandbyClaimRequest>();
  const fromPool = new Map<string, boolean>();
  if (pool !== undefined) client.pipeline.addPolicy(standbyPolicy(claims, fromPool));

  const tracked = new Map<string, Tracked>();
  const lifetime = new AbortController();
  /**
   * The profile revision (immutable once read), shared by concurrent creates: read under the
   * provider's lifetime, not one pod's signal. A failed read is tried again at the next create.
   */
  let profile: Promise<ContainerGroupProfileResource> | undefined;
  const loadProfile = (): Promise<ContainerGroupProfileResource> => {
    if (pool === undefined) return Promise.reject(new Error("no standby pool"));
    if (profile === undefined) {
      const read = call(
        "ContainerGroupProfiles.GetByRevision",
        (s) => getProfileRevision(client, pool.profileId, pool.profileRevision, s),
        { signal: lifetime.signal },
      );
      profile = read;
      read.catch(() => {
        if (profile === read) profile = undefined;
      });
    }
    return profile;
  };
  const deadlineMs = options.provisioningDeadlineMs ?? 600_000;
  const fastMs = options.fastStatusIntervalMs ?? 2_000;
  const slowMs = options.slowStatusIntervalMs ?? 15_000;
  const refreshAlways = options.detailRefreshMs?.always ?? 300_000;
  const refreshJob = options.detailRefreshMs?.job ?? 60_000;
  const settledByName = new Map<string, boolean>();
  const nodeNames = new Set<string>();

  const trackedOf = (ref: PodRef): Tracked | undefined => {
    const t = tracked.get(podKey(ref));
    return t?.ref.uid === ref.uid ? t : undefined;
  };

  /** Changes when the group's details must be read again although its list entry did not change. */
  const fingerprint = (group: ContainerGroup): string => {
    const name = group.name ?? "";
    const ref = parseOwnership(group.tags);
    const t = ref === undefined ? undefined : trackedOf(ref);
    const state = group.provisioningState ?? "";
    const settled = settledByName.get(name) === true;
    const period = !settled ? fastMs : group.restartPolicy === "Always" ? refreshAlways : refreshJob;
    // Spread the refreshes of many groups over the period instead of all at once.
    const offset = [...name].reduce((h, ch) => (h * 31 + ch.charCodeAt(0)) % period, 0);
    const bucket = Math.floor((clock.now() + offset) / period);
    const overdue = t !== undefined && clock.now() - t.since > deadlineMs;
    return [
      state,
      group.tags?.[AciTags.files] ?? "",
      bucket,
      overdue,
      t?.operationError?.code ?? "",
      t?.staleFilesSince ?? "",
    ].join("|");
  };

  const statusOf = (group: ContainerGroup): ProviderPodStatus => {
    const ref = parseOwnership(group.tags);
    const t = ref === undefined ? undefined : trackedOf(ref);
    const status = toPodStatus(group, {
      now: clock.now(),
      ...(t === undefined ? {} : { provisioningSince: t.since }),
      provisioningDeadlineMs: deadlineMs,
      ...(t?.operationError === undefined ? {} : { operationError: t.operationError }),
    });
    if (pool !== undefined) {
      const path: StartPath =
        fromPool.get(group.name ?? "") === true
          ? "standby-pool"
          : group.tags?.[STANDBY_TAG] === "standby-claim"
            ? "standby-fallback"
            : "cold";
      status.annotations = {
        ...status.annotations,
        [StandbyAnnotations.startPath]: path,
        ...(path === "cold" && t?.coldReason !== undefined
          ? { [StandbyAnnotations.startPathReason]: t.coldReason }
          : {}),
      };
    }
    if (t?.staleFilesSince !== undefined && status.phase !== "Failed") {
      status.message = STALE_FILES_MESSAGE;
      status.events = [
        ...(status.events ?? []),
        {
          id: `MountedFilesStale/${String(t.staleFilesSince)}`,
          type: "Warning",
          reason: "MountedFilesStale",
          message: STALE_FILES_MESSAGE,
        },
      ];
    }
    const phase = status.phase;
    settledByName.set(
      group.name ?? "",
      phase === "Failed" ||
        phase === "Succeeded" ||
        (group.provisioningState === "Succeeded" && status.containers.every((c) => !("waiting" in c.state))),
    );
    return status;
  };

  async function* listPages(signal: AbortSignal): AsyncIterable<ContainerGroup[]> {
    let token: string | undefined;
    do {
      const page = await call(
        "ContainerGroups.ListByResourceGroup",
        async (s) => {
          // A fresh iterator per page, so a retried page restarts from its own link.
          const pages = client.containerGroups
            .listByResourceGroup(rg, { abortSignal: s })
            .byPage(token === undefined ? {} : { continuationToken: token });
          const next = await pages.next();
          return next.done === true
            ? undefined
            : { groups: next.value, next: getContinuationToken(next.value) };
        },
        { signal },
      );
      if (page === undefined) return;
      token = page.next;
      yield page.groups.filter((g) => {
        const owner = parseOwnership(g.tags);
        return owner !== undefined && (nodeNames.size === 0 || nodeNames.has(owner.nodeName));
      });
    } while (token !== undefined);
  }

  const source: ListStatusSource = createListStatusSource<ContainerGroup>({
    list: listPages,
    identify: (g) => parseOwnership(g.tags),
    fingerprint,
    needsDetail: () => true, // the list view has no instance view (container states, events)
    get: async (_ref, g, signal) => {
      try {
        return await call(
          "ContainerGroups.Get",
          (s) => client.containerGroups.get(rg, g.name ?? "", { abortSignal: s }),
          { signal },
        );
      } catch (error) {
        if (error instanceof NotFoundError) return undefined;
        throw error;
      }
    },
    toStatus: statusOf,
    clock,
    fastIntervalMs: fastMs,
    slowIntervalMs: slowMs,
  });

  /** Follows a create/update LRO in the background; records ARM's error for the pod's status. */
  function followOperation(
    ref: PodRef,
    entry: Tracked,
    poller: {
      poll(o: { abortSignal: AbortSignal }): Promise<void>;
      isDone(): boolean;
      getOperationState(): { status: string; error?: Error };
    },
  ): void {
    entry.operation?.abort();
    const controller = new AbortController();
    entry.operation = controller;
    const signal = AbortSignal.any([controller.signal, lifetime.signal]);
    const fail = (error: unknown): void => {
      const mapped = operationFailure(error, clock.now());
      const code = mapped.cloudCode ?? "ProvisioningFailed";
      // The status shows `code: message`; the error's own message already starts with the code.
      entry.operationError = { code, message: mapped.message.replace(`${code}: `, "") };
      source.invalidate(ref);
    };
    void pollUntil(
      async (s) => {
        const failed = await call("ContainerGroups.Poll", (cs) => pollOnce(poller, cs, clock), { signal: s });
        if (failed !== undefined) return { done: true, value: failed };
        return poller.isDone() ? { done: true, value: undefined } : { done: false };
      },
      {
        signal,
        clock,
        backoff: { baseMs: 2_000, maxMs: 15_000, factor: 1.5, jitter: "equal" },
        description: `container group ${containerGroupName(ref)} create`,
      },
    ).then(
      (error: unknown) => {
        if (error !== undefined) fail(error);
        else source.invalidate(ref);
      },
      (error: unknown) => {
        if (!signal.aborted) fail(error);
      },
    );
  }

  /**
   * The group of a create: a claim from the standby pool when the pod fits its profile, else the
   * cold mapping (with the reason it did not fit).
   */
  async function decide(
    pod: ResolvedPod,
    mapping: MappingOptions,
    signal: AbortSignal,
  ): Promise<{ mapped: MappedGroup; claim?: StandbyClaimRequest; coldReason?: string }> {
    if (pool === undefined) return { mapped: toContainerGroup(pod, mapping) };
    let revision: ContainerGroupProfileResource;
    try {
      revision = await loadProfile();
    } catch (error) {
      if (signal.aborted) throw error;
      const mapped = toContainerGroup(pod, mapping);
      const why = error instanceof Error ? error.message : String(error);
      return {
        mapped,
        coldReason: `profile ${pool.profileId} revision ${String(pool.profileRevision)} unreadable: ${why}`,
      };
    }
    const decision = standbyClaim(pod, revision, { mapping, pool });
    return decision.path === "claim"
      ? { mapped: decision.mapped, claim: decision.request }
      : { mapped: decision.mapped, coldReason: decision.reason };
  }

  async function put(pod: ResolvedPod, signal: AbortSignal, create = false): Promise<void> {
    const mapping: MappingOptions = {
      nodeName: pod.nodeName,
      location: options.region,
      osType: options.osType ?? "Linux",
      ...(options.subnetIds === undefined ? {} : { subnetIds: options.subnetIds }),
      ...(options.dnsConfig === undefined ? {} : { dnsConfig: options.dnsConfig }),
      ...(options.defaultIdentity === undefined ? {} : { defaultIdentity: options.defaultIdentity }),
      ...(options.logAnalytics === undefined ? {} : { logAnalytics: options.logAnalytics }),
      ...(options.tags === undefined ? {} : { tags: options.tags }),
      ...(options.gpuSku === undefined ? {} : { gpuSku: options.gpuSku }),
      ...(options.registryCredentials === undefined
        ? {}
        : { registryCredentials: options.registryCredentials }),
    };
    // Only creates claim: a running group is updated with its full body, as any other.
    const decided = create ? await decide(pod, mapping, signal) : { mapped: toContainerGroup(pod, mapping) };
    const mapped = decided.mapped;
    let coldReason = decided.coldReason;
    throwIfAborted(signal);
    nodeNames.add(pod.nodeName);
    const send = (claim: boolean) =>
      call(
        "ContainerGroups.CreateOrUpdate",
        (s) =>
          client.containerGroups.beginCreateOrUpdate(rg, mapped.name, mapped.group, {
            abortSignal: s,
            ...(claim ? { requestOptions: { customHeaders: { [CLAIM_HEADER]: mapped.name } } } : {}),
          }),
        { signal },
      );
    let poller: Awaited<ReturnType<typeof send>>;
    if (decided.claim === undefined) poller = await send(false);
    else {
      claims.set(mapped.name, decided.claim);
      try {
        poller = await send(true);
      } catch (error) {
        // A refused claim (a profile or pool ARM does not accept) falls back to the cold create,
        // unless the pool is all the user wants (`failOnReuseFailure`): then the error stands and
        // core retries the create (a reuse failure is retryable) until the pool has a ready group.
        const refused = error instanceof InvalidInputError || error instanceof NotFoundError;
        if (pool?.failOnReuseFailure === true || !refused) throw error;
        coldReason = `the claim was refused (${error.message}); created cold`;
        claims.delete(mapped.name);
        poller = await send(false);
      } finally {
        claims.delete(mapped.name);
      }
    }
    const entry: Tracked = { ...trackedOf(pod.ref), ref: pod.ref, since: clock.now() };
    delete entry.operationError;
    delete entry.staleFilesSince;
    delete entry.coldReason;
    if (coldReason !== undefined) entry.coldReason = coldReason;
    tracked.set(podKey(pod.ref), entry);
    source.invalidate(pod.ref);
    if (poller.isDone()) return;
    followOperation(pod.ref, entry, poller);
  }

  async function getGroup(name: string, signal: AbortSignal): Promise<ContainerGroup | undefined> {
    try {
      return await call(
        "ContainerGroups.Get",
        (s) => client.containerGroups.get(rg, name, { abortSignal: s }),
        { signal },
      );
    } catch (error) {
      if (error instanceof NotFoundError) return undefined;
      throw error;
    }
  }

  const provider: AciProvider = {
    name: "aci",
    capabilities: aciCapabilities,
    statusBatchSize: 1000,

    async createPod(pod, { signal }) {
      throwIfAborted(signal);
      nodeNames.add(pod.nodeName);
      const existing = await getGroup(containerGroupName(pod.ref), signal);
      if (existing !== undefined && parseOwnership(existing.tags)?.uid === pod.ref.uid) {
        // Already there (a retried create, or adoption after a restart): never create twice.
        if (trackedOf(pod.ref) === undefined)
          tracked.set(podKey(pod.ref), { ref: pod.ref, since: clock.now() });
        return;
      }
      await put(pod, signal, true);
    },

    async updatePod(pod, { signal, reason }: UpdateOptions) {
      throwIfAborted(signal);
      const name = containerGroupName(pod.ref);
      const existing = await getGroup(name, signal);
      if (existing === undefined) throw new NotFoundError(`container group ${name} not found`);
      if (reason === "volumes" && (options.fileUpdates ?? "notify") === "notify") {
        const entry = trackedOf(pod.ref) ?? { ref: pod.ref, since: clock.now() };
        // Each change is its own event (a new id); the message stays until the pod is recreated.
        entry.staleFilesSince = clock.now();
        tracked.set(podKey(pod.ref), entry);
        source.invalidate(pod.ref);
        return;
      }
      await put(pod, signal);
    },

    async deletePod(ref, _grace, { signal }) {
      throwIfAborted(signal);
      const name = containerGroupName(ref);
      trackedOf(ref)?.operation?.abort();
      try {
        const poller = await call(
          "ContainerGroups.Delete",
          (s) => client.containerGroups.beginDelete(rg, name, { abortSignal: s }),
          { signal },
        );
        if (!poller.isDone()) {
          await pollUntil(
            async (s) => {
              const failed = await call("ContainerGroups.Poll", (cs) => pollOnce(poller, cs, clock), {
                signal: s,
              });
              if (failed !== undefined) throw failed;
              return poller.isDone() ? { done: true, value: undefined } : { done: false };
            },
            {
              signal,
              clock,
              backoff: { baseMs: 1_000, maxMs: 5_000, factor: 1.5, jitter: "equal" },
              description: `container group ${name} delete`,
            },
          );
        }
      } catch (error) {
        if (!(error instanceof NotFoundError)) throw error;
      }
      if (trackedOf(ref) !== undefined) tracked.delete(podKey(ref));
      settledByName.delete(name);
      fromPool.delete(name);
      source.invalidate(ref);
    },

    getPodStatus: (ref, o) => source.getPodStatus(ref, o),
    getPodStatuses: (refs, o) => source.getPodStatuses(refs, o),

    async listPods(nodeName, o: CallOptions): Promise<ProviderPodSummary[]> {
      throwIfAborted(o.signal);
      nodeNames.add(nodeName);
      return source.listPods(nodeName, o);
    },

    async ping({ signal }) {
      throwIfAborted(signal);
      // A GET of a name that cannot exist: ResourceNotFound proves the group is reachable and the
      // credentials work, ResourceGroupNotFound / 403 say what is wrong.
      try {
        await call(
          "ContainerGroups.Get",
          (s) => client.containerGroups.get(rg, "virtual-node-ping", { abortSignal: s }),
          { signal, maxAttempts: 1 },
        );
      } catch (error) {
        if (error instanceof NotFoundError && error.cloudCode !== "ResourceGroupNotFound") return;
        if (error instanceof AbortedError) throw error;
        throw error instanceof NotFoundError
          ? new PermanentError(`resource group ${rg}: ${error.message}`, { cause: error })
          : error;
      }
    },

    describeNode: (nodeName, o): Promise<NodeDescription> =>
      describeAciNode(client, call, options, nodeName, o.signal),

    async getContainerLogs(
      ref: PodRef,
      container: string,
      logOptions: ContainerLogOptions,
      { signal }: CallOptions,
    ) {
      const name = containerGroupName(ref);
      return followLogsByPolling(
        (cursor, s, hints) =>
          fetchLogPage({
            client,
            call,
            rg,
            name,
            container,
            cursor,
            signal: s,
            hints,
            logOptions,
            isOver: async () => {
              const status = await source.getPodStatus(ref, { signal: s });
              const c =
                status?.containers.find((x) => x.name === container) ??
                status?.initContainers?.find((x) => x.name === container);
              return (
                status === undefined ||
                status.phase === "Succeeded" ||
                status.phase === "Failed" ||
                (c !== undefined && "terminated" in c.state && status.phase !== undefined)
              );
            },
          }),
        { logOptions, signal, clock, intervalMs: options.logPollIntervalMs ?? 2_000 },
      );
    },

    exec(
      ref: PodRef,
      container: string,
      command: readonly string[],
      streams: ExecStreams,
      { signal }: CallOptions,
    ): Promise<ExecResult> {
      return bridgeExec({
        client,
        call,
        rg,
        name: containerGroupName(ref),
        container,
        command,
        streams,
        signal,
        mode: options.execMode ?? "shell",
        ...(options.webSocket === undefined ? {} : { webSocket: options.webSocket }),
      });
    },

    attach(
      ref: PodRef,
      container: string,
      streams: ExecStreams,
      { signal }: CallOptions,
    ): Promise<ExecResult> {
      return bridgeAttach({
        client,
        call,
        rg,
        name: containerGroupName(ref),
        container,
        streams,
        signal,
        ...(options.webSocket === undefined ? {} : { webSocket: options.webSocket }),
      });
    },

    statusStats: () => source.stats(),
    call,
    close: () => {
      lifetime.abort();
    },
  };
  return provider;
}

/** What {@link pollOnce} needs of an SDK poller. */
interface PollerLike {
  poll(o: { abortSignal: AbortSignal }): Promise<unknown>;
  getOperationState(): { status: string; error?: Error };
}

/**
 * One poll of a long-running operation. A failed or canceled operation is an answer, not a transient
 * error: it is returned (typed by its ARM code) so the caller stops polling and the kit's caller
 * never retries it; only transport and HTTP errors of the poll itself are thrown.
 */
async function pollOnce(
  poller: PollerLike,
  signal: AbortSignal,
  clock: Clock,
): Promise<VirtualNodeError | undefined> {
  try {
    await poller.poll({ abortSignal: signal });
    return undefined;
  } catch (error) {
    const state = poller.getOperationState();
    if (state.status === "failed" || state.status === "canceled")
      return operationFailure(state.error ?? error, clock.now());
    throw error;
  }
}

/**
 * A failed ARM operation → a typed error with ARM's code and message. core-lro reports it as a plain
 * `Error` ("The long-running operation has failed. <code>. <message>"), which the kit would take for
 * a transient failure. The code decides through the kit's Azure table (`InternalServerError`,
 * `Conflict`: retryable; auth codes: permanent); any other code of a failed operation is the
 * request's fault (invalid input, e.g. `InaccessibleImage`), as ARM reports it with HTTP 400 on a PUT.
 */
export function operationFailure(error: unknown, now: number): VirtualNodeError {
  if (error instanceof VirtualNodeError) return error;
  const text = error instanceof Error ? error.message : String(error);
  const m = /has failed\.\s+([A-Za-z][\w.]*)\.\s+([\s\S]*)$/.exec(text);
  if (m?.[1] === undefined) return fromAzureError(error, now);
  const code = m[1];
  const message = (m[2] ?? "").trim() || code;
  // The Azure shape the kit classifies (a RestError without a response of its own).
  return fromAzureError(
    {
      name: "RestError",
      code,
      message: `${code}: ${message}`,
      statusCode: code === "canceled" ? 409 : 400,
      response: { headers: {} },
      cause: error,
    },
    now,
  );
}

/**
 * Reads ARM's `x-ms-ratelimit-remaining-subscription-{reads,writes}` and slows the limiters when low.
 * Error answers count too: the deserialization policy after this one throws them as a `RestError`
 * (which still carries the response), so they are read from the error.
 */
function remainingHeadersPolicy(call: CloudCaller): PipelinePolicy {
  const observe = (headers: { get(name: string): string | undefined } | undefined): void => {
    const reads = Number(headers?.get("x-ms-ratelimit-remaining-subscription-reads") ?? Number.NaN);
    const writes = Number(headers?.get("x-ms-ratelimit-remaining-subscription-writes") ?? Number.NaN);
    if (reads < LOW_REMAINING) for (const api of READ_APIS) call.limiters.get(api).onThrottle();
    if (writes < LOW_REMAINING) for (const api of WRITE_APIS) call.limiters.get(api).onThrottle();
  };
  return {
    name: "virtualNodeAciRemainingRequests",
    async sendRequest(request, next) {
      try {
        const response = await next(request);
        observe(response.headers);
        return response;
      } catch (error) {
        if (isRestError(error)) observe(error.response?.headers);
        throw error;
      }
    },
  };
}
