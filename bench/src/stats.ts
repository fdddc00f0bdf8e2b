/** Small statistics helpers. */

export function quantile(values: readonly number[], q: number): number {
  const sorted = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  const a = sorted[lo] ?? Number.NaN;
  const b = sorted[hi] ?? Number.NaN;
  return a + (b - a) * (pos - lo);
}

export const median = (values: readonly number[]): number => quantile(values, 0.5);

export function round(value: number, digits = 2): number {
  if (!Number.isFinite(value)) return value;
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

/** Count of timestamps ≤ t, as (seconds since `origin`, count) points, at most `maxPoints` of them. */
export function cumulativeCurve(
  times: readonly number[],
  origin: number,
  maxPoints = 200,
): [number, number][] {
  const sorted = [...times].sort((a, b) => a - b);
  if (sorted.length === 0) return [];
  const step = Math.max(1, Math.floor(sorted.length / maxPoints));
  const points: [number, number][] = [[0, 0]];
  for (let i = step - 1; i < sorted.length; i += step)
    points.push([round(((sorted[i] ?? 0) - origin) / 1000, 3), i + 1]);
  const last = sorted[sorted.length - 1] ?? origin;
  if (points[points.length - 1]?.[1] !== sorted.length)
    points.push([round((last - origin) / 1000, 3), sorted.length]);
  return points;
}
