/**
 * The Prometheus text exposition format (version 0.0.4) for the kubelet's hand-built endpoints
 * (`/metrics/cadvisor`, `/metrics/probes`): families with HELP and TYPE, label values escaped,
 * labels in a stable (sorted) order, optional sample timestamps in milliseconds as cAdvisor
 * writes them. The agent's own `/metrics` is prom-client's; these endpoints need explicit
 * timestamps and exact upstream label sets, which a per-scrape registry would not give.
 */

/** Content type of the text format. */
export const TEXT_FORMAT_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

/** One metric family and its samples. */
export interface MetricFamily {
  name: string;
  help: string;
  type: "counter" | "gauge";
  samples: Sample[];
}

/** One sample: labels, value, and the time it was measured (RFC 3339 or ms), if known. */
export interface Sample {
  labels: Readonly<Record<string, string>>;
  value: number;
  time?: string | number;
}

function escapeLabelValue(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"');
}

function formatValue(value: number): string {
  if (Number.isNaN(value)) return "NaN";
  if (value === Infinity) return "+Inf";
  if (value === -Infinity) return "-Inf";
  return String(value);
}

function formatSample(name: string, sample: Sample): string {
  const keys = Object.keys(sample.labels).sort();
  const labels =
    keys.length === 0
      ? ""
      : `{${keys.map((k) => `${k}="${escapeLabelValue(sample.labels[k] ?? "")}"`).join(",")}}`;
  const ms = typeof sample.time === "string" ? Date.parse(sample.time) : sample.time;
  const timestamp = ms !== undefined && Number.isFinite(ms) ? ` ${Math.round(ms)}` : "";
  return `${name}${labels} ${formatValue(sample.value)}${timestamp}`;
}

/** The families in the text format; a family without samples still gets its HELP and TYPE. */
export function renderFamilies(families: readonly MetricFamily[]): string {
  const lines: string[] = [];
  for (const family of families) {
    lines.push(`# HELP ${family.name} ${family.help.replace(/\\/g, "\\\\").replace(/\n/g, "\\n")}`);
    lines.push(`# TYPE ${family.name} ${family.type}`);
    for (const sample of family.samples) lines.push(formatSample(family.name, sample));
  }
  return `${lines.join("\n")}\n`;
}
