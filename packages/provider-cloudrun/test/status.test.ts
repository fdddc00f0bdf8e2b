import { describe, expect, it } from "vitest";
import type { ProviderPodStatus } from "@virtual-node/core";
import {
  CloudRunStatusAnnotations,
  instanceStatus,
  jobStatus,
  serviceStatus,
  toPodStatus,
  workerPoolStatus,
} from "../src/status.js";
import type { CloudRunObject } from "../src/status.js";

type Job = Extract<CloudRunObject, { kind: "job" }>["job"];
type Execution = NonNullable<Extract<CloudRunObject, { kind: "job" }>["execution"]>;
type Service = Extract<CloudRunObject, { kind: "service" }>["service"];

const ts = (iso: string) => ({ seconds: String(Date.parse(iso) / 1000), nanos: 0 });

const job: Job = {
  name: "projects/p1/locations/us-central1/jobs/j1",
  annotations: { "virtual-node-shape": "1 vCPU / 512Mi" },
  terminalCondition: { type: "Ready", state: "CONDITION_SUCCEEDED" },
  template: {
    template: {
      containers: [{ name: "main", image: "busybox", resources: { limits: { cpu: "1", memory: "512Mi" } } }],
    },
  },
};

const exec = (e: Partial<Execution>): Execution => ({
  name: `${job.name ?? ""}/executions/j1-abcde`,
  taskCount: 1,
  createTime: ts("2024-01-01T00:00:00Z"),
  runningCount: 0,
  succeededCount: 0,
  failedCount: 0,
  cancelledCount: 0,
  retriedCount: 0,
  ...e,
});

function summary(s: ProviderPodStatus) {
  const c = s.containers[0];
  const state = c === undefined ? "none" : Object.keys(c.state)[0];
  const detail =
    c !== undefined && "terminated" in c.state
      ? c.state.terminated.exitCode
      : c !== undefined && "waiting" in c.state
        ? c.state.waiting.reason
        : "";
  return `${s.phase ?? "?"}/${s.reason ?? "-"}/${state ?? ""}:${String(detail)}`;
}

