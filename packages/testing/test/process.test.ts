import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

import { describe, expect, inject, it } from "vitest";

import { allocatePorts } from "../src/ports.js";
import { isProcessAlive, setprivPath, spawnComponent } from "../src/process.js";
import { useControlPlane } from "../src/shared-control-plane.js";
import { isRunning, spawnNodeReportingJson, waitGone } from "./helpers/procs.js";
import { sleep, tempDir, writeScript } from "./helpers/temp.js";
import { tsChildArgs } from "./helpers/ts-child.js";

const SPAWN_AND_WAIT = fileURLToPath(new URL("./fixtures/spawn-and-wait.ts", import.meta.url));

interface Report {
  pid: number;
  watchdogPid?: number;
  strategy: string;
}

async function reportOf(args: readonly string[]) {
  const { child, report } = await spawnNodeReportingJson(args);
  return { child, report: report as Report };
}

describe("spawnComponent", () => {
  it("captures output in the log file and stops with SIGTERM", async () => {
    const dir = await tempDir();
    const script = await writeScript(join(dir, "svc"), 'echo "hello from $1"; exec sleep 300');
    const proc = spawnComponent({
      name: "svc",
      command: script,
      args: ["svc"],
      logFile: join(dir, "svc.log"),
    });
    expect(proc.pid).toBeGreaterThan(0);
    await sleep(200);
    expect(await readFile(join(dir, "svc.log"), "utf8")).toContain("hello from svc");
    const exit = await proc.stop();
    expect(exit.signal).toBe("SIGTERM");
    expect(await proc.stop()).toBe(exit); // idempotent
    expect(isProcessAlive(proc.pid ?? 0) && (await isRunning(proc.pid ?? 0))).toBe(false);
  });

  it("escalates to SIGKILL when SIGTERM is ignored", async () => {
    const dir = await tempDir();
    const script = await writeScript(
      join(dir, "stubborn"),
      "trap '' TERM; echo ready; while :; do sleep 0.1; done",
    );
    const proc = spawnComponent({ name: "stubborn", command: script, args: [], logFile: join(dir, "log") });
    await sleep(200);
    const exit = await proc.stop({ timeoutMs: 300 });
    expect(exit.signal).toBe("SIGKILL");
  });

  it("reports a binary that cannot be started", async () => {
    const dir = await tempDir();
    const proc = spawnComponent({
      name: "ghost",
      command: join(dir, "missing"),
      args: [],
      logFile: join(dir, "log"),
    });
    const exit = await proc.exited;
    // With setpriv the exec failure is reported by setpriv's exit code; without it, as a spawn error.
    expect(exit.code !== 0 || exit.error !== undefined).toBe(true);
    expect(proc.exitStatus()).toBe(exit);
  });

  it("returns the last lines of the log", async () => {
    const dir = await tempDir();
    const script = await writeScript(
      join(dir, "chatty"),
      'i=1; while [ $i -le 50 ]; do echo "line $i"; i=$((i+1)); done',
    );
    const proc = spawnComponent({ name: "chatty", command: script, args: [], logFile: join(dir, "log") });
    await proc.exited;
    expect((await proc.logTail(3)).split("\n")).toEqual(["line 48", "line 49", "line 50"]);
  });
});

describe("no component outlives its parent process", () => {
  const strategies = setprivPath() === null ? (["watchdog"] as const) : (["setpriv", "watchdog"] as const);

  it.each(strategies)("kills the component when the parent is SIGKILLed (%s)", async (strategy) => {
    const dir = await tempDir();
    const { child, report } = await reportOf(
      tsChildArgs(SPAWN_AND_WAIT, [strategy, join(dir, "victim.log"), "sleep", "300"]),
    );
    expect(report.strategy).toBe(strategy);
    expect(await isRunning(report.pid)).toBe(true);
    child.kill("SIGKILL");
    // setpriv: immediate (kernel); watchdog: within its 1 s poll.
    expect(await waitGone(report.pid, 5000)).toBe(true);
    if (report.watchdogPid !== undefined) {
      expect(await waitGone(report.watchdogPid, 5000)).toBe(true);
    }
  });

  it("kills a real etcd when the parent is SIGKILLed", async () => {
    const { binaries } = await useControlPlane(inject("controlPlane"));
    const dir = await tempDir();
    const [client = 0, peer = 0] = await allocatePorts(2);
    const { child, report } = await reportOf(
      tsChildArgs(SPAWN_AND_WAIT, [
        "auto",
        join(dir, "etcd.log"),
        binaries.etcd,
        `--data-dir=${join(dir, "data")}`,
        `--listen-client-urls=http://127.0.0.1:${client}`,
        `--advertise-client-urls=http://127.0.0.1:${client}`,
        `--listen-peer-urls=http://127.0.0.1:${peer}`,
        `--initial-advertise-peer-urls=http://127.0.0.1:${peer}`,
        `--initial-cluster=default=http://127.0.0.1:${peer}`,
      ]),
    );
    await sleep(500);
    expect(await isRunning(report.pid)).toBe(true);
    child.kill("SIGKILL");
    expect(await waitGone(report.pid, 5000)).toBe(true);
  });
});
