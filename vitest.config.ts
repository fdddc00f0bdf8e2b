import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    projects: [
      "packages/*/vitest.config.ts",
      "bench/vitest.config.ts",
      "examples/*/vitest.config.ts",
      "faults/vitest.config.ts",
    ],
    globalSetup: ["./packages/testing/src/vitest-global-setup.ts"],
  },
});
