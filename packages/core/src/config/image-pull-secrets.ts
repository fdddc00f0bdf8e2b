/**
 * The pod's `spec.imagePullSecrets` → registry credentials, as the kubelet's keyring reads them:
 * Secrets of type `kubernetes.io/dockerconfigjson` (`.dockerconfigjson`, `{"auths": {server: …}}`)
 * and `kubernetes.io/dockercfg` (`.dockercfg`, `{server: …}`); `auth` (base64 `user:password`) when
 * `username`/`password` are absent.
 *
 * Like the kubelet, a pull secret that is missing or unreadable is not a failure: it is a warning
 * (`FailedToRetrieveImagePullSecret`) and the image is pulled without it. Warnings never quote a
 * Secret's content.
 */
import type { ImagePullCredential } from "../pod-config.js";

/** Event reason of a pull secret that cannot be used (the kubelet's). */
export const FAILED_TO_RETRIEVE_IMAGE_PULL_SECRET = "FailedToRetrieveImagePullSecret";

/** What {@link resolveImagePullSecrets} needs of one Secret: its type and decoded data. */
export interface PullSecretData {
  type?: string;
  data: ReadonlyMap<string, Uint8Array>;
}

/** A warning about one pull secret (never containing its content). */
export interface PullSecretWarning {
  reason: typeof FAILED_TO_RETRIEVE_IMAGE_PULL_SECRET;
  message: string;
  field: string;
}

/** Result of {@link resolveImagePullSecrets}: credentials in declaration order, and warnings. */
export interface ImagePullSecretsResult {
  credentials: ImagePullCredential[];
  warnings: PullSecretWarning[];
}

const DOCKER_CONFIG_JSON = "kubernetes.io/dockerconfigjson";
const DOCKER_CFG = "kubernetes.io/dockercfg";

/**
 * Reads each named pull secret through `lookup` (the resolver's Secret source, so the Secrets are
 * watched and the pod re-resolved when one changes) and returns their credentials.
 */
export async function resolveImagePullSecrets(
  refs: readonly { name?: string }[],
  namespace: string,
  lookup: (name: string) => Promise<PullSecretData | undefined>,
): Promise<ImagePullSecretsResult> {
  const credentials: ImagePullCredential[] = [];
  const warnings: PullSecretWarning[] = [];
  for (const [i, ref] of refs.entries()) {
    const name = ref.name ?? "";
    const field = `spec.imagePullSecrets[${String(i)}]`;
    const warn = (why: string) =>
      warnings.push({
        reason: FAILED_TO_RETRIEVE_IMAGE_PULL_SECRET,
        message: `Unable to retrieve image pull secret ${namespace}/${name} (${why}); the image will be pulled without it`,
        field,
      });
    if (name === "") {
      warn("no name");
      continue;
    }
    const secret = await lookup(name);
    if (secret === undefined) {
      warn("not found");
      continue;
    }
    const parsed = parsePullSecret(secret);
    if (typeof parsed === "string") {
      warn(parsed);
      continue;
    }
    credentials.push(...parsed.map((c) => ({ ...c, secretName: name })));
  }
  return { credentials, warnings };
}

/**
 * The credentials of one pull secret, or why it has none (a short reason without its content).
 * Entries without a usable username/password are skipped; none usable at all is a reason.
 */
export function parsePullSecret(secret: PullSecretData): Omit<ImagePullCredential, "secretName">[] | string {
  const key =
    secret.type === DOCKER_CONFIG_JSON
      ? ".dockerconfigjson"
      : secret.type === DOCKER_CFG
        ? ".dockercfg"
        : undefined;
  if (key === undefined) {
    return `type ${secret.type ?? "Opaque"} is not ${DOCKER_CONFIG_JSON} or ${DOCKER_CFG}`;
  }
  const bytes = secret.data.get(key);
  if (bytes === undefined) return `no ${key} key`;
  let document: unknown;
  try {
    document = JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    return `${key} is not valid JSON`;
  }
  const servers = key === ".dockerconfigjson" ? objectAt(document, "auths") : asObject(document);
  if (servers === undefined) return `${key} has no registries`;
  const out: Omit<ImagePullCredential, "secretName">[] = [];
  for (const [server, entry] of Object.entries(servers)) {
    const login = loginOf(asObject(entry));
    if (login !== undefined && server !== "") out.push({ server, ...login });
  }
  return out.length > 0 ? out : `${key} has no registry with a username and password`;
}

function loginOf(
  entry: Record<string, unknown> | undefined,
): { username: string; password: string } | undefined {
  if (entry === undefined) return undefined;
  const username = typeof entry.username === "string" ? entry.username : "";
  const password = typeof entry.password === "string" ? entry.password : "";
  if (username !== "" && password !== "") return { username, password };
  if (typeof entry.auth !== "string" || entry.auth === "") return undefined;
  const decoded = Buffer.from(entry.auth, "base64").toString("utf8");
  const colon = decoded.indexOf(":");
  if (colon <= 0 || colon === decoded.length - 1) return undefined;
  return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

function asObject(value: unknown): Record<string, unknown> | undefined {
  return typeof value === "object" && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}

function objectAt(value: unknown, key: string): Record<string, unknown> | undefined {
  return asObject(asObject(value)?.[key]);
}
