/**
 * One scenario's world: a namespace with a Secret, a mock cloud behind a proxy, the agent(s) as child
 * processes reaching the apiserver through their own proxy, and the closing secret scan.
 */
import { CoreV1Api } from "@kubernetes/client-node";
import { grantHaAgentRbac, type ControlPlaneHandle, type FaultProxy } from "@virtual-node/testing";

import {
  createNamespace,
  createSecret,
  proxiedKubeconfig,
  readAll,
  scanForSecrets,
  scenarioDir,
  startAgent,
  startProxiedCloud,
  uniqueName,
  withoutDesignatedSecretFields,
  type AgentProcess,
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
