import { describe, expect, it } from "vitest";
import { StringInterner } from "../src/kube/intern.js";

describe("StringInterner (one copy of each repeated string in the pod cache)", () => {
  it("keeps the object's content and shape while sharing repeated values", () => {
    const interner = new StringInterner();
    const raw =
      '{"metadata":{"name":"a","uid":"u1","resourceVersion":"7"},"spec":{"containers":[{"image":"nginx","args":["x","nginx"]}]},"status":{"phase":"Running"}}';
    const a = interner.intern(JSON.parse(raw) as unknown);
    const b = interner.intern(JSON.parse(raw.replace("u1", "u2")) as unknown);
    expect(a).toEqual(JSON.parse(raw));
    expect(b).toEqual(JSON.parse(raw.replace("u1", "u2")));
    // "a", "nginx" ×2, "x", "Running": 4 distinct values; uid and resourceVersion are not interned.
    expect(interner.size).toBe(4);
  });

  it("leaves long strings alone and empties a full table instead of growing it", () => {
    const interner = new StringInterner(3, 10);
    interner.intern({ cert: "x".repeat(11) });
    expect(interner.size).toBe(0);
    interner.intern({ a: "1", b: "2", c: "3" });
    expect(interner.size).toBe(3);
    const next = interner.intern({ d: "4", list: ["1"] });
    expect(next).toEqual({ d: "4", list: ["1"] });
    expect(interner.size).toBe(2);
  });

  it("passes scalars and null through", () => {
    const interner = new StringInterner();
    expect(interner.intern(null)).toBeNull();
    expect(interner.intern({ n: 1, t: true, z: null, s: "v" })).toEqual({ n: 1, t: true, z: null, s: "v" });
  });
});
