import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { InvalidInputError } from "@virtual-node/core";
import {
  NAME_RULES,
  OWNERSHIP_KEYS,
  cloudName,
  labelSafe,
  ownershipLabels,
  ownershipTags,
  parseOwnership,
} from "@virtual-node/core/provider-kit";
import type { CloudNameOptions } from "@virtual-node/core/provider-kit";

/** Each cloud's rule, written from its documentation rather than from the implementation. */
const VALID: Record<keyof typeof NAME_RULES, (name: string) => boolean> = {
  // ACI: 1-63, lowercase letters, digits and hyphens, no hyphen first/last, no consecutive hyphens.
  aciContainerGroup: (n) => /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/.test(n) && !n.includes("--"),
  // ECS: up to 255 letters, digits, underscores and hyphens.
  ecsTaskDefinitionFamily: (n) => /^[A-Za-z0-9_-]{1,255}$/.test(n),
  // Cloud Run job: a letter first, [a-z0-9-], not ending with a hyphen, at most 63.
  cloudRunJob: (n) => /^[a-z](?:[a-z0-9-]{0,61}[a-z0-9])?$/.test(n),
  // Cloud Run service: same alphabet, fewer than 50 characters.
  cloudRunService: (n) => /^[a-z](?:[a-z0-9-]{0,47}[a-z0-9])?$/.test(n),
};

const ref = (namespace: string, name: string, uid = "2f0d3c84-7a1e-4f1b-9d56-0c6c1e2d9a11") => ({
  namespace,
  name,
  uid,
});

const anyText = fc.string({ unit: "binary", maxLength: 300 });
const anyRef = fc.record({ namespace: anyText, name: anyText, uid: fc.string({ maxLength: 40 }) });

