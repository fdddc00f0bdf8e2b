/**
 * Authentication and authorization of the kubelet API against the real API server (TokenReview,
 * SubjectAccessReview, RBAC): default deny on every endpoint, the kubelet's subresource mapping,
 * x509 client certificates from the cluster CA, and anonymous access only when enabled.
 */
import * as https from "node:https";
import type { IncomingHttpHeaders } from "node:http";
import { RbacAuthorizationV1Api } from "@kubernetes/client-node";
import { createCertificateAuthority, issueCertificate, type ControlPlaneHandle } from "@virtual-node/testing";
import { WebSocket } from "ws";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { controlPlane } from "../support.js";
import {
  apis,
  newNamespace,
  runPod,
  startKubeletNode,
  uniqueName,
  type Apis,
  type KubeletNode,
} from "./support.js";

interface Answer {
  status: number;
  body: string;
  headers: IncomingHttpHeaders;
}

interface Credentials {
  token?: string;
  cert?: string;
  key?: string;
}

/** One HTTPS request straight to the node (no API server in between). */
function request(
  port: number,
  path: string,
  credentials: Credentials,
  options: { method?: string; upgrade?: "spdy" | "websocket" } = {},
): Promise<Answer> {
  const headers: Record<string, string> = {};
  if (credentials.token !== undefined) headers.authorization = `Bearer ${credentials.token}`;
  if (options.upgrade === "spdy") {
    headers.connection = "Upgrade";
    headers.upgrade = "SPDY/3.1";
    headers["x-stream-protocol-version"] = path.startsWith("/portForward")
      ? "portforward.k8s.io"
      : "v4.channel.k8s.io";
  } else if (options.upgrade === "websocket") {
    headers.connection = "Upgrade";
    headers.upgrade = "websocket";
    headers["sec-websocket-version"] = "13";
    headers["sec-websocket-key"] = "dGhlIHNhbXBsZSBub25jZQ==";
    headers["sec-websocket-protocol"] = path.startsWith("/portForward")
      ? "SPDY/3.1+portforward.k8s.io"
      : "v5.channel.k8s.io";
  }
  return new Promise((resolve, reject) => {
    const req = https.request({
      host: "127.0.0.1",
      port,
      path,
      method: options.method ?? "GET",
      headers,
      rejectUnauthorized: false,
      ...(credentials.cert === undefined ? {} : { cert: credentials.cert, key: credentials.key }),
    });
    req.on("response", (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => (body += c));
      res.on("end", () => {
        resolve({ status: res.statusCode ?? 0, body, headers: res.headers });
      });
    });
    req.on("upgrade", (res, socket) => {
      socket.destroy();
      resolve({ status: res.statusCode ?? 101, body: "", headers: res.headers });
    });
    req.on("error", reject);
    req.end();
  });
}

