/**
 * The raw writer: the least a node must write, as fast as the control plane takes it. It registers its
 * Node(s) Ready and renews their Leases every 10 s (40 s duration), like the others; per pod it sends
 * exactly one status write (merge patch to Running + Ready) and, once the pod is being deleted, one
 * DELETE with grace 0 and a UID precondition. No provider, no retries beyond conflicts, no events,
 * no polling; one HTTP/2 connection; up to 256 writes in flight.
 *
 * Usage: node raw-writer.js '<RawJob JSON>'   (prints READY once the nodes are registered and the watch runs)
 */
import { KubeApiError, toMicroTime, type Lease, type Pod } from "@virtual-node/core/kube";

import { clientFor, sleep } from "../kube.js";

export interface RawJob {
  readonly kubeconfig: string;
  readonly nodeNames: readonly string[];
  /** Watch and write pods (false: nodes and leases only). */
  readonly pods: boolean;
}

const job = JSON.parse(process.argv[2] ?? "{}") as RawJob;
const client = clientFor(job.kubeconfig, "virtual-node-bench-raw-writer");
const controller = new AbortController();
const { signal } = controller;
process.on("SIGTERM", () => {
  // Nothing to clean up: the harness removes the nodes and leases.
  controller.abort();
  client.close();
  process.exit(0);
});

// The API client's HTTP/2 session is unref'd: keep the process alive until SIGTERM.
setInterval(() => undefined, 1 << 30);

const MAX_IN_FLIGHT = 256;
let inFlight = 0;
const waiting: (() => void)[] = [];
async function limited<T>(fn: () => Promise<T>): Promise<T | undefined> {
  while (inFlight >= MAX_IN_FLIGHT) await new Promise<void>((resolve) => waiting.push(resolve));
  inFlight++;
  try {
    return await fn();
  } catch (error) {
    if (!(error instanceof KubeApiError) || (error.status !== 404 && error.status !== 409)) {
      process.stderr.write(`raw-writer: ${error instanceof Error ? error.message : String(error)}\n`);
    }
    return undefined;
  } finally {
    inFlight--;
    waiting.shift()?.();
  }
}

const leasePath = (name: string): string =>
  `/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/${name}`;

async function register(name: string): Promise<Lease> {
  const now = new Date().toISOString();
  const ready = {
    type: "Ready",
    status: "True",
    reason: "KubeletReady",
    lastHeartbeatTime: now,
    lastTransitionTime: now,
  };
  const created = await client.create<{ metadata?: { uid?: string } }>("/api/v1/nodes", {
    apiVersion: "v1",
    kind: "Node",
    metadata: { name, labels: { type: "raw-writer", "kubernetes.io/hostname": name } },
    spec: { taints: [{ key: "virtual-kubelet.io/provider", value: "raw", effect: "NoSchedule" }] },
    status: {
      capacity: { cpu: "1000", memory: "4Ti", pods: "110000" },
      allocatable: { cpu: "1000", memory: "4Ti", pods: "110000" },
      conditions: [ready],
      addresses: [{ type: "InternalIP", address: "127.0.0.1" }],
      nodeInfo: { kubeletVersion: "v1.37.2-raw", operatingSystem: "linux", architecture: "amd64" },
    },
  });
  return client.create<Lease>("/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases", {
    apiVersion: "coordination.k8s.io/v1",
    kind: "Lease",
    metadata: {
      name,
      ownerReferences: [{ apiVersion: "v1", kind: "Node", name, uid: created.metadata?.uid ?? "" }],
    },
    spec: { holderIdentity: name, leaseDurationSeconds: 40, renewTime: toMicroTime(new Date()) },
  });
}

async function renewLoop(initial: Lease): Promise<void> {
  let lease = initial;
  const name = lease.metadata?.name ?? "";
  // Spread the first renewals over the interval, like independent kubelets.
  await sleep(Math.random() * 10_000);
  while (!signal.aborted) {
    const next = await limited(() =>
      client.replace<Lease>(leasePath(name), {
        ...lease,
        spec: { ...lease.spec, renewTime: toMicroTime(new Date()) },
      }),
    );
    if (next) lease = next;
    else lease = (await limited(() => client.get<Lease>(leasePath(name)))) ?? lease;
    await sleep(10_000);
  }
}

const statusWritten = new Set<string>();
const deleted = new Set<string>();
let podIP = 0;

function onPod(pod: Pod): void {
  const uid = pod.metadata?.uid ?? "";
  const ns = pod.metadata?.namespace ?? "";
  const name = pod.metadata?.name ?? "";
  const path = `/api/v1/namespaces/${ns}/pods/${name}`;
  if (pod.metadata?.deletionTimestamp) {
    if (deleted.has(uid)) return;
    deleted.add(uid);
    void limited(() =>
      client.delete(path, {
        apiVersion: "v1",
        kind: "DeleteOptions",
        gracePeriodSeconds: 0,
        preconditions: { uid },
      }),
    );
    return;
  }
  if (statusWritten.has(uid) || pod.status?.phase === "Running") return;
  statusWritten.add(uid);
  const now = new Date().toISOString();
  const n = podIP++;
  const condition = (type: string) => ({ type, status: "True", lastTransitionTime: now });
  void limited(() =>
    client.patch(
      `${path}/status`,
      {
        status: {
          phase: "Running",
          hostIP: "127.0.0.1",
          podIP: `10.${128 + ((n >> 16) & 63)}.${(n >> 8) & 255}.${n & 255}`,
          startTime: now,
          conditions: [
            condition("PodScheduled"),
            condition("Initialized"),
            condition("ContainersReady"),
            condition("Ready"),
          ],
          containerStatuses: (pod.spec?.containers ?? []).map((c) => ({
            name: c.name,
            image: c.image ?? "",
            imageID: "",
            ready: true,
            started: true,
            restartCount: 0,
            state: { running: { startedAt: now } },
          })),
        },
      },
      "application/merge-patch+json",
    ),
  );
}

async function watchPods(onStarted: () => void): Promise<void> {
  const selector = job.nodeNames.length === 1 ? `spec.nodeName=${job.nodeNames[0] ?? ""}` : "spec.nodeName!=";
  const mine = new Set(job.nodeNames);
  let started = false;
  while (!signal.aborted) {
    try {
      const list = await client.get<{ metadata?: { resourceVersion?: string }; items?: Pod[] }>(
        "/api/v1/pods",
        {
          query: { fieldSelector: selector },
        },
      );
      for (const pod of list.items ?? []) if (mine.has(pod.spec?.nodeName ?? "")) onPod(pod);
      const watching = client.watch(
        "/api/v1/pods",
        {
          fieldSelector: selector,
          resourceVersion: list.metadata?.resourceVersion,
          allowWatchBookmarks: true,
        },
        (type, object) => {
          const pod = object as Pod;
          if ((type === "ADDED" || type === "MODIFIED") && mine.has(pod.spec?.nodeName ?? "")) onPod(pod);
        },
        signal,
      );
      if (!started) {
        started = true;
        onStarted();
      }
      await watching;
    } catch {
      await sleep(200);
    }
  }
}

const registered = await Promise.all(job.nodeNames.map((name) => limited(() => register(name))));
const leases = registered.filter((l): l is Lease => l !== undefined);
if (leases.length !== job.nodeNames.length) throw new Error("raw-writer: could not register every node");
const loops: Promise<void>[] = leases.map((lease) => renewLoop(lease));
if (job.pods) {
  await new Promise<void>((resolve) => {
    loops.push(watchPods(resolve));
  });
}
process.stdout.write("READY\n");
await Promise.allSettled(loops);
client.close();
process.exit(0);
