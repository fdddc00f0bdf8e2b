/**
 * Cloud object names and ownership marks. A provider names each cloud object after its pod so a
 * human can find it, makes the name unique and stable with a hash of the pod UID, and records who
 * owns it in tags so it can find its objects again after a restart (adoption) and clean up the ones
 * whose pod is gone (orphans).
 */
import { createHash } from "node:crypto";
import { InvalidInputError } from "../errors.js";
import type { PodRef, ProviderPodSummary } from "../provider.js";

/**
 * Characters a cloud accepts in a name:
 * - `lower-alnum-dash`: `[a-z0-9-]` (ACI container groups, Cloud Run jobs and services);
 * - `alnum-dash`: `[A-Za-z0-9-]`;
 * - `alnum-dash-underscore`: `[A-Za-z0-9_-]` (ECS task definition families).
 */
export type NameAlphabet = "lower-alnum-dash" | "alnum-dash" | "alnum-dash-underscore";

/** Options of {@link cloudName}: the cloud's naming rules. */
export interface CloudNameOptions {
  /** Longest name the cloud accepts; at least `hashLength + 2`. */
  maxLength: number;
  /** Default `lower-alnum-dash`, the strictest. */
  alphabet?: NameAlphabet;
  /** Put in front of the readable part (sanitised like it), e.g. `vn-`. */
  prefix?: string;
  /** Base-36 characters of the UID hash at the end; 4–24, default 8 (about 41 bits). */
  hashLength?: number;
  /** The name must start with a letter (Cloud Run); a `p-` is put in front when it would not. */
  startWithLetter?: boolean;
}

/**
 * The naming rules of the objects the bundled providers create, ready to pass to {@link cloudName}.
 * - `aciContainerGroup`: 1–63, lowercase letters, digits and `-`, no leading, trailing or double `-`;
 * - `ecsTaskDefinitionFamily`: up to 255 letters, digits, `_` and `-`;
 * - `cloudRunJob`: a letter first, then `[a-z0-9-]`, no trailing `-`, up to 63 (the job name and an
 *   execution's run token together must stay under 63, so leave room when you pass a token);
 * - `cloudRunService`: like a job but fewer than 50 characters (`serviceId` in the Run v2 discovery
 *   document); Cloud Run instances have the same limit.
 */
export const NAME_RULES = {
  aciContainerGroup: { maxLength: 63, alphabet: "lower-alnum-dash" },
  ecsTaskDefinitionFamily: { maxLength: 255, alphabet: "alnum-dash-underscore" },
  cloudRunJob: { maxLength: 63, alphabet: "lower-alnum-dash", startWithLetter: true },
  cloudRunService: { maxLength: 49, alphabet: "lower-alnum-dash", startWithLetter: true },
} as const satisfies Record<string, CloudNameOptions>;

const INVALID: Record<NameAlphabet, RegExp> = {
  "lower-alnum-dash": /[^a-z0-9-]/g,
  "alnum-dash": /[^A-Za-z0-9-]/g,
  "alnum-dash-underscore": /[^A-Za-z0-9_-]/g,
};

const HASH_DIGITS = 24; // 128 bits in base 36 need 25 digits; 24 keeps every digit well mixed

/** A base-36 digest of `value`, `length` characters, from SHA-256 (stable across processes and versions). */
function hash36(value: string, length: number): string {
  const digest = createHash("sha256").update(value, "utf8").digest();
  const n = BigInt(`0x${digest.subarray(0, 16).toString("hex")}`);
  return n
    .toString(36)
    .padStart(HASH_DIGITS + 1, "0")
    .slice(-HASH_DIGITS)
    .slice(0, length);
}

/** Invalid characters → `-`, runs of `-` collapsed, separators trimmed at both ends. */
function sanitise(text: string, alphabet: NameAlphabet): string {
  const cased = alphabet === "lower-alnum-dash" ? text.toLowerCase() : text;
  return cased
    .replace(INVALID[alphabet], "-")
    .replace(/-{2,}/g, "-")
    .replace(/^[-_]+/, "")
    .replace(/[-_]+$/, "");
}

/**
 * A deterministic cloud name for a pod: `<prefix><namespace>-<name>` made valid for `alphabet`
 * (lowercased for `lower-alnum-dash`, invalid characters → `-`, runs of `-` collapsed, cut to leave
 * room) + `-` + a base-36 hash of the UID. The result is never longer than `maxLength`, never starts
 * or ends with `-` or `_`, never has `--`, and starts with a letter when `startWithLetter` asks.
 * Same UID (and namespace/name) → same name; pods whose readable parts collide differ by the hash.
 * Throws `InvalidInputError` when `maxLength` leaves no room for the hash.
 */
