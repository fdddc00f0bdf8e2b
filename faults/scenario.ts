/**
 * One scenario's world: a namespace with a Secret, a mock cloud behind a proxy, the agent(s) as child
 * processes reaching the apiserver through their own proxy, and the closing secret scan.
 */
import { CoreV1Api } from "@kubernetes/client-node";
import {
  grantHaAgentRbac,
  startControlPlane,
  type ControlPlane,
  type ControlPlaneHandle,
  type FaultProxy,
  type StartControlPlaneOptions,
} from "@virtual-node/testing";
import { afterAll, beforeAll, expect } from "vitest";

import {
  createDeployment,
  createNamespace,
  createSecret,
  podStarts,
  podTemplate,
  recreatedPods,
  restartedSince,
  scaleDeployment,
  waitConverged,
  proxiedKubeconfig,
  readAll,
  scanForSecrets,
  scenarioDir,
  startAgent,
  startProxiedCloud,
  uniqueName,
  withoutDesignatedSecretFields,
  type AgentProcess,
  type Convergence,
  type LeakScan,
  type ProxiedCloud,
} from "./support.js";
import type { AgentSpec } from "./agent.js";

export interface Scenario extends AsyncDisposable {
  readonly cp: ControlPlaneHandle;
  readonly dir: string;
  readonly namespace: string;
  readonly nodeName: string;
  readonly secretName: string;
  readonly cloud: ProxiedCloud;
  /** Proxy between the agents and the apiserver. */
  readonly apiProxy: FaultProxy;
  readonly kubeconfig: string;
  /** Every agent process started so far (the scan reads all their logs). */
  readonly agents: AgentProcess[];
  startAgent(
    name: string,
    extra?: Partial<Pick<AgentSpec, "highAvailability" | "options" | "nodeNames">>,
    wait?: { waitReady?: boolean },
  ): Promise<AgentProcess>;
  /** Scans every agent log and every cloud request so far for the Secret's values. */
  scan(): Promise<LeakScan & { designatedSecretFields: number }>;
  /**
   * Creates the Deployment `app` (pods on the scenario's node, with the Secret as env and volume), waits
   * until its `replicas` pods are Ready and in step with the cloud, and returns their containers' start
   * times (for {@link Scenario.podsKept}).
   */
  deployApp(replicas: number, timeoutMs: number): Promise<Map<string, string>>;
  /** Scales the Deployment `app`. */
  scaleApp(replicas: number): Promise<void>;
  /** Cuts the agents off the apiserver: open connections blackholed for good, new ones held. Returns how many were blackholed. */
  cutApiServer(): number;
  /** Lets new connections (and the held ones) flow again. */
  restoreApiServer(): void;
  /**
   * Waits until `want` pods converge (after `steps.before`, then `steps.after`, e.g. the node Ready), past
   * the goal so that the figure is measured even when the goal is missed; never throws (see
   * {@link expectRecovered}).
   */
  awaitRecovery(
    want: number,
    timeoutMs: number,
    steps?: { before?: () => Promise<unknown>; after?: () => Promise<unknown> },
  ): Promise<Recovery>;
  /** The pods of `startsBefore` that restarted since, and the pods the cloud created twice. */
  podsKept(startsBefore: Map<string, string>): Promise<{ restarted: string[]; recreated: string[] }>;
}

/** The outcome of {@link Scenario.awaitRecovery}: converged (at `at`), or the failure. */
export interface Recovery {
  readonly converged: Convergence | undefined;
  readonly failure: unknown;
  /** Date.now() when it had recovered (every step done). */
  readonly at: number | undefined;
}

/** Throws the recovery's failure, if any; checks the converged pods have no duplicate, orphan, missing or restarted pod. */
export function expectRecovered(recovery: Recovery): Convergence {
  const { converged, failure } = recovery;
  if (failure !== undefined) throw failure instanceof Error ? failure : new Error(JSON.stringify(failure));
  expect(converged).toMatchObject({ duplicates: 0, orphans: 0, missing: 0, restarts: 0 });
  return converged as Convergence;
}

/**
 * The apiserver without its watch cache (and without request limits): watches read etcd, so an etcd
 * compaction is what expires them (410 Gone).
 */
export const WITHOUT_WATCH_CACHE = {
  apiServerRequestLimits: false,
  extraArgs: { apiServer: ["--watch-cache=false"] },
} as const satisfies StartControlPlaneOptions;

