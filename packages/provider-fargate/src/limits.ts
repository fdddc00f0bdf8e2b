/**
 * Default request rates per ECS API: sustained rate (bucket refill per second) and burst (bucket
 * size), after the table in "Request throttling for the Amazon ECS API" (ECS API reference). ECS
 * applies them per account and Region, shared by everything in the account, so an agent should
 * stay well under them; override with `FargateProviderOptions.limits`.
 */
import type { RateLimitTable } from "@virtual-node/core/provider-kit";

/** ECS's documented request-throttling quotas, by API. */
export const ECS_LIMITS: RateLimitTable = {
  RunTask: { ratePerSecond: 40, burst: 100 },
  StopTask: { ratePerSecond: 40, burst: 100 },
  DescribeTasks: { ratePerSecond: 20, burst: 100 },
  ListTasks: { ratePerSecond: 20, burst: 100 },
  RegisterTaskDefinition: { ratePerSecond: 1, burst: 20 },
  DeregisterTaskDefinition: { ratePerSecond: 1, burst: 20 },
  DescribeTaskDefinition: { ratePerSecond: 20, burst: 50 },
  ListTaskDefinitions: { ratePerSecond: 20, burst: 50 },
  DescribeClusters: { ratePerSecond: 20, burst: 50 },
  ListTagsForResource: { ratePerSecond: 20, burst: 50 },
  // CloudWatch Logs GetLogEvents (25/s per account and Region) and Secrets Manager writes
  // (50/s for PutSecretValue/CreateSecret) have their own quotas.
  GetLogEvents: { ratePerSecond: 25, burst: 25 },
  CreateSecret: { ratePerSecond: 50, burst: 50 },
  PutSecretValue: { ratePerSecond: 50, burst: 50 },
  DeleteSecret: { ratePerSecond: 50, burst: 50 },
  DescribeSecret: { ratePerSecond: 50, burst: 50 },
  ListSecrets: { ratePerSecond: 50, burst: 50 },
  default: { ratePerSecond: 20, burst: 50 },
};
