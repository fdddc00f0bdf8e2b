/**
 * What every fault scenario needs: agents as child processes (SIGKILL-able), a mock cloud behind a fault
 * proxy that captures request bodies, Secrets with recognisable values and the scan for them, the
 * invariants (no lost, duplicate, orphan or restarted pod) and the JSON result of each scenario.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { createWriteStream, existsSync, mkdirSync } from "node:fs";
import { mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

import { AppsV1Api, CoreV1Api, type KubeConfig, type V1Pod } from "@kubernetes/client-node";
import { MockCloud, startMockCloudServer, type MockCloudServer } from "@virtual-node/provider-mock";
import { startFaultProxy, type FaultProxy } from "@virtual-node/testing";

import type { AgentSpec } from "./agent.js";

const HERE = dirname(fileURLToPath(import.meta.url));
export const RESULTS_DIR = join(HERE, "results");
const AGENT_SCRIPT = join(HERE, "agent.ts");

/** True under `npm run test:faults` (full size); false in `npm test` (the cheap scenarios, small counts). */
export const FULL = process.env.FAULTS_FULL === "1";

/** Scales a full-size count: FAULTS_SCALE (default 1 under test:faults, 0.02 otherwise), at least `min`. */
export function scaled(full: number, min = 1): number {
  const factor = Number(process.env.FAULTS_SCALE ?? (FULL ? "1" : "0.02"));
  return Math.max(min, Math.round(full * (Number.isFinite(factor) && factor > 0 ? factor : 1)));
}

export function uniqueName(prefix: string): string {
  return `${prefix}-${randomBytes(3).toString("hex")}`;
}

export async function scenarioDir(name: string): Promise<string> {
  return mkdtemp(join(tmpdir(), `vn-fault-${name}-`));
}

/** Writes `faults/results/<name>.json`: the scenario's figures, its counts and when it ran. */
export async function writeResult(name: string, result: Record<string, unknown>): Promise<void> {
  mkdirSync(RESULTS_DIR, { recursive: true });
  const body = { scenario: name, full: FULL, date: new Date().toISOString(), ...result };
  await writeFile(join(RESULTS_DIR, `${name}.json`), `${JSON.stringify(body, null, 2)}\n`);
}

// ------------------------------------------------------------------------------------------------------
// The agent as a child process

export interface AgentProcess {
  readonly child: ChildProcess;
  readonly logFile: string;
  readonly metricsFile: string;
  /** SIGKILL, resolves on exit. */
  kill(): Promise<void>;
  /** SIGTERM, resolves on exit (SIGKILL after 20 s). */
  terminate(): Promise<void>;
  /** Sum of a metric's samples in the last snapshot the agent wrote, optionally filtered by a label. */
  metric(name: string, label?: string): Promise<number>;
}

export async function startAgent(
  spec: Omit<AgentSpec, "logFile" | "metricsFile"> & { dir: string; name: string },
  options: { waitReady?: boolean } = {},
): Promise<AgentProcess> {
  const logFile = join(spec.dir, `${spec.name}.log`);
  const metricsFile = join(spec.dir, `${spec.name}.metrics`);
  const full: AgentSpec = { ...spec, logFile, metricsFile };
  const child = spawn(process.execPath, [AGENT_SCRIPT, JSON.stringify(full)], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  const stderrLog = createWriteStream(`${logFile}.stderr`);
  child.stderr.on("data", (chunk: Buffer) => {
    stderrLog.write(chunk);
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  const exited = new Promise<void>((resolve) =>
    child.once("exit", (code, signal) => {
      // Kept next to the log: an agent that dies mid-scenario says why.
      stderrLog.end(`\n[exit code=${String(code)} signal=${String(signal)}]\n`);
      resolve();
    }),
  );
  if (options.waitReady !== false) {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new Error(`agent ${spec.name} not READY in 120 s: ${stderr}`));
      }, 120_000);
      child.stdout.on("data", (chunk: Buffer) => {
        if (chunk.toString().includes("READY")) {
          clearTimeout(timer);
          resolve();
        }
      });
      void exited.then(() => {
        clearTimeout(timer);
        reject(new Error(`agent ${spec.name} exited before READY: ${stderr}`));
      });
    });
  }
  const signalAndWait = async (signal: NodeJS.Signals, escalateMs?: number) => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill(signal);
    const timer = escalateMs === undefined ? undefined : setTimeout(() => child.kill("SIGKILL"), escalateMs);
    await exited;
    clearTimeout(timer);
  };
  return {
    child,
    logFile,
    metricsFile,
    kill: () => signalAndWait("SIGKILL"),
    terminate: () => signalAndWait("SIGTERM", 20_000),
    async metric(name, label) {
      const text = existsSync(metricsFile) ? await readFile(metricsFile, "utf8") : "";
      return sumMetric(text, name, label);
    },
  };
}

