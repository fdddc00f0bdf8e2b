/**
 * The agent: a validated config turned into a running virtual-node group, its health endpoint and
 * (optionally) trace export. Signals are the caller's business (`cli.ts`); this module only offers
 * `run(signal)` and `stop()`.
 */
import { dirname, resolve } from "node:path";
import {
  createVirtualNodeGroup,
  describeError,
  InvalidInputError,
  loadKubeConfig,
  type KubeConfigSource,
  type Logger,
  type NodeOptions,
  type VirtualNodeGroup,
  type VirtualNodeGroupOptions,
} from "@virtual-node/core";
import { Registry } from "prom-client";
import { ConfigFileError } from "./config.js";
import { startHealthServer, type HealthServer, type ReadinessCheck } from "./health-server.js";
import { loadProvider } from "./providers.js";
import { trackReachability, type Reachability } from "./reachability.js";
import { resolveSecretReferences, type SecretValues } from "./secrets.js";
import { startTracing, type StopTracing } from "./tracing.js";
import type { AgentConfig } from "./types.js";

/** How the agent is started besides its config. */
export interface AgentOptions {
  /** The config file (relative `fromFile` and module paths are resolved against its directory). */
  configFile?: string;
  /** `--kubeconfig`; wins over the config's `kubeconfig`. */
  kubeconfig?: string;
  /** Default `process.env`. */
  env?: Readonly<Record<string, string | undefined>>;
  logger: Logger;
  /** Secret values found while resolving references are added here (the logger redacts them). */
  secrets: SecretValues;
  /** `server.port` override (tests: 0). */
  serverPort?: number;
}

/** A started agent. */
export interface Agent {
  /** The virtual nodes, as configured. */
  readonly nodeNames: readonly string[];
  /** Resolves when every node is registered and the pod watch synced (rejects if start-up fails). */
  readonly ready: Promise<void>;
  /** Where `/healthz`, `/readyz` and `/metrics` are served. */
  readonly server: HealthServer;
  /** The readiness checks as `/readyz` reports them. */
  readiness(): ReadinessCheck[];
  /** Runs until `signal` aborts; then applies the shutdown policy (or hands over, with HA) and cleans up. */
  run(signal: AbortSignal): Promise<void>;
}

