import { defineProject } from "vitest/config";
import { workspaceAliases } from "../../vitest.aliases.js";

export const config = defineProject({
  resolve: { alias: workspaceAliases },
  test: {
    name: "cli",
    include: ["test/**/*.test.ts"],
    testTimeout: 120_000,
    hookTimeout: 180_000,
  },
});

export default config;
