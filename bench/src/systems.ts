/**
 * The four systems under test, started as separate processes that cannot outlive the harness
 * (`spawnComponent`), each on a fresh node name (or names) and with its own client certificate.
 */
import { access, mkdir, writeFile } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

import type { KubeClient } from "@virtual-node/core/kube";
import {
  allocatePorts,
  createCertificateAuthority,
  issueCertificate,
  spawnComponent,
  type ComponentProcess,
} from "@virtual-node/testing";

import type { AgentJob } from "./children/vn-agent.js";
import type { RawJob } from "./children/raw-writer.js";
import { inBatches } from "./kube.js";
import { snapshotAgent } from "./snapshot.js";
import type { SystemId } from "./options.js";
import { kwokStagesConfig, type BuiltTools } from "./tools.js";

const here = dirname(fileURLToPath(import.meta.url));
/** Compiled child entry points live in dist/children (also when this module runs from src/, as in tests). */
export const childScript = (name: "vn-agent" | "raw-writer" | "load" | "cloud-agent" | "cloud-sim"): string =>
  join(here, basename(here) === "src" ? join("..", "dist") : ".", "children", `${name}.js`);

export interface SystemContext {
  readonly tools: BuiltTools;
  /** Admin-equivalent client certificate (group system:masters) per system. */
  readonly kubeconfigs: Readonly<Record<SystemId, string>>;
  readonly admin: KubeClient;
  readonly logDir: string;
  /** Client-side QPS for the agents; 0 = unlimited. */
  readonly clientQps: number;
  /** virtual-kubelet with its stock throttles. */
  readonly vkStock: boolean;
  /** virtual-kubelet --pod-sync-workers. */
  readonly vkWorkers: number;
  /** Extra options for the virtual-node agent. */
  readonly vnOptions: Readonly<Record<string, number | string | boolean>>;
  /** Extra node flags for the virtual-node agent only. */
  readonly vnNodeArgs: readonly string[];
  readonly profileDir: string | undefined;
  /** Snapshot folder that `virtual-node-before` runs (see snapshot.ts). */
  readonly beforeDir: string;
  /** Unique per run: labels the nodes KWOK is to manage. */
  readonly runId: string;
}

export interface RunningAgent {
  readonly processes: readonly ComponentProcess[];
  pids(): number[];
  alive(): boolean;
  stop(): Promise<void>;
}

function running(processes: ComponentProcess[]): RunningAgent {
  return {
    processes,
    pids: () => processes.map((p) => p.pid).filter((p): p is number => p !== undefined),
    alive: () => processes.every((p) => p.exitStatus() === undefined),
    stop: async () => {
      await Promise.all(processes.map((p) => p.stop({ timeoutMs: 15_000 })));
    },
  };
}

let serving: Promise<{ certPath: string; keyPath: string }> | undefined;

/** virtual-kubelet refuses to start without a serving key pair for its kubelet API. */
async function servingCert(dir: string): Promise<{ certPath: string; keyPath: string }> {
  serving ??= (async () => {
    const ca = await createCertificateAuthority({ commonName: "virtual-node-bench-kubelet-ca" });
    const pair = await issueCertificate(ca, {
      commonName: "virtual-kubelet",
      dnsNames: ["localhost"],
      ipAddresses: ["127.0.0.1"],
      usages: ["server"],
    });
    await mkdir(dir, { recursive: true });
    const certPath = join(dir, "kubelet.crt");
    const keyPath = join(dir, "kubelet.key");
    await writeFile(certPath, pair.certPem);
    await writeFile(keyPath, pair.keyPem, { mode: 0o600 });
    return { certPath, keyPath };
  })();
  return serving;
}

export interface SystemUnderTest {
  readonly id: SystemId;
  /** Nodes one process serves (virtual-kubelet: 1). */
  readonly nodesPerProcess: number;
  /** Starts the agent for `nodeNames`; the caller then waits for the nodes to be Ready. */
  start(nodeNames: readonly string[], ctx: SystemContext, label: string): Promise<RunningAgent>;
}

/**
 * The node flags the shipped agent image runs with (deploy/Dockerfile's ENTRYPOINT): the benchmark
 * measures the agent as deployed. Both virtual-node systems get them; `--vn-node-arg` adds to them.
 */
export const AGENT_NODE_FLAGS: readonly string[] = ["--max-semi-space-size=8", "--heap-growing-percent=50"];

const nodeScript = (
  script: string,
  job: unknown,
  ctx: SystemContext,
  name: string,
  nodeArgs: readonly string[] = [],
): ComponentProcess =>
  spawnComponent({
    name,
    command: process.execPath,
    args: [
      ...nodeArgs,
      ...(ctx.profileDir === undefined ? [] : ["--cpu-prof", `--cpu-prof-dir=${ctx.profileDir}`]),
      script,
      JSON.stringify(job),
    ],
    logFile: join(ctx.logDir, `${name}.log`),
  });

export const virtualNode: SystemUnderTest = {
  id: "virtual-node",
  nodesPerProcess: Number.POSITIVE_INFINITY,
  start: (nodeNames, ctx, label) => {
    const job: AgentJob = {
      kubeconfig: ctx.kubeconfigs["virtual-node"],
      nodeNames,
      qps: ctx.clientQps,
      options: ctx.vnOptions,
    };
    return Promise.resolve(
      running([
        nodeScript(childScript("vn-agent"), job, ctx, `${label}-virtual-node`, [
          ...AGENT_NODE_FLAGS,
          ...ctx.vnNodeArgs,
        ]),
      ]),
    );
  },
};

