import { defineConfig } from "vitest/config";
import { workspaceAliases } from "../../vitest.aliases.js";

// The bursting and HPA tests run in `npm test`; the KEDA test has its own config (vitest.keda.config.ts,
// `npm run test:keda`) because it builds KEDA from the Go module proxy.
export default defineConfig({
  resolve: { alias: workspaceAliases },
  test: {
    name: "cloud-bursting",
    include: ["test/bursting*.int.test.ts", "test/hpa*.int.test.ts"],
    testTimeout: 180_000,
    hookTimeout: 180_000,
  },
});
