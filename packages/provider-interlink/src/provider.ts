/**
 * The interLink provider: the `Provider` contract over the interLink API, as thin calls through
 * the provider kit.
 *
 * Status: the provider keeps the set of pods it knows (created, adopted, or asked about) and the
 * kit's list-based status source asks `/status` for all of them in ONE call per interval, however
 * many pods and callers there are (interLink's own virtual kubelet sends one call per pod). Each
 * pod in that call carries the phase last derived (by core's `buildPodStatus`) because the interLink
 * server re-asks the site only for Pending/Running pods and answers finished ones from its cache.
 *
 * Create is safe to retry: before submitting, the pod is looked up at the site (through the same
 * shared status call, so a burst of creates shares it), and a job that exists is kept, not
 * submitted again. Submissions are never retried inside one call (`maxAttempts: 1`); a failure
 * reaches core at once with the site's message, and core retries with its per-pod backoff.
 */
import {
  NotFoundError,
  VirtualNodeError,
  describeError,
  podKey,
  systemClock,
  throwIfAborted,
} from "@virtual-node/core";
import type {
  CallOptions,
  ContainerLogOptions,
  NodeDescription,
  Pod,
  PodRef,
  Provider,
  ProviderCapabilities,
  ProviderPodStatus,
  ProviderPodSummary,
  ResolvedPod,
  UpdateOptions,
} from "@virtual-node/core";
import { buildPodStatus } from "@virtual-node/core/status";
import {
  createCloudCaller,
  createListStatusSource,
  errorFromHttpStatus,
  followLogsByPolling,
} from "@virtual-node/core/provider-kit";
import type { CloudCaller, ListStatusSource, ListStatusStats } from "@virtual-node/core/provider-kit";
import type { Readable } from "node:stream";
import type { CreateStruct, InterLinkPodStatus, PingResponse } from "./api-types.js";
import { interLinkCapabilities } from "./capabilities.js";
import { InterLinkClient } from "./client.js";
import type { InterLinkCall } from "./client.js";
import { logPage, logRequest, parseLogText } from "./logs.js";
import { toCreateRequest, wirePodRef } from "./mapping.js";
import { describeFromPing, parsePing } from "./node.js";
import { validateOptions } from "./options.js";
import type { InterLinkProviderOptions, ValidatedOptions } from "./options.js";
import { SITE_JOB_ID_ANNOTATION, statusFingerprint, toProviderPodStatus } from "./status.js";
import type { DeclaredContainers } from "./status.js";

/** A pod the provider asks the site about. */
interface KnownPod {
  ref: PodRef;
  declared: DeclaredContainers;
  /** The API pod's shape (restart policy, containers) when this agent created it: for the phase hint. */
  apiPod?: Pod;
  jobId?: string;
  /** Only asked about (`getPodStatus` of a pod we did not create): forgotten once the site says it has none. */
  probe: boolean;
  /** When the site first reported a running container (start time of a `running` without `startedAt`). */
  seenRunningAt?: Date;
  /** The phase core derives from the last answer; sent back to the interLink server as its cache hint. */
  phase?: string;
  last?: InterLinkPodStatus;
  /** When core last asked for an update the site cannot apply (interLink has no update call). */
  updateRefusedAt?: number;
}

interface Observed {
  wire: InterLinkPodStatus;
  known: KnownPod | undefined;
}

/** The interLink provider (its optional hooks are all present), with a way to release its connections. */
export interface InterLinkProvider extends Provider {
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
  /** Closes the HTTP connections to the interLink API. */
  close(): Promise<void>;
  /** Counters of the shared status source (lists = `/status` calls for status). */
  statusStats(): ListStatusStats;
}

const UPDATE_REFUSED =
  "interLink has no update call: the site's job keeps the spec it was submitted with; delete the pod (or let its controller replace it) to run the change";

const NO_CONTAINERS: DeclaredContainers = { initContainers: [], containers: [] };

function declaredOf(pod: Pod): DeclaredContainers {
  return {
    initContainers: (pod.spec?.initContainers ?? []).map((c) => c.name),
    containers: (pod.spec?.containers ?? []).map((c) => c.name),
  };
}

function parseJson(call: InterLinkCall, text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw errorFromHttpStatus(502, `interLink ${call} answered with invalid JSON`, { cause: error });
  }
}

