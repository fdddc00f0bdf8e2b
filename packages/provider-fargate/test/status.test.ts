import type { Task } from "@aws-sdk/client-ecs";
import { describe, expect, it } from "vitest";
import {
  DEADLINE_STOP_REASON,
  FILE_WRITER_CONTAINER,
  FargateStatusAnnotations,
  ROLES_TAG,
  formatRoles,
  stoppedReasonKind,
  taskToPodStatus,
} from "../src/index.js";

const created = new Date("2026-01-01T00:00:00Z");
const started = new Date("2026-01-01T00:00:30Z");
const stopped = new Date("2026-01-01T00:05:00Z");
const now = created.getTime() + 60_000;
const opts = { now, startDeadlineMs: 15 * 60_000 };

function task(extra: Partial<Task>, roles = formatRoles({ init: [], sidecar: [], health: [] })): Task {
  return {
    taskArn: "arn:aws:ecs:us-east-1:123456789012:task/vn/abc",
    createdAt: created,
    cpu: "1024",
    memory: "2048",
    tags: [{ key: ROLES_TAG, value: roles }],
    attachments: [
      {
        type: "ElasticNetworkInterface",
        status: "ATTACHED",
        details: [
          { name: "subnetId", value: "subnet-1" },
          { name: "privateIPv4Address", value: "10.0.1.23" },
        ],
      },
    ],
    containers: [{ name: "main", lastStatus: "PENDING" }],
    ...extra,
  };
}

