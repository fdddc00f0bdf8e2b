import { spawn } from "node:child_process";
import { readFile } from "node:fs/promises";
import { createInterface } from "node:readline";

import { sleep } from "./temp.js";

/** True when `pid` is a live (non-zombie) process. */
export async function isRunning(pid: number): Promise<boolean> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, "utf8");
    const state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
    return state !== "Z" && state !== "X";
  } catch {
    return false;
  }
}

/** Waits until `pid` is gone; resolves to false on timeout. */
export async function waitGone(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!(await isRunning(pid))) return true;
    await sleep(100);
  }
  return !(await isRunning(pid));
}

/** Starts a node child and resolves with it and its first stdout line parsed as JSON. */
export async function spawnNodeReportingJson(
  args: readonly string[],
): Promise<{ child: ReturnType<typeof spawn>; report: unknown }> {
  const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "pipe"] });
  let stderr = "";
  child.stderr.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const lines = createInterface({ input: child.stdout });
  const first = await new Promise<string>((resolve, reject) => {
    lines.once("line", resolve);
    child.once("exit", (code) => {
      reject(new Error(`child exited (${code}) before reporting: ${stderr}`));
    });
  });
  lines.close();
  return { child, report: JSON.parse(first) as unknown };
}
