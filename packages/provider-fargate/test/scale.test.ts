/**
 * API calls at steady state: 1,000 running pods, status read through the batched list
 * (ListTasks + DescribeTasks by 100). The figure is printed for the provider's notes.
 */
import { FakeClock, podKey } from "@virtual-node/core";
import { afterAll, beforeAll, expect, it } from "vitest";
import type { FargateProvider } from "../src/index.js";
import { startAwsSimulator } from "./simulator/server.js";
import type { AwsSimulator } from "./simulator/server.js";
import { pod } from "./support/pods.js";
import { simulatorProvider } from "./support/provider.js";

const PODS = 1000;
const clock = new FakeClock();
let sim: AwsSimulator;
let provider: FargateProvider;
const call = () => ({ signal: new AbortController().signal });

beforeAll(async () => {
  sim = await startAwsSimulator({ clock, timings: { provisionMs: 500, pendingMs: 500, activatingMs: 500 } });
  provider = simulatorProvider(sim, clock);
});

afterAll(async () => {
  provider.close();
  await sim.close();
});

it(`reads the status of ${PODS} running pods with at most 1 DescribeTasks per 100 pods per poll`, async () => {
  const pods = Array.from({ length: PODS }, (_, i) =>
    pod({ name: `scale-${i}`, containers: [{ name: "main", command: ["sleep", "86400"] }] }),
  );
  // Creates run under RunTask's limit (burst 100, then 40/s): drive the fake clock meanwhile.
  let done = false;
  const creating = Promise.all(pods.map((p) => provider.createPod(p, call()))).finally(() => {
    done = true;
  });
  while (!done) await clock.advanceAsync(250);
  await creating;
  expect(sim.calls("RunTask").length).toBe(PODS);
  expect(sim.calls("RegisterTaskDefinition").length).toBe(1);

  const refs = pods.map((p) => p.ref);
  // Wait until every pod runs.
  for (let i = 0; i < 100; i++) {
    await clock.advanceAsync(2_000);
    const statuses = await provider.getPodStatuses(refs, call());
    if ([...statuses.values()].every((s) => s?.phase === "Running")) break;
  }
  const running = await provider.getPodStatuses(refs, call());
  expect([...running.values()].filter((s) => s?.phase === "Running")).toHaveLength(PODS);
  expect(running.get(podKey(refs[0] ?? { namespace: "", name: "" }))?.podIPs?.length).toBe(1);

  // Steady state: a minute of polls every 5 s (core's batched status loop).
  const before = { describe: sim.calls("DescribeTasks").length, list: sim.calls("ListTasks").length };
  const polls = 12;
  for (let i = 0; i < polls; i++) {
    await clock.advanceAsync(5_000);
    await provider.getPodStatuses(refs, call());
  }
  const describe = sim.calls("DescribeTasks").length - before.describe;
  const list = sim.calls("ListTasks").length - before.list;
  const lists = provider.statusStats().lists;
  console.log(
    `[fargate scale] ${PODS} running pods, ${polls} polls over 60 s: DescribeTasks ${describe}, ListTasks ${list} ` +
      `(${(describe / polls).toFixed(1)} DescribeTasks and ${(list / polls).toFixed(1)} ListTasks per poll; list rounds ${lists})`,
  );
  // ≤ 1 DescribeTasks per 100 pods per poll (all settled: the slow interval spaces the lists further).
  expect(describe / polls).toBeLessThanOrEqual(PODS / 100);
  expect(sim.violations).toEqual([]);
}, 600_000);
