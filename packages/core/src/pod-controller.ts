/**
 * The pod's path: watch → queue → provider → status.
 *
 * Watch handlers only enqueue `namespace/name`. One sync per key at a time (the work queue
 * guarantees it) compares three things — the API pod, what the provider holds (`tracked`), and
 * the provider's latest status — and does the one step that brings them together:
 * create, update, delete, write status, or delete the API object.
 *
 * Status arrives from the poller (`pod-status-poller.ts`, batched when the provider can) or by push;
 * either way it lands in `tracked` and the key is enqueued. Status is written only when it changed.
 * Around the sync: provider calls are counted and traced by a decorator
 * (`provider-instrumentation.ts`), what the provider publishes besides status is `pod-publish.ts`,
 * the continuous reconcile's decisions are `pod-reconcile.ts`, and one place classifies a failure
 * (`pod-failure.ts`).
 */
import { trace, SpanStatusCode } from "@opentelemetry/api";
import { describeError } from "./errors.js";
import type { EventRecorder } from "./events.js";
import { isConflict, isNotFound } from "./kube/client.js";
import { finalStatusObservable, podStatusPatch, type PodApi } from "./kube/pod-api.js";
import { MERGE_PATCH } from "./kube/merge-patch.js";
import { paths } from "./kube/api.js";
import type { Node, Pod, PodStatus } from "./kube/types.js";
import type { Logger } from "./logger.js";
import { admitPod, type AdmissionRejection } from "./admission.js";
import { NodeUsage, ReportingMap } from "./node-usage.js";
import type { NodeMetrics } from "./metrics.js";
import type { ResolvePodConfigResult } from "./config/resolve.js";
import { podKey, podRefOf, type PodRef, type Provider, type ProviderPodStatus } from "./provider.js";
import {
  buildPodStatus,
  failedPodStatus,
  isTerminalPhase,
  mergePodStatus,
  pendingWithContainerWaiting,
  podStatusEqual,
  terminatedPodStatus,
  type BuildPodStatusContext,
} from "./status.js";
import { unsupportedFieldsMessage, validatePodAgainstCapabilities } from "./validate.js";
import { WorkQueue } from "./work-queue.js";
import { classifyPodError } from "./pod-failure.js";
import { ItemExponentialRateLimiter } from "./backoff.js";
import { isAborted, untilAborted } from "./sleep.js";
import { BillingMeter } from "./billing.js";
import { createSystemClock, systemClock, type Clock } from "./clock.js";
import { instrumentProvider, type InstrumentedCalls } from "./provider-instrumentation.js";
import { StatusPoller } from "./pod-status-poller.js";
import { planReconcile, type ReconcileTracked } from "./pod-reconcile.js";
import { ProviderPublisher, podObjectRef, type AnnotationWrite, type PublishState } from "./pod-publish.js";
import {
  activeDeadlineAt,
  downwardMetadataHash,
  mutableSpecHash,
  needsPodIP,
  volumesHash,
} from "./pod-fingerprints.js";

const tracer = trace.getTracer("@virtual-node/core");

export interface PodControllerOptions {
  /** The API calls the controller makes (`kube/pod-api.ts`); a `KubeClient` in production. */
  client: PodApi;
  nodeName: string;
  provider: Provider;
  logger: Logger;
  metrics: NodeMetrics;
  events: EventRecorder;
  /** Reads the informer cache. */
  getPod: (key: string) => Pod | undefined;
  /** True once the pod informer has listed. */
  podsSynced: () => boolean;
  /**
   * Resolves env, volumes and tokens (`config/resolve.ts`) with the pod IPs reserved for it, if any;
   * throws ConfigError for missing references.
   */
  resolvePod: (
    pod: Pod,
    signal: AbortSignal,
    podIPs: string[] | undefined,
  ) => Promise<ResolvePodConfigResult>;
  /** Called when a pod is gone, so the objects only it referenced stop being watched. */
  releaseReferences: (podKey: string) => void;
  concurrency: number;
  /** Poll interval while pods are starting. Default 1 s. */
  fastPollMs: number;
  /** Poll interval when every pod is steady (or when the provider pushes). Default 10 s. */
  slowPollMs: number;
  /** How often to list the provider for orphans and lost pods. Default 60 s. */
  reconcileIntervalMs: number;
  /** A provider pod without an API pod is deleted only after this long. Default 2 min. */
  orphanGraceMs: number;
  hostIP: string;
  /** Cap of the per-pod retry backoff. Default 60 s. */
  maxRetryDelayMs: number;
  /** The Node as last written, for admission (OS, node affinity, allocatable); none → admit all. */
  getNode?: () => Node | undefined;
  /**
   * Time: deadlines, token refreshes, the orphan grace, poll and reconcile waits, retry delays, status
   * timestamps and billing. Default: the system clock.
   */
  clock?: Clock;
}

