/**
 * What a provider publishes about a pod besides its status: the billed shape (metered, and written
 * to the `virtual-node.io/billed-resources` annotation), its own pod annotations, and cloud events
 * as Kubernetes Events (each id once).
 *
 * Annotations go through `pods/status`, in the same merge patch as the status (one write, not two):
 * the Node authorizer and NodeRestriction let a node write the status of its own pods but never
 * update the pod itself.
 */
import type { EventRecorder } from "./events.js";
import type { Pod, PodStatus } from "./kube/types.js";
import type { Logger } from "./logger.js";
import type { ProviderPodEvent, ProviderPodStatus } from "./provider.js";
import { BILLED_RESOURCES_ANNOTATION, billedAnnotationValue, type BillingMeter } from "./billing.js";

/** Annotations to write with a status write, and what to remember once they are written. */
export interface AnnotationWrite {
  annotations: Record<string, string>;
  written(): void;
}

/** Per-pod memory of what was published (kept on the controller's tracked entry). */
export interface PublishState {
  /** The provider's latest status. */
  status?: ProviderPodStatus;
  /** Provider annotations (with billed-resources) last written, so a lagging informer causes no rewrite. */
  publishedAnnotations?: Record<string, string>;
  /** Ids of the provider's cloud events already recorded as Kubernetes Events (bounded). */
  seenEvents?: Set<string>;
}

/** How many cloud event ids core remembers per pod; older ids fall out first (a Set keeps order). */
const SEEN_EVENTS_LIMIT = 256;

/** A qualified annotation key: optional DNS-subdomain prefix and `/`, then a 63-char name. */
const ANNOTATION_KEY =
  /^(?:[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;

export interface ProviderPublisherOptions {
  readonly providerName: string;
  readonly events: EventRecorder;
  readonly logger: Logger;
  readonly billing: BillingMeter;
}

export class ProviderPublisher {
  /** Provider annotation keys already warned about (each once per process). */
  readonly #invalidKeys = new Set<string>();

  constructor(private readonly options: ProviderPublisherOptions) {}

  /**
   * Meters the billed shape, records new cloud events and returns the annotations that differ from
   * the pod's (and from what was last written), if any.
   */
  publish(pod: Pod, key: string, state: PublishState, status: PodStatus): AnnotationWrite | undefined {
    const reported = state.status;
    this.options.billing.observe(
      key,
      pod.metadata?.namespace ?? "",
      reported?.billed,
      status.phase === "Running",
    );
    this.#recordEvents(pod, state, reported?.events);
    const wanted = this.#annotations(key, reported);
    const current = pod.metadata?.annotations ?? {};
    const published = state.publishedAnnotations ?? {};
    const changed: Record<string, string> = {};
    for (const [k, v] of Object.entries(wanted)) if (current[k] !== v && published[k] !== v) changed[k] = v;
    if (Object.keys(changed).length === 0) return undefined;
    return {
      annotations: changed,
      written: () => {
        state.publishedAnnotations = { ...state.publishedAnnotations, ...changed };
      },
    };
  }

  /** The annotations the provider asks for, plus billed-resources; invalid keys dropped (logged once). */
  #annotations(key: string, reported: ProviderPodStatus | undefined): Record<string, string> {
    const wanted: Record<string, string> = {};
    for (const [k, v] of Object.entries(reported?.annotations ?? {})) {
      if (ANNOTATION_KEY.test(k) && k.length <= 317 && typeof v === "string") wanted[k] = v;
      else if (!this.#invalidKeys.has(k)) {
        this.#invalidKeys.add(k);
        this.options.logger.warn(
          { pod: key, provider: this.options.providerName, annotation: k },
          "provider reported an annotation that is not a valid qualified name; ignored",
        );
      }
    }
    if (reported?.billed !== undefined)
      wanted[BILLED_RESOURCES_ANNOTATION] = billedAnnotationValue(reported.billed);
    return wanted;
  }

  #recordEvents(pod: Pod, state: PublishState, events: ProviderPodEvent[] | undefined): void {
    if (events === undefined || events.length === 0) return;
    const seen = (state.seenEvents ??= new Set());
    for (const e of events) {
      if (seen.has(e.id)) continue;
      seen.add(e.id);
      if (seen.size > SEEN_EVENTS_LIMIT) {
        const oldest = seen.values().next();
        if (oldest.done !== true) seen.delete(oldest.value);
      }
      const type = e.type === "Warning" ? "Warning" : "Normal";
      this.options.events.event(podObjectRef(pod), type, e.reason, e.message);
    }
  }
}

/** The Event's involved object for a pod. */
export function podObjectRef(pod: Pod): {
  kind: string;
  apiVersion: string;
  namespace: string;
  name: string;
  uid: string;
  resourceVersion?: string;
} {
  return {
    kind: "Pod",
    apiVersion: "v1",
    namespace: pod.metadata?.namespace ?? "",
    name: pod.metadata?.name ?? "",
    uid: pod.metadata?.uid ?? "",
    ...(pod.metadata?.resourceVersion === undefined ? {} : { resourceVersion: pod.metadata.resourceVersion }),
  };
}
