/**
 * A Cloud Run provider wired to a simulator: real Google clients over the REST fallback, a fake or
 * real clock, rate limits high enough that tests never wait on a token.
 */
import type { Clock } from "@virtual-node/core";
import { createCloudRunProvider } from "../../src/provider.js";
import type { CloudRunProvider } from "../../src/provider.js";
import type { CloudRunProviderOptions } from "../../src/options.js";
import { simulatorSettings } from "./sim.js";

/** A provider talking to the simulator on `port`. */
export function simulatorProvider(
  port: number,
  clock: Clock,
  overrides: Partial<CloudRunProviderOptions> = {},
): CloudRunProvider {
  const settings = simulatorSettings(port);
  return createCloudRunProvider({
    project: "p1",
    region: "us-central1",
    transport: "rest",
    ...(settings.authClient === undefined ? {} : { authClient: settings.authClient }),
    ...(settings.clientOptions === undefined ? {} : { clientOptions: settings.clientOptions }),
    clock,
    secrets: "mirror",
    rateLimits: { default: { ratePerSecond: 10_000, burst: 10_000 } },
    retryBackoff: { baseMs: 100, maxMs: 1000, factor: 2, jitter: "none" },
    operationBackoff: { baseMs: 100, maxMs: 500, factor: 2, jitter: "none" },
    statusIntervals: { fastMs: 500, slowMs: 5000 },
    logPollIntervalMs: 200,
    ...overrides,
  });
}
