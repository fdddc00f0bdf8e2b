import { ClientException, ECSServiceException, ServerException } from "@aws-sdk/client-ecs";
import { HttpResponse } from "@smithy/core/protocols";
import { Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import { AbortedError, FakeClock, InvalidInputError, RetryableError } from "@virtual-node/core";
import { createCloudCaller, fromAwsError } from "@virtual-node/core/provider-kit";

const meta = (httpStatusCode: number) => ({
  httpStatusCode,
  requestId: "r-1",
  attempts: 1,
  totalRetryDelay: 0,
});

function throttle(retryAfterSeconds?: number): ECSServiceException {
  const error = new ECSServiceException({
    name: "ThrottlingException",
    $fault: "client",
    $metadata: meta(400),
    message: "Rate exceeded",
  });
  error.$response = new HttpResponse({
    statusCode: 400,
    headers: retryAfterSeconds === undefined ? {} : { "retry-after": String(retryAfterSeconds) },
  });
  return error;
}

const LIMITS = { RunTask: { ratePerSecond: 40, burst: 100 }, default: { ratePerSecond: 20, burst: 50 } };

/** A fake SDK call that fails with the given errors in turn, then answers `value`. */
function script<T>(clock: FakeClock, failures: Error[], value: T) {
  const calls: { at: number; signal: AbortSignal }[] = [];
  const fn = (signal: AbortSignal): Promise<T> => {
    calls.push({ at: clock.now(), signal });
    const failure = failures.shift();
    return failure === undefined ? Promise.resolve(value) : Promise.reject(failure);
  };
  return { fn, calls };
}

/** Drives the fake clock until `promise` settles (bounded). */
async function settle<T>(clock: FakeClock, promise: Promise<T>, maxMs = 120_000): Promise<T> {
  const state = { done: false };
  const tracked = promise.finally(() => {
    state.done = true;
  });
  tracked.catch(() => undefined);
  for (let waited = 0; !state.done && waited < maxMs; waited += 100) await clock.advanceAsync(100);
  return tracked;
}

describe("createCloudCaller", () => {
  it("returns the result of a call that succeeds, passing a signal to it", async () => {
    const clock = new FakeClock();
    const call = createCloudCaller({ provider: "fargate", limits: LIMITS, mapError: fromAwsError, clock });
    const { fn, calls } = script(clock, [], { tasks: [] });
    await expect(call("RunTask", fn)).resolves.toEqual({ tasks: [] });
    expect(calls).toHaveLength(1);
    expect(calls[0]?.signal).toBeInstanceOf(AbortSignal);
  });

  it("retries a throttle after the cloud's Retry-After, slowing the API's limiter down", async () => {
    const clock = new FakeClock();
    const call = createCloudCaller({ provider: "fargate", limits: LIMITS, mapError: fromAwsError, clock });
    const { fn, calls } = script(clock, [throttle(2)], "ok");
    const result = await settle(clock, call("RunTask", fn));
    expect(result).toBe("ok");
    expect(calls.map((c) => c.at - (calls[0]?.at ?? 0))).toEqual([0, 2_000]);
    expect(call.limiters.get("RunTask").stats()).toMatchObject({ throttles: 1 });
    // Cut to 20/s by the throttle, then grown back a little by the success 2 s later (+4/s per s).
    expect(call.limiters.get("RunTask").stats().ratePerSecond).toBeCloseTo(28);
  });

  it("retries a retryable error with backoff and gives up after maxAttempts with the typed error", async () => {
    const clock = new FakeClock();
    const call = createCloudCaller({
      provider: "fargate",
      limits: LIMITS,
      mapError: fromAwsError,
      clock,
      maxAttempts: 3,
      backoff: { baseMs: 100, factor: 2, jitter: "none" },
    });
    const server = () => new ServerException({ message: "Service Unavailable", $metadata: meta(500) });
    const { fn, calls } = script(clock, [server(), server(), server(), server()], "never");
    const error = await settle(clock, call("DescribeTasks", fn)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RetryableError);
    expect((error as RetryableError).cloudCode).toBe("ServerException");
    expect(calls.map((c) => c.at - (calls[0]?.at ?? 0))).toEqual([0, 100, 300]);
    // An outage is not a throttle: the limiter keeps its rate.
    expect(call.limiters.get("DescribeTasks").stats()).toMatchObject({ throttles: 0, ratePerSecond: 20 });
  });

  it("does not retry a non-retryable error", async () => {
    const clock = new FakeClock();
    const call = createCloudCaller({ provider: "fargate", limits: LIMITS, mapError: fromAwsError, clock });
    const { fn, calls } = script(
      clock,
      [new ClientException({ message: "Invalid 'cpu'", $metadata: meta(400) })],
      "x",
    );
    await expect(call("RunTask", fn)).rejects.toBeInstanceOf(InvalidInputError);
    expect(calls).toHaveLength(1);
  });

  it("a per-call maxAttempts of 1 disables retries", async () => {
    const clock = new FakeClock();
    const call = createCloudCaller({ provider: "fargate", limits: LIMITS, mapError: fromAwsError, clock });
    const { fn, calls } = script(clock, [throttle()], "x");
    await expect(call("RunTask", fn, { maxAttempts: 1 })).rejects.toBeInstanceOf(RetryableError);
    expect(calls).toHaveLength(1);
  });

  it("an abort during the retry delay ends the call with AbortedError", async () => {
    const clock = new FakeClock();
    const call = createCloudCaller({ provider: "fargate", limits: LIMITS, mapError: fromAwsError, clock });
    const controller = new AbortController();
    const { fn, calls } = script(clock, [throttle(30)], "x");
    const pending = call("RunTask", fn, { signal: controller.signal });
    const settled = pending.catch((e: unknown) => e);
    await clock.advanceAsync(1_000);
    controller.abort();
    expect(await settled).toBeInstanceOf(AbortedError);
    expect(calls).toHaveLength(1);
  });

  it("an abort while the SDK call runs is reported as AbortedError, not retried", async () => {
    const clock = new FakeClock();
    const registry = new Registry();
    const call = createCloudCaller({
      provider: "fargate",
      limits: LIMITS,
      mapError: fromAwsError,
      clock,
      registry,
    });
    const controller = new AbortController();
    let attempts = 0;
    const fn = (signal: AbortSignal) =>
      new Promise<never>((_resolve, reject) => {
        attempts++;
        signal.addEventListener("abort", () => {
          // Some SDKs surface an abort as a plain socket error, which alone would be retried.
          reject(Object.assign(new Error("socket hang up"), { code: "ECONNRESET" }));
        });
      });
    const pending = call("RunTask", fn, { signal: controller.signal });
    await clock.advanceAsync(0);
    controller.abort();
    await expect(pending).rejects.toBeInstanceOf(AbortedError);
    expect(attempts).toBe(1);
    // Counted as the abort it is, not as a retryable cloud failure.
    expect(await registry.metrics()).toContain(
      'virtual_node_provider_api_calls_total{provider="fargate",api="RunTask",result="aborted"} 1',
    );
  });

  it("an already aborted signal never calls the cloud", async () => {
    const call = createCloudCaller({
      provider: "fargate",
      limits: LIMITS,
      mapError: fromAwsError,
      clock: new FakeClock(),
    });
    let called = false;
    await expect(
      call(
        "RunTask",
        () => {
          called = true;
          return Promise.resolve();
        },
        { signal: AbortSignal.abort() },
      ),
    ).rejects.toBeInstanceOf(AbortedError);
    expect(called).toBe(false);
  });

  it("waits for the API's rate limiter before each call", async () => {
    const clock = new FakeClock();
    const call = createCloudCaller({
      provider: "fargate",
      limits: { RunTask: { ratePerSecond: 2, burst: 1 } },
      mapError: fromAwsError,
      clock,
    });
    const started: number[] = [];
    const all = Promise.all(
      [0, 1, 2].map(() =>
        call("RunTask", () => {
          started.push(clock.now());
          return Promise.resolve();
        }),
      ),
    );
    await settle(clock, all);
    expect(started.map((t) => t - (started[0] ?? 0))).toEqual([0, 500, 1_000]);
  });

  it("counts every attempt by result on the registry", async () => {
    const clock = new FakeClock();
    const registry = new Registry();
    const call = createCloudCaller({
      provider: "fargate",
      limits: LIMITS,
      mapError: fromAwsError,
      clock,
      registry,
    });
    await settle(clock, call("RunTask", script(clock, [throttle(1)], "ok").fn));
    await call(
      "DescribeTasks",
      script(clock, [new ClientException({ message: "bad", $metadata: meta(400) })], 1).fn,
    ).catch(() => undefined);
    const text = await registry.metrics();
    expect(text).toContain(
      'virtual_node_provider_api_calls_total{provider="fargate",api="RunTask",result="throttled"} 1',
    );
    expect(text).toContain(
      'virtual_node_provider_api_calls_total{provider="fargate",api="RunTask",result="ok"} 1',
    );
    expect(text).toContain(
      'virtual_node_provider_api_calls_total{provider="fargate",api="DescribeTasks",result="VN_INVALID_INPUT"} 1',
    );
    expect(text).toContain('virtual_node_provider_throttles_total{provider="fargate",api="RunTask"} 1');
  });
});
