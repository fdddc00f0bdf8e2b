/**
 * Node lifecycle: register (or adopt) the Node, keep its status and heartbeats current, recreate it
 * when deleted, and leave it as configured on shutdown.
 *
 * Adoption keeps what others added: labels, annotations and taints are merged three ways
 * (desired, current, and what we applied last time — remembered in an annotation, like
 * `kubectl apply`), so a label another controller set survives, and one we dropped is removed.
 *
 * Status is written when it differs from what we last wrote, when the Node's conditions as the API
 * server has them differ from ours (the kubelet compares with the Node it reads, so a `Ready=Unknown`
 * the node lifecycle controller wrote during an outage is overwritten within one update period, not
 * at the 5-minute report), and at least every `statusReportIntervalMs`.
 */
import { Backoff } from "./backoff.js";
import { type Clock, systemClock } from "./clock.js";
import { describeError } from "./errors.js";
import type { EventRecorder } from "./events.js";
import { isAlreadyExists, isConflict, isNotFound, KubeApiError } from "./kube/client.js";
import { paths, toTime } from "./kube/api.js";
import type { NodeApi } from "./kube/node-api.js";
import type { Node, NodeCondition, Taint } from "./kube/types.js";
import type { Logger } from "./logger.js";
import type { NodeDescription, Provider } from "./provider.js";
import { isAborted, Waker } from "./sleep.js";

export const LAST_APPLIED_ANNOTATION = "virtual-node.io/last-applied";

export type ShutdownPolicy = "leave" | "notReady" | "cordon" | "delete";

export interface NodeControllerOptions {
  /** The calls the controller makes; a `KubeClient` satisfies it. */
  client: NodeApi;
  nodeName: string;
  /** What the node side asks of the provider: health, and what the Node should say. */
  provider: Pick<Provider, "name" | "ping" | "describeNode">;
  logger: Logger;
  events?: EventRecorder;
  /** Extra labels on the Node. */
  labels: Record<string, string>;
  annotations: Record<string, string>;
  /** Taints; default `virtual-kubelet.io/provider=<name>:NoSchedule`. */
  taints: Taint[];
  internalIP: string;
  kubeletPort: number;
  kubeletVersion: string;
  /** How often to ping the provider and check for changes. Default 10 s. */
  pingIntervalMs: number;
  /** Report status at least this often even when nothing changed. Default 5 min. */
  statusReportIntervalMs: number;
  shutdown: ShutdownPolicy;
  /**
   * `status.declaredFeatures` (e.g. the kubelet API's `ExtendWebSocketsToKubelet`). Part of every
   * status this controller writes, so a Node deleted and re-created declares them again.
   */
  declaredFeatures?: readonly string[];
  /** Loop timer, retry delays, heartbeats and the report interval. Default: the system clock. */
  clock?: Clock;
}

interface LastApplied {
  labels: string[];
  annotations: string[];
  taints: string[];
}

const taintId = (t: Taint): string => `${t.key}:${t.effect}`;

/** Labels a kubelet with the Node identity may not set on itself (NodeRestriction admission). */
const RESTRICTED_LABEL = /^(?:[^/]*\.)?(kubernetes\.io|k8s\.io)\//;
const ALLOWED_RESTRICTED = new Set([
  "kubernetes.io/hostname",
  "kubernetes.io/arch",
  "kubernetes.io/os",
  "beta.kubernetes.io/arch",
  "beta.kubernetes.io/os",
  "beta.kubernetes.io/instance-type",
  "node.kubernetes.io/instance-type",
  "failure-domain.beta.kubernetes.io/region",
  "failure-domain.beta.kubernetes.io/zone",
  "topology.kubernetes.io/region",
  "topology.kubernetes.io/zone",
]);
const isRestrictedLabel = (k: string): boolean =>
  RESTRICTED_LABEL.test(k) &&
  !ALLOWED_RESTRICTED.has(k) &&
  !k.startsWith("kubelet.kubernetes.io/") &&
  !k.startsWith("node.kubernetes.io/");

/**
 * Merge maps three ways: keys we applied before but no longer want are removed; keys others own are kept.
 */
