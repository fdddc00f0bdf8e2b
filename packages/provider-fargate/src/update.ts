/**
 * `updatePod` on Fargate, the pure half. ECS cannot change a running task's definition (images,
 * commands, sizes, env): only its tags change in place (TagResource). Of the pod fields Kubernetes
 * lets change on a running pod, core calls `updatePod` for three:
 *
 * - `spec.containers[*].image`, `spec.initContainers[*].image`: not applied. The task keeps
 *   running the image it started with (its container statuses keep reporting that image), and the
 *   pod gets one Warning Event `UpdateNotApplied` naming the field, the running and the wanted
 *   image. Delete the pod (or roll out its controller) to run the new image.
 * - `spec.activeDeadlineSeconds`: nothing to do in ECS; core enforces the deadline itself (it
 *   stops the pod when the deadline passes).
 * - `spec.tolerations`: scheduling only; nothing to do in ECS.
 *
 * Labels and annotations are metadata: core does not call `updatePod` for them (it rewrites
 * downward-API files only for providers that can replace mounted files, which Fargate cannot).
 * What `updatePod` does apply is the task's tags: the `tags` option's values (after an agent
 * restart with new options) are put on the running task with TagResource.
 */
import type { Task } from "@aws-sdk/client-ecs";
import type { ProviderPodEvent, ResolvedPod } from "@virtual-node/core";
import type { ResolvedFargateOptions } from "./options.js";

/** Event reason of a pod change ECS cannot apply to a running task. */
export const UPDATE_NOT_APPLIED = "UpdateNotApplied";

/** What `updatePod` does with a running task. */
export interface TaskUpdatePlan {
  /** Tags to put on the task (new keys or changed values); ECS applies them in place. */
  tags: { key: string; value: string }[];
  /** Changes the task cannot take, as Warning Events naming the field (recorded once per pod). */
  notApplied: ProviderPodEvent[];
}

/** Compares the pod's mutable fields with the running task. Pure. */
export function planTaskUpdate(
  task: Task,
  pod: ResolvedPod,
  options: ResolvedFargateOptions,
): TaskUpdatePlan {
  const running = new Map((task.containers ?? []).map((c) => [c.name ?? "", c.image]));
  const notApplied: ProviderPodEvent[] = [];
  const check = (containers: readonly { name: string; image?: string }[] | undefined, path: string): void => {
    (containers ?? []).forEach((c, i) => {
      const now = running.get(c.name);
      if (now === undefined || c.image === undefined || c.image === now) return;
      const field = `${path}[${i}].image`;
      notApplied.push({
        id: `${UPDATE_NOT_APPLIED}/${field}/${c.image}`,
        type: "Warning",
        reason: UPDATE_NOT_APPLIED,
        message: `${field}: ECS cannot change the image of a running task's container ${c.name}; it keeps running ${now} (wanted ${c.image}). Delete the pod, or roll out its controller, to run the new image`,
      });
    });
  };
  check(pod.pod.spec?.initContainers, "spec.initContainers");
  check(pod.pod.spec?.containers, "spec.containers");
  const current = new Map((task.tags ?? []).map((t) => [t.key ?? "", t.value]));
  const tags = Object.entries(options.tags ?? {})
    .filter(([key, value]) => current.get(key) !== value)
    .map(([key, value]) => ({ key, value }));
  return { tags, notApplied };
}
