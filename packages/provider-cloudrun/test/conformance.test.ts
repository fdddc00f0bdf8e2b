import { FakeClock } from "@virtual-node/core";
import { describeProviderConformance } from "@virtual-node/testing/conformance";
import { expect } from "vitest";
import type { CloudRunProvider } from "../src/provider.js";
import { startSimulator } from "./simulator/server.js";
import { grpcProviderOptions, startGrpcSimulator } from "./support/grpc.js";
import { simulatorProvider } from "./support/provider.js";

describeProviderConformance("provider-cloudrun on the Cloud Run simulator, fake clock", async () => {
  const clock = new FakeClock();
  const server = await startSimulator({ clock, timings: { operationMs: 0, startMs: 1000, readyMs: 1500 } });
  const providers: CloudRunProvider[] = [];
  const connect = (): CloudRunProvider => {
    const provider = simulatorProvider(server.port, clock);
    providers.push(provider);
    return provider;
  };
  return {
    provider: connect(),
    nodeName: "vn-conformance",
    advance: (ms: number) => clock.advanceAsync(ms),
    reconnect: () => Promise.resolve(connect()),
    timeouts: { statusMs: 60_000, pollMs: 250 },
    cleanup: async () => {
      // Every request the provider sent matched the discovery document / client descriptors.
      expect(server.sim.violations).toEqual([]);
      // The conformance Secret value travelled only to Secret Manager, never to the Run API.
      for (const request of server.sim.requests) {
        if (request.operation.startsWith("secretmanager.")) continue;
        expect(request.rawBody).not.toContain("conformance-secret");
        expect(request.rawBody).not.toContain(Buffer.from("conformance-secret").toString("base64"));
      }
      for (const provider of providers) await provider.close();
      await server.close();
    },
  };
});

describeProviderConformance(
  "provider-cloudrun over gRPC (transport grpc) on the simulator's gRPC face",
  async () => {
    const clock = new FakeClock();
    const sim = await startGrpcSimulator({
      clock,
      timings: { operationMs: 0, startMs: 1000, readyMs: 1500 },
    });
    const providers: CloudRunProvider[] = [];
    const connect = (): CloudRunProvider => {
      const provider = simulatorProvider(sim.server.port, clock, grpcProviderOptions(sim.face.port, clock));
      providers.push(provider);
      return provider;
    };
    return {
      provider: connect(),
      nodeName: "vn-conformance-grpc",
      advance: (ms: number) => clock.advanceAsync(ms),
      reconnect: () => Promise.resolve(connect()),
      timeouts: { statusMs: 60_000, pollMs: 250 },
      cleanup: async () => {
        expect(sim.server.sim.violations).toEqual([]);
        // Everything went over gRPC: the HTTP face saw nothing of its own.
        expect(sim.face.calls.length).toBe(sim.server.sim.requests.length);
        for (const request of sim.server.sim.requests) {
          if (request.operation.startsWith("secretmanager.")) continue;
          expect(request.rawBody).not.toContain("conformance-secret");
          expect(request.rawBody).not.toContain(Buffer.from("conformance-secret").toString("base64"));
        }
        for (const provider of providers) await provider.close();
        await sim.close();
      },
    };
  },
);
