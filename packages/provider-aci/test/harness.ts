/** A provider on a simulator (test helper). */
import { WebSocket } from "ws";
import type { Clock } from "@virtual-node/core";
import { ACI_RATE_LIMITS, createAciProvider } from "../src/index.js";
import type { AciProvider, AciProviderOptions, WebSocketLike } from "../src/index.js";
import { staticCredential } from "./simulator/client.js";
import { SIMULATOR_CA } from "./simulator/simulator.js";
import type { AciSimulator } from "./simulator/simulator.js";

/** Limits high enough that tests on a fake clock never wait for a token (every API the provider names). */
export const UNLIMITED = Object.fromEntries(
  [...Object.keys(ACI_RATE_LIMITS), "Location.ListUsage"].map((api) => [
    api,
    { ratePerSecond: 10_000, burst: 10_000 },
  ]),
);

/** Opens exec sockets trusting the simulator's test CA. */
export const simulatorWebSocket = (url: string): WebSocketLike =>
  new WebSocket(url, { ca: SIMULATOR_CA }) as unknown as WebSocketLike;

/** An ACI provider wired to `sim`. */
export function providerOn(
  sim: AciSimulator,
  clock: Clock,
  extra: Partial<AciProviderOptions> = {},
): AciProvider {
  return createAciProvider({
    subscriptionId: sim.subscriptionId,
    resourceGroup: [...sim.resourceGroups][0] ?? "vn-rg",
    region: sim.location,
    credential: staticCredential,
    clientOptions: { endpoint: sim.url, tlsOptions: { ca: SIMULATOR_CA } },
    clock,
    limits: UNLIMITED,
    webSocket: simulatorWebSocket,
    ...extra,
  });
}
