import type { ContainerGroup } from "@azure/arm-containerinstance";
import { describe, expect, it } from "vitest";
import { MAX_POD_EVENTS, podEventsOf, toContainerState, toPodStatus } from "../src/index.js";

const T0 = Date.UTC(2026, 0, 1);
const at = (s: number) => new Date(T0 + s * 1000);

function cg(
  over: Partial<ContainerGroup> = {},
  container: Partial<ContainerGroup["containers"][number]> = {},
): ContainerGroup {
  return {
    name: "default-web-abc12345",
    osType: "Linux",
    provisioningState: "Succeeded",
    restartPolicy: "Always",
    tags: { "virtual-node-shape": "1/1.5" },
    containers: [
      { name: "main", image: "nginx", resources: { requests: { cpu: 1, memoryInGB: 1.5 } }, ...container },
    ],
    ...over,
  };
}

describe("container states", () => {
  const rows: { title: string; state: Parameters<typeof toContainerState>[0]; expected: unknown }[] = [
    {
      title: "missing → waiting ContainerCreating",
      state: undefined,
      expected: { waiting: { reason: "ContainerCreating" } },
    },
    {
      title: "Waiting pulling",
      state: { state: "Waiting", detailStatus: "Pulling image" },
      expected: { waiting: { reason: "ContainerCreating", message: "Pulling image" } },
    },
    {
      title: "Waiting pull failure",
      state: { state: "Waiting", detailStatus: "Failed to pull image" },
      expected: { waiting: { reason: "ImagePullBackOff", message: "Failed to pull image" } },
    },
    {
      title: "Running",
      state: { state: "Running", startTime: at(5) },
      expected: { running: { startedAt: at(5) } },
    },
    {
      title: "Terminated 0 keeps the exit code",
      state: {
        state: "Terminated",
        exitCode: 0,
        startTime: at(1),
        finishTime: at(9),
        detailStatus: "Completed",
      },
      expected: {
        terminated: {
          exitCode: 0,
          reason: "Completed",
          message: "Completed",
          startedAt: at(1),
          finishedAt: at(9),
        },
      },
    },
    {
      title: "Terminated 137",
      state: { state: "Terminated", exitCode: 137, detailStatus: "Error" },
      expected: { terminated: { exitCode: 137, reason: "Error", message: "Error" } },
    },
    {
      title: "Terminated without exit code → nonzero",
      state: { state: "Terminated", detailStatus: "Killed" },
      expected: { terminated: { exitCode: 1, reason: "Error", message: "Killed" } },
    },
  ];
  for (const r of rows)
    it(r.title, () => {
      expect(toContainerState(r.state)).toEqual(r.expected);
    });
});

