/**
 * deploy/ against the real control plane: the mock overlay is rendered with the harness's kubectl
 * (`kubectl kustomize`), applied with kubectl, and the agent then runs as a local process with
 * exactly that ServiceAccount's token until a Deployment's pod on its node is Ready — the RBAC is
 * sufficient. A copy of the RBAC without the `pods/status` rule shows one permission fewer breaks it,
 * visibly: the agent logs the forbidden verb and the pod never turns Ready.
 */
import { execFile } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseAllDocuments, stringify } from "yaml";
import { allocatePort, type ControlPlaneHandle } from "@virtual-node/testing";
import {
  apis,
  controlPlane,
  createNamespace,
  isReady,
  podSpecFor,
  uniqueName,
  waitFor,
  type Apis,
} from "../../core/test/support.js";
import { get, startAgentProcess, type AgentProcess } from "./agent-process.js";

const run = promisify(execFile);
const overlay = fileURLToPath(new URL("../../../deploy/overlays/mock", import.meta.url));
const AGENT_NAMESPACE = "virtual-node";

type Manifest = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string };
  rules?: { apiGroups: string[]; resources: string[]; verbs: string[] }[];
  roleRef?: { kind: string; name: string; apiGroup: string };
  subjects?: { kind: string; name: string; namespace?: string }[];
  spec?: unknown;
};