/** Sum of the samples of `name` (Prometheus text format) whose labels contain `label` when given. */
export function sumMetric(text: string, name: string, label?: string): number {
  let sum = 0;
  for (const line of text.split("\n")) {
    if (!line.startsWith(name)) continue;
    const rest = line.slice(name.length);
    if (rest[0] !== " " && rest[0] !== "{") continue;
    if (label !== undefined && !rest.includes(label)) continue;
    sum += Number(line.slice(line.lastIndexOf(" ") + 1)) || 0;
  }
  return sum;
}

// ------------------------------------------------------------------------------------------------------
// The cloud: a mock cloud served over HTTP, reached through a fault proxy that keeps every request byte

/** Header the fault agent adds to every request to the cloud: who is calling (its HA identity). */
export const CALLER_HEADER = "x-vn-caller";
/** Header the fault agent adds to a cloud request made for one virtual node (its provider's calls). */
export const NODE_HEADER = "x-vn-node";

/** One HTTP request the cloud received, as the proxy in front of it saw it arrive. */
export interface CloudCall {
  readonly at: number;
  readonly method: string;
  readonly path: string;
  /** The {@link CALLER_HEADER} value; undefined when the header was missing. */
  readonly caller: string | undefined;
  /** The {@link NODE_HEADER} value: the virtual node the call was made for; undefined when missing. */
  readonly node?: string | undefined;
}

/**
 * Request lines (and their caller header) found in one upstream chunk. An HTTP/1.1 client writes a
 * request's head in one piece, so a head is never split over two chunks in practice; a head whose end is
 * not in the chunk still counts, with the caller looked up in what the chunk has.
 */
export function parseCloudCalls(chunk: string, at: number): CloudCall[] {
  const calls: CloudCall[] = [];
  for (const match of chunk.matchAll(/^(GET|POST|PUT|DELETE|PATCH) (\S+) HTTP\/1\.1\r?$/gm)) {
    const start = match.index;
    const end = chunk.indexOf("\r\n\r\n", start);
    const head = chunk.slice(start, end === -1 ? undefined : end);
    const header = (name: string) => new RegExp(`^${name}: *(\\S+)\r?$`, "im").exec(head)?.[1];
    const caller = header(CALLER_HEADER);
    const node = header(NODE_HEADER);
    calls.push({
      at,
      method: match[1] ?? "",
      path: match[2] ?? "",
      caller,
      ...(node === undefined ? {} : { node }),
    });
  }
  return calls;
}

export interface ProxiedCloud extends AsyncDisposable {
  readonly cloud: MockCloud;
  readonly server: MockCloudServer;
  readonly proxy: FaultProxy;
  /** URL agents use (the proxy). */
  readonly url: string;
  /** Everything agents sent to the cloud, as text (HTTP requests with their bodies). */
  requestText(): string;
  /** Write calls (method path) with the time the proxy saw them, in order. */
  readonly writes: { readonly at: number; readonly line: string }[];
  /** Every call (reads included) with its caller, in the order the proxy saw them. */
  readonly calls: CloudCall[];
}

export async function startProxiedCloud(): Promise<ProxiedCloud> {
  const cloud = new MockCloud();
  const server = await startMockCloudServer({ cloud });
  const chunks: Buffer[] = [];
  const writes: { at: number; line: string }[] = [];
  const calls: CloudCall[] = [];
  const proxy = await startFaultProxy({
    target: { port: Number(new URL(server.url).port) },
    onChunk: (direction, chunk) => {
      if (direction !== "upstream") return;
      chunks.push(chunk);
      for (const call of parseCloudCalls(chunk.toString("latin1"), Date.now())) {
        calls.push(call);
        if (call.method !== "GET") writes.push({ at: call.at, line: `${call.method} ${call.path}` });
      }
    },
  });
  const close = async () => {
    await proxy.close();
    await server.close();
    cloud.dispose();
  };
  return {
    cloud,
    server,
    proxy,
    url: `http://${proxy.host}`,
    requestText: () => Buffer.concat(chunks).toString("utf8"),
    writes,
    calls,
    [Symbol.asyncDispose]: close,
  };
}

