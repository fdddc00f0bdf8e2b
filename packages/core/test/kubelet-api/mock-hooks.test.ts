/**
 * The mock provider's kubelet API hooks, without a cluster: logs (tail, timestamps, follow until
 * the container stops), exec (built-in commands, streaming cat, exit codes, stty size), attach,
 * the port-forward echo server and stats.
 */
import { Duplex, PassThrough, Writable } from "node:stream";
import { createMockProvider, formatRFC3339Nano, MockCloud } from "@virtual-node/provider-mock";
import { AsyncQueue } from "../../src/kubelet-api/http-util.js";
import { afterEach, describe, expect, it } from "vitest";
import { testPod } from "../../../provider-mock/test/pods.js";

const signal = new AbortController().signal;

function sink(): { stream: Writable; text: () => string } {
  const chunks: Buffer[] = [];
  return {
    stream: new Writable({
      write(chunk: Buffer, _e, cb) {
        chunks.push(chunk);
        cb();
      },
    }),
    text: () => Buffer.concat(chunks).toString("utf8"),
  };
}

async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  let out = "";
  for await (const chunk of stream) out += String(chunk);
  return out;
}

describe("mock kubelet hooks", () => {
  const clouds: MockCloud[] = [];
  afterEach(() => {
    for (const c of clouds.splice(0)) c.dispose();
  });

  async function setup(annotations: Record<string, string> = {}) {
    const cloud = new MockCloud({ logs: { intervalMs: 20, maxLines: 100 } });
    clouds.push(cloud);
    const provider = createMockProvider({ cloud, kubeletHooks: { pollIntervalMs: 10 } });
    const pod = testPod({
      annotations,
      containers: [{ ports: [{ containerPort: 8080, protocol: "TCP" }] }],
      env: [{ name: "A", value: "1", source: { kind: "literal" } } as never],
    });
    await provider.createPod(pod, { signal });
    return { cloud, provider, ref: pod.ref };
  }

  it("logs: tail and RFC 3339 nanosecond timestamps", async () => {
    const { provider, ref } = await setup();
    await new Promise((r) => setTimeout(r, 120));
    const all = await readAll(
      await provider.getContainerLogs(
        ref,
        "app",
        { follow: false, timestamps: false, previous: false },
        { signal },
      ),
    );
    expect(all.split("\n")[0]).toBe("starting app (image busybox:1.36)");
    const tail = await readAll(
      await provider.getContainerLogs(
        ref,
        "app",
        { follow: false, timestamps: true, previous: false, tailLines: 2 },
        { signal },
      ),
    );
    const lines = tail.trim().split("\n");
    expect(lines).toHaveLength(2);
    for (const l of lines)
      expect(l).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z line \d+ from app$/);
    expect(formatRFC3339Nano(Date.parse("2026-01-02T03:04:05.120Z"))).toBe("2026-01-02T03:04:05.12Z");
    expect(formatRFC3339Nano(Date.parse("2026-01-02T03:04:05.000Z"))).toBe("2026-01-02T03:04:05Z");
    await expect(
      provider.getContainerLogs(
        ref,
        "nope",
        { follow: false, timestamps: false, previous: false },
        { signal },
      ),
    ).rejects.toThrow(/not found/);
    await expect(
      provider.getContainerLogs(ref, "app", { follow: false, timestamps: false, previous: true }, { signal }),
    ).rejects.toThrow(/previous terminated container/);
  });

  it("logs -f: new lines arrive, and the stream ends when the container exits", async () => {
    const { provider, ref } = await setup({ "mock.virtual-node.io/run-duration": "300" });
    const stream = await provider.getContainerLogs(
      ref,
      "app",
      { follow: true, timestamps: false, previous: false },
      { signal },
    );
    const text = await readAll(stream);
    expect(text).toContain("line 1 from app\n");
    expect(text).toMatch(/app exited with code 0\n$/);
    const lineNumbers = [...text.matchAll(/line (\d+) from app/g)].map((m) => Number(m[1]));
    expect(lineNumbers).toEqual(lineNumbers.map((_, i) => i + 1)); // no gaps, no duplicates
  });

  it("exec: built-in commands, exit codes, stderr", async () => {
    const { provider, ref } = await setup();
    const out = sink();
    const err = sink();
    expect(
      await provider.exec(
        ref,
        "app",
        ["echo", "a", "b"],
        { tty: false, stdout: out.stream, stderr: err.stream },
        { signal },
      ),
    ).toEqual({ exitCode: 0 });
    expect(
      await provider.exec(
        ref,
        "app",
        ["sh", "-c", "exit 42"],
        { tty: false, stdout: out.stream },
        { signal },
      ),
    ).toEqual({ exitCode: 42 });
    expect(
      await provider.exec(
        ref,
        "app",
        ["frobnicate"],
        { tty: false, stdout: out.stream, stderr: err.stream },
        { signal },
      ),
    ).toEqual({ exitCode: 127 });
    expect(out.text()).toBe("a b\n");
    expect(err.text()).toBe("frobnicate: command not found\n");
  });

  it("exec cat streams stdin to stdout as it arrives", async () => {
    const { provider, ref } = await setup();
    const stdin = new PassThrough();
    const out = sink();
    const done = provider.exec(ref, "app", ["cat"], { tty: false, stdin, stdout: out.stream }, { signal });
    stdin.write("first ");
    await new Promise((r) => setTimeout(r, 20));
    expect(out.text()).toBe("first ");
    stdin.end("second");
    expect(await done).toEqual({ exitCode: 0 });
    expect(out.text()).toBe("first second");
  });

  it("exec stty size reports the terminal size of a TTY session", async () => {
    const { provider, ref } = await setup();
    const resize = new AsyncQueue<{ width: number; height: number }>();
    resize.push({ width: 132, height: 43 });
    const out = sink();
    expect(
      await provider.exec(
        ref,
        "app",
        ["stty", "size"],
        { tty: true, stdout: out.stream, resize },
        { signal },
      ),
    ).toEqual({ exitCode: 0 });
    expect(out.text()).toBe("43 132\r\n");
  });

  it("attach: prints new log lines and echoes stdin until the container exits", async () => {
    const { provider, ref } = await setup({
      "mock.virtual-node.io/run-duration": "300",
      "mock.virtual-node.io/exit-code": "4",
    });
    const stdin = new PassThrough();
    const out = sink();
    const done = provider.attach(ref, "app", { tty: false, stdin, stdout: out.stream }, { signal });
    stdin.write("typed\n");
    expect(await done).toEqual({ exitCode: 4 });
    expect(out.text()).toContain("typed\n");
    expect(out.text()).toMatch(/line \d+ from app\n/);
  });

  it("port-forward: echoes on declared ports, refuses others", async () => {
    const { provider, ref } = await setup();
    const received: Buffer[] = [];
    const input = new PassThrough();
    const stream = new Duplex({
      read() {
        // fed below
      },
      write(chunk: Buffer, _e, cb) {
        received.push(chunk);
        cb();
      },
    });
    input.on("data", (c: Buffer) => stream.push(c));
    input.on("end", () => stream.push(null));
    const done = provider.portForward(ref, 8080, stream, { signal });
    input.end("round trip");
    await done;
    expect(Buffer.concat(received).toString()).toBe("round trip");
    await expect(provider.portForward(ref, 9999, new PassThrough(), { signal })).rejects.toThrow(
      /connection refused.*9999.*8080/,
    );
  });

  it("stats: the pod's containers with CPU and memory", async () => {
    const { provider, ref } = await setup();
    await new Promise((r) => setTimeout(r, 30));
    const summary = await provider.getStatsSummary("vn-test", [ref], { signal });
    expect(summary.pods).toHaveLength(1);
    const c = summary.pods[0]?.containers[0];
    expect(c?.name).toBe("app");
    expect(c?.cpu?.usageNanoCores).toBeGreaterThan(0);
    expect(c?.memory?.workingSetBytes).toBeGreaterThan(16 * 1024 * 1024);
  });
});