export function mergeOwnedMap(
  current: Record<string, string> | undefined,
  desired: Record<string, string>,
  previouslyApplied: readonly string[],
): Record<string, string> {
  const dropped = new Set(previouslyApplied.filter((key) => !(key in desired)));
  const kept = Object.entries(current ?? {}).filter(([key]) => !dropped.has(key));
  return { ...Object.fromEntries(kept), ...desired };
}

export function mergeOwnedTaints(
  current: Taint[] | undefined,
  desired: Taint[],
  previouslyApplied: readonly string[],
): Taint[] {
  // Order and existing entries are kept as they are: NodeRestriction refuses any change to a
  // Node's taints by its own node identity, a reordering or a dropped `timeAdded` included, so an
  // agent restarting onto a Node the lifecycle controller tainted `unreachable` must write them back
  // exactly as they are.
  const desiredById = new Map(desired.map((t) => [taintId(t), t]));
  const kept = (current ?? []).filter(
    (t) => desiredById.has(taintId(t)) || !previouslyApplied.includes(taintId(t)),
  );
  const present = new Set(kept.map(taintId));
  return [...kept, ...desired.filter((t) => !present.has(taintId(t)))];
}

export class NodeController {
  private node: Node | undefined;
  private readonly options: NodeControllerOptions;
  private lastReport = 0;
  private lastReported = "";
  private providerError: string | undefined;
  private description: NodeDescription = {};
  private droppedLabels = new Set<string>();
  /** NodeRestriction refused a taint change: the Node's own taints are written back unchanged. */
  private taintsFromNode = false;
  private readonly readyWaiters: (() => void)[] = [];
  private markExists: () => void = () => undefined;
  /** Resolves once the Node object exists (created or adopted), before its first status write. */
  private readonly exists = new Promise<void>((resolve) => {
    this.markExists = resolve;
  });
  private registered = false;
  /** `Ready` as we last wrote it; a watched Node with another value was overwritten by someone else. */
  private lastReadyStatus: string | undefined;
  /**
   * Woken when a watch reports the Node deleted or its conditions overwritten, and when the API
   * server answers again, so the next pass runs at once.
   */
  private readonly waker: Waker;
  private readonly clock: Clock;
  // A failed pass is retried after 500 ms, doubling, never later than the regular ping.
  private readonly backoff: Backoff;

  constructor(options: NodeControllerOptions) {
    this.options = options;
    this.clock = options.clock ?? systemClock;
    this.waker = new Waker(this.clock);
    this.backoff = new Backoff({ baseMs: 500, maxMs: options.pingIntervalMs, jitter: "none" });
  }

  get uid(): string | undefined {
    return this.node?.metadata?.uid;
  }

  get current(): Node | undefined {
    return this.node;
  }

  /**
   * Resolves once the Node object exists: its lease may start (with the owner reference), like the
   * kubelet's lease controller, which does not wait for the node's first status either.
   */
  async existsOnce(): Promise<void> {
    await this.exists;
  }

  /** Resolves once the Node is registered and its first status written. */
  async registeredOnce(): Promise<void> {
    if (this.registered) return;
    await new Promise<void>((resolve) => this.readyWaiters.push(resolve));
  }

  /** Called by the shared node watch. */
  observe(node: Node | undefined): void {
    if (node === undefined) {
      this.options.logger.warn({}, "node object deleted; recreating it");
      this.node = undefined;
      this.waker.wake();
      return;
    }
    if (this.node?.metadata?.uid !== node.metadata?.uid) return;
    this.node = node;
    // Someone else rewrote our Ready (the node lifecycle controller's Unknown): answer at once.
    if (this.registered && readyStatusOf(node) !== this.lastReadyStatus) this.waker.wake();
  }

  /** Runs the next pass now (the API server answers again after an outage). */
  wake(): void {
    this.waker.wake();
  }

  async run(signal: AbortSignal): Promise<void> {
    let failures = 0;
    while (!signal.aborted) {
      let delay = this.options.pingIntervalMs;
      try {
        await this.tick(signal);
        failures = 0;
      } catch (error) {
        if (isAborted(signal)) break;
        delay = this.backoff.nextDelay(failures++);
        this.options.logger.warn({ error: describeError(error), retryInMs: delay }, "node sync failed");
      }
      await this.waker.sleep(delay, signal);
    }
  }