describe("jobStatus", () => {
  const cases: [string, Job, Execution | undefined, Parameters<typeof jobStatus>[2], string][] = [
    [
      "job being created",
      { ...job, terminalCondition: { state: "CONDITION_RECONCILING" } },
      undefined,
      undefined,
      "Pending/JobCreating/waiting:ContainerCreating",
    ],
    [
      "job failed: image missing",
      {
        ...job,
        terminalCondition: {
          state: "CONDITION_FAILED",
          reason: "CONTAINER_MISSING",
          message: "Image 'x' not found.",
        },
      },
      undefined,
      undefined,
      "Failed/ContainerMissing/waiting:ErrImagePull",
    ],
    [
      "execution pending",
      job,
      exec({
        conditions: [{ type: "ResourcesAvailable", state: "CONDITION_PENDING", message: "Provisioning" }],
      }),
      undefined,
      "Pending/-/waiting:ContainerCreating",
    ],
    [
      "execution running",
      job,
      exec({ runningCount: 1, startTime: ts("2024-01-01T00:00:05Z") }),
      undefined,
      "Running/-/running:",
    ],
    [
      "execution succeeded",
      job,
      exec({ succeededCount: 1, completionTime: ts("2024-01-01T00:01:00Z") }),
      undefined,
      "Succeeded/-/terminated:0",
    ],
    [
      "execution failed: exit code from the task",
      job,
      exec({ failedCount: 1 }),
      [{ lastAttemptResult: { exitCode: 3, status: { code: 2, message: "exit 3" } } }],
      "Failed/Error/terminated:3",
    ],
    [
      "execution failed: killed by a signal",
      job,
      exec({ failedCount: 1 }),
      [{ lastAttemptResult: { exitCode: 0, termSignal: 9 } }],
      "Failed/Error/terminated:137",
    ],
    ["execution cancelled", job, exec({ cancelledCount: 1 }), undefined, "Failed/Cancelled/terminated:137"],
    [
      "between retries (OnFailure)",
      job,
      exec({ retriedCount: 1 }),
      [{ retried: 1, lastAttemptResult: { exitCode: 2 } }],
      "Running/-/waiting:CrashLoopBackOff",
    ],
    [
      "execution failed to start: a failed condition is reported",
      job,
      exec({
        conditions: [
          {
            type: "ResourcesAvailable",
            state: "CONDITION_FAILED",
            reason: "SECRETS_ACCESS_CHECK_FAILED",
            message: "no access",
          },
        ],
      }),
      undefined,
      "Failed/SecretsAccessCheckFailed/waiting:CreateContainerConfigError",
    ],
  ];
  it.each(cases)("%s", (_title, j, e, tasks, expected) => {
    const status = jobStatus(j, e, tasks);
    expect(summary(status)).toBe(expected);
    // Never silent: every non-running, non-succeeded state explains itself.
    if (status.phase !== "Running" && status.phase !== "Succeeded") {
      const c = status.containers[0];
      const message = c !== undefined && "waiting" in c.state ? c.state.waiting.message : status.message;
      expect(message).toBeTruthy();
    }
  });

  it("reports the billed shape, times and restart count", () => {
    const status = jobStatus(
      job,
      exec({ runningCount: 1, retriedCount: 2, startTime: ts("2024-01-01T00:00:05Z") }),
      [{ retried: 2, startTime: ts("2024-01-01T00:00:07Z"), lastAttemptResult: { exitCode: 1 } }],
    );
    expect(status.billed).toEqual({ vcpu: 1, memoryGiB: 0.5, shape: "1 vCPU / 512Mi" });
    expect(status.startTime?.toISOString()).toBe("2024-01-01T00:00:05.000Z");
    const c = status.containers[0];
    expect(c?.restartCount).toBe(2);
    expect(c?.state).toEqual({ running: { startedAt: new Date("2024-01-01T00:00:07Z") } });
    expect(c?.lastState).toHaveProperty("terminated.exitCode", 1);
    expect(status.podIPs).toBeUndefined();
  });

  it("publishes the Job's and the Execution's resource names as pod annotations", () => {
    expect(jobStatus(job).annotations).toEqual({ [CloudRunStatusAnnotations.resource]: job.name });
    expect(jobStatus(job, exec({ runningCount: 1 })).annotations).toEqual({
      [CloudRunStatusAnnotations.resource]: job.name,
      [CloudRunStatusAnnotations.execution]: `${job.name ?? ""}/executions/j1-abcde`,
    });
  });
});

