/**
 * `createVirtualNode` and `createVirtualNodeGroup`: wire a provider to the API server as one node,
 * or many nodes in one process sharing one connection, one pod watch and one node watch.
 */
import * as os from "node:os";
import type { Registry } from "prom-client";
import { createSystemClock, type Clock } from "./clock.js";
import { ConfigError, InvalidInputError, describeError } from "./errors.js";
import { createEventRecorder, type EventRecorder } from "./events.js";
import { loadKubeConfig, type KubeConfigSource } from "./kube/kubeconfig.js";
import { heartbeatClient, KubeClient } from "./kube/client.js";
import { paths } from "./kube/api.js";
import { createKubeEventSink } from "./kube/event-sink.js";
import { createTokenRequester, createTrustBundleReader } from "./kube/config-source.js";
import { ObjectWatchCache, type References } from "./kube/object-cache.js";
import { Reflector } from "./kube/reflector.js";
import { withoutManagedFields } from "./kube/trim.js";
import { StringInterner } from "./kube/intern.js";
import type { Node, Pod, Taint } from "./kube/types.js";
import type { ResolvedPersistentVolume } from "./pod-config.js";
import { NodeLease } from "./lease.js";
import { createConsoleLogger, type Logger } from "./logger.js";
import { createMetrics } from "./metrics.js";
import { PodStartLatency } from "./pod-start-latency.js";
import { NodeController, type ShutdownPolicy } from "./node-controller.js";
import { PodController } from "./pod-controller.js";
import { podKey, podRefOf, type Provider } from "./provider.js";
import { resolvePodConfig } from "./config/resolve.js";
import {
  buildKubeletApiServer,
  declaredNodeFeatures,
  kubeletPortFor,
  type KubeletApiOptions,
} from "./kubelet-api/options.js";
import type { KubeletApiServer } from "./kubelet-api/server.js";
import { OwnershipCoordinator, type OwnershipChange, type OwnershipHooks } from "./ha/coordinator.js";
import type { Fence } from "./ha/fence.js";
import { fenceKubeClient, fenceProvider } from "./ha/fenced-ports.js";
import { createKubeLeaseApi, MAX_HA_NODE_NAME } from "./ha/lease-api.js";
import { createHaMetrics } from "./ha/metrics.js";
import { resolveHighAvailability, type HighAvailabilityOptions } from "./ha/options.js";
import { untilAborted } from "./sleep.js";

/** Options of one virtual node. Every field but `nodeName` and `provider` has a kubelet-like default. */
export interface NodeOptions {
  nodeName: string;
  provider: Provider;
  /** Extra Node labels (merged with the standard ones). */
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  /** Node taints. Default `[{ key: "virtual-kubelet.io/provider", value: provider.name, effect: "NoSchedule" }]`. */
  taints?: Taint[];
  /** The InternalIP where this node's kubelet API is reachable. Default: first non-internal IPv4, else 127.0.0.1. */
  internalIP?: string;
  /** `daemonEndpoints.kubeletEndpoint.port`. Default 10250. */
  kubeletPort?: number;
}

