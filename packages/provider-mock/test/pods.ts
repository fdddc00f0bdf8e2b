import type { Container, ProviderPodStatus, ResolvedPod, ResolvedVolume } from "@virtual-node/core";
import { buildPodStatus } from "@virtual-node/core/status";

export interface TestPodOptions {
  name?: string;
  namespace?: string;
  uid?: string;
  nodeName?: string;
  restartPolicy?: "Always" | "OnFailure" | "Never";
  annotations?: Record<string, string>;
  containers?: Partial<Container>[];
  initContainers?: Partial<Container>[];
  volumes?: ResolvedVolume[];
  env?: ResolvedPod["containers"][number]["env"];
}

let counter = 0;

/** A resolved pod with one container `app` unless told otherwise. */
export function testPod(options: TestPodOptions = {}): ResolvedPod {
  counter++;
  const name = options.name ?? `pod-${counter}`;
  const namespace = options.namespace ?? "default";
  const uid = options.uid ?? `uid-${name}-${counter}`;
  const nodeName = options.nodeName ?? "vn-test";
  const containers: Container[] = (options.containers ?? [{}]).map((c, i) => ({
    name: `app${i === 0 ? "" : String(i)}`,
    image: "busybox:1.36",
    ...c,
  }));
  const initContainers: Container[] = (options.initContainers ?? []).map((c, i) => ({
    name: `init${i}`,
    image: "busybox:1.36",
    ...c,
  }));
  return {
    ref: { namespace, name, uid },
    nodeName,
    pod: {
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name, namespace, uid, annotations: options.annotations ?? {} },
      spec: {
        nodeName,
        restartPolicy: options.restartPolicy ?? "Always",
        containers,
        ...(initContainers.length > 0 ? { initContainers } : {}),
        volumes: (options.volumes ?? []).map((v) => ({ name: v.name, [v.kind]: {} })),
      },
    },
    initContainers: initContainers.map((c) => ({ name: c.name, env: [], command: c.command, args: c.args })),
    containers: containers.map((c, i) => ({
      name: c.name,
      env: i === 0 ? (options.env ?? []) : [],
      command: c.command,
      args: c.args,
    })),
    volumes: options.volumes ?? [],
  };
}

export function signal(): { signal: AbortSignal } {
  return { signal: new AbortController().signal };
}

/**
 * The phase core writes for `pod` given what the mock reports: the mock states none of its own, so
 * its statuses are judged through core's one derivation (`buildPodStatus`, the kubelet's rules).
 */
export function corePhase(pod: ResolvedPod, status: ProviderPodStatus | undefined): string | undefined {
  if (status === undefined) return undefined;
  return buildPodStatus(pod.pod, status, { now: new Date(0), runtime: "mock" }).phase;
}