/** A control plane of the test file's own: started before its tests, stopped after them. */
export function ownControlPlane(
  options: StartControlPlaneOptions | (() => Promise<StartControlPlaneOptions>),
) {
  let cp: ControlPlane | undefined;
  beforeAll(async () => {
    cp = await startControlPlane(typeof options === "function" ? await options() : options);
  });
  afterAll(async () => {
    await cp?.stop();
  });
  return (): ControlPlane => {
    if (cp === undefined) throw new Error("the file's control plane is not started (beforeAll failed?)");
    return cp;
  };
}

export interface ScenarioOptions {
  /**
   * The agents run as an HA agent group user with the documented RBAC (cluster role + the Leases of the
   * scenario's namespace, their HA namespace) instead of the node's own identity, which NodeRestriction
   * keeps out of Leases outside kube-node-lease. Default false.
   */
  readonly highAvailability?: boolean;
}

export async function openScenario(
  cp: ControlPlaneHandle,
  name: string,
  options: ScenarioOptions = {},
): Promise<Scenario> {
  const dir = await scenarioDir(name);
  const namespace = uniqueName(name);
  const nodeName = uniqueName(`vn-${name}`);
  await createNamespace(cp.kubeConfig, namespace);
  const secretName = "app-credentials";
  const secretValues = await createSecret(cp.kubeConfig, namespace, secretName);
  const cloud = await startProxiedCloud();
  let cleanUpRbac: (() => Promise<void>) | undefined;
  let identity;
  if (options.highAvailability === true) {
    const user = `virtual-node-${namespace}`;
    cleanUpRbac = await grantHaAgentRbac(cp.kubeConfig, { user, namespace });
    identity = await cp.mintClientIdentity({ user });
  } else {
    identity = await cp.nodeIdentity(nodeName);
  }
  const { proxy: apiProxy, kubeconfig } = await proxiedKubeconfig(identity.kubeconfigPath, cp.server, dir);
  const agents: AgentProcess[] = [];
  return {
    cp,
    dir,
    namespace,
    nodeName,
    secretName,
    cloud,
    apiProxy,
    kubeconfig,
    agents,
    async startAgent(agentName, extra = {}, wait = {}) {
      const agent = await startAgent(
        {
          dir,
          name: `${agentName}-${agents.length}`,
          kubeconfig,
          nodeNames: extra.nodeNames ?? [nodeName],
          cloudUrl: cloud.url,
          ...(extra.highAvailability === undefined ? {} : { highAvailability: extra.highAvailability }),
          ...(extra.options === undefined ? {} : { options: extra.options }),
        },
        wait,
      );
      agents.push(agent);
      return agent;
    },
    async deployApp(replicas, timeoutMs) {
      await createDeployment(
        cp.kubeConfig,
        namespace,
        "app",
        replicas,
        podTemplate(nodeName, secretName, "app"),
      );
      await waitConverged(cp.kubeConfig, cloud.cloud, namespace, replicas, timeoutMs);
      return podStarts(cp.kubeConfig, namespace);
    },
    async scaleApp(replicas) {
      await scaleDeployment(cp.kubeConfig, namespace, "app", replicas);
    },
    cutApiServer() {
      const blackholed = apiProxy.blackholeConnections();
      apiProxy.setFaults({ stall: true });
      return blackholed;
    },
    restoreApiServer() {
      apiProxy.setFaults({});
    },
    async awaitRecovery(want, timeoutMs, steps = {}) {
      try {
        await steps.before?.();
        const converged = await waitConverged(cp.kubeConfig, cloud.cloud, namespace, want, timeoutMs);
        await steps.after?.();
        return { converged, failure: undefined, at: Date.now() };
      } catch (failure) {
        return { converged: undefined, failure, at: undefined };
      }
    },
    async podsKept(startsBefore) {
      return {
        restarted: restartedSince(startsBefore, await podStarts(cp.kubeConfig, namespace)),
        recreated: await recreatedPods(cloud.cloud),
      };
    },
    async scan() {
      const logs = await readAll(agents.map((a) => a.logFile));
      const requests = withoutDesignatedSecretFields(cloud.requestText());
      return {
        ...scanForSecrets(secretValues, { ...logs, "cloud requests": requests.text }),
        designatedSecretFields: requests.designated,
      };
    },
    async [Symbol.asyncDispose]() {
      await Promise.all(agents.map((a) => a.kill()));
      await apiProxy.close();
      await cp.kubeConfig
        .makeApiClient(CoreV1Api)
        .deleteNamespace({ name: namespace })
        .catch(() => undefined);
      await cloud[Symbol.asyncDispose]();
      await cleanUpRbac?.();
    },
  };
}