/** What we know the provider holds for a key. */
interface Tracked extends PublishState {
  ref: PodRef;
  /** Latest provider status; undefined = not yet observed. */
  status?: ProviderPodStatus;
  /** The provider said it has no such pod (while we thought it had). */
  missing?: boolean;
  /** Fingerprint of the mutable spec last sent to the provider. */
  specHash: string;
  /** Labels and annotations as last seen, for pods whose downward-API files show them. */
  metadataHash?: string;
  /** How many of the pod's ephemeral containers were already reported (they are only ever added). */
  ephemeralSeen?: number;
  /** Our status reached a terminal phase: stop polling. */
  terminal?: boolean;
  /** Fingerprint of the volume files last sent to the provider. */
  volumesHash?: string;
  /** A referenced ConfigMap/Secret changed, or a token is due: re-resolve the volumes. */
  refreshVolumes?: boolean;
  /** When the earliest projected token must be refreshed (ms since epoch). */
  refreshAt?: number;
}

/** How long a pod waits for its node's first status write before admission is tried again. */
const NODE_STATUS_WAIT_MS = 500;

export class PodController {
  private readonly options: PodControllerOptions;
  private readonly clock: Clock;
  private readonly queue: WorkQueue;
  /** What the tracked and admitting pods request, for admission (`node-usage.ts`). */
  private readonly usage = new NodeUsage((key) =>
    this.tracked.has(key) || this.admitting.has(key) ? this.options.getPod(key) : undefined,
  );
  private readonly tracked = new ReportingMap<string, Tracked>((key) => {
    this.usage.markChanged(key);
  });
  /** `key@uid` → when the provider pod was first listed without an API pod (`pod-reconcile.ts`). */
  private orphanSince: ReadonlyMap<string, number> = new Map<string, number>();
  /** API pods seen deleted whose provider pod must still go. */
  private readonly deletedPods = new Map<string, Pod>();
  /** UIDs whose grace-0 DELETE was accepted; forgotten when the watch reports the pod gone. */
  private readonly finalDeletes = new Set<string>();
  /** When each pod's create in the provider finished (clock ms), so a reconcile list older than it does not call it lost. */
  private readonly createdAt = new Map<string, number>();
  /** Pods whose IPs were reserved in the provider (`allocatePodIPs`), until the API pod is gone. */
  private readonly ipReservations = new Map<string, PodRef>();
  /** Keys admitted whose create is still running: they hold node resources for admission. */
  private readonly admitting = new ReportingMap<string, true>((key) => {
    this.usage.markChanged(key);
  });
  private unsubscribe: (() => void) | undefined;
  /** Billed vCPU/GiB-seconds of Running pods (`billing.ts`), charged to the metrics. */
  private readonly billing: BillingMeter;
  /** The provider's pod calls, counted and traced (`provider-instrumentation.ts`). */
  private readonly calls: InstrumentedCalls;
  private readonly publisher: ProviderPublisher;
  private readonly poller: StatusPoller;

