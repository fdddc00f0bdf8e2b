import { FakeClock } from "@virtual-node/core";
import { describeProviderConformance } from "@virtual-node/testing/conformance";
import { describe, expect, it } from "vitest";
import type { FargateProvider } from "../src/index.js";
import { startAwsSimulator } from "./simulator/server.js";
import type { AwsSimulator } from "./simulator/server.js";
import { simulatorProvider } from "./support/provider.js";

const sims: AwsSimulator[] = [];

describeProviderConformance("provider-fargate on the ECS simulator, fake clock", async () => {
  const clock = new FakeClock();
  const sim = await startAwsSimulator({ clock });
  sims.push(sim);
  const providers: FargateProvider[] = [];
  const make = (): FargateProvider => {
    const p = simulatorProvider(sim, clock);
    providers.push(p);
    return p;
  };
  return {
    provider: make(),
    nodeName: "vn-conformance",
    advance: (ms: number) => clock.advanceAsync(ms),
    reconnect: () => Promise.resolve(make()),
    timeouts: { statusMs: 60_000, pollMs: 500 },
    cleanup: async () => {
      for (const p of providers) p.close();
      await sim.close();
    },
  };
});

describe("conformance run on the simulator", () => {
  it("sent only requests that match the ECS / Logs / Secrets Manager schemas", () => {
    for (const sim of sims) expect(sim.violations).toEqual([]);
    expect(sims.length).toBeGreaterThan(0);
  });
});