  /** One pass: ping, describe, register if needed, report status if changed or due. */
  async tick(signal: AbortSignal): Promise<void> {
    const { provider } = this.options;
    const previousError = this.providerError;
    try {
      await provider.ping?.({ signal });
      this.providerError = undefined;
    } catch (error) {
      this.providerError = describeError(error);
    }
    if (provider.describeNode && this.providerError === undefined) {
      try {
        this.description = await provider.describeNode(this.options.nodeName, { signal });
      } catch (error) {
        this.providerError = describeError(error);
      }
    }
    if (previousError !== this.providerError && this.node) {
      this.options.events?.event(
        this.ref(),
        this.providerError ? "Warning" : "Normal",
        this.providerError ? "NodeNotReady" : "NodeReady",
        this.providerError ? `Node is not ready: ${this.providerError}` : "Node is ready",
      );
    }
    if (this.node === undefined) {
      await this.register(signal);
      this.lastReported = ""; // a new Node object has no status yet
      this.markExists();
    }
    const status = this.desiredStatus(new Date(this.clock.now()));
    const fingerprint = JSON.stringify({
      ...status,
      conditions: status.conditions?.map(conditionFingerprint),
    });
    const due = this.clock.now() - this.lastReport >= this.options.statusReportIntervalMs;
    const overwritten = conditionsDiffer(this.node?.status?.conditions, status.conditions);
    if (fingerprint !== this.lastReported || due || overwritten) {
      await this.writeStatus(status, signal);
      this.lastReported = fingerprint;
      this.lastReport = this.clock.now();
      this.lastReadyStatus = readyStatusOf({ status });
    }
    if (!this.registered) {
      this.registered = true;
      for (const w of this.readyWaiters.splice(0)) w();
    }
  }

  /** Applies the shutdown policy. */
  async shutdown(signal: AbortSignal): Promise<void> {
    const { client, nodeName } = this.options;
    switch (this.options.shutdown) {
      case "leave":
        return;
      case "delete":
        try {
          await client.delete(paths.node(nodeName), undefined, { signal });
        } catch (error) {
          if (!isNotFound(error)) throw error;
        }
        return;
      case "cordon":
        await client.patch(
          paths.node(nodeName),
          { spec: { unschedulable: true } },
          "application/merge-patch+json",
          { signal },
        );
        return;
      case "notReady": {
        const status = this.desiredStatus(new Date(this.clock.now()), {
          reason: "KubeletStopped",
          message: "virtual-node agent stopped",
        });
        await this.writeStatus(status, signal);
        return;
      }
    }
  }

  private ref(): { kind: string; apiVersion: string; name: string; uid: string; namespace: string } {
    return {
      kind: "Node",
      apiVersion: "v1",
      name: this.options.nodeName,
      uid: this.options.nodeName,
      namespace: "",
    };
  }

  private desiredLabels(): Record<string, string> {
    const d = this.description;
    const labels: Record<string, string> = {
      type: "virtual-kubelet",
      "kubernetes.io/role": "agent",
      "kubernetes.io/os": d.operatingSystem ?? "linux",
      "kubernetes.io/arch": d.architecture ?? "amd64",
      "kubernetes.io/hostname": this.options.nodeName,
      ...(d.instanceType === undefined ? {} : { "node.kubernetes.io/instance-type": d.instanceType }),
      ...(d.region === undefined ? {} : { "topology.kubernetes.io/region": d.region }),
      ...(d.zone === undefined ? {} : { "topology.kubernetes.io/zone": d.zone }),
      ...d.labels,
      ...this.options.labels,
    };
    return Object.fromEntries(Object.entries(labels).filter(([k]) => !this.droppedLabels.has(k)));
  }

  private desiredTaints(): Taint[] {
    return [...this.options.taints, ...(this.description.taints ?? [])];
  }