/** The same agent from a snapshot of earlier builds (`npm run bench -- snapshot`): before/after in one run. */
export const virtualNodeBefore: SystemUnderTest = {
  id: "virtual-node-before",
  nodesPerProcess: Number.POSITIVE_INFINITY,
  start: async (nodeNames, ctx, label) => {
    const script = snapshotAgent(ctx.beforeDir);
    await access(script).catch(() => {
      throw new Error(`${script} is missing: run npm run bench -- snapshot first`);
    });
    const job: AgentJob = {
      kubeconfig: ctx.kubeconfigs["virtual-node-before"],
      nodeNames,
      qps: ctx.clientQps,
      options: ctx.vnOptions,
    };
    return running([nodeScript(script, job, ctx, `${label}-virtual-node-before`, AGENT_NODE_FLAGS)]);
  },
};

export const rawWriter: SystemUnderTest = {
  id: "raw-writer",
  nodesPerProcess: Number.POSITIVE_INFINITY,
  start: (nodeNames, ctx, label) => {
    const job: RawJob = { kubeconfig: ctx.kubeconfigs["raw-writer"], nodeNames, pods: true };
    const ctxNoProfile = { ...ctx, profileDir: undefined };
    return Promise.resolve(
      running([nodeScript(childScript("raw-writer"), job, ctxNoProfile, `${label}-raw-writer`)]),
    );
  },
};

export const virtualKubelet: SystemUnderTest = {
  id: "virtual-kubelet",
  nodesPerProcess: 1,
  start: async (nodeNames, ctx, label) => {
    const { certPath, keyPath } = await servingCert(join(ctx.logDir, "vk-serving"));
    const config = join(ctx.logDir, `${label}-vk-provider.json`);
    const capacity = { cpu: "1000", memory: "4Ti", pods: "110000" };
    await writeFile(config, JSON.stringify(Object.fromEntries(nodeNames.map((n) => [n, capacity]))));
    const ports = await allocatePorts(nodeNames.length * 2);
    const qps = ctx.clientQps === 0 ? "-1" : String(ctx.clientQps);
    const processes = nodeNames.map((nodeName, i) =>
      spawnComponent({
        name: `${label}-virtual-kubelet-${i}`,
        command: ctx.tools.virtualKubelet.path,
        args: [
          "--provider=mock",
          `--provider-config=${config}`,
          `--nodename=${nodeName}`,
          `--kubeconfig=${ctx.kubeconfigs["virtual-kubelet"]}`,
          `--metrics-addr=127.0.0.1:${ports[2 * i + 1] ?? 0}`,
          "--log-level=warn",
          `--pod-sync-workers=${ctx.vkWorkers}`,
        ],
        env: {
          ...process.env,
          KUBELET_PORT: String(ports[2 * i] ?? 0),
          APISERVER_CERT_LOCATION: certPath,
          APISERVER_KEY_LOCATION: keyPath,
          VKUBELET_POD_IP: "127.0.0.1",
          ...(ctx.vkStock
            ? {}
            : {
                VK_CLIENT_QPS: qps,
                VK_CLIENT_BURST: ctx.clientQps === 0 ? "0" : String(ctx.clientQps * 2),
                VK_QUEUE_UNLIMITED: "1",
              }),
        },
        logFile: join(ctx.logDir, `${label}-virtual-kubelet-${i}.log`),
      }),
    );
    return running(processes);
  },
};

export const kwok: SystemUnderTest = {
  id: "kwok",
  nodesPerProcess: Number.POSITIVE_INFINITY,
  start: async (nodeNames, ctx, label) => {
    // KWOK fakes nodes that someone else created: create them (as the harness) for it to manage.
    const selector = `virtual-node.io/bench-run=${ctx.runId}`;
    await inBatches(nodeNames, 32, async (name) => {
      await ctx.admin.create("/api/v1/nodes", {
        apiVersion: "v1",
        kind: "Node",
        metadata: {
          name,
          annotations: { "kwok.x-k8s.io/node": "fake" },
          labels: { type: "kwok", "kubernetes.io/hostname": name, "virtual-node.io/bench-run": ctx.runId },
        },
        spec: { taints: [{ key: "virtual-kubelet.io/provider", value: "kwok", effect: "NoSchedule" }] },
        status: {
          capacity: { cpu: "1000", memory: "4Ti", pods: "110000" },
          allocatable: { cpu: "1000", memory: "4Ti", pods: "110000" },
        },
      });
    });
    const config = join(ctx.logDir, "kwok-stages.yaml");
    await writeFile(config, await kwokStagesConfig(ctx.tools.kwok));
    const proc = spawnComponent({
      name: `${label}-kwok`,
      command: ctx.tools.kwok.path,
      args: [
        `--kubeconfig=${ctx.kubeconfigs.kwok}`,
        `--config=${config}`,
        `--manage-nodes-with-label-selector=${selector}`,
        "--node-ip=127.0.0.1",
        "--cidr=10.64.0.0/10",
        "--node-lease-duration-seconds=40",
      ],
      // KWOK reads ~/.kwok/kwok.yaml unless --config is given; keep its work dir away from the user's.
      env: { ...process.env, KWOK_WORKDIR: join(ctx.logDir, "kwok-workdir") },
      logFile: join(ctx.logDir, `${label}-kwok.log`),
    });
    return running([proc]);
  },
};

export const SYSTEMS: Readonly<Record<SystemId, SystemUnderTest>> = {
  "virtual-node": virtualNode,
  "virtual-node-before": virtualNodeBefore,
  "virtual-kubelet": virtualKubelet,
  kwok,
  "raw-writer": rawWriter,
};
