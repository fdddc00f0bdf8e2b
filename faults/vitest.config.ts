import { defineConfig } from "vitest/config";
import { workspaceAliases } from "../vitest.aliases.js";

/**
 * The fault suite. `npm test` runs the cheap scenarios (quick/); `npm run test:faults` (FAULTS_FULL=1)
 * adds the full-size ones (full/). Files run one at a time: they kill and restart processes on 2 cores.
 */
export default defineConfig({
  resolve: { alias: workspaceAliases },
  test: {
    name: "faults",
    root: import.meta.dirname,
    include:
      process.env.FAULTS_FULL === "1" ? ["quick/**/*.test.ts", "full/**/*.test.ts"] : ["quick/**/*.test.ts"],
    fileParallelism: false,
    testTimeout: 600_000,
    hookTimeout: 300_000,
  },
});
