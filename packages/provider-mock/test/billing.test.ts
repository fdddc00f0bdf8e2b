import { FakeClock } from "@virtual-node/core";
import { describe, expect, it } from "vitest";
import { MOCK_SHAPES, MockCloud, createMockProvider, mockShapeOf, toMockGroupSpec } from "../src/index.js";
import { signal, testPod } from "./pods.js";

const GIB = 1024 ** 3;

describe("billed shape", () => {
  it("picks the smallest mock shape for the pod's effective resources", () => {
    const pod = testPod({
      containers: [
        { resources: { requests: { cpu: "300m", memory: "256Mi" }, limits: { memory: "1Gi" } } },
        { resources: { requests: { cpu: "500m", memory: "1Gi" } } },
      ],
    });
    // cpu 800m → 1 core (quarter steps: 0.75 is too small); memory requests 1.25 GiB (more than the
    // one container's 1 GiB limit) → 1.5 GiB.
    expect(mockShapeOf(pod)).toEqual({ name: "1000/1536", cpu: 1, memory: 1.5 * GIB });
    expect(toMockGroupSpec(pod).shape).toEqual({ name: "1000/1536", cpu: 1, memory: 1.5 * GIB });
  });

  it("gives a pod without resources the smallest shape", () => {
    expect(mockShapeOf(testPod())).toEqual({ name: "250/512", cpu: 0.25, memory: 0.5 * GIB });
  });

  it("rejects a pod no shape can hold, saying why", () => {
    const pod = testPod({ containers: [{ resources: { requests: { cpu: "65" } } }] });
    expect(() => mockShapeOf(pod)).toThrow(/no shape fits cpu 65.*the most cpu offered is 64/);
  });

  it("has memory ranges that grow with cpu", () => {
    const pod = testPod({ containers: [{ resources: { requests: { cpu: "250m", memory: "3Gi" } } }] });
    // 0.25 core allows up to 2 GiB, so 3 GiB needs 0.5 core.
    expect(mockShapeOf(pod)).toEqual({ name: "500/3072", cpu: 0.5, memory: 3 * GIB });
    expect(MOCK_SHAPES.length).toBeGreaterThan(10);
  });

  it("reports billed in the provider status", async () => {
    const cloud = new MockCloud({ clock: new FakeClock() });
    const provider = createMockProvider({ cloud });
    const pod = testPod({ containers: [{ resources: { limits: { cpu: "2", memory: "4Gi" } } }] });
    await provider.createPod(pod, signal());
    const status = await provider.getPodStatus(pod.ref, signal());
    expect(status?.billed).toEqual({ vcpu: 2, memoryGiB: 4, shape: "2000/4096" });
  });
});
