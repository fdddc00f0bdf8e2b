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
 * The cached promtool, built on first use. `remove_all_sd` (Prometheus' build tag) leaves out the
 * service-discovery plugins — the cloud SDKs and client-go — which the rule and exposition checks
 * never use and which are most of the build time.
 */
export function ensurePromtool(): Promise<EnsuredGoTool> {
  const goflags = [process.env.GOFLAGS, "-tags=remove_all_sd"].filter((f) => f !== undefined && f !== "");
  return ensureGoTool(PROMTOOL, { env: { ...process.env, GOFLAGS: goflags.join(" ") } });
}
