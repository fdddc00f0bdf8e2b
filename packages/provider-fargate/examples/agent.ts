// A virtual node whose pods run as ECS tasks on Fargate (credentials: the SDK's default chain).
import { createVirtualNode } from "@virtual-node/core";
import { createFargateProvider } from "@virtual-node/provider-fargate";

const provider = createFargateProvider({
  cluster: "virtual-node",
  region: "eu-west-1",
  subnets: ["subnet-0123456789abcdef0"],
  securityGroups: ["sg-0123456789abcdef0"],
  executionRoleArn: "arn:aws:iam::123456789012:role/virtual-node-task-execution",
  taskRoleArn: "arn:aws:iam::123456789012:role/virtual-node-task",
  logGroup: "/virtual-node/fargate",
  secretMirroring: { store: "secretsmanager" },
  capacityProviderStrategy: [
    { capacityProvider: "FARGATE_SPOT", weight: 3 },
    { capacityProvider: "FARGATE", weight: 1 },
  ],
});

const node = createVirtualNode({
  nodeName: "vn-fargate",
  provider,
  internalIP: process.env.POD_IP ?? "127.0.0.1",
  kubeletApi: { port: 10250 },
});

process.on("SIGTERM", () => void node.stop());
await node.run();
