/** Shape checks at the mock cloud's API boundary (the HTTP server feeds it untrusted JSON). */
import { InvalidInputError } from "@virtual-node/core";
import type { MockContainerSpec, MockGroupSpec, MockRef } from "./types.js";

function fail(field: string, message: string): never {
  throw new InvalidInputError(`invalid group spec: ${field} ${message}`, { field });
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function requireString(value: unknown, field: string): void {
  if (typeof value !== "string" || value === "") fail(field, "must be a non-empty string");
}

function optionalDuration(value: unknown, field: string, nullable = false): void {
  if (value === undefined || (nullable && value === null)) return;
  if (typeof value !== "number" || !Number.isFinite(value) || value < 0) fail(field, "must be a number >= 0");
}

function checkContainer(value: unknown, field: string): void {
  if (!isRecord(value)) fail(field, "must be an object");
  const c = value as Partial<MockContainerSpec>;
  requireString(c.name, `${field}.name`);
  requireString(c.image, `${field}.image`);
  if (!Array.isArray(c.env)) fail(`${field}.env`, "must be an array");
  optionalDuration(c.runDurationMs, `${field}.runDurationMs`, true);
  optionalDuration(c.readyDelayMs, `${field}.readyDelayMs`);
  if (c.exitCode !== undefined && (!Number.isInteger(c.exitCode) || c.exitCode < 0 || c.exitCode > 255)) {
    fail(`${field}.exitCode`, "must be an integer 0..255");
  }
  if (c.usage !== undefined) {
    const usage: unknown = c.usage;
    if (!isRecord(usage)) fail(`${field}.usage`, "must be an object");
    for (const key of ["cpuNanoCores", "memoryBytes"] as const) {
      const amount = usage[key];
      if (amount !== undefined && (typeof amount !== "number" || !Number.isFinite(amount) || amount < 0))
        fail(`${field}.usage.${key}`, "must be a number >= 0");
    }
  }
}

/** Throws `InvalidInputError` (with the offending field) unless `value` is a well-formed spec. */
export function validateGroupSpec(value: unknown): asserts value is MockGroupSpec {
  if (!isRecord(value)) fail("spec", "must be an object");
  const spec = value as Partial<MockGroupSpec>;
  requireString(spec.namespace, "namespace");
  requireString(spec.name, "name");
  requireString(spec.uid, "uid");
  requireString(spec.nodeName, "nodeName");
  if (
    spec.restartPolicy !== "Always" &&
    spec.restartPolicy !== "OnFailure" &&
    spec.restartPolicy !== "Never"
  ) {
    fail("restartPolicy", "must be Always, OnFailure or Never");
  }
  if (
    spec.tags !== undefined &&
    (!isRecord(spec.tags) || Object.values(spec.tags).some((v) => typeof v !== "string"))
  ) {
    fail("tags", "must be an object of strings");
  }
  if (spec.shape !== undefined) {
    const shape: unknown = spec.shape;
    if (!isRecord(shape)) fail("shape", "must be an object");
    requireString(shape.name, "shape.name");
    for (const key of ["cpu", "memory"] as const) {
      const amount = shape[key];
      if (typeof amount !== "number" || !Number.isFinite(amount) || amount <= 0)
        fail(`shape.${key}`, "must be a number > 0");
    }
  }
  optionalDuration(spec.startDelayMs, "startDelayMs");
  optionalDuration(spec.stopDelayMs, "stopDelayMs");
  if (!Array.isArray(spec.containers) || spec.containers.length === 0)
    fail("containers", "must be a non-empty array");
  if (!Array.isArray(spec.initContainers)) fail("initContainers", "must be an array");
  if (!Array.isArray(spec.volumes)) fail("volumes", "must be an array");
  spec.initContainers.forEach((c, i) => {
    checkContainer(c, `initContainers[${i}]`);
  });
  spec.containers.forEach((c, i) => {
    checkContainer(c, `containers[${i}]`);
  });
}

export function validateRef(value: unknown, field = "ref"): asserts value is MockRef {
  if (!isRecord(value)) fail(field, "must be an object");
  requireString(value.namespace, `${field}.namespace`);
  requireString(value.name, `${field}.name`);
  if (value.uid !== undefined && typeof value.uid !== "string") fail(`${field}.uid`, "must be a string");
}
