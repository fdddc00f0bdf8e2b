import { defineProject } from "vitest/config";
import { workspaceAliases } from "../../vitest.aliases.js";

export const config = defineProject({
  resolve: { alias: workspaceAliases },
  test: {
    name: "cli",
    include: ["test/**/*.test.ts"],
    // The integration tests run agent processes on a shared, often saturated machine.
    testTimeout: 600_000,
    hookTimeout: 300_000,
  },
});

export default config;
