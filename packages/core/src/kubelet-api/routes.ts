/**
 * Routes of the kubelet API: the pod routes (`/containerLogs`, `/exec`, `/attach`, `/portForward`)
 * parsed from the path, the node that answers a request, and the table of plain (non-upgrade)
 * endpoints — health, pods, stats and metrics — answered through the provider's hooks.
 *
 * When several nodes share one listener, pod routes go to the node running the pod, and node
 * endpoints (`/stats`, `/metrics/resource`, …) answer 400 because they cannot tell the nodes apart.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Registry } from "prom-client";
import { describeError } from "../errors.js";
import type { Pod } from "../kube/types.js";
import type { Logger } from "../logger.js";
import type { PodRef } from "../provider.js";
import { renderCadvisorMetrics } from "./cadvisor.js";
import { TEXT_FORMAT_CONTENT_TYPE } from "./exposition.js";
import { HttpError, sendJson, sendText } from "./http-util.js";
import type { KubeletApiNode, ListenerGroup } from "./listeners.js";
import { parseLogOptions, streamLog } from "./logs.js";
import { probeResultCounterFor } from "./probes-metrics.js";
import type { StatsSummary } from "./stats-types.js";
import { completeSummary, cpuAndMemoryOnly, renderResourceMetrics } from "./stats.js";

/** A request path and its query. */
export function parsePath(url: string): { path: string; query: URLSearchParams } {
  const parsed = new URL(url, "https://kubelet.invalid");
  return { path: parsed.pathname, query: parsed.searchParams };
}

/** A pod endpoint: `/<kind>/<namespace>/<pod>[/<uid>][/<container>]`. */
export interface PodRoute {
  kind: "containerLogs" | "exec" | "attach" | "portForward";
  namespace: string;
  pod: string;
  uid?: string;
  container?: string;
}

/** Pure: the pod route of a path, or undefined when it is not one. */
export function podRoute(path: string): PodRoute | undefined {
  const parts = path.split("/").filter((p) => p.length > 0);
  const [head, namespace, pod, a, b, ...rest] = parts;
  if (namespace === undefined || pod === undefined || rest.length > 0) return undefined;
  const decode = (s: string): string => decodeURIComponent(s);
  switch (head) {
    case "containerLogs":
      if (a === undefined || b !== undefined) return undefined;
      return { kind: head, namespace: decode(namespace), pod: decode(pod), container: decode(a) };
    case "exec":
    case "attach":
      if (a === undefined) return undefined;
      return b === undefined
        ? { kind: head, namespace: decode(namespace), pod: decode(pod), container: decode(a) }
        : {
            kind: head,
            namespace: decode(namespace),
            pod: decode(pod),
            uid: decode(a),
            container: decode(b),
          };
    case "portForward":
      if (b !== undefined) return undefined;
      return a === undefined
        ? { kind: head, namespace: decode(namespace), pod: decode(pod) }
        : { kind: head, namespace: decode(namespace), pod: decode(pod), uid: decode(a) };
    default:
      return undefined;
  }
}

function containerNames(pod: Pod): string[] {
  const spec = pod.spec;
  return [
    ...(spec?.containers ?? []).map((c) => c.name),
    ...(spec?.initContainers ?? []).map((c) => c.name),
    ...(spec?.ephemeralContainers ?? []).map((c) => c.name),
  ];
}

/** The provider's reference to an API pod. */
export function refOf(pod: Pod): PodRef {
  return {
    namespace: pod.metadata?.namespace ?? "default",
    name: pod.metadata?.name ?? "",
    uid: pod.metadata?.uid ?? "",
  };
}

/** The 501 of an endpoint whose provider hook is missing. */
export function notImplemented(node: KubeletApiNode, hook: string, what: string): HttpError {
  return new HttpError(
    501,
    `${what} is not supported by this node: provider "${node.provider.name}" does not implement ${hook}`,
  );
}

