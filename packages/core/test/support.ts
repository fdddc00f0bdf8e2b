/**
 * Helpers for tests against the real control plane: one per run (vitest global setup); each test
 * isolates itself with its own namespace and node name.
 */
import { randomBytes } from "node:crypto";
import {
  AppsV1Api,
  BatchV1Api,
  CoordinationV1Api,
  CoreV1Api,
  type KubeConfig,
  type V1Pod,
} from "@kubernetes/client-node";
import { inject } from "vitest";
import { allocatePort, useControlPlane, type ControlPlaneHandle } from "@virtual-node/testing";
import {
  createConsoleLogger,
  createVirtualNode,
  type Provider,
  type VirtualNode,
  type VirtualNodeOptions,
} from "@virtual-node/core";

export async function controlPlane(): Promise<ControlPlaneHandle> {
  return useControlPlane(inject("controlPlane"));
}

export function uniqueName(prefix: string): string {
  return `${prefix}-${randomBytes(3).toString("hex")}`;
}

export interface Apis {
  core: CoreV1Api;
  apps: AppsV1Api;
  batch: BatchV1Api;
  coordination: CoordinationV1Api;
}

export function apis(kc: KubeConfig): Apis {
  return {
    core: kc.makeApiClient(CoreV1Api),
    apps: kc.makeApiClient(AppsV1Api),
    batch: kc.makeApiClient(BatchV1Api),
    coordination: kc.makeApiClient(CoordinationV1Api),
  };
}

/** Creates a namespace and waits for its `default` ServiceAccount (pods are refused until it exists). */
export async function createNamespace(api: Apis, name: string): Promise<void> {
  await api.core.createNamespace({ body: { metadata: { name } } });
  await waitFor(`default ServiceAccount in ${name}`, async () => {
    await api.core.readNamespacedServiceAccount({ name: "default", namespace: name });
    return true;
  });
}

/** Polls `check` until it returns a value other than undefined/false, or fails with the last state. */
export async function waitFor<T>(
  description: string,
  check: () => Promise<T | undefined | false> | T | undefined | false,
  options: { timeoutMs?: number; intervalMs?: number } = {},
): Promise<T> {
  const deadline = Date.now() + (options.timeoutMs ?? 60_000);
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined && value !== false) return value;
      last = value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `timed out waiting for ${description}; last: ${last instanceof Error ? last.message : JSON.stringify(last)}`,
      );
    }
    await new Promise((r) => setTimeout(r, options.intervalMs ?? 250));
  }
}

export interface RunningNode {
  node: VirtualNode;
  stop(): Promise<void>;
}

/**
 * Like {@link startNode}, with the kubelet API served on a free loopback port (what `kubectl logs`
 * and `exec` reach through the API server).
 */
export async function startNodeWithKubeletApi(
  kubeConfig: KubeConfig,
  nodeName: string,
  provider: Provider,
  overrides: Partial<VirtualNodeOptions> = {},
): Promise<RunningNode> {
  const port = await allocatePort();
  return startNode(kubeConfig, nodeName, provider, {
    kubeletPort: port,
    kubeletApi: { port, listenAddress: "127.0.0.1" },
    ...overrides,
  });
}

/** Starts a virtual node with test-friendly timings and waits until it is ready. */
export async function startNode(
  kubeConfig: KubeConfig,
  nodeName: string,
  provider: Provider,
  overrides: Partial<VirtualNodeOptions> = {},
): Promise<RunningNode> {
  const node = createVirtualNode({
    nodeName,
    provider,
    kubeConfig,
    internalIP: "127.0.0.1",
    logger: createConsoleLogger({ level: process.env.VIRTUAL_NODE_TEST_LOG === "1" ? "debug" : "error" }),
    statusPollFastMs: 200,
    statusPollSlowMs: 1_000,
    pingIntervalMs: 1_000,
    reconcileIntervalMs: 2_000,
    orphanGraceMs: 4_000,
    leaseRenewIntervalMs: 2_000,
    qps: 500,
    burst: 1000,
    shutdown: "leave",
    // Many nodes run at once in a test run: the kubelet API's default port would collide, so
    // tests that exercise it choose a free port (kubelet-api/support.ts).
    kubeletApi: { enabled: false },
    ...overrides,
  });
  const running = node.run();
  running.catch(() => undefined);
  await Promise.race([
    node.ready,
    running.then(() => Promise.reject(new Error("node stopped before ready"))),
  ]);
  return {
    node,
    stop: async () => {
      await node.stop();
    },
  };
}

/** A pod (bare or template) that lands on `nodeName`: toleration + nodeSelector. */
export function podSpecFor(
  nodeName: string,
  extra: Partial<NonNullable<V1Pod["spec"]>> = {},
): NonNullable<V1Pod["spec"]> {
  return {
    nodeSelector: { "kubernetes.io/hostname": nodeName },
    tolerations: [{ key: "virtual-kubelet.io/provider", operator: "Exists", effect: "NoSchedule" }],
    containers: [{ name: "app", image: "registry.example/app:1" }],
    ...extra,
  };
}

export async function listPods(api: Apis, namespace: string): Promise<V1Pod[]> {
  return (await api.core.listNamespacedPod({ namespace })).items;
}

export function isReady(pod: V1Pod): boolean {
  return (
    pod.status?.phase === "Running" &&
    (pod.status.conditions ?? []).some((c) => c.type === "Ready" && c.status === "True")
  );
}
