/**
 * Volume file rules of the resolver: the kubelet atomic writer's path checks, one volume's payload
 * (files by path), the volume kind, and ClusterTrustBundle PEM normalisation.
 */
import { ConfigError } from "../errors.js";
import type { Volume } from "../kube/types.js";
import type { ResolvedFile, ValueSource } from "../pod-config.js";
import { ConfigReasons } from "./reasons.js";
import type { ClusterTrustBundleData } from "./source.js";
import { compareStrings, decodeBase64, encodeUtf8 } from "./text.js";

export class Payload {
  private readonly field: string;
  private readonly byPath = new Map<string, ResolvedFile>();

  constructor(field: string) {
    this.field = field;
  }

  add(
    path: string,
    content: Uint8Array,
    mode: number,
    secret: boolean,
    field = this.field,
    source?: ValueSource,
  ): void {
    const problem = pathProblem(path);
    if (problem !== undefined) {
      throw new ConfigError(
        ConfigReasons.InvalidVolumeSource,
        `${field}: invalid path ${JSON.stringify(path)}: ${problem}`,
        {
          field,
        },
      );
    }
    const clean = cleanPath(path);
    this.byPath.set(clean, {
      path: clean,
      content,
      mode,
      secret,
      ...(source === undefined ? {} : { source }),
    });
  }

  files(): ResolvedFile[] {
    return [...this.byPath.values()].sort((a, b) => compareStrings(a.path, b.path));
  }
}

/** The kubelet atomic writer's path rules. */
function pathProblem(path: string): string | undefined {
  if (path === "") return "must not be empty";
  if (path.startsWith("/")) return "must be a relative path";
  if (encodeUtf8(path).length > 4096) return "must be less than or equal to 4096 characters";
  const items = path.split("/");
  for (const item of items) {
    if (item === "..") return "must not contain '..'";
    if (encodeUtf8(item).length > 255) return "file names must be less than or equal to 255 characters";
  }
  const first = items[0] ?? "";
  if (first.startsWith("..") && first.length > 2) return "must not start with '..'";
  if (cleanPath(path) === "") return "must name a file";
  return undefined;
}

/** `path.Clean` for paths that passed {@link pathProblem} (relative, no `..` elements). */
function cleanPath(path: string): string {
  return path
    .split("/")
    .filter((part) => part !== "" && part !== ".")
    .join("/");
}

export function volumeKind(volume: Volume): string {
  for (const [key, value] of Object.entries(volume)) {
    if (key !== "name" && value !== undefined && value !== null) return key;
  }
  // The API defaults a volume without a source to an emptyDir.
  return "emptyDir";
}

const PEM_BLOCK = /-----BEGIN ([^\r\n-][^\r\n]*?)-----\r?\n([\s\S]*?)-----END \1-----/g;

/** Deduplicated certificates of all bundles, in a stable (sorted) order, as PEM. */
export function normalizeTrustAnchors(bundles: ClusterTrustBundleData[]): Uint8Array {
  const anchors = new Map<string, Uint8Array>();
  for (const bundle of bundles) {
    for (const match of bundle.trustBundle.matchAll(PEM_BLOCK)) {
      const body = (match[2] ?? "")
        .split(/\r?\n/)
        .filter((line) => !line.includes(":"))
        .join("")
        .replace(/\s+/g, "");
      const der = decodeBase64(body);
      if (der.length > 0) anchors.set(Buffer.from(der).toString("base64"), der);
    }
  }
  const sorted = [...anchors.values()].sort((a, b) => Buffer.compare(a, b));
  let pem = "";
  for (const der of sorted) {
    const base64 = Buffer.from(der).toString("base64");
    pem += "-----BEGIN CERTIFICATE-----\n";
    for (let i = 0; i < base64.length; i += 64) pem += `${base64.slice(i, i + 64)}\n`;
    pem += "-----END CERTIFICATE-----\n";
  }
  return encodeUtf8(pem);
}

// -----------------------------------------------------------------------------------------------
// Data helpers
