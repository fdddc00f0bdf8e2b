import { describe, expect, it } from "vitest";
import { admitPod } from "../src/admission.js";
import { resourceUsageOf } from "../src/node-usage.js";
import type { Node, Pod } from "../src/kube/types.js";

const node: Node = {
  metadata: { name: "vn-1", labels: { "kubernetes.io/os": "linux", zone: "a", tier: "3" } },
  status: {
    allocatable: { cpu: "4", memory: "8Gi", pods: "3", "nvidia.com/gpu": "1" },
    nodeInfo: { operatingSystem: "linux" } as NonNullable<Node["status"]>["nodeInfo"],
  },
};

let uid = 0;
function pod(spec: Partial<NonNullable<Pod["spec"]>> = {}, requests: Record<string, string> = {}): Pod {
  uid += 1;
  return {
    metadata: { name: `p${uid}`, namespace: "ns", uid: `uid-${uid}` },
    spec: { nodeName: "vn-1", containers: [{ name: "app", resources: { requests } }], ...spec },
  };
}

describe("admitPod (the kubelet's admission for a pod bound with spec.nodeName)", () => {
  it.each<[string, Pod, string | undefined]>([
    ["a plain pod", pod(), undefined],
    ["spec.os for another OS", pod({ os: { name: "windows" } }), "PodOSNotSupported"],
    ["spec.os for this OS", pod({ os: { name: "linux" } }), undefined],
    [
      "a kubernetes.io/os selector for another OS",
      pod({ nodeSelector: { "kubernetes.io/os": "windows" } }),
      "PodOSSelectorNodeLabelDoesNotMatch",
    ],
    ["a matching nodeSelector", pod({ nodeSelector: { zone: "a" } }), undefined],
    ["a nodeSelector that does not match", pod({ nodeSelector: { zone: "b" } }), "NodeAffinity"],
    [
      "required affinity In (matching second term: terms are ORed)",
      pod({
        affinity: {
          nodeAffinity: {
            requiredDuringSchedulingIgnoredDuringExecution: {
              nodeSelectorTerms: [
                { matchExpressions: [{ key: "zone", operator: "In", values: ["z"] }] },
                { matchExpressions: [{ key: "zone", operator: "In", values: ["a", "b"] }] },
              ],
            },
          },
        },
      }),
      undefined,
    ],
    [
      "required affinity NotIn the node's value",
      pod({
        affinity: {
          nodeAffinity: {
            requiredDuringSchedulingIgnoredDuringExecution: {
              nodeSelectorTerms: [{ matchExpressions: [{ key: "zone", operator: "NotIn", values: ["a"] }] }],
            },
          },
        },
      }),
      "NodeAffinity",
    ],
    [
      "required affinity Exists / DoesNotExist / Gt / matchFields",
      pod({
        affinity: {
          nodeAffinity: {
            requiredDuringSchedulingIgnoredDuringExecution: {
              nodeSelectorTerms: [
                {
                  matchExpressions: [
                    { key: "zone", operator: "Exists" },
                    { key: "gpu", operator: "DoesNotExist" },
                    { key: "tier", operator: "Gt", values: ["2"] },
                  ],
                  matchFields: [{ key: "metadata.name", operator: "In", values: ["vn-1"] }],
                },
              ],
            },
          },
        },
      }),
      undefined,
    ],
    [
      "required affinity Lt that fails",
      pod({
        affinity: {
          nodeAffinity: {
            requiredDuringSchedulingIgnoredDuringExecution: {
              nodeSelectorTerms: [{ matchExpressions: [{ key: "tier", operator: "Lt", values: ["2"] }] }],
            },
          },
        },
      }),
      "NodeAffinity",
    ],
    ["requests within allocatable", pod({}, { cpu: "4", memory: "8Gi" }), undefined],
    ["cpu above allocatable", pod({}, { cpu: "4500m" }), "OutOfcpu"],
    ["memory above allocatable", pod({}, { memory: "9Gi" }), "OutOfmemory"],
    ["an extended resource the node has", pod({}, { "nvidia.com/gpu": "1" }), undefined],
    ["an extended resource the node lacks", pod({}, { "example.com/fpga": "1" }), "OutOfexample.com/fpga"],
  ])("%s", (_title, candidate, reason) => {
    expect(admitPod(candidate, node, resourceUsageOf([]))?.reason).toBe(reason);
  });

  it("counts what the node's other pods already hold, and ignores finished ones", () => {
    const running = pod({}, { cpu: "3" });
    const finished: Pod = { ...pod({}, { cpu: "3" }), status: { phase: "Succeeded" } };
    const rejection = admitPod(pod({}, { cpu: "2" }), node, resourceUsageOf([running, finished]));
    expect(rejection).toEqual({
      reason: "OutOfcpu",
      message: "Node didn't have enough resource: cpu, requested: 2000m, used: 3000m, capacity: 4000m",
    });
    expect(admitPod(pod({}, { cpu: "1" }), node, resourceUsageOf([running, finished]))).toBeUndefined();
  });

  it("refuses a pod over the node's pod count", () => {
    expect(admitPod(pod(), node, resourceUsageOf([pod(), pod(), pod()]))?.reason).toBe("OutOfpods");
    expect(admitPod(pod(), node, resourceUsageOf([pod(), pod()]))).toBeUndefined();
  });

  it("does not count the pod itself (a re-sync of an admitted pod)", () => {
    const self = pod({}, { cpu: "4" });
    expect(admitPod(self, node, resourceUsageOf([self], self))).toBeUndefined();
  });
});
