/**
 * restart / kill / stop(component) of a private control plane (etcd + kube-apiserver: the shared one must
 * not be disturbed), and a stop() that neither hangs nor leaks its temp dir after restarts.
 */
import { existsSync } from "node:fs";

import { CoreV1Api } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { startControlPlane, type ControlPlane } from "../src/control-plane.js";
import { isRunning, waitGone } from "./helpers/procs.js";

async function configMapData(cp: ControlPlane, name: string): Promise<Record<string, string> | undefined> {
  const core = cp.kubeConfig.makeApiClient(CoreV1Api);
  return (await core.readNamespacedConfigMap({ name, namespace: "default" })).data;
}

describe("control-plane restart and kill", () => {
  let cp: ControlPlane;

  beforeAll(async () => {
    cp = await startControlPlane({ components: [], stopTimeoutMs: 2_000 });
    const core = cp.kubeConfig.makeApiClient(CoreV1Api);
    await core.createNamespacedConfigMap({
      namespace: "default",
      body: { metadata: { name: "survives" }, data: { written: "before the crash" } },
    });
  });
  afterAll(async () => {
    await cp.stop();
  });

  it("kill() SIGKILLs the apiserver; start() brings it back on the same port with the same data", async () => {
    const before = cp.pids["kube-apiserver"] ?? 0;
    await cp.kill("kube-apiserver");
    expect(cp.isRunning("kube-apiserver")).toBe(false);
    expect(cp.pids["kube-apiserver"]).toBeUndefined();
    expect(await isRunning(before)).toBe(false);
    await expect(configMapData(cp, "survives")).rejects.toThrow();

    await cp.start("kube-apiserver");
    expect(cp.isRunning("kube-apiserver")).toBe(true);
    expect(cp.pids["kube-apiserver"]).not.toBe(before);
    // The admin kubeconfig (same server URL) works again: same port, same PKI, same etcd.
    expect(await configMapData(cp, "survives")).toEqual({ written: "before the crash" });
  });

  it("restart({ kill }) of etcd keeps its data dir; the apiserver reconnects", async () => {
    const before = cp.pids.etcd;
    await cp.restart("etcd", { kill: true });
    expect(cp.pids.etcd).not.toBe(before);
    await expect
      .poll(() => configMapData(cp, "survives").catch(() => undefined), { timeout: 30_000, interval: 250 })
      .toEqual({ written: "before the crash" });
  });

  it("stop(component) is graceful, start() of a running component is a no-op, and the log is appended", async () => {
    await cp.stop("kube-apiserver");
    expect(cp.isRunning("kube-apiserver")).toBe(false);
    await cp.start("kube-apiserver");
    const pid = cp.pids["kube-apiserver"];
    await cp.start("kube-apiserver");
    expect(cp.pids["kube-apiserver"]).toBe(pid);
    expect(Object.keys(cp.logFiles).sort()).toEqual(["etcd", "kube-apiserver"]);
  });

  it("rejects components the control plane does not run", async () => {
    await expect(cp.kill("kube-scheduler")).rejects.toThrow(/not part of this control plane/);
  });

  // Last: it stops the control plane these tests share (one start-up instead of two on a busy machine).
  it("stop() neither hangs on a frozen, restarted apiserver nor leaks the temp dir", async () => {
    const pids = Object.values(cp.pids);
    expect(pids).toHaveLength(2);
    // SIGSTOP: SIGTERM stays pending forever; only the SIGKILL after the stop timeout ends it.
    process.kill(cp.pids["kube-apiserver"] ?? 0, "SIGSTOP");
    const startedAt = Date.now();
    await cp.stop();
    const tookMs = Date.now() - startedAt;
    for (const pid of pids) expect(await waitGone(pid, 10_000)).toBe(true);
    expect(existsSync(cp.tempDir)).toBe(false);
    // Bounded: the stop timeout (2 s) plus the kill, not a hang until the test timeout.
    expect(tookMs).toBeLessThan(15_000);
    await expect(cp.start("etcd")).rejects.toThrow(/stopped/);
  });
});