  private async register(signal: AbortSignal): Promise<void> {
    const { client, nodeName } = this.options;
    for (let attempt = 0; attempt < 5; attempt++) {
      const labels = this.desiredLabels();
      const annotations = { ...this.description.annotations, ...this.options.annotations };
      const taints = this.desiredTaints();
      const applied: LastApplied = {
        labels: Object.keys(labels),
        annotations: Object.keys(annotations),
        taints: taints.map(taintId),
      };
      let current: Node | undefined;
      try {
        current = await client.get<Node>(paths.node(nodeName), { signal });
      } catch (error) {
        if (!isNotFound(error)) throw error;
      }
      try {
        if (current === undefined) {
          const body: Node = {
            apiVersion: "v1",
            kind: "Node",
            metadata: {
              name: nodeName,
              labels,
              annotations: { ...annotations, [LAST_APPLIED_ANNOTATION]: JSON.stringify(applied) },
            },
            spec: { taints },
          };
          this.node = await client.create<Node>(paths.nodes, body, { signal });
          this.options.logger.info({ node: nodeName }, "registered node");
          this.options.events?.event(this.ref(), "Normal", "RegisteredNode", `Node ${nodeName} registered`);
        } else {
          const previous = parseLastApplied(current.metadata?.annotations?.[LAST_APPLIED_ANNOTATION]);
          const next: Node = {
            ...current,
            metadata: {
              ...current.metadata,
              labels: mergeOwnedMap(current.metadata?.labels, labels, previous.labels),
              annotations: {
                ...mergeOwnedMap(current.metadata?.annotations, annotations, previous.annotations),
                [LAST_APPLIED_ANNOTATION]: JSON.stringify(applied),
              },
            },
            spec: {
              ...current.spec,
              taints: this.taintsFromNode
                ? current.spec?.taints
                : mergeOwnedTaints(current.spec?.taints, taints, previous.taints),
            },
          };
          this.node = await client.replace<Node>(paths.node(nodeName), next, { signal });
          this.options.logger.info({ node: nodeName }, "adopted existing node");
        }
        return;
      } catch (error) {
        if (isConflict(error) || isAlreadyExists(error)) continue;
        if (this.dropRestrictedLabels(error)) continue;
        if (this.keepTaintsAsTheyAre(error, current)) continue;
        throw error;
      }
    }
    throw new Error(`could not register node ${nodeName}: kept conflicting`);
  }

  /**
   * With the Node identity, NodeRestriction refuses every change to an existing Node's taints: keep
   * the Node's taints as they are (once, with a warning naming the ones that differ) rather than
   * never register again.
   */
  private keepTaintsAsTheyAre(error: unknown, current: Node | undefined): boolean {
    if (!(error instanceof KubeApiError) || error.status !== 403 || !/taint/i.test(error.message))
      return false;
    if (current === undefined || this.taintsFromNode) return false;
    this.taintsFromNode = true;
    const existing = new Set((current.spec?.taints ?? []).map(taintId));
    this.options.logger.warn(
      {
        missing: this.desiredTaints()
          .map(taintId)
          .filter((id) => !existing.has(id)),
      },
      "NodeRestriction refuses taint changes by the node itself; keeping the Node's taints as they are",
    );
    return true;
  }

  /**
   * With the Node identity, NodeRestriction refuses labels such as `kubernetes.io/role`.
   * Drop those (once, with a warning) rather than fail to register.
   */
  private dropRestrictedLabels(error: unknown): boolean {
    if (!(error instanceof KubeApiError) || error.status !== 403 || !/label/i.test(error.message))
      return false;
    const restricted = Object.keys(this.desiredLabels()).filter(isRestrictedLabel);
    if (restricted.length === 0) return false;
    for (const k of restricted) this.droppedLabels.add(k);
    // Expected with the Node identity: a note, not a warning.
    this.options.logger.info(
      { labels: restricted },
      "NodeRestriction refused these labels for the Node identity; registering without them",
    );
    return true;
  }

