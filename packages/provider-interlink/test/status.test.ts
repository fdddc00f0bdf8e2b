import { describe, expect, it } from "vitest";
import {
  SITE_JOB_ID_ANNOTATION,
  describeFromPing,
  parseLogText,
  parsePing,
  toProviderPodStatus,
} from "../src/index.js";
import type { InterLinkPodStatus } from "../src/index.js";

const base: InterLinkPodStatus = { name: "p", namespace: "ns", UID: "u", JID: "42" };
const declared = { initContainers: ["init"], containers: ["main", "side"] };

describe("toProviderPodStatus (interLink PodStatus → ProviderPodStatus)", () => {
  const cases: [string, InterLinkPodStatus, unknown][] = [
    [
      "queued job with no container statuses: every declared container waits with the job ID",
      base,
      {
        initContainers: [
          {
            name: "init",
            state: { waiting: { reason: "ContainerCreating", message: "site job 42 is queued" } },
          },
        ],
        containers: [
          {
            name: "main",
            state: { waiting: { reason: "ContainerCreating", message: "site job 42 is queued" } },
          },
          {
            name: "side",
            state: { waiting: { reason: "ContainerCreating", message: "site job 42 is queued" } },
          },
        ],
      },
    ],
    [
      "running, terminated with exit code and signal, an empty state",
      {
        ...base,
        initContainers: [
          {
            name: "init",
            state: { terminated: { exitCode: 0, reason: "Completed", finishedAt: "2026-12-01T12:00:05Z" } },
          },
        ],
        containers: [
          {
            name: "main",
            ready: true,
            restartCount: 1,
            containerID: "12345",
            state: { running: { startedAt: "2026-12-01T12:00:06Z" } },
          },
          { name: "side", state: {} },
        ],
      },
      {
        initContainers: [
          {
            name: "init",
            state: {
              terminated: { exitCode: 0, reason: "Completed", finishedAt: new Date("2026-12-01T12:00:05Z") },
            },
          },
        ],
        containers: [
          {
            name: "main",
            ready: true,
            restartCount: 1,
            containerID: "interlink://12345",
            state: { running: { startedAt: new Date("2026-12-01T12:00:06Z") } },
          },
          {
            name: "side",
            state: { waiting: { reason: "ContainerCreating", message: "site job 42 is queued" } },
          },
        ],
      },
    ],
    [
      "failed with a signal; Go zero times are dropped",
      {
        ...base,
        initContainers: null,
        containers: [
          {
            name: "main",
            state: {
              terminated: {
                exitCode: 137,
                signal: 9,
                reason: "OOMKilled",
                startedAt: "0001-01-01T00:00:00Z",
              },
            },
          },
        ],
      },
      {
        initContainers: [
          {
            name: "init",
            state: { waiting: { reason: "ContainerCreating", message: "site job 42 is queued" } },
          },
        ],
        containers: [
          { name: "main", state: { terminated: { exitCode: 137, signal: 9, reason: "OOMKilled" } } },
          {
            name: "side",
            state: { waiting: { reason: "ContainerCreating", message: "site job 42 is queued" } },
          },
        ],
      },
    ],
  ];
  for (const [title, wire, expected] of cases) {
    it(title, () => {
      const status = toProviderPodStatus(wire, { declared });
      expect({ ...status, annotations: undefined }).toEqual(expected);
      // The site's job ID is published on the pod (core merges it), for adoption after a restart.
      expect(status.annotations).toEqual(
        wire.JID === undefined || wire.JID === "" ? undefined : { [SITE_JOB_ID_ANNOTATION]: wire.JID },
      );
      // Core derives the phase: interLink reports none.
      expect(status.phase).toBeUndefined();
    });
  }

  it("a running state without startedAt starts when the site first reported it", () => {
    const seenAt = new Date("2026-12-01T12:00:00Z");
    const s = toProviderPodStatus(
      { ...base, containers: [{ name: "main", state: { running: {} } }] },
      { seenAt },
    );
    expect(s.containers[0]?.state).toEqual({ running: { startedAt: seenAt } });
  });
});

describe("ping → node", () => {
  it.each([
    ["plain text", "pong", undefined],
    ["JSON", '{"status":"ok","taints":[]}', { status: "ok", taints: [] }],
    ["broken JSON", "{nope", undefined],
  ])("parsePing %s", (_t, text, expected) => {
    expect(parsePing(text)).toEqual(expected);
  });

  it("site figures win over the defaults; an unknown taint effect becomes NoSchedule; absent taints keep the configured ones", () => {
    const defaults = {
      capacity: { cpu: "4", memory: "8Gi", pods: "10" },
      taints: [{ key: "site", effect: "NoSchedule" }],
    };
    const d = describeFromPing(
      {
        resources: { cpu: "64", accelerators: [{ resourceType: "nvidia.com/gpu", available: "2" }] },
        taints: [{ key: "x", effect: "Weird" }],
      },
      defaults,
    );
    expect(d.capacity).toEqual({ cpu: "64", memory: "8Gi", pods: "10", "nvidia.com/gpu": "2" });
    expect(d.allocatable).toEqual(d.capacity);
    expect(d.taints).toEqual([{ key: "x", effect: "NoSchedule" }]);
    expect(describeFromPing({ status: "ok" }, defaults).taints).toEqual(defaults.taints);
  });
});

describe("parseLogText", () => {
  it("places timestamped lines in time and ids the others by position", () => {
    const now = new Date("2026-12-01T13:00:00Z");
    const entries = parseLogText("2026-12-01T12:00:01.5Z hello\nno stamp here\n", now);
    expect(entries[0]).toMatchObject({ message: "hello", nanos: 500_000_000 });
    expect(entries[0]?.time.toISOString()).toBe("2026-12-01T12:00:01.500Z");
    expect(entries[1]).toEqual({ time: now, message: "no stamp here", id: "line-1" });
  });
});