/** Creates a provider for the interLink API at `options.url`. Options are validated at once. */
export function createInterLinkProvider(options: InterLinkProviderOptions): InterLinkProvider {
  const opts: ValidatedOptions = validateOptions(options);
  const clock = options.clock ?? systemClock;
  const client = new InterLinkClient({
    endpoint: opts.endpoint,
    ...(opts.tokenFile === undefined ? {} : { tokenFile: opts.tokenFile }),
    clock,
  });
  const call: CloudCaller = createCloudCaller({
    provider: "interlink",
    limits: opts.limits,
    // The client throws typed errors for answers; anything else is a transport failure (status 0).
    mapError: (error) =>
      error instanceof VirtualNodeError
        ? error
        : errorFromHttpStatus(0, `interLink API unreachable: ${describeError(error)}`, { cause: error }),
    clock,
    ...(options.registry === undefined ? {} : { registry: options.registry }),
  });
  const known = new Map<string, KnownPod>();
  /** Pods whose submission failed here: the site may have the job anyway. */
  const uncertain = new Set<string>();
  const startedAt = clock.now();

  /** Whether an earlier submission of this pod may exist: one failed here, or the pod predates this agent. */
  function mayExistAtSite(pod: ResolvedPod): boolean {
    if (uncertain.has(pod.ref.uid)) return true;
    const stamp: unknown = pod.pod.metadata?.creationTimestamp;
    const created =
      stamp instanceof Date ? stamp.getTime() : Date.parse(typeof stamp === "string" ? stamp : "");
    return Number.isNaN(created) || created <= startedAt;
  }
  let lastPing: { at: number; ping: PingResponse | undefined } | undefined;

  const request = (
    api: InterLinkCall,
    body: unknown,
    signal: AbortSignal,
    timeoutMs: number,
    maxAttempts?: number,
  ) =>
    call(api, (s) => client.call(api, body, s, timeoutMs), {
      signal,
      ...(maxAttempts === undefined ? {} : { maxAttempts }),
    });

  function toStatus(o: Observed): ProviderPodStatus {
    const status = toProviderPodStatus(o.wire, {
      declared: o.known?.declared ?? NO_CONTAINERS,
      ...(o.known?.seenRunningAt === undefined ? {} : { seenAt: o.known.seenRunningAt }),
    });
    const refusedAt = o.known?.updateRefusedAt;
    if (refusedAt === undefined) return status;
    return {
      ...status,
      message: UPDATE_REFUSED,
      events: [
        {
          id: `UpdateNotApplied/${String(refusedAt)}`,
          type: "Warning",
          reason: "UpdateNotApplied",
          message: UPDATE_REFUSED,
        },
      ],
    };
  }

  function observe(entry: KnownPod, wire: InterLinkPodStatus): void {
    entry.last = wire;
    if (wire.JID !== undefined && wire.JID !== "") entry.jobId = wire.JID;
    const running = [...(wire.initContainers ?? []), ...(wire.containers ?? [])].some(
      (c) => c.state?.running,
    );
    if (running && entry.seenRunningAt === undefined) entry.seenRunningAt = new Date(clock.now());
    if (entry.apiPod !== undefined) {
      const status = toStatus({ wire, known: entry });
      entry.phase = buildPodStatus(entry.apiPod, status, {
        now: new Date(clock.now()),
        runtime: "interlink",
      }).phase;
    }
  }

  /** One `/status` call for every known pod (or `[]`: every pod the interLink server knows). */
  async function listStatuses(signal: AbortSignal): Promise<Observed[]> {
    const entries = [...known.values()];
    // Pods whose phase is unknown (adopted) are sent as Running so the server asks the site again.
    const body = entries.map((k) =>
      wirePodRef(k.ref, {
        ...(k.jobId === undefined ? {} : { jobId: k.jobId }),
        phase: k.phase ?? "Running",
      }),
    );
    const res = await request("status", body, signal, opts.timeouts.requestMs);
    const answer = (parseJson("status", res.text) as InterLinkPodStatus[] | null) ?? [];
    const seen = new Set<string>();
    const observed = answer.map((wire): Observed => {
      seen.add(wire.UID);
      let entry = known.get(wire.UID);
      if (entry === undefined && body.length === 0) {
        entry = {
          ref: { namespace: wire.namespace, name: wire.name, uid: wire.UID },
          declared: NO_CONTAINERS,
          probe: false,
        };
        known.set(wire.UID, entry);
      }
      if (entry !== undefined) observe(entry, wire);
      return { wire, known: entry };
    });
    for (const entry of entries) {
      if (entry.probe && !seen.has(entry.ref.uid)) known.delete(entry.ref.uid);
    }
    return observed;
  }

  const source: ListStatusSource = createListStatusSource<Observed>({
    list: listStatuses,
    identify: (o) => ({
      namespace: o.wire.namespace,
      name: o.wire.name,
      uid: o.wire.UID,
      nodeName: opts.nodeName,
    }),
    fingerprint: (o) => statusFingerprint(o.wire),
    toStatus,
    clock,
    fastIntervalMs: opts.fastMs,
    slowIntervalMs: opts.slowMs,
  });

  /** Makes sure every ref is in the next status call. */
  function track(refs: readonly PodRef[]): void {
    let added = false;
    for (const ref of refs) {
      if (known.has(ref.uid)) continue;
      known.set(ref.uid, { ref: { ...ref }, declared: NO_CONTAINERS, probe: true });
      added = true;
    }
    if (added) source.invalidate();
  }

  async function getPodStatuses(
    refs: readonly PodRef[],
    o: CallOptions,
  ): Promise<Map<string, ProviderPodStatus | undefined>> {
    throwIfAborted(o.signal);
    track(refs);
    // A create invalidates the source, and the source never answers from a call that started before
    // an invalidate: a pod just submitted is in the answer the site gives next.
    return source.getPodStatuses(refs, o);
  }

  async function getPodStatus(ref: PodRef, o: CallOptions): Promise<ProviderPodStatus | undefined> {
    return (await getPodStatuses([ref], o)).get(podKey(ref));
  }

  async function createPod(pod: ResolvedPod, o: CallOptions): Promise<void> {
    throwIfAborted(o.signal);
    // Mapping errors (no containers, an undeclared PVC) surface before anything reaches the site.
    const body = toCreateRequest(pod, {
      nodeName: pod.nodeName || opts.nodeName,
      persistentVolumes: opts.persistentVolumes,
      ...(opts.jobScriptBuilderURL === undefined ? {} : { jobScriptBuilderURL: opts.jobScriptBuilderURL }),
    });
    const uid = pod.ref.uid;
    const apiPod: Pod = { metadata: { ...pod.pod.metadata }, spec: body.pod.spec ?? { containers: [] } };
    const current = known.get(uid);
    // The job ID this provider published on the pod (an earlier agent run): the site is asked with it.
    const publishedJobId = pod.pod.metadata?.annotations?.[SITE_JOB_ID_ANNOTATION];
    if (current !== undefined && !current.probe && current.jobId !== undefined) {
      current.apiPod ??= apiPod;
      return; // already submitted: idempotent by UID
    }
    const entry: KnownPod = current ?? { ref: { ...pod.ref }, declared: declaredOf(pod.pod), probe: false };
    entry.probe = false;
    entry.declared = declaredOf(pod.pod);
    entry.apiPod = apiPod;
    if (publishedJobId !== undefined && publishedJobId !== "") entry.jobId ??= publishedJobId;
    if (mayExistAtSite(pod) || publishedJobId !== undefined) {
      // Retry-safe: an earlier submission (one that failed or timed out here, or one from a previous
      // agent run) may have reached the site. Look first, through the shared status call.
      known.set(uid, entry);
      source.invalidate();
      if ((await source.getPodStatus(pod.ref, o)) !== undefined) {
        uncertain.delete(uid);
        return;
      }
    }
    known.set(uid, entry);
    try {
      const res = await request("create", body, o.signal, opts.timeouts.createMs, 1);
      const answer = parseJson("create", res.text) as CreateStruct | CreateStruct[];
      const created = Array.isArray(answer) ? answer.find((a) => a.PodUID === uid) : answer;
      if (created?.PodJID !== undefined && created.PodJID !== "") entry.jobId = created.PodJID;
      uncertain.delete(uid);
    } catch (error) {
      uncertain.add(uid);
      throw error;
    } finally {
      // Whether it failed or not, the next status read must ask the site again.
      source.invalidate();
    }
  }

  async function deletePod(ref: PodRef, gracePeriodSeconds: number, o: CallOptions): Promise<void> {
    throwIfAborted(o.signal);
    const entry = known.get(ref.uid);
    const body = wirePodRef(ref, {
      ...(entry?.jobId === undefined ? {} : { jobId: entry.jobId }),
      gracePeriodSeconds,
    });
    try {
      await request("delete", body, o.signal, opts.timeouts.requestMs);
    } catch (error) {
      if (!(error instanceof NotFoundError)) throw error;
    }
    known.delete(ref.uid);
    source.invalidate(ref);
  }

  async function listPods(nodeName: string, o: CallOptions): Promise<ProviderPodSummary[]> {
    throwIfAborted(o.signal);
    if (nodeName !== opts.nodeName) return [];
    // Discovery: `[]` answers every pod the interLink server knows (from its cache, without asking
    // the site), which finds pods of an earlier agent run.
    const res = await request("status", [], o.signal, opts.timeouts.requestMs);
    const answer = (parseJson("status", res.text) as InterLinkPodStatus[] | null) ?? [];
    let added = false;
    for (const wire of answer) {
      const entry = known.get(wire.UID);
      if (entry === undefined || entry.probe) {
        known.set(wire.UID, {
          ref: { namespace: wire.namespace, name: wire.name, uid: wire.UID },
          declared: entry?.declared ?? NO_CONTAINERS,
          probe: false,
        });
        added = true;
      }
    }
    if (added) source.invalidate();
    // A pod created while this list ran may be missing from it: core's reconcile does not call a pod
    // lost from a list that started before its create finished.
    return source.listPods(nodeName, o);
  }

  async function ping(o: CallOptions): Promise<void> {
    throwIfAborted(o.signal);
    // No retries: the node controller pings on its own interval and must see a failure at once.
    const res = await request("pinglink", undefined, o.signal, opts.timeouts.requestMs, 1);
    lastPing = { at: clock.now(), ping: parsePing(res.text) };
  }

  async function describeNode(_nodeName: string, o: CallOptions): Promise<NodeDescription> {
    throwIfAborted(o.signal);
    // The node controller pings on its own interval; re-ping only when that answer is stale.
    if (lastPing === undefined || clock.now() - lastPing.at > opts.fastMs * 5) {
      try {
        await ping(o);
      } catch (error) {
        throwIfAborted(o.signal);
        if (lastPing === undefined) throw error;
      }
    }
    return describeFromPing(lastPing?.ping, opts.node);
  }

  async function getContainerLogs(
    ref: PodRef,
    container: string,
    logOptions: ContainerLogOptions,
    o: CallOptions,
  ): Promise<Readable> {
    throwIfAborted(o.signal);
    const status = await getPodStatus(ref, o);
    if (status === undefined) throw new NotFoundError(`pod ${podKey(ref)} is not at the site`);
    const names = [...(status.initContainers ?? []), ...status.containers].map((c) => c.name);
    if (!names.includes(container))
      throw new NotFoundError(`pod ${podKey(ref)} has no container ${container}`);
    const ended = (): boolean => {
      const entry = known.get(ref.uid);
      return entry?.phase === "Succeeded" || entry?.phase === "Failed";
    };
    return followLogsByPolling(
      async (cursor, signal, hints) => {
        const finished = ended();
        const res = await request(
          "getLogs",
          logRequest(ref, container, logOptions, cursor, hints),
          signal,
          opts.timeouts.logsMs,
        );
        return logPage(parseLogText(res.text, new Date(clock.now())), cursor, finished);
      },
      { logOptions, signal: o.signal, clock, intervalMs: opts.logPollMs },
    );
  }

  // interLink has no update call: a submitted job keeps its spec (a pod may change only images and
  // mounted files, which a running batch job cannot take). Said on the pod, not silently dropped.
  async function updatePod(pod: ResolvedPod, o: UpdateOptions): Promise<void> {
    throwIfAborted(o.signal);
    const entry = known.get(pod.ref.uid);
    if (entry === undefined) throw new NotFoundError(`pod ${podKey(pod.ref)} is not at the site`);
    entry.updateRefusedAt = clock.now();
    source.invalidate(pod.ref);
    return Promise.resolve();
  }

  const capabilities: ProviderCapabilities = interLinkCapabilities({
    persistentVolumes: opts.persistentVolumes,
    extendedResources: opts.extendedResources,
  });

  return {
    name: "interlink",
    capabilities,
    // Any batch is served from the one shared status call, so core may ask for all pods at once.
    statusBatchSize: 10_000,
    createPod,
    updatePod,
    deletePod,
    getPodStatus,
    getPodStatuses,
    listPods,
    ping,
    describeNode,
    getContainerLogs,
    close: () => client.close(),
    statusStats: () => source.stats(),
  };
}
