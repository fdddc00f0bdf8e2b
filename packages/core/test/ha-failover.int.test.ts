/**
 * Failover between agent replicas as separate processes (ha-agent.mjs, the built packages), with
 * the mock cloud served by this process so the pods survive an agent, and the agents running as
 * a non-admin identity with exactly the RBAC docs/high-availability.md gives. Measures, with the
 * default timings (lease 15 s, renew deadline 10 s, retry 2 s):
 * - SIGKILL of the owner → the other replica holds every Lease and has written the Nodes' status;
 * - SIGTERM of the owner → the hand-over.
 * Pods keep running throughout: no duplicate create, no restart.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { MockCloud, startMockCloudServer } from "@virtual-node/provider-mock";
import { grantHaAgentRbac } from "@virtual-node/testing";
import { describe, expect, it } from "vitest";
import { apis, controlPlane, createNamespace, isReady, listPods, uniqueName, waitFor } from "./support.js";

interface Agent {
  child: ChildProcess;
  owned: Set<string>;
  /** When each node was last gained (Date.now()). */
  gainedAt: Map<string, number>;
  exited: Promise<void>;
}

const agentScript = fileURLToPath(new URL("./ha-agent.mjs", import.meta.url));

function startAgent(args: string[]): Promise<Agent> {
  const child = spawn(process.execPath, [agentScript, ...args], { stdio: ["ignore", "pipe", "inherit"] });
  const agent: Agent = {
    child,
    owned: new Set(),
    gainedAt: new Map(),
    exited: new Promise((resolve) => {
      child.once("exit", () => {
        resolve();
      });
    }),
  };
  return new Promise((resolve, reject) => {
    let buffer = "";
    child.stdout.on("data", (chunk: Buffer) => {
      buffer += chunk.toString();
      const lines = buffer.split("\n");
      buffer = lines.pop() ?? "";
      for (const line of lines) {
        const [word, node = "", owned] = line.split(" ");
        if (word === "READY") resolve(agent);
        if (word !== "OWN") continue;
        if (owned === "true") {
          agent.owned.add(node);
          agent.gainedAt.set(node, Date.now());
        } else agent.owned.delete(node);
      }
    });
    child.once("exit", (code) => {
      reject(new Error(`agent exited early with ${String(code)}`));
    });
  });
}

