/**
 * "Provider reachable" for `/readyz`: core pings every provider on its own schedule; this wraps a
 * provider so that each ping's outcome is recorded, without a second ping loop hitting the cloud.
 */
import type { CallOptions, Provider } from "@virtual-node/core";

/** The last ping outcome of one provider. */
export interface Reachability {
  /** When the last ping succeeded (ms since epoch), or undefined if none did yet. */
  readonly lastSuccessAt: number | undefined;
  /** The last ping's error message, cleared by a success. */
  readonly lastError: string | undefined;
  /** True for providers without `ping`: core cannot tell, and neither can we. */
  readonly pingless: boolean;
}

/**
 * A provider identical to `provider` (same object behind a Proxy, so `this` and private fields keep
 * working) whose `ping` records into the returned {@link Reachability}.
 */
export function trackReachability(
  provider: Provider,
  now: () => number = Date.now,
): { provider: Provider; reachability: Reachability } {
  const state: { lastSuccessAt: number | undefined; lastError: string | undefined; pingless: boolean } = {
    lastSuccessAt: undefined,
    lastError: undefined,
    pingless: typeof provider.ping !== "function",
  };
  if (state.pingless) return { provider, reachability: state };
  const ping = provider.ping?.bind(provider);
  const tracked = new Proxy(provider, {
    get(target, property, receiver) {
      if (property === "ping" && ping) {
        return async (options: CallOptions): Promise<void> => {
          try {
            await ping(options);
            state.lastSuccessAt = now();
            state.lastError = undefined;
          } catch (error) {
            state.lastError = error instanceof Error ? error.message : String(error);
            throw error;
          }
        };
      }
      const value: unknown = Reflect.get(target, property, receiver);
      return typeof value === "function" ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
  return { provider: tracked, reachability: state };
}
