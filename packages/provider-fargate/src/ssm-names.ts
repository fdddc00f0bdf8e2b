/**
 * Names, ARNs and size limits of the SSM Parameter Store mirror (`secretMirroring.store: "ssm"`).
 * Pure. One `SecureString` parameter per mirrored value, in a hierarchy that a human can read:
 *
 * - a Kubernetes Secret's key: `<prefix><node>/<namespace>/secret/<Secret>/<env|file>.<key>`
 * - a pod's other secret values (service-account tokens, values only partly from a Secret):
 *   `<prefix><node>/<namespace>/pod/<pod>-<uid hash>/<env|file>.<container|volume>.<name>`
 *
 * Everything up to the last `/` is the parameter's *group*: all parameters of one Kubernetes
 * Secret (or one pod) share it, so the provider releases them together when no task uses the
 * Secret any more, and the orphan sweep tells used from unused parameters by their group alone.
 *
 * SSM's rules (PutParameter's `Name` in the botocore model): `a-zA-Z0-9_.-` and `/` between levels,
 * a leading `/` for hierarchies, at most 15 levels, no `aws`/`ssm` prefix, and at most 1011
 * characters *including the ARN in front of the name* (`arn:aws:ssm:us-east-2:111122223333:parameter`
 * is 45 of them). Kubernetes names and Secret keys use those characters already; anything else is
 * replaced and the name gets a hash. A group too long for the budget is replaced by
 * `<prefix>_h/<namespace>-<Secret>-<hash>` (`_` cannot appear in a node name, so it never collides
 * with a readable group); a leaf is cut to {@link SSM_MAX_LEAF} with a hash.
 */
import { InvalidInputError } from "@virtual-node/core";
import type { PodRef } from "@virtual-node/core";
import { cloudName } from "@virtual-node/core/provider-kit";

/** SSM's limit on name + the ARN in front of it. */
export const SSM_MAX_NAME_WITH_ARN = 1011;
/**
 * Characters reserved for the ARN in front of the name: the longest partition and Region names
 * today (`arn:aws-iso-b:ssm:` + a Region + `:` + 12-digit account + `:parameter`) stay under 80.
 */
export const SSM_ARN_RESERVE = 80;
/** The longest name the mirror writes. */
export const SSM_MAX_NAME = SSM_MAX_NAME_WITH_ARN - SSM_ARN_RESERVE;
/** The longest last level (`env.<key>`, …). */
export const SSM_MAX_LEAF = 200;
/** The longest group (everything before the last `/`). */
export const SSM_MAX_GROUP = SSM_MAX_NAME - 1 - SSM_MAX_LEAF;
/** SSM's hierarchy depth limit. */
export const SSM_MAX_DEPTH = 15;
/** Value size limits by tier (PutParameter: "Standard parameters have a value limit of 4 KB"). */
export const SSM_VALUE_LIMITS = { Standard: 4096, Advanced: 8192 } as const;
/** Default prefix of the SSM mirror. */
export const DEFAULT_SSM_PREFIX = "/virtual-node/";

const INVALID = /[^A-Za-z0-9_.-]/g;

/** A base-36 hash of `text` through the kit's naming helper (its readable part left empty). */
function hashOf(text: string, length: number): string {
  return cloudName({ namespace: "", name: "", uid: text }, { maxLength: length + 2, hashLength: length });
}

/** One level: invalid characters → `_`; when that changed it or it is too long, cut + `-<hash>`. */
function level(text: string, max: number): string {
  const safe = text.replace(INVALID, "_");
  if (safe === text && safe.length <= max && safe !== "" && safe !== "." && safe !== "..") return safe;
  return `${safe.slice(0, max - 13)}-${hashOf(text, 12)}`;
}

function group(prefix: string, readable: string, hashed: () => string): string {
  const name = `${prefix}${readable}`;
  return name.length <= SSM_MAX_GROUP ? name : `${prefix}_h/${hashed()}`;
}

/** The group (path) of the parameters that mirror Kubernetes Secret `namespace/secret` for a node. */
export function ssmSecretGroup(prefix: string, nodeName: string, namespace: string, secret: string): string {
  return group(prefix, `${level(nodeName, 253)}/${level(namespace, 253)}/secret/${level(secret, 253)}`, () =>
    cloudName(
      { namespace, name: secret, uid: `${nodeName}/${namespace}/${secret}` },
      { maxLength: 200, alphabet: "alnum-dash-underscore", hashLength: 16 },
    ),
  );
}

/** The group (path) of a pod's own parameters (values that are not one Secret key). */
export function ssmPodGroup(prefix: string, nodeName: string, ref: PodRef): string {
  const pod = cloudName(
    { namespace: "", name: ref.name, uid: ref.uid },
    { maxLength: 200, alphabet: "alnum-dash-underscore", hashLength: 10 },
  );
  return group(prefix, `${level(nodeName, 253)}/${level(ref.namespace, 253)}/pod/${pod}`, () =>
    cloudName(
      { namespace: ref.namespace, name: ref.name, uid: `${nodeName}/${ref.uid}` },
      { maxLength: 200, alphabet: "alnum-dash-underscore", hashLength: 16, prefix: "pod-" },
    ),
  );
}

/** The last level of a parameter: `env.<parts…>` or `file.<parts…>`, made valid. */
export function ssmLeaf(kind: "env" | "file", ...parts: string[]): string {
  return level([kind, ...parts].join("."), SSM_MAX_LEAF);
}

/** The group of a parameter name (everything before its last `/`). */
export function ssmGroupOf(name: string): string {
  return name.slice(0, name.lastIndexOf("/"));
}

/**
 * Checks a name against SSM's rules (what PutParameter would refuse); throws
 * `InvalidInputError` naming `field`. The mirror's own names always pass.
 */
export function checkSsmName(name: string, field: string): void {
  const problem =
    !name.startsWith("/") || name.endsWith("/")
      ? "must start with / and not end with /"
      : /[^A-Za-z0-9_.\-/]/.test(name)
        ? "has characters other than a-zA-Z0-9_.-/"
        : name.includes("//")
          ? "has an empty level"
          : /^\/(aws|ssm)/i.test(name)
            ? "starts with aws or ssm"
            : name.split("/").length - 1 > SSM_MAX_DEPTH
              ? `is deeper than ${SSM_MAX_DEPTH} levels`
              : name.length > SSM_MAX_NAME
                ? `is longer than ${SSM_MAX_NAME} characters`
                : undefined;
  if (problem !== undefined) {
    throw new InvalidInputError(`${field}: SSM parameter name ${name.slice(0, 80)} ${problem}`, { field });
  }
}

/** Partition and account of an IAM role ARN (`arn:<partition>:iam::<account>:role/…`). */
export function partitionAndAccount(roleArn: string): { partition: string; account: string } | undefined {
  const match = /^arn:(aws[a-z-]*):iam::(\d{12}):/.exec(roleArn);
  if (match?.[1] === undefined || match[2] === undefined) return undefined;
  return { partition: match[1], account: match[2] };
}

/**
 * The ARN of parameter `name` (`arn:<partition>:ssm:<region>:<account>:parameter/<path>`), the
 * form ECS `secrets[].valueFrom` takes for parameters (PutParameter does not answer the ARN).
 */
export function ssmParameterArn(
  name: string,
  where: { partition: string; region: string; account: string },
): string {
  const path = name.startsWith("/") ? name : `/${name}`;
  return `arn:${where.partition}:ssm:${where.region}:${where.account}:parameter${path}`;
}
