/**
 * What the pods a node holds request, for admission (`admission.ts`). The kubelet sums the requests of
 * every pod it runs for each pod it admits; done naively that is quadratic in the node's pods (it was
 * the agent's largest cost in a 2,000-pod churn). {@link NodeUsage} keeps the sum by key and recounts
 * only the keys that changed since the last admission, so an admission costs what changed, not what
 * the node holds. Sums are exact: thousandths of each resource's unit as `bigint`, so thousands of
 * additions and removals of `0.1` cores never drift past a capacity.
 */
import type { Pod } from "./kube/types.js";
import { podResources, type ResourceAmounts } from "./provider-kit/shapes.js";
import { isTerminalPhase } from "./status.js";

/** What a node's pods hold: how many, and their summed requests. */
export interface NodeResourceUsage {
  /** Pods that hold node resources. */
  readonly pods: number;
  /** Summed requests of `name` in thousandths of its unit (millicores for `cpu`, millibytes for `memory`). */
  requested(name: string): bigint;
}

/** `amount` (cores, bytes, counts) in thousandths, exact as the API's quantities are at that precision. */
export function toMilli(amount: number): bigint {
  return BigInt(Math.round(amount * 1000));
}

/**
 * Each pod's effective requests, parsed once per pod object. Informer objects are never mutated — a
 * change arrives as a new object — so the object is the cache key.
 */
const requestsByPod = new WeakMap<Pod, ResourceAmounts>();

/** The pod's effective requests ({@link podResources}), parsed once per object. */
export function podRequests(pod: Pod): ResourceAmounts {
  let requests = requestsByPod.get(pod);
  if (requests === undefined) {
    requests = podResources(pod).requests;
    requestsByPod.set(pod, requests);
  }
  return requests;
}

/** Whether `pod` holds node resources: every pod does until it has finished. */
export function holdsResources(pod: Pod): boolean {
  return !isTerminalPhase(pod.status?.phase);
}

/** A running sum of pods and their requests. */
class ResourceTally implements NodeResourceUsage {
  pods = 0;
  readonly #sums = new Map<string, bigint>();

  add(requests: ResourceAmounts, sign: 1n | -1n): void {
    this.pods += Number(sign);
    for (const [name, amount] of Object.entries(requests)) {
      if (amount === undefined || amount === 0) continue;
      this.#sums.set(name, (this.#sums.get(name) ?? 0n) + sign * toMilli(amount));
    }
  }

  requested(name: string): bigint {
    return this.#sums.get(name) ?? 0n;
  }
}

/** The usage of `pods` that hold resources, not counting `except` (the pod being admitted). */
export function resourceUsageOf(pods: Iterable<Pod>, except?: Pod): NodeResourceUsage {
  const tally = new ResourceTally();
  const uid = except?.metadata?.uid;
  for (const pod of pods) {
    if ((uid !== undefined && pod.metadata?.uid === uid) || !holdsResources(pod)) continue;
    tally.add(podRequests(pod), 1n);
  }
  return tally;
}

/**
 * The usage of a node's pods, kept by key. `holderPod(key)` says whether `key` holds resources now and
 * with which API pod (undefined: it does not); whoever changes that answer calls {@link markChanged}
 * (the pod controller does on every informer event and every change of what it tracks).
 */
export class NodeUsage {
  readonly #tally = new ResourceTally();
  /** The requests each counted key was added with (what to subtract when it changes). */
  readonly #counted = new Map<string, ResourceAmounts>();
  readonly #changed = new Set<string>();

  constructor(private readonly holderPod: (key: string) => Pod | undefined) {}

  /** `key`'s pod, or whether it holds resources, may have changed. */
  markChanged(key: string): void {
    this.#changed.add(key);
  }

  /** The node's usage without `except`'s share (the key being admitted). */
  usage(except: string): NodeResourceUsage {
    for (const key of this.#changed) this.#recount(key);
    this.#changed.clear();
    const own = this.#counted.get(except);
    if (own === undefined) return this.#tally;
    const tally = this.#tally;
    const ownMilli = (name: string): bigint => {
      const amount = own[name];
      return amount === undefined ? 0n : toMilli(amount);
    };
    return { pods: tally.pods - 1, requested: (name) => tally.requested(name) - ownMilli(name) };
  }

  #recount(key: string): void {
    const before = this.#counted.get(key);
    if (before !== undefined) {
      this.#tally.add(before, -1n);
      this.#counted.delete(key);
    }
    const pod = this.holderPod(key);
    if (pod === undefined || !holdsResources(pod)) return;
    const requests = podRequests(pod);
    this.#tally.add(requests, 1n);
    this.#counted.set(key, requests);
  }
}

/** A `Map` that reports each key it sets or deletes (a set of keys is a `ReportingMap<K, true>`). */
export class ReportingMap<K, V> extends Map<K, V> {
  constructor(private readonly changed: (key: K) => void) {
    super();
  }

  override set(key: K, value: V): this {
    super.set(key, value);
    // Map's constructor calls set() before `changed` is assigned; it is given no entries, but be safe.
    (this.changed as ((key: K) => void) | undefined)?.(key);
    return this;
  }

  override delete(key: K): boolean {
    const had = super.delete(key);
    if (had) this.changed(key);
    return had;
  }

  override clear(): void {
    const keys = [...this.keys()];
    super.clear();
    for (const key of keys) this.changed(key);
  }
}
