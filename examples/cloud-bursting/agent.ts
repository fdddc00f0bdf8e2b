// The cloud-bursting example's agent: one process, two virtual nodes ("on-prem" with room for
// ON_PREM_PODS pods, and a tainted "burst" node), both on provider-mock, whose cloud is served on
// 127.0.0.1:MOCK_CLOUD_PORT so you can set pods' CPU use (PUT /admin/usage/{ns}/{name}) and watch an
// HPA react. Run it against any cluster (KUBECONFIG), then apply the manifests (see README.md).
import { createConsoleLogger, createVirtualNodeGroup } from "@virtual-node/core";
import { MockCloud, startMockCloudServer } from "@virtual-node/provider-mock";
import { burstingNodes } from "./src/nodes.js";

const cloud = new MockCloud({ hostIP: process.env.NODE_IP ?? "127.0.0.1" });
const server = await startMockCloudServer({ cloud, port: Number(process.env.MOCK_CLOUD_PORT ?? "18080") });
const { nodes } = burstingNodes({
  prefix: process.env.NODE_PREFIX ?? "site",
  cloud,
  onPremPods: Number(process.env.ON_PREM_PODS ?? "10"),
  ...(process.env.NODE_IP === undefined ? {} : { internalIP: process.env.NODE_IP }),
});
const group = createVirtualNodeGroup({
  nodes,
  logger: createConsoleLogger({ level: "info" }),
  shutdown: "delete",
});

const stop = async (): Promise<void> => {
  await group.stop();
  await server.close();
  cloud.dispose();
};
process.on("SIGINT", () => void stop());
process.on("SIGTERM", () => void stop());
process.stdout.write(
  `mock cloud admin API on ${server.url}; nodes: ${nodes.map((n) => n.nodeName).join(", ")}\n`,
);
await group.run();
