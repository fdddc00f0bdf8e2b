import { FakeClock } from "@virtual-node/core";
import { describeProviderConformance } from "@virtual-node/testing/conformance";
import { expect } from "vitest";
import type { AciProvider } from "../src/index.js";
import { providerOn } from "./harness.js";
import { AciSimulator } from "./simulator/simulator.js";

describeProviderConformance("provider-aci against the ARM simulator, fake clock", async () => {
  const clock = new FakeClock();
  // Synchronous deletes (ARM's 200 answer) so the suite's awaited deletes need no virtual time.
  const sim = new AciSimulator({ clock, timing: { pullMs: 2_000, deleteMs: 0 } });
  await sim.start();
  const providers: AciProvider[] = [];
  const connect = () => {
    const p = providerOn(sim, clock, { detailRefreshMs: { always: 10_000, job: 5_000 } });
    providers.push(p);
    return p;
  };
  return {
    provider: connect(),
    nodeName: "vn-conformance",
    advance: (ms: number) => clock.advanceAsync(ms),
    reconnect: () => Promise.resolve(connect()),
    timeouts: { statusMs: 60_000, pollMs: 500 },
    cleanup: async () => {
      for (const p of providers) p.close();
      expect(sim.violations).toEqual([]);
      await sim.close();
    },
  };
});
