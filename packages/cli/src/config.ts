/**
 * Reading an agent config: YAML (a superset of JSON, so JSON files parse too) through `yaml`, then
 * validation against {@link agentConfigSchema} with Ajv. Each problem is reported with the path in
 * the file (`nodes[0].provider.options.region`), its line, what is wrong and the allowed values.
 */
import { readFile } from "node:fs/promises";
import { Ajv2020, type ErrorObject } from "ajv/dist/2020.js";
import { InvalidInputError } from "@virtual-node/core";
import { LineCounter, parseDocument, isNode } from "yaml";
import { agentConfigSchema } from "./schema.js";
import type { AgentConfig } from "./types.js";

/** One thing wrong with a config file. */
export interface ConfigIssue {
  /** Where, as `a.b[0].c` (empty for the document itself). */
  path: string;
  /** What is wrong, e.g. `is required`, `unknown property`, `must be integer`. */
  problem: string;
  /** The values that would be accepted, when the schema enumerates them. */
  allowed?: readonly unknown[];
  /** 1-based line in the file, when known. */
  line?: number;
}

/** A config file that cannot be used: unreadable, not YAML/JSON, or not valid against the schema. */
export class ConfigFileError extends InvalidInputError {
  /** Every problem found (validation does not stop at the first). */
  readonly issues: readonly ConfigIssue[];
  /** The file, when the config came from one. */
  readonly file: string | undefined;

  constructor(file: string | undefined, issues: readonly ConfigIssue[]) {
    super(`${file ?? "config"} is not a valid agent config:\n${issues.map(formatIssue).join("\n")}`, {
      field: issues[0]?.path ?? "",
    });
    this.name = "ConfigFileError";
    this.issues = issues;
    this.file = file;
  }
}

/** One line of a {@link ConfigFileError} message: `  nodes[0].name (line 4): is required`. */
export function formatIssue(issue: ConfigIssue): string {
  const where = `${issue.path === "" ? "(document)" : issue.path}${issue.line === undefined ? "" : ` (line ${String(issue.line)})`}`;
  const allowed =
    issue.allowed === undefined ? "" : `; allowed: ${issue.allowed.map((v) => JSON.stringify(v)).join(", ")}`;
  return `  ${where}: ${issue.problem}${allowed}`;
}

// Compiled once: strict mode catches schema mistakes at start-up, allErrors reports every problem.
const ajv = new Ajv2020({
  allErrors: true,
  strict: true,
  strictTypes: false,
  strictRequired: false,
  verbose: true,
});
const validateSchema = ajv.compile<AgentConfig>(agentConfigSchema);

/** Validates an already-parsed config object; throws {@link ConfigFileError} listing every problem. */
export function validateAgentConfig(
  value: unknown,
  file?: string,
  lineOf?: (path: PathSegment[]) => number | undefined,
): AgentConfig {
  if (validateSchema(value)) return value;
  const issues = toIssues(validateSchema.errors ?? [], lineOf);
  throw new ConfigFileError(file, issues);
}

/** Parses YAML or JSON text and validates it. */
export function parseAgentConfig(text: string, file?: string): AgentConfig {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new ConfigFileError(
      file,
      doc.errors.map((e) => ({
        path: "",
        problem: `not valid YAML/JSON: ${e.message.split("\n")[0] ?? e.code}`,
        line: lineCounter.linePos(e.pos[0]).line,
      })),
    );
  }
  const lineOf = (path: PathSegment[]): number | undefined => {
    for (let n = path.length; n >= 0; n--) {
      const node: unknown = n === 0 ? doc.contents : doc.getIn(path.slice(0, n), true);
      if (isNode(node) && node.range) return lineCounter.linePos(node.range[0]).line;
    }
    return undefined;
  };
  return validateAgentConfig(doc.toJS(), file, lineOf);
}

/** Reads, parses and validates a config file. */
export async function loadAgentConfig(file: string): Promise<AgentConfig> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code ?? String(error);
    throw new ConfigFileError(file, [{ path: "", problem: `cannot read the file (${reason})` }]);
  }
  return parseAgentConfig(text, file);
}

type PathSegment = string | number;

function pointerToSegments(pointer: string): PathSegment[] {
  if (pointer === "") return [];
  return pointer
    .slice(1)
    .split("/")
    .map((s) => s.replace(/~1/g, "/").replace(/~0/g, "~"))
    .map((s) => (/^\d+$/.test(s) ? Number(s) : s));
}

function segmentsToPath(segments: readonly PathSegment[]): string {
  let out = "";
  for (const s of segments) {
    if (typeof s === "number") out += `[${String(s)}]`;
    else if (/^[A-Za-z_$][\w$-]*$/.test(s)) out += out === "" ? s : `.${s}`;
    else out += `[${JSON.stringify(s)}]`;
  }
  return out;
}

function toIssues(
  errors: readonly ErrorObject[],
  lineOf?: (path: PathSegment[]) => number | undefined,
): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const seen = new Set<string>();
  for (const error of errors) {
    // "must match then/else schema" only repeats the errors of the branch, which are listed too.
    if (error.keyword === "if") continue;
    const segments = pointerToSegments(error.instancePath);
    let problem = error.message ?? error.keyword;
    let allowed: readonly unknown[] | undefined;
    switch (error.keyword) {
      case "required":
        segments.push((error.params as { missingProperty: string }).missingProperty);
        problem = "is required";
        break;
      case "additionalProperties": {
        segments.push((error.params as { additionalProperty: string }).additionalProperty);
        problem = "unknown property";
        const known = (error.parentSchema as { properties?: Record<string, unknown> } | undefined)
          ?.properties;
        if (known) allowed = Object.keys(known);
        break;
      }
      case "enum":
        problem = "is not one of the allowed values";
        allowed = (error.params as { allowedValues: unknown[] }).allowedValues;
        break;
      case "const":
        problem = "has the wrong value";
        allowed = [(error.params as { allowedValue: unknown }).allowedValue];
        break;
      case "minProperties":
      case "maxProperties":
        if (isSecretRefSchema(error.parentSchema)) {
          problem = "a secret reference has exactly one of fromFile, fromEnv";
          allowed = ["fromFile", "fromEnv"];
        }
        break;
    }
    const path = segmentsToPath(segments);
    const key = `${path}\u0000${problem}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const line = lineOf?.(segments);
    issues.push({
      path,
      problem,
      ...(allowed === undefined ? {} : { allowed }),
      ...(line === undefined ? {} : { line }),
    });
  }
  return issues;
}

function isSecretRefSchema(schema: unknown): boolean {
  const properties = (schema as { properties?: Record<string, unknown> } | undefined)?.properties;
  return properties !== undefined && "fromFile" in properties && "fromEnv" in properties;
}