/** The node a request is for: the listener's only node, or the one running the pod. */
export function nodeFor(listener: ListenerGroup, route: PodRoute | undefined): KubeletApiNode | undefined {
  if (listener.nodes.length === 1) return listener.nodes[0];
  if (route === undefined) return undefined;
  return listener.nodes.find((n) => n.getPod(route.namespace, route.pod) !== undefined) ?? listener.nodes[0];
}

/** The API pod of a route, or a 404 like the kubelet's. */
export function podOf(node: KubeletApiNode | undefined, route: PodRoute): Pod {
  const pod = node?.getPod(route.namespace, route.pod);
  if (pod === undefined) throw new HttpError(404, `pod "${route.pod}" does not exist`);
  if (route.uid !== undefined && route.uid !== "" && pod.metadata?.uid !== route.uid)
    throw new HttpError(404, `pod "${route.pod}" with UID ${route.uid} not found`);
  if (route.container !== undefined && !containerNames(pod).includes(route.container))
    throw new HttpError(404, `container "${route.container}" not found in pod "${route.pod}"`);
  return pod;
}

/** What the plain endpoints need from the server. */
export interface RouteContext {
  logger: Logger;
  /** Registry served at `/metrics`. */
  metricsRegistry?: Registry | undefined;
  /** The server's start time (the summary's node start time). */
  startTime: Date;
}

/** One plain endpoint. */
interface NodeRequest {
  context: RouteContext;
  listener: ListenerGroup;
  path: string;
  query: URLSearchParams;
  res: ServerResponse;
}

type NodeRouteHandler = (request: NodeRequest) => Promise<void> | void;

/** The one node of a listener, or a 400 when several share it. */
function singleNode(listener: ListenerGroup, path: string): KubeletApiNode {
  if (listener.nodes.length === 1) return listener.nodes[0] as KubeletApiNode;
  throw new HttpError(
    400,
    `${path} is ambiguous here: nodes ${listener.nodes.map((n) => n.nodeName).join(", ")} share ${listener.key}; give each node its own kubelet port or InternalIP`,
  );
}

async function summaryOf(context: RouteContext, node: KubeletApiNode): Promise<StatsSummary> {
  const hook = node.provider.getStatsSummary?.bind(node.provider);
  if (hook === undefined) throw notImplemented(node, "getStatsSummary", "stats");
  const signal = AbortSignal.timeout(30_000);
  const reported = await hook(node.nodeName, node.listPods().map(refOf), { signal });
  return completeSummary(node.nodeName, context.startTime, reported);
}

async function runningPods(node: KubeletApiNode): Promise<Pod[]> {
  const pods = await node.provider.listPods(node.nodeName, { signal: AbortSignal.timeout(30_000) });
  return pods.map((p) => ({
    metadata: { name: p.name, namespace: p.namespace, uid: p.uid },
    spec: {
      containers: (p.status?.containers ?? []).map((c) => ({
        name: c.name,
        ...(c.image === undefined ? {} : { image: c.image }),
      })),
    },
  }));
}

const healthz: NodeRouteHandler = ({ res }) => {
  sendText(res, 200, "ok");
};

const pods: NodeRouteHandler = ({ listener, res }) => {
  const items = listener.nodes.flatMap((n) => n.listPods());
  sendJson(res, 200, { kind: "PodList", apiVersion: "v1", metadata: {}, items });
};

const runningPodsRoute: NodeRouteHandler = async ({ listener, path, res }) => {
  const single = singleNode(listener, path);
  sendJson(res, 200, { kind: "PodList", apiVersion: "v1", metadata: {}, items: await runningPods(single) });
};

const statsSummary: NodeRouteHandler = async ({ context, listener, path, query, res }) => {
  const summary = await summaryOf(context, singleNode(listener, path));
  const only = query.get("only_cpu_and_memory");
  sendJson(res, 200, only === "true" || only === "1" ? cpuAndMemoryOnly(summary) : summary);
};

