import { FakeClock } from "@virtual-node/core";
import type { ResolvedPod } from "@virtual-node/core";
import {
  MockAnnotations,
  MockCloud,
  connectMockCloud,
  createMockProvider,
  startMockCloudServer,
} from "@virtual-node/provider-mock";
import type { MockCloudClient } from "@virtual-node/provider-mock";
import { describeProviderConformance, makeResolvedPod } from "../src/conformance.js";
import type { ResolvedPodOverrides } from "../src/conformance.js";

/** The mock cannot run commands, so it expresses the behaviours with its annotations. */
function mockPod(runFor: string): (overrides: ResolvedPodOverrides) => ResolvedPod {
  return (overrides) => {
    const behaviour: Record<string, string> =
      overrides.behaviour === "succeed"
        ? { [MockAnnotations.runDuration]: runFor, [MockAnnotations.exitCode]: "0" }
        : overrides.behaviour === "fail"
          ? { [MockAnnotations.runDuration]: runFor, [MockAnnotations.exitCode]: "1" }
          : {};
    return makeResolvedPod({ ...overrides, annotations: { ...overrides.annotations, ...behaviour } });
  };
}

describeProviderConformance("provider-mock in-process, fake clock", () => {
  const clock = new FakeClock();
  const cloud = new MockCloud({ clock, defaults: { startDelayMs: 1500, readyDelayMs: 500 } });
  return Promise.resolve({
    provider: createMockProvider({ cloud }),
    nodeName: "vn-conformance",
    advance: (ms: number) => clock.advanceAsync(ms),
    makePod: mockPod("10s"),
    reconnect: () => Promise.resolve(createMockProvider({ cloud })),
    timeouts: { statusMs: 60_000, pollMs: 250 },
    cleanup: () => {
      cloud.dispose();
      return Promise.resolve();
    },
  });
});

describeProviderConformance("provider-mock over HTTP, real time", async () => {
  const server = await startMockCloudServer({ cloud: new MockCloud({ defaults: { startDelayMs: 20 } }) });
  const clients: MockCloudClient[] = [];
  const connect = () => {
    const client = connectMockCloud(server.url);
    clients.push(client);
    return createMockProvider({ cloud: client });
  };
  return {
    provider: connect(),
    nodeName: "vn-conformance-http",
    makePod: mockPod("100ms"),
    reconnect: () => Promise.resolve(connect()),
    timeouts: { statusMs: 10_000, pollMs: 20 },
    cleanup: async () => {
      for (const client of clients) client.close();
      await server.close();
      server.cloud.dispose();
    },
  };
});
