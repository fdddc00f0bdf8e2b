/**
 * docs/agent-config.md, rendered from {@link agentConfigSchema}: one table per object, nested
 * objects in their own section, built-in providers' options one section each. A test compares the
 * checked-in file with this output, so the reference cannot drift from the validator.
 */
import { agentConfigSchema, BUILT_IN_PROVIDERS } from "./schema.js";

type Schema = Readonly<Record<string, unknown>>;

interface Section {
  title: string;
  schema: Schema;
}

function typeOf(schema: Schema): string {
  if (schema.const !== undefined) return `\`${JSON.stringify(schema.const)}\``;
  if (Array.isArray(schema.enum))
    return (schema.enum as unknown[]).map((v) => `\`${JSON.stringify(v)}\``).join(" | ");
  if (
    schema.if !== undefined &&
    (schema.then as Schema | undefined)?.properties !== undefined &&
    (schema.else as Schema | undefined)?.type === "string"
  ) {
    return "secret (string | `{fromFile}` | `{fromEnv}`)";
  }
  const type = schema.type as string | undefined;
  if (type === "array") {
    const items = (schema.items ?? {}) as Schema;
    return `${items.properties ? "object" : typeOf(items)}[]`;
  }
  if (
    type === "object" &&
    schema.properties === undefined &&
    typeof schema.additionalProperties === "object"
  ) {
    return `map of ${typeOf(schema.additionalProperties as Schema)}`;
  }
  const bounds: string[] = [];
  if (typeof schema.minimum === "number") bounds.push(`≥ ${String(schema.minimum)}`);
  if (typeof schema.exclusiveMinimum === "number") bounds.push(`> ${String(schema.exclusiveMinimum)}`);
  if (typeof schema.maximum === "number") bounds.push(`≤ ${String(schema.maximum)}`);
  return `${type ?? "any"}${bounds.length > 0 ? ` (${bounds.join(", ")})` : ""}`;
}

function cell(text: string): string {
  return text.replace(/\|/g, "\\|").replace(/\n/g, " ");
}

function anchor(title: string): string {
  return title
    .toLowerCase()
    .replace(/[^a-z0-9 -]/g, "")
    .replace(/ /g, "-");
}

function renderSection(section: Section, queue: Section[]): string {
  const properties = (section.schema.properties ?? {}) as Record<string, Schema>;
  const required = new Set((section.schema.required ?? []) as string[]);
  const lines = [`## ${section.title}`, ""];
  if (typeof section.schema.description === "string" && section.title !== "Top level") {
    lines.push(section.schema.description, "");
  }
  lines.push("| Field | Type | Required | Description |", "|---|---|---|---|");
  for (const [name, property] of Object.entries(properties)) {
    let type = typeOf(property);
    const nestedItems = property.type === "array" ? (property.items as Schema | undefined) : undefined;
    const nested =
      property.properties !== undefined
        ? property
        : nestedItems?.properties !== undefined
          ? nestedItems
          : undefined;
    if (nested && !(section.title === "nodes[]" && name === "provider")) {
      const parent = section.title === "Top level" ? "" : `${section.title}.`;
      const title = `${parent}${name}${nestedItems ? "[]" : ""}`;
      queue.push({ title, schema: nested });
      type = `[${type}](#${anchor(title)})`;
    }
    if (section.title === "nodes[]" && name === "provider") type = "[provider](#provider)";
    const description = typeof property.description === "string" ? property.description : "";
    lines.push(`| \`${name}\` | ${cell(type)} | ${required.has(name) ? "yes" : ""} | ${cell(description)} |`);
  }
  lines.push("");
  return lines.join("\n");
}

/** The Markdown of docs/agent-config.md. */
export function renderConfigReference(): string {
  const out: string[] = [
    "<!-- Generated from packages/cli/src/schema.ts by renderConfigReference(); do not edit. A test fails when it is stale: regenerate with VIRTUAL_NODE_UPDATE_GENERATED=1 npx vitest run --project cli generated -->",
    "",
    "# Agent config reference",
    "",
    `${agentConfigSchema.description} JSON Schema: [\`packages/cli/schema/agent-config.schema.json\`](../packages/cli/schema/agent-config.schema.json) (\`$id\` \`${agentConfigSchema.$id}\`); \`virtual-node schema\` prints it and \`virtual-node validate-config\` checks a file against it. Quick start: [agent.md](agent.md).`,
    "",
  ];
  const queue: Section[] = [{ title: "Top level", schema: agentConfigSchema }];
  const render = (): void => {
    for (let section = queue.shift(); section; section = queue.shift()) {
      out.push(renderSection(section, queue));
    }
  };
  render();
  out.push(
    "## provider",
    "",
    "Either a built-in provider, `{ name, options }`, or your own, `{ module, export, options }`. Any string inside `options` may also be a secret reference (`{ fromFile: path }` or `{ fromEnv: NAME }`), resolved at start and redacted from the logs.",
    "",
    "| Field | Type | Required | Description |",
    "|---|---|---|---|",
    `| \`name\` | ${Object.keys(BUILT_IN_PROVIDERS)
      .map((n) => `[\`"${n}"\`](#provider-${n})`)
      .join(" \\| ")} | yes (built-in) | Which built-in provider. |`,
    "| `module` | string | yes (module) | Module path (relative to the config file) or package name. |",
    "| `export` | string |  | Named export of the factory `(options, { nodeName, registry, logger }) => Provider`. Default `createProvider`, then `default`. |",
    "| `options` | object |  | The provider's options. |",
    "",
  );
  for (const [name, schema] of Object.entries(BUILT_IN_PROVIDERS)) {
    queue.push({ title: `provider ${name}`, schema });
    render();
  }
  return `${out.join("\n").trimEnd()}\n`;
}
