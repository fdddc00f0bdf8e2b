/**
 * Unit tests of the kubelet API's pure parts: the kubelet's authorization attributes, the auth
 * caches (with a fake API client), log option validation, the stats summary and resource metrics,
 * and the small stream helpers.
 */
import type { IncomingMessage } from "node:http";
import { describe, expect, it } from "vitest";
import { KubeletAuth, requestAttributes, verbOf } from "../../src/kubelet-api/auth.js";
import type { KubeClient } from "../../src/kube/client.js";
import { AsyncQueue, JsonObjectSplitter, parseGoBool } from "../../src/kubelet-api/http-util.js";
import { parseLogOptions } from "../../src/kubelet-api/logs.js";
import {
  decodeChannelMessage,
  encodeChannelMessage,
  negotiateProtocol,
  protocolList,
} from "../../src/kubelet-api/websocket-channel.js";
import { groupListeners, type KubeletApiNode } from "../../src/kubelet-api/listeners.js";
import { podRoute } from "../../src/kubelet-api/routes.js";
import { parsePorts } from "../../src/kubelet-api/portforward.js";
import { completeSummary, cpuAndMemoryOnly, renderResourceMetrics } from "../../src/kubelet-api/stats.js";
import { kubeletPortFor } from "../../src/kubelet-api/options.js";

describe("authorization attributes (pkg/kubelet/server/auth.go)", () => {
  const table: [string, string, string, string[]][] = [
    ["GET", "/stats/summary", "get", ["stats"]],
    ["GET", "/stats", "get", ["stats"]],
    ["GET", "/metrics", "get", ["metrics"]],
    ["GET", "/metrics/resource", "get", ["metrics"]],
    ["GET", "/metrics/cadvisor", "get", ["metrics"]],
    ["GET", "/logs/syslog", "get", ["log"]],
    ["GET", "/pods", "get", ["pods", "proxy"]],
    ["GET", "/runningpods/", "get", ["pods", "proxy"]],
    ["GET", "/healthz", "get", ["healthz", "proxy"]],
    ["GET", "/configz", "get", ["configz", "proxy"]],
    ["GET", "/containerLogs/ns/pod/app", "get", ["proxy"]],
    ["POST", "/exec/ns/pod/app", "create", ["proxy"]],
    ["GET", "/exec/ns/pod/app", "get", ["proxy"]],
    ["POST", "/portForward/ns/pod", "create", ["proxy"]],
    ["PUT", "/anything", "update", ["proxy"]],
    ["PATCH", "/anything", "patch", ["proxy"]],
    ["DELETE", "/anything", "delete", ["proxy"]],
    ["GET", "/statsx", "get", ["proxy"]],
    ["GET", "/metricsfoo", "get", ["proxy"]],
  ];
  it.each(table)("%s %s → verb %s on nodes/%j", (method, path, verb, subresources) => {
    const attrs = requestAttributes(method, path, "vn-1");
    expect(attrs.map((a) => a.subresource)).toEqual(subresources);
    for (const a of attrs) expect(a).toMatchObject({ verb, resource: "nodes", name: "vn-1", path });
  });
  it("maps unknown methods to no verb", () => {
    expect(verbOf("OPTIONS")).toBe("");
    expect(verbOf("head")).toBe("get");
  });
});

function fakeClient(handler: (path: string, body: unknown) => unknown): {
  client: KubeClient;
  calls: string[];
} {
  const calls: string[] = [];
  const client = {
    create: (path: string, body: unknown) => {
      calls.push(path);
      return Promise.resolve(handler(path, body));
    },
  } as unknown as KubeClient;
  return { client, calls };
}

function requestWith(headers: Record<string, string>): IncomingMessage {
  return { headers, socket: {} } as unknown as IncomingMessage;
}

