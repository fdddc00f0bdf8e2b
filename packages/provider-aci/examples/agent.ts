// A virtual node backed by Azure Container Instances (credentials: DefaultAzureCredential).
import { createConsoleLogger, createVirtualNode } from "@virtual-node/core";
import { createAciProvider } from "@virtual-node/provider-aci";

const provider = createAciProvider({
  subscriptionId: process.env.AZURE_SUBSCRIPTION_ID ?? "",
  resourceGroup: process.env.ACI_RESOURCE_GROUP ?? "virtual-node",
  region: process.env.ACI_REGION ?? "westeurope",
  subnetIds: process.env.ACI_SUBNET_ID === undefined ? [] : [process.env.ACI_SUBNET_ID],
  tags: { owner: "platform-team" },
});

const node = createVirtualNode({
  nodeName: "aci-westeurope",
  provider,
  logger: createConsoleLogger({ level: "info" }),
});

process.on("SIGTERM", () => void node.stop());
await node.run();
