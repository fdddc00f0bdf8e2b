/**
 * The status poller: asks the provider for the status of every pod still in play, batched when the
 * provider can, fast while pods are starting and slow once all are steady (or when the provider
 * pushes). What it learns goes to `observe`; the sync loop decides what to write.
 */
import PQueue from "p-queue";
import { describeError } from "./errors.js";
import type { Clock } from "./clock.js";
import type { Logger } from "./logger.js";
import type { InstrumentedCalls } from "./provider-instrumentation.js";
import { podKey, type PodRef, type ProviderPodStatus } from "./provider.js";
import { isAborted } from "./sleep.js";

/** A pod the poller asks about, with what is known of it. */
export interface PolledPod {
  readonly ref: PodRef;
  readonly status?: ProviderPodStatus | undefined;
}

export interface StatusPollerOptions {
  readonly calls: InstrumentedCalls;
  /** Largest batch `getPodStatuses` accepts. */
  readonly batchSize: number;
  /** The provider pushes status: polling is only the safety net. */
  readonly pushes: boolean;
  readonly fastPollMs: number;
  readonly slowPollMs: number;
  readonly clock: Clock;
  readonly logger: Logger;
  /** The pods still in play (not terminal, not lost), asked anew every round. */
  readonly pods: () => PolledPod[];
  /** A status arrived (`undefined`: the provider has no such pod). */
  readonly observe: (ref: PodRef, status: ProviderPodStatus | undefined) => void;
}

/** Pods by pod, at most this many provider calls at once (providers without batched status). */
const UNBATCHED_CONCURRENCY = 16;

/** The wait before the next round: 3× slow with push, fast while any pod is starting, else slow. */
export function pollInterval(
  pods: readonly PolledPod[],
  timing: { pushes: boolean; fastPollMs: number; slowPollMs: number },
): number {
  if (timing.pushes) return timing.slowPollMs * 3;
  return pods.some((p) => !isSteady(p.status)) ? timing.fastPollMs : timing.slowPollMs;
}

/** Every container running and not unready: nothing is expected to change soon. */
export function isSteady(status: ProviderPodStatus | undefined): boolean {
  if (status === undefined) return false;
  return status.containers.every((c) => "running" in c.state && c.ready !== false);
}

export class StatusPoller {
  constructor(private readonly options: StatusPollerOptions) {}

  /** Polls until `signal` aborts; a failed round is logged and the next one comes as usual. */
  async run(signal: AbortSignal): Promise<void> {
    const { clock, logger } = this.options;
    while (!signal.aborted) {
      await clock.sleep(pollInterval(this.options.pods(), this.options), signal).catch(() => undefined);
      if (isAborted(signal)) break;
      try {
        await this.pollOnce(signal);
      } catch (error) {
        logger.warn({ error: describeError(error) }, "status poll failed");
      }
    }
  }

  /** One round: batched when the provider can, else pod by pod. */
  async pollOnce(signal: AbortSignal): Promise<void> {
    const refs = this.options.pods().map((p) => p.ref);
    if (refs.length === 0) return;
    const { calls, observe, batchSize } = this.options;
    if (calls.getPodStatuses !== undefined) {
      for (let i = 0; i < refs.length; i += batchSize) {
        const batch = refs.slice(i, i + batchSize);
        const results = await calls.getPodStatuses(batch, { signal });
        for (const ref of batch) observe(ref, results.get(podKey(ref)));
      }
      return;
    }
    const limiter = new PQueue({ concurrency: UNBATCHED_CONCURRENCY });
    await limiter.addAll(
      refs.map((ref) => async () => {
        if (signal.aborted) return;
        try {
          observe(ref, await calls.getPodStatus(ref, { signal }));
        } catch (error) {
          this.options.logger.debug({ pod: podKey(ref), error: describeError(error) }, "status poll failed");
        }
      }),
    );
  }
}
