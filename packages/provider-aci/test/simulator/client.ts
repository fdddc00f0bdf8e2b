/** The real SDK client pointed at a simulator (test helper). */
import { ContainerInstanceManagementClient } from "@azure/arm-containerinstance";
import type { TokenCredential } from "@azure/identity";
import { SIMULATOR_CA } from "./simulator.js";
import type { AciSimulator } from "./simulator.js";

/** A static token: the simulator checks only that a bearer token is present. */
export const staticCredential: TokenCredential = {
  getToken: () => Promise.resolve({ token: "simulator-token", expiresOnTimestamp: Date.now() + 3_600_000 }),
};

/** Client options that point the SDK at the simulator. */
export function simulatorClientOptions(sim: AciSimulator) {
  return { endpoint: sim.url, tlsOptions: { ca: SIMULATOR_CA }, retryOptions: { maxRetries: 0 } };
}

/** A client on the simulator, retries off (tests see every answer). */
export function simulatorClient(sim: AciSimulator): ContainerInstanceManagementClient {
  return new ContainerInstanceManagementClient(
    staticCredential,
    sim.subscriptionId,
    simulatorClientOptions(sim),
  );
}
