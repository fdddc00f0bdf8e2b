/**
 * `createVirtualNode` and `createVirtualNodeGroup`: wire a provider to the API server as one node,
 * or many nodes in one process sharing one connection, one pod watch and one node watch.
 */
import * as os from "node:os";
import { KubeConfig } from "@kubernetes/client-node";
import type { Registry } from "prom-client";
import { createSystemClock } from "./clock.js";
import { ConfigError, InvalidInputError, describeError } from "./errors.js";
import { createEventRecorder, type EventRecorder } from "./events.js";
import { KubeClient } from "./kube/client.js";
import { paths } from "./kube/api.js";
import { createKubeEventSink } from "./kube/event-sink.js";
import { createTokenRequester, createTrustBundleReader } from "./kube/config-source.js";
import { ObjectWatchCache, type References } from "./kube/object-cache.js";
import { Reflector } from "./kube/reflector.js";
import type { Node, Pod, Taint } from "./kube/types.js";
import type { ResolvedPersistentVolume } from "./pod-config.js";
import { NodeLease } from "./lease.js";
import { createConsoleLogger, type Logger } from "./logger.js";
import { createMetrics } from "./metrics.js";
import { NodeController, type ShutdownPolicy } from "./node-controller.js";
import { PodController } from "./pod-controller.js";
import type { Provider } from "./provider.js";
import { resolvePodConfig } from "./config/resolve.js";
import {
  buildKubeletApiServer,
  declaredNodeFeatures,
  kubeletPortFor,
  type KubeletApiOptions,
} from "./kubelet-api/options.js";
import type { KubeletApiServer } from "./kubelet-api/server.js";

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
  /** Default: `KubeConfig.loadFromDefault()` (KUBECONFIG, ~/.kube/config, in-cluster). */
  kubeConfig?: KubeConfig;
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
}

export interface VirtualNodeGroup {
  readonly nodes: readonly VirtualNode[];
  readonly ready: Promise<void>;
  readonly metricsRegistry: Registry;
  readonly kubeletApi: KubeletApiServer | undefined;
  run(signal?: AbortSignal): Promise<void>;
  stop(): Promise<void>;
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
  };
}

interface NodeRuntime {
  nodeName: string;
  nodeController: NodeController;
  lease: NodeLease;
  pods: PodController;
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
  }
  const kubeConfig = options.kubeConfig ?? loadDefaultKubeConfig();
  const logger = options.logger ?? createConsoleLogger({ level: "info" });
  const metrics = createMetrics(options.registry);
  const registry = metrics.registry;
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

  const podReflector = new Reflector<Pod>({
    client,
    path: paths.pods,
    // One node: only its pods. Many: every bound pod, dispatched by nodeName (one watch, not N).
    fieldSelector: single === undefined ? "spec.nodeName!=" : `spec.nodeName=${single}`,
    logger: logger.child({ watch: "pods" }),
    onRestart: (reason) => {
      metrics.informerRestarts.inc({ resource: "pods", reason });
    },
    handlers: {
      onUpsert: (pod) => runtimes.get(pod.spec?.nodeName ?? "")?.pods.onPodUpsert(pod),
      onDelete: (pod) => runtimes.get(pod.spec?.nodeName ?? "")?.pods.onPodDelete(pod),
    },
  });
  const nodeReflector = new Reflector<Node>({
    client,
    path: paths.nodes,
    ...(single === undefined
      ? { labelSelector: "type=virtual-kubelet" }
      : { fieldSelector: `metadata.name=${single}` }),
    logger: logger.child({ watch: "nodes" }),
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
    requestServiceAccountToken: createTokenRequester(client),
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
  for (const n of options.nodes) {
    const nodeLogger = logger.child({ node: n.nodeName });
    const events = createEventRecorder({
      sink: createKubeEventSink(client),
      component: "virtual-node",
      host: n.nodeName,
      logger: nodeLogger,
    });
    recorders.push(events);
    const internalIP = n.internalIP ?? defaultIP;
    const nodeController = new NodeController({
      client,
      nodeName: n.nodeName,
      provider: n.provider,
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
      client,
      nodeName: n.nodeName,
      durationSeconds: options.leaseDurationSeconds ?? 40,
      renewIntervalMs: options.leaseRenewIntervalMs ?? 10_000,
      logger: nodeLogger,
      metrics,
      nodeUid: () => nodeController.uid,
    });
    const pods = new PodController({
      client,
      nodeName: n.nodeName,
      provider: n.provider,
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
            now: new Date(),
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
    });
    runtimes.set(n.nodeName, { nodeName: n.nodeName, nodeController, lease, pods });
  }

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
      for (const r of runtimes.values()) {
        tasks.push(r.nodeController.run(work.signal));
      }
      await Promise.all([...runtimes.values()].map((r) => r.nodeController.registeredOnce()));
      for (const r of runtimes.values()) tasks.push(r.lease.run(work.signal));
      tasks.push(podReflector.run(work.signal));
      await podReflector.waitForSync(work.signal);
      for (const r of runtimes.values()) tasks.push(r.pods.run(work.signal));
      logger.info({ nodes: runtimes.size }, "virtual node(s) ready");
      resolveReady();
      await Promise.allSettled(tasks);
    } catch (error) {
      rejectReady(error);
      if (!signal.aborted) throw error;
    } finally {
      clearInterval(keepAlive);
      signal.removeEventListener("abort", stopWork);
      const shutdownSignal = AbortSignal.timeout(10_000);
      await Promise.allSettled(
        [...runtimes.values()].map(async (r) => {
          try {
            await r.nodeController.shutdown(shutdownSignal);
          } catch (error) {
            logger.warn({ node: r.nodeName, error: describeError(error) }, "shutdown policy failed");
          }
        }),
      );
      await Promise.allSettled(recorders.map((r) => r.close()));
      await kubeletApi?.stop();
      objects.close();
      client.close();
    }
  }

  const nodes: VirtualNode[] = [...runtimes.values()].map((r) => ({
    nodeName: r.nodeName,
    ready,
    metricsRegistry: registry,
    kubeletApi,
    run: (signal) => (running ??= runAll(signal)),
    stop: async () => {
      stopController.abort();
      await running;
    },
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
  };
}

function loadDefaultKubeConfig(): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromDefault();
  return kc;
}

function firstExternalIPv4(): string {
  for (const list of Object.values(os.networkInterfaces())) {
    for (const addr of list ?? []) if (addr.family === "IPv4" && !addr.internal) return addr.address;
  }
  return "127.0.0.1";
}