/** A fault proxy in front of the apiserver and a kubeconfig for `identityKubeconfig` that goes through it. */
export async function proxiedKubeconfig(
  identityKubeconfig: string,
  server: string,
  dir: string,
): Promise<{ proxy: FaultProxy; kubeconfig: string }> {
  const proxy = await startFaultProxy({ target: { port: Number(new URL(server).port) } });
  const text = (await readFile(identityKubeconfig, "utf8")).replaceAll(server, `https://${proxy.host}`);
  const kubeconfig = join(dir, `proxied-${randomBytes(3).toString("hex")}.kubeconfig`);
  await writeFile(kubeconfig, text, { mode: 0o600 });
  return { proxy, kubeconfig };
}

// ------------------------------------------------------------------------------------------------------
// Secrets and the leak scan

/** Creates a Secret whose values are random and recognisable; returns them for the scan. */
export async function createSecret(kc: KubeConfig, namespace: string, name: string): Promise<string[]> {
  const values = [`vn-leak-${randomBytes(12).toString("hex")}`, `pw-${randomBytes(9).toString("base64url")}`];
  await kc.makeApiClient(CoreV1Api).createNamespacedSecret({
    namespace,
    body: { metadata: { name }, stringData: { token: values[0] ?? "", password: values[1] ?? "" } },
  });
  return values;
}

/** The forms a leaked value could take in a log line or a request body. */
export function leakForms(value: string): string[] {
  const base64 = Buffer.from(value).toString("base64");
  return [
    ...new Set([
      value,
      base64,
      base64.replace(/=+$/, ""),
      Buffer.from(value).toString("base64url"),
      encodeURIComponent(value),
      JSON.stringify(value).slice(1, -1),
    ]),
  ];
}

export interface LeakScan {
  readonly secretsScanned: number;
  readonly bytesScanned: number;
  readonly sources: number;
  readonly found: readonly string[];
}

/** Scans texts (log files' contents, request bodies) for every form of every value. */
export function scanForSecrets(values: readonly string[], sources: Record<string, string>): LeakScan {
  const found: string[] = [];
  let bytes = 0;
  for (const [source, text] of Object.entries(sources)) {
    bytes += text.length;
    for (const value of values) {
      for (const form of leakForms(value)) {
        if (text.includes(form)) found.push(`${source}: a form of secret value #${values.indexOf(value)}`);
      }
    }
  }
  return { secretsScanned: values.length, bytesScanned: bytes, sources: Object.keys(sources).length, found };
}

/**
 * The mock cloud is a cloud that is given Secret data on purpose, in fields it marks `"secret":true` (env
 * values, file contents), as a real cloud receives them in its secure fields. Those designated fields are
 * blanked before the scan, which then proves a value appears nowhere else (URLs, tags, other fields).
 */
export function withoutDesignatedSecretFields(text: string): { text: string; designated: number } {
  let designated = 0;
  const blank = () => {
    designated++;
    return "<designated>";
  };
  const out = text
    .replace(/"value":"(?:[^"\\]|\\.)*","secret":true/g, blank)
    .replace(/"secret":true,"base64":"[A-Za-z0-9+/=]*"/g, blank);
  return { text: out, designated };
}

export async function readAll(files: readonly string[]): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const file of files) out[file] = existsSync(file) ? await readFile(file, "utf8") : "";
  return out;
}

// ------------------------------------------------------------------------------------------------------
// Workloads and invariants

/** A pod template that references the Secret as env and as a volume (both must never leak). */
export function podTemplate(nodeName: string, secretName: string, app: string) {
  return {
    metadata: { labels: { app } },
    spec: {
      nodeName,
      tolerations: [{ operator: "Exists" as const }],
      terminationGracePeriodSeconds: 1,
      containers: [
        {
          name: "app",
          image: "registry.local/app:1",
          env: [{ name: "TOKEN", valueFrom: { secretKeyRef: { name: secretName, key: "token" } } }],
          volumeMounts: [{ name: "creds", mountPath: "/creds" }],
          resources: { requests: { cpu: "10m", memory: "16Mi" } },
        },
      ],
      volumes: [{ name: "creds", secret: { secretName } }],
    },
  };
}

