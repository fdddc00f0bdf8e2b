/**
 * What a workload costs on a pay-per-use cloud. A provider reports the size the cloud bills for
 * each pod (`ProviderPodStatus.billed`); core publishes it on the pod as an annotation and turns
 * "size × time running" into two counters, so a team can see vCPU- and GiB-seconds per namespace
 * next to its other metrics (no other virtual kubelet does). The accounting is pure and driven by a
 * {@link Clock}: the meter only needs to be told what each pod is billed and whether it runs.
 */
import type { Clock } from "./clock.js";
import type { BilledResources } from "./provider.js";

/** The pod annotation core writes with the provider's billed shape, as JSON. */
export const BILLED_RESOURCES_ANNOTATION = "virtual-node.io/billed-resources";

/**
 * The annotation value for a billed shape: `{"vcpu":1,"memoryGiB":2,"shape":"1024/2048"}`, keys
 * always in this order so an unchanged shape gives the same text (and no write).
 */
export function billedAnnotationValue(billed: BilledResources): string {
  return JSON.stringify({
    vcpu: billed.vcpu,
    memoryGiB: billed.memoryGiB,
    ...(billed.shape === undefined ? {} : { shape: billed.shape }),
  });
}

/** Billed amounts for a stretch of time. */
export interface BilledUsage {
  vcpuSeconds: number;
  memoryGiBSeconds: number;
}

/** What `billed` costs from `fromMs` to `toMs` (0 when time did not advance). */
export function billedUsage(billed: BilledResources, fromMs: number, toMs: number): BilledUsage {
  const seconds = Math.max(0, toMs - fromMs) / 1000;
  return { vcpuSeconds: billed.vcpu * seconds, memoryGiBSeconds: billed.memoryGiB * seconds };
}

/** Options of {@link BillingMeter}. */
export interface BillingMeterOptions {
  clock: Clock;
  /** Receives every increment, labelled with the pod's namespace. */
  record: (namespace: string, usage: BilledUsage) => void;
}

interface Metered {
  namespace: string;
  billed: BilledResources | undefined;
  running: boolean;
  /** Time up to which this pod has been accounted. */
  since: number;
}

/**
 * Accumulates billed usage per pod: between two observations a pod that was running is charged
 * the shape it had, so a shape change or a stop takes effect from the moment it is observed.
 * {@link BillingMeter.flush} charges every running pod up to now (before a scrape), and
 * {@link BillingMeter.forget} charges a pod one last time and drops it.
 */
export class BillingMeter {
  readonly #clock: Clock;
  readonly #record: (namespace: string, usage: BilledUsage) => void;
  readonly #pods = new Map<string, Metered>();

  constructor(options: BillingMeterOptions) {
    this.#clock = options.clock;
    this.#record = options.record;
  }

  /** The pod's current billed shape (if any) and whether it is Running, as of now. */
  observe(key: string, namespace: string, billed: BilledResources | undefined, running: boolean): void {
    const now = this.#clock.now();
    const entry = this.#pods.get(key);
    if (entry !== undefined) this.#charge(entry, now);
    this.#pods.set(key, { namespace, billed, running, since: now });
  }

  /** Charges every running pod up to now. */
  flush(): void {
    const now = this.#clock.now();
    for (const entry of this.#pods.values()) this.#charge(entry, now);
  }

  /** Charges the pod up to now and stops metering it (deleted, lost, or gone from the API). */
  forget(key: string): void {
    const entry = this.#pods.get(key);
    if (entry === undefined) return;
    this.#charge(entry, this.#clock.now());
    this.#pods.delete(key);
  }

  /** Pods metered right now (running or not). */
  get size(): number {
    return this.#pods.size;
  }

  #charge(entry: Metered, now: number): void {
    if (entry.running && entry.billed !== undefined && now > entry.since) {
      this.#record(entry.namespace, billedUsage(entry.billed, entry.since, now));
    }
    entry.since = Math.max(entry.since, now);
  }
}
