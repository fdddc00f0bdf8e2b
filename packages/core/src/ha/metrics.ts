/**
 * Metrics of high availability, on the agent's registry: how many nodes this process owns and how
 * often ownership changed, by reason.
 */
import { Counter, Gauge, type Registry } from "prom-client";

export interface HaMetrics {
  /** `virtual_node_ha_owned_nodes`: nodes whose ownership Lease this process holds. */
  ownedNodes: Gauge;
  /** `virtual_node_ha_transitions_total{reason}`: ownership gained or given up. */
  transitions: Counter<"reason">;
}

const cache = new WeakMap<Registry, HaMetrics>();

/** The HA metrics of `registry` (created once per registry; groups sharing it add up). */
export function createHaMetrics(registry: Registry): HaMetrics {
  const existing = cache.get(registry);
  if (existing) return existing;
  const metrics: HaMetrics = {
    ownedNodes: new Gauge({
      name: "virtual_node_ha_owned_nodes",
      help: "Virtual nodes whose ownership Lease this process holds.",
      registers: [registry],
    }),
    transitions: new Counter({
      name: "virtual_node_ha_transitions_total",
      help: "Ownership changes by reason (acquired, released, rebalanced, lost, fenced).",
      labelNames: ["reason"],
      registers: [registry],
    }),
  };
  cache.set(registry, metrics);
  return metrics;
}
