/**
 * The provider's pod lifecycle with metrics and traces around every call: a decorator, so the sync
 * decisions read as plain provider calls and every call is counted the same way.
 */
import { trace, SpanStatusCode } from "@opentelemetry/api";
import { errorCode } from "./errors.js";
import type { NodeMetrics } from "./metrics.js";
import type { PodLifecycle, Provider, StatusSource } from "./provider.js";

const tracer = trace.getTracer("@virtual-node/core");

/** The provider calls the pod controller makes. */
export type InstrumentedCalls = Pick<
  PodLifecycle,
  "createPod" | "updatePod" | "deletePod" | "getPodStatus" | "listPods" | "allocatePodIPs"
> &
  Pick<StatusSource, "getPodStatuses">;

type Operation = keyof InstrumentedCalls;

/**
 * Wraps `provider`'s lifecycle calls: each one counts `virtual_node_provider_calls_total{operation,
 * result}` (result: `ok` or the error's stable code), observes
 * `virtual_node_provider_call_duration_seconds` and runs in a `virtual-node.provider.<operation>` span. Optional calls stay absent when the provider has none.
 * The calls go to `provider` itself, so class providers keep their `this` and private fields.
 */
export function instrumentProvider(provider: Provider, metrics: NodeMetrics): InstrumentedCalls {
  const timed = async <T>(operation: Operation, fn: () => Promise<T>): Promise<T> => {
    const started = performance.now();
    const span = tracer.startSpan(`virtual-node.provider.${operation}`, {
      attributes: { "virtual_node.provider": provider.name },
    });
    try {
      const result = await fn();
      metrics.providerCalls.inc({ operation, result: "ok" });
      return result;
    } catch (error) {
      metrics.providerCalls.inc({ operation, result: errorCode(error) });
      span.recordException(error as Error);
      span.setStatus({ code: SpanStatusCode.ERROR });
      throw error;
    } finally {
      span.end();
      metrics.providerSeconds.observe({ operation }, (performance.now() - started) / 1000);
    }
  };
  // The optional calls are re-read on `provider` at call time: never unbound methods.
  return {
    createPod: (pod, options) => timed("createPod", () => provider.createPod(pod, options)),
    updatePod: (pod, options) => timed("updatePod", () => provider.updatePod(pod, options)),
    deletePod: (ref, grace, options) => timed("deletePod", () => provider.deletePod(ref, grace, options)),
    getPodStatus: (ref, options) => timed("getPodStatus", () => provider.getPodStatus(ref, options)),
    listPods: (nodeName, options) => timed("listPods", () => provider.listPods(nodeName, options)),
    ...(provider.allocatePodIPs === undefined
      ? {}
      : {
          allocatePodIPs: (ref, options) =>
            timed("allocatePodIPs", () => provider.allocatePodIPs?.(ref, options) ?? Promise.resolve([])),
        }),
    ...(provider.getPodStatuses === undefined
      ? {}
      : {
          getPodStatuses: (refs, options) =>
            timed(
              "getPodStatuses",
              () => provider.getPodStatuses?.(refs, options) ?? Promise.resolve(new Map()),
            ),
        }),
  };
}
