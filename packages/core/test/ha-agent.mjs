#!/usr/bin/env node
/**
 * An HA agent replica for ha-failover.int.test.ts: a node group on the mock provider whose cloud is
 * served by the test process (so pods outlive a killed agent, like a real cloud's), run from the
 * built packages. Prints READY once its first ownership round is done, and one line per ownership
 * change: `OWN <node> <true|false> <reason>`. SIGTERM stops it gracefully (hand-over).
 *
 * usage: ha-agent.mjs --kubeconfig PATH --cloud-url URL --identity ID --namespace NS --nodes a,b,c
 *        [--lease-seconds N --renew-deadline-seconds N --retry-seconds N]
 */
import { parseArgs } from "node:util";
import { KubeConfig } from "@kubernetes/client-node";
import { createConsoleLogger, createVirtualNodeGroup } from "@virtual-node/core";
import { connectMockCloud, createMockProvider } from "@virtual-node/provider-mock";

const { values } = parseArgs({
  options: {
    kubeconfig: { type: "string" },
    "cloud-url": { type: "string" },
    identity: { type: "string" },
    namespace: { type: "string" },
    nodes: { type: "string" },
    "lease-seconds": { type: "string" },
    "renew-deadline-seconds": { type: "string" },
    "retry-seconds": { type: "string" },
  },
});
const kubeConfig = new KubeConfig();
kubeConfig.loadFromFile(values.kubeconfig ?? "");
const cloud = connectMockCloud(values["cloud-url"] ?? "");
const seconds = (v) => (v === undefined ? undefined : Number(v));
const group = createVirtualNodeGroup({
  kubeConfig,
  nodes: (values.nodes ?? "").split(",").map((nodeName) => ({
    nodeName,
    provider: createMockProvider({ cloud }),
    internalIP: "127.0.0.1",
  })),
  logger: createConsoleLogger({ level: process.env.VIRTUAL_NODE_TEST_LOG === "1" ? "debug" : "warn" }),
  kubeletApi: { enabled: false },
  statusPollFastMs: 200,
  statusPollSlowMs: 1000,
  pingIntervalMs: 1000,
  leaseRenewIntervalMs: 2000,
  reconcileIntervalMs: 2000,
  orphanGraceMs: 4000,
  qps: 500,
  burst: 1000,
  highAvailability: {
    identity: values.identity,
    namespace: values.namespace ?? "",
    leaseDurationSeconds: seconds(values["lease-seconds"]),
    renewDeadlineSeconds: seconds(values["renew-deadline-seconds"]),
    retryPeriodSeconds: seconds(values["retry-seconds"]),
  },
});
group.onOwnershipChange((c) => {
  process.stdout.write(`OWN ${c.nodeName} ${String(c.owned)} ${c.reason}\n`);
});
const controller = new AbortController();
process.once("SIGTERM", () => {
  controller.abort();
});
group.ready.then(
  () => process.stdout.write("READY\n"),
  () => undefined,
);
await group.run(controller.signal);
process.stdout.write("STOPPED\n");
