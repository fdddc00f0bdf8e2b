/**
 * Helpers for the kubelet API tests: a virtual node on the mock provider with the kubelet API on a
 * free port (InternalIP 127.0.0.1), pods on it, and the real kubectl against the shared control plane.
 */
import { spawn } from "node:child_process";
import type { KubeConfig, V1Pod } from "@kubernetes/client-node";
import { allocatePort, type ControlPlaneHandle } from "@virtual-node/testing";
import { createMockProvider, MockCloud, type MockProvider } from "@virtual-node/provider-mock";
import type { KubeletApiOptions, Provider, VirtualNodeOptions } from "@virtual-node/core";
import {
  apis,
  createNamespace,
  isReady,
  podSpecFor,
  startNode,
  uniqueName,
  waitFor,
  type Apis,
  type RunningNode,
} from "../support.js";

export interface KubeletNode {
  nodeName: string;
  port: number;
  provider: MockProvider;
  cloud: MockCloud;
  running: RunningNode;
  stop(): Promise<void>;
}

/** A node with the kubelet API served on a free port, running as `system:node:<name>`. */
export async function startKubeletNode(
  cp: ControlPlaneHandle,
  options: {
    prefix?: string;
    kubeletApi?: KubeletApiOptions;
    overrides?: Partial<VirtualNodeOptions>;
    kubeConfig?: KubeConfig;
    /** Serve through a copy of the provider without the kubelet API hooks (to see the 501s). */
    withoutHooks?: boolean;
  } = {},
): Promise<KubeletNode> {
  const nodeName = uniqueName(options.prefix ?? "vn-kapi");
  const port = await allocatePort();
  const identity = await cp.nodeIdentity(nodeName);
  const cloud = new MockCloud({ hostIP: "127.0.0.1", logs: { intervalMs: 200, maxLines: 2000 } });
  const provider = createMockProvider({ cloud, kubeletHooks: { pollIntervalMs: 100 } });
  const served: Provider = options.withoutHooks === true ? withoutKubeletHooks(provider) : provider;
  const running = await startNode(options.kubeConfig ?? identity.kubeConfig, nodeName, served, {
    kubeletPort: port,
    kubeletApi: { port, listenAddress: "127.0.0.1", ...options.kubeletApi },
    ...options.overrides,
  });
  return {
    nodeName,
    port,
    provider,
    cloud,
    running,
    stop: async () => {
      await running.stop();
      cloud.dispose();
    },
  };
}

/** The provider without logs/exec/attach/port-forward/stats hooks. */
export function withoutKubeletHooks(provider: MockProvider): Provider {
  return {
    name: provider.name,
    capabilities: provider.capabilities,
    createPod: (pod, o) => provider.createPod(pod, o),
    updatePod: (pod, o) => provider.updatePod(pod, o),
    deletePod: (ref, grace, o) => provider.deletePod(ref, grace, o),
    getPodStatus: (ref, o) => provider.getPodStatus(ref, o),
    listPods: (nodeName, o) => provider.listPods(nodeName, o),
  };
}

/** Creates a pod on the node (container `app`, declared port 8080) and waits until it is Ready. */
export async function runPod(
  api: Apis,
  namespace: string,
  nodeName: string,
  name: string,
  extra: Partial<NonNullable<V1Pod["spec"]>> = {},
  annotations: Record<string, string> = {},
): Promise<V1Pod> {
  await api.core.createNamespacedPod({
    namespace,
    body: {
      metadata: { name, annotations },
      spec: podSpecFor(nodeName, {
        containers: [
          {
            name: "app",
            image: "registry.example/app:1",
            ports: [{ containerPort: 8080, protocol: "TCP" }],
            env: [{ name: "GREETING", value: "hello" }],
          },
        ],
        ...extra,
      }),
    },
  });
  return waitFor(`pod ${namespace}/${name} ready`, async () => {
    const pod = await api.core.readNamespacedPod({ name, namespace });
    return isReady(pod) ? pod : undefined;
  });
}

export async function newNamespace(api: Apis, prefix = "kapi"): Promise<string> {
  const ns = uniqueName(prefix);
  await createNamespace(api, ns);
  return ns;
}

export interface KubectlResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs the real kubectl with the admin kubeconfig (or `kubeconfig`). */
export function kubectl(
  cp: ControlPlaneHandle,
  args: readonly string[],
  options: {
    stdin?: string | Buffer;
    timeoutMs?: number;
    kubeconfig?: string;
    env?: Record<string, string>;
  } = {},
): Promise<KubectlResult> {
  const binary = cp.binaries.kubectl;
  if (binary === undefined) throw new Error("kubectl binary not available from the control plane");
  return new Promise((resolve, reject) => {
    const child = spawn(binary, ["--kubeconfig", options.kubeconfig ?? cp.kubeconfigPath, ...args], {
      stdio: ["pipe", "pipe", "pipe"],
      env: { ...process.env, ...options.env },
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on("data", (c: Buffer) => out.push(c));
    child.stderr.on("data", (c: Buffer) => err.push(c));
    const timer = setTimeout(() => child.kill("SIGKILL"), options.timeoutMs ?? 60_000);
    child.on("error", reject);
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      resolve({
        code,
        signal,
        stdout: Buffer.concat(out).toString("utf8"),
        stderr: Buffer.concat(err).toString("utf8"),
      });
    });
    child.stdin.on("error", () => undefined);
    if (options.stdin !== undefined) child.stdin.end(options.stdin);
    else child.stdin.end();
  });
}

/** A running kubectl whose output can be awaited piece by piece (logs -f, attach, port-forward). */
export interface KubectlProcess {
  readonly stdout: () => string;
  readonly stderr: () => string;
  waitForOutput(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  write(data: string): void;
  endInput(): void;
  kill(): Promise<void>;
  exited: Promise<number | null>;
}

export function spawnKubectl(
  cp: ControlPlaneHandle,
  args: readonly string[],
  options: { kubeconfig?: string } = {},
): KubectlProcess {
  const binary = cp.binaries.kubectl;
  if (binary === undefined) throw new Error("kubectl binary not available from the control plane");
  const child = spawn(binary, ["--kubeconfig", options.kubeconfig ?? cp.kubeconfigPath, ...args], {
    stdio: ["pipe", "pipe", "pipe"],
  });
  let out = "";
  let err = "";
  child.stdout.on("data", (c: Buffer) => (out += c.toString("utf8")));
  child.stderr.on("data", (c: Buffer) => (err += c.toString("utf8")));
  child.stdin.on("error", () => undefined);
  const exited = new Promise<number | null>((resolve) =>
    child.on("close", (code) => {
      resolve(code);
    }),
  );
  return {
    stdout: () => out,
    stderr: () => err,
    waitForOutput: async (pattern, timeoutMs = 30_000) => {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const m = pattern.exec(out);
        if (m !== null) return m;
        if (Date.now() > deadline)
          throw new Error(
            `timed out waiting for ${String(pattern)}; stdout: ${out.slice(-500)}; stderr: ${err.slice(-500)}`,
          );
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    write: (data) => child.stdin.write(data),
    endInput: () => child.stdin.end(),
    kill: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
      await exited;
    },
    exited,
  };
}

export { apis, uniqueName, waitFor, type Apis };