  constructor(options: PodControllerOptions) {
    this.options = options;
    this.clock = options.clock ?? systemClock;
    const provider = options.provider.name;
    this.billing = new BillingMeter({
      clock: options.clock ?? createSystemClock({ unref: true }),
      record: (namespace, usage) => {
        options.metrics.podBilledVcpuSeconds.inc({ provider, namespace }, usage.vcpuSeconds);
        options.metrics.podBilledMemoryGiBSeconds.inc({ provider, namespace }, usage.memoryGiBSeconds);
      },
    });
    this.calls = instrumentProvider(options.provider, options.metrics);
    this.publisher = new ProviderPublisher({
      providerName: provider,
      events: options.events,
      logger: options.logger,
      billing: this.billing,
    });
    this.poller = new StatusPoller({
      calls: this.calls,
      batchSize: options.provider.statusBatchSize ?? 100,
      pushes: options.provider.subscribeStatus !== undefined,
      fastPollMs: options.fastPollMs,
      slowPollMs: options.slowPollMs,
      clock: this.clock,
      logger: options.logger,
      pods: () => [...this.tracked.values()].filter((t) => !t.terminal && !t.missing),
      observe: (ref, status) => {
        this.observeStatus(ref, status);
      },
    });
    this.queue = new WorkQueue({
      concurrency: options.concurrency,
      name: `pods-${options.nodeName}`,
      logger: options.logger,
      clock: this.clock,
      // Pods wait on things that fix themselves (a Secret appears, a throttle ends): retry for
      // ever, but never slower than once a minute.
      rateLimiter: new ItemExponentialRateLimiter({ baseMs: 100, maxMs: options.maxRetryDelayMs }),
      onMetrics: (m) => {
        if (m.type === "retry") options.metrics.queueRetries.inc();
      },
    });
  }

  /** Informer handlers: enqueue only. */
  onPodUpsert(pod: Pod): void {
    const key = podKey(podRefOf(pod));
    this.usage.markChanged(key);
    this.enqueue(key);
  }

  /** A ConfigMap or Secret these pods refer to changed (or appeared): re-resolve them. */
  onReferenceChanged(podKeys: Iterable<string>): void {
    for (const key of podKeys) {
      const t = this.tracked.get(key);
      if (t) t.refreshVolumes = true;
      this.enqueue(key);
    }
  }

  onPodDelete(pod: Pod): void {
    const key = podKey(podRefOf(pod));
    this.usage.markChanged(key);
    this.finalDeletes.delete(pod.metadata?.uid ?? "");
    this.deletedPods.set(key, pod);
    this.enqueue(key);
  }

  /** Number of pods this node tracks in its provider. */
  get trackedCount(): number {
    return this.tracked.size;
  }

  /**
   * Syncs every pod that waits out a retry delay now: the API server answers again, and the delays
   * grew while it did not (a status write failed over and over), not because the pod is broken.
   */
  retryNow(): void {
    this.queue.retryWaitingNow();
  }

  /**
   * Adopts what the provider already runs (after a restart: no duplicates, no restarts), then
   * processes the queue, polls status and reconciles until `signal` aborts.
   */
  async run(signal: AbortSignal): Promise<void> {
    await this.adopt(signal);
    const { provider, nodeName } = this.options;
    if (provider.subscribeStatus) {
      this.unsubscribe = provider.subscribeStatus(nodeName, (ref, status) => {
        this.observeStatus(ref, status);
      });
    }
    const processing = this.queue.process(async (key, sig) => this.sync(key, sig));
    const loops = [this.poller.run(signal), this.reconcileLoop(signal)];
    const flushBilling = (): void => {
      this.billing.flush();
    };
    this.options.metrics.billingFlushers.add(flushBilling);
    await untilAborted(signal);
    this.billing.flush();
    this.options.metrics.billingFlushers.delete(flushBilling);
    this.unsubscribe?.();
    await this.queue.shutDown();
    await Promise.allSettled([processing, ...loops]);
  }

  private enqueue(key: string): void {
    this.options.metrics.queueAdds.inc();
    this.queue.add(key);
    this.options.metrics.queueDepth.set({ node: this.options.nodeName }, this.queue.len);
  }

  private async adopt(signal: AbortSignal): Promise<void> {
    const listed = await this.calls.listPods(this.options.nodeName, { signal });
    for (const p of listed) {
      if (p.nodeName !== this.options.nodeName) continue;
      const key = podKey(p);
      this.tracked.set(key, {
        ref: { namespace: p.namespace, name: p.name, uid: p.uid },
        status: p.status,
        specHash: "",
        // The agent before this one recorded what the cloud reported then: no duplicate Events.
        seenEvents: new Set((p.status?.events ?? []).map((e) => e.id)),
      });
      this.enqueue(key);
    }
    if (listed.length > 0)
      this.options.logger.info({ pods: listed.length }, "adopted pods the provider already runs");
  }

