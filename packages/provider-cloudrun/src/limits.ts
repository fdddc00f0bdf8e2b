/**
 * Default request rates per Cloud Run Admin API, Secret Manager and Cloud Logging call, for the
 * kit's limiters (one limiter per API). Cloud Run's documented Admin API quotas are per minute per
 * region: job, worker pool and service writes 60–180/min, reads 1 000+/min, `entries.list` 60/min per project.
 */
import type { RateLimitTable } from "@virtual-node/core/provider-kit";

/** Requests per second (sustained) and burst, by the API names the provider calls. */
export const CLOUD_RUN_RATE_LIMITS: RateLimitTable = {
  CreateJob: { ratePerSecond: 1, burst: 20 },
  RunJob: { ratePerSecond: 1, burst: 20 },
  DeleteJob: { ratePerSecond: 1, burst: 20 },
  CreateService: { ratePerSecond: 1, burst: 20 },
  UpdateService: { ratePerSecond: 1, burst: 20 },
  DeleteService: { ratePerSecond: 1, burst: 20 },
  CreateWorkerPool: { ratePerSecond: 1, burst: 20 },
  UpdateWorkerPool: { ratePerSecond: 1, burst: 20 },
  DeleteWorkerPool: { ratePerSecond: 1, burst: 20 },
  CreateInstance: { ratePerSecond: 1, burst: 20 },
  DeleteInstance: { ratePerSecond: 1, burst: 20 },
  CancelExecution: { ratePerSecond: 1, burst: 20 },
  ListEntries: { ratePerSecond: 1, burst: 5 },
  SecretWrite: { ratePerSecond: 10, burst: 50 },
  default: { ratePerSecond: 15, burst: 60 },
};