export async function createDeployment(
  kc: KubeConfig,
  namespace: string,
  name: string,
  replicas: number,
  template: ReturnType<typeof podTemplate>,
): Promise<void> {
  await kc.makeApiClient(AppsV1Api).createNamespacedDeployment({
    namespace,
    body: {
      metadata: { name },
      spec: {
        replicas,
        selector: { matchLabels: template.metadata.labels },
        template,
        strategy: { type: "RollingUpdate", rollingUpdate: { maxSurge: "100%", maxUnavailable: "100%" } },
      },
    },
  });
}

export async function scaleDeployment(kc: KubeConfig, namespace: string, name: string, replicas: number) {
  await kc.makeApiClient(AppsV1Api).patchNamespacedDeploymentScale({
    namespace,
    name,
    body: [{ op: "replace", path: "/spec/replicas", value: replicas }],
  });
}

export async function listPods(kc: KubeConfig, namespace: string): Promise<V1Pod[]> {
  const core = kc.makeApiClient(CoreV1Api);
  const pods: V1Pod[] = [];
  let _continue: string | undefined;
  do {
    const page = await core.listNamespacedPod({ namespace, limit: 500, ...(_continue ? { _continue } : {}) });
    pods.push(...page.items);
    _continue = page.metadata?._continue;
  } while (_continue);
  return pods;
}

const isReady = (pod: V1Pod) =>
  pod.status?.phase === "Running" &&
  (pod.status.conditions ?? []).some((c) => c.type === "Ready" && c.status === "True");

export interface Convergence {
  readonly pods: number;
  readonly ready: number;
  /** Cloud groups for a pod UID that has more than one. */
  readonly duplicates: number;
  /** Cloud groups of this namespace whose pod UID no longer exists. */
  readonly orphans: number;
  /** Pods of the API server with no cloud group. */
  readonly missing: number;
  /** Sum of container restart counts. */
  readonly restarts: number;
}

export async function convergence(kc: KubeConfig, cloud: MockCloud, namespace: string): Promise<Convergence> {
  const pods = (await listPods(kc, namespace)).filter((p) => p.metadata?.deletionTimestamp == null);
  const groups = (await cloud.listGroups()).filter((g) => g.spec.namespace === namespace);
  const byUid = new Map<string, number>();
  for (const group of groups) byUid.set(group.spec.uid, (byUid.get(group.spec.uid) ?? 0) + 1);
  const podUids = new Set(pods.map((p) => p.metadata?.uid ?? ""));
  return {
    pods: pods.length,
    ready: pods.filter(isReady).length,
    duplicates: [...byUid.values()].filter((n) => n > 1).length,
    orphans: groups.filter((g) => !podUids.has(g.spec.uid)).length,
    missing: pods.filter((p) => !byUid.has(p.metadata?.uid ?? "")).length,
    restarts: pods
      .flatMap((p) => p.status?.containerStatuses ?? [])
      .reduce((sum, status) => sum + status.restartCount, 0),
  };
}

