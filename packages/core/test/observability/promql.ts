/**
 * What the dashboard and the alerts ask Prometheus for: every PromQL expression in
 * deploy/observability/, parsed with Prometheus' own PromQL grammar (`@prometheus-io/lezer-promql`,
 * the parser of Prometheus' web UI), and the metric names they select. Also the exposition side:
 * the series names a `/metrics` body makes available (histograms as `_bucket`, `_sum`, `_count`).
 */
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { parser } from "@prometheus-io/lezer-promql";
import { parse as parseYaml } from "yaml";

export const OBSERVABILITY_DIR = fileURLToPath(new URL("../../../../deploy/observability/", import.meta.url));

/** One expression and where it came from. */
export interface Query {
  where: string;
  expr: string;
}

// Grafana's built-in variables, replaced by what Grafana would put there before parsing.
const GRAFANA_VARIABLES: [RegExp, string][] = [
  [/\$__rate_interval/g, "5m"],
  [/\$__interval/g, "1m"],
  [/\$__range/g, "1h"],
];

/** Parses `expr`; returns the selected metric names, or throws naming the position of a syntax error. */
export function metricNames(query: Query): string[] {
  let expr = query.expr;
  for (const [pattern, value] of GRAFANA_VARIABLES) expr = expr.replace(pattern, value);
  const tree = parser.parse(expr);
  const names: string[] = [];
  const errors: number[] = [];
  tree.iterate({
    enter(node) {
      if (node.type.isError) errors.push(node.from);
      if (node.name === "Identifier" && node.node.parent?.name === "VectorSelector")
        names.push(expr.slice(node.from, node.to));
    },
  });
  if (errors.length > 0)
    throw new Error(`${query.where}: PromQL syntax error at ${String(errors[0])} in ${JSON.stringify(expr)}`);
  if (names.length === 0) throw new Error(`${query.where}: no metric selected in ${JSON.stringify(expr)}`);
  return names;
}

/** A Grafana panel as the dashboard JSON has it (only what the checks read). */
export interface Panel {
  id: number;
  type: string;
  title: string;
  gridPos: { x: number; y: number; w: number; h: number };
  datasource?: { type: string; uid: string };
  targets?: { refId: string; expr: string; datasource?: { type: string; uid: string } }[];
  panels?: Panel[];
}

/** The dashboard's JSON model (only what the checks read). */
export interface Dashboard {
  uid: string;
  title: string;
  schemaVersion: number;
  panels: Panel[];
  templating: {
    list: { name: string; type: string; query: string | { query: string }; datasource?: unknown }[];
  };
}

export async function readDashboard(): Promise<Dashboard> {
  return JSON.parse(await readFile(`${OBSERVABILITY_DIR}grafana-dashboard.json`, "utf8")) as Dashboard;
}

/** The PrometheusRule manifest. */
export interface PrometheusRule {
  apiVersion: string;
  kind: string;
  metadata: { name: string };
  spec: {
    groups: {
      name: string;
      rules: {
        alert?: string;
        record?: string;
        expr: string;
        for?: string;
        labels?: Record<string, string>;
        annotations?: Record<string, string>;
      }[];
    }[];
  };
}

export async function readPrometheusRule(): Promise<PrometheusRule> {
  return parseYaml(await readFile(`${OBSERVABILITY_DIR}prometheus-rule.yaml`, "utf8")) as PrometheusRule;
}

/** Every panel, rows' nested panels included. */
export function allPanels(dashboard: Dashboard): Panel[] {
  return dashboard.panels.flatMap((p) => [p, ...(p.panels ?? [])]);
}

/** Every PromQL expression of the dashboard (targets and query variables) and of the rules. */
export function allQueries(dashboard: Dashboard, rule: PrometheusRule): Query[] {
  const queries: Query[] = [];
  for (const panel of allPanels(dashboard))
    for (const target of panel.targets ?? [])
      queries.push({
        where: `panel ${String(panel.id)} "${panel.title}" ${target.refId}`,
        expr: target.expr,
      });
  for (const variable of dashboard.templating.list) {
    if (variable.type !== "query") continue;
    const text = typeof variable.query === "string" ? variable.query : variable.query.query;
    // label_values(<selector>, <label>) is Grafana's; its first argument is a PromQL selector.
    const inner = /^label_values\((.*),\s*[a-zA-Z_][a-zA-Z0-9_]*\)$/.exec(text)?.[1];
    queries.push({ where: `variable $${variable.name}`, expr: inner ?? text });
  }
  for (const group of rule.spec.groups)
    for (const r of group.rules)
      queries.push({ where: `rule ${group.name}/${r.alert ?? r.record ?? "?"}`, expr: r.expr });
  return queries;
}

/** The series names a text-format body offers: sample names, plus each histogram's three series. */
export function exposedNames(body: string): Set<string> {
  const names = new Set<string>();
  for (const line of body.split("\n")) {
    const type = /^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (\w+)$/.exec(line);
    if (type !== null) {
      const [, name = "", kind] = type;
      if (kind === "histogram") for (const suffix of ["_bucket", "_sum", "_count"]) names.add(name + suffix);
      else if (kind === "summary") for (const suffix of ["", "_sum", "_count"]) names.add(name + suffix);
      else names.add(name);
      continue;
    }
    const sample = /^([a-zA-Z_:][a-zA-Z0-9_:]*)[{ ]/.exec(line);
    if (sample?.[1] !== undefined) names.add(sample[1]);
  }
  return names;
}
