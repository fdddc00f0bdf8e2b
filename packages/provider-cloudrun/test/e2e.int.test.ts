/**
 * End to end under a virtual node on the real control plane, the Cloud Run provider talking to the
 * simulator (real time, short delays) through the real Google clients: a Job succeeds, a failing
 * Job fails with its exit code, a Deployment's pods run as Worker Pools, `kubectl logs` reads Cloud
 * Logging, and no Secret value appears in plain text in any request the simulator received.
 */
import type { ControlPlaneHandle } from "@virtual-node/testing";
import { systemClock } from "@virtual-node/core";
import type { V1Pod } from "@kubernetes/client-node";
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
import type { CloudRunProvider } from "../src/provider.js";
import { startSimulator } from "./simulator/server.js";
import type { SimulatorServer } from "./simulator/server.js";
import { simulatorProvider } from "./support/provider.js";

const SECRET_VALUE = "e2e-s3cr3t-value-7f3a";

describe("provider-cloudrun end to end (real control plane, simulated Cloud Run)", () => {
  let cp: ControlPlaneHandle;
  let api: Apis;
  let server: SimulatorServer;
  let provider: CloudRunProvider;
  let node: RunningNode;
  let ns: string;
  const nodeName = uniqueName("vn-cloudrun");

  beforeAll(async () => {
    cp = await controlPlane();
    api = apis(cp.kubeConfig);
    server = await startSimulator({
      clock: systemClock,
      timings: { operationMs: 50, startMs: 300, readyMs: 400, retryMs: 200 },
    });
    provider = simulatorProvider(server.port, systemClock, {
      statusIntervals: { fastMs: 200, slowMs: 1000 },
    });
    const identity = await cp.nodeIdentity(nodeName);
    node = await startNodeWithKubeletApi(identity.kubeConfig, nodeName, provider);
    ns = uniqueName("cloudrun");
    await createNamespace(api, ns);
    await api.core.createNamespacedSecret({
      namespace: ns,
      body: { metadata: { name: "db" }, stringData: { password: SECRET_VALUE } },
    });
  });

  afterAll(async () => {
    await node.stop();
    await provider.close();
    await server.close();
  });

  const jobPod = async (job: string): Promise<V1Pod | undefined> =>
    (await api.core.listNamespacedPod({ namespace: ns, labelSelector: `job-name=${job}` })).items[0];

  function job(name: string, script: string) {
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
                  name: "main",
                  image: "busybox:1.36",
                  command: ["sh", "-c", script],
                  env: [
                    { name: "DB_PASSWORD", valueFrom: { secretKeyRef: { name: "db", key: "password" } } },
                  ],
                },
              ],
            }),
          },
        },
      },
    });
  }

  it("a Job reaches Succeeded, a failing one Failed with its exit code, a Deployment runs", async () => {
    await job("ok", "echo hello from cloud run; exit 0");
    await job("bad", "echo about to fail; exit 3");
    await api.apps.createNamespacedDeployment({
      namespace: ns,
      body: {
        metadata: { name: "web" },
        spec: {
          replicas: 2,
          selector: { matchLabels: { app: "web" } },
          template: {
            metadata: { labels: { app: "web" } },
            spec: podSpecFor(nodeName, {
              containers: [
                { name: "web", image: "nginx:1.27", command: ["sh", "-c", "echo serving; sleep 86400"] },
              ],
            }),
          },
        },
      },
    });

    const ok = await waitFor("job ok succeeded", async () => {
      const p = await jobPod("ok");
      return p?.status?.phase === "Succeeded" ? p : undefined;
    });
    expect(ok.status?.containerStatuses?.[0]?.state?.terminated?.exitCode).toBe(0);

    const bad = await waitFor("job bad failed", async () => {
      const p = await jobPod("bad");
      return p?.status?.phase === "Failed" ? p : undefined;
    });
    expect(bad.status?.containerStatuses?.[0]?.state?.terminated?.exitCode).toBe(3);

    const web = await waitFor("deployment pods ready", async () => {
      const pods = (await api.core.listNamespacedPod({ namespace: ns, labelSelector: "app=web" })).items;
      return pods.length === 2 && pods.every(isReady) ? pods : undefined;
    });
    // restartPolicy Always → one Worker Pool per pod (manual instance count 1), no Service.
    for (const pod of web) {
      expect(pod.status?.phase).toBe("Running");
      expect(pod.metadata?.annotations?.["run.virtual-node.io/resource"]).toMatch(
        /^projects\/p1\/locations\/us-central1\/workerPools\//,
      );
    }
    const pools = [...server.sim.cloud.workerPools.values()];
    expect(pools).toHaveLength(2);
    for (const pool of pools) expect(pool.scaling).toEqual({ manualInstanceCount: 1 });
    expect(server.sim.cloud.services.size).toBe(0);
    const served = await kubectl(cp, ["logs", "-n", ns, web[0]?.metadata?.name ?? ""]);
    expect(served.stdout).toBe("serving\n");

    const logs = await kubectl(cp, ["logs", "-n", ns, ok.metadata?.name ?? ""]);
    expect(logs.stderr).toBe("");
    expect(logs.stdout).toBe("hello from cloud run\n");
    const stamped = await kubectl(cp, ["logs", "-n", ns, bad.metadata?.name ?? "", "--timestamps"]);
    expect(stamped.stdout).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d+Z about to fail\n$/);
  });

  it("sent no Secret value in plain text and only schema-valid requests", () => {
    const base64 = Buffer.from(SECRET_VALUE).toString("base64");
    for (const request of server.sim.requests) {
      expect(request.rawBody, request.operation).not.toContain(SECRET_VALUE);
      if (request.rawBody.includes(base64)) expect(request.operation).toBe("secretmanager.AddSecretVersion");
    }
    expect(server.sim.requests.some((r) => r.operation === "secretmanager.AddSecretVersion")).toBe(true);
    expect(server.sim.violations).toEqual([]);
  });
});
