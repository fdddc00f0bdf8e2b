/**
 * A connection attempt into a black hole. The agent's open connections are blackholed and new ones held
 * until the agent has dialled again (it found the old one dead); that one attempt is then blackholed for
 * good — accepted by the proxy, TLS handshake never answered, never closed, as by a load balancer that
 * dropped the flow — while every later connection works. A client needs a handshake timeout to get out
 * (client-go: 10 s TLSHandshakeTimeout). Measured: the time until a pod created at the stall runs (goal
 * < 60 s, waited up to 150 s so the figure is measured either way).
 */
import { useControlPlane } from "@virtual-node/testing";
import { describe, expect, inject, it } from "vitest";

import { expectRecovered, openScenario } from "../scenario.js";
import { waitFor, writeResult } from "../support.js";

describe("fault: the agent's reconnection lands in a black hole (TLS handshake never answered)", () => {
  it("gives up on the hung handshake and reconnects: pods created meanwhile run", async () => {
    const cp = await useControlPlane(inject("controlPlane"));
    await using s = await openScenario(cp, "handshake-stall");
    await s.startAgent("agent");
    await s.deployApp(3, 90_000);

    const acceptedBefore = s.apiProxy.stats().accepted;
    const blackholedOpen = s.cutApiServer();
    const stalledAt = Date.now();
    await s.scaleApp(6);
    // The agent notices the dead connection (HTTP/2 ping timeout) and dials again: hold that attempt…
    const redialMs = await waitFor(
      "the agent dialling a new connection",
      () => (s.apiProxy.stats().accepted > acceptedBefore ? Date.now() - stalledAt : undefined),
      120_000,
      100,
    );
    // …and blackhole it for good; every later connection works.
    const blackholedDial = s.apiProxy.blackholeConnections();
    s.restoreApiServer();
    const dialBlackholedAt = Date.now();

    const recovery = await s.awaitRecovery(6, 150_000);
    const recoveryMs = recovery.at === undefined ? undefined : recovery.at - stalledAt;
    const scan = await s.scan();
    await writeResult("handshake-stall", {
      figures: {
        recoveryMs: recoveryMs ?? "not recovered within 150 s of the stall",
        goalMs: 60_000,
        redialAfterMs: redialMs,
      },
      afterDialBlackholedMs: recovery.at === undefined ? undefined : recovery.at - dialBlackholedAt,
      blackholedConnections: { open: blackholedOpen, dial: blackholedDial },
      connectionsAccepted: s.apiProxy.stats().accepted - acceptedBefore,
      convergence: recovery.converged ?? String(recovery.failure),
      secretScan: scan,
    });
    expect(scan.found).toEqual([]);
    expectRecovered(recovery);
    expect(recoveryMs).toBeLessThan(60_000);
  });
});
