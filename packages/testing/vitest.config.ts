import { fileURLToPath } from "node:url";

import { defineConfig } from "vitest/config";

const packageSource = (name: string): string =>
  fileURLToPath(new URL(`../${name}/src/index.ts`, import.meta.url));

export default defineConfig({
  resolve: {
    alias: {
      "@virtual-node/core/provider-kit": fileURLToPath(
        new URL("../core/src/provider-kit/index.ts", import.meta.url),
      ),
      "@virtual-node/core": packageSource("core"),
      "@virtual-node/provider-mock": packageSource("provider-mock"),
      "@virtual-node/testing": packageSource("testing"),
    },
  },
  test: {
    name: "testing",
    include: ["test/**/*.test.ts"],
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
