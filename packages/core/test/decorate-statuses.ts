/** Test helper: a mock provider that adds fields to every status it reports. */
import type { MockProvider } from "@virtual-node/provider-mock";
import type { ProviderPodStatus } from "../src/provider.js";

/** Adds `extra()` to every status `provider` reports, however it is delivered (get, batch, push). */
export function decorateStatuses(
  provider: MockProvider,
  extra: () => Partial<ProviderPodStatus>,
): MockProvider {
  const get = provider.getPodStatus.bind(provider);
  const batch = provider.getPodStatuses.bind(provider);
  const subscribe = provider.subscribeStatus?.bind(provider);
  const add = (s: ProviderPodStatus | undefined): ProviderPodStatus | undefined =>
    s === undefined ? s : { ...s, ...extra() };
  provider.getPodStatus = async (ref, options) => add(await get(ref, options));
  provider.getPodStatuses = async (refs, options) => {
    const statuses = await batch(refs, options);
    return new Map([...statuses].map(([k, v]) => [k, add(v)]));
  };
  if (subscribe)
    provider.subscribeStatus = (nodeName, listener) =>
      subscribe(nodeName, (ref, status) => {
        listener(ref, add(status));
      });
  return provider;
}
