/**
 * Pod resources and cloud shapes. Serverless clouds do not run "whatever the pod asks for": they
 * sell fixed sizes (Fargate's CPU/memory table), a grid (ACI's 0.01 core / 0.1 GB units) or sizes
 * bound by rules (Cloud Run: memory per CPU). {@link podResources} computes what the pod needs the
 * way the kubelet and scheduler do, and {@link fitToShape} picks the smallest legal size that holds
 * it and says why — or why none does, so the pod fails with a message a user can act on.
 */
import { InvalidInputError } from "../errors.js";
import { formatQuantity, parseQuantity } from "../kube/quantity.js";
import type { Container, Pod } from "../kube/types.js";

/** Amounts by resource name: `cpu` in cores, `memory` in bytes, extended resources as counts. */
export interface ResourceAmounts {
  /** Cores (`"500m"` → 0.5). */
  cpu?: number;
  /** Bytes. */
  memory?: number;
  [extended: string]: number | undefined;
}

/** A pod's effective requests and limits, as {@link podResources} computes them. */
export interface PodResources {
  requests: ResourceAmounts;
  limits: ResourceAmounts;
}

type ResourceList = Record<string, string> | undefined;

/**
 * The pod's effective requests and limits, as the kubelet and scheduler compute them
 * (`k8s.io/component-helpers/resource` `PodRequests`/`PodLimits`):
 * - app containers and restartable init containers (sidecars, `restartPolicy: Always`) run
 *   together, so they add up;
 * - an ordinary init container runs alone, next to the sidecars started before it, so the pod
 *   needs the larger of that and the running set;
 * - `spec.overhead` is added (to limits only for resources that have a limit);
 * - pod-level `spec.resources`, when set, wins for the resources it names.
 *
 * A container limit without a request counts as the request, as the API server defaults it.
 *
 * @throws InvalidInputError when a quantity in the pod is malformed.
 */
export function podResources(pod: Pod): PodResources {
  const spec = pod.spec;
  const containers = spec?.containers ?? [];
  const initContainers = spec?.initContainers ?? [];
  // Where each container sits in the pod, so a malformed quantity names its field.
  const paths = new Map<Container, string>([
    ...containers.map((c, i): [Container, string] => [c, `spec.containers[${String(i)}]`]),
    ...initContainers.map((c, i): [Container, string] => [c, `spec.initContainers[${String(i)}]`]),
  ]);
  const fieldOf = (c: Container, list: "limits" | "requests"): string =>
    `${paths.get(c) ?? "spec.containers"}.resources.${list}`;
  const requestsOf = (c: Container): ResourceAmounts => ({
    ...amounts(c.resources?.limits, `container ${c.name} limits`, fieldOf(c, "limits")),
    ...amounts(c.resources?.requests, `container ${c.name} requests`, fieldOf(c, "requests")),
  });
  const limitsOf = (c: Container): ResourceAmounts =>
    amounts(c.resources?.limits, `container ${c.name} limits`, fieldOf(c, "limits"));

  const aggregate = (of: (c: Container) => ResourceAmounts): ResourceAmounts => {
    let running: ResourceAmounts = {};
    for (const c of containers) running = add(running, of(c));
    let sidecars: ResourceAmounts = {};
    let initPeak: ResourceAmounts = {};
    for (const c of initContainers) {
      const own = of(c);
      if (c.restartPolicy === "Always") {
        // A sidecar keeps running next to later init containers and the app containers.
        running = add(running, own);
        sidecars = add(sidecars, own);
        initPeak = max(initPeak, sidecars);
      } else {
        initPeak = max(initPeak, add(own, sidecars));
      }
    }
    return max(running, initPeak);
  };

  let requests = aggregate(requestsOf);
  let limits = aggregate(limitsOf);
  const podLevel = spec?.resources;
  if (podLevel !== undefined) {
    const podLimits = amounts(podLevel.limits, "pod limits", "spec.resources.limits");
    requests = {
      ...requests,
      ...podLimits,
      ...amounts(podLevel.requests, "pod requests", "spec.resources.requests"),
    };
    limits = { ...limits, ...podLimits };
  }
  const overhead = amounts(spec?.overhead, "pod overhead", "spec.overhead");
  requests = add(requests, overhead);
  const limitedOverhead = Object.fromEntries(
    Object.entries(overhead).filter(([name]) => limits[name] !== undefined),
  );
  limits = add(limits, limitedOverhead);
  return { requests, limits };
}

