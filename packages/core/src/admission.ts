/**
 * Pod admission, as the kubelet does it before running a pod (`pkg/kubelet/lifecycle`): a pod bound
 * with `spec.nodeName` skips the scheduler, so the node itself must refuse a pod for another OS,
 * one whose node selector or required node affinity does not match, and one whose requests do not
 * fit what is left of the node's allocatable. A refused pod fails with the kubelet's reason
 * (`PodOSNotSupported`, `NodeAffinity`, `OutOf<resource>`) and a Warning Event of that reason.
 *
 * Pure: the node and what its other pods hold are passed in.
 */
import type { Node, Pod } from "./kube/types.js";
import { parseQuantity } from "./kube/quantity.js";
import { podRequests, toMilli, type NodeResourceUsage } from "./node-usage.js";

/** Why the node refuses a pod: the kubelet's reason and message. */
export interface AdmissionRejection {
  reason: string;
  message: string;
}

type NodeSelectorRequirement = { key: string; operator: string; values?: string[] };
type NodeSelectorTerm = {
  matchExpressions?: NodeSelectorRequirement[];
  matchFields?: NodeSelectorRequirement[];
};

/**
 * The first reason `node` refuses `pod`, or `undefined` to admit it. `usage` is what the node's other
 * pods hold (`node-usage.ts`: `NodeUsage` in the controller, `resourceUsageOf` for a list of pods).
 */
export function admitPod(pod: Pod, node: Node, usage: NodeResourceUsage): AdmissionRejection | undefined {
  return checkOS(pod, node) ?? checkResources(pod, node, usage) ?? checkNodeAffinity(pod, node);
}

function checkOS(pod: Pod, node: Node): AdmissionRejection | undefined {
  const nodeOS =
    node.status?.nodeInfo?.operatingSystem ?? node.metadata?.labels?.["kubernetes.io/os"] ?? "linux";
  const wanted = pod.spec?.os?.name;
  if (wanted !== undefined && wanted !== nodeOS) {
    return {
      reason: "PodOSNotSupported",
      message: `Failed to admit pod as the OS field doesn't match node OS: pod wants ${wanted}, node runs ${nodeOS}`,
    };
  }
  const selected = pod.spec?.nodeSelector?.["kubernetes.io/os"];
  if (selected !== undefined && selected !== nodeOS) {
    return {
      reason: "PodOSSelectorNodeLabelDoesNotMatch",
      message: `Failed to admit pod as the \`kubernetes.io/os\` label doesn't match node label: pod selects ${selected}, node runs ${nodeOS}`,
    };
  }
  return undefined;
}

function checkResources(pod: Pod, node: Node, usage: NodeResourceUsage): AdmissionRejection | undefined {
  const allocatable = node.status?.allocatable ?? {};
  const podsLimit = allocatable.pods === undefined ? undefined : parseQuantity(allocatable.pods);
  if (podsLimit !== undefined && usage.pods + 1 > podsLimit) {
    return insufficient("pods", 1, usage.pods, podsLimit);
  }
  for (const [name, amount] of Object.entries(podRequests(pod))) {
    if (amount === undefined || amount === 0) continue;
    const capacityText = allocatable[name];
    // An extended resource the node does not advertise cannot be satisfied at all.
    const capacity = capacityText === undefined ? 0 : parseQuantity(capacityText);
    const inUse = usage.requested(name);
    if (toMilli(amount) + inUse > toMilli(capacity)) {
      return insufficient(name, amount, Number(inUse) / 1000, capacity);
    }
  }
  return undefined;
}

function insufficient(name: string, requested: number, used: number, capacity: number): AdmissionRejection {
  const show = (n: number): string => (name === "cpu" ? `${Math.round(n * 1000)}m` : String(Math.round(n)));
  return {
    reason: `OutOf${name}`,
    message: `Node didn't have enough resource: ${name}, requested: ${show(requested)}, used: ${show(used)}, capacity: ${show(capacity)}`,
  };
}

function checkNodeAffinity(pod: Pod, node: Node): AdmissionRejection | undefined {
  const labels = node.metadata?.labels ?? {};
  const selector = pod.spec?.nodeSelector ?? {};
  const selectorMatches = Object.entries(selector).every(([k, v]) => labels[k] === v);
  const terms: NodeSelectorTerm[] | undefined =
    pod.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms;
  // Terms are ORed; an empty list of terms matches nothing, as in the scheduler.
  const affinityMatches =
    terms === undefined || terms.some((term) => termMatches(term, labels, node.metadata?.name ?? ""));
  if (selectorMatches && affinityMatches) return undefined;
  return {
    reason: "NodeAffinity",
    message:
      "Predicate NodeAffinity failed: the pod's node selector or required node affinity does not match this node",
  };
}

function termMatches(term: NodeSelectorTerm, labels: Record<string, string>, nodeName: string): boolean {
  const expressions = term.matchExpressions ?? [];
  const fields = term.matchFields ?? [];
  // A term with no requirements matches no node (scheduler semantics).
  if (expressions.length === 0 && fields.length === 0) return false;
  return (
    expressions.every((r) => requirementMatches(r, labels[r.key])) &&
    fields.every((r) => r.key === "metadata.name" && requirementMatches(r, nodeName))
  );
}

function requirementMatches(r: NodeSelectorRequirement, value: string | undefined): boolean {
  const values = r.values ?? [];
  switch (r.operator) {
    case "In":
      return value !== undefined && values.includes(value);
    case "NotIn":
      return value === undefined || !values.includes(value);
    case "Exists":
      return value !== undefined;
    case "DoesNotExist":
      return value === undefined;
    case "Gt":
    case "Lt": {
      if (value === undefined || values.length !== 1) return false;
      const have = Number.parseInt(value, 10);
      const bound = Number.parseInt(values[0] ?? "", 10);
      if (Number.isNaN(have) || Number.isNaN(bound)) return false;
      return r.operator === "Gt" ? have > bound : have < bound;
    }
    default:
      return false;
  }
}
