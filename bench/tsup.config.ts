import { defineConfig } from "tsup";

export default defineConfig({
  entry: [
    "src/cli.ts",
    "src/children/vn-agent.ts",
    "src/children/raw-writer.ts",
    "src/children/load.ts",
    "src/children/cloud-agent.ts",
    "src/children/cloud-sim.ts",
  ],
  format: ["esm"],
  dts: false,
  sourcemap: true,
  clean: true,
  target: "node22",
  // Workspace packages are resolved at run time from node_modules (their dist), like any consumer.
  external: [/^@virtual-node\//, /^@kubernetes\//],
});