/** Builds the providers and the group and starts the health server; `run` does the rest. */
export async function startAgent(config: AgentConfig, options: AgentOptions): Promise<Agent> {
  const env = options.env ?? process.env;
  const baseDir = options.configFile === undefined ? process.cwd() : dirname(resolve(options.configFile));
  const logger = options.logger;
  const registry = new Registry();

  let stopTracing: StopTracing | undefined;
  const otlp = config.telemetry?.otlp;
  if (otlp) {
    const headers = (await resolveSecretReferences(
      otlp.headers ?? {},
      "telemetry.otlp.headers",
      { env, baseDir },
      options.secrets,
    )) as Record<string, string>;
    stopTracing = await startTracing({
      endpoint: otlp.endpoint,
      headers,
      ...(otlp.serviceName ? { serviceName: otlp.serviceName } : {}),
    });
    logger.info({ endpoint: otlp.endpoint }, "exporting traces over OTLP/HTTP");
  }

  const reachability = new Map<string, Reachability>();
  const nodes: NodeOptions[] = [];
  for (const [i, node] of config.nodes.entries()) {
    const field = `nodes[${String(i)}].provider`;
    const providerOptions = (await resolveSecretReferences(
      node.provider.options ?? {},
      `${field}.options`,
      { env, baseDir },
      options.secrets,
    )) as Record<string, unknown>;
    let built;
    try {
      built = await loadProvider(
        node.provider,
        providerOptions,
        { nodeName: node.name, registry, logger: logger.child({ node: node.name }) },
        { field, baseDir },
      );
    } catch (error) {
      // A provider validates its own options; say which node's config was wrong.
      if (error instanceof InvalidInputError && !(error instanceof ConfigFileError)) {
        const inner = error.field ?? "";
        const path = inner.startsWith("nodes[") ? inner : `${field}${inner === "" ? "" : `.${inner}`}`;
        throw new ConfigFileError(options.configFile, [{ path, problem: error.message }]);
      }
      throw error;
    }
    const tracked = trackReachability(built);
    reachability.set(node.name, tracked.reachability);
    const internalIP = node.internalIP ?? env.POD_IP;
    nodes.push({
      nodeName: node.name,
      provider: tracked.provider,
      ...(node.labels ? { labels: node.labels } : {}),
      ...(node.annotations ? { annotations: node.annotations } : {}),
      ...(node.taints ? { taints: node.taints.map((t) => ({ ...t })) } : {}),
      ...(internalIP ? { internalIP } : {}),
      ...(node.kubeletPort === undefined ? {} : { kubeletPort: node.kubeletPort }),
    });
  }

  // --kubeconfig is relative to the working directory, the config's `kubeconfig` to the config file.
  const kubeconfigFile =
    options.kubeconfig !== undefined
      ? resolve(options.kubeconfig)
      : config.kubeconfig && resolve(baseDir, config.kubeconfig);
  const kubeConfig = loadAgentKubeConfig(kubeconfigFile, env);
  const ha = config.highAvailability;
  const groupOptions: VirtualNodeGroupOptions = {
    nodes,
    kubeConfig,
    logger,
    registry,
    ...config.tuning,
    ...(config.shutdown ? { shutdown: config.shutdown } : {}),
    ...(config.kubeletApi ? { kubeletApi: { ...config.kubeletApi } } : {}),
    ...(ha
      ? {
          highAvailability: {
            ...ha,
            // In a Deployment the pod name is the natural identity (stable in logs and Leases).
            ...(ha.identity === undefined && env.POD_NAME ? { identity: env.POD_NAME } : {}),
          },
        }
      : {}),
  };
  const group: VirtualNodeGroup = createVirtualNodeGroup(groupOptions);
  if (ha) {
    group.onOwnershipChange((change) => {
      logger.info({ change, owned: group.ownedNodes() }, "node ownership changed");
    });
  }

  let started = false;
  let stopping = false;
  group.ready.then(
    () => {
      started = true;
    },
    () => undefined,
  );
  const pingFreshnessMs = config.server?.pingFreshnessMs ?? 3 * (config.tuning?.pingIntervalMs ?? 10_000);
  const readiness = (): ReadinessCheck[] => {
    const now = Date.now();
    const checks: ReadinessCheck[] = [
      {
        name: "nodes-registered-and-informers-synced",
        ok: started,
        ...(started ? {} : { message: "waiting for Node registration and the pod watch to sync" }),
      },
    ];
    for (const [nodeName, state] of reachability) {
      const fresh =
        state.pingless || (state.lastSuccessAt !== undefined && now - state.lastSuccessAt <= pingFreshnessMs);
      const message = state.pingless
        ? "provider has no ping"
        : (state.lastError ??
          (state.lastSuccessAt === undefined
            ? "no successful ping yet"
            : `last ping ${String(now - state.lastSuccessAt)} ms ago`));
      checks.push({ name: `provider-reachable:${nodeName}`, ok: fresh, message });
    }
    if (ha)
      checks.push({
        name: "high-availability",
        ok: true,
        message: `owns ${group.ownedNodes().join(", ") || "no nodes"}`,
      });
    if (stopping) checks.push({ name: "not-shutting-down", ok: false, message: "shutting down" });
    return checks;
  };

  let server: HealthServer;
  try {
    server = await startHealthServer({
      address: config.server?.address ?? "0.0.0.0",
      port: options.serverPort ?? config.server?.port ?? 8080,
      registry,
      readiness,
    });
  } catch (error) {
    await stopTracing?.();
    throw error;
  }
  logger.info(
    { url: server.url, nodes: nodes.map((n) => n.nodeName) },
    "health and metrics endpoint listening",
  );

  return {
    nodeNames: nodes.map((n) => n.nodeName),
    ready: group.ready,
    server,
    readiness,
    async run(signal) {
      const onAbort = (): void => {
        stopping = true;
        logger.info({ policy: ha ? "hand-over" : (config.shutdown ?? "notReady") }, "shutting down");
      };
      signal.addEventListener("abort", onAbort, { once: true });
      try {
        await group.run(signal);
      } finally {
        signal.removeEventListener("abort", onAbort);
        await server.close();
        await stopTracing?.().catch((error: unknown) => {
          logger.warn({ error: describeError(error) }, "trace export shutdown failed");
        });
      }
    },
  };
}

/** `--kubeconfig` / config file, else in-cluster inside a pod, else KUBECONFIG / ~/.kube/config. */
function loadAgentKubeConfig(
  file: string | undefined,
  env: Readonly<Record<string, string | undefined>>,
): KubeConfigSource {
  let kc: KubeConfigSource;
  try {
    kc =
      file !== undefined
        ? loadKubeConfig({ file, env })
        : loadKubeConfig({ env, inCluster: Boolean(env.KUBERNETES_SERVICE_HOST) });
  } catch (error) {
    throw new InvalidInputError(`cannot load the kubeconfig ${file ?? ""}: ${describeError(error)}`, {
      field: "kubeconfig",
      cause: error,
    });
  }
  if (kc.getCurrentCluster() === null) {
    throw new InvalidInputError(
      `no cluster in the kubeconfig${file === undefined ? " (set --kubeconfig or KUBECONFIG)" : ` ${file}`}`,
      {
        field: "kubeconfig",
      },
    );
  }
  return kc;
}

/** True for errors that mean "the configuration is wrong" rather than "something failed while running". */
export function isConfigurationError(error: unknown): boolean {
  return error instanceof InvalidInputError;
}