/** Polls until `check` returns a value (not undefined/false); throws with the last state after timeoutMs. */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined | false> | T | undefined | false,
  timeoutMs: number,
  intervalMs = 500,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined && value !== false) return value;
      last = value;
    } catch (error) {
      last = error instanceof Error ? error.message : error;
    }
    if (Date.now() > deadline)
      throw new Error(`timed out (${timeoutMs} ms) waiting for ${what}; last: ${JSON.stringify(last)}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** Waits until `want` pods are Ready with no cloud duplicate, orphan or missing group. */
export async function waitConverged(
  kc: KubeConfig,
  cloud: MockCloud,
  namespace: string,
  want: number,
  timeoutMs: number,
): Promise<Convergence> {
  let last: Convergence | undefined;
  try {
    return await waitFor(
      `${want} ready pods in ${namespace}, cloud in step`,
      async () => {
        last = await convergence(kc, cloud, namespace);
        return last.pods === want && last.ready === want && last.missing === 0 && last.orphans === 0
          ? last
          : undefined;
      },
      timeoutMs,
      1000,
    );
  } catch (error) {
    throw new Error(`${(error as Error).message}; state: ${JSON.stringify(last)}`, { cause: error });
  }
}

/** The Node's Ready condition status as the API server has it. */
export async function nodeReady(kc: KubeConfig, nodeName: string): Promise<string | undefined> {
  const node = await kc.makeApiClient(CoreV1Api).readNode({ name: nodeName });
  return node.status?.conditions?.find((c) => c.type === "Ready")?.status;
}

export async function createNamespace(kc: KubeConfig, name: string): Promise<void> {
  const core = kc.makeApiClient(CoreV1Api);
  await core.createNamespace({ body: { metadata: { name } } });
  await waitFor(
    `default ServiceAccount in ${name}`,
    async () => {
      await core.readNamespacedServiceAccount({ name: "default", namespace: name });
      return true;
    },
    60_000,
    200,
  );
}

// ------------------------------------------------------------------------------------------------------
// etcd compaction, ownership from the call log, pod identity across a fault

/**
 * Compacts etcd's history up to its current revision through etcd's v3 HTTP gateway (the harness's etcd
 * serves plain HTTP on loopback): afterwards a watch from any older resourceVersion that reaches etcd is
 * answered 410 Gone. Returns the revision compacted to.
 */
export async function compactEtcd(etcdClientPort: number): Promise<number> {
  const base = `http://127.0.0.1:${String(etcdClientPort)}`;
  const post = async (path: string, body: unknown): Promise<unknown> => {
    const res = await fetch(`${base}${path}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`etcd ${path}: HTTP ${String(res.status)}: ${text}`);
    return JSON.parse(text) as unknown;
  };
  // Any range answers with the store's current revision in its header.
  const range = (await post("/v3/kv/range", { key: Buffer.from("/").toString("base64") })) as {
    header?: { revision?: string };
  };
  const revision = Number(range.header?.revision);
  if (!Number.isSafeInteger(revision) || revision <= 0)
    throw new Error(`etcd /v3/kv/range: no header.revision in ${JSON.stringify(range)}`);
  await post("/v3/kv/compaction", { revision: String(revision), physical: true });
  return revision;
}

/** A maximal run of consecutive cloud calls by one caller: the caller's ownership interval as the cloud saw it. */
export interface CallerRun {
  readonly caller: string;
  readonly from: number;
  readonly to: number;
  readonly calls: number;
}

/**
 * The cloud's call log cut into runs of one caller. One owner at a time gives one run per ownership
 * period, in the order of the owners; two replicas acting at once interleave, which shows as more runs
 * (A B A B …) than there were owners.
 */
export function callerRuns(calls: readonly CloudCall[]): CallerRun[] {
  const runs: CallerRun[] = [];
  for (const call of [...calls].sort((a, b) => a.at - b.at)) {
    const caller = call.caller ?? "<none>";
    const last = runs.at(-1);
    if (last?.caller === caller) runs[runs.length - 1] = { ...last, to: call.at, calls: last.calls + 1 };
    else runs.push({ caller, from: call.at, to: call.at, calls: 1 });
  }
  return runs;
}

/** Successful createPod calls per pod (`namespace/name`) from the cloud's own log: more than one is a re-create. */
export async function recreatedPods(cloud: MockCloud): Promise<string[]> {
  const creates = new Map<string, number>();
  for (const call of (await cloud.callStats()).log) {
    if (call.op !== "createPod" || call.outcome !== "ok" || call.key === undefined) continue;
    creates.set(call.key, (creates.get(call.key) ?? 0) + 1);
  }
  return [...creates].filter(([, n]) => n > 1).map(([key]) => key);
}

/** Each live pod's UID → the start time of its containers (a restart or a re-create changes it). */
export async function podStarts(kc: KubeConfig, namespace: string): Promise<Map<string, string>> {
  const starts = new Map<string, string>();
  for (const pod of await listPods(kc, namespace)) {
    if (pod.metadata?.deletionTimestamp != null) continue;
    const started = (pod.status?.containerStatuses ?? [])
      .map((c) => c.state?.running?.startedAt?.toISOString() ?? "not running")
      .join(",");
    starts.set(pod.metadata?.uid ?? "", started);
  }
  return starts;
}

/** Pods of `before` still alive after the fault whose containers' start times changed (restarted). */
export function restartedSince(before: Map<string, string>, after: Map<string, string>): string[] {
  return [...before]
    .filter(([uid, started]) => after.has(uid) && after.get(uid) !== started)
    .map(([uid]) => uid);
}
