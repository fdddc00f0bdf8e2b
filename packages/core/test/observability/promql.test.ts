/**
 * The checking helpers themselves: metric names come from the PromQL syntax tree (not from text
 * that merely looks like a name), syntax errors fail loudly, and histograms expose three series.
 */
import { describe, expect, it } from "vitest";
import { exposedNames, metricNames } from "./promql.js";

describe("metricNames", () => {
  it("finds every selected metric, and nothing else, in nested expressions", () => {
    const expr =
      'histogram_quantile(0.99, sum by (le) (rate(a_bucket{job=~"$job", x="not_a_metric"}[$__rate_interval]))) / on (node) group_left max by (node) (b) > 3 and absent(c offset 5m)';
    expect(metricNames({ where: "t", expr })).toEqual(["a_bucket", "b", "c"]);
  });

  it("throws on a syntax error and on an expression that selects nothing", () => {
    expect(() => metricNames({ where: "broken", expr: "sum(rate(a[5m])" })).toThrow(
      /broken: PromQL syntax error/,
    );
    expect(() => metricNames({ where: "constant", expr: "1 + 1" })).toThrow(/no metric selected/);
  });
});

describe("exposedNames", () => {
  it("expands histograms and keeps counters and gauges as named", () => {
    const body = [
      "# HELP h_seconds x",
      "# TYPE h_seconds histogram",
      "# TYPE c_total counter",
      'c_total{a="1"} 1',
      "# TYPE g gauge",
      "g 1 1700000000000",
    ].join("\n");
    expect([...exposedNames(body)].sort()).toEqual(
      ["c_total", "g", "h_seconds_bucket", "h_seconds_count", "h_seconds_sum"].sort(),
    );
  });
});
