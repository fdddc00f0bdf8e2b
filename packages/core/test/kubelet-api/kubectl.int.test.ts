/**
 * The kubelet API through the real API server with the real kubectl (v1.37.2): logs, exec, attach,
 * port-forward and stats, against a virtual node on the mock provider.
 *
 * Two configurations run the same checks: the node declares `ExtendWebSocketsToKubelet` (the API
 * server proxies kubectl's WebSocket sessions to us unchanged: exec/attach over WebSocket v5,
 * port-forward as SPDY tunnelled in WebSocket), and the node declares nothing (the API server
 * translates exec/attach to SPDY/3.1 and forwards port-forward as plain SPDY).
 */
import { once } from "node:events";
import * as net from "node:net";
import { allocatePort, ensureTestHostAddress, type ControlPlaneHandle } from "@virtual-node/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { controlPlane } from "../support.js";
import {
  apis,
  kubectl,
  newNamespace,
  runPod,
  spawnKubectl,
  waitFor,
  type Apis,
  type KubeletNode,
  startKubeletNode,
} from "./support.js";

for (const mode of ["websocket", "spdy"] as const) {
  describe(`kubectl through the API server (${mode === "websocket" ? "WebSocket proxied" : "translated to SPDY"})`, () => {
    let cp: ControlPlaneHandle;
    let api: Apis;
    let node: KubeletNode;
    let ns: string;
    const pod = "web";

    beforeAll(async () => {
      cp = await controlPlane();
      api = apis(cp.kubeConfig);
      node = await startKubeletNode(cp, {
        prefix: `vn-${mode === "websocket" ? "ws" : "spdy"}`,
        kubeletApi: { declareWebSocketSupport: mode === "websocket" },
      });
      const declared = await waitFor("declared features", async () => {
        const n = await api.core.readNode({ name: node.nodeName });
        const features = n.status?.declaredFeatures ?? [];
        return mode === "spdy" || features.includes("ExtendWebSocketsToKubelet") ? features : undefined;
      });
      expect(declared.includes("ExtendWebSocketsToKubelet")).toBe(mode === "websocket");
      ns = await newNamespace(api);
      await runPod(api, ns, node.nodeName, pod);
      // A few log lines exist (one every 200 ms).
      await new Promise((r) => setTimeout(r, 1000));
    });

    afterAll(async () => {
      await node.stop();
    });

    it("kubectl logs: all, --tail, --timestamps, --limit-bytes, --since", async () => {
      const all = await kubectl(cp, ["logs", "-n", ns, pod]);
      expect(all.stderr).toBe("");
      expect(all.code).toBe(0);
      const lines = all.stdout.trim().split("\n");
      expect(lines[0]).toMatch(/^starting app \(image registry\.example\/app:1\)$/);
      expect(lines[1]).toBe("line 1 from app");

      const tail = await kubectl(cp, ["logs", "-n", ns, pod, "--tail=2"]);
      expect(tail.code).toBe(0);
      expect(tail.stdout.trim().split("\n")).toHaveLength(2);
      expect(tail.stdout).toMatch(/^line \d+ from app\nline \d+ from app\n$/);

      const stamped = await kubectl(cp, ["logs", "-n", ns, pod, "--timestamps", "--tail=3"]);
      expect(stamped.stdout.trim().split("\n")).toHaveLength(3);
      for (const line of stamped.stdout.trim().split("\n"))
        expect(line).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?Z line \d+ from app$/);

      const limited = await kubectl(cp, ["logs", "-n", ns, pod, "--limit-bytes=10"]);
      expect(limited.code).toBe(0);
      expect(limited.stdout).toBe("starting a");

      // Lines of the last second only: the first lines (written at start) are older.
      await new Promise((r) => setTimeout(r, 1500));
      const since = await kubectl(cp, ["logs", "-n", ns, pod, "--since=1s"]);
      expect(since.code).toBe(0);
      const sinceLines = since.stdout.trim().split("\n");
      expect(sinceLines.length).toBeGreaterThan(0);
      expect(sinceLines.length).toBeLessThan(lines.length + 10);
      expect(since.stdout).not.toContain("starting app");
    });

    it("kubectl logs -f streams new lines until interrupted", async () => {
      const follow = spawnKubectl(cp, ["logs", "-f", "-n", ns, pod, "--tail=1"]);
      try {
        const first = await follow.waitForOutput(/line (\d+) from app\n/);
        const n = Number(first[1]);
        await follow.waitForOutput(new RegExp(`line ${n + 3} from app\\n`));
      } finally {
        await follow.kill();
      }
    });

    it("kubectl logs of a missing container fails with the kubelet's message", async () => {
      const result = await kubectl(cp, ["logs", "-n", ns, pod, "-c", "nope"]);
      expect(result.code).not.toBe(0);
      expect(result.stderr).toMatch(/container nope is not valid|not found/);
    });

    it("kubectl exec: stdout, stderr separated, exit code propagated", async () => {
      const echo = await kubectl(cp, ["exec", "-n", ns, pod, "--", "echo", "hello", "world"]);
      expect(echo).toMatchObject({ code: 0, stdout: "hello world\n" });

      const env = await kubectl(cp, ["exec", "-n", ns, pod, "--", "env"]);
      expect(env.stdout).toContain("GREETING=hello\n");

      const missing = await kubectl(cp, ["exec", "-n", ns, pod, "--", "no-such-tool"]);
      expect(missing.code).toBe(127);
      expect(missing.stdout).toBe("");
      expect(missing.stderr).toContain("no-such-tool: command not found");

      const exit = await kubectl(cp, ["exec", "-n", ns, pod, "--", "sh", "-c", "exit 3"]);
      expect(exit.code).toBe(3);

      const slow = await kubectl(cp, ["exec", "-n", ns, pod, "--", "sleep", "1"]);
      expect(slow.code).toBe(0);
    });

    it("kubectl exec -i: stdin piped through cat", async () => {
      const input = Array.from({ length: 2000 }, (_, i) => `row ${i}`).join("\n") + "\n";
      const result = await kubectl(cp, ["exec", "-i", "-n", ns, pod, "--", "cat"], { stdin: input });
      expect(result.stderr).toBe("");
      expect(result.code).toBe(0);
      expect(result.stdout).toBe(input);
    });

    it("kubectl exec -it: a TTY with the terminal size", async () => {
      // kubectl needs a terminal for -t: script(1) gives it one of 33 rows and 101 columns.
      const binary = cp.binaries.kubectl ?? "";
      const { spawn } = await import("node:child_process");
      const shell = `stty rows 33 cols 101; ${binary} --kubeconfig ${cp.kubeconfigPath} exec -it -n ${ns} ${pod} -- stty size`;
      const child = spawn("script", ["-qec", shell, "/dev/null"], { stdio: ["pipe", "pipe", "pipe"] });
      let out = "";
      child.stdout.on("data", (c: Buffer) => (out += c.toString()));
      child.stderr.on("data", (c: Buffer) => (out += c.toString()));
      const [code] = (await once(child, "close")) as [number | null];
      expect(out).toContain("33 101");
      expect(code).toBe(0);
    });

    it("kubectl attach prints the process output and echoes stdin", async () => {
      const attach = spawnKubectl(cp, ["attach", "-i", "-n", ns, pod, "-c", "app"]);
      try {
        await attach.waitForOutput(/line \d+ from app\n/);
        attach.write("ping from stdin\n");
        await attach.waitForOutput(/ping from stdin\n/);
      } finally {
        await attach.kill();
      }
    });

    it("kubectl port-forward: bytes round-trip through the pod's echo server", async () => {
      const localPort = await allocatePort();
      const forward = spawnKubectl(cp, ["port-forward", "-n", ns, `pod/${pod}`, `${localPort}:8080`]);
      try {
        await forward.waitForOutput(/Forwarding from 127\.0\.0\.1:\d+ -> 8080/);
        for (let round = 0; round < 2; round++) {
          const payload = Buffer.alloc(256 * 1024 + round, round + 1);
          const socket = net.connect(localPort, "127.0.0.1");
          await once(socket, "connect");
          const received: Buffer[] = [];
          let length = 0;
          const done = new Promise<void>((resolve) => {
            socket.on("data", (c: Buffer) => {
              received.push(c);
              length += c.length;
              if (length >= payload.length) resolve();
            });
          });
          socket.write(payload);
          await done;
          socket.destroy();
          expect(Buffer.concat(received).equals(payload)).toBe(true);
        }
      } finally {
        await forward.kill();
      }
    });

    it("served every session over the expected transport", () => {
      const counts = node.running.node.kubeletApi?.sessionCounts;
      if (mode === "websocket") {
        expect(counts?.webSocketRemoteCommand).toBeGreaterThan(0);
        expect(counts?.spdyRemoteCommand).toBe(0);
        expect(counts?.tunneledPortForward).toBeGreaterThan(0);
        expect(counts?.spdyPortForward).toBe(0);
      } else {
        expect(counts?.spdyRemoteCommand).toBeGreaterThan(0);
        expect(counts?.webSocketRemoteCommand).toBe(0);
        expect(counts?.spdyPortForward).toBeGreaterThan(0);
        expect(counts?.tunneledPortForward).toBe(0);
      }
    });
  });
}

