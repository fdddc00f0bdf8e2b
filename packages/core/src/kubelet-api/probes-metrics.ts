/**
 * `/metrics/probes`: the kubelet's `prober_probe_total{probe_type,result,container,pod,namespace,
 * pod_uid}`, so scrape configs that collect it from every kubelet get a valid answer here.
 *
 * Core does not run probes: the provider (the cloud) does, and reports only their outcome — a
 * container's `ready` (readiness) and `started` (startup) in its status. So this counter counts
 * probe *results as core sees them change*: a container's first result, then one more each time
 * the result flips, sampled from the API pod at each scrape. It does not count probe executions
 * (a steady probe does not advance it), flips that revert between two scrapes are not seen, and
 * liveness results are not reported at all (a cloud restarts the container itself; core sees
 * only `restartCount`). `prober_probe_duration_seconds` is not served: no duration is known.
 */
import type { Pod } from "../kube/types.js";
import { renderFamilies, type Sample } from "./exposition.js";

type ProbeType = "Readiness" | "Startup";
type Result = "successful" | "failed";

interface Tracked {
  /** Last result seen per `container/probeType`. */
  last: Map<string, Result>;
  /** Counts per `container/probeType/result`. */
  counts: Map<string, number>;
  namespace: string;
  name: string;
}

/** The metric name `/metrics/probes` serves. */
export const PROBE_METRIC_NAME = "prober_probe_total";

/** Probe results of one node's pods, counted as they change (see the module comment). */
export class ProbeResultCounter {
  readonly #pods = new Map<string, Tracked>();

  /** Samples the pods' probe results now; pods no longer listed are forgotten. */
  observe(pods: readonly Pod[]): void {
    const seen = new Set<string>();
    for (const pod of pods) {
      const uid = pod.metadata?.uid;
      if (uid === undefined) continue;
      seen.add(uid);
      let tracked = this.#pods.get(uid);
      for (const { container, type, result } of probeResults(pod)) {
        tracked ??= {
          last: new Map(),
          counts: new Map(),
          namespace: pod.metadata?.namespace ?? "",
          name: pod.metadata?.name ?? "",
        };
        this.#pods.set(uid, tracked);
        const key = `${container}/${type}`;
        if (tracked.last.get(key) === result) continue;
        tracked.last.set(key, result);
        const countKey = `${key}/${result}`;
        tracked.counts.set(countKey, (tracked.counts.get(countKey) ?? 0) + 1);
      }
    }
    for (const uid of this.#pods.keys()) if (!seen.has(uid)) this.#pods.delete(uid);
  }

  /** The counter in the text format. */
  render(): string {
    const samples: Sample[] = [];
    for (const [uid, tracked] of this.#pods) {
      for (const [key, value] of tracked.counts) {
        const [container = "", probeType = "", result = ""] = key.split("/");
        samples.push({
          labels: {
            container,
            namespace: tracked.namespace,
            pod: tracked.name,
            pod_uid: uid,
            probe_type: probeType,
            result,
          },
          value,
        });
      }
    }
    return renderFamilies([
      {
        name: PROBE_METRIC_NAME,
        help: "[ALPHA] Cumulative number of a liveness, readiness or startup probe for a container by result.",
        type: "counter",
        samples,
      },
    ]);
  }
}

/** The readiness/startup results a pod's status shows for its running, probed containers. */
function probeResults(pod: Pod): { container: string; type: ProbeType; result: Result }[] {
  const phase = pod.status?.phase;
  if (phase === "Succeeded" || phase === "Failed") return [];
  const statuses = new Map((pod.status?.containerStatuses ?? []).map((s) => [s.name, s]));
  const results: { container: string; type: ProbeType; result: Result }[] = [];
  for (const container of pod.spec?.containers ?? []) {
    const status = statuses.get(container.name);
    // The kubelet probes running containers only.
    if (status?.state?.running === undefined) continue;
    if (container.startupProbe !== undefined)
      results.push({
        container: container.name,
        type: "Startup",
        result: status.started === true ? "successful" : "failed",
      });
    if (container.readinessProbe !== undefined)
      results.push({
        container: container.name,
        type: "Readiness",
        result: status.ready ? "successful" : "failed",
      });
  }
  return results;
}

const counters = new WeakMap<object, ProbeResultCounter>();

/** The counter kept for `owner` (a kubelet API node), created on first use. */
export function probeResultCounterFor(owner: object): ProbeResultCounter {
  let counter = counters.get(owner);
  if (counter === undefined) {
    counter = new ProbeResultCounter();
    counters.set(owner, counter);
  }
  return counter;
}
