/**
 * What the per-pod resolvers share: the kubelet's constants and the small value helpers (quantities,
 * own-key reads, Secret bytes).
 */
import type { Secret } from "../kube/types.js";
import { type ExactQuantity } from "../kube/quantity.js";
import type { ResolvedEnvVar } from "../pod-config.js";
import { compareStrings, decodeBase64, encodeUtf8 } from "./text.js";
import type { ServiceAccountToken } from "./source.js";

export const MAX_TOKEN_AGE_MS = 24 * 60 * 60 * 1000;
export const DEFAULT_MODE = 0o644;
export const DEFAULT_TOKEN_EXPIRATION_SECONDS = 3600;
export const MIN_TOKEN_EXPIRATION_SECONDS = 600;
export const MAX_TOKEN_EXPIRATION_SECONDS = 2 ** 32;
export const MASTER_SERVICE = "kubernetes";
export const MASTER_NAMESPACE = "default";

export type ResolvedValue = Omit<ResolvedEnvVar, "name">;

// -----------------------------------------------------------------------------------------------
// Volume files

/** Files of one volume keyed by cleaned path; a later source wins (projected volumes). */
// -----------------------------------------------------------------------------------------------
// Quantities (exact rationals, like resource.Quantity: the parser is kube/quantity.ts)

export const ZERO: ExactQuantity = { num: 0n, den: 1n };
export const ONE: ExactQuantity = { num: 1n, den: 1n };

export function toNumber(value: bigint): number {
  return Number(value);
}

// -----------------------------------------------------------------------------------------------
// Trust bundles

/** `record[key]` for own keys only (a key such as `constructor` must not reach the prototype). */
export function own(record: Record<string, string> | undefined, key: string): string | undefined {
  return record !== undefined && Object.hasOwn(record, key) ? record[key] : undefined;
}

export function sortedEntries(record: Record<string, string> | undefined): [string, string][] {
  return Object.entries(record ?? {}).sort(([a], [b]) => compareStrings(a, b));
}

/** A Secret's values as bytes: base64 `data`, overlaid by `stringData` when a source provides it. */
export function secretData(secret: Secret): Map<string, Uint8Array> {
  const data = new Map<string, Uint8Array>();
  for (const [key, value] of sortedEntries(secret.data)) data.set(key, decodeBase64(value));
  for (const [key, value] of sortedEntries(secret.stringData)) data.set(key, encodeUtf8(value));
  return data;
}

/** Kubelet token refresh rule: at 80 % of the token's lifetime, or once it is 24 h old. */
export function tokenRefreshTime(
  token: Pick<ServiceAccountToken, "expirationTimestamp" | "issuedAt">,
  now: Date,
): Date {
  const issued = (token.issuedAt ?? now).getTime();
  const lifetime = Math.max(0, token.expirationTimestamp.getTime() - issued);
  return new Date(issued + Math.min(lifetime * 0.8, MAX_TOKEN_AGE_MS));
}
