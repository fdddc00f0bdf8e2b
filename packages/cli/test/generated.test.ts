/**
 * The published schema file and docs/agent-config.md are generated from src/schema.ts; this test
 * keeps them in step (VIRTUAL_NODE_UPDATE_GENERATED=1 rewrites them instead of failing).
 */
import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { renderConfigReference } from "../src/config-reference.js";
import { agentConfigSchema } from "../src/schema.js";

const schemaFile = fileURLToPath(new URL("../schema/agent-config.schema.json", import.meta.url));
const referenceFile = fileURLToPath(new URL("../../../docs/agent-config.md", import.meta.url));
const update = process.env.VIRTUAL_NODE_UPDATE_GENERATED === "1";

function check(file: string, expected: string): void {
  if (update) writeFileSync(file, expected);
  expect(readFileSync(file, "utf8"), `${file} is stale`).toBe(expected);
}

describe("generated files", () => {
  it("schema/agent-config.schema.json is the schema the validator uses", () => {
    check(schemaFile, `${JSON.stringify(agentConfigSchema, null, 2)}\n`);
  });

  it("docs/agent-config.md is rendered from the schema", () => {
    const reference = renderConfigReference();
    check(referenceFile, reference);
    // Every top-level property and every built-in provider has its place in the reference.
    for (const key of Object.keys(agentConfigSchema.properties))
      expect(reference).toContain(`| \`${key}\` |`);
    for (const name of ["mock", "aci", "fargate", "cloudrun", "interlink"])
      expect(reference).toContain(`## provider ${name}`);
  });
});
