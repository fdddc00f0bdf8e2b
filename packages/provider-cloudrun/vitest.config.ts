import { fileURLToPath } from "node:url";
import { defineProject } from "vitest/config";

const src = (pkg: string) => fileURLToPath(new URL(`../${pkg}/src/index.ts`, import.meta.url));

export const config = defineProject({
  resolve: {
    alias: {
      "@virtual-node/core/provider-kit": fileURLToPath(
        new URL("../core/src/provider-kit/index.ts", import.meta.url),
      ),
      "@virtual-node/core": src("core"),
      "@virtual-node/provider-mock": src("provider-mock"),
      "@virtual-node/testing/conformance": fileURLToPath(
        new URL("../testing/src/conformance.ts", import.meta.url),
      ),
      "@virtual-node/testing": src("testing"),
    },
  },
  test: {
    name: "provider-cloudrun",
    include: ["test/**/*.test.ts"],
    testTimeout: 120_000,
    hookTimeout: 180_000,
  },
});

export default config;
