import { defineConfig } from "vitest/config";
import { workspaceAliases } from "../../vitest.aliases.js";

// `npm run test:keda`: outside `npm test`, because a cold KEDA build (test/keda-build.ts) takes tens of
// minutes on 2 cores. Later runs use the cached build and take a few minutes.
export default defineConfig({
  resolve: { alias: workspaceAliases },
  test: {
    name: "keda",
    root: import.meta.dirname,
    include: ["test/keda*.int.test.ts"],
    globalSetup: [],
    testTimeout: 600_000,
    hookTimeout: 90 * 60_000,
  },
});
