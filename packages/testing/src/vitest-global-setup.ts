import type { TestProject } from "vitest/node";

import { startControlPlane, type ControlPlane } from "./control-plane.js";
import type { ProvidedControlPlane } from "./shared-control-plane.js";
import { stderrProgress } from "./progress.js";

declare module "vitest" {
  interface ProvidedContext {
    /** The control plane started once per test run; see `useControlPlane`. */
    controlPlane: ProvidedControlPlane;
  }
}

/**
 * Node-monitor settings of the shared control plane: a node whose Lease is not renewed is marked
 * Ready=Unknown (and tainted unreachable) within ~20 s instead of Kubernetes' default 50 s.
 */
export const SHARED_NODE_MONITOR_GRACE_PERIOD = "20s";
export const SHARED_NODE_MONITOR_PERIOD = "2s";

let controlPlane: ControlPlane | undefined;

/**
 * vitest global setup: starts one control plane for the whole run and provides its connection info to
 * every project as `inject("controlPlane")`. Set VIRTUAL_NODE_SKIP_CONTROL_PLANE=1 for unit-only runs; tests
 * that need the control plane then fail with VN_CONTROL_PLANE_NOT_PROVIDED.
 */
export async function setup(project: TestProject): Promise<void> {
  if (process.env.VIRTUAL_NODE_SKIP_CONTROL_PLANE === "1") {
    project.provide("controlPlane", {
      skipped: true,
      reason: "VIRTUAL_NODE_SKIP_CONTROL_PLANE=1 is set",
    });
    return;
  }
  controlPlane = await startControlPlane({
    nodeMonitorGracePeriod: SHARED_NODE_MONITOR_GRACE_PERIOD,
    nodeMonitorPeriod: SHARED_NODE_MONITOR_PERIOD,
    progress: stderrProgress(),
    resolve: { progress: stderrProgress() },
  });
  project.provide("controlPlane", controlPlane.info);
}

export async function teardown(): Promise<void> {
  const running = controlPlane;
  controlPlane = undefined;
  await running?.stop();
}
