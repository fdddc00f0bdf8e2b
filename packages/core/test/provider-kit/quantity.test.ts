import { describe, expect, it } from "vitest";
import { InvalidInputError } from "../../src/errors.js";
import {
  compareExactQuantities,
  exactQuantityMilliValue,
  exactQuantityValue,
  parseExactQuantity,
} from "../../src/kube/quantity.js";
import { formatQuantity, parseQuantity } from "../../src/provider-kit/quantity.js";

describe("parseQuantity", () => {
  it.each([
    ["0", 0],
    ["1", 1],
    ["+2", 2],
    ["-3", -3],
    ["1.5", 1.5],
    [".5", 0.5],
    ["1.", 1],
    ["  250m ", 0.25],
    ["500m", 0.5],
    ["100n", 100e-9],
    ["5u", 5e-6],
    ["1k", 1000],
    ["2M", 2e6],
    ["3G", 3e9],
    ["4T", 4e12],
    ["5P", 5e15],
    ["1E", 1e18],
    ["1Ki", 1024],
    ["1Mi", 1024 ** 2],
    ["1.5Gi", 1.5 * 1024 ** 3],
    ["2Ti", 2 * 1024 ** 4],
    ["1Pi", 1024 ** 5],
    ["1Ei", 1024 ** 6],
    ["1e3", 1000],
    ["1E3", 1000],
    ["12e-3", 0.012],
    ["1.5e+2", 150],
    [".5e1", 5],
    ["123456789", 123456789],
  ])("%s → %d", (text, expected) => {
    expect(parseQuantity(text)).toBeCloseTo(expected, 12);
  });

  it("returns exact integers for byte sizes", () => {
    expect(parseQuantity("120Gi")).toBe(120 * 1024 ** 3);
    expect(parseQuantity("1536Mi")).toBe(1610612736);
  });

  it("passes finite numbers through", () => {
    expect(parseQuantity(0.25)).toBe(0.25);
    expect(() => parseQuantity(Number.NaN)).toThrow(InvalidInputError);
    expect(() => parseQuantity(Number.POSITIVE_INFINITY)).toThrow(InvalidInputError);
  });

  it.each([
    "",
    " ",
    "abc",
    "1K",
    "1Kib",
    "1 Gi",
    "1.2.3",
    "--1",
    "1e",
    "1e+",
    "Gi",
    "1m2",
    "1i",
    "0x10",
    "1e12345",
  ])("rejects %j with InvalidInputError", (text) => {
    expect(() => parseQuantity(text)).toThrow(InvalidInputError);
  });

  it("names the bad value in the error", () => {
    expect(() => parseQuantity("12 cores")).toThrow(/"12 cores"/);
  });
});

describe("exact quantities (core's QoS and resourceFieldRef)", () => {
  it("compares decimal and milli forms exactly", () => {
    const a = parseExactQuantity("0.1");
    const b = parseExactQuantity("100m");
    expect(a && b && compareExactQuantities(a, b)).toBe(0);
    const c = parseExactQuantity("1Gi");
    const d = parseExactQuantity("1G");
    expect(c && d && compareExactQuantities(c, d)).toBe(1);
  });

  it("rounds Value and MilliValue up, like resource.Quantity", () => {
    const q = parseExactQuantity("1.0001");
    expect(q && exactQuantityValue(q)).toBe(2n);
    const n = parseExactQuantity("1n");
    expect(n && exactQuantityMilliValue(n)).toBe(1n);
    const neg = parseExactQuantity("-1.5");
    expect(neg && exactQuantityValue(neg)).toBe(-1n);
  });

  it("is undefined for malformed text", () => {
    expect(parseExactQuantity("1K")).toBeUndefined();
  });
});

describe("formatQuantity", () => {
  it.each([
    [0, "0"],
    [2, "2"],
    [0.25, "250m"],
    [1.5, "1500m"],
    [0.0001, "1m"],
    [0.1 + 0.2, "300m"],
    [-0.5, "-500m"],
  ])("cpu %d → %s", (value, expected) => {
    expect(formatQuantity(value, "cpu")).toBe(expected);
  });

  it.each([
    [0, "0"],
    [1024, "1Ki"],
    [1610612736, "1536Mi"],
    [2 * 1024 ** 3, "2Gi"],
    [1000, "1000"],
    [1023.5, "1Ki"],
    [1024 ** 6, "1Ei"],
  ])("bytes %d → %s", (value, expected) => {
    expect(formatQuantity(value, "bytes")).toBe(expected);
  });

  it.each([
    [1500, "1500"],
    [2000, "2k"],
    [3e9, "3G"],
    [0.5, "500m"],
    [1e-9, "1n"],
    [2.5e-6, "2500n"],
    [7, "7"],
  ])("decimal SI %d → %s", (value, expected) => {
    expect(formatQuantity(value)).toBe(expected);
  });

  it("round-trips through parseQuantity", () => {
    for (const value of [0.25, 1, 3.5, 16, 0.001])
      expect(parseQuantity(formatQuantity(value, "cpu"))).toBe(value);
    for (const value of [512 * 1024 ** 2, 120 * 1024 ** 3, 1000])
      expect(parseQuantity(formatQuantity(value, "bytes"))).toBe(value);
  });

  it("rejects non-finite numbers", () => {
    expect(() => formatQuantity(Number.NaN)).toThrow(InvalidInputError);
  });
});