/** Options shared by every node of a process. */
export interface SharedOptions {
  /**
   * Default: `loadKubeConfig()` (KUBECONFIG, ~/.kube/config, in-cluster). `@kubernetes/client-node`'s
   * `KubeConfig` works too.
   */
  kubeConfig?: KubeConfigSource;
  logger?: Logger;
  /** prom-client registry for the agent's metrics. Default: a new registry (see `metricsRegistry`). */
  registry?: Registry;
  /** Client-side API rate limit. Default 50 QPS, burst 100 (kubelet). */
  qps?: number;
  burst?: number;
  /** Lease duration. Default 40 s. */
  leaseDurationSeconds?: number;
  /** Lease renew interval. Default 10 s. */
  leaseRenewIntervalMs?: number;
  /** Node status is written on change and at least this often. Default 5 min. */
  nodeStatusReportIntervalMs?: number;
  /** Provider ping interval (and node change detection). Default 10 s. */
  pingIntervalMs?: number;
  /** Pod syncs running at once, per node. Default 32. */
  podSyncConcurrency?: number;
  /** Status poll interval while pods start. Default 1 s. */
  statusPollFastMs?: number;
  /** Status poll interval when steady. Default 10 s. */
  statusPollSlowMs?: number;
  /** Provider vs API reconcile interval (orphans, lost pods). Default 60 s. */
  reconcileIntervalMs?: number;
  /** A provider pod without an API pod is deleted after this long. Default 2 min. */
  orphanGraceMs?: number;
  /** Cap of the per-pod retry backoff. Default 60 s. */
  maxRetryDelayMs?: number;
  /**
   * How often a pod that waits on a PersistentVolumeClaim (missing, unbound) reads the claim and its
   * PV again; the Node authorizer allows no watch on them. Default 2 s.
   */
  volumePollIntervalMs?: number;
  /** What happens to the Node when the agent stops. Default `notReady`. */
  shutdown?: ShutdownPolicy;
  /** Reported as `nodeInfo.kubeletVersion`. Default `v1.37.2-virtual-node`. */
  kubeletVersion?: string;
  /**
   * The kubelet API (logs, exec, attach, port-forward, stats) — see docs/kubelet-api.md. Served by
   * default, like the kubelet: on 0.0.0.0:10250 (a group: 10250 + the node's index), self-signed,
   * no anonymous access. `{ enabled: false }` turns it off.
   */
  kubeletApi?: KubeletApiOptions;
  /**
   * Run this process as one of several replicas acting for the same nodes; each node is acted for
   * only by the holder of its ownership Lease (docs/high-availability.md). Default: off — the
   * process acts for all its nodes.
   */
  highAvailability?: HighAvailabilityOptions;
  /**
   * Time of the pod path: the pod controllers (retries, deadlines, poll and reconcile waits, status
   * timestamps, billing, projected token refreshes) and the issue time of service account tokens.
   * Lets a test reach a token's refresh time without waiting for it. The node lease, node status and
   * watches keep the system clock. Default: the system clock.
   */
  clock?: Clock;
}

export type VirtualNodeOptions = NodeOptions & SharedOptions;

export interface VirtualNodeGroupOptions extends SharedOptions {
  nodes: NodeOptions[];
}

export interface VirtualNode {
  readonly nodeName: string;
  /** Resolves once the Node is registered, the Lease held and the pod informer synced. */
  readonly ready: Promise<void>;
  /** The metrics registry in use. */
  readonly metricsRegistry: Registry;
  /** The kubelet API server, when `kubeletApi` is enabled. */
  readonly kubeletApi: KubeletApiServer | undefined;
  /** Runs until `signal` aborts or `stop()` is called; then applies the shutdown policy. */
  run(signal?: AbortSignal): Promise<void>;
  stop(): Promise<void>;
  /** The nodes this process acts for now: all of them without `highAvailability`. */
  ownedNodes(): string[];
  /** Called on every ownership change (only under `highAvailability`). Returns the unsubscribe function. */
  onOwnershipChange(listener: (change: OwnershipChange) => void): () => void;
}

export interface VirtualNodeGroup {
  readonly nodes: readonly VirtualNode[];
  readonly ready: Promise<void>;
  readonly metricsRegistry: Registry;
  readonly kubeletApi: KubeletApiServer | undefined;
  run(signal?: AbortSignal): Promise<void>;
  stop(): Promise<void>;
  /** The nodes this process acts for now: all of them without `highAvailability`. */
  ownedNodes(): string[];
  /** Called on every ownership change (only under `highAvailability`). Returns the unsubscribe function. */
  onOwnershipChange(listener: (change: OwnershipChange) => void): () => void;
}

/** One virtual node. */
export function createVirtualNode(options: VirtualNodeOptions): VirtualNode {
  const group = createVirtualNodeGroup({ ...options, nodes: [options] });
  const node = group.nodes[0];
  if (!node) throw new InvalidInputError("internal: group without node");
  return {
    nodeName: node.nodeName,
    ready: group.ready,
    metricsRegistry: group.metricsRegistry,
    kubeletApi: group.kubeletApi,
    run: (signal) => group.run(signal),
    stop: () => group.stop(),
    ownedNodes: () => group.ownedNodes(),
    onOwnershipChange: (listener) => group.onOwnershipChange(listener),
  };
}