  /** Push or poll delivered a status. */
  private observeStatus(ref: PodRef, status: ProviderPodStatus | undefined): void {
    const key = podKey(ref);
    const t = this.tracked.get(key);
    if (!t || t.ref.uid !== ref.uid) return;
    if (status === undefined) {
      if (!t.missing) {
        t.missing = true;
        this.enqueue(key);
      }
      return;
    }
    if (t.status !== undefined && JSON.stringify(t.status) === JSON.stringify(status)) return;
    t.status = status;
    t.missing = false;
    this.enqueue(key);
  }

  // ---- sync -------------------------------------------------------------------------------

  private async sync(key: string, signal: AbortSignal): Promise<void> {
    const started = performance.now();
    const span = tracer.startSpan("virtual-node.pod.sync", {
      attributes: { "k8s.pod.key": key, "k8s.node.name": this.options.nodeName },
    });
    let result = "ok";
    try {
      await this.syncPod(key, signal);
    } catch (error) {
      result = "error";
      span.recordException(error as Error);
      span.setStatus({ code: SpanStatusCode.ERROR, message: describeError(error) });
      throw error;
    } finally {
      span.end();
      this.options.metrics.syncSeconds.observe({ result }, (performance.now() - started) / 1000);
      this.options.metrics.queueDepth.set({ node: this.options.nodeName }, this.queue.len);
    }
  }

  private async syncPod(key: string, signal: AbortSignal): Promise<void> {
    const pod = this.options.getPod(key);
    let tracked = this.tracked.get(key);

    if (pod === undefined) {
      // Gone from the API: make sure the provider lets go too.
      const deleted = this.deletedPods.get(key);
      const gone = tracked?.ref ?? this.ipReservations.get(key);
      if (gone !== undefined) {
        // Also for a pod that was never created: that releases the pod IPs reserved for it.
        await this.calls.deletePod(gone, 0, { signal });
        this.tracked.delete(key);
        this.billing.forget(key);
      }
      this.ipReservations.delete(key);
      this.createdAt.delete(key);
      if (deleted) this.deletedPods.delete(key);
      this.options.releaseReferences(key);
      return;
    }
    this.deletedPods.delete(key);
    const ref = podRefOf(pod);

    if (tracked && tracked.ref.uid !== ref.uid) {
      // Same name, new pod: the old one must go first.
      const old = tracked.ref;
      await this.calls.deletePod(old, 0, { signal });
      this.tracked.delete(key);
      this.billing.forget(key);
      tracked = undefined;
    }

    if (pod.metadata?.deletionTimestamp) {
      await this.syncDeletion(pod, tracked, signal);
      return;
    }

    if (isTerminalPhase(pod.status?.phase)) {
      // Never re-create a finished pod, and stop watching what it referred to.
      if (tracked) tracked.terminal = true;
      this.billing.forget(key); // a finished pod is billed no more
      this.options.releaseReferences(key);
      return;
    }

    if (tracked === undefined) {
      await this.createInProvider(pod, key, signal);
      return;
    }

    const deadlineAt = activeDeadlineAt(pod);
    if (deadlineAt !== undefined) {
      const remaining = deadlineAt - this.clock.now();
      if (remaining <= 0) {
        await this.enforceActiveDeadline(pod, tracked, signal);
        return;
      }
      this.queue.addAfter(key, remaining);
    }

    if (tracked.missing === true) {
      await this.failPod(pod, "ProviderPodLost", signal, {
        status: `the provider no longer has pod ${key}; it will not be restarted by this node`,
        event: `Provider ${this.options.provider.name} lost the pod`,
      });
      this.tracked.delete(key);
      this.billing.forget(key);
      return;
    }

    this.reportEphemeralContainers(pod, tracked);
    const hash = mutableSpecHash(pod, this.options.provider.capabilities.ephemeralContainers);
    if (tracked.specHash !== "" && tracked.specHash !== hash) {
      const { resolved } = await this.resolve(pod, key, signal);
      await this.calls.updatePod(resolved, { signal, reason: "spec" });
      tracked.specHash = hash;
      tracked.volumesHash = volumesHash(resolved);
    } else if (tracked.specHash === "") {
      tracked.specHash = hash; // adopted: take the current spec as what the provider runs
    }
    // Downward-API files show labels and annotations: the kubelet rewrites them when those change.
    const metadata = downwardMetadataHash(pod);
    if (tracked.metadataHash === undefined) tracked.metadataHash = metadata;
    else if (tracked.metadataHash !== metadata) {
      tracked.metadataHash = metadata;
      tracked.refreshVolumes = true;
    }
    if (
      tracked.refreshVolumes === true ||
      (tracked.refreshAt !== undefined && this.clock.now() >= tracked.refreshAt)
    ) {
      await this.refreshVolumes(pod, key, tracked, signal);
    }

    if (tracked.status === undefined) {
      const current = tracked.ref;
      const status = await this.calls.getPodStatus(current, { signal });
      if (status === undefined) {
        tracked.missing = true;
        this.enqueue(key);
        return;
      }
      tracked.status = status;
    }
    const next = mergePodStatus(pod.status, buildPodStatus(pod, tracked.status, this.statusContext()), {
      spec: pod.spec,
    });
    if (isTerminalPhase(next.phase)) tracked.terminal = true;
    await this.writeStatus(pod, next, signal, this.publisher.publish(pod, key, tracked, next));
  }