export function cloudName(ref: PodRef, options: CloudNameOptions): string {
  const alphabet = options.alphabet ?? "lower-alnum-dash";
  const hashLength = options.hashLength ?? 8;
  if (!Number.isInteger(hashLength) || hashLength < 4 || hashLength > HASH_DIGITS) {
    throw new InvalidInputError(`cloudName: hashLength must be an integer 4..${HASH_DIGITS}`);
  }
  if (!Number.isInteger(options.maxLength) || options.maxLength < hashLength + 2) {
    throw new InvalidInputError(`cloudName: maxLength must be an integer >= hashLength + 2`);
  }
  const hash = hash36(ref.uid, hashLength);
  let readable = sanitise(`${options.prefix ?? ""}${ref.namespace}-${ref.name}`, alphabet);
  if (options.startWithLetter === true && !/^[A-Za-z]/.test(readable)) {
    readable = readable === "" ? "p" : `p-${readable}`;
  }
  // Cut after sanitising so the limit counts real characters; cutting may leave a separator last.
  readable = readable.slice(0, options.maxLength - hashLength - 1).replace(/[-_]+$/, "");
  return readable === "" ? hash : `${readable}-${hash}`;
}

/** Tag (or label) keys of the ownership marks: no `/` (Azure tag names forbid it), valid GCP label keys. */
export const OWNERSHIP_KEYS = {
  namespace: "virtual-node-namespace",
  name: "virtual-node-pod",
  uid: "virtual-node-uid",
  node: "virtual-node-node",
} as const;

/**
 * The ownership marks of a pod's cloud object, as tags: namespace, name, UID and the node that
 * created it. Values are kept as they are (Kubernetes names fit AWS and Azure tag values); for GCP
 * labels use {@link ownershipLabels}.
 */
export function ownershipTags(ref: PodRef, nodeName: string): Record<string, string> {
  return {
    [OWNERSHIP_KEYS.namespace]: ref.namespace,
    [OWNERSHIP_KEYS.name]: ref.name,
    [OWNERSHIP_KEYS.uid]: ref.uid,
    [OWNERSHIP_KEYS.node]: nodeName,
  };
}

/**
 * The ownership marks with {@link labelSafe} values, for clouds whose label values cannot carry a
 * pod name (GCP). Filter by them (e.g. `labels.virtual-node-node=<labelSafe(node)>`), and keep
 * {@link ownershipTags} in annotations to read the marks back with {@link parseOwnership}.
 */
export function ownershipLabels(ref: PodRef, nodeName: string): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const [key, value] of Object.entries(ownershipTags(ref, nodeName))) labels[key] = labelSafe(value);
  return labels;
}

/** Tags as a map, or as the `{ key, value }` / `{ Key, Value }` lists AWS APIs return. */
export type TagsInput =
  | Readonly<Record<string, string | undefined>>
  | readonly { key?: string; value?: string; Key?: string; Value?: string }[];

function tagMap(tags: TagsInput): Map<string, string> {
  const map = new Map<string, string>();
  // Azure tag names are case-insensitive and may come back re-cased, so compare lowercased.
  const put = (key: string | undefined, value: string | undefined): void => {
    if (key !== undefined && value !== undefined) map.set(key.toLowerCase(), value);
  };
  if (Array.isArray(tags)) {
    for (const tag of tags as readonly { key?: string; value?: string; Key?: string; Value?: string }[])
      put(tag.key ?? tag.Key, tag.value ?? tag.Value);
  } else {
    for (const [key, value] of Object.entries(tags as Readonly<Record<string, string | undefined>>))
      put(key, value);
  }
  return map;
}

/**
 * Reads the marks of {@link ownershipTags} back: the pod and node a cloud object belongs to, or
 * `undefined` when any mark is missing or empty (the object is not a virtual node's). The result is
 * a `ProviderPodSummary` without status, ready for `Provider.listPods`.
 */
export function parseOwnership(tags: TagsInput | undefined): ProviderPodSummary | undefined {
  if (tags === undefined) return undefined;
  const map = tagMap(tags);
  const namespace = map.get(OWNERSHIP_KEYS.namespace);
  const name = map.get(OWNERSHIP_KEYS.name);
  const uid = map.get(OWNERSHIP_KEYS.uid);
  const nodeName = map.get(OWNERSHIP_KEYS.node);
  if (!namespace || !name || !uid || !nodeName) return undefined;
  return { namespace, name, uid, nodeName };
}

const LABEL_VALUE = /^[a-z0-9_-]{0,63}$/;

/**
 * `value` as a valid GCP label value (at most 63 of `[a-z0-9_-]`; empty is valid): unchanged when it
 * already is one, else sanitised, cut and suffixed with `-` and an 8-character hash of the original,
 * so distinct values stay distinct and the same value always maps to the same label.
 */
export function labelSafe(value: string): string {
  if (LABEL_VALUE.test(value)) return value;
  const readable = value
    .toLowerCase()
    .replace(/[^a-z0-9_-]/g, "-")
    .replace(/-{2,}/g, "-")
    .replace(/^-+/, "")
    .slice(0, 63 - 9)
    .replace(/-+$/, "");
  const hash = hash36(value, 8);
  return readable === "" ? hash : `${readable}-${hash}`;
}