describe("pod status", () => {
  it("running group: container running, restart count, last state with exit code, IP, billed shape", () => {
    const s = toPodStatus(
      cg(
        { ipAddress: { type: "Private", ip: "10.1.0.4", ports: [] } },
        {
          instanceView: {
            restartCount: 2,
            currentState: { state: "Running", startTime: at(30) },
            previousState: { state: "Terminated", exitCode: 3, startTime: at(10), finishTime: at(20) },
          },
        },
      ),
      { now: T0 },
    );
    expect(s.phase).toBeUndefined();
    expect(s.podIPs).toEqual(["10.1.0.4"]);
    expect(s.billed).toEqual({ vcpu: 1, memoryGiB: 1.5, shape: "1 cores / 1.5 GB" });
    expect(s.containers[0]).toMatchObject({
      name: "main",
      restartCount: 2,
      state: { running: { startedAt: at(30) } },
      lastState: { terminated: { exitCode: 3 } },
    });
    expect(s.startTime).toEqual(at(30));
  });
  it("list view without instance view never blocks: waiting with a reason", () => {
    const s = toPodStatus(cg({ provisioningState: "Creating" }), { now: T0 });
    expect(s.containers[0]?.state).toEqual({ waiting: { reason: "ContainerCreating" } });
  });
  it("init containers report their own statuses and hold the app containers in PodInitializing", () => {
    const s = toPodStatus(
      cg({
        provisioningState: "Creating",
        initContainers: [
          {
            name: "init",
            image: "busybox",
            instanceView: { currentState: { state: "Running", startTime: at(1) } },
          },
        ],
      }),
      { now: T0 },
    );
    expect(s.initContainers?.[0]?.state).toEqual({ running: { startedAt: at(1) } });
    expect(s.containers[0]?.state).toEqual({ waiting: { reason: "PodInitializing" } });
  });
  it("provisioning Failed → Failed with ACI's event detail", () => {
    const s = toPodStatus(
      cg({
        provisioningState: "Failed",
        instanceView: {
          state: "Pending",
          events: [{ name: "FailedMount", type: "Normal", message: "mount error(2): Permission denied" }],
        },
      }),
      { now: T0 },
    );
    expect(s).toMatchObject({ phase: "Failed", reason: "ProviderFailed" });
    expect(s.message).toContain("Permission denied");
  });
  it("a failed init container fails the pod naming it", () => {
    const s = toPodStatus(
      cg({
        provisioningState: "Failed",
        initContainers: [
          {
            name: "migrate",
            image: "x",
            instanceView: { currentState: { state: "Terminated", exitCode: 2 } },
          },
        ],
      }),
      { now: T0 },
    );
    expect(s).toMatchObject({ phase: "Failed", message: "init container migrate failed" });
    expect(s.initContainers?.[0]?.state).toMatchObject({ terminated: { exitCode: 2 } });
  });
  it("stuck provisioning past the deadline → Failed with the state and detail", () => {
    const group = cg(
      { provisioningState: "Creating" },
      {
        instanceView: {
          currentState: { state: "Waiting" },
          events: [{ name: "Failed", type: "Warning", message: "no capacity in region" }],
        },
      },
    );
    expect(
      toPodStatus(group, { now: T0 + 60_000, provisioningSince: T0, provisioningDeadlineMs: 120_000 }).phase,
    ).toBeUndefined();
    const late = toPodStatus(group, {
      now: T0 + 121_000,
      provisioningSince: T0,
      provisioningDeadlineMs: 120_000,
    });
    expect(late).toMatchObject({ phase: "Failed", reason: "ProvisioningDeadlineExceeded" });
    expect(late.message).toContain("state Creating");
    expect(late.message).toContain("no capacity in region");
  });
  it("an LRO error → Failed with the ARM code and message", () => {
    const s = toPodStatus(cg({ provisioningState: "Failed" }), {
      now: T0,
      operationError: { code: "InaccessibleImage", message: "The image 'x' is not accessible." },
    });
    expect(s).toMatchObject({
      phase: "Failed",
      reason: "ProviderFailed",
      message: "InaccessibleImage: The image 'x' is not accessible.",
    });
  });
  it("succeeded job: terminated 0, phase left for core's derivation", () => {
    const s = toPodStatus(
      cg(
        { restartPolicy: "Never", instanceView: { state: "Succeeded" } },
        { instanceView: { currentState: { state: "Terminated", exitCode: 0 } } },
      ),
      { now: T0 },
    );
    expect(s.phase).toBeUndefined();
    expect(s.containers[0]?.state).toMatchObject({ terminated: { exitCode: 0, reason: "Completed" } });
  });
});

describe("events", () => {
  const group = (count: number) =>
    cg(
      {
        instanceView: {
          events: [
            { name: "Scheduled", type: "Normal", count: 1, firstTimestamp: at(-1), message: "placed" },
          ],
        },
      },
      {
        instanceView: {
          events: [
            { name: "Pulling", type: "Normal", count: 1, firstTimestamp: at(0), message: "pulling" },
            {
              name: "BackOff",
              type: "Warning",
              count,
              firstTimestamp: at(2),
              lastTimestamp: at(2 + count),
              message: "restarting",
            },
          ],
        },
      },
    );

  it("group and container events, oldest first, with the container named", () => {
    const events = podEventsOf(group(1));
    expect(events.map((e) => [e.type, e.reason])).toEqual([
      ["Normal", "Scheduled"],
      ["Normal", "Pulling"],
      ["Warning", "BackOff"],
    ]);
    expect(events[1]?.message).toBe("container main: pulling");
    expect(toPodStatus(group(1), { now: T0 }).events).toEqual(events);
  });

  it("ids are stable across reads and change when ACI's count grows (core records each id once)", () => {
    const ids = (count: number) => podEventsOf(group(count)).map((e) => e.id);
    expect(ids(1)).toEqual(ids(1));
    const [scheduled, pulling, backOff] = ids(3);
    expect([scheduled, pulling]).toEqual(ids(1).slice(0, 2));
    expect(backOff).not.toBe(ids(1)[2]);
    expect(podEventsOf(group(3))[2]?.message).toBe("container main: restarting (x3)");
  });

  it("keeps only the newest MAX_POD_EVENTS", () => {
    const many = cg(
      {},
      {
        instanceView: {
          events: Array.from({ length: 50 }, (_, i) => ({
            name: "Pulled",
            type: "Normal",
            count: 1,
            firstTimestamp: at(i),
            message: `pull ${String(i)}`,
          })),
        },
      },
    );
    const events = podEventsOf(many);
    expect(events).toHaveLength(MAX_POD_EVENTS);
    expect(events.at(-1)?.message).toBe("container main: pull 49");
  });

  it("publishes the group's resource ID (its name before ARM assigned one)", () => {
    expect(toPodStatus(cg({ id: "/subscriptions/s/x" }), { now: T0 }).annotations).toEqual({
      "aci.virtual-node.io/container-group": "/subscriptions/s/x",
    });
    expect(toPodStatus(cg(), { now: T0 }).annotations).toEqual({
      "aci.virtual-node.io/container-group": "default-web-abc12345",
    });
  });
});
