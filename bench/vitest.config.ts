import { fileURLToPath } from "node:url";
import { defineProject } from "vitest/config";

const src = (pkg: string) => fileURLToPath(new URL(`../packages/${pkg}/src/index.ts`, import.meta.url));

export const config = defineProject({
  resolve: {
    alias: {
      "@virtual-node/core/provider-kit": fileURLToPath(
        new URL("../packages/core/src/provider-kit/index.ts", import.meta.url),
      ),
      "@virtual-node/core": src("core"),
      "@virtual-node/provider-mock": src("provider-mock"),
      "@virtual-node/testing": src("testing"),
    },
  },
  test: {
    name: "bench",
    include: ["test/**/*.test.ts"],
    // The first build of virtual-kubelet and KWOK from the Go module proxy takes minutes on 2 cores.
    testTimeout: 1_200_000,
    hookTimeout: 1_200_000,
  },
});

export default config;
