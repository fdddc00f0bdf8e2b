/**
 * The throttle table: each API the provider calls has its own limiter with the documented
 * defaults (ECS "Request throttling for the Amazon ECS API", Fargate "AWS Fargate throttling
 * quotas"; see src/limits.ts), and the limiter really holds a call once its burst is spent.
 */
import { FakeClock } from "@virtual-node/core";
import { describe, expect, it } from "vitest";
import { ECS_LIMITS, createFargateProvider } from "../src/index.js";
import { testOptions } from "./support/pods.js";

/** The documented numbers: [API, sustained per second, burst, where from]. */
const DOCUMENTED: [string, number, number, string][] = [
  ["RunTask", 20, 20, "Fargate: RunTask 20 calls/s burst and sustained (below ECS's 100 / 40)"],
  ["StopTask", 40, 100, "ECS cluster resource modify actions"],
  ["DescribeTasks", 20, 100, "ECS cluster resource read actions"],
  ["ListTasks", 20, 100, "ECS cluster resource read actions"],
  ["RegisterTaskDefinition", 1, 20, "ECS task definition modify actions"],
  ["DeregisterTaskDefinition", 1, 20, "ECS task definition modify actions"],
  ["DescribeTaskDefinition", 20, 50, "ECS task definition read actions"],
  ["ListTaskDefinitions", 20, 50, "ECS task definition read actions"],
  ["DescribeClusters", 20, 50, "ECS cluster read actions"],
  ["ListTagsForResource", 20, 50, "ECS tag read actions"],
  ["TagResource", 10, 20, "ECS tag modify actions"],
  ["UntagResource", 10, 20, "ECS tag modify actions"],
];

/** APIs the provider calls whose numbers are not from a page read here (kept or conservative). */
const OTHER = [
  "GetLogEvents",
  "CreateSecret",
  "PutSecretValue",
  "DeleteSecret",
  "DescribeSecret",
  "ListSecrets",
  "PutParameter",
  "AddTagsToResource",
  "DescribeParameters",
  "DeleteParameters",
];

describe("throttle table", () => {
  it.each(DOCUMENTED)("%s: %i/s sustained, burst %i (%s)", (api, rate, burst) => {
    expect(ECS_LIMITS[api]).toEqual({ ratePerSecond: rate, burst });
  });

  it("every API the provider calls has an entry (none falls back to the default)", () => {
    for (const api of [...DOCUMENTED.map(([a]) => a), ...OTHER]) expect(ECS_LIMITS[api], api).toBeDefined();
  });

  it("the provider's caller has one limiter per API, each with its own defaults", () => {
    const provider = createFargateProvider({ ...testOptions(), clock: new FakeClock() });
    const apis = [...DOCUMENTED.map(([a]) => a), ...OTHER];
    const limiters = apis.map((api) => provider.call.limiters.get(api));
    expect(new Set(limiters).size).toBe(apis.length);
    apis.forEach((api, i) => {
      const stats = limiters[i]?.stats();
      expect(stats?.name).toBe(api);
      expect(stats?.configuredRatePerSecond).toBe(ECS_LIMITS[api]?.ratePerSecond);
      expect(stats?.tokens).toBe(ECS_LIMITS[api]?.burst);
    });
    provider.close();
  });

  it("options.limits overrides one API and leaves the others at their defaults", () => {
    const provider = createFargateProvider({
      ...testOptions(),
      clock: new FakeClock(),
      limits: { RunTask: { ratePerSecond: 2, burst: 3 } },
    });
    expect(provider.call.limiters.get("RunTask").stats()).toMatchObject({
      configuredRatePerSecond: 2,
      tokens: 3,
    });
    expect(provider.call.limiters.get("StopTask").stats()).toMatchObject({
      configuredRatePerSecond: 40,
      tokens: 100,
    });
    provider.close();
  });

  it("RunTask: 20 calls pass at once, the 21st waits for the refill (1/20 s), while StopTask's bucket is untouched", async () => {
    const clock = new FakeClock();
    const provider = createFargateProvider({ ...testOptions(), clock });
    const signal = new AbortController().signal;
    const run = provider.call.limiters.get("RunTask");
    for (let i = 0; i < 20; i++) await run.acquire(signal);
    let done = false;
    const next = run.acquire(signal).then(() => {
      done = true;
    });
    await clock.advanceAsync(10);
    expect(done).toBe(false);
    await clock.advanceAsync(60);
    await next;
    expect(done).toBe(true);
    expect(provider.call.limiters.get("StopTask").stats().tokens).toBe(100);
    provider.close();
  });
});