  private async createInProvider(pod: Pod, key: string, signal: AbortSignal): Promise<void> {
    const admission = this.admit(pod, key);
    if (admission === "node-status-pending") {
      this.queue.addAfter(key, NODE_STATUS_WAIT_MS);
      return;
    }
    if (admission !== undefined) {
      // The kubelet's rejectPod: a Warning Event and phase Failed, the message prefixed like the kubelet's.
      await this.failPod(pod, admission.reason, signal, {
        status: `Pod was rejected: ${admission.message}`,
        event: admission.message,
      });
      return;
    }
    try {
      await this.createAdmitted(pod, key, signal);
    } finally {
      this.admitting.delete(key);
    }
  }

  /**
   * The kubelet's admission (`admission.ts`) against the node and the pods it already runs. The
   * check and the reservation happen in one synchronous step, so concurrent creates cannot both
   * take the last free resources. A node registered but whose status is not written yet cannot
   * admit: a kubelet never admits before it knows its capacity, and against none every pod would
   * be refused OutOfcpu.
   */
  private admit(pod: Pod, key: string): AdmissionRejection | "node-status-pending" | undefined {
    const node = this.options.getNode?.();
    if (node === undefined) return undefined;
    if (node.status?.allocatable === undefined) return "node-status-pending";
    const rejection = admitPod(pod, node, this.usage.usage(key));
    if (rejection === undefined) this.admitting.set(key, true);
    return rejection;
  }

  private async createAdmitted(pod: Pod, key: string, signal: AbortSignal): Promise<void> {
    const { provider } = this.options;
    const problems = validatePodAgainstCapabilities(pod, provider.name, provider.capabilities);
    if (problems.length > 0) {
      await this.failPod(pod, "UnsupportedPodSpec", signal, unsupportedFieldsMessage(problems));
      return;
    }
    let result: ResolvePodConfigResult;
    try {
      result = await this.resolve(pod, key, signal);
    } catch (error) {
      const decision = classifyPodError(error, "resolve", provider.name);
      if (decision.action === "fail") {
        await this.failPod(pod, decision.reason, signal, decision.message);
        return;
      }
      if (decision.action === "wait") {
        // Like the kubelet: wait (Pending, CreateContainerConfigError, or ContainerCreating for a
        // claim not bound yet) until the object appears; its watch (claims: poll) enqueues the pod
        // at once, the backoff is only the safety net.
        this.options.events.event(podObjectRef(pod), "Warning", decision.reason, decision.message);
        await this.writeStatus(
          pod,
          pendingWithContainerWaiting(pod, decision.waitingReason, decision.message, this.currentTime()),
          signal,
        );
      }
      throw error;
    }
    const { resolved } = result;
    const ref = podRefOf(pod);
    const tracked: Tracked = {
      ref,
      specHash: mutableSpecHash(pod, this.options.provider.capabilities.ephemeralContainers),
      volumesHash: volumesHash(resolved),
      ...refreshOf(result),
    };
    this.scheduleRefresh(key, tracked);
    try {
      await this.calls.createPod(resolved, { signal });
    } catch (error) {
      const decision = classifyPodError(error, "create", provider.name);
      if (decision.action === "fail") {
        await this.failPod(pod, decision.reason, signal, decision.message);
        return;
      }
      // A retryable failure may still have created the pod (crash mid-create): track it so the
      // next sync sees it through getPodStatus instead of creating a duplicate.
      this.options.events.event(
        podObjectRef(pod),
        "Warning",
        decision.reason,
        `create failed, will retry: ${decision.message}`,
      );
      const status = await this.calls.getPodStatus(ref, { signal }).catch(() => undefined);
      if (status !== undefined) {
        this.tracked.set(key, { ...tracked, status });
        this.enqueue(key);
        return;
      }
      // Never a silent Pending: the containers wait with the provider's error until a retry succeeds.
      const waiting = `provider ${provider.name}: ${describeError(error)} (retrying)`;
      await this.writeStatus(
        pod,
        pendingWithContainerWaiting(pod, "ProviderFailed", waiting, this.currentTime()),
        signal,
      );
      throw error;
    }
    this.tracked.set(key, tracked);
    this.createdAt.set(key, this.clock.now());
    this.options.logger.debug({ pod: key }, "created pod in provider");
    // Write the first status (Pending/ContainerCreating) at once; the poller takes over.
    const status = await this.calls.getPodStatus(ref, { signal }).catch(() => undefined);
    if (status !== undefined) tracked.status = status;
    const next = mergePodStatus(pod.status, buildPodStatus(pod, tracked.status, this.statusContext()), {
      spec: pod.spec,
    });
    await this.writeStatus(pod, next, signal, this.publisher.publish(pod, key, tracked, next));
  }