describe("kubelet API authentication and authorization", () => {
  let cp: ControlPlaneHandle;
  let api: Apis;
  let rbac: RbacAuthorizationV1Api;
  let node: KubeletNode;
  let ns: string;
  let endpoints: { path: string; method?: string; upgrade?: "spdy" | "websocket"; subresources: string }[];
  let noRbacToken: string;
  let readerToken: string;
  const pod = "guarded";

  beforeAll(async () => {
    cp = await controlPlane();
    api = apis(cp.kubeConfig);
    rbac = cp.kubeConfig.makeApiClient(RbacAuthorizationV1Api);
    node = await startKubeletNode(cp, { prefix: "vn-auth" });
    ns = await newNamespace(api);
    await runPod(api, ns, node.nodeName, pod);
    endpoints = [
      { path: "/healthz", subresources: "healthz proxy" },
      { path: "/pods", subresources: "pods proxy" },
      { path: "/runningpods/", subresources: "pods proxy" },
      { path: "/stats/summary", subresources: "stats" },
      { path: "/metrics", subresources: "metrics" },
      { path: "/metrics/resource", subresources: "metrics" },
      { path: `/containerLogs/${ns}/${pod}/app`, subresources: "proxy" },
      {
        path: `/exec/${ns}/${pod}/app?command=echo&output=1`,
        method: "POST",
        upgrade: "spdy",
        subresources: "proxy",
      },
      { path: `/exec/${ns}/${pod}/app?command=echo&output=1`, upgrade: "websocket", subresources: "proxy" },
      { path: `/attach/${ns}/${pod}/app?output=1`, method: "POST", upgrade: "spdy", subresources: "proxy" },
      { path: `/portForward/${ns}/${pod}`, method: "POST", upgrade: "spdy", subresources: "proxy" },
      { path: `/portForward/${ns}/${pod}`, upgrade: "websocket", subresources: "proxy" },
    ];
    noRbacToken = await cp.serviceAccountToken(ns, "nobody");
    // A reader of logs, stats and metrics (not of exec: that is `create` on nodes/proxy).
    const role = uniqueName("kubelet-reader");
    await rbac.createClusterRole({
      body: {
        metadata: { name: role },
        rules: [
          {
            apiGroups: [""],
            resources: ["nodes/proxy", "nodes/stats", "nodes/metrics", "nodes/log", "nodes/pods"],
            verbs: ["get"],
          },
        ],
      },
    });
    await rbac.createClusterRoleBinding({
      body: {
        metadata: { name: role },
        roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: role },
        subjects: [{ kind: "ServiceAccount", name: "reader", namespace: ns }],
      },
    });
    readerToken = await cp.serviceAccountToken(ns, "reader");
  });

  afterAll(async () => {
    await node.stop();
  });

  it("answers 401 without credentials on every endpoint", async () => {
    for (const e of endpoints) {
      const answer = await request(node.port, e.path, {}, e);
      expect({ path: e.path, upgrade: e.upgrade, status: answer.status }).toEqual({
        path: e.path,
        upgrade: e.upgrade,
        status: 401,
      });
      expect(answer.body.trim()).toBe("Unauthorized");
    }
  });

  it("answers 401 to a wrong token on every endpoint", async () => {
    for (const e of endpoints) {
      const answer = await request(node.port, e.path, { token: "not-a-valid-token" }, e);
      expect({ path: e.path, status: answer.status }).toEqual({ path: e.path, status: 401 });
    }
  });

  it("answers 403 to a valid token without RBAC on every endpoint, naming the subresources", async () => {
    for (const e of endpoints) {
      const answer = await request(node.port, e.path, { token: noRbacToken }, e);
      expect({ path: e.path, status: answer.status }).toEqual({ path: e.path, status: 403 });
      const verb = e.method === "POST" ? "create" : "get";
      expect(answer.body).toContain(
        `Forbidden (user=system:serviceaccount:${ns}:nobody, verb=${verb}, resource=nodes, subresource(s)=[${e.subresources}])`,
      );
    }
  });

  it("lets a reader with RBAC read logs, stats, metrics and pods, but not exec (create)", async () => {
    const logs = await request(node.port, `/containerLogs/${ns}/${pod}/app?tailLines=1`, {
      token: readerToken,
    });
    expect(logs.status).toBe(200);
    expect(logs.body).toMatch(/from app\n$/);
    for (const path of ["/healthz", "/pods", "/stats/summary", "/metrics", "/metrics/resource"])
      expect({ path, status: (await request(node.port, path, { token: readerToken })).status }).toEqual({
        path,
        status: 200,
      });
    const exec = await request(
      node.port,
      `/exec/${ns}/${pod}/app?command=echo&output=1`,
      { token: readerToken },
      { method: "POST", upgrade: "spdy" },
    );
    expect(exec.status).toBe(403);
    expect(exec.body).toContain("verb=create");
  });

  it("with RBAC for exec, a direct WebSocket v5 exec works (GET is verb get on nodes/proxy)", async () => {
    const token = await cp.serviceAccountToken(ns, "reader");
    const url = `wss://127.0.0.1:${node.port}/exec/${ns}/${pod}/app?command=echo&command=direct&output=1&error=1`;
    const ws = new WebSocket(url, ["v5.channel.k8s.io"], {
      headers: { authorization: `Bearer ${token}` },
      rejectUnauthorized: false,
    });
    const messages: Buffer[] = [];
    ws.on("message", (m: Buffer) => messages.push(m));
    const code = await new Promise<number>((resolve, reject) => {
      ws.on("close", (c) => {
        resolve(c);
      });
      ws.on("error", reject);
    });
    expect(code).toBe(1000);
    expect(ws.protocol).toBe("v5.channel.k8s.io");
    const stdout = Buffer.concat(messages.filter((m) => m[0] === 1).map((m) => m.subarray(1))).toString();
    const status = Buffer.concat(messages.filter((m) => m[0] === 3).map((m) => m.subarray(1))).toString();
    expect(stdout).toBe("direct\n");
    expect(JSON.parse(status)).toEqual({ status: "Success" });
  });

  it("x509: a cluster-CA certificate authenticates (403 without RBAC); a foreign CA's is 401", async () => {
    const someone = await cp.mintClientIdentity({ user: uniqueName("someone"), groups: ["devs"] });
    const forbidden = await request(node.port, "/pods", { cert: someone.certPem, key: someone.keyPem });
    expect(forbidden.status).toBe(403);
    expect(forbidden.body).toContain(`user=${someone.user}`);
    const admin = await cp.mintClientIdentity({ user: uniqueName("admin"), groups: ["system:masters"] });
    expect((await request(node.port, "/pods", { cert: admin.certPem, key: admin.keyPem })).status).toBe(200);
    const foreign = await createCertificateAuthority({ commonName: "not-the-cluster" });
    const stranger = await issueCertificate(foreign, {
      commonName: "system:admin",
      organizations: ["system:masters"],
    });
    expect((await request(node.port, "/pods", { cert: stranger.certPem, key: stranger.keyPem })).status).toBe(
      401,
    );
  });

  it("anonymous requests are authorized as system:anonymous only when enabled", async () => {
    const open = await startKubeletNode(cp, { prefix: "vn-anon", kubeletApi: { auth: { anonymous: true } } });
    try {
      const answer = await request(open.port, "/healthz", {});
      expect(answer.status).toBe(403);
      expect(answer.body).toContain("user=system:anonymous");
    } finally {
      await open.stop();
    }
  });
});

