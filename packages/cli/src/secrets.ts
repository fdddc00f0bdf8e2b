/**
 * Secret references in a config (`{ fromFile: path }`, `{ fromEnv: NAME }`) are replaced by their
 * values just before the provider is built, and every value is remembered so that the log output can
 * redact it wherever it appears (an SDK error that echoes a key, a debug dump of options).
 */
import { readFile } from "node:fs/promises";
import { isAbsolute, resolve } from "node:path";
import { ConfigFileError, type ConfigIssue } from "./config.js";

/** The secret values resolved so far; the log redactor reads it at every write. */
export class SecretValues {
  readonly #values = new Set<string>();

  /** Remembers a value (values shorter than 4 characters are not redacted: they would mangle every line). */
  add(value: string): void {
    if (value.length >= 4) this.#values.add(value);
  }

  /** `text` with every remembered value replaced by `[REDACTED]`. */
  redact(text: string): string {
    let out = text;
    for (const value of this.#values) if (out.includes(value)) out = out.split(value).join("[REDACTED]");
    return out;
  }

  get size(): number {
    return this.#values.size;
  }
}

/** Where references are resolved from. */
export interface SecretSources {
  env: Readonly<Record<string, string | undefined>>;
  /** Relative `fromFile` paths are resolved against this directory (the config file's). */
  baseDir: string;
  /** Default `fs.readFile`. */
  readFile?: (path: string) => Promise<string>;
}

function asReference(value: unknown): { fromFile: string } | { fromEnv: string } | undefined {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return undefined;
  const keys = Object.keys(value);
  if (keys.length !== 1) return undefined;
  const record = value as Record<string, unknown>;
  if (typeof record.fromFile === "string") return { fromFile: record.fromFile };
  if (typeof record.fromEnv === "string") return { fromEnv: record.fromEnv };
  return undefined;
}

/**
 * A copy of `value` with every secret reference replaced by its value (added to `secrets`). Fails
 * with a {@link ConfigFileError} naming each reference that cannot be resolved, never with the value.
 */
export async function resolveSecretReferences(
  value: unknown,
  path: string,
  sources: SecretSources,
  secrets: SecretValues,
): Promise<unknown> {
  const issues: ConfigIssue[] = [];
  const read = sources.readFile ?? ((file: string) => readFile(file, "utf8"));

  async function walk(item: unknown, at: string): Promise<unknown> {
    const ref = asReference(item);
    if (ref && "fromEnv" in ref) {
      const found = sources.env[ref.fromEnv];
      if (found === undefined || found === "") {
        issues.push({ path: at, problem: `environment variable ${ref.fromEnv} is not set` });
        return undefined;
      }
      secrets.add(found);
      return found;
    }
    if (ref && "fromFile" in ref) {
      const file = isAbsolute(ref.fromFile) ? ref.fromFile : resolve(sources.baseDir, ref.fromFile);
      try {
        // A mounted Secret's file often ends with a newline that is not part of the value.
        const contents = (await read(file)).replace(/\r?\n$/, "");
        secrets.add(contents);
        return contents;
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code ?? "unreadable";
        issues.push({ path: at, problem: `cannot read secret file ${file} (${code})` });
        return undefined;
      }
    }
    if (Array.isArray(item)) return Promise.all(item.map((v, i) => walk(v, `${at}[${String(i)}]`)));
    if (typeof item === "object" && item !== null) {
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(item)) out[k] = await walk(v, at === "" ? k : `${at}.${k}`);
      return out;
    }
    return item;
  }

  const resolved = await walk(value, path);
  if (issues.length > 0) throw new ConfigFileError(undefined, issues);
  return resolved;
}
