/**
 * Billed resources for providers: a provider reports the shape it chose for each pod in
 * `ProviderPodStatus.billed`; core writes the pod annotation and the billed counters
 * (`billing.ts` in core). This module turns a chosen {@link Shape} into that report.
 */
import type { BilledResources } from "../provider.js";
import type { Shape } from "./shapes.js";

export { BILLED_RESOURCES_ANNOTATION, billedAnnotationValue } from "../billing.js";

const GIB = 1024 ** 3;

/**
 * What the cloud bills for a pod run at `shape`: its vCPUs, its memory in GiB and its name
 * (`{ vcpu: 1, memoryGiB: 2, shape: "1024/2048" }`). Use it when the cloud bills the size it
 * runs, as Fargate, ACI and Cloud Run do.
 */
export function billedFromShape(shape: Pick<Shape, "name" | "cpu" | "memory">): BilledResources {
  return { vcpu: shape.cpu, memoryGiB: shape.memory / GIB, shape: shape.name };
}
