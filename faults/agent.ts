/**
 * The agent under fault, in its own process so that it can be SIGKILLed: core with the mock provider
 * talking to a mock cloud over HTTP (its state outlives the agent, like a real cloud's). JSON log lines go
 * to a file the secret scan reads; the metrics are written to a file every second (the last snapshot
 * survives a SIGKILL).
 *
 * Usage: node faults/agent.ts '<AgentSpec JSON>'   (prints READY once its nodes are registered and synced)
 */
import { AsyncLocalStorage } from "node:async_hooks";
import { createWriteStream, writeFileSync } from "node:fs";
import { basename } from "node:path";

import { KubeConfig } from "@kubernetes/client-node";
import { createConsoleLogger, createVirtualNodeGroup } from "@virtual-node/core";
import { connectMockCloud, createMockProvider } from "@virtual-node/provider-mock";

/** What the test asks of one agent process. */
export interface AgentSpec {
  readonly kubeconfig: string;
  readonly nodeNames: readonly string[];
  readonly cloudUrl: string;
  readonly logFile: string;
  readonly metricsFile: string;
  readonly logLevel?: "debug" | "info" | "warn";
  /** Replicas: the HA options of core (namespace required). */
  readonly highAvailability?: { readonly namespace: string; readonly identity: string } & Record<
    string,
    number | string
  >;
  /** Core options overriding the test-friendly timings below. */
  readonly options?: Record<string, number | string | boolean>;
}

const spec = JSON.parse(process.argv[2] ?? "{}") as AgentSpec;

// Every request to the cloud says who sends it (the HA identity, else the process's name) and for which
// virtual node, so that the cloud's call log shows which replica acted for which node when. Same names
// as CALLER_HEADER and NODE_HEADER in support.ts.
const caller = spec.highAvailability?.identity ?? basename(spec.logFile, ".log");
const cloudOrigin = new URL(spec.cloudUrl).origin;
const callingFor = new AsyncLocalStorage<string>();
const baseFetch = globalThis.fetch;
globalThis.fetch = (input, init) => {
  const url = typeof input === "string" ? input : input instanceof URL ? input.href : input.url;
  if (!url.startsWith(cloudOrigin)) return baseFetch(input, init);
  const headers = new Headers(init?.headers);
  headers.set("x-vn-caller", caller);
  const nodeName = callingFor.getStore();
  if (nodeName !== undefined) headers.set("x-vn-node", nodeName);
  return baseFetch(input, { ...init, headers });
};
const kubeConfig = new KubeConfig();
kubeConfig.loadFromFile(spec.kubeconfig);
const logStream = createWriteStream(spec.logFile, { flags: "a" });
const logger = createConsoleLogger({ level: spec.logLevel ?? "info", stream: logStream });
const cloud = connectMockCloud(spec.cloudUrl);
/** The cloud client as one node's provider sees it: each call (and what it starts) runs as that node's. */
const cloudFor = (nodeName: string): typeof cloud =>
  new Proxy(cloud, {
    get(target, key, receiver) {
      const value: unknown = Reflect.get(target, key, receiver);
      if (typeof value !== "function") return value;
      return (...args: unknown[]): unknown =>
        callingFor.run(nodeName, () => (value as (...a: unknown[]) => unknown).apply(target, args));
    },
  });
const node = { capacity: { pods: "5000" }, allocatable: { pods: "5000" } };
const group = createVirtualNodeGroup({
  nodes: spec.nodeNames.map((nodeName) => ({
    nodeName,
    provider: createMockProvider({ cloud: cloudFor(nodeName), node }),
    internalIP: "127.0.0.1",
  })),
  kubeConfig,
  logger,
  kubeletApi: { enabled: false },
  // Test-friendly timings (those of provider-mock's --fast); the defaults' behaviour is the same, slower.
  statusPollFastMs: 200,
  statusPollSlowMs: 1000,
  pingIntervalMs: 1000,
  leaseRenewIntervalMs: 2000,
  reconcileIntervalMs: 2000,
  orphanGraceMs: 4000,
  maxRetryDelayMs: 5000,
  qps: 500,
  burst: 1000,
  shutdown: "leave",
  ...(spec.highAvailability === undefined ? {} : { highAvailability: spec.highAvailability }),
  ...spec.options,
});
group.onOwnershipChange((change) => {
  logger.info({ ownership: change, owned: group.ownedNodes() }, "ownership changed");
});

const metricsTimer = setInterval(() => {
  void group.metricsRegistry.metrics().then((text) => {
    writeFileSync(spec.metricsFile, text);
  });
}, 1000);
const controller = new AbortController();
process.once("SIGTERM", () => {
  controller.abort();
});
process.once("SIGINT", () => {
  controller.abort();
});
void group.ready.then(() => process.stdout.write("READY\n"));
await group.run(controller.signal);
clearInterval(metricsTimer);
writeFileSync(spec.metricsFile, await group.metricsRegistry.metrics());
logStream.end();
process.exit(0);
