/**
 * NodeLease without a cluster: the in-memory API of fake-node-api.ts and a fake clock. The real
 * lease against the real node lifecycle controller is in node.int.test.ts.
 */
import { afterEach, describe, expect, it } from "vitest";
import { FakeClock } from "../src/clock.js";
import { NODE_LEASE_NAMESPACE, paths } from "../src/kube/api.js";
import type { Lease } from "../src/kube/types.js";
import { NodeLease } from "../src/lease.js";
import { noopLogger } from "../src/logger.js";
import { FakeNodeApi } from "./fake-node-api.js";

const NODE = "vn-lease";
const LEASE_PATH = paths.lease(NODE_LEASE_NAMESPACE, NODE);

const stops: (() => Promise<void>)[] = [];
afterEach(async () => {
  await Promise.all(stops.splice(0).map((stop) => stop()));
});

function start(nodeUid: () => string | undefined = () => "node-uid-1") {
  const clock = new FakeClock();
  const api = new FakeNodeApi(clock);
  const lease = new NodeLease({
    client: api,
    nodeName: NODE,
    durationSeconds: 40,
    renewIntervalMs: 10_000,
    logger: noopLogger,
    nodeUid,
    clock,
  });
  const abort = new AbortController();
  const loop = lease.run(abort.signal);
  stops.push(async () => {
    abort.abort();
    await loop;
  });
  return { clock, api, lease };
}

const stored = (api: FakeNodeApi): Lease => api.objects.get(LEASE_PATH) as Lease;
const renewTimes = (api: FakeNodeApi): number[] =>
  api.calls.filter((c) => c.verb === "replace" || c.verb === "create").map((c) => c.at);

describe("NodeLease", () => {
  it("creates the lease with the Node as owner, a 40 s duration and a six-digit MicroTime", async () => {
    const { clock, api, lease } = start();
    await clock.advanceAsync(0);
    const created = stored(api);
    expect(created.spec).toMatchObject({ holderIdentity: NODE, leaseDurationSeconds: 40 });
    expect(String(created.spec?.renewTime)).toBe("2024-01-01T00:00:00.000000Z");
    expect(created.metadata?.ownerReferences).toEqual([
      { apiVersion: "v1", kind: "Node", name: NODE, uid: "node-uid-1" },
    ]);
    expect(lease.lastRenewed).toBe(clock.now());
  });

  it("renews every 10 s with the time of its clock", async () => {
    const { clock, api } = start();
    await clock.advanceAsync(30_000);
    const start0 = Date.UTC(2024, 0, 1);
    expect(renewTimes(api).map((t) => t - start0)).toEqual([0, 10_000, 20_000, 30_000]);
    expect(String(stored(api).spec?.renewTime)).toBe("2024-01-01T00:00:30.000000Z");
  });

  it("retries a failed renewal after 200 ms doubling up to 7 s (kubelet), then every 7 s", async () => {
    const { clock, api } = start();
    await clock.advanceAsync(0);
    api.down = true;
    const from = api.calls.length;
    await clock.advanceAsync(40_000);
    const attempts = api.calls.slice(from).map((c) => c.at);
    const gaps = attempts.slice(1).map((t, i) => t - (attempts[i] ?? 0));
    expect(gaps.slice(0, 7)).toEqual([200, 400, 800, 1_600, 3_200, 6_400, 7_000]);
  });

  it("renewNow() renews at once instead of waiting out the retry delay", async () => {
    const { clock, api, lease } = start();
    await clock.advanceAsync(0);
    api.down = true;
    await clock.advanceAsync(20_000);
    api.down = false;
    const before = clock.now();
    lease.renewNow();
    await clock.advanceAsync(0);
    expect(lease.lastRenewed).toBe(before);
  });

  it("on a conflict re-reads the lease and writes over the newer version", async () => {
    const { clock, api } = start();
    await clock.advanceAsync(0);
    // Someone else wrote it: our cached resourceVersion is stale.
    api.put(LEASE_PATH, { ...stored(api), spec: { ...stored(api).spec, holderIdentity: "other" } });
    await clock.advanceAsync(10_000);
    expect(stored(api).spec?.holderIdentity).toBe(NODE);
    expect(api.callsTo("get", LEASE_PATH).length).toBeGreaterThan(0);
  });

  it("re-creates a deleted lease, owned by the Node's current UID", async () => {
    let uid = "node-uid-1";
    const { clock, api } = start(() => uid);
    await clock.advanceAsync(0);
    api.objects.delete(LEASE_PATH);
    uid = "node-uid-2";
    await clock.advanceAsync(10_000);
    expect(stored(api).metadata?.ownerReferences?.[0]?.uid).toBe("node-uid-2");
  });
});
