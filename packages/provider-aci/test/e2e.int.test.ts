/**
 * End to end under a virtual node on the real control plane, with the ACI provider on the ARM
 * simulator in real time (short delays): a Deployment, a Job and a PVC-backed pod run; `kubectl
 * logs -f` follows; `kubectl exec` returns the command's exit code; no Secret value travels as a
 * plain `value`.
 */
import type { ControlPlaneHandle } from "@virtual-node/testing";
import { systemClock } from "@virtual-node/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  apis,
  controlPlane,
  createNamespace,
  isReady,
  listPods,
  podSpecFor,
  startNodeWithKubeletApi,
  uniqueName,
  waitFor,
} from "../../core/test/support.js";
import type { Apis, RunningNode } from "../../core/test/support.js";
import { kubectl, spawnKubectl } from "../../core/test/kubelet-api/support.js";
import type { AciProvider } from "../src/index.js";
import { providerOn } from "./harness.js";
import { AciSimulator } from "./simulator/simulator.js";

const SECRET_VALUE = "e2e-Secret-" + "9f8e7d";
const STORAGE_KEY = "c3RvcmFnZS1rZXk" + "tZTJl";

describe("provider-aci end to end (real control plane, ARM simulator)", () => {
  let cp: ControlPlaneHandle;
  let api: Apis;
  let sim: AciSimulator;
  let provider: AciProvider;
  let node: RunningNode;
  let ns: string;
  let nodeName: string;

  beforeAll(async () => {
    cp = await controlPlane();
    api = apis(cp.kubeConfig);
    sim = new AciSimulator({
      clock: systemClock,
      timing: { pullMs: 300, restartDelayMs: 300, deleteMs: 200 },
    });
    await sim.start();
    provider = providerOn(sim, systemClock, {
      fastStatusIntervalMs: 300,
      slowStatusIntervalMs: 1_000,
      detailRefreshMs: { always: 2_000, job: 500 },
      logPollIntervalMs: 300,
    });
    nodeName = uniqueName("vn-aci");
    const identity = await cp.nodeIdentity(nodeName);
    node = await startNodeWithKubeletApi(identity.kubeConfig, nodeName, provider);
    ns = uniqueName("aci");
    await createNamespace(api, ns);
    await api.core.createNamespacedSecret({
      namespace: ns,
      body: { metadata: { name: "creds" }, stringData: { TOKEN: SECRET_VALUE } },
    });
    await api.core.createNamespacedSecret({
      namespace: ns,
      body: {
        metadata: { name: "azure-files" },
        stringData: { azurestorageaccountname: "acct1", azurestorageaccountkey: STORAGE_KEY },
      },
    });
  }, 180_000);

  afterAll(async () => {
    await node.stop();
    provider.close();
    await sim.close();
  });

  it("runs a Deployment, a Job and a PVC-backed pod; logs -f and exec work; no Secret in plain text", async () => {
    const labels = { app: "web" };
    await api.apps.createNamespacedDeployment({
      namespace: ns,
      body: {
        metadata: { name: "web" },
        spec: {
          replicas: 2,
          selector: { matchLabels: labels },
          template: {
            metadata: { labels },
            spec: podSpecFor(nodeName, {
              containers: [
                {
                  name: "app",
                  image: "busybox:1.36",
                  command: ["sh", "-c", "while true; do echo tick; sleep 1; done"],
                  env: [{ name: "TOKEN", valueFrom: { secretKeyRef: { name: "creds", key: "TOKEN" } } }],
                  resources: { requests: { cpu: "250m", memory: "256Mi" } },
                },
              ],
            }),
          },
        },
      },
    });
    await api.batch.createNamespacedJob({
      namespace: ns,
      body: {
        metadata: { name: "batch" },
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
    const pvName = uniqueName("pv-files");
    await api.core.createPersistentVolume({
      body: {
        metadata: { name: pvName },
        spec: {
          capacity: { storage: "5Gi" },
          accessModes: ["ReadWriteMany"],
          storageClassName: "",
          persistentVolumeReclaimPolicy: "Retain",
          csi: {
            driver: "file.csi.azure.com",
            volumeHandle: "rg#acct1#share1#",
            volumeAttributes: { shareName: "share1" },
            nodeStageSecretRef: { name: "azure-files", namespace: ns },
          },
        },
      },
    });
    await api.core.createNamespacedPersistentVolumeClaim({
      namespace: ns,
      body: {
        metadata: { name: "data" },
        spec: {
          accessModes: ["ReadWriteMany"],
          storageClassName: "",
          volumeName: pvName,
          resources: { requests: { storage: "5Gi" } },
        },
      },
    });
    await api.core.createNamespacedPod({
      namespace: ns,
      body: {
        metadata: { name: "files" },
        spec: podSpecFor(nodeName, {
          containers: [
            {
              name: "app",
              image: "busybox:1.36",
              command: ["sleep", "3600"],
              volumeMounts: [{ name: "data", mountPath: "/data" }],
            },
          ],
          volumes: [{ name: "data", persistentVolumeClaim: { claimName: "data" } }],
        }),
      },
    });

    const pods = await waitFor(
      "web ×2 Ready, batch Succeeded, files Ready",
      async () => {
        const all = await listPods(api, ns);
        const web = all.filter((p) => p.metadata?.labels?.app === "web" && isReady(p));
        const job = all.find((p) => p.metadata?.labels?.["job-name"] === "batch");
        const files = all.find((p) => p.metadata?.name === "files");
        return web.length === 2 && job?.status?.phase === "Succeeded" && files !== undefined && isReady(files)
          ? { web, job, files }
          : undefined;
      },
      { timeoutMs: 60_000 },
    );
    const jobState = pods.job.status?.containerStatuses?.[0]?.state?.terminated;
    expect(jobState?.exitCode).toBe(0);
    expect(pods.files.status?.podIP).toMatch(/^10\./);
    const stored = sim.storedBody("vn-rg", sim.groupNames().find((n) => n.startsWith(`${ns}-files`)) ?? "");
    expect(JSON.stringify(stored)).toContain('"shareName":"share1"');

    const webPod = pods.web[0]?.metadata?.name ?? "";
    const follow = spawnKubectl(cp, ["logs", "-f", "-n", ns, webPod]);
    try {
      await follow.waitForOutput(/tick\ntick\ntick\n/, 30_000);
    } finally {
      await follow.kill();
    }

    const exec = await kubectl(cp, ["exec", "-n", ns, webPod, "--", "sh", "-c", "exit 3"]);
    expect(exec.code, exec.stderr).toBe(3);
    const echo = await kubectl(cp, ["exec", "-n", ns, webPod, "--", "echo", "two  spaces", "it's"]);
    expect(echo.code, echo.stderr).toBe(0);
    expect(echo.stdout).toBe("two  spaces it's\n");

    const bodies = sim.bodies();
    expect(bodies.some((b) => b.includes(SECRET_VALUE))).toBe(true); // it did travel: as a secure value
    expect(bodies.some((b) => b.includes(`"value":"${SECRET_VALUE}"`))).toBe(false);
    expect(sim.violations).toEqual([]);
  }, 150_000);
});
