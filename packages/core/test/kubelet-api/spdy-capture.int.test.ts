/**
 * Live SPDY captures: real kubectl (v1.37.2) sessions through the real API server, which speaks
 * SPDY/3.1 to the node (exec: the API server's own spdystream client translating kubectl's
 * WebSocket; port-forward: kubectl's spdystream client, proxied byte for byte). Every byte in each
 * direction is recorded and parsed back with our framer, so the framer is checked against the Go
 * implementation on every run.
 *
 * `VIRTUAL_NODE_WRITE_SPDY_FIXTURES=1` also (re)writes the small binary fixtures the unit tests use
 * (test/kubelet-api/fixtures/, see its README).
 */
import { once } from "node:events";
import { mkdir, writeFile } from "node:fs/promises";
import * as net from "node:net";
import { allocatePort, type ControlPlaneHandle } from "@virtual-node/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { controlPlane } from "../support.js";
import { parseCapture, type CapturedFrame } from "./spdy-capture-parse.js";
import {
  apis,
  kubectl,
  newNamespace,
  runPod,
  spawnKubectl,
  startKubeletNode,
  type Apis,
  type KubeletNode,
} from "./support.js";

interface Capture {
  kind: string;
  in: Buffer[];
  out: Buffer[];
}

const FIXTURES = new URL("./fixtures/", import.meta.url);

describe("SPDY/3.1 captures of real kubectl sessions", () => {
  let cp: ControlPlaneHandle;
  let api: Apis;
  let node: KubeletNode;
  let ns: string;
  const sessions = new Map<number, Capture>();
  const pod = "capture";

  beforeAll(async () => {
    cp = await controlPlane();
    api = apis(cp.kubeConfig);
    node = await startKubeletNode(cp, {
      prefix: "vn-cap",
      kubeletApi: {
        declareWebSocketSupport: false,
        onSpdyBytes: (session, direction, bytes) => {
          const capture = sessions.get(session.id) ?? { kind: session.kind, in: [], out: [] };
          capture[direction].push(Buffer.from(bytes));
          sessions.set(session.id, capture);
        },
      },
    });
    ns = await newNamespace(api);
    await runPod(api, ns, node.nodeName, pod);
  });

  afterAll(async () => {
    await node.stop();
  });

  async function lastSession(
    kind: string,
  ): Promise<{ client: CapturedFrame[]; server: CapturedFrame[]; raw: Capture }> {
    // The connection closes just after kubectl exits; give the last frames a moment.
    await new Promise((r) => setTimeout(r, 300));
    const capture = [...sessions.values()].filter((s) => s.kind === kind).at(-1);
    if (capture === undefined) throw new Error(`no ${kind} session captured`);
    return {
      client: await parseCapture(Buffer.concat(capture.in)),
      server: await parseCapture(Buffer.concat(capture.out)),
      raw: capture,
    };
  }

  async function save(name: string, capture: Capture): Promise<void> {
    if (process.env.VIRTUAL_NODE_WRITE_SPDY_FIXTURES !== "1") return;
    await mkdir(FIXTURES, { recursive: true });
    await writeFile(new URL(`${name}.client.bin`, FIXTURES), Buffer.concat(capture.in));
    await writeFile(new URL(`${name}.server.bin`, FIXTURES), Buffer.concat(capture.out));
  }

  it("exec -i cat: streams, stdin data with FIN, stdout echo, Success status", async () => {
    const result = await kubectl(cp, ["exec", "-i", "-n", ns, pod, "--", "cat"], { stdin: "hello spdy\n" });
    expect(result).toMatchObject({ code: 0, stdout: "hello spdy\n" });
    const { client, server, raw } = await lastSession("exec");
    const syns = client.filter((f) => f.type === "syn_stream");
    expect(syns.map((f) => f.headers?.streamtype?.[0]).sort()).toEqual([
      "error",
      "stderr",
      "stdin",
      "stdout",
    ]);
    const stdinId = syns.find((f) => f.headers?.streamtype?.[0] === "stdin")?.streamId;
    const stdinData = client.filter((f) => f.type === "data" && f.streamId === stdinId);
    expect(Buffer.concat(stdinData.map((f) => f.data ?? Buffer.alloc(0))).toString()).toBe("hello spdy\n");
    expect(stdinData.some((f) => (f.flags & 1) === 1)).toBe(true);
    expect(server.filter((f) => f.type === "syn_reply")).toHaveLength(4);
    const errorId = syns.find((f) => f.headers?.streamtype?.[0] === "error")?.streamId;
    const status = server.filter(
      (f) => f.type === "data" && f.streamId === errorId && (f.data?.length ?? 0) > 0,
    );
    expect(JSON.parse(Buffer.concat(status.map((f) => f.data ?? Buffer.alloc(0))).toString())).toEqual({
      status: "Success",
    });
    await save("exec-cat", raw);
  });

  it("exec exit 7: NonZeroExitCode status with the ExitCode cause", async () => {
    const result = await kubectl(cp, ["exec", "-n", ns, pod, "--", "sh", "-c", "exit 7"]);
    expect(result.code).toBe(7);
    const { client, server, raw } = await lastSession("exec");
    const errorId = client.find(
      (f) => f.type === "syn_stream" && f.headers?.streamtype?.[0] === "error",
    )?.streamId;
    const text = Buffer.concat(
      server.filter((f) => f.type === "data" && f.streamId === errorId).map((f) => f.data ?? Buffer.alloc(0)),
    ).toString();
    expect(JSON.parse(text)).toMatchObject({
      status: "Failure",
      reason: "NonZeroExitCode",
      details: { causes: [{ reason: "ExitCode", message: "7" }] },
    });
    await save("exec-exit7", raw);
  });

  it("port-forward: error/data stream pair with port and requestid headers, echoed bytes", async () => {
    const localPort = await allocatePort();
    const forward = spawnKubectl(cp, ["port-forward", "-n", ns, `pod/${pod}`, `${localPort}:8080`]);
    try {
      await forward.waitForOutput(/Forwarding from/);
      const socket = net.connect(localPort, "127.0.0.1");
      await once(socket, "connect");
      socket.write("ping over spdy");
      const [echo] = (await once(socket, "data")) as [Buffer];
      expect(echo.toString()).toBe("ping over spdy");
      socket.end();
      await once(socket, "close");
      await new Promise((r) => setTimeout(r, 300));
    } finally {
      await forward.kill();
    }
    const { client, server, raw } = await lastSession("portForward");
    const syns = client.filter((f) => f.type === "syn_stream");
    expect(syns.map((f) => f.headers?.streamtype?.[0])).toEqual(["error", "data"]);
    for (const syn of syns) {
      expect(syn.headers?.port).toEqual(["8080"]);
      expect(syn.headers?.requestid).toEqual(["0"]);
    }
    const dataId = syns[1]?.streamId;
    const sent = client.filter((f) => f.type === "data" && f.streamId === dataId);
    const echoed = server.filter((f) => f.type === "data" && f.streamId === dataId);
    expect(Buffer.concat(sent.map((f) => f.data ?? Buffer.alloc(0))).toString()).toBe("ping over spdy");
    expect(Buffer.concat(echoed.map((f) => f.data ?? Buffer.alloc(0))).toString()).toBe("ping over spdy");
    expect(server.filter((f) => f.type === "syn_reply").map((f) => f.streamId)).toEqual(
      syns.map((f) => f.streamId),
    );
    await save("portforward-echo", raw);
  });
});