describe("deploy/ manifests with the real control plane", () => {
  let cp: ControlPlaneHandle;
  let api: Apis;
  let kubectl: string;
  let manifests: Manifest[];
  let workloads: string;
  const dir = mkdtempSync(join(tmpdir(), "vn-deploy-"));
  const agents: AgentProcess[] = [];
  const nodes: string[] = [];
  const minus: Manifest[] = [];

  const kubectlRun = async (args: string[], input?: string): Promise<string> => {
    const child = run(kubectl, ["--kubeconfig", cp.kubeconfigPath, ...args], { maxBuffer: 16 << 20 });
    if (input !== undefined) {
      child.child.stdin?.end(input);
    }
    return (await child).stdout;
  };

  /** A kubeconfig holding nothing but `token` for the cluster. */
  const tokenKubeconfig = (name: string, token: string): string => {
    const path = join(dir, `${name}.kubeconfig`);
    writeFileSync(
      path,
      stringify({
        apiVersion: "v1",
        kind: "Config",
        clusters: [
          {
            name: "cp",
            cluster: {
              server: cp.server,
              "certificate-authority-data": Buffer.from(cp.caCertPem).toString("base64"),
            },
          },
        ],
        users: [{ name, user: { token } }],
        contexts: [{ name, context: { cluster: "cp", user: name } }],
        "current-context": name,
      }),
    );
    return path;
  };

  const startAgent = async (
    name: string,
    kubeconfig: string,
    nodeName: string,
    extra = "",
  ): Promise<{ agent: AgentProcess; url: string }> => {
    const port = await allocatePort();
    const config = join(dir, `${name}.yaml`);
    writeFileSync(
      config,
      `apiVersion: virtual-node.io/v1alpha1
kind: AgentConfig
kubeletApi: { port: ${String(port)}, listenAddress: 127.0.0.1 }
tuning: { pingIntervalMs: 1000, statusPollFastMs: 200, leaseRenewIntervalMs: 2000, maxRetryDelayMs: 2000 }
${extra}
nodes:
  - name: ${nodeName}
    internalIP: 127.0.0.1
    provider: { name: mock }
`,
    );
    if (!nodes.includes(nodeName)) nodes.push(nodeName);
    const agent = startAgentProcess(["run", "--config", config, "--kubeconfig", kubeconfig, "--port", "0"]);
    agents.push(agent);
    const listening = await agent.waitForLog(
      (r) => r.msg === "health and metrics endpoint listening",
      180_000,
    );
    return { agent, url: listening.url as string };
  };

  const deployTo = async (nodeName: string): Promise<void> => {
    await api.apps.createNamespacedDeployment({
      namespace: workloads,
      body: {
        metadata: { name: nodeName },
        spec: {
          replicas: 1,
          selector: { matchLabels: { app: nodeName } },
          template: { metadata: { labels: { app: nodeName } }, spec: podSpecFor(nodeName) },
        },
      },
    });
  };

  const podOn = async (nodeName: string) =>
    (await api.core.listNamespacedPod({ namespace: workloads })).items.find(
      (p) => p.spec?.nodeName === nodeName,
    );

  beforeAll(async () => {
    cp = await controlPlane();
    api = apis(cp.kubeConfig);
    if (cp.binaries.kubectl === undefined) throw new Error("the harness built no kubectl");
    kubectl = cp.binaries.kubectl;
    workloads = uniqueName("deploy-workloads");
    await createNamespace(api, workloads);
  });

  afterAll(async () => {
    await Promise.all(agents.map((a) => a.stop("SIGKILL")));
    for (const name of nodes) await api.core.deleteNode({ name }).catch(() => undefined);
    await api.core.deleteNamespace({ name: workloads }).catch(() => undefined);
    if (minus.length > 0)
      await kubectlRun(
        ["delete", "--ignore-not-found", "-f", "-"],
        minus.map((m) => stringify(m)).join("---\n"),
      ).catch(() => undefined);
  });

  it("renders the mock overlay and applies it with kubectl (the API server accepts every object)", async () => {
    const rendered = (await run(kubectl, ["kustomize", overlay])).stdout;
    manifests = parseAllDocuments(rendered).map((d) => d.toJS() as Manifest);
    const kinds = manifests.map((m) => m.kind).sort();
    expect(kinds).toEqual(
      [
        "ClusterRole",
        "ClusterRoleBinding",
        "ConfigMap",
        "Deployment",
        "Namespace",
        "NetworkPolicy",
        "PodDisruptionBudget",
        "Role",
        "Role",
        "RoleBinding",
        "RoleBinding",
        "Service",
        "ServiceAccount",
      ].sort(),
    );
    // No wildcard anywhere in the RBAC.
    for (const m of manifests)
      for (const rule of m.rules ?? [])
        expect([...rule.verbs, ...rule.resources, ...rule.apiGroups]).not.toContain("*");
    const applied = await kubectlRun(["apply", "-f", "-"], rendered);
    expect(applied).toContain("deployment.apps/virtual-node");
    // The agent image cannot run here (no container runtime); the Deployment was validated by the API
    // server, now scale it away so its Pending pods do not linger. Its 2 replicas are checked as written.
    const deployment = manifests.find((m) => m.kind === "Deployment");
    expect((deployment?.spec as { replicas: number }).replicas).toBe(2);
    await kubectlRun(["scale", "deployment/virtual-node", "-n", AGENT_NAMESPACE, "--replicas=0"]);
  });

  it("the agent with exactly the ServiceAccount's token runs a node until a pod is Ready", async () => {
    const token = (
      await kubectlRun(["create", "token", "virtual-node", "-n", AGENT_NAMESPACE, "--duration=1h"])
    ).trim();
    const nodeName = uniqueName("vn-deploy");
    const { agent, url } = await startAgent("full", tokenKubeconfig("full", token), nodeName);
    await agent.waitForLog((r) => r.msg === "ready", 90_000);
    await deployTo(nodeName);
    await waitFor(
      "the pod Ready on the node",
      async () => {
        const pod = await podOn(nodeName);
        return pod !== undefined && isReady(pod);
      },
      { timeoutMs: 90_000 },
    );
    await waitFor("/readyz 200", async () => (await get(`${url}/readyz`)).status === 200);
    const forbidden = agent.lines.filter((l) => /forbidden/i.test(l.raw));
    expect(forbidden.map((l) => l.raw)).toEqual([]);
    expect(await agent.stop("SIGTERM")).toBe(0);
  });

  it("two HA replicas with the ServiceAccount's token: one owns the node, the other takes over on SIGTERM", async () => {
    const token = (
      await kubectlRun(["create", "token", "virtual-node", "-n", AGENT_NAMESPACE, "--duration=1h"])
    ).trim();
    const kubeconfig = tokenKubeconfig("ha", token);
    const nodeName = uniqueName("vn-ha");
    const ha = `highAvailability: { namespace: ${AGENT_NAMESPACE}, leaseDurationSeconds: 6, renewDeadlineSeconds: 4, retryPeriodSeconds: 1 }`;
    const replicas = await Promise.all([
      startAgent("ha-a", kubeconfig, nodeName, `${ha.slice(0, -2)}, identity: replica-a }`),
      startAgent("ha-b", kubeconfig, nodeName, `${ha.slice(0, -2)}, identity: replica-b }`),
    ] as const);
    await Promise.all(replicas.map(({ agent }) => agent.waitForLog((r) => r.msg === "ready", 90_000)));
    const owns = async (url: string): Promise<boolean> => {
      const body = JSON.parse((await get(`${url}/readyz`)).body) as {
        checks: { name: string; message?: string }[];
      };
      return body.checks.find((c) => c.name === "high-availability")?.message === `owns ${nodeName}`;
    };
    const owner = await waitFor(
      "one replica owning the node",
      async () => {
        const owning = [];
        for (const r of replicas) if (await owns(r.url)) owning.push(r);
        return owning.length === 1 ? owning[0] : undefined;
      },
      { timeoutMs: 60_000 },
    );
    const standby = replicas.find((r) => r !== owner);
    if (standby === undefined) throw new Error("no standby replica");
    await deployTo(nodeName);
    await waitFor(
      "the pod Ready through the owner",
      async () => {
        const pod = await podOn(nodeName);
        return pod !== undefined && isReady(pod);
      },
      { timeoutMs: 90_000 },
    );

    expect(await owner.agent.stop("SIGTERM")).toBe(0);
    await waitFor("the standby taking the node over", () => owns(standby.url), { timeoutMs: 30_000 });
    await kubectlRun(["scale", `deployment/${nodeName}`, "-n", workloads, "--replicas=2"]);
    await waitFor(
      "both pods Ready through the new owner",
      async () => {
        const pods = (await api.core.listNamespacedPod({ namespace: workloads })).items.filter(
          (p) => p.spec?.nodeName === nodeName,
        );
        return pods.length === 2 && pods.every(isReady);
      },
      { timeoutMs: 90_000 },
    );
    const forbidden = [...owner.agent.lines, ...standby.agent.lines].filter((l) => /forbidden/i.test(l.raw));
    expect(forbidden.map((l) => l.raw)).toEqual([]);
    expect(await standby.agent.stop("SIGTERM")).toBe(0);
  });

  it("without the pods/status rule the agent fails visibly: it logs the forbidden verb and the pod never turns Ready", async () => {
    const suffix = "-minus-pods-status";
    const sa = `virtual-node${suffix}`;
    minus.push({
      apiVersion: "v1",
      kind: "ServiceAccount",
      metadata: { name: sa, namespace: AGENT_NAMESPACE },
    });
    for (const m of manifests) {
      if (!["ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding"].includes(m.kind)) continue;
      const copy = structuredClone(m);
      copy.metadata = { ...copy.metadata, name: `${m.metadata.name}${suffix}` };
      if (copy.rules) copy.rules = copy.rules.filter((r) => !r.resources.includes("pods/status"));
      if (copy.roleRef) copy.roleRef = { ...copy.roleRef, name: `${copy.roleRef.name}${suffix}` };
      if (copy.subjects) copy.subjects = [{ kind: "ServiceAccount", name: sa, namespace: AGENT_NAMESPACE }];
      minus.push(copy);
    }
    const clusterRole = minus.find((m) => m.kind === "ClusterRole");
    const original = manifests.find((m) => m.kind === "ClusterRole");
    expect(clusterRole?.rules?.length).toBe((original?.rules?.length ?? 0) - 1);
    await kubectlRun(["apply", "-f", "-"], minus.map((m) => stringify(m)).join("---\n"));
    const token = (await kubectlRun(["create", "token", sa, "-n", AGENT_NAMESPACE, "--duration=1h"])).trim();

    const nodeName = uniqueName("vn-minus");
    const { agent } = await startAgent("minus", tokenKubeconfig("minus", token), nodeName);
    await agent.waitForLog((r) => r.msg === "ready", 90_000);
    await deployTo(nodeName);
    const denied = await agent.waitForLog(
      (_r, raw) => raw.includes('cannot patch resource \\"pods/status\\"'),
      60_000,
    );
    expect(denied.level).toBe("warn");
    const pod = await podOn(nodeName);
    expect(pod).toBeDefined();
    expect(pod && isReady(pod)).toBe(false);
    expect(pod?.status?.phase ?? "Pending").toBe("Pending");
  });
});
