import { afterEach, describe, expect, it, vi } from "vitest";

import { ErrorCode, TestingError } from "../src/errors.js";
import { useControlPlane, type ProvidedControlPlane } from "../src/shared-control-plane.js";
import { setup, teardown } from "../src/vitest-global-setup.js";

describe("shared control plane plumbing", () => {
  afterEach(() => {
    vi.unstubAllEnvs();
  });

  it("fails (does not skip) when the control plane was skipped", async () => {
    const error = await useControlPlane({
      skipped: true,
      reason: "VIRTUAL_NODE_SKIP_CONTROL_PLANE=1 is set",
    }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(TestingError);
    expect(error).toMatchObject({ code: ErrorCode.ControlPlaneNotProvided });
    expect((error as TestingError).message).toContain("VIRTUAL_NODE_SKIP_CONTROL_PLANE=1");
  });

  it("fails when nothing was provided", async () => {
    await expect(useControlPlane(undefined)).rejects.toMatchObject({
      code: ErrorCode.ControlPlaneNotProvided,
    });
  });

  it("the global setup provides a 'skipped' marker under VIRTUAL_NODE_SKIP_CONTROL_PLANE=1", async () => {
    vi.stubEnv("VIRTUAL_NODE_SKIP_CONTROL_PLANE", "1");
    const provided: Record<string, ProvidedControlPlane> = {};
    const project = {
      provide: (key: string, value: ProvidedControlPlane) => {
        provided[key] = value;
      },
    };
    await setup(project as unknown as Parameters<typeof setup>[0]);
    expect(provided.controlPlane).toEqual({
      skipped: true,
      reason: "VIRTUAL_NODE_SKIP_CONTROL_PLANE=1 is set",
    });
    await teardown();
  });
});