describe("node proxy endpoints through the API server", () => {
  let cp: ControlPlaneHandle;
  let api: Apis;
  let node: KubeletNode;
  let ns: string;
  const pod = "stats";

  beforeAll(async () => {
    cp = await controlPlane();
    api = apis(cp.kubeConfig);
    // Not loopback (refused there), and not the machine's real interface: a test-host veth address.
    const ip = await ensureTestHostAddress();
    node = await startKubeletNode(cp, {
      prefix: "vn-proxy",
      kubeletApi: { listenAddress: ip },
      overrides: { internalIP: ip },
    });
    ns = await newNamespace(api);
    await runPod(api, ns, node.nodeName, pod);
  });

  afterAll(async () => {
    await node.stop();
  });

  it("kubectl get --raw .../proxy/stats/summary", async () => {
    const result = await kubectl(cp, ["get", "--raw", `/api/v1/nodes/${node.nodeName}/proxy/stats/summary`]);
    expect(result.stderr).toBe("");
    const summary = JSON.parse(result.stdout) as {
      node: { nodeName: string; cpu?: { usageNanoCores?: number }; memory?: { workingSetBytes?: number } };
      pods: { podRef: { name: string; namespace: string }; containers: { name: string }[] }[];
    };
    expect(summary.node.nodeName).toBe(node.nodeName);
    expect(summary.node.cpu?.usageNanoCores).toBeGreaterThan(0);
    expect(summary.node.memory?.workingSetBytes).toBeGreaterThan(0);
    const mine = summary.pods.find((p) => p.podRef.namespace === ns && p.podRef.name === pod);
    expect(mine?.containers.map((c) => c.name)).toEqual(["app"]);

    const metrics = await kubectl(cp, [
      "get",
      "--raw",
      `/api/v1/nodes/${node.nodeName}/proxy/metrics/resource`,
    ]);
    expect(metrics.stdout).toMatch(
      new RegExp(
        `container_cpu_usage_seconds_total\\{container="app",namespace="${ns}",pod="${pod}"\\} [0-9.e+-]+ \\d+`,
      ),
    );
    expect(metrics.stdout).toMatch(/^node_memory_working_set_bytes \d+ \d+$/m);
    expect(metrics.stdout).toMatch(/^scrape_error 0$/m);
  });

  it("kubectl get --raw .../proxy/pods and /healthz", async () => {
    const pods = await kubectl(cp, ["get", "--raw", `/api/v1/nodes/${node.nodeName}/proxy/pods`]);
    const list = JSON.parse(pods.stdout) as {
      kind: string;
      items: { metadata: { name: string; namespace: string } }[];
    };
    expect(list.kind).toBe("PodList");
    expect(list.items.map((p) => `${p.metadata.namespace}/${p.metadata.name}`)).toEqual([`${ns}/${pod}`]);
    const health = await kubectl(cp, ["get", "--raw", `/api/v1/nodes/${node.nodeName}/proxy/healthz`]);
    expect(health.stdout.trim()).toBe("ok");
  });
});