describe("serviceStatus", () => {
  const base: Service = {
    name: "projects/p1/locations/us-central1/services/s1",
    generation: "1",
    observedGeneration: "1",
    template: {
      containers: [{ name: "web", image: "nginx", resources: { limits: { cpu: "2", memory: "1Gi" } } }],
    },
  };
  const cases: [string, Service, string][] = [
    [
      "deploying",
      {
        ...base,
        reconciling: true,
        terminalCondition: { state: "CONDITION_RECONCILING", message: "Deploying revision." },
      },
      "Pending/-/waiting:ContainerCreating",
    ],
    [
      "ready",
      {
        ...base,
        reconciling: false,
        latestCreatedRevision: "r1",
        latestReadyRevision: "r1",
        terminalCondition: { state: "CONDITION_SUCCEEDED", lastTransitionTime: ts("2024-01-01T00:00:10Z") },
      },
      "Running/-/running:",
    ],
    [
      "generation not yet observed, but an older revision serves",
      {
        ...base,
        generation: "2",
        reconciling: true,
        latestCreatedRevision: "r2",
        latestReadyRevision: "r1",
        terminalCondition: { state: "CONDITION_RECONCILING" },
      },
      "Running/-/running:",
    ],
    [
      "image not found",
      {
        ...base,
        terminalCondition: {
          state: "CONDITION_FAILED",
          reason: "CONTAINER_MISSING",
          message: "Image 'x' not found.",
        },
      },
      "Failed/ContainerMissing/waiting:ErrImagePull",
    ],
    [
      "container crashed",
      {
        ...base,
        terminalCondition: {
          state: "CONDITION_FAILED",
          reason: "REVISION_FAILED",
          revisionReason: "HEALTH_CHECK_CONTAINER_ERROR",
          message: "exited",
        },
      },
      "Failed/RevisionFailed/waiting:CrashLoopBackOff",
    ],
    [
      "permission denied",
      {
        ...base,
        terminalCondition: {
          state: "CONDITION_FAILED",
          reason: "CONTAINER_PERMISSION_DENIED",
          message: "denied",
        },
      },
      "Failed/ContainerPermissionDenied/waiting:CreateContainerError",
    ],
  ];
  it.each(cases)("%s", (_title, service, expected) => {
    const status = serviceStatus(service);
    expect(summary(status)).toBe(expected);
    if (status.phase === "Failed") expect(status.message).toBeTruthy();
    if (status.phase === "Running") expect(status.containers[0]?.ready).toBe(true);
  });
  it("reports the billed shape", () => {
    expect(serviceStatus(base).billed).toEqual({ vcpu: 2, memoryGiB: 1 });
  });
  it("pull secrets recorded on the resource → one Warning saying Cloud Run does not use them", () => {
    expect(serviceStatus(base).events).toBeUndefined();
    const events = serviceStatus({
      ...base,
      annotations: { "virtual-node-ignored-pull-secrets": "regcred,hub" },
    }).events;
    expect(events).toEqual([
      expect.objectContaining({
        id: "ImagePullSecretsIgnored",
        type: "Warning",
        reason: "ImagePullSecretsIgnored",
      }),
    ]);
    expect(events?.[0]?.message).toContain("imagePullSecrets regcred,hub are not used");
    expect(
      jobStatus({
        ...job,
        annotations: { ...job.annotations, "virtual-node-ignored-pull-secrets": "regcred" },
      }).events?.[0]?.reason,
    ).toBe("ImagePullSecretsIgnored");
  });
  it("publishes the Service URL once Cloud Run assigned one", () => {
    expect(serviceStatus(base).annotations).toEqual({ [CloudRunStatusAnnotations.resource]: base.name });
    expect(serviceStatus({ ...base, uri: "https://s1-abc-uc.a.run.app" }).annotations).toEqual({
      [CloudRunStatusAnnotations.resource]: base.name,
      [CloudRunStatusAnnotations.url]: "https://s1-abc-uc.a.run.app",
    });
  });
});

