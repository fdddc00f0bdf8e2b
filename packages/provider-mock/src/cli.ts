#!/usr/bin/env node
/**
 * `virtual-node-mock`: a virtual node on the mock provider, as a process. A dry-run target for a real
 * cluster (pods scheduled to it "run" in the simulator), and the agent process the crash/restart tests
 * kill. The simulated cloud is in-process by default, or reached over HTTP (`--cloud-url`) so that its
 * state survives the agent, like a real cloud's.
 */
import { parseArgs } from "node:util";
import { KubeConfig } from "@kubernetes/client-node";
import { createConsoleLogger, createVirtualNode, describeError, type LogLevel } from "@virtual-node/core";
import { connectMockCloud } from "./client.js";
import { MockCloud } from "./mock-cloud.js";
import { createMockProvider } from "./provider.js";
import { startMockCloudServer } from "./server.js";

const usage = `usage: virtual-node-mock --node-name NAME [--kubeconfig PATH] [--cloud-url URL | --serve-cloud PORT]
  [--internal-ip IP] [--kubelet-port N] [--no-push] [--fast] [--log-level debug|info|warn|error]

  --kubeconfig    credentials (default: KUBECONFIG, ~/.kube/config, in-cluster)
  --cloud-url     use a mock cloud served elsewhere (startMockCloudServer), so its state outlives this process
  --serve-cloud   serve this process's mock cloud on 127.0.0.1:PORT for other agents or inspection
  --no-push       no pushed status: core polls (batched)
  --fast          test-friendly timings (200 ms status polls, 2 s lease renewals, 4 s orphan grace)
Prints READY on stdout once the node is registered and the pod watch synced; SIGTERM/SIGINT stop it.`;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      "node-name": { type: "string" },
      kubeconfig: { type: "string" },
      "cloud-url": { type: "string" },
      "serve-cloud": { type: "string" },
      "internal-ip": { type: "string" },
      "kubelet-port": { type: "string" },
      "no-push": { type: "boolean", default: false },
      fast: { type: "boolean", default: false },
      "log-level": { type: "string", default: "info" },
      help: { type: "boolean", default: false },
    },
  });
  const nodeName = values["node-name"];
  if (values.help || nodeName === undefined) {
    process.stderr.write(`${usage}\n`);
    process.exitCode = values.help ? 0 : 2;
    return;
  }
  const kubeConfig = new KubeConfig();
  if (values.kubeconfig === undefined) kubeConfig.loadFromDefault();
  else kubeConfig.loadFromFile(values.kubeconfig);

  const local = values["cloud-url"] === undefined ? new MockCloud() : undefined;
  const cloud = local ?? connectMockCloud(values["cloud-url"] ?? "");
  const served =
    local && values["serve-cloud"] !== undefined
      ? await startMockCloudServer({ cloud: local, port: Number(values["serve-cloud"]) })
      : undefined;
  if (served) process.stderr.write(`mock cloud served at ${served.url}\n`);

  const fast = values.fast;
  const node = createVirtualNode({
    nodeName,
    provider: createMockProvider({ cloud, pushStatus: !values["no-push"] }),
    kubeConfig,
    ...(values["internal-ip"] === undefined ? {} : { internalIP: values["internal-ip"] }),
    // The kubelet API only with --kubelet-port: crash tests run several agents side by side.
    ...(values["kubelet-port"] === undefined
      ? { kubeletApi: { enabled: false } }
      : {
          kubeletPort: Number(values["kubelet-port"]),
          kubeletApi: { port: Number(values["kubelet-port"]) },
        }),
    logger: createConsoleLogger({ level: values["log-level"] as LogLevel }),
    ...(fast
      ? {
          statusPollFastMs: 200,
          statusPollSlowMs: 1000,
          pingIntervalMs: 1000,
          leaseRenewIntervalMs: 2000,
          reconcileIntervalMs: 2000,
          orphanGraceMs: 4000,
          qps: 500,
          burst: 1000,
          shutdown: "leave" as const,
        }
      : {}),
  });
  const controller = new AbortController();
  process.once("SIGTERM", () => {
    controller.abort();
  });
  process.once("SIGINT", () => {
    controller.abort();
  });
  node.ready.then(
    () => process.stdout.write("READY\n"),
    () => undefined,
  );
  await node.run(controller.signal);
  await served?.close();
}

main().catch((error: unknown) => {
  process.stderr.write(`virtual-node-mock: ${describeError(error)}\n`);
  process.exitCode = 1;
});
