import { defineConfig } from "tsup";

export default defineConfig({
  entry: {
    index: "src/index.ts",
    "provider-kit": "src/exports/provider-kit.ts",
    status: "src/exports/status.ts",
    config: "src/exports/config.ts",
    "kubelet-api": "src/exports/kubelet-api.ts",
    "building-blocks": "src/exports/building-blocks.ts",
    kube: "src/exports/kube.ts",
  },
  format: ["esm"],
  dts: true,
  sourcemap: true,
  clean: true,
  target: "node22",
});
