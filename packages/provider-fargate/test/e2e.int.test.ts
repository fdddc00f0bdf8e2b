/**
 * End to end: the Fargate provider under a real virtual node, against the real control plane,
 * with the ECS / CloudWatch Logs / Secrets Manager simulator behind the real AWS SDK clients in
 * real time (short task timings). A Deployment and a Job run, `kubectl logs` reads CloudWatch,
 * and no Secret value reaches AWS in plain text outside Secrets Manager.
 */
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
import type { FargateProvider } from "../src/index.js";
import { startAwsSimulator } from "./simulator/server.js";
import type { AwsSimulator } from "./simulator/server.js";
import { simulatorProvider } from "./support/provider.js";

const SECRET_VALUE = "e2e-s3cret-value-do-not-leak";

describe("provider-fargate under a virtual node (real control plane, ECS simulator)", () => {
  let cp: ControlPlaneHandle;
  let api: Apis;
  let sim: AwsSimulator;
  let provider: FargateProvider;
  let running: RunningNode;
  let ns: string;
  const nodeName = uniqueName("vn-fargate");

  beforeAll(async () => {
    cp = await controlPlane();
    api = apis(cp.kubeConfig);
    sim = await startAwsSimulator({
      timings: { provisionMs: 300, pendingMs: 300, activatingMs: 200, stoppingMs: 300, healthyAfterMs: 200 },
    });
    provider = simulatorProvider(sim, undefined, { statusIntervalMs: { fast: 300, slow: 1_000 } });
    const identity = await cp.nodeIdentity(nodeName);
    running = await startNodeWithKubeletApi(identity.kubeConfig, nodeName, provider);
    ns = uniqueName("fargate");
    await createNamespace(api, ns);
    await api.core.createNamespacedSecret({
      namespace: ns,
      body: { metadata: { name: "db" }, stringData: { password: SECRET_VALUE } },
    });
  }, 180_000);

  afterAll(async () => {
    await running.stop();
    provider.close();
    await sim.close();
  });

  it("runs a Deployment to Running/Ready and kubectl logs reads its CloudWatch stream", async () => {
    await api.apps.createNamespacedDeployment({
      namespace: ns,
      body: {
        metadata: { name: "web" },
        spec: {
          replicas: 1,
          selector: { matchLabels: { app: "web" } },
          template: {
            metadata: { labels: { app: "web" } },
            spec: podSpecFor(nodeName, {
              containers: [
                {
                  name: "app",
                  image: "busybox:1.36",
                  command: ["sh", "-c", "echo hello from fargate; echo second line; sleep 3600"],
                  env: [
                    { name: "DB_PASSWORD", valueFrom: { secretKeyRef: { name: "db", key: "password" } } },
                  ],
                  volumeMounts: [{ name: "creds", mountPath: "/creds" }],
                  resources: { requests: { cpu: "500m", memory: "1Gi" } },
                },
              ],
              volumes: [{ name: "creds", secret: { secretName: "db" } }],
            }),
          },
        },
      },
    });
    const pod = await waitFor(
      "web pod ready",
      async () => {
        const pods = await api.core.listNamespacedPod({ namespace: ns, labelSelector: "app=web" });
        return pods.items.find(isReady);
      },
      { timeoutMs: 60_000 },
    );
    expect(pod.status?.podIP).toMatch(/^10\.0\./);
    expect(pod.metadata?.annotations?.["virtual-node.io/billed-resources"] ?? "").toContain("512/1024");
    const name = pod.metadata?.name ?? "";
    const logs = await waitFor("kubectl logs", async () => {
      const result = await kubectl(cp, ["logs", "-n", ns, name]);
      return result.code === 0 && result.stdout.includes("hello from fargate") ? result : undefined;
    });
    expect(logs.stdout).toBe("hello from fargate\nsecond line\n");
    const tail = await kubectl(cp, ["logs", "-n", ns, name, "--tail=1", "--timestamps"]);
    expect(tail.stdout).toMatch(/^\d{4}-\d{2}-\d{2}T[\d:.]+Z second line\n$/);
  });

  it("runs a Job to Succeeded", async () => {
    await api.batch.createNamespacedJob({
      namespace: ns,
      body: {
        metadata: { name: "once" },
        spec: {
          backoffLimit: 0,
          template: {
            spec: podSpecFor(nodeName, {
              restartPolicy: "Never",
              containers: [
                { name: "job", image: "busybox:1.36", command: ["sh", "-c", "echo job done; exit 0"] },
              ],
            }),
          },
        },
      },
    });
    await waitFor(
      "job succeeded",
      async () => {
        const job = await api.batch.readNamespacedJob({ name: "once", namespace: ns });
        return (job.status?.succeeded ?? 0) >= 1 ? job : undefined;
      },
      { timeoutMs: 60_000 },
    );
  });

  it("never sent the Secret value in plain text except to Secrets Manager, and every request matched the schemas", () => {
    const encoded = Buffer.from(SECRET_VALUE).toString("base64");
    const leaking = sim.requests.filter(
      (r) => r.service !== "secretsmanager" && (r.raw.includes(SECRET_VALUE) || r.raw.includes(encoded)),
    );
    expect(leaking.map((r) => r.operation)).toEqual([]);
    expect(sim.calls("CreateSecret").length).toBeGreaterThan(0);
    const taskDefinitions = sim.calls("RegisterTaskDefinition").map((r) => r.raw);
    expect(taskDefinitions.some((raw) => raw.includes('"valueFrom":"arn:aws:secretsmanager:'))).toBe(true);
    expect(sim.violations).toEqual([]);
  });
});
