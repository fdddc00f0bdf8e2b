import { defineConfig } from "tsup";

export default defineConfig({
  entry: { index: "src/index.ts", "provider-kit/index": "src/provider-kit/index.ts" },
  format: ["esm"],
  dts: true,
  sourcemap: true,
  clean: true,
  target: "node22",
});
