import { describe, expect, it } from "vitest";
import type { Pod } from "../src/kube/types.js";
import { NodeUsage, ReportingMap, resourceUsageOf, toMilli } from "../src/node-usage.js";

function pod(uid: string, cpu: string, phase?: string): Pod {
  return {
    metadata: { name: uid, namespace: "ns", uid },
    spec: {
      nodeName: "vn-1",
      containers: [{ name: "app", resources: { requests: { cpu, memory: "1Gi" } } }],
    },
    ...(phase === undefined ? {} : { status: { phase } }),
  };
}

/** A fake informer store and holder set, as the pod controller wires them. */
function fixture() {
  const store = new Map<string, Pod>();
  const holders = new Set<string>();
  const usage = new NodeUsage((key) => (holders.has(key) ? store.get(key) : undefined));
  const put = (key: string, p: Pod | undefined, holds = true): void => {
    if (p === undefined) store.delete(key);
    else store.set(key, p);
    if (holds) holders.add(key);
    else holders.delete(key);
    usage.markChanged(key);
  };
  return { usage, put };
}

describe("NodeUsage (admission's running sum of what a node's pods request)", () => {
  it("adds, replaces and removes a key's share as it changes", () => {
    const { usage, put } = fixture();
    put("ns/a", pod("a", "500m"));
    put("ns/b", pod("b", "250m"));
    expect(usage.usage("ns/new").pods).toBe(2);
    expect(usage.usage("ns/new").requested("cpu")).toBe(750n);
    expect(usage.usage("ns/new").requested("memory")).toBe(2n * toMilli(1024 ** 3));

    put("ns/a", pod("a", "1")); // a new object for the same key (resized)
    expect(usage.usage("ns/new").requested("cpu")).toBe(1250n);

    put("ns/b", pod("b", "250m", "Succeeded")); // finished pods hold nothing
    expect(usage.usage("ns/new")).toMatchObject({ pods: 1 });
    expect(usage.usage("ns/new").requested("cpu")).toBe(1000n);

    put("ns/a", undefined); // deleted from the informer
    expect(usage.usage("ns/new").pods).toBe(0);
    expect(usage.usage("ns/new").requested("cpu")).toBe(0n);
  });

  it("leaves out the share of the key being admitted (a re-sync of an admitted pod)", () => {
    const { usage, put } = fixture();
    put("ns/a", pod("a", "2"));
    put("ns/b", pod("b", "1"));
    const withoutA = usage.usage("ns/a");
    expect(withoutA.pods).toBe(1);
    expect(withoutA.requested("cpu")).toBe(1000n);
    expect(withoutA.requested("memory")).toBe(toMilli(1024 ** 3));
  });

  it("stops counting a key that no longer holds (not tracked, not admitting) though its pod remains", () => {
    const { usage, put } = fixture();
    put("ns/a", pod("a", "2"));
    put("ns/a", pod("a", "2"), false);
    expect(usage.usage("ns/x").pods).toBe(0);
  });

  it("stays exact over many additions and removals of fractional cores", () => {
    const { usage, put } = fixture();
    for (let i = 0; i < 3000; i++) put(`ns/p${String(i)}`, pod(`p${String(i)}`, "100m"));
    for (let i = 0; i < 3000; i += 2) put(`ns/p${String(i)}`, undefined, false);
    const sum = usage.usage("ns/new");
    expect(sum.pods).toBe(1500);
    expect(sum.requested("cpu")).toBe(150_000n);
  });

  it("agrees with resourceUsageOf over the same pods", () => {
    const pods = [pod("a", "300m"), pod("b", "700m", "Failed"), pod("c", "1500m")];
    const { usage, put } = fixture();
    for (const p of pods) put(`ns/${p.metadata?.name ?? ""}`, p);
    const listed = resourceUsageOf(pods);
    const kept = usage.usage("ns/none");
    expect([kept.pods, kept.requested("cpu")]).toEqual([listed.pods, listed.requested("cpu")]);
    expect(listed.requested("cpu")).toBe(1800n);
  });
});

describe("ReportingMap", () => {
  it("reports every key set, deleted or cleared (and not a delete of a missing key)", () => {
    const seen: string[] = [];
    const map = new ReportingMap<string, number>((k) => seen.push(`map:${k}`));
    const keys = new ReportingMap<string, true>((k) => seen.push(`set:${k}`));
    map.set("a", 1).set("b", 2);
    map.delete("a");
    map.delete("missing");
    keys.set("x", true);
    keys.delete("x");
    keys.delete("x");
    map.clear();
    expect(seen).toEqual(["map:a", "map:b", "map:a", "set:x", "set:x", "map:b"]);
    expect(map.size).toBe(0);
  });
});