describe("kubelet API errors", () => {
  let cp: ControlPlaneHandle;
  let api: Apis;
  let admin: Credentials;

  beforeAll(async () => {
    cp = await controlPlane();
    api = apis(cp.kubeConfig);
    const identity = await cp.mintClientIdentity({
      user: uniqueName("api-admin"),
      groups: ["system:masters"],
    });
    admin = { cert: identity.certPem, key: identity.keyPem };
  });

  it("404 for unknown pods and containers, 422 for log options that fail validation, 400 for bad requests", async () => {
    const node = await startKubeletNode(cp, { prefix: "vn-err" });
    try {
      const ns = await newNamespace(api);
      await runPod(api, ns, node.nodeName, "p");
      const missingPod = await request(node.port, `/containerLogs/${ns}/nope/app`, admin);
      expect(missingPod).toMatchObject({ status: 404, body: 'pod "nope" does not exist\n' });
      const missingContainer = await request(node.port, `/containerLogs/${ns}/p/nope`, admin);
      expect(missingContainer).toMatchObject({
        status: 404,
        body: 'container "nope" not found in pod "p"\n',
      });
      const badTail = await request(node.port, `/containerLogs/${ns}/p/app?tailLines=-1`, admin);
      // The kubelet answers ValidatePodLogOptions failures with 422 Unprocessable Entity.
      expect(badTail.status).toBe(422);
      expect(badTail.body).toContain("tailLines");
      const notANumber = await request(node.port, `/containerLogs/${ns}/p/app?tailLines=ten`, admin);
      expect(notANumber.status).toBe(400);
      const both = await request(
        node.port,
        `/containerLogs/${ns}/p/app?sinceSeconds=1&sinceTime=2026-01-01T00:00:00Z`,
        admin,
      );
      expect(both).toMatchObject({
        status: 422,
        body: "at most one of `sinceTime` or `sinceSeconds` may be specified\n",
      });
      const noStreams = await request(node.port, `/exec/${ns}/p/app?command=true`, admin, {
        method: "POST",
        upgrade: "spdy",
      });
      expect(noStreams).toMatchObject({
        status: 400,
        body: "you must specify at least 1 of stdin, stdout, stderr\n",
      });
      const wrongUid = await request(
        node.port,
        `/exec/${ns}/p/not-the-uid/app?command=true&output=1`,
        admin,
        {
          method: "POST",
          upgrade: "spdy",
        },
      );
      expect(wrongUid.status).toBe(404);
      const notUpgraded = await request(node.port, `/exec/${ns}/p/app?command=true&output=1`, admin, {
        method: "POST",
      });
      expect(notUpgraded.status).toBe(400);
      expect((await request(node.port, "/nothing/here", admin)).status).toBe(404);
    } finally {
      await node.stop();
    }
  });

  it("501 with a clear message when the provider lacks a hook", async () => {
    const node = await startKubeletNode(cp, { prefix: "vn-nohooks", withoutHooks: true });
    try {
      const ns = await newNamespace(api);
      await runPod(api, ns, node.nodeName, "p");
      const logs = await request(node.port, `/containerLogs/${ns}/p/app`, admin);
      expect(logs).toMatchObject({
        status: 501,
        body: 'container logs is not supported by this node: provider "mock" does not implement getContainerLogs\n',
      });
      const exec = await request(node.port, `/exec/${ns}/p/app?command=true&output=1`, admin, {
        method: "POST",
        upgrade: "spdy",
      });
      expect(exec.status).toBe(501);
      expect(exec.body).toContain("does not implement exec");
      const attach = await request(node.port, `/attach/${ns}/p/app?output=1`, admin, {
        upgrade: "websocket",
      });
      expect(attach.status).toBe(501);
      const forward = await request(node.port, `/portForward/${ns}/p`, admin, {
        method: "POST",
        upgrade: "spdy",
      });
      expect(forward.status).toBe(501);
      const stats = await request(node.port, "/stats/summary", admin);
      expect(stats.status).toBe(501);
      expect(stats.body).toContain("does not implement getStatsSummary");
      expect((await request(node.port, "/metrics/resource", admin)).status).toBe(501);
      expect((await request(node.port, "/pods", admin)).status).toBe(200);
    } finally {
      await node.stop();
    }
  });
});