describe("KubeletAuth", () => {
  const user = { username: "alice", groups: ["devs"] };

  it("reviews tokens once, caches the answer, never keeps the token", async () => {
    const { client, calls } = fakeClient((path, body) => {
      if (path.endsWith("tokenreviews")) {
        const token = (body as { spec: { token: string } }).spec.token;
        return token === "good"
          ? { status: { authenticated: true, user: { username: "alice", groups: ["devs"], uid: "u1" } } }
          : { status: { authenticated: false } };
      }
      return { status: { allowed: true } };
    });
    const auth = new KubeletAuth({ client });
    const ok = await auth.authenticate(requestWith({ authorization: "Bearer good" }));
    expect(ok).toEqual({ ok: true, user: { username: "alice", groups: ["devs"], uid: "u1" }, via: "token" });
    await auth.authenticate(requestWith({ authorization: "Bearer good" }));
    expect(calls.filter((c) => c.endsWith("tokenreviews"))).toHaveLength(1);
    expect(await auth.authenticate(requestWith({ authorization: "Bearer bad" }))).toMatchObject({
      ok: false,
      status: 401,
    });
    expect(await auth.authenticate(requestWith({ authorization: "Basic abc" }))).toMatchObject({
      ok: false,
      status: 401,
    });
    expect(await auth.authenticate(requestWith({}))).toMatchObject({ ok: false, status: 401 });
  });

  it("anonymous only when enabled", async () => {
    const { client } = fakeClient(() => ({ status: { allowed: false } }));
    const open = new KubeletAuth({ client, anonymous: true });
    expect(await open.authenticate(requestWith({}))).toMatchObject({
      ok: true,
      user: { username: "system:anonymous", groups: ["system:unauthenticated"] },
    });
  });

  it("allows when any attribute is allowed, caches decisions, reports 403 like the kubelet", async () => {
    const { client, calls } = fakeClient((_path, body) => {
      const sub = (body as { spec: { resourceAttributes: { subresource: string } } }).spec.resourceAttributes
        .subresource;
      return { status: { allowed: sub === "proxy" } };
    });
    const auth = new KubeletAuth({ client, denyCacheTtlMs: 60_000 });
    const pods = requestAttributes("GET", "/pods", "vn-1");
    expect(await auth.authorize(user, pods)).toMatchObject({ ok: true });
    expect(calls).toHaveLength(2); // pods denied, proxy allowed
    expect(await auth.authorize(user, pods)).toMatchObject({ ok: true });
    expect(calls).toHaveLength(2); // both cached
    const denied = await auth.authorize(user, requestAttributes("GET", "/stats/summary", "vn-1"));
    expect(denied).toEqual({
      ok: false,
      status: 403,
      message: "Forbidden (user=alice, verb=get, resource=nodes, subresource(s)=[stats])\n",
    });
    auth.clearCaches();
    await auth.authorize(user, pods);
    expect(calls).toHaveLength(5);
  });

  it("turns review failures into 500 Authorization error, and AlwaysAllow skips reviews", async () => {
    const failing = new KubeletAuth({
      client: { create: () => Promise.reject(new Error("boom")) } as unknown as KubeClient,
    });
    expect(await failing.authorize(user, requestAttributes("GET", "/pods", "n"))).toMatchObject({
      ok: false,
      status: 500,
    });
    const open = new KubeletAuth({ authorizationMode: "AlwaysAllow", tokenWebhook: false });
    expect(await open.authorize(user, requestAttributes("POST", "/exec/a/b/c", "n"))).toMatchObject({
      ok: true,
    });
    expect(() => new KubeletAuth({})).toThrow(/needs an API client/);
  });
});

describe("parseLogOptions", () => {
  const parse = (q: string) => parseLogOptions(new URLSearchParams(q));
  it("accepts the kubelet's parameters", () => {
    expect(parse("")).toEqual({ follow: false, timestamps: false, previous: false });
    expect(
      parse("follow=true&tailLines=10&timestamps=1&limitBytes=5&previous=false&sinceSeconds=30"),
    ).toEqual({
      follow: true,
      tailLines: 10,
      timestamps: true,
      limitBytes: 5,
      previous: false,
      sinceSeconds: 30,
    });
    expect(parse("sinceTime=2026-01-02T03:04:05Z").sinceTime?.toISOString()).toBe("2026-01-02T03:04:05.000Z");
    expect(parse("tail=3").tailLines).toBe(3);
    expect(parse("tail=all&tailLines=4").tailLines).toBeUndefined();
    expect(parse("tailLines=0").tailLines).toBe(0);
    expect(parse("stream=All").follow).toBe(false);
  });
  it.each([
    ["tailLines=-1", /tailLines.*greater than or equal to 0/, 422],
    ["tailLines=abc", /not an integer/, 400],
    ["limitBytes=0", /limitBytes.*greater than 0/, 422],
    ["sinceSeconds=0", /sinceSeconds.*greater than 0/, 422],
    ["sinceSeconds=5&sinceTime=2026-01-02T03:04:05Z", /at most one of/, 422],
    ["sinceTime=yesterday", /RFC 3339/, 400],
    ["follow=maybe", /not a boolean/, 400],
    ["stream=Stderr", /log stream/, 400],
  ])(
    "rejects %s (kubelet: 400 when it does not decode, 422 when it fails validation)",
    (query, message, status) => {
      expect(() => parse(query)).toThrow(message);
      expect(() => parse(query)).toThrow(expect.objectContaining({ status }));
    },
  );
});

