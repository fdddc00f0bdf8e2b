import { connectControlPlane, type ControlPlaneHandle, type ControlPlaneInfo } from "./control-plane.js";
import { ErrorCode, TestingError } from "./errors.js";

/** What the vitest global setup provides under the `controlPlane` key. */
export type ProvidedControlPlane = ControlPlaneInfo | SkippedControlPlane;

export interface SkippedControlPlane {
  readonly skipped: true;
  readonly reason: string;
}

/** Key under which the vitest global setup provides {@link ProvidedControlPlane}. */
export const CONTROL_PLANE_CONTEXT_KEY = "controlPlane";

export function isSkippedControlPlane(value: ProvidedControlPlane): value is SkippedControlPlane {
  return "skipped" in value;
}

/**
 * Connects a test worker to the control plane started by the global setup:
 *
 * ```ts
 * import { inject } from "vitest";
 * const cp = await useControlPlane(inject("controlPlane"));
 * ```
 *
 * Fails (never skips) when the global setup did not start one, e.g. under VIRTUAL_NODE_SKIP_CONTROL_PLANE=1.
 */
export async function useControlPlane(
  provided: ProvidedControlPlane | undefined,
): Promise<ControlPlaneHandle> {
  if (provided === undefined) {
    throw new TestingError(
      ErrorCode.ControlPlaneNotProvided,
      "this test needs the shared control plane, but nothing was provided under inject('controlPlane'): " +
        "is ./packages/testing/src/vitest-global-setup.ts listed in the root vitest config's globalSetup?",
    );
  }
  if (isSkippedControlPlane(provided)) {
    throw new TestingError(
      ErrorCode.ControlPlaneNotProvided,
      `this test needs the shared control plane, but the global setup did not start it: ${provided.reason}`,
    );
  }
  return connectControlPlane(provided);
}
