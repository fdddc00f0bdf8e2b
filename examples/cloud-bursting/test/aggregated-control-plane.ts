/**
 * The cloud-bursting tests' control plane: @virtual-node/testing's aggregated control plane (the
 * aggregation layer that metrics-server and KEDA's metrics adapter need, the same set-up as
 * packages/core/test/kubelet-api/metrics-server.int.test.ts) with HPA decisions every 5 s.
 */
import {
  startAggregatedControlPlane as startWithAggregation,
  type AggregatedControlPlane,
} from "@virtual-node/testing";

export {
  aggregatedEndpoint,
  registerApiService,
  startMetricsServer,
  type AggregatedControlPlane,
} from "@virtual-node/testing";

export function startAggregatedControlPlane(prefix: string): Promise<AggregatedControlPlane> {
  return startWithAggregation({
    prefix,
    // HPA decisions every 5 s instead of 15 s, so the test waits less; the algorithm is the same.
    extraArgs: { controllerManager: ["--horizontal-pod-autoscaler-sync-period=5s"] },
  });
}