function amounts(list: ResourceList, where: string, field: string): ResourceAmounts {
  const out: ResourceAmounts = {};
  for (const [name, quantity] of Object.entries(list ?? {})) {
    try {
      out[name] = parseQuantity(quantity);
    } catch (error) {
      throw new InvalidInputError(`${where}: ${name}: ${(error as Error).message}`, {
        cause: error,
        field: `${field}.${name}`,
      });
    }
  }
  return out;
}

function add(a: ResourceAmounts, b: ResourceAmounts): ResourceAmounts {
  const out: ResourceAmounts = { ...a };
  for (const [name, value] of Object.entries(b)) {
    if (value !== undefined) out[name] = (out[name] ?? 0) + value;
  }
  return out;
}

function max(a: ResourceAmounts, b: ResourceAmounts): ResourceAmounts {
  const out: ResourceAmounts = { ...a };
  for (const [name, value] of Object.entries(b)) {
    if (value !== undefined) out[name] = Math.max(out[name] ?? value, value);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Shapes

/** A size a cloud runs and bills: `cpu` in cores, `memory` in bytes, plus whatever the provider needs. */
export interface Shape {
  /** The cloud's name for it, e.g. Fargate `1024/2048`. */
  name: string;
  cpu: number;
  memory: number;
  [extra: string]: unknown;
}

/** Legal values of one dimension: one value, a list, or a stepped range `min, min+step, … ≤ max`. */
export type ShapeValues = number | readonly number[] | { min: number; max: number; step: number };

/**
 * One row of a shape table. A row with single `cpu` and `memory` values is one shape; a row with
 * lists or stepped ranges stands for every combination of them, so a grid (ACI) or a rule (Cloud
 * Run: memory up to 4 GiB at 1 CPU) is one row instead of thousands. Extra keys (an extended
 * resource's capacity such as `"nvidia.com/gpu": 1`, a cloud SKU) are copied to the chosen shape.
 */
export interface ShapeRow {
  /** Cores. */
  cpu: ShapeValues;
  /** Bytes. */
  memory: ShapeValues;
  /** The shape's name, or how to build it from the chosen values. Default: `<cpu>/<memory>` as quantities. */
  name?: string | ((cpu: number, memory: number) => string);
  [extra: string]: unknown;
}

/** Options of {@link fitToShape}. */
export interface FitOptions {
  /**
   * What the shape must hold: `requests`, `limits`, or (default) the larger of the two per
   * resource, so the pod gets what it asked for and can use what it is allowed.
   */
  use?: "requests" | "limits" | "max";
  /** Amounts used when the pod gives none (ACI's default is 1 CPU and 1.5 GB). Default: the smallest shape. */
  defaults?: ResourceAmounts;
  /**
   * Extended resources the shape must hold too, by name (`nvidia.com/gpu`): a row offers one as a
   * numeric extra key. Other resources (`ephemeral-storage`, ...) are not the shape's concern.
   */
  extendedResources?: readonly string[];
  /** Which of two fitting shapes is smaller. Default: less cpu, then less memory, then table order. */
  compare?: (a: Shape, b: Shape) => number;
}

/** The answer of {@link fitToShape}. */
export type FitResult = { ok: true; shape: Shape; reason: string } | { ok: false; reason: string };

/**
 * Relative rounding slack, so `0.1 + 0.2` cores fits a 0.3 core step; small enough that one byte
 * over 120 GiB still counts as over.
 */
const EPSILON = 1e-12;

/** `a ≥ b`, forgiving float noise. */
function atLeast(a: number, b: number): boolean {
  return a >= b - EPSILON * Math.max(1, Math.abs(b));
}

/**
 * The smallest shape of `table` that holds the pod's resources, with a sentence saying what was
 * chosen for what; or `ok: false` with a sentence naming the resource that no shape can hold.
 */
export function fitToShape(
  resources: PodResources,
  table: readonly ShapeRow[],
  options: FitOptions = {},
): FitResult {
  const use = options.use ?? "max";
  const want = wanted(resources, use);
  const defaulted: string[] = [];
  for (const name of ["cpu", "memory"] as const) {
    const fallback = options.defaults?.[name];
    if (want[name] === undefined && fallback !== undefined) {
      want[name] = fallback;
      defaulted.push(name);
    }
  }
  const extended = (options.extendedResources ?? []).filter((name) => (want[name] ?? 0) > 0);
  const cpu = want.cpu ?? 0;
  const memory = want.memory ?? 0;
  const compare = options.compare ?? byCpuThenMemory;

  let best: Shape | undefined;
  for (const row of table) {
    const shape = fitRow(row, cpu, memory, extended, want);
    if (shape !== undefined && (best === undefined || compare(shape, best) < 0)) best = shape;
  }
  const asked = describeWant(want, extended, use, defaulted);
  if (best !== undefined) {
    return { ok: true, shape: best, reason: `chose ${best.name} (${describeShape(best)}) for ${asked}` };
  }
  return { ok: false, reason: `no shape fits ${asked}: ${whyNone(table, cpu, memory, extended, want)}` };
}

function wanted(resources: PodResources, use: "requests" | "limits" | "max"): ResourceAmounts {
  if (use === "requests") return { ...resources.requests };
  if (use === "limits") return { ...resources.limits };
  return max(resources.requests, resources.limits);
}

function fitRow(
  row: ShapeRow,
  cpu: number,
  memory: number,
  extended: readonly string[],
  want: ResourceAmounts,
): Shape | undefined {
  for (const name of extended) {
    const offered = row[name];
    if (typeof offered !== "number" || !atLeast(offered, want[name] ?? 0)) return undefined;
  }
  const c = smallestAtLeast(row.cpu, cpu);
  const m = smallestAtLeast(row.memory, memory);
  if (c === undefined || m === undefined) return undefined;
  const { name } = row;
  const extra = Object.fromEntries(
    Object.entries(row).filter(([k]) => k !== "name" && k !== "cpu" && k !== "memory"),
  );
  const shapeName =
    typeof name === "function"
      ? name(c, m)
      : (name ?? `${formatQuantity(c, "cpu")}/${formatQuantity(m, "bytes")}`);
  return { ...extra, name: shapeName, cpu: c, memory: m };
}

/** The smallest legal value ≥ `wanted`, or `undefined` when the largest is too small. */
function smallestAtLeast(values: ShapeValues, wanted: number): number | undefined {
  if (typeof values === "number") return atLeast(values, wanted) ? values : undefined;
  if (isRange(values)) {
    const { min, max: top, step } = values;
    if (atLeast(min, wanted)) return min;
    const steps = Math.ceil((wanted - min) / step - EPSILON * Math.max(1, wanted / step));
    // Snap to the step's decimals so 0.08 + 0.001·k does not come out as 0.30100000000000005.
    const value = roundTo(min + steps * step, step);
    return atLeast(top, value) ? value : undefined;
  }
  let best: number | undefined;
  for (const v of values) if (atLeast(v, wanted) && (best === undefined || v < best)) best = v;
  return best;
}

function isRange(values: ShapeValues): values is { min: number; max: number; step: number } {
  return typeof values === "object" && !Array.isArray(values);
}

function roundTo(value: number, step: number): number {
  const decimals = Math.max(0, Math.min(12, Math.ceil(-Math.log10(step)) + 3));
  return Number(value.toFixed(decimals));
}

function largest(values: ShapeValues): number {
  if (typeof values === "number") return values;
  if (isRange(values)) return values.max;
  return Math.max(...values);
}

function byCpuThenMemory(a: Shape, b: Shape): number {
  return a.cpu - b.cpu || a.memory - b.memory;
}

function describeShape(shape: Shape): string {
  return `cpu ${formatQuantity(shape.cpu, "cpu")}, memory ${formatQuantity(shape.memory, "bytes")}`;
}

function describeWant(
  want: ResourceAmounts,
  extended: readonly string[],
  use: "requests" | "limits" | "max",
  defaulted: readonly string[],
): string {
  const parts = [
    `cpu ${want.cpu === undefined ? "unset" : formatQuantity(want.cpu, "cpu")}`,
    `memory ${want.memory === undefined ? "unset" : formatQuantity(want.memory, "bytes")}`,
    ...extended.map((name) => `${name} ${String(want[name] ?? 0)}`),
  ];
  const basis = use === "max" ? "the larger of requests and limits" : use;
  const note = defaulted.length > 0 ? `; ${defaulted.join(" and ")} defaulted` : "";
  return `${parts.join(", ")} (${basis}${note})`;
}

function whyNone(
  table: readonly ShapeRow[],
  cpu: number,
  memory: number,
  extended: readonly string[],
  want: ResourceAmounts,
): string {
  if (table.length === 0) return "the shape table is empty";
  for (const name of extended) {
    const offered = Math.max(0, ...table.map((row) => (typeof row[name] === "number" ? row[name] : 0)));
    if (!atLeast(offered, want[name] ?? 0)) return `the most ${name} offered is ${String(offered)}`;
  }
  const maxCpu = Math.max(...table.map((row) => largest(row.cpu)));
  if (!atLeast(maxCpu, cpu)) return `the most cpu offered is ${formatQuantity(maxCpu, "cpu")}`;
  const maxMemory = Math.max(...table.map((row) => largest(row.memory)));
  if (!atLeast(maxMemory, memory)) return `the most memory offered is ${formatQuantity(maxMemory, "bytes")}`;
  return "no shape offers that cpu and that memory together";
}
