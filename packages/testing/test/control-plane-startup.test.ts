import { readdir, readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

import { CoreV1Api } from "@kubernetes/client-node";
import { describe, expect, inject, it } from "vitest";

import { startControlPlane } from "../src/control-plane.js";
import { ErrorCode, TestingError } from "../src/errors.js";
import { httpGet } from "../src/health.js";
import { useControlPlane } from "../src/shared-control-plane.js";
import { isRunning, waitGone } from "./helpers/procs.js";
import { tempDir, writeScript } from "./helpers/temp.js";
import { tsChildArgs } from "./helpers/ts-child.js";

const FAKE_ETCD = fileURLToPath(new URL("./fixtures/fake-etcd.ts", import.meta.url));

async function rejection(promise: Promise<unknown>): Promise<TestingError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof TestingError) return error;
    throw error;
  }
  throw new Error("expected a rejection");
}

/** A fake etcd: serves /health like etcd does. With `failFirst`, the first start dies with a bind error. */
async function fakeEtcd(dir: string, failFirst = false): Promise<string> {
  const node = JSON.stringify(process.execPath);
  const args = tsChildArgs(FAKE_ETCD)
    .map((a) => `'${a.replace(/'/g, "'\\''")}'`)
    .join(" ");
  const first = failFirst
    ? `if [ ! -e "${dir}/etcd-started-once" ]; then : > "${dir}/etcd-started-once"; ` +
      `echo '{"level":"fatal","msg":"listen tcp 127.0.0.1:2379: bind: address already in use"}' >&2; exit 1; fi`
    : "";
  return writeScript(join(dir, "etcd"), `${first}\nexec ${node} ${args} "$@"`);
}

describe("control-plane start-up failures", () => {
  it("a component that exits during start-up is an error carrying its log tail", async () => {
    const dir = await tempDir();
    const etcd = await writeScript(
      join(dir, "etcd"),
      'i=1; while [ $i -le 60 ]; do echo "etcd log line $i"; i=$((i+1)); done; echo "fatal: cannot start" >&2; exit 1',
    );
    const error = await rejection(
      startControlPlane({
        binaries: { etcd, kubeApiserver: "/bin/false" },
        components: [],
        baseDir: dir,
      }),
    );
    expect(error.code).toBe(ErrorCode.ComponentExited);
    expect(error.message).toMatch(/^etcd exited with code 1 during start-up/);
    expect(error.logTail?.split("\n")).toHaveLength(30);
    expect(error.logTail).toContain("fatal: cannot start");
    expect(error.message).toContain("etcd log line 60");
    expect(error.message).not.toContain("etcd log line 30\n");
    // temp dir removed, nothing left behind
    expect(await readdir(dir)).toEqual(["etcd"]);
  });

  it("retries a component on a new port when its port was taken", async () => {
    const dir = await tempDir();
    const etcd = await fakeEtcd(dir, true);
    const apiserver = await writeScript(
      join(dir, "kube-apiserver"),
      'echo "fake apiserver: boom" >&2; exit 3',
    );
    const base = join(dir, "base");
    const error = await rejection(
      startControlPlane({
        binaries: { etcd, kubeApiserver: apiserver },
        components: [],
        baseDir: base,
        keepTempDir: true,
      }),
    );
    // etcd got through on its second attempt; the apiserver then failed as scripted.
    expect(error.code).toBe(ErrorCode.ComponentExited);
    expect(error.message).toMatch(/^kube-apiserver exited with code 3/);
    expect(error.logTail).toContain("fake apiserver: boom");
    const [cpDir = ""] = await readdir(base);
    const logs = join(base, cpDir, "logs");
    expect(await readFile(join(logs, "etcd.log"), "utf8")).toContain("address already in use");
    expect(await readFile(join(logs, "etcd.2.log"), "utf8")).toContain("fake etcd listening");
  });

  it("a component that never becomes ready times out with its log tail", async () => {
    const dir = await tempDir();
    const etcd = await fakeEtcd(dir);
    const apiserver = await writeScript(join(dir, "kube-apiserver"), 'echo "still thinking"; exec sleep 300');
    const error = await rejection(
      startControlPlane({
        binaries: { etcd, kubeApiserver: apiserver },
        components: [],
        baseDir: dir,
        startTimeoutMs: 1500,
      }),
    );
    expect(error.code).toBe(ErrorCode.ComponentNotReady);
    expect(error.message).toMatch(/^kube-apiserver did not become ready within 2s/);
    expect(error.logTail).toContain("still thinking");
  });

  it("honours an abort signal", async () => {
    const dir = await tempDir();
    const etcd = await fakeEtcd(dir);
    const apiserver = await writeScript(join(dir, "kube-apiserver"), "exec sleep 300");
    const abort = new AbortController();
    setTimeout(() => {
      abort.abort();
    }, 1000);
    const error = await rejection(
      startControlPlane({
        binaries: { etcd, kubeApiserver: apiserver },
        components: [],
        baseDir: dir,
        signal: abort.signal,
      }),
    );
    expect(error.code).toBe(ErrorCode.Aborted);
  });
});

describe("a dedicated real control plane", () => {
  it("starts without scheduler and request limits, and stops cleanly and idempotently", async () => {
    const { binaries } = await useControlPlane(inject("controlPlane"));
    const cp = await startControlPlane({
      binaries,
      components: ["kube-controller-manager"],
      apiServerRequestLimits: false,
    });
    const pids = Object.values(cp.pids);
    expect(Object.keys(cp.pids).sort()).toEqual(["etcd", "kube-apiserver", "kube-controller-manager"]);
    for (const pid of pids) {
      expect(await isRunning(pid)).toBe(true);
    }
    const readyz = await httpGet(`${cp.server}/readyz`, {
      ca: cp.caCertPem,
      cert: await readFile(join(cp.tempDir, "pki", "admin.crt"), "utf8"),
      key: await readFile(join(cp.tempDir, "pki", "admin.key"), "utf8"),
    });
    expect(readyz).toEqual({ status: 200, body: "ok" });
    // Ready means usable: a newcomer's first `kubectl run` needs the default ServiceAccount.
    const sa = await cp.kubeConfig
      .makeApiClient(CoreV1Api)
      .readNamespacedServiceAccount({ name: "default", namespace: "default" });
    expect(sa.metadata?.name).toBe("default");
    const apiserverLog = await readFile(cp.logFiles["kube-apiserver"] ?? "", "utf8");
    expect(apiserverLog).not.toContain("address already in use");

    await cp[Symbol.asyncDispose]();
    await cp.stop();
    for (const pid of pids) {
      expect(await waitGone(pid, 1000)).toBe(true);
    }
    await expect(stat(cp.tempDir)).rejects.toThrow();
  });
});
