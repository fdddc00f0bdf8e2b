// The demo: a real local control plane, a virtual node on the mock provider, a sample Deployment
// and Job, and a live view of the node and its pods until Ctrl-C.
// Run through `npm run demo` (it builds the packages and the control plane first).
import { AppsV1Api, BatchV1Api, CoreV1Api } from "@kubernetes/client-node";
import { createConsoleLogger, createVirtualNode } from "@virtual-node/core";
import { MockAnnotations, createMockProvider } from "@virtual-node/provider-mock";
import { startControlPlane } from "@virtual-node/testing";

const nodeName = "virtual-node-demo";
const namespace = "demo";
const once = process.argv.includes("--once");

process.stderr.write(
  "starting the local control plane (etcd, kube-apiserver, controller-manager, scheduler)…\n",
);
const cp = await startControlPlane();
const identity = await cp.nodeIdentity(nodeName);
const provider = createMockProvider();
const node = createVirtualNode({
  nodeName,
  provider,
  kubeConfig: identity.kubeConfig,
  internalIP: "127.0.0.1",
  logger: createConsoleLogger({ level: "warn" }),
  statusPollFastMs: 250,
  shutdown: "notReady",
});
const controller = new AbortController();
const running = node.run(controller.signal);
await node.ready;

const core = cp.kubeConfig.makeApiClient(CoreV1Api);
const apps = cp.kubeConfig.makeApiClient(AppsV1Api);
const batch = cp.kubeConfig.makeApiClient(BatchV1Api);
const placement = {
  nodeSelector: { type: "virtual-kubelet" },
  tolerations: [{ key: "virtual-kubelet.io/provider", operator: "Exists", effect: "NoSchedule" }],
};
await core.createNamespace({ body: { metadata: { name: namespace } } });
await apps.createNamespacedDeployment({
  namespace,
  body: {
    metadata: { name: "web" },
    spec: {
      replicas: 5,
      selector: { matchLabels: { app: "web" } },
      template: {
        metadata: { labels: { app: "web" }, annotations: { [MockAnnotations.startDelay]: "2s" } },
        spec: { ...placement, containers: [{ name: "web", image: "nginx:1.27" }] },
      },
    },
  },
});
await batch.createNamespacedJob({
  namespace,
  body: {
    metadata: { name: "batch" },
    spec: {
      completions: 3,
      parallelism: 3,
      template: {
        metadata: { annotations: { [MockAnnotations.runDuration]: "8s" } },
        spec: { ...placement, restartPolicy: "Never", containers: [{ name: "work", image: "busybox:1.36" }] },
      },
    },
  },
});

const stop = async () => {
  controller.abort();
  await running.catch(() => undefined);
  await cp.stop();
  process.exit(0);
};
process.once("SIGINT", stop);
process.once("SIGTERM", stop);

const pad = (s, n) => String(s).padEnd(n);
async function render() {
  const n = await core.readNode({ name: nodeName });
  const ready = n.status?.conditions?.find((c) => c.type === "Ready");
  const pods = (await core.listNamespacedPod({ namespace })).items;
  const lines = [
    `virtual-node demo — kubeconfig: ${cp.kubeconfigPath}`,
    `  try: KUBECONFIG=${cp.kubeconfigPath} ${cp.binaries.kubectl ?? "kubectl"} get nodes,pods -A`,
    "",
    `NODE ${nodeName}  Ready=${ready?.status} (${ready?.reason})  pods capacity=${n.status?.capacity?.pods}  taints=${(n.spec?.taints ?? []).map((t) => t.key).join(",")}`,
    "",
    `${pad("POD", 28)}${pad("PHASE", 11)}${pad("READY", 7)}${pad("IP", 16)}STATE`,
    ...pods.map((p) => {
      const cs = p.status?.containerStatuses?.[0];
      const state = cs?.state?.running
        ? "running"
        : cs?.state?.terminated
          ? `terminated exit=${cs.state.terminated.exitCode}`
          : (cs?.state?.waiting?.reason ?? "");
      const isReady = p.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True");
      return `${pad(p.metadata?.name, 28)}${pad(p.status?.phase, 11)}${pad(isReady ? "yes" : "no", 7)}${pad(p.status?.podIP ?? "", 16)}${state}`;
    }),
    "",
    "Ctrl-C stops the agent (the node is marked NotReady) and the control plane.",
  ];
  process.stdout.write(`${process.stdout.isTTY ? "\x1b[2J\x1b[H" : ""}${lines.join("\n")}\n`);
  return pods;
}

for (;;) {
  const pods = await render();
  if (once && pods.length >= 8 && pods.every((p) => ["Running", "Succeeded"].includes(p.status?.phase ?? "")))
    break;
  await new Promise((r) => setTimeout(r, 1000));
}
// `kubectl logs` works out of the box: the API server reaches the node's kubelet API (10250).
const web = (await core.listNamespacedPod({ namespace, labelSelector: "app=web" })).items[0];
const log = await core.readNamespacedPodLog({ name: web?.metadata?.name ?? "", namespace, tailLines: 1 });
process.stdout.write(`logs of ${web?.metadata?.name} through the API server: ${String(log).trim()}\n`);
await stop();
