/**
 * Pod start latency: creation → the first pod update that shows phase Running, measured from
 * the pod watch (what the API reports, so it includes the provider's provisioning, image pulls
 * and our own status write). Only starts this process saw happen count: a pod that is already
 * Running when first seen (after an agent restart, on adoption) is not a start we measured.
 */
import type { Histogram } from "prom-client";
import { systemClock, type Clock } from "./clock.js";
import type { Pod } from "./kube/types.js";

/** Feeds `virtual_node_pod_start_duration_seconds` from pod watch events. */
export class PodStartLatency {
  readonly #histogram: Histogram;
  readonly #clock: Clock;
  /** UID → whether its start is already accounted for (observed, or first seen Running). */
  readonly #counted = new Map<string, boolean>();

  constructor(histogram: Histogram, clock: Clock = systemClock) {
    this.#histogram = histogram;
    this.#clock = clock;
  }

  /** A pod was added or updated. */
  observe(pod: Pod): void {
    const uid = pod.metadata?.uid;
    if (uid === undefined) return;
    const counted = this.#counted.get(uid);
    const running = pod.status?.phase === "Running";
    if (counted === undefined) {
      this.#counted.set(uid, running);
      return;
    }
    if (counted || !running) return;
    this.#counted.set(uid, true);
    const created = new Date(pod.metadata?.creationTimestamp ?? NaN).getTime();
    if (Number.isFinite(created)) this.#histogram.observe(Math.max(0, this.#clock.now() - created) / 1000);
  }

  /** A pod was deleted: forget it. */
  forget(pod: Pod): void {
    const uid = pod.metadata?.uid;
    if (uid !== undefined) this.#counted.delete(uid);
  }

  /** Pods being tracked (for tests and leak checks). */
  get size(): number {
    return this.#counted.size;
  }
}
