/**
 * The one classification of a pod sync's errors (`pod-failure.ts`): fail for good, wait for an
 * object, or retry. The controller's paths acting on it are in pod-controller.test.ts.
 */
import { describe, expect, it } from "vitest";
import { ConfigReasons } from "../src/config/reasons.js";
import {
  AbortedError,
  ConfigError,
  InvalidInputError,
  NotFoundError,
  PermanentError,
  RetryableError,
  UnsupportedError,
} from "../src/errors.js";
import { classifyPodError } from "../src/pod-failure.js";

describe("classifyPodError", () => {
  it.each([
    [
      "a missing Secret waits (CreateContainerConfigError)",
      new ConfigError(ConfigReasons.MandatorySecretNotFound, "secret s not found"),
      "wait",
    ],
    ["an invalid field path fails", new ConfigError(ConfigReasons.InvalidFieldPath, "bad fieldPath"), "fail"],
    ["an unsupported field fails", new UnsupportedError("spec.hostNetwork is not supported"), "fail"],
    ["an API hiccup is retried", new Error("socket hang up"), "retry"],
  ])("resolve: %s", (_name, error, action) => {
    expect(classifyPodError(error, "resolve", "mock").action).toBe(action);
  });

  it("a wait names the config reason for the Event and the kubelet's waiting reason for the containers", () => {
    const decision = classifyPodError(
      new ConfigError(ConfigReasons.MandatorySecretNotFound, 'secret "s" not found'),
      "resolve",
      "mock",
    );
    expect(decision).toEqual({
      action: "wait",
      reason: ConfigReasons.MandatorySecretNotFound,
      waitingReason: "CreateContainerConfigError",
      message: 'secret "s" not found',
    });
  });

  it.each([
    ["InvalidInputError", new InvalidInputError("image is empty"), "fail"],
    ["UnsupportedError", new UnsupportedError("GPU not offered"), "fail"],
    ["PermanentError", new PermanentError("quota exhausted"), "fail"],
    ["NotFoundError", new NotFoundError("subnet not found"), "fail"],
    ["RetryableError", new RetryableError("throttled"), "retry"],
    ["a plain Error", new Error("ECONNRESET"), "retry"],
    ["a cancelled call", new AbortedError(), "retry"],
  ])("create: %s → %s", (_name, error, action) => {
    expect(classifyPodError(error, "create", "mock").action).toBe(action);
  });

  it("a provider rejection names the provider and the error, under ProviderFailed", () => {
    expect(classifyPodError(new PermanentError("quota exhausted"), "create", "fargate")).toMatchObject({
      action: "fail",
      reason: "ProviderFailed",
      message: expect.stringMatching(/^provider fargate rejected the pod: .*quota exhausted/) as string,
    });
  });
});
