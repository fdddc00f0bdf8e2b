/**
 * End to end: the interLink provider under a real virtual node, against the real control plane,
 * with the interLink API simulator in real time (short site timings). A Job reaches Succeeded
 * with its exit code, a failing one Failed with its code, a submission the site rejects shows the
 * site's message on the pod within one sync, `kubectl logs` reads the site's log, no Secret value
 * reaches the site in plain text, and 200 pods cost one `/status` call per status interval.
 */
import type { V1Pod } from "@kubernetes/client-node";
import type { ControlPlaneHandle } from "@virtual-node/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  apis,
  controlPlane,
  createNamespace,
  isReady,
  podSpecFor,
  startNodeWithKubeletApi,
  uniqueName,
  waitFor,
} from "../../core/test/support.js";
import type { Apis, RunningNode } from "../../core/test/support.js";
import { kubectl } from "../../core/test/kubelet-api/support.js";
import { createInterLinkProvider } from "../src/index.js";
import type { InterLinkProvider } from "../src/index.js";
import { startInterLinkSimulator } from "./simulator/simulator.js";
import type { InterLinkSimulator } from "./simulator/simulator.js";

const SECRET_VALUE = "e2e-interlink-s3cret-do-not-leak";
const SLOW_MS = 1_000;

describe("provider-interlink under a virtual node (real control plane, interLink API simulator)", () => {
  let cp: ControlPlaneHandle;
  let api: Apis;
  let sim: InterLinkSimulator;
  let provider: InterLinkProvider;
  let running: RunningNode;
  let ns: string;
  const nodeName = uniqueName("vn-interlink");

  beforeAll(async () => {
    cp = await controlPlane();
    api = apis(cp.kubeConfig);
    // The site reports capacity and no taints (the simulator's default taint would keep pods away).
    sim = await startInterLinkSimulator({
      timing: { queueMs: 300 },
      ping: { status: "ok", resources: { cpu: "256", memory: "1Ti", pods: "1000" }, taints: [] },
    });
    provider = createInterLinkProvider({
      url: sim.url,
      nodeName,
      statusIntervals: { fastMs: 300, slowMs: SLOW_MS },
      logPollMs: 300,
    });
    const identity = await cp.nodeIdentity(nodeName);
    running = await startNodeWithKubeletApi(identity.kubeConfig, nodeName, provider);
    ns = uniqueName("interlink");
    await createNamespace(api, ns);
    await api.core.createNamespacedSecret({
      namespace: ns,
      body: { metadata: { name: "db" }, stringData: { password: SECRET_VALUE } },
    });
  }, 180_000);

  afterAll(async () => {
    await running.stop();
    await provider.close();
    await sim.close();
  });

  async function jobPod(job: string): Promise<V1Pod | undefined> {
    const pods = await api.core.listNamespacedPod({ namespace: ns, labelSelector: `job-name=${job}` });
    return pods.items[0];
  }

  function createJob(name: string, script: string) {
    return api.batch.createNamespacedJob({
      namespace: ns,
      body: {
        metadata: { name },
        spec: {
          backoffLimit: 0,
          template: {
            spec: podSpecFor(nodeName, {
              restartPolicy: "Never",
              containers: [
                {
                  name: "job",
                  image: "busybox:1.36",
                  command: ["sh", "-c", script],
                  env: [
                    { name: "DB_PASSWORD", valueFrom: { secretKeyRef: { name: "db", key: "password" } } },
                  ],
                  volumeMounts: [{ name: "creds", mountPath: "/creds" }],
                },
              ],
              volumes: [{ name: "creds", secret: { secretName: "db" } }],
            }),
          },
        },
      },
    });
  }

  it("a Job reaches Succeeded with exit code 0 and kubectl logs reads the site's log", async () => {
    await createJob("once", "echo hello from the site; sleep 1; echo job done; exit 0");
    const job = await waitFor("job succeeded", async () => {
      const j = await api.batch.readNamespacedJob({ name: "once", namespace: ns });
      return (j.status?.succeeded ?? 0) >= 1 ? j : undefined;
    });
    expect(job.status?.succeeded).toBe(1);
    const pod = await waitFor("job pod", () => jobPod("once"));
    expect(pod.status?.phase).toBe("Succeeded");
    expect(pod.status?.containerStatuses?.[0]?.state?.terminated?.exitCode).toBe(0);
    const logs = await kubectl(cp, ["logs", "-n", ns, pod.metadata?.name ?? ""]);
    expect(logs.stderr).toBe("");
    expect(logs.stdout).toBe("hello from the site\njob done\n");
    const stamped = await kubectl(cp, [
      "logs",
      "-n",
      ns,
      pod.metadata?.name ?? "",
      "--timestamps",
      "--tail=1",
    ]);
    expect(stamped.stdout).toMatch(/^\d{4}-\d{2}-\d{2}T[\d:.]+Z job done\n$/);
  });

  it("a Job whose container exits 3 fails with exit code 3", async () => {
    await createJob("broken", "echo failing; exit 3");
    const pod = await waitFor("job pod failed", async () => {
      const p = await jobPod("broken");
      return p?.status?.phase === "Failed" ? p : undefined;
    });
    expect(pod.status?.containerStatuses?.[0]?.state?.terminated?.exitCode).toBe(3);
  });

  it("a submission the site rejects shows the site's message on the pod and in an Event within one sync", async () => {
    const siteError =
      "sbatch: error: Batch job submission failed: Invalid account or account/partition combination";
    sim.fail("create", { status: 500, body: siteError, count: 1_000 });
    try {
      await api.core.createNamespacedPod({
        namespace: ns,
        body: {
          metadata: { name: "rejected" },
          spec: podSpecFor(nodeName, {
            containers: [{ name: "app", image: "busybox:1.36", command: ["sh", "-c", "sleep 3600"] }],
          }),
        },
      });
      const started = Date.now();
      const pod = await waitFor(
        "the site's error on the pod",
        async () => {
          const p = await api.core.readNamespacedPod({ name: "rejected", namespace: ns });
          const waiting = p.status?.containerStatuses?.[0]?.state?.waiting;
          return waiting?.message?.includes("Invalid account") === true ? p : undefined;
        },
        { timeoutMs: 10_000 },
      );
      // One sync: the first create attempt, not after retries.
      expect(Date.now() - started).toBeLessThan(5_000);
      expect(pod.status?.containerStatuses?.[0]?.state?.waiting?.reason).toBe("ProviderFailed");
      const events = await waitFor("a Warning event", async () => {
        const list = await api.core.listNamespacedEvent({
          namespace: ns,
          fieldSelector: "involvedObject.name=rejected",
        });
        return list.items.find((e) => e.type === "Warning" && (e.message ?? "").includes("Invalid account"));
      });
      expect(events.reason).toBe("ProviderFailed");
    } finally {
      sim.clearFaults();
    }
    // Once the site accepts it, the retried create runs the pod (one job: the site never had it).
    await waitFor(
      "rejected pod recovers",
      async () => {
        const p = await api.core.readNamespacedPod({ name: "rejected", namespace: ns });
        return isReady(p) ? p : undefined;
      },
      { timeoutMs: 60_000 },
    );
  });

  it("200 pods cost one /status call per status interval", async () => {
    const count = 200;
    for (let i = 0; i < count; i++) {
      await api.core.createNamespacedPod({
        namespace: ns,
        body: {
          metadata: { name: `many-${String(i)}`, labels: { batch: "many" } },
          spec: podSpecFor(nodeName, {
            containers: [{ name: "app", image: "busybox:1.36", command: ["sh", "-c", "sleep 3600"] }],
          }),
        },
      });
    }
    await waitFor(
      "200 pods ready",
      async () => {
        const pods = await api.core.listNamespacedPod({ namespace: ns, labelSelector: "batch=many" });
        const ready = pods.items.filter(isReady).length;
        if (process.env.INTERLINK_E2E_DEBUG === "1") {
          const phases: Record<string, number> = {};
          for (const p of pods.items) {
            const k = `${p.status?.phase ?? "?"}/${p.status?.containerStatuses?.[0]?.state?.waiting?.reason ?? ""}${p.spec?.nodeName ? "" : "/unscheduled"}`;
            phases[k] = (phases[k] ?? 0) + 1;
          }
          for (const p of pods.items.filter((x) => x.status?.phase === "Failed")) {
            console.log(
              "[debug] failed",
              p.metadata?.name,
              p.status?.reason,
              p.status?.message,
              JSON.stringify(p.status?.containerStatuses?.[0]?.state),
            );
          }
          console.log(
            `[debug] ready ${String(ready)} creates ${String(sim.calls("create").length)} jobs ${String(sim.jobCount)}`,
            JSON.stringify(phases),
          );
        }
        return ready === count ? pods : undefined;
      },
      { timeoutMs: 90_000, intervalMs: 1_000 },
    );
    // Let the status source settle into its slow interval, then count.
    await new Promise((r) => setTimeout(r, 2 * SLOW_MS));
    const before = sim.calls("status");
    const windowMs = 10_000;
    await new Promise((r) => setTimeout(r, windowMs));
    const during = sim.calls("status").slice(before.length);
    const polls = during.filter((r) => r.body !== "[]");
    const discovery = during.length - polls.length;
    console.log(
      `[interlink e2e] ${String(count)} pods, ${String(windowMs / 1000)} s: ${String(polls.length)} status polls (bodies of ${String((JSON.parse(polls.at(-1)?.body ?? "[]") as unknown[]).length)} pods), ${String(discovery)} discovery calls (listPods, reconcile)`,
    );
    // One poll per slow interval (1 s), for all pods at once; per-pod polling would be 2 000.
    expect(polls.length).toBeLessThanOrEqual(windowMs / SLOW_MS + 2);
    expect(polls.length).toBeGreaterThanOrEqual(windowMs / SLOW_MS / 2);
  }, 180_000);

  it("sent every request in interLink's published shape and no Secret value in plain text", () => {
    expect(sim.violations).toEqual([]);
    expect(sim.requests.length).toBeGreaterThan(0);
    for (const r of sim.requests) expect(r.body).not.toContain(SECRET_VALUE);
    const create = sim.calls("create")[0];
    expect(create?.body).toContain(Buffer.from(SECRET_VALUE).toString("base64"));
  });
});