  /**
   * `activeDeadlineSeconds` passed: like the kubelet, stop the containers (whatever the provider does
   * with deadlines itself) and fail the pod with `DeadlineExceeded`.
   */
  private async enforceActiveDeadline(pod: Pod, tracked: Tracked, signal: AbortSignal): Promise<void> {
    const ref = tracked.ref;
    const grace = pod.spec?.terminationGracePeriodSeconds ?? 30;
    await this.calls.deletePod(ref, grace, { signal });
    tracked.terminal = true;
    await this.failPod(
      pod,
      "DeadlineExceeded",
      signal,
      "Pod was active on the node longer than the specified deadline",
    );
  }

  /**
   * Fails the pod for good: a Warning Event and phase Failed with `reason`, written together on every
   * path (admission, capability gate, configuration, provider, deadline, lost). `message` is the
   * same text for both, or `{ status, event }` where they differ (the kubelet's "Pod was rejected: ").
   */
  private async failPod(
    pod: Pod,
    reason: string,
    signal: AbortSignal,
    message: string | { status: string; event: string },
  ): Promise<void> {
    const { status, event } = typeof message === "string" ? { status: message, event: message } : message;
    this.options.events.event(podObjectRef(pod), "Warning", reason, event);
    await this.writeStatus(pod, failedPodStatus(pod, reason, status, this.currentTime()), signal);
  }

  /**
   * Pod IPs for a pod whose env or downward-API files read `status.podIP(s)`, reserved in the
   * provider before create. Remembered, so that a pod deleted before it was ever created still
   * releases its reservation (`deletePod`).
   */
  private async reservePodIPs(pod: Pod, key: string, signal: AbortSignal): Promise<string[] | undefined> {
    const allocate = this.calls.allocatePodIPs;
    if (allocate === undefined || !needsPodIP(pod)) return undefined;
    const ref = podRefOf(pod);
    this.ipReservations.set(key, ref);
    return allocate(ref, { signal });
  }

  /** Resolves the pod's configuration and reports warnings (optional objects missing, ...) as Events. */
  private async resolve(pod: Pod, key: string, signal: AbortSignal): Promise<ResolvePodConfigResult> {
    const result = await this.options.resolvePod(pod, signal, await this.reservePodIPs(pod, key, signal));
    for (const w of result.warnings) {
      const type = w.reason.startsWith("Optional") ? "Normal" : "Warning";
      this.options.events.event(podObjectRef(pod), type, w.reason, w.message);
    }
    this.options.logger.debug({ pod: key, warnings: result.warnings.length }, "resolved pod configuration");
    return result;
  }

  /** Re-resolves the volumes of a running pod and hands changed files to the provider. */
  private async refreshVolumes(pod: Pod, key: string, tracked: Tracked, signal: AbortSignal): Promise<void> {
    tracked.refreshVolumes = false;
    if (!this.options.provider.capabilities.mountedFileUpdates) return;
    const result = await this.resolve(pod, key, signal);
    Object.assign(tracked, refreshOf(result));
    this.scheduleRefresh(key, tracked);
    const next = volumesHash(result.resolved);
    if (next === tracked.volumesHash) return;
    await this.calls.updatePod(result.resolved, { signal, reason: "volumes" });
    tracked.volumesHash = next;
    this.options.logger.debug({ pod: key }, "updated mounted files in provider");
  }

