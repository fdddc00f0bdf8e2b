/**
 * Test wiring: the simulator server plus the real Google clients pointed at it through their
 * REST fallback and a static-token auth client (no metadata-server probing, no outside network).
 */
import { OAuth2Client } from "google-auth-library";
import type { Clock } from "@virtual-node/core";
import { createCloudRunClients } from "../../src/clients.js";
import type { CloudRunClientSettings, CloudRunClients } from "../../src/clients.js";
import { startSimulator } from "../simulator/server.js";
import type { SimulatorServer } from "../simulator/server.js";
import type { SimTimings } from "../simulator/cloud.js";

/** A static token: the clients never ask the metadata server. */
export function stubAuthClient(): OAuth2Client {
  const client = new OAuth2Client();
  client.setCredentials({ access_token: "test-token", expiry_date: Date.now() + 10 * 365 * 864e5 });
  return client;
}

/** Client settings that reach the simulator on `port`. */
export function simulatorSettings(port: number): CloudRunClientSettings {
  return {
    projectId: "p1",
    transport: "rest",
    authClient: stubAuthClient(),
    clientOptions: { apiEndpoint: "127.0.0.1", port, protocol: "http" },
  };
}

/** A simulator and a set of clients talking to it. */
export async function startSimWithClients(
  clock: Clock,
  timings: Partial<SimTimings> = {},
): Promise<{ server: SimulatorServer; clients: CloudRunClients }> {
  const server = await startSimulator({ clock, timings });
  return { server, clients: createCloudRunClients(simulatorSettings(server.port)) };
}