const resourceMetrics: NodeRouteHandler = async ({ context, listener, path, res }) => {
  const single = singleNode(listener, path);
  if (single.provider.getStatsSummary === undefined)
    throw notImplemented(single, "getStatsSummary", "resource metrics");
  let summary: StatsSummary | undefined;
  try {
    summary = await summaryOf(context, single);
  } catch (error) {
    context.logger.warn(
      { node: single.nodeName, error: describeError(error) },
      "resource metrics: stats failed",
    );
  }
  sendText(res, 200, renderResourceMetrics(summary), {
    "content-type": "text/plain; version=0.0.4; charset=utf-8",
  });
};

const cadvisorMetrics: NodeRouteHandler = async ({ context, listener, path, res }) => {
  // Served without a stats hook too (no samples): scrape configs expect a 200 from every kubelet.
  const single = singleNode(listener, path);
  let summary: StatsSummary | undefined = { node: { nodeName: single.nodeName, startTime: "" }, pods: [] };
  if (single.provider.getStatsSummary !== undefined) {
    try {
      summary = await summaryOf(context, single);
    } catch (error) {
      summary = undefined;
      context.logger.warn(
        { node: single.nodeName, error: describeError(error) },
        "cadvisor metrics: stats failed",
      );
    }
  }
  const body = renderCadvisorMetrics({ summary, pods: single.listPods(), now: Date.now() });
  sendText(res, 200, body, { "content-type": TEXT_FORMAT_CONTENT_TYPE });
};

const probeMetrics: NodeRouteHandler = ({ listener, path, res }) => {
  const single = singleNode(listener, path);
  const counter = probeResultCounterFor(single);
  counter.observe(single.listPods());
  sendText(res, 200, counter.render(), { "content-type": TEXT_FORMAT_CONTENT_TYPE });
};

const agentMetrics: NodeRouteHandler = async ({ context, res }) => {
  const registry = context.metricsRegistry;
  if (registry === undefined) throw new HttpError(404, "no metrics registry configured");
  sendText(res, 200, await registry.metrics(), { "content-type": registry.contentType });
};

/** The plain endpoints by exact path. */
const NODE_ROUTES: ReadonlyMap<string, NodeRouteHandler> = new Map([
  ["/healthz", healthz],
  ["/healthz/ping", healthz],
  ["/healthz/syncloop", healthz],
  ["/pods", pods],
  ["/pods/", pods],
  ["/runningpods", runningPodsRoute],
  ["/runningpods/", runningPodsRoute],
  ["/stats/summary", statsSummary],
  ["/stats/summary/", statsSummary],
  ["/metrics/resource", resourceMetrics],
  ["/metrics/cadvisor", cadvisorMetrics],
  ["/metrics/probes", probeMetrics],
  ["/metrics", agentMetrics],
]);

async function containerLogs(
  node: KubeletApiNode | undefined,
  route: PodRoute,
  query: URLSearchParams,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const options = parseLogOptions(query);
  const pod = podOf(node, route);
  const n = node as KubeletApiNode;
  const hook = n.provider.getContainerLogs?.bind(n.provider);
  if (hook === undefined) throw notImplemented(n, "getContainerLogs", "container logs");
  const call = new AbortController();
  const source = await hook(refOf(pod), route.container ?? "", options, { signal: call.signal });
  try {
    await streamLog(req, res, source, options.limitBytes, () => {
      call.abort();
    });
  } finally {
    call.abort();
  }
}

/** Answers an authorized, non-upgrade request; throws an {@link HttpError} (or a provider error). */
export async function handleRequest(
  context: RouteContext,
  listener: ListenerGroup,
  node: KubeletApiNode | undefined,
  route: PodRoute | undefined,
  path: string,
  query: URLSearchParams,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const method = req.method ?? "GET";
  if (route !== undefined && route.kind !== "containerLogs") {
    if (method !== "GET" && method !== "POST") throw new HttpError(405, "method not allowed");
    throw new HttpError(400, "Upgrade request required");
  }
  if (method !== "GET" && method !== "HEAD") throw new HttpError(405, `${method} is not allowed on ${path}`);
  if (route !== undefined) {
    await containerLogs(node, route, query, req, res);
    return;
  }
  const handler = NODE_ROUTES.get(path);
  if (handler === undefined) throw new HttpError(404, `404 page not found: ${path}`);
  await handler({ context, listener, path, query, res });
}