describe("worker pool status", () => {
  type WorkerPool = Extract<CloudRunObject, { kind: "workerPool" }>["workerPool"];
  const pool: WorkerPool = {
    name: "projects/p1/locations/us-central1/workerPools/w1",
    annotations: { "virtual-node-shape": "1 vCPU / 512Mi" },
    createTime: ts("2024-01-01T00:00:00Z"),
    generation: "1",
    observedGeneration: "1",
    scaling: { manualInstanceCount: 1 },
    template: {
      containers: [{ name: "main", image: "busybox", resources: { limits: { cpu: "1", memory: "512Mi" } } }],
    },
  };
  const failed = (reason: string, message: string, revisionReason?: string): WorkerPool => ({
    ...pool,
    terminalCondition: {
      state: "CONDITION_FAILED",
      reason: reason as "REVISION_FAILED",
      ...(revisionReason === undefined ? {} : { revisionReason: revisionReason as "PENDING" }),
      message,
    },
  });
  const cases: [string, WorkerPool, string][] = [
    [
      "being created (reconciling, generation not observed)",
      {
        ...pool,
        observedGeneration: "0",
        reconciling: true,
        latestCreatedRevision: "w1-00001",
        terminalCondition: { state: "CONDITION_RECONCILING", message: "Deploying revision." },
      },
      "Pending/-/waiting:ContainerCreating",
    ],
    [
      "ready: revision ready, generation observed",
      {
        ...pool,
        latestCreatedRevision: "w1-00001",
        latestReadyRevision: "w1-00001",
        terminalCondition: { state: "CONDITION_SUCCEEDED", lastTransitionTime: ts("2024-01-01T00:00:05Z") },
      },
      "Running/-/running:",
    ],
    [
      "succeeded but a newer generation not observed yet, no ready revision",
      {
        ...pool,
        generation: "2",
        observedGeneration: "1",
        terminalCondition: { state: "CONDITION_SUCCEEDED" },
      },
      "Pending/-/waiting:ContainerCreating",
    ],
    [
      "update rolling out while the older revision runs",
      {
        ...pool,
        generation: "2",
        reconciling: true,
        latestCreatedRevision: "w1-00002",
        latestReadyRevision: "w1-00001",
        terminalCondition: { state: "CONDITION_RECONCILING" },
      },
      "Running/-/running:",
    ],
    [
      "image not found",
      failed("CONTAINER_MISSING", "Image 'x' not found."),
      "Failed/ContainerMissing/waiting:ErrImagePull",
    ],
    [
      "instance quota exceeded",
      failed("REVISION_FAILED", "Quota exceeded for total allowable instances per project per region."),
      "Failed/QuotaExceeded/waiting:CreateContainerError",
    ],
    [
      "container exited",
      failed(
        "REVISION_FAILED",
        "The user-provided container exited with code 3",
        "HEALTH_CHECK_CONTAINER_ERROR",
      ),
      "Failed/RevisionFailed/waiting:CrashLoopBackOff",
    ],
    [
      "secret not accessible",
      failed("SECRETS_ACCESS_CHECK_FAILED", "Permission denied on secret"),
      "Failed/SecretsAccessCheckFailed/waiting:CreateContainerConfigError",
    ],
  ];
  it.each(cases)("%s", (_title, workerPool, expected) => {
    const status = workerPoolStatus(workerPool);
    expect(summary(status)).toBe(expected);
    expect(toPodStatus({ kind: "workerPool", workerPool })).toEqual(status);
    // Never a silent Pending or Failed: there is always a message saying why.
    if (status.phase === "Failed") expect(status.message).toBeTruthy();
    if (status.phase === "Pending") {
      const c = status.containers[0];
      expect(c !== undefined && "waiting" in c.state && c.state.waiting.message).toBeTruthy();
    }
    if (status.phase === "Running") expect(status.containers[0]?.ready).toBe(true);
  });
  it("publishes the resource name and the billed shape, no URL", () => {
    const status = workerPoolStatus(pool);
    expect(status.annotations).toEqual({ [CloudRunStatusAnnotations.resource]: pool.name });
    expect(status.billed).toEqual({ vcpu: 1, memoryGiB: 0.5, shape: "1 vCPU / 512Mi" });
  });
});

describe("instance status", () => {
  type Instance = Extract<CloudRunObject, { kind: "instance" }>["instance"];
  const instance: Instance = {
    name: "projects/p1/locations/us-central1/instances/i1",
    generation: "1",
    observedGeneration: "1",
    containers: [{ name: "main", image: "busybox" }],
  };
  it.each([
    [
      "starting",
      { ...instance, reconciling: true, terminalCondition: { state: "CONDITION_RECONCILING" } },
      "Pending/-/waiting:ContainerCreating",
    ],
    [
      "ready",
      {
        ...instance,
        terminalCondition: { state: "CONDITION_SUCCEEDED" },
        urls: ["https://i1-abc.a.run.app"],
      },
      "Running/-/running:",
    ],
    [
      "image not found",
      {
        ...instance,
        terminalCondition: { state: "CONDITION_FAILED", reason: "CONTAINER_MISSING", message: "not found" },
      },
      "Failed/ContainerMissing/waiting:ErrImagePull",
    ],
  ] as [string, Instance, string][])("%s", (_title, value, expected) => {
    expect(summary(instanceStatus(value))).toBe(expected);
  });
  it("publishes the first URL", () => {
    expect(
      instanceStatus({
        ...instance,
        terminalCondition: { state: "CONDITION_SUCCEEDED" },
        urls: ["https://i1-abc.a.run.app"],
      }).annotations,
    ).toEqual({
      [CloudRunStatusAnnotations.resource]: instance.name,
      [CloudRunStatusAnnotations.url]: "https://i1-abc.a.run.app",
    });
  });
});
