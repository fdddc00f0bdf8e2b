import { FakeClock } from "@virtual-node/core";
import { describeProviderConformance } from "@virtual-node/testing/conformance";
import { afterAll, expect } from "vitest";
import { createInterLinkProvider } from "../src/index.js";
import type { InterLinkProvider } from "../src/index.js";
import { startInterLinkSimulator } from "./simulator/simulator.js";
import type { InterLinkSimulator } from "./simulator/simulator.js";

let simulator: InterLinkSimulator | undefined;
const providers: InterLinkProvider[] = [];

describeProviderConformance("interlink against the interLink API simulator", async () => {
  const clock = new FakeClock(Date.UTC(2026, 11, 1, 12));
  const sim = await startInterLinkSimulator({ clock, timing: { queueMs: 1_000 } });
  simulator = sim;
  const make = (): InterLinkProvider => {
    const p = createInterLinkProvider({ url: sim.url, nodeName: "vn-conformance", clock });
    providers.push(p);
    return p;
  };
  return {
    provider: make(),
    nodeName: "vn-conformance",
    advance: (ms) => clock.advanceAsync(ms),
    reconnect: () => Promise.resolve(make()),
    cleanup: async () => {
      for (const p of providers) await p.close();
      await sim.close();
    },
  };
});

afterAll(() => {
  // Every request the provider sent matched interLink's published schema, and no job was submitted twice.
  expect(simulator?.violations).toEqual([]);
});
