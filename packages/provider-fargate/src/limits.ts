/**
 * Default request rates per API: sustained rate (bucket refill per second) and burst (bucket
 * size). ECS, Fargate, CloudWatch Logs, Secrets Manager and SSM apply their quotas per account and
 * Region, shared by everything in the account, so an agent should stay under them; override with
 * `FargateProviderOptions.limits`.
 *
 * Sources (read 2026-12-02, see docs/providers/fargate.md "Throttling"):
 * - "Request throttling for the Amazon ECS API" (ECS API Reference, request-throttling.html),
 *   table "Request Token Bucket Sizes and Refill Rates": cluster resource modify actions (RunTask,
 *   StopTask, …) 100 / 40; cluster resource read actions (DescribeTasks, ListTasks, …) 100 / 20;
 *   task definition modify actions (Register/DeregisterTaskDefinition) 20 / 1; task definition
 *   read actions (DescribeTaskDefinition, ListTaskDefinitions, …) 50 / 20; cluster read actions
 *   (DescribeClusters, ListClusters) 50 / 20; tag read actions (ListTagsForResource) 50 / 20;
 *   tag modify actions (TagResource, UntagResource) 20 / 10. ECS shares one bucket per category:
 *   DescribeTasks and ListTasks together get 20/s, not 20/s each (the kit has one limiter per API,
 *   so this table gives each API its category's numbers and the adaptive limiter backs off on the
 *   throttles that sharing can cause).
 * - "AWS Fargate throttling quotas" (ECS Developer Guide, throttling.html): on Fargate, RunTask is
 *   additionally limited to 20 calls per second, burst and sustained — lower than the ECS
 *   category's 100 / 40, so RunTask is 20 / 20 here.
 * - CloudWatch Logs GetLogEvents 25/s, Secrets Manager 50/s: kept from the first version of this
 *   table; the quota pages were not readable in the session that checked the ECS rows.
 * - SSM Parameter Store: the documented default throughput (40/s) covers GetParameter(s) and
 *   GetParametersByPath, which the provider does not call; no per-API number for PutParameter,
 *   AddTagsToResource, DescribeParameters or DeleteParameters could be read, so those are a
 *   conservative 5/s with a burst of 10.
 */
import type { RateLimitTable } from "@virtual-node/core/provider-kit";

/** The documented request-throttling quotas, by API (see the module comment for the sources). */
export const ECS_LIMITS: RateLimitTable = {
  // ECS cluster resource modify actions: 100 / 40; Fargate's own RunTask quota: 20 / 20.
  RunTask: { ratePerSecond: 20, burst: 20 },
  StopTask: { ratePerSecond: 40, burst: 100 },
  // Cluster resource read actions: 100 / 20.
  DescribeTasks: { ratePerSecond: 20, burst: 100 },
  ListTasks: { ratePerSecond: 20, burst: 100 },
  // Task definition modify actions: 20 / 1.
  RegisterTaskDefinition: { ratePerSecond: 1, burst: 20 },
  DeregisterTaskDefinition: { ratePerSecond: 1, burst: 20 },
  // Task definition read actions, cluster read actions, tag read actions: 50 / 20.
  DescribeTaskDefinition: { ratePerSecond: 20, burst: 50 },
  ListTaskDefinitions: { ratePerSecond: 20, burst: 50 },
  DescribeClusters: { ratePerSecond: 20, burst: 50 },
  ListTagsForResource: { ratePerSecond: 20, burst: 50 },
  // Tag modify actions: 20 / 10.
  TagResource: { ratePerSecond: 10, burst: 20 },
  UntagResource: { ratePerSecond: 10, burst: 20 },
  // CloudWatch Logs.
  GetLogEvents: { ratePerSecond: 25, burst: 25 },
  // Secrets Manager.
  CreateSecret: { ratePerSecond: 50, burst: 50 },
  PutSecretValue: { ratePerSecond: 50, burst: 50 },
  DeleteSecret: { ratePerSecond: 50, burst: 50 },
  DescribeSecret: { ratePerSecond: 50, burst: 50 },
  ListSecrets: { ratePerSecond: 50, burst: 50 },
  // SSM Parameter Store (conservative, see above).
  PutParameter: { ratePerSecond: 5, burst: 10 },
  AddTagsToResource: { ratePerSecond: 5, burst: 10 },
  DescribeParameters: { ratePerSecond: 5, burst: 10 },
  DeleteParameters: { ratePerSecond: 5, burst: 10 },
  default: { ratePerSecond: 20, burst: 50 },
};