describe("taskToPodStatus", () => {
  it.each([
    ["PROVISIONING", "TaskProvisioning"],
    ["PENDING", "TaskPending"],
    ["ACTIVATING", "TaskActivating"],
  ])("%s → Pending (%s), containers waiting", (lastStatus, reason) => {
    const status = taskToPodStatus(task({ lastStatus }), opts);
    expect(status).toMatchObject({ phase: "Pending", reason });
    expect(status.containers[0]?.state).toEqual({ waiting: { reason: "ContainerCreating" } });
  });

  it("RUNNING → Running with the ENI's IP, ECS timestamps and the billed size", () => {
    const status = taskToPodStatus(
      task({
        lastStatus: "RUNNING",
        startedAt: started,
        containers: [{ name: "main", lastStatus: "RUNNING", runtimeId: "r1", imageDigest: "sha256:ab" }],
      }),
      opts,
    );
    expect(status).toMatchObject({
      phase: "Running",
      podIPs: ["10.0.1.23"],
      startTime: created,
      billed: { vcpu: 1, memoryGiB: 2, shape: "1024/2048" },
    });
    expect(status.containers[0]).toMatchObject({
      state: { running: { startedAt: started } },
      ready: true,
      containerID: "ecs://r1",
      imageID: "sha256:ab",
    });
  });

  it.each([
    ["HEALTHY", true],
    ["UNKNOWN", false],
    ["UNHEALTHY", false],
  ])("a health-checked container that is %s is ready=%s", (healthStatus, ready) => {
    const status = taskToPodStatus(
      task(
        {
          lastStatus: "RUNNING",
          startedAt: started,
          containers: [{ name: "main", lastStatus: "RUNNING", healthStatus: healthStatus as "HEALTHY" }],
        },
        formatRoles({ init: [], sidecar: [], health: ["main"] }),
      ),
      opts,
    );
    expect(status.containers[0]?.ready).toBe(ready);
  });

  it("STOPPED with every app container at 0 → Succeeded", () => {
    const status = taskToPodStatus(
      task({
        lastStatus: "STOPPED",
        startedAt: started,
        stoppedAt: stopped,
        stopCode: "EssentialContainerExited",
        stoppedReason: "Essential container in task exited",
        containers: [{ name: "main", lastStatus: "STOPPED", exitCode: 0, runtimeId: "r" }],
      }),
      opts,
    );
    expect(status.phase).toBe("Succeeded");
    expect(status.containers[0]?.state).toEqual({
      terminated: { exitCode: 0, reason: "Completed", startedAt: started, finishedAt: stopped },
    });
  });

  it("STOPPED with a nonzero exit → Failed with the exit codes and the stop code", () => {
    const status = taskToPodStatus(
      task({
        lastStatus: "STOPPED",
        startedAt: started,
        stopCode: "EssentialContainerExited",
        stoppedReason: "Essential container in task exited",
        containers: [
          { name: "main", lastStatus: "STOPPED", exitCode: 3, runtimeId: "r" },
          { name: "side", lastStatus: "STOPPED", exitCode: 0, runtimeId: "s" },
        ],
      }),
      opts,
    );
    expect(status).toMatchObject({
      phase: "Failed",
      reason: "EssentialContainerExited",
      message: "EssentialContainerExited: Essential container in task exited (exit codes: main=3, side=0)",
    });
    expect(status.containers[0]?.state).toMatchObject({ terminated: { exitCode: 3, reason: "Error" } });
  });

  it.each([
    [
      "CannotPullContainerError: pull image manifest has been retried 5 time(s)",
      "TaskFailedToStart",
      "CannotPullContainerError",
    ],
    [
      "ResourceInitializationError: unable to pull secrets or registry auth",
      "TaskFailedToStart",
      "ResourceInitializationError",
    ],
    ["Your Spot Task was interrupted.", "SpotInterruption", "SpotInterruption"],
  ])("a task stopped with %j (%s) fails with reason %s", (stoppedReason, stopCode, reason) => {
    const status = taskToPodStatus(
      task({
        lastStatus: "STOPPED",
        stopCode: stopCode as "SpotInterruption",
        stoppedReason,
        containers: [{ name: "main", lastStatus: "STOPPED" }],
      }),
      opts,
    );
    expect(status).toMatchObject({ phase: "Failed", reason });
    expect(status.message).toContain(stoppedReason);
    expect("terminated" in (status.containers[0]?.state ?? {})).toBe(true);
  });

  it("a container killed for memory is OOMKilled", () => {
    const status = taskToPodStatus(
      task({
        lastStatus: "STOPPED",
        stopCode: "EssentialContainerExited",
        containers: [
          {
            name: "main",
            lastStatus: "STOPPED",
            exitCode: 137,
            runtimeId: "r",
            reason: "OutOfMemoryError: Container killed due to memory usage",
          },
        ],
      }),
      opts,
    );
    expect(status.containers[0]?.state).toMatchObject({ terminated: { exitCode: 137, reason: "OOMKilled" } });
  });

  it("reports init containers apart (in order) and hides the file writer", () => {
    const status = taskToPodStatus(
      task(
        {
          lastStatus: "RUNNING",
          startedAt: started,
          containers: [
            { name: "main", lastStatus: "PENDING" },
            { name: "second", lastStatus: "RUNNING", runtimeId: "b" },
            { name: "first", lastStatus: "STOPPED", exitCode: 0, runtimeId: "a" },
            { name: FILE_WRITER_CONTAINER, lastStatus: "STOPPED", exitCode: 0 },
          ],
        },
        formatRoles({ init: ["first", "second"], sidecar: [], health: [] }),
      ),
      opts,
    );
    expect(status.initContainers?.map((c) => [c.name, Object.keys(c.state)[0]])).toEqual([
      ["first", "terminated"],
      ["second", "running"],
    ]);
    expect(status.containers.map((c) => [c.name, c.state])).toEqual([
      ["main", { waiting: { reason: "PodInitializing" } }],
    ]);
  });

  it("a task stuck before RUNNING past the deadline → Failed StartDeadlineExceeded", () => {
    const status = taskToPodStatus(task({ lastStatus: "PROVISIONING" }), {
      now: created.getTime() + 16 * 60_000,
      startDeadlineMs: 15 * 60_000,
    });
    expect(status).toMatchObject({ phase: "Failed", reason: "StartDeadlineExceeded" });
    expect(status.message).toContain("PROVISIONING");
  });

  it("a task the provider stopped for its deadline stays Failed StartDeadlineExceeded once STOPPED", () => {
    const status = taskToPodStatus(
      task({
        lastStatus: "STOPPED",
        stopCode: "UserInitiated",
        stoppedReason: `${DEADLINE_STOP_REASON} (900 s, last status PROVISIONING)`,
      }),
      { now: created.getTime() + 20 * 60_000, startDeadlineMs: 15 * 60_000 },
    );
    expect(status).toMatchObject({ phase: "Failed", reason: "StartDeadlineExceeded" });
    expect(status.message).toContain("last status PROVISIONING");
  });

  it("publishes the task ARN and the chosen task size as pod annotations", () => {
    const status = taskToPodStatus(task({ lastStatus: "RUNNING", cpu: "1024", memory: "3072" }), {
      now: created.getTime(),
      startDeadlineMs: 60_000,
    });
    expect(status.annotations).toEqual({
      [FargateStatusAnnotations.taskArn]: expect.stringMatching(/^arn:aws:ecs:/) as string,
      [FargateStatusAnnotations.taskSize]: "1024/3072",
    });
  });

  it("a task going down after it ran stays Running until STOPPED", () => {
    const status = taskToPodStatus(
      task({
        lastStatus: "DEACTIVATING",
        startedAt: started,
        containers: [{ name: "main", lastStatus: "RUNNING" }],
      }),
      opts,
    );
    expect(status).toMatchObject({ phase: "Running", reason: "TaskStopping" });
  });

  it("reads the error kind of a stoppedReason", () => {
    expect(stoppedReasonKind("CannotPullContainerError: x")).toBe("CannotPullContainerError");
    expect(stoppedReasonKind("Essential container in task exited")).toBeUndefined();
  });
});