describe("stats", () => {
  const t = "2026-01-02T03:04:05.000Z";
  const reported = {
    pods: [
      {
        podRef: { name: "p", namespace: "ns", uid: "u" },
        startTime: t,
        containers: [
          {
            name: "a",
            startTime: t,
            cpu: { time: t, usageNanoCores: 10, usageCoreNanoSeconds: 2_000_000_000 },
            memory: { time: t, workingSetBytes: 100 },
          },
          {
            name: "b",
            startTime: t,
            cpu: { time: t, usageNanoCores: 5, usageCoreNanoSeconds: 500_000_000 },
            memory: { time: t, workingSetBytes: 50 },
          },
        ],
      },
    ],
  };

  it("sums pods from containers and the node from pods", () => {
    const summary = completeSummary("vn-1", new Date(t), reported, new Date(t));
    expect(summary.node).toMatchObject({
      nodeName: "vn-1",
      startTime: t,
      cpu: { usageNanoCores: 15, usageCoreNanoSeconds: 2_500_000_000 },
      memory: { workingSetBytes: 150 },
    });
    expect(summary.pods[0]?.cpu).toEqual({
      time: t,
      usageNanoCores: 15,
      usageCoreNanoSeconds: 2_500_000_000,
    });
    expect(cpuAndMemoryOnly(summary).pods[0]?.containers[0]).toEqual(reported.pods[0]?.containers[0]);
  });

  it("renders the kubelet's resource metrics with timestamps", () => {
    const text = renderResourceMetrics(completeSummary("vn-1", new Date(t), reported, new Date(t)));
    const ms = Date.parse(t);
    expect(text).toContain("# TYPE container_cpu_usage_seconds_total counter\n");
    expect(text).toContain(
      `container_cpu_usage_seconds_total{container="a",namespace="ns",pod="p"} 2 ${ms}\n`,
    );
    expect(text).toContain(
      `container_memory_working_set_bytes{container="b",namespace="ns",pod="p"} 50 ${ms}\n`,
    );
    expect(text).toContain(`pod_cpu_usage_seconds_total{namespace="ns",pod="p"} 2.5 ${ms}\n`);
    expect(text).toContain(`pod_memory_working_set_bytes{namespace="ns",pod="p"} 150 ${ms}\n`);
    expect(text).toContain(`node_cpu_usage_seconds_total 2.5 ${ms}\n`);
    expect(text).toContain(`node_memory_working_set_bytes 150 ${ms}\n`);
    expect(text).toContain(
      `container_start_time_seconds{container="a",namespace="ns",pod="p"} ${ms / 1000}\n`,
    );
    expect(text).toContain("\nscrape_error 0\n");
    expect(text).toContain("\nresource_scrape_error 0\n");
    expect(renderResourceMetrics(undefined)).toContain("\nscrape_error 1\n");
  });
});

