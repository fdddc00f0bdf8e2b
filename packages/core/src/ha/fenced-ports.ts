/**
 * The write paths of one node, gated by its {@link Fence}: the API client its controllers use and
 * the provider. Wrapping the ports keeps the fencing rule in one place instead of in every
 * controller; reads pass through (they change nothing and keep the kubelet API useful).
 */
import { interceptRequests, type KubeClient } from "../kube/client.js";
import type { Provider } from "../provider.js";
import type { Fence } from "./fence.js";

/** Provider calls that change the cloud. */
const PROVIDER_WRITES = new Set<string>(["createPod", "updatePod", "deletePod", "allocatePodIPs"]);

/**
 * A view of `client` whose non-GET requests first check `fence`. Every verb of `KubeClient` goes
 * through `request`, so gating that one method gates them all; watches are reads.
 */
export function fenceKubeClient(client: KubeClient, fence: Fence): KubeClient {
  return interceptRequests(client, async (method, path, options) => {
    if (method !== "GET") fence.check();
    return client.request(method, path, options);
  });
}

/** A view of `provider` whose cloud-changing calls first check `fence`. */
export function fenceProvider(provider: Provider, fence: Fence): Provider {
  return new Proxy(provider, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver) as unknown;
      if (typeof value !== "function") return value;
      // Bound to the provider itself: a class with #private fields rejects a proxy as `this`.
      const method = value as (...a: unknown[]) => unknown;
      if (typeof property !== "string" || !PROVIDER_WRITES.has(property)) return method.bind(target);
      return async (...args: unknown[]): Promise<unknown> => {
        fence.check();
        return await method.apply(target, args);
      };
    },
  });
}
