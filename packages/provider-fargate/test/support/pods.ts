/** Pods for the Fargate tests, built on the conformance suite's resolved-pod helper. */
import type {
  Container,
  ResolvedContainer,
  ResolvedEnvVar,
  ResolvedPod,
  ResolvedVolume,
} from "@virtual-node/core";
import { makeResolvedPod } from "@virtual-node/testing/conformance";
import { resolveFargateOptions } from "../../src/options.js";
import type { FargateProviderOptions, ResolvedFargateOptions } from "../../src/options.js";

/** Options used by the tests (valid IDs and ARNs). */
export function testOptions(extra: Partial<FargateProviderOptions> = {}): ResolvedFargateOptions {
  return resolveFargateOptions({
    cluster: "vn-test",
    region: "us-east-1",
    subnets: ["subnet-0a1b2c"],
    securityGroups: ["sg-0a1b2c"],
    executionRoleArn: "arn:aws:iam::123456789012:role/vn-exec",
    logGroup: "/vn/test",
    ...extra,
  });
}

export interface PodParts {
  containers?: (Partial<Container> & { name: string })[];
  initContainers?: (Partial<Container> & { name: string })[];
  env?: Record<string, ResolvedEnvVar[]>;
  volumes?: ResolvedVolume[];
  annotations?: Record<string, string>;
  spec?: Record<string, unknown>;
  uid?: string;
  name?: string;
}

/** A resolved pod with the given containers (each resolved with its own command/args/env). */
export function pod(parts: PodParts = {}): ResolvedPod {
  const base = makeResolvedPod({
    nodeName: "vn-fargate",
    ...(parts.uid === undefined ? {} : { uid: parts.uid }),
    ...(parts.name === undefined ? {} : { name: parts.name }),
    annotations: parts.annotations ?? {},
  });
  const spec = base.pod.spec;
  if (spec === undefined) throw new Error("no spec");
  const containers = (
    parts.containers ?? [{ name: "main", image: "busybox:1.36", command: ["sleep", "3600"] }]
  ).map((c): Container => ({ image: "busybox:1.36", ...c }));
  const inits = (parts.initContainers ?? []).map((c): Container => ({ image: "busybox:1.36", ...c }));
  spec.containers = containers;
  spec.initContainers = inits;
  Object.assign(spec, parts.spec ?? {});
  const volumes = parts.volumes ?? [];
  spec.volumes = volumes.map((v) => ({ name: v.name, [v.kind]: {} }));
  const resolve = (c: Container): ResolvedContainer => ({
    name: c.name,
    env:
      parts.env?.[c.name] ??
      (c.env ?? []).map((e) => ({
        name: e.name,
        value: e.value ?? "",
        secret: false,
        source: { kind: "value" as const },
      })),
    command: c.command,
    args: c.args,
  });
  return { ...base, initContainers: inits.map(resolve), containers: containers.map(resolve), volumes };
}

/** A resolved env var from a Secret key. */
export function secretEnv(name: string, secretName: string, key: string, value: string): ResolvedEnvVar {
  return { name, value, secret: true, source: { kind: "secret", name: secretName, key } };
}

const encoder = new TextEncoder();

/** A resolved file volume. */
export function fileVolume(
  name: string,
  kind: string,
  files: Record<string, string>,
  secretName?: string,
): ResolvedVolume {
  return {
    name,
    kind,
    files: Object.entries(files).map(([path, text]) => ({
      path,
      content: encoder.encode(text),
      mode: 0o644,
      secret: secretName !== undefined,
      ...(secretName === undefined
        ? {}
        : { source: { kind: "secret" as const, name: secretName, key: path } }),
    })),
  };
}
