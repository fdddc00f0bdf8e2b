/**
 * JSON merge patches (RFC 7386) computed as the difference of two JSON values: the smallest body that turns
 * `before` into `after`. Objects are compared key by key (a key gone from `after` becomes `null`); arrays and
 * scalars are replaced whole, as RFC 7386 applies them. `Date`s are taken as what the API stores of them
 * (RFC 3339, whole seconds), so a time read back from the server equals the `Date` it was written from.
 */
import { isDeepStrictEqual } from "node:util";

/** The content type of a JSON merge patch. */
export const MERGE_PATCH = "application/merge-patch+json";

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value) && !(value instanceof Date);
}

/**
 * The merge patch that turns `before` into `after`, or `undefined` if they are equal. `undefined` members
 * count as absent (as `JSON.stringify` drops them).
 */
export function mergePatchOf(before: unknown, after: unknown): Json | undefined {
  if (!isPlainObject(before) || !isPlainObject(after)) {
    const next = toJson(after);
    return isDeepStrictEqual(toJson(before), next) ? undefined : (next ?? null);
  }
  const patch: Record<string, Json> = {};
  for (const [key, next] of Object.entries(after)) {
    if (next === undefined) continue;
    const prev = before[key];
    if (prev === undefined) {
      patch[key] = toJson(next) ?? null;
      continue;
    }
    const change = mergePatchOf(prev, next);
    if (change !== undefined) patch[key] = change;
  }
  for (const [key, prev] of Object.entries(before)) {
    if (prev !== undefined && after[key] === undefined) patch[key] = null;
  }
  return Object.keys(patch).length === 0 ? undefined : patch;
}

/** `value` as JSON would carry it: `Date`s as RFC 3339 at second precision, `undefined` members dropped. */
function toJson(value: unknown): Json | undefined {
  if (value === undefined) return undefined;
  if (value instanceof Date) return value.toISOString().replace(/\.\d{3}Z$/, "Z");
  if (Array.isArray(value)) return value.map((item) => toJson(item) ?? null);
  if (isPlainObject(value)) {
    const out: Record<string, Json> = {};
    for (const [key, item] of Object.entries(value)) {
      const json = toJson(item);
      if (json !== undefined) out[key] = json;
    }
    return out;
  }
  return value as Json;
}