interface NodeRuntime {
  nodeName: string;
  nodeController: NodeController;
  lease: NodeLease;
  pods: PodController;
  events: EventRecorder;
  unregisterMetrics: () => void;
}

/** Many virtual nodes sharing one API connection, one pod watch and one node watch. */
export function createVirtualNodeGroup(options: VirtualNodeGroupOptions): VirtualNodeGroup {
  if (options.nodes.length === 0)
    throw new InvalidInputError("a node group needs at least one node", { field: "nodes" });
  const names = new Set<string>();
  for (const [i, n] of options.nodes.entries()) {
    if (!/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(n.nodeName) || n.nodeName.length > 253) {
      throw new InvalidInputError(
        `nodes[${i}].nodeName ${JSON.stringify(n.nodeName)} is not a valid DNS subdomain`,
        {
          field: `nodes[${i}].nodeName`,
        },
      );
    }
    if (names.has(n.nodeName))
      throw new InvalidInputError(`duplicate node name ${n.nodeName}`, { field: `nodes[${i}].nodeName` });
    names.add(n.nodeName);
    if (options.highAvailability !== undefined && n.nodeName.length > MAX_HA_NODE_NAME) {
      throw new InvalidInputError(
        `nodes[${i}].nodeName is longer than ${String(MAX_HA_NODE_NAME)} characters: its ownership Lease name would not fit`,
        { field: `nodes[${i}].nodeName` },
      );
    }
  }
  const ha =
    options.highAvailability === undefined
      ? undefined
      : resolveHighAvailability(options.highAvailability, options.nodes.length);
  const kubeConfig = options.kubeConfig ?? loadDefaultKubeConfig();
  const logger = options.logger ?? createConsoleLogger({ level: "info" });
  const metrics = createMetrics(options.registry);
  const registry = metrics.registry;
  const podStarts = new PodStartLatency(metrics.podStartSeconds);
  const metricsRegistrations: (() => void)[] = [];
  const allPods = (): Iterable<Pod> => podReflector.store.values();
  const client = new KubeClient({
    kubeConfig,
    qps: options.qps ?? 50,
    burst: options.burst ?? 100,
    userAgent: "virtual-node/0.1.0",
    onRequest: ({ method, resource, status }) => {
      metrics.apiRequests.inc({ verb: method, resource, code: String(status) });
    },
  });
  const single = options.nodes.length === 1 ? options.nodes[0]?.nodeName : undefined;
  const runtimes = new Map<string, NodeRuntime>();

  // The pod cache is the agent's largest: one copy of each repeated string in it (`kube/intern.ts`).
  const podStrings = new StringInterner();
  const podReflector = new Reflector<Pod>({
    client,
    path: paths.pods,
    // One node: only its pods. Many: every bound pod, dispatched by nodeName (one watch, not N).
    fieldSelector: single === undefined ? "spec.nodeName!=" : `spec.nodeName=${single}`,
    logger: logger.child({ watch: "pods" }),
    transform: (pod) => podStrings.intern(withoutManagedFields(pod)),
    onRestart: (reason) => {
      metrics.informerRestarts.inc({ resource: "pods", reason });
    },
    handlers: {
      onUpsert: (pod) => {
        const runtime = runtimes.get(pod.spec?.nodeName ?? "");
        if (runtime !== undefined) podStarts.observe(pod);
        runtime?.pods.onPodUpsert(pod);
      },
      onDelete: (pod) => {
        podStarts.forget(pod);
        runtimes.get(pod.spec?.nodeName ?? "")?.pods.onPodDelete(pod);
      },
    },
  });
  const nodeReflector = new Reflector<Node>({
    client,
    path: paths.nodes,
    ...(single === undefined
      ? { labelSelector: "type=virtual-kubelet" }
      : { fieldSelector: `metadata.name=${single}` }),
    logger: logger.child({ watch: "nodes" }),
    transform: withoutManagedFields,
    onRestart: (reason) => {
      metrics.informerRestarts.inc({ resource: "nodes", reason });
    },
    handlers: {
      onUpsert: (node) => runtimes.get(node.metadata?.name ?? "")?.nodeController.observe(node),
      onDelete: (node) => runtimes.get(node.metadata?.name ?? "")?.nodeController.observe(undefined),
    },
  });

  // ConfigMaps/Secrets/Services the pods refer to, watched one object at a time (Node-authorizer friendly).
  const objects = new ObjectWatchCache(client, logger.child({ watch: "references" }), {
    clock: createSystemClock({ unref: true }),
    volumePollIntervalMs: options.volumePollIntervalMs ?? 2_000,
  });
  const configExtras = {
    requestServiceAccountToken: createTokenRequester(client, options.clock),
    getClusterTrustBundles: createTrustBundleReader(client),
  };
  objects.onChange((_kind, _ns, _name, podKeys) => {
    const byNode = new Map<string, string[]>();
    for (const key of podKeys) {
      const nodeName = podReflector.store.get(key)?.spec?.nodeName ?? "";
      byNode.set(nodeName, [...(byNode.get(nodeName) ?? []), key]);
    }
    for (const [nodeName, keys] of byNode) runtimes.get(nodeName)?.pods.onReferenceChanged(keys);
  });
  // PVs resolved when a pod started, reused while it runs (the kubelet does not re-read a mounted claim).
  const mountedVolumes = new Map<string, { uid: string; volumes: Map<string, ResolvedPersistentVolume> }>();
  const defaultIP = options.nodes.some((n) => n.internalIP === undefined) ? firstExternalIPv4() : "127.0.0.1";
  const recorders: EventRecorder[] = [];

  const kubeletApiOptions: KubeletApiOptions = options.kubeletApi ?? {};
  const kubeletPorts = new Map(
    options.nodes.map((n, i) => [n.nodeName, kubeletPortFor(n.kubeletPort, kubeletApiOptions, i)]),
  );
  /**
   * One node's controllers. Under high availability they are built afresh each time this replica
   * gains the node, and every write they make (API and provider) is gated by the node's fence.
   */
  function buildRuntime(n: NodeOptions, fence: Fence | undefined): NodeRuntime {
    const nodeLogger = logger.child({ node: n.nodeName });
    const nodeClient = fence === undefined ? client : fenceKubeClient(client, fence);
    // The Node and its lease are the node's heartbeat: they never wait behind pod traffic.
    const heartbeats = heartbeatClient(nodeClient);
    const provider = fence === undefined ? n.provider : fenceProvider(n.provider, fence);
    const events = createEventRecorder({
      sink: createKubeEventSink(nodeClient),
      component: "virtual-node",
      host: n.nodeName,
      logger: nodeLogger,
    });
    const internalIP = n.internalIP ?? defaultIP;
    const nodeController = new NodeController({
      client: heartbeats,
      nodeName: n.nodeName,
      provider,
      logger: nodeLogger,
      events,
      labels: n.labels ?? {},
      annotations: n.annotations ?? {},
      taints: n.taints ?? [
        { key: "virtual-kubelet.io/provider", value: n.provider.name, effect: "NoSchedule" },
      ],
      internalIP,
      kubeletPort: kubeletPorts.get(n.nodeName) ?? 10250,
      kubeletVersion: options.kubeletVersion ?? "v1.37.2-virtual-node",
      pingIntervalMs: options.pingIntervalMs ?? 10_000,
      statusReportIntervalMs: options.nodeStatusReportIntervalMs ?? 300_000,
      shutdown: options.shutdown ?? "notReady",
      declaredFeatures: declaredNodeFeatures(kubeletApiOptions),
    });
    const lease = new NodeLease({
      client: heartbeats,
      nodeName: n.nodeName,
      durationSeconds: options.leaseDurationSeconds ?? 40,
      renewIntervalMs: options.leaseRenewIntervalMs ?? 10_000,
      logger: nodeLogger,
      metrics,
      nodeUid: () => nodeController.uid,
    });
    const pods = new PodController({
      client: nodeClient,
      nodeName: n.nodeName,
      provider,
      logger: nodeLogger,
      metrics,
      events,
      getPod: (key) => {
        const pod = podReflector.store.get(key);
        return pod?.spec?.nodeName === n.nodeName ? pod : undefined;
      },
      podsSynced: () => podReflector.hasSynced,
      getNode: () => nodeController.current,
      resolvePod: async (pod, signal, podIPs) => {
        const references: References = { configMaps: new Set(), secrets: new Set(), volumes: new Map() };
        let waiting = false;
        const key = `${pod.metadata?.namespace ?? ""}/${pod.metadata?.name ?? ""}`;
        const uid = pod.metadata?.uid ?? "";
        const mounted = mountedVolumes.get(key);
        try {
          const result = await resolvePodConfig(pod, {
            ...(podIPs === undefined ? {} : { podIPs }),
            ...(mounted?.uid === uid ? { mountedPersistentVolumes: mounted.volumes } : {}),
            source: objects.sourceFor(references, configExtras),
            nodeName: n.nodeName,
            hostIP: internalIP,
            nodeAllocatable: nodeController.current?.status?.allocatable,
            signal,
            now: new Date(options.clock?.now() ?? Date.now()),
          });
          const volumes = new Map<string, ResolvedPersistentVolume>();
          for (const v of result.resolved.volumes)
            if (v.persistentVolume) volumes.set(v.name, v.persistentVolume);
          if (volumes.size > 0) mountedVolumes.set(key, { uid, volumes });
          return result;
        } catch (error) {
          waiting = error instanceof ConfigError;
          throw error;
        } finally {
          // Also on failure: a missing object stays watched (claims: polled), so its appearance starts the pod.
          objects.retain(key, references, waiting);
        }
      },
      releaseReferences: (key) => {
        objects.release(key);
        mountedVolumes.delete(key);
      },
      concurrency: options.podSyncConcurrency ?? 32,
      fastPollMs: options.statusPollFastMs ?? 1_000,
      slowPollMs: options.statusPollSlowMs ?? 10_000,
      reconcileIntervalMs: options.reconcileIntervalMs ?? 60_000,
      orphanGraceMs: options.orphanGraceMs ?? 120_000,
      maxRetryDelayMs: options.maxRetryDelayMs ?? 60_000,
      hostIP: internalIP,
      ...(options.clock === undefined ? {} : { clock: options.clock }),
    });
    const unregisterMetrics = metrics.addNode(n.nodeName, {
      listPods: allPods,
      ready: () => {
        const ready = nodeController.current?.status?.conditions?.find((c) => c.type === "Ready");
        return ready === undefined ? undefined : ready.status === "True";
      },
      lastLeaseRenewMs: () => lease.lastRenewed,
    });
    return { nodeName: n.nodeName, nodeController, lease, pods, events, unregisterMetrics };
  }
  if (ha === undefined) {
    for (const n of options.nodes) {
      const runtime = buildRuntime(n, undefined);
      runtimes.set(n.nodeName, runtime);
      recorders.push(runtime.events);
      metricsRegistrations.push(runtime.unregisterMetrics);
    }
  }

  // After an outage every loop would wait out the backoff it grew meanwhile (watches up to 30 s, pods
  // up to maxRetryDelayMs): when the API server answers again, they all go at once.
  client.reachability.onRecovered(() => {
    podReflector.retryNow();
    nodeReflector.retryNow();
    for (const r of runtimes.values()) {
      r.lease.renewNow();
      r.nodeController.wake();
      r.pods.retryNow();
    }
  });

  const kubeletApi = buildKubeletApiServer(kubeletApiOptions, {
    client,
    logger,
    registry,
    store: podReflector.store,
    nodes: options.nodes.map((n) => ({
      nodeName: n.nodeName,
      provider: n.provider,
      internalIP: n.internalIP ?? defaultIP,
      port: kubeletPorts.get(n.nodeName) ?? 10250,
    })),
  });

  // High availability: this replica runs a node's controllers only while it holds the node's Lease.
  const owned = new Map<string, { runtime: NodeRuntime; abort: AbortController; done: Promise<void> }>();
  const nodeOptions = new Map(options.nodes.map((n) => [n.nodeName, n]));
  const hooks: OwnershipHooks = {
    start(nodeName, fence) {
      const n = nodeOptions.get(nodeName);
      if (n === undefined) return;
      const runtime = buildRuntime(n, fence);
      const abort = new AbortController();
      runtimes.set(nodeName, runtime);
      owned.set(nodeName, { runtime, abort, done: runOwnedNode(runtime, abort.signal) });
    },
    async stop(nodeName, { applyShutdownPolicy }) {
      const entry = owned.get(nodeName);
      if (entry === undefined) return;
      owned.delete(nodeName);
      if (runtimes.get(nodeName) === entry.runtime) runtimes.delete(nodeName);
      entry.abort.abort();
      await entry.done;
      if (applyShutdownPolicy) {
        try {
          await entry.runtime.nodeController.shutdown(AbortSignal.timeout(10_000));
        } catch (error) {
          logger.warn({ node: nodeName, error: describeError(error) }, "shutdown policy failed");
        }
      }
      // The new owner resolves these pods' references itself; this replica stops watching them.
      for (const pod of podReflector.store.values()) {
        if (pod.spec?.nodeName !== nodeName) continue;
        const key = podKey(podRefOf(pod));
        objects.release(key);
        mountedVolumes.delete(key);
      }
      await entry.runtime.events.close();
      entry.runtime.unregisterMetrics();
    },
  };
  /**
   * The lease from the moment the Node exists, like the kubelet's lease controller: with 2,000 nodes
   * registering at once, waiting for every node's first status write left leases missing for 20 s
   * after the nodes were Ready.
   */
  async function runLease(r: NodeRuntime, signal: AbortSignal): Promise<void> {
    await Promise.race([r.nodeController.existsOnce(), untilAborted(signal)]);
    if (!signal.aborted) await r.lease.run(signal);
  }
  /** A node just gained: like a fresh agent start, so the pod controller adopts what the provider runs. */
  async function runOwnedNode(r: NodeRuntime, signal: AbortSignal): Promise<void> {
    const tasks: Promise<unknown>[] = [r.nodeController.run(signal), runLease(r, signal)];
    await Promise.race([r.nodeController.registeredOnce(), untilAborted(signal)]);
    if (!signal.aborted) {
      // The shared pod watch is already synced: hand the node's pods to its new controller.
      for (const pod of podReflector.store.values())
        if (pod.spec?.nodeName === r.nodeName) r.pods.onPodUpsert(pod);
      tasks.push(r.pods.run(signal));
    }
    await Promise.allSettled(tasks);
  }
  // Lease traffic on its own connection and rate budget: renewals never queue behind pod writes.
  const haClient =
    ha === undefined
      ? undefined
      : new KubeClient({
          kubeConfig,
          qps: Math.max(20, Math.ceil((2 * options.nodes.length * 1000) / ha.retryPeriodMs)),
          burst: Math.max(40, 2 * options.nodes.length),
          userAgent: "virtual-node/0.1.0 (ownership)",
          onRequest: ({ method, resource, status }) => {
            metrics.apiRequests.inc({ verb: method, resource, code: String(status) });
          },
        });
  const leaseApi =
    ha === undefined || haClient === undefined
      ? undefined
      : createKubeLeaseApi(haClient, ha.namespace, logger.child({ watch: "leases" }));
  const coordinator =
    ha === undefined || leaseApi === undefined
      ? undefined
      : new OwnershipCoordinator({
          ha,
          nodes: [...names],
          api: leaseApi,
          clock: monotonicClock(),
          logger: logger.child({ replica: ha.identity }),
          hooks,
          metrics: createHaMetrics(registry),
        });

  let resolveReady!: () => void;
  let rejectReady!: (e: unknown) => void;
  const ready = new Promise<void>((resolve, reject) => {
    resolveReady = resolve;
    rejectReady = reject;
  });
  ready.catch(() => undefined);
  const stopController = new AbortController();
  let running: Promise<void> | undefined;

  async function runAll(outer?: AbortSignal): Promise<void> {
    const signal = outer ? AbortSignal.any([outer, stopController.signal]) : stopController.signal;
    const work = new AbortController();
    const stopWork = (): void => {
      work.abort();
    };
    signal.addEventListener("abort", stopWork, { once: true });
    // Keep the event loop alive while running, whatever timers are unref'd.
    const keepAlive = setInterval(() => undefined, 60_000);
    try {
      await kubeletApi?.start();
      const tasks: Promise<unknown>[] = [nodeReflector.run(work.signal)];
      if (coordinator !== undefined && leaseApi !== undefined) {
        // Shared watches run in every replica, so a take-over needs no re-list.
        tasks.push(podReflector.run(work.signal), leaseApi.run(work.signal));
        await Promise.all([
          nodeReflector.waitForSync(work.signal),
          podReflector.waitForSync(work.signal),
          leaseApi.waitForSync(work.signal),
        ]);
        const rounds = coordinator.run(work.signal);
        tasks.push(rounds);
        await Promise.race([coordinator.firstRound(), rounds]);
        logger.info(
          { nodes: names.size, owned: coordinator.ownedNodes().length, identity: coordinator.identity },
          "replica ready",
        );
        resolveReady();
        await Promise.allSettled(tasks);
        return;
      }
      // A signal per node: every sleep and request adds an abort listener to the signal it is given,
      // and adding one walks the signal's list — one shared signal made that O(nodes) per call
      // (4 % of the agent's CPU with 500 nodes in the fleet benchmark's profile).
      const nodeSignal = new Map([...runtimes.keys()].map((name) => [name, AbortSignal.any([work.signal])]));
      const signalOf = (r: NodeRuntime): AbortSignal => nodeSignal.get(r.nodeName) ?? work.signal;
      for (const r of runtimes.values()) {
        tasks.push(r.nodeController.run(signalOf(r)), runLease(r, signalOf(r)));
      }
      await Promise.all([...runtimes.values()].map((r) => r.nodeController.registeredOnce()));
      tasks.push(podReflector.run(work.signal));
      await podReflector.waitForSync(work.signal);
      for (const r of runtimes.values()) tasks.push(r.pods.run(signalOf(r)));
      logger.info({ nodes: runtimes.size }, "virtual node(s) ready");
      resolveReady();
      await Promise.allSettled(tasks);
    } catch (error) {
      rejectReady(error);
      if (!signal.aborted) throw error;
    } finally {
      try {
        signal.removeEventListener("abort", stopWork);
        // Under HA: stop the owned nodes, hand their Leases over (the shutdown policy only if no peer is live).
        await coordinator?.releaseAll();
        const shutdownSignal = AbortSignal.timeout(10_000);
        await Promise.allSettled(
          [...(coordinator === undefined ? runtimes.values() : [])].map(async (r) => {
            try {
              await r.nodeController.shutdown(shutdownSignal);
            } catch (error) {
              logger.warn({ node: r.nodeName, error: describeError(error) }, "shutdown policy failed");
            }
          }),
        );
        await Promise.allSettled(recorders.map((r) => r.close()));
        await kubeletApi?.stop();
        for (const unregister of metricsRegistrations) unregister();
        objects.close();
        client.close();
        haClient?.close();
      } finally {
        // Last: the API connections are unref'd, so the shutdown writes above (policy, Lease releases)
        // would otherwise be cut off by the process exiting under them.
        clearInterval(keepAlive);
      }
    }
  }
  const ownedNodes = (): string[] => coordinator?.ownedNodes() ?? [...names];
  const onOwnershipChange = (listener: (change: OwnershipChange) => void): (() => void) =>
    coordinator?.onOwnershipChange(listener) ??
    (() => {
      /* without HA ownership never changes */
    });

  const nodes: VirtualNode[] = options.nodes.map((r) => ({
    nodeName: r.nodeName,
    ready,
    metricsRegistry: registry,
    kubeletApi,
    run: (signal) => (running ??= runAll(signal)),
    stop: async () => {
      stopController.abort();
      await running;
    },
    ownedNodes,
    onOwnershipChange,
  }));

  return {
    nodes,
    ready,
    metricsRegistry: registry,
    kubeletApi,
    run: (signal) => (running ??= runAll(signal)),
    stop: async () => {
      stopController.abort();
      await running?.catch(() => undefined);
    },
    ownedNodes,
    onOwnershipChange,
  };
}

/** Fences count on the local monotonic clock: a wall-clock step must not extend or cut them. */
function monotonicClock(): Clock {
  const system = createSystemClock({ unref: true });
  return { ...system, now: () => performance.timeOrigin + performance.now() };
}

function loadDefaultKubeConfig(): KubeConfigSource {
  return loadKubeConfig();
}

function firstExternalIPv4(): string {
  for (const list of Object.values(os.networkInterfaces())) {
    for (const addr of list ?? []) if (addr.family === "IPv4" && !addr.internal) return addr.address;
  }
  return "127.0.0.1";
}