describe("cloudName", () => {
  it("makes a readable name with the UID hash", () => {
    const name = cloudName(ref("default", "web-0"), NAME_RULES.aciContainerGroup);
    expect(name).toMatch(/^default-web-0-[a-z0-9]{8}$/);
    expect(cloudName(ref("default", "web-0"), { ...NAME_RULES.aciContainerGroup, prefix: "vn-" })).toBe(
      `vn-${name}`,
    );
  });

  it("is deterministic and depends on the UID", () => {
    const a = cloudName(ref("ns", "p", "uid-1"), NAME_RULES.cloudRunJob);
    expect(cloudName(ref("ns", "p", "uid-1"), NAME_RULES.cloudRunJob)).toBe(a);
    expect(cloudName(ref("ns", "p", "uid-2"), NAME_RULES.cloudRunJob)).not.toBe(a);
  });

  it("keeps pods apart whose readable parts collide", () => {
    // "a-b" + "c" and "a" + "b-c" both read "a-b-c".
    const x = cloudName(ref("a-b", "c", "uid-x"), NAME_RULES.aciContainerGroup);
    const y = cloudName(ref("a", "b-c", "uid-y"), NAME_RULES.aciContainerGroup);
    expect(x.slice(0, 6)).toBe(y.slice(0, 6));
    expect(x).not.toBe(y);
  });

  it.each([
    ["a 253-character pod name", ref("team-a", "x".repeat(253)), "aciContainerGroup", 63],
    ["a long name for Cloud Run services", ref("ns", "y".repeat(100)), "cloudRunService", 49],
    ["a long name for ECS", ref("ns".repeat(40), "z".repeat(253)), "ecsTaskDefinitionFamily", 255],
  ] as const)("cuts %s to the limit", (_label, r, rule, limit) => {
    const name = cloudName(r, NAME_RULES[rule]);
    expect(name).toHaveLength(limit);
    expect(VALID[rule](name)).toBe(true);
  });

  it("replaces unicode and dots, collapses dashes and lowercases", () => {
    expect(cloudName(ref("Prod", "Ünïcödé.app..v2"), NAME_RULES.aciContainerGroup)).toMatch(
      /^prod-n-c-d-app-v2-[a-z0-9]{8}$/,
    );
    expect(cloudName(ref("Prod", "My_App"), NAME_RULES.ecsTaskDefinitionFamily)).toMatch(
      /^Prod-My_App-[a-z0-9]{8}$/,
    );
  });

  it("starts with a letter when asked, also when nothing readable is left", () => {
    expect(cloudName(ref("1ns", "0pod"), NAME_RULES.cloudRunJob)).toMatch(/^p-1ns-0pod-[a-z0-9]{8}$/);
    expect(cloudName(ref("€", "中文"), NAME_RULES.cloudRunJob)).toMatch(/^p-[a-z0-9]{8}$/);
    expect(cloudName(ref("€", "中文"), NAME_RULES.aciContainerGroup)).toMatch(/^[a-z0-9]{8}$/);
  });

  it("does not end with a dash after cutting", () => {
    // The cut falls right after "a-": the dash must go.
    const name = cloudName(ref("aaaaaaa", "b"), { maxLength: 17, hashLength: 8 });
    expect(name).toMatch(/^aaaaaaa-[a-z0-9]{8}$/);
  });

  it("rejects rules with no room for the hash", () => {
    expect(() => cloudName(ref("a", "b"), { maxLength: 9 })).toThrow(InvalidInputError);
    expect(() => cloudName(ref("a", "b"), { maxLength: 63, hashLength: 2 })).toThrow(InvalidInputError);
  });

  it("always yields a valid, deterministic name for every cloud (property)", () => {
    const rules = fc.constantFrom(...(Object.keys(NAME_RULES) as (keyof typeof NAME_RULES)[]));
    fc.assert(
      fc.property(anyRef, rules, fc.option(anyText, { nil: undefined }), (r, rule, prefix) => {
        const options: CloudNameOptions = {
          ...NAME_RULES[rule],
          ...(prefix === undefined ? {} : { prefix }),
        };
        const name = cloudName(r, options);
        expect(VALID[rule](name)).toBe(true);
        expect(cloudName({ ...r }, options)).toBe(name);
      }),
      { numRuns: 2000 },
    );
  });

  it("honours any legal maxLength and hashLength (property)", () => {
    fc.assert(
      fc.property(
        anyRef,
        fc.integer({ min: 4, max: 24 }),
        fc.integer({ min: 0, max: 300 }),
        fc.constantFrom("lower-alnum-dash", "alnum-dash", "alnum-dash-underscore" as const),
        fc.boolean(),
        (r, hashLength, extra, alphabet, startWithLetter) => {
          const maxLength = hashLength + 2 + extra;
          const name = cloudName(r, { maxLength, hashLength, alphabet, startWithLetter });
          expect(name.length).toBeLessThanOrEqual(maxLength);
          expect(name.length).toBeGreaterThanOrEqual(hashLength);
          expect(name).toMatch(/^[A-Za-z0-9](?:[A-Za-z0-9_-]*[A-Za-z0-9])?$/);
          expect(name).not.toContain("--");
          if (alphabet === "lower-alnum-dash") expect(name).toMatch(/^[a-z0-9-]+$/);
          if (alphabet !== "alnum-dash-underscore") expect(name).not.toContain("_");
          if (startWithLetter) expect(name).toMatch(/^[A-Za-z]/);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it("gives 10,000 pods with one readable name 10,000 distinct names", () => {
    const names = new Set<string>();
    for (let i = 0; i < 10_000; i++)
      names.add(cloudName(ref("ns", "same", `uid-${i}`), NAME_RULES.aciContainerGroup));
    expect(names.size).toBe(10_000);
  });
});

describe("ownership marks", () => {
  const pod = ref("team-a", "web-7d9f.x", "0b7e9d2c-1111-2222-3333-444455556666");

  it("round-trips through tags", () => {
    const tags = ownershipTags(pod, "vn-1");
    expect(tags).toEqual({
      "virtual-node-namespace": "team-a",
      "virtual-node-pod": "web-7d9f.x",
      "virtual-node-uid": pod.uid,
      "virtual-node-node": "vn-1",
    });
    expect(parseOwnership({ ...tags, other: "x" })).toEqual({ ...pod, nodeName: "vn-1" });
  });

  it("has keys valid for AWS, Azure and GCP", () => {
    for (const key of Object.values(OWNERSHIP_KEYS)) {
      expect(key).not.toMatch(/[<>%&\\?/]/); // Azure tag names
      expect(key).toMatch(/^[a-z][a-z0-9_-]{0,62}$/); // GCP label keys
      expect(key.length).toBeLessThanOrEqual(128); // AWS tag keys
    }
  });

  it("reads AWS tag lists and re-cased Azure tag names", () => {
    const list = Object.entries(ownershipTags(pod, "vn-1")).map(([key, value]) => ({ key, value }));
    expect(parseOwnership(list)).toEqual({ ...pod, nodeName: "vn-1" });
    const upper = Object.entries(ownershipTags(pod, "vn-1")).map(([Key, Value]) => ({ Key, Value }));
    expect(parseOwnership(upper)).toEqual({ ...pod, nodeName: "vn-1" });
    const recased = Object.fromEntries(
      Object.entries(ownershipTags(pod, "vn-1")).map(([k, v]) => [k.toUpperCase(), v]),
    );
    expect(parseOwnership(recased)).toEqual({ ...pod, nodeName: "vn-1" });
  });

  it("says not ours when a mark is missing or empty", () => {
    const tags = ownershipTags(pod, "vn-1");
    expect(parseOwnership(undefined)).toBeUndefined();
    expect(parseOwnership({})).toBeUndefined();
    for (const key of Object.values(OWNERSHIP_KEYS)) {
      expect(parseOwnership({ ...tags, [key]: "" })).toBeUndefined();
      const without: Record<string, string> = { ...tags };
      // eslint-disable-next-line @typescript-eslint/no-dynamic-delete -- removing one mark is the point
      delete without[key];
      expect(parseOwnership(without)).toBeUndefined();
    }
  });

  it("makes label-safe marks for GCP", () => {
    const labels = ownershipLabels(pod, "vn-1");
    for (const value of Object.values(labels)) expect(value).toMatch(/^[a-z0-9_-]{0,63}$/);
    expect(labels["virtual-node-namespace"]).toBe("team-a");
    expect(labels["virtual-node-pod"]).toMatch(/^web-7d9f-x-[a-z0-9]{8}$/);
  });
});

describe("labelSafe", () => {
  it("keeps valid values and hashes the rest", () => {
    expect(labelSafe("web-0_a")).toBe("web-0_a");
    expect(labelSafe("")).toBe("");
    expect(labelSafe("Web.App")).toMatch(/^web-app-[a-z0-9]{8}$/);
    expect(labelSafe("web.app")).not.toBe(labelSafe("web-app"));
    expect(labelSafe("x".repeat(64))).toHaveLength(63);
  });

  it("is always a valid GCP label value, deterministic and distinct (property)", () => {
    fc.assert(
      fc.property(anyText, anyText, (a, b) => {
        const la = labelSafe(a);
        expect(la).toMatch(/^[a-z0-9_-]{0,63}$/);
        expect(labelSafe(a)).toBe(la);
        if (a !== b) expect(labelSafe(b)).not.toBe(la);
      }),
      { numRuns: 2000 },
    );
  });
});