describe("helpers", () => {
  it("splits concatenated resize objects across chunks", () => {
    const splitter = new JsonObjectSplitter();
    expect(splitter.push('{"Width":80,')).toEqual([]);
    expect(splitter.push('"Height":24}{"Width":1')).toEqual([{ Width: 80, Height: 24 }]);
    expect(splitter.push('00,"Height":"}{"}')).toEqual([{ Width: 100, Height: "}{" }]);
  });
  it("queues values for async iteration", async () => {
    const q = new AsyncQueue<number>();
    q.push(1);
    setTimeout(() => {
      q.push(2);
      q.end();
    }, 1);
    const got: number[] = [];
    for await (const v of q) got.push(v);
    expect(got).toEqual([1, 2]);
  });
  it("parses Go booleans, protocol lists and ports", () => {
    expect([parseGoBool("1"), parseGoBool("True"), parseGoBool("f"), parseGoBool("yes")]).toEqual([
      true,
      true,
      false,
      undefined,
    ]);
    expect(protocolList(["v4.channel.k8s.io, v3.channel.k8s.io", "channel.k8s.io"])).toEqual([
      "v4.channel.k8s.io",
      "v3.channel.k8s.io",
      "channel.k8s.io",
    ]);
    expect(
      negotiateProtocol(
        ["v6.channel.k8s.io", "v4.channel.k8s.io", "v5.channel.k8s.io"],
        ["v5.channel.k8s.io", "v4.channel.k8s.io"],
      ),
    ).toBe("v4.channel.k8s.io");
    expect(parsePorts(["80,443", "8080"])).toEqual([80, 443, 8080]);
    expect(() => parsePorts([])).toThrow(/required/);
    expect(() => parsePorts(["0"])).toThrow(/unable to parse/);
  });
  it.each([
    { base64: false, channel: 1, data: "hi", wire: Buffer.from([1, 0x68, 0x69]) },
    { base64: false, channel: 3, data: "", wire: Buffer.from([3]) },
    { base64: true, channel: 2, data: "hi", wire: "2aGk=" },
    { base64: true, channel: 0, data: "", wire: "0" },
  ])("frames channel $channel (base64 $base64) both ways", ({ base64, channel, data, wire }) => {
    expect(encodeChannelMessage(base64, channel, Buffer.from(data))).toEqual(wire);
    const received = typeof wire === "string" ? Buffer.from(wire, "latin1") : wire;
    expect(decodeChannelMessage(base64, received)).toEqual({ channel, payload: Buffer.from(data) });
  });
  it("ignores an empty channel message", () => {
    expect(decodeChannelMessage(false, Buffer.alloc(0))).toBeUndefined();
    expect(decodeChannelMessage(true, Buffer.alloc(0))).toBeUndefined();
  });
  it("assigns kubelet ports: explicit, else base + index when the API is on", () => {
    expect(kubeletPortFor(1234, { port: 20000 }, 3)).toBe(1234);
    expect(kubeletPortFor(undefined, { port: 20000 }, 3)).toBe(20003);
    expect(kubeletPortFor(undefined, {}, 1)).toBe(10251);
    expect(kubeletPortFor(undefined, undefined, 5)).toBe(10250);
    expect(kubeletPortFor(undefined, { enabled: false }, 5)).toBe(10250);
  });
});

describe("kubelet API listeners and routes", () => {
  const node = (nodeName: string, internalIP: string, port: number): KubeletApiNode =>
    ({ nodeName, internalIP, port }) as KubeletApiNode;
  const groups = (nodes: KubeletApiNode[], listenAddress?: string) =>
    groupListeners(nodes, listenAddress).map((g) => ({ key: g.key, nodes: g.nodes.map((n) => n.nodeName) }));

  it.each([
    {
      name: "a node alone on its port binds the listen address",
      nodes: [node("a", "10.0.0.1", 10250), node("b", "10.0.0.2", 10251)],
      want: [
        { key: "0.0.0.0:10250", nodes: ["a"] },
        { key: "0.0.0.0:10251", nodes: ["b"] },
      ],
    },
    {
      name: "nodes sharing port and InternalIP share one listener",
      nodes: [node("a", "10.0.0.1", 10250), node("b", "10.0.0.1", 10250)],
      want: [{ key: "0.0.0.0:10250", nodes: ["a", "b"] }],
    },
    {
      name: "nodes sharing a port with different InternalIPs bind their own",
      nodes: [node("a", "10.0.0.1", 10250), node("b", "10.0.0.2", 10250), node("c", "10.0.0.1", 10250)],
      want: [
        { key: "10.0.0.1:10250", nodes: ["a", "c"] },
        { key: "10.0.0.2:10250", nodes: ["b"] },
      ],
    },
  ])("$name", ({ nodes, want }) => {
    expect(groups(nodes)).toEqual(want);
  });

  it("binds the configured listen address", () => {
    expect(groups([node("a", "10.0.0.1", 10250)], "127.0.0.1")).toEqual([
      { key: "127.0.0.1:10250", nodes: ["a"] },
    ]);
  });

  it.each([
    ["/containerLogs/ns/web/app", { kind: "containerLogs", namespace: "ns", pod: "web", container: "app" }],
    ["/exec/ns/web/app", { kind: "exec", namespace: "ns", pod: "web", container: "app" }],
    ["/attach/ns/web/u-1/app", { kind: "attach", namespace: "ns", pod: "web", uid: "u-1", container: "app" }],
    ["/portForward/ns/web", { kind: "portForward", namespace: "ns", pod: "web" }],
    ["/portForward/ns/web/u-1", { kind: "portForward", namespace: "ns", pod: "web", uid: "u-1" }],
    ["/exec/n%20s/web/app", { kind: "exec", namespace: "n s", pod: "web", container: "app" }],
    ["/containerLogs/ns/web", undefined],
    ["/containerLogs/ns/web/a/b", undefined],
    ["/portForward/ns/web/u-1/x", undefined],
    ["/exec/ns/web", undefined],
    ["/stats/summary", undefined],
    ["/healthz", undefined],
  ])("routes %s", (path, want) => {
    expect(podRoute(path)).toEqual(want);
  });
});
