/** `@virtual-node/core/building-blocks`: the keyed work queue, backoff, events and metrics core is made of. */
export {
  WorkQueue,
  type ShutDownOptions,
  type SyncHandler,
  type SyncResult,
  type WorkQueueMetric,
  type WorkQueueOptions,
  type WorkQueueStats,
} from "../work-queue.js";
export {
  Backoff,
  exponentialDelay,
  ItemExponentialRateLimiter,
  jitteredDelay,
  retryAfterMs,
  seededRandom,
  withRetryAfter,
  type BackoffOptions,
  type ItemExponentialRateLimiterOptions,
  type JitterMode,
  type RandomSource,
  type RateLimiter,
} from "../backoff.js";
export {
  createEventRecorder,
  EventReasons,
  type EventCountPatch,
  type EventReason,
  type EventRecorder,
  type EventRecorderOptions,
  type EventRecorderStats,
  type EventSink,
  type EventType,
  type InvolvedObject,
} from "../events.js";
export { createMetrics, type NodeMetrics, type NodeMetricsSource } from "../metrics.js";
export type { ProviderApiMetrics } from "../provider-kit/rate-limit.js";
export { LAST_APPLIED_ANNOTATION, mergeOwnedMap, mergeOwnedTaints } from "../node-controller.js";