describe("high availability: agent replicas as processes", () => {
  it("SIGKILL of the owner: the other replica takes over within the bound; SIGTERM: at once; pods never restart", async () => {
    expect(
      existsSync(fileURLToPath(new URL("../dist/index.js", import.meta.url))),
      "run `npm run build` first",
    ).toBe(true);
    const cp = await controlPlane();
    const api = apis(cp.kubeConfig);
    const namespace = uniqueName("ha-fo");
    await createNamespace(api, namespace);
    const prefix = uniqueName("vn-fo");
    const names = Array.from({ length: 3 }, (_, i) => `${prefix}-${String(i)}`);

    // The documented RBAC: the group's ClusterRole, plus the Leases of the HA namespace.
    const user = uniqueName("ha-agent");
    const cleanUpRbac = await grantHaAgentRbac(cp.kubeConfig, { user, namespace });
    const identity = await cp.mintClientIdentity({ user });

    const cloud = new MockCloud();
    const server = await startMockCloudServer({ cloud });
    const args = (id: string): string[] => [
      "--kubeconfig",
      identity.kubeconfigPath,
      "--cloud-url",
      server.url,
      "--identity",
      id,
      "--namespace",
      namespace,
      "--nodes",
      names.join(","),
    ];
    const agents: Agent[] = [];
    try {
      const a = await startAgent(args("agent-a"));
      agents.push(a);
      await waitFor("agent a owns every node", () => a.owned.size === names.length, { timeoutMs: 30_000 });
      const b = await startAgent(args("agent-b"));
      agents.push(b);
      // Within b's stabilisation period (30 s) a keeps every node.
      for (const nodeName of names) {
        for (let i = 0; i < 2; i++) {
          await api.core.createNamespacedPod({
            namespace,
            body: {
              metadata: { name: `${nodeName}-${String(i)}` },
              spec: { nodeName, containers: [{ name: "app", image: "registry.example/app:1" }] },
            },
          });
        }
      }
      const before = await waitFor("six Ready pods", async () => {
        const pods = await listPods(api, namespace);
        return pods.length === 6 && pods.every(isReady) ? pods : undefined;
      });
      expect(a.owned.size).toBe(names.length);
      expect(b.owned.size).toBe(0);

      // SIGKILL: no hand-over, b must wait the lease out.
      const killedAt = Date.now();
      a.child.kill("SIGKILL");
      await a.exited;
      await waitFor("agent b owns every node", () => b.owned.size === names.length, {
        timeoutMs: 40_000,
        intervalMs: 50,
      });
      const leaseTakenMs = Math.max(...names.map((n) => b.gainedAt.get(n) ?? Infinity)) - killedAt;
      // "Active": b has written each Node's status (a heartbeat newer than the kill).
      await waitFor(
        "b wrote every Node's status",
        async () => {
          for (const name of names) {
            const node = await api.core.readNode({ name });
            const beat = node.status?.conditions?.find((c) => c.type === "Ready")?.lastHeartbeatTime;
            if (beat === undefined || new Date(beat).getTime() < killedAt - 1_000) return false;
          }
          return true;
        },
        { timeoutMs: 20_000, intervalMs: 100 },
      );
      const activeMs = Date.now() - killedAt;
      console.log(
        `[ha] SIGKILL failover (lease 15 s, deadline 10 s, retry 2 s): Leases held by the new owner after ${String(leaseTakenMs)} ms, Node status written after ≤ ${String(activeMs)} ms`,
      );
      expect(leaseTakenMs).toBeLessThan(20_000);
      expect(activeMs).toBeLessThan(20_000);
      for (const node of names) {
        const lease = await api.coordination.readNamespacedLease({
          name: `virtual-node-owner-${node}`,
          namespace,
        });
        expect(lease.spec?.holderIdentity).toBe("agent-b");
        expect(lease.spec?.leaseTransitions).toBe(1);
      }

      // SIGTERM: a fresh replica c is live; b hands over on stop, immediately.
      const c = await startAgent(args("agent-c"));
      agents.push(c);
      await new Promise((r) => setTimeout(r, 3_000)); // b sees c's membership Lease
      const terminatedAt = Date.now();
      b.child.kill("SIGTERM");
      await waitFor("agent c owns every node", () => c.owned.size === names.length, {
        timeoutMs: 20_000,
        intervalMs: 20,
      });
      const handOverMs = Math.max(...names.map((n) => c.gainedAt.get(n) ?? Infinity)) - terminatedAt;
      await b.exited;
      console.log(
        `[ha] SIGTERM hand-over: new owner holds every Lease ${String(handOverMs)} ms after the signal`,
      );
      expect(handOverMs).toBeLessThan(3_000);
      // b ran no shutdown policy (c was live): the Nodes stayed Ready.
      for (const name of names) {
        const node = await api.core.readNode({ name });
        expect(node.status?.conditions?.find((x) => x.type === "Ready")?.status).toBe("True");
        expect(node.spec?.unschedulable ?? false).toBe(false);
      }

      // Through two failovers: the same six pods, created once, never restarted.
      await new Promise((r) => setTimeout(r, 3_000));
      const after = await listPods(api, namespace);
      expect(after.every(isReady)).toBe(true);
      const groups = (await cloud.listGroups()).filter((g) => g.spec.namespace === namespace);
      expect(groups).toHaveLength(6);
      expect((await cloud.callStats()).counts.createPod).toBe(6);
      for (const pod of before) {
        const now = after.find((p) => p.metadata?.uid === pod.metadata?.uid);
        expect(now, `pod ${pod.metadata?.name ?? ""} survived`).toBeDefined();
        expect(now?.status?.containerStatuses?.[0]?.restartCount ?? 0).toBe(0);
        expect(now?.status?.containerStatuses?.[0]?.state?.running?.startedAt).toEqual(
          pod.status?.containerStatuses?.[0]?.state?.running?.startedAt,
        );
      }
    } finally {
      for (const agent of agents) agent.child.kill("SIGKILL");
      await Promise.all(agents.map((x) => x.exited));
      await server.close();
      for (const name of names) await api.core.deleteNode({ name }).catch(() => undefined);
      await cleanUpRbac();
      await api.core.deleteNamespace({ name: namespace }).catch(() => undefined);
    }
  }, 300_000);
});
