/** CPU time and memory of agent processes, from /proc (Linux). */
import { readFileSync } from "node:fs";

/** Kernel clock ticks per second (USER_HZ); 100 on every mainstream Linux architecture. */
const CLOCK_TICKS = 100;

export interface ProcSample {
  /** utime + stime, seconds. */
  readonly cpuSeconds: number;
  /** Current resident set, KiB. */
  readonly rssKiB: number;
  /** Peak resident set (VmHWM), KiB. */
  readonly hwmKiB: number;
}

/** Parses `/proc/<pid>/stat`: fields 14 and 15 (utime, stime) counted after the `)` of the command name. */
export function parseStatCpuSeconds(stat: string): number {
  const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // rest[0] is field 3 (state); utime is field 14 → index 11, stime field 15 → index 12.
  const utime = Number(rest[11]);
  const stime = Number(rest[12]);
  if (!Number.isFinite(utime) || !Number.isFinite(stime)) throw new Error(`unexpected /proc stat: ${stat}`);
  return (utime + stime) / CLOCK_TICKS;
}

/** Reads `VmRSS` and `VmHWM` (KiB) from `/proc/<pid>/status`. */
export function parseStatusMemory(status: string): { rssKiB: number; hwmKiB: number } {
  const field = (name: string): number =>
    Number(new RegExp(`^${name}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? 0);
  return { rssKiB: field("VmRSS"), hwmKiB: field("VmHWM") };
}

/** One process, or undefined when it is gone. */
export function sampleProcess(pid: number): ProcSample | undefined {
  try {
    const cpuSeconds = parseStatCpuSeconds(readFileSync(`/proc/${pid}/stat`, "utf8"));
    const memory = parseStatusMemory(readFileSync(`/proc/${pid}/status`, "utf8"));
    return { cpuSeconds, ...memory };
  } catch {
    return undefined;
  }
}

/** Sum over processes (several virtual-kubelet processes count as one agent). */
export function sampleProcesses(pids: readonly number[]): ProcSample {
  let cpuSeconds = 0;
  let rssKiB = 0;
  let hwmKiB = 0;
  for (const pid of pids) {
    const s = sampleProcess(pid);
    if (s === undefined) continue;
    cpuSeconds += s.cpuSeconds;
    rssKiB += s.rssKiB;
    hwmKiB += s.hwmKiB;
  }
  return { cpuSeconds, rssKiB, hwmKiB };
}

/** Samples every `intervalMs` and keeps the largest summed RSS seen (VmHWM is per process, this is the total). */
export class ProcWatcher {
  private timer: NodeJS.Timeout | undefined;
  peakRssKiB = 0;
  constructor(
    private readonly pids: () => readonly number[],
    intervalMs = 500,
  ) {
    this.timer = setInterval(() => {
      this.sample();
    }, intervalMs);
    this.timer.unref();
  }
  sample(): ProcSample {
    const s = sampleProcesses(this.pids());
    this.peakRssKiB = Math.max(this.peakRssKiB, s.rssKiB);
    return s;
  }
  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}
