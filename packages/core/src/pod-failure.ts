/**
 * What a pod sync does with an error: the one place that decides whether a pod fails for good,
 * waits (Pending, its containers waiting with a reason, until what it needs appears), or is retried
 * with backoff. The pod controller acts on the decision (`PodController.failPod` writes the Failed
 * status and the Warning Event together), so every path reports a failure the same way.
 */
import { ConfigReasons, containerWaitingReason } from "./config/reasons.js";
import { AbortedError, ConfigError, describeError, isRetryable, UnsupportedError } from "./errors.js";

/** The decision for one error; `fail` and `wait` carry the reason and message users see. */
export type PodErrorDecision =
  | { readonly action: "fail"; readonly reason: string; readonly message: string }
  | {
      readonly action: "wait";
      /** Event reason (the config reason, e.g. `SecretNotFound`). */
      readonly reason: string;
      /** The containers' waiting reason (`CreateContainerConfigError` or `ContainerCreating`). */
      readonly waitingReason: string;
      readonly message: string;
    }
  | { readonly action: "retry"; readonly reason: string; readonly message: string };

/** Where the error came from: resolving the pod's configuration, or the provider's `createPod`. */
export type PodErrorStage = "resolve" | "create";

/** Config errors that waiting will not fix: the pod fails instead of retrying for ever. */
const PERMANENT_CONFIG_REASONS = new Set<string>([
  ConfigReasons.PodIPNotAvailable,
  ConfigReasons.HostIPNotAvailable,
  ConfigReasons.InvalidFieldPath,
  ConfigReasons.InvalidResourceFieldRef,
  ConfigReasons.InvalidVolumeSource,
]);

/**
 * Classifies `error` from `stage`:
 * - resolve: an unsupported field or a config error no object can fix (an invalid field path) →
 *   fail; a missing ConfigMap/Secret/claim → wait (its watch starts the pod when it appears);
 *   anything else (an API hiccup) → retry;
 * - create: an error the provider says retrying will not fix (`InvalidInputError`,
 *   `UnsupportedError`, `PermanentError`, any non-retryable code) → fail with `ProviderFailed`;
 *   anything else (and a cancelled call) → retry, also reported (`ProviderFailed`, "will retry") so
 *   the pod is never silently Pending.
 */
export function classifyPodError(
  error: unknown,
  stage: PodErrorStage,
  providerName: string,
): PodErrorDecision {
  if (stage === "resolve") {
    if (error instanceof UnsupportedError)
      return { action: "fail", reason: "UnsupportedPodSpec", message: error.message };
    if (error instanceof ConfigError) {
      if (PERMANENT_CONFIG_REASONS.has(error.reason))
        return { action: "fail", reason: error.reason, message: error.message };
      return {
        action: "wait",
        reason: error.reason,
        waitingReason: containerWaitingReason(error.reason),
        message: error.message,
      };
    }
    return { action: "retry", reason: "FailedResolve", message: describeError(error) };
  }
  // A cancelled call says nothing about the pod (the agent is stopping): never fail it for that.
  if (!isRetryable(error) && !(error instanceof AbortedError)) {
    return {
      action: "fail",
      reason: "ProviderFailed",
      message: `provider ${providerName} rejected the pod: ${describeError(error)}`,
    };
  }
  return { action: "retry", reason: "ProviderFailed", message: describeError(error) };
}
