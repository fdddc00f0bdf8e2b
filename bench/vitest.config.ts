import { defineProject } from "vitest/config";
import { workspaceAliases } from "../vitest.aliases.js";

export const config = defineProject({
  resolve: { alias: workspaceAliases },
  test: {
    name: "bench",
    include: ["test/**/*.test.ts"],
    // The first build of virtual-kubelet and KWOK from the Go module proxy takes minutes on 2 cores.
    testTimeout: 1_200_000,
    hookTimeout: 1_200_000,
  },
});

export default config;
