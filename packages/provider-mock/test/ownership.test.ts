/**
 * The mock provider decides which cloud groups are its pods by the kit's ownership tags, like a
 * real cloud provider must (adoption after a restart, orphan cleanup).
 */
import { FakeClock } from "@virtual-node/core";
import { OWNERSHIP_KEYS, ownershipTags, parseOwnership } from "@virtual-node/core/provider-kit";
import { afterEach, describe, expect, it } from "vitest";
import { MockCloud, createMockProvider, toMockGroupSpec } from "../src/index.js";
import { corePhase, signal, testPod } from "./pods.js";

const clouds: MockCloud[] = [];
afterEach(() => {
  for (const c of clouds.splice(0)) c.dispose();
});

function setup() {
  const cloud = new MockCloud({ clock: new FakeClock() });
  clouds.push(cloud);
  return { cloud, provider: createMockProvider({ cloud }) };
}

describe("mock ownership marks", () => {
  it("tags each group with the pod's marks, and returns them with its state", async () => {
    const { cloud, provider } = setup();
    const pod = testPod({ nodeName: "vn-a" });
    expect(toMockGroupSpec(pod).tags).toEqual(ownershipTags(pod.ref, "vn-a"));
    await provider.createPod(pod, signal());
    const [state] = await cloud.listPods("vn-a");
    expect(parseOwnership(state?.tags)).toEqual({ ...pod.ref, nodeName: "vn-a" });
  });

  it("adopts only groups whose tags name this node", async () => {
    const { cloud, provider } = setup();
    const mine = testPod({ nodeName: "vn-a" });
    await provider.createPod(mine, signal());
    // A group in the node's listing but without marks (made by another tool) is not adopted,
    // and neither is one whose marks name another node.
    const foreign = toMockGroupSpec(testPod({ nodeName: "vn-a" }));
    delete foreign.tags;
    await cloud.createPod(foreign);
    const other = toMockGroupSpec(testPod({ nodeName: "vn-a" }));
    other.tags = { ...other.tags, [OWNERSHIP_KEYS.node]: "vn-b" };
    await cloud.createPod(other);

    expect((await cloud.listPods("vn-a")).length).toBe(3);
    const adopted = await provider.listPods("vn-a", signal());
    expect(adopted.map((p) => [p.namespace, p.name, p.uid, p.nodeName])).toEqual([
      [mine.ref.namespace, mine.ref.name, mine.ref.uid, "vn-a"],
    ]);
    expect(corePhase(mine, adopted[0]?.status)).toBe("Running");
  });

  it("rejects malformed tags at the cloud's API boundary", async () => {
    const { cloud } = setup();
    const spec = toMockGroupSpec(testPod());
    await expect(
      cloud.createPod({ ...spec, tags: { a: 1 } as unknown as Record<string, string> }),
    ).rejects.toThrow(/tags must be an object of strings/);
  });
});