  private scheduleRefresh(key: string, tracked: Tracked): void {
    if (tracked.refreshAt !== undefined)
      this.queue.addAfter(key, Math.max(0, tracked.refreshAt - this.clock.now()));
  }

  private async syncDeletion(pod: Pod, tracked: Tracked | undefined, signal: AbortSignal): Promise<void> {
    const key = podKey(podRefOf(pod));
    if (tracked) {
      const grace = pod.metadata?.deletionGracePeriodSeconds ?? pod.spec?.terminationGracePeriodSeconds ?? 30;
      await this.calls.deletePod(tracked.ref, grace, { signal });
      this.tracked.delete(key);
      this.billing.forget(key);
      // Report the containers terminated before the object goes, as the kubelet does, where anyone can
      // still read it: the object outlives the DELETE (finalizers) or a watcher asked (see pod-api.ts).
      if (!isTerminalPhase(pod.status?.phase) && finalStatusObservable(pod)) {
        await this.writeStatus(pod, terminatedPodStatus(pod, pod.status, this.currentTime()), signal).catch(
          (error: unknown) => {
            this.options.logger.debug({ pod: key, error: describeError(error) }, "final status write failed");
          },
        );
      }
    }
    // Provider confirmed (or never had it): remove the API object now, not when the grace period ends.
    // Once per UID: the status write above (and finalizers) bring the pod back through the queue,
    // and a second grace-0 DELETE would only cost a request.
    const uid = pod.metadata?.uid ?? "";
    if (this.finalDeletes.has(uid)) return;
    try {
      await this.options.client.delete(
        paths.pod(pod.metadata?.namespace ?? "", pod.metadata?.name ?? ""),
        {
          apiVersion: "v1",
          kind: "DeleteOptions",
          gracePeriodSeconds: 0,
          preconditions: { uid: pod.metadata?.uid },
        },
        { signal, discardBody: true },
      );
      this.finalDeletes.add(uid);
    } catch (error) {
      if (!isNotFound(error) && !isConflict(error)) throw error;
    }
  }

  /** Writes `status` (and `publish`'s annotations) in one merge patch of `pods/status`, if anything changed. */
  private async writeStatus(
    pod: Pod,
    status: PodStatus,
    signal: AbortSignal,
    publish?: AnnotationWrite,
  ): Promise<void> {
    const annotations = publish?.annotations;
    if (annotations === undefined && podStatusEqual(pod.status, status)) return;
    const ns = pod.metadata?.namespace ?? "";
    const name = pod.metadata?.name ?? "";
    const patch = podStatusPatch(pod, status, annotations);
    if (patch === undefined) return;
    try {
      await this.options.client.patch(paths.podStatus(ns, name), patch, MERGE_PATCH, {
        signal,
        discardBody: true,
      });
      publish?.written();
      this.options.metrics.statusWrites.inc({ result: "ok" });
    } catch (error) {
      if (isNotFound(error)) {
        this.options.metrics.statusWrites.inc({ result: "notfound" });
        return;
      }
      if (isConflict(error)) {
        // Our cache is behind: re-read, re-merge and write once more.
        this.options.metrics.statusWrites.inc({ result: "conflict" });
        const fresh = await this.options.client.get<Pod>(paths.pod(ns, name), { signal });
        if (fresh.metadata?.uid !== pod.metadata?.uid) return;
        const merged = mergePodStatus(fresh.status, status, { spec: fresh.spec });
        const again = podStatusPatch(fresh, merged, annotations);
        if (again === undefined) return;
        await this.options.client.patch(paths.podStatus(ns, name), again, MERGE_PATCH, {
          signal,
          discardBody: true,
        });
        publish?.written();
        this.options.metrics.statusWrites.inc({ result: "ok" });
        return;
      }
      this.options.metrics.statusWrites.inc({ result: "error" });
      throw error;
    }
  }

  private currentTime(): Date {
    return new Date(this.clock.now());
  }

  /** The loops' wait on the controller's clock: ends early, without an error, when `signal` aborts. */
  private async sleepUnlessAborted(ms: number, signal: AbortSignal): Promise<void> {
    await this.clock.sleep(ms, signal).catch(() => undefined);
  }