  private desiredStatus(
    now: Date,
    notReady?: { reason: string; message: string },
  ): NonNullable<Node["status"]> {
    const d = this.description;
    const capacity = { cpu: "1000", memory: "4Ti", pods: "1000", "ephemeral-storage": "1Ti", ...d.capacity };
    const allocatable = { ...capacity, ...d.allocatable };
    const heartbeat = toTime(now);
    const previous = new Map((this.node?.status?.conditions ?? []).map((c) => [c.type, c]));
    const condition = (type: string, status: string, reason: string, message: string): NodeCondition => {
      const prev = previous.get(type);
      return {
        type,
        status,
        reason,
        message,
        lastHeartbeatTime: heartbeat as unknown as Date,
        lastTransitionTime: (prev?.status === status ? prev.lastTransitionTime : heartbeat) as Date,
      };
    };
    const failure =
      notReady ??
      (this.providerError === undefined
        ? undefined
        : { reason: "ProviderUnhealthy", message: this.providerError });
    const conditions: NodeCondition[] = [
      failure
        ? condition("Ready", "False", failure.reason, failure.message)
        : condition("Ready", "True", "KubeletReady", "virtual-node is ready"),
      condition("MemoryPressure", "False", "KubeletHasSufficientMemory", "provider has sufficient memory"),
      condition("DiskPressure", "False", "KubeletHasNoDiskPressure", "provider has no disk pressure"),
      condition("PIDPressure", "False", "KubeletHasSufficientPID", "provider has sufficient PID available"),
      ...(d.conditions ?? []).map((c) => condition(c.type, c.status, c.reason ?? c.type, c.message ?? "")),
    ];
    return {
      capacity,
      allocatable,
      conditions,
      // InternalIP is where the API server reaches this agent's kubelet API, so ours wins;
      // the provider may add others (ExternalIP, InternalDNS, ...).
      addresses: [
        { type: "InternalIP", address: this.options.internalIP },
        { type: "Hostname", address: this.options.nodeName },
        ...(d.addresses ?? []).filter((a) => a.type !== "InternalIP" && a.type !== "Hostname"),
      ],
      daemonEndpoints: { kubeletEndpoint: { Port: this.options.kubeletPort } },
      ...(this.options.declaredFeatures === undefined || this.options.declaredFeatures.length === 0
        ? {}
        : { declaredFeatures: [...this.options.declaredFeatures] }),
      nodeInfo: {
        machineID: this.options.nodeName,
        systemUUID: this.options.nodeName,
        bootID: "",
        kernelVersion: d.kernelVersion ?? "",
        osImage: d.osImage ?? "",
        containerRuntimeVersion: d.containerRuntimeVersion ?? `${this.options.provider.name}://virtual-node`,
        kubeletVersion: this.options.kubeletVersion,
        kubeProxyVersion: "",
        operatingSystem: d.operatingSystem ?? "linux",
        architecture: d.architecture ?? "amd64",
      },
    };
  }

  private async writeStatus(status: NonNullable<Node["status"]>, signal: AbortSignal): Promise<void> {
    const { client, nodeName } = this.options;
    try {
      this.node = await client.patch<Node>(
        paths.nodeStatus(nodeName),
        { status },
        "application/strategic-merge-patch+json",
        { signal },
      );
    } catch (error) {
      if (isNotFound(error)) {
        this.node = undefined;
        await this.register(signal);
        this.node = await client.patch<Node>(
          paths.nodeStatus(nodeName),
          { status },
          "application/strategic-merge-patch+json",
          {
            signal,
          },
        );
        return;
      }
      throw error;
    }
  }
}

const conditionFingerprint = (c: NodeCondition): string[] => [
  c.type,
  c.status,
  c.reason ?? "",
  c.message ?? "",
];

/**
 * True when the Node as the API server has it carries conditions other than those we want
 * (heartbeat and transition times aside, like the kubelet's `nodeConditionsHaveChanged`). Only
 * conditions are compared with the observed Node: the API server rewrites quantities and fills in
 * fields we never set, so the rest is compared with what we last wrote.
 */
export function conditionsDiffer(
  observed: readonly NodeCondition[] | undefined,
  desired: readonly NodeCondition[] | undefined,
): boolean {
  const key = (list: readonly NodeCondition[] | undefined): string =>
    JSON.stringify(
      (list ?? []).map(conditionFingerprint).sort((a, b) => (a[0] ?? "").localeCompare(b[0] ?? "")),
    );
  return key(observed) !== key(desired);
}

function readyStatusOf(node: Pick<Node, "status">): string | undefined {
  return node.status?.conditions?.find((c) => c.type === "Ready")?.status;
}

function parseLastApplied(raw: string | undefined): LastApplied {
  if (raw === undefined) return { labels: [], annotations: [], taints: [] };
  try {
    const parsed = JSON.parse(raw) as Partial<LastApplied>;
    return {
      labels: parsed.labels ?? [],
      annotations: parsed.annotations ?? [],
      taints: parsed.taints ?? [],
    };
  } catch {
    return { labels: [], annotations: [], taints: [] };
  }
}
