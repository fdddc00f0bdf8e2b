/** A Fargate provider pointed at a running simulator. */
import type { Clock } from "@virtual-node/core";
import { createFargateProvider } from "../../src/index.js";
import type { FargateProvider, FargateProviderOptions } from "../../src/index.js";
import type { AwsSimulator } from "../simulator/server.js";

/** Options that point every AWS client at `sim`, with static test credentials. */
export function simulatorOptions(
  sim: AwsSimulator,
  clock?: Clock,
  extra: Partial<FargateProviderOptions> = {},
): FargateProviderOptions {
  return {
    cluster: "vn-test",
    region: "us-east-1",
    subnets: ["subnet-0a1b2c"],
    securityGroups: ["sg-0a1b2c"],
    executionRoleArn: "arn:aws:iam::123456789012:role/vn-exec",
    logGroup: "/vn/test",
    secretMirroring: { store: "secretsmanager" },
    credentials: { accessKeyId: "AKIDSIMULATOR", secretAccessKey: "simulator-secret-key" },
    clientConfig: { endpoint: sim.url },
    ...(clock === undefined ? {} : { clock }),
    ...extra,
  };
}

/** A provider on the simulator. */
export function simulatorProvider(
  sim: AwsSimulator,
  clock?: Clock,
  extra: Partial<FargateProviderOptions> = {},
): FargateProvider {
  return createFargateProvider(simulatorOptions(sim, clock, extra));
}