  private statusContext(): BuildPodStatusContext {
    const { provider } = this.options;
    return {
      now: this.currentTime(),
      hostIP: this.options.hostIP,
      runtime: provider.name,
      ...(provider.capabilities.ephemeralContainers
        ? {}
        : {
            ephemeralContainersUnsupported: `spec.ephemeralContainers is not supported by provider ${provider.name}`,
          }),
    };
  }

  /**
   * Ephemeral containers are only ever added (`kubectl debug`). A provider that cannot run them gets
   * none, and the user gets a Warning Event naming each one, once; their statuses wait with a reason.
   */
  private reportEphemeralContainers(pod: Pod, tracked: Tracked): void {
    const added = (pod.spec?.ephemeralContainers ?? []).slice(tracked.ephemeralSeen ?? 0);
    if (added.length === 0) return;
    const first = tracked.ephemeralSeen ?? 0;
    tracked.ephemeralSeen = first + added.length;
    if (this.options.provider.capabilities.ephemeralContainers) return;
    added.forEach((c, i) => {
      this.options.events.event(
        podObjectRef(pod),
        "Warning",
        "UnsupportedPodSpec",
        `spec.ephemeralContainers[${first + i}] (${c.name}) is not supported by provider ${this.options.provider.name}; it will not run`,
      );
    });
  }

  // ---- status polling (`pod-status-poller.ts`) -------------------------------------------

  /** One round of status polling, now. */
  async pollOnce(signal: AbortSignal): Promise<void> {
    await this.poller.pollOnce(signal);
  }

  // ---- continuous reconcile (decisions in `pod-reconcile.ts`) ------------------------------

  private async reconcileLoop(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      await this.sleepUnlessAborted(this.options.reconcileIntervalMs, signal);
      if (isAborted(signal)) break;
      try {
        await this.reconcileOnce(signal);
      } catch (error) {
        this.options.logger.warn({ error: describeError(error) }, "reconcile failed");
      }
    }
  }

  /**
   * Compares the provider's pods with the API: adopts unknown ones that match an API pod, and
   * deletes orphans that carry this node's mark only after `orphanGraceMs` of continuous absence
   * and only while the pod informer is synced (a watch hiccup never deletes a healthy pod).
   */
  async reconcileOnce(signal: AbortSignal, now = this.clock.now()): Promise<void> {
    if (!this.options.podsSynced()) return;
    const listStartedAt = this.clock.now();
    const listed = await this.calls.listPods(this.options.nodeName, { signal });
    const tracked = new Map<string, ReconcileTracked>();
    for (const [key, t] of this.tracked)
      tracked.set(key, {
        uid: t.ref.uid,
        terminal: t.terminal === true,
        missing: t.missing === true,
        createdAt: this.createdAt.get(key),
      });
    const plan = planReconcile({
      nodeName: this.options.nodeName,
      listed,
      listStartedAt,
      now,
      orphanGraceMs: this.options.orphanGraceMs,
      apiUid: (key) => this.options.getPod(key)?.metadata?.uid,
      tracked,
      orphanSince: this.orphanSince,
    });
    this.orphanSince = new Map(plan.orphanSince);
    for (const p of plan.adopt) {
      const key = podKey(p);
      this.tracked.set(key, {
        ref: { namespace: p.namespace, name: p.name, uid: p.uid },
        status: p.status,
        specHash: "",
      });
      this.enqueue(key);
    }
    for (const p of plan.deleteOrphans) {
      const key = podKey(p);
      this.options.logger.info({ pod: key, uid: p.uid }, "deleting orphaned provider pod");
      await this.calls.deletePod(p, 0, { signal });
      const t = this.tracked.get(key);
      if (t?.ref.uid === p.uid) {
        this.tracked.delete(key);
        this.billing.forget(key);
      }
    }
    // Pods we track that the provider no longer lists are lost; the sync decides what to do.
    for (const key of plan.lost) {
      const t = this.tracked.get(key);
      if (t === undefined) continue;
      t.missing = true;
      this.enqueue(key);
    }
  }
}

function refreshOf(result: ResolvePodConfigResult): { refreshAt?: number } {
  const first = result.tokenExpiries[0];
  return first === undefined ? {} : { refreshAt: first.getTime() };
}
