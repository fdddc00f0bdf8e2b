// The provider guide's sample (docs/provider-guide.md shows this file verbatim; `npm test`
// type-checks it and checks the guide still matches it). "Acme" is a made-up container cloud.
import {
  minimalCapabilities,
  type PodLifecycle,
  type PodRef,
  type Provider,
  type ProviderPodStatus,
  type ResolvedPod,
  type StatusSource,
} from "@virtual-node/core";
import {
  cloudName,
  createCloudCaller,
  createListStatusSource,
  errorFromHttpStatus,
  ownershipTags,
  parseOwnership,
  splitEnv,
} from "@virtual-node/core/provider-kit";

/** What Acme's SDK offers: one object per pod, listed by tag. */
export interface AcmeClient {
  run(spec: AcmeSpec, signal: AbortSignal): Promise<void>;
  stop(name: string, signal: AbortSignal): Promise<void>;
  list(tags: Record<string, string>, signal: AbortSignal): Promise<AcmeGroup[]>;
}
export interface AcmeSpec {
  name: string;
  image: string;
  env: Record<string, string>;
  secretEnv: Record<string, string>;
  tags: Record<string, string>;
}
export interface AcmeGroup {
  name: string;
  tags: Record<string, string>;
  state: "starting" | "running" | "exited";
  exitCode?: number;
}

/** Pure: pod → cloud spec (table-test it). Secret-sourced env goes to the cloud's secure field. */
export function toAcmeSpec(pod: ResolvedPod, nodeName: string): AcmeSpec {
  const [container] = pod.containers;
  const image = pod.pod.spec?.containers[0]?.image;
  if (container === undefined || image === undefined) throw new Error("a pod has one container");
  const { plain, secret } = splitEnv(container);
  return {
    name: cloudName(pod.ref, { maxLength: 63, alphabet: "lower-alnum-dash" }),
    image,
    env: Object.fromEntries(plain.map((e) => [e.name, e.value])),
    secretEnv: Object.fromEntries(secret.map((e) => [e.name, e.value])),
    tags: ownershipTags(pod.ref, nodeName),
  };
}

/** Pure: cloud object → provider-neutral status; core derives the phase and conditions. */
export function toPodStatus(group: AcmeGroup): ProviderPodStatus {
  const state =
    group.state === "exited"
      ? { terminated: { exitCode: group.exitCode ?? 0 } }
      : group.state === "running"
        ? { running: { startedAt: new Date(0) } }
        : { waiting: { reason: "ContainerCreating" } };
  return { containers: [{ name: "app", state }] };
}

/** The provider: the two functions above plus thin calls through the kit. */
export function createAcmeProvider(acme: AcmeClient, nodeName: string): Provider {
  const call = createCloudCaller({
    provider: "acme",
    limits: { default: { ratePerSecond: 10, burst: 20 } },
    mapError: (error) => errorFromHttpStatus(503, String(error)),
  });
  const status = createListStatusSource<AcmeGroup>({
    list: (signal) => call("list", (s) => acme.list({ "virtual-node-node": nodeName }, s), { signal }),
    identify: (group) => parseOwnership(group.tags),
    fingerprint: (group) => `${group.state}/${String(group.exitCode)}`,
    toStatus: toPodStatus,
  });
  const nameOf = (ref: PodRef): string => cloudName(ref, { maxLength: 63, alphabet: "lower-alnum-dash" });
  const lifecycle: PodLifecycle = {
    name: "acme",
    capabilities: { ...minimalCapabilities, volumes: [] },
    async createPod(pod, { signal }) {
      await call("run", (s) => acme.run(toAcmeSpec(pod, nodeName), s), { signal });
      status.invalidate(pod.ref);
    },
    async updatePod() {
      // Acme cannot change a running group; a real provider throws UnsupportedError for what it cannot apply.
    },
    async deletePod(ref, _grace, { signal }) {
      await call("stop", (s) => acme.stop(nameOf(ref), s), { signal });
      status.invalidate(ref);
    },
    getPodStatus: (ref, options) => status.getPodStatus(ref, options),
    listPods: (node, options) => status.listPods(node, options),
  };
  const statusSource: StatusSource = {
    getPodStatuses: (refs, options) => status.getPodStatuses(refs, options),
  };
  return { ...lifecycle, ...statusSource };
}
