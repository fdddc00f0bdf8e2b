/**
 * promtool (Prometheus' own rule checker and rule unit-test runner), built from the Go module
 * proxy at a pinned version and cached like the other Go tools (`ensureGoTool`).
 */
import { ensureGoTool, type EnsuredGoTool } from "@virtual-node/testing";

/** Prometheus v3's Go module version scheme: `v0.<minor*100+patch>.x` (v0.316.0 = v3.16). */
export const PROMTOOL = {
  name: "promtool",
  module: "github.com/prometheus/prometheus",
  version: "v0.316.0",
  packagePath: "github.com/prometheus/prometheus/cmd/promtool",
} as const;

/**
 * The path of promtool: `VIRTUAL_NODE_PROMTOOL`, else the cached build, built on first use. `remove_all_sd` (Prometheus' build tag) leaves out the
 * service-discovery plugins — the cloud SDKs and client-go — which the rule and exposition checks
 * never use and which are most of the build time.
 */
export async function ensurePromtool(): Promise<string> {
  // A promtool you already have (e.g. a Prometheus release's) instead of the cached build.
  const given = process.env.VIRTUAL_NODE_PROMTOOL;
  if (given !== undefined && given !== "") return given;
  const goflags = [process.env.GOFLAGS, "-tags=remove_all_sd"].filter((f) => f !== undefined && f !== "");
  const tool: EnsuredGoTool = await ensureGoTool(PROMTOOL, {
    env: { ...process.env, GOFLAGS: goflags.join(" ") },
  });
  return tool.path;
}
