/**
 * Observers in the harness process: a pod watch that timestamps, locally and at arrival, the first time
 * each pod is seen Ready and the time it is seen deleted; and a lease watch that records renewals.
 */
import { noopLogger } from "@virtual-node/core";
import { Reflector, type KubeClient, type Lease, type Pod } from "@virtual-node/core/kube";

import { isPodReady } from "./kube.js";

const now = (): number => performance.timeOrigin + performance.now();

export class PodObserver {
  readonly readyAt = new Map<string, number>();
  readonly goneAt = new Map<string, number>();
  private readonly reflector: Reflector<Pod>;
  private readonly controller = new AbortController();
  private running: Promise<void> | undefined;
  private waiters: { check: () => boolean; resolve: () => void }[] = [];

  constructor(client: KubeClient, namespace: string) {
    this.reflector = new Reflector<Pod>({
      client,
      path: `/api/v1/namespaces/${namespace}/pods`,
      logger: noopLogger,
      handlers: {
        onUpsert: (pod) => {
          const name = pod.metadata?.name ?? "";
          if (!this.readyAt.has(name) && isPodReady(pod)) {
            this.readyAt.set(name, now());
            this.notify();
          }
        },
        onDelete: (pod) => {
          const name = pod.metadata?.name ?? "";
          if (!this.goneAt.has(name)) {
            this.goneAt.set(name, now());
            this.notify();
          }
        },
      },
    });
  }

  async start(): Promise<void> {
    this.running = this.reflector.run(this.controller.signal).catch(() => undefined);
    await this.reflector.waitForSync(this.controller.signal);
  }

  private notify(): void {
    this.waiters = this.waiters.filter((w) => {
      if (!w.check()) return true;
      w.resolve();
      return false;
    });
  }

  /**
   * Resolves when `check` holds (re-evaluated on every observed change); rejects after `timeoutMs`, or as soon
   * as `alive` (checked twice a second) says the agent has exited.
   */
  async until(
    what: string,
    check: () => boolean,
    timeoutMs: number,
    progress?: () => string,
    alive?: () => boolean,
  ): Promise<void> {
    if (check()) return;
    await new Promise<void>((resolve, reject) => {
      const finish = (error?: Error): void => {
        clearTimeout(timer);
        clearInterval(liveness);
        this.waiters = this.waiters.filter((w) => w.resolve !== done);
        if (error) reject(error);
        else resolve();
      };
      const detail = (): string => (progress ? ` (${progress()})` : "");
      const timer = setTimeout(() => {
        finish(new Error(`timed out after ${Math.round(timeoutMs / 1000)} s waiting for ${what}${detail()}`));
      }, timeoutMs);
      const liveness = setInterval(() => {
        if (alive && !alive()) finish(new Error(`the agent exited while waiting for ${what}${detail()}`));
      }, 500);
      const done = (): void => {
        finish();
      };
      this.waiters.push({ check, resolve: done });
    });
  }

  async stop(): Promise<void> {
    this.controller.abort();
    await this.running;
  }
}

/** Renewals of the watched nodes' Leases: local arrival time of every change of `spec.renewTime`. */
export class LeaseObserver {
  readonly renewals = new Map<string, number[]>();
  private readonly lastRenewTime = new Map<string, string>();
  private readonly reflector: Reflector<Lease>;
  private readonly controller = new AbortController();
  private running: Promise<void> | undefined;

  constructor(client: KubeClient, nodeNames: readonly string[]) {
    const wanted = new Set(nodeNames);
    for (const n of nodeNames) this.renewals.set(n, []);
    this.reflector = new Reflector<Lease>({
      client,
      path: "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases",
      logger: noopLogger,
      handlers: {
        onUpsert: (lease) => {
          const name = lease.metadata?.name ?? "";
          if (!wanted.has(name)) return;
          const renewTime = String(lease.spec?.renewTime ?? "");
          if (renewTime === "" || this.lastRenewTime.get(name) === renewTime) return;
          this.lastRenewTime.set(name, renewTime);
          this.renewals.get(name)?.push(now());
        },
        onDelete: () => undefined,
      },
    });
  }

  async start(): Promise<void> {
    this.running = this.reflector.run(this.controller.signal).catch(() => undefined);
    await this.reflector.waitForSync(this.controller.signal);
  }

  async stop(): Promise<void> {
    this.controller.abort();
    await this.running;
  }
}

export interface LeaseSummary {
  readonly nodes: number;
  readonly renewals: number;
  /** Gaps between consecutive renewals (and from the last one to the window's end) longer than `lateAfterMs`. */
  readonly late: number;
  /** Gaps longer than the lease duration: the node would have been declared unhealthy. */
  readonly expired: number;
  readonly gapP50Ms: number;
  readonly gapP99Ms: number;
  readonly gapMaxMs: number;
}

/** Renewal gaps within [from, to]; the first renewal in the window is measured from `from`. */
export function summarizeLeases(
  renewals: ReadonlyMap<string, readonly number[]>,
  from: number,
  to: number,
  lateAfterMs: number,
  durationMs: number,
): LeaseSummary {
  const gaps: number[] = [];
  let count = 0;
  for (const times of renewals.values()) {
    let previous = from;
    for (const t of times) {
      if (t < from || t > to) continue;
      count++;
      gaps.push(t - previous);
      previous = t;
    }
    gaps.push(to - previous);
  }
  gaps.sort((a, b) => a - b);
  const q = (p: number): number => gaps[Math.min(gaps.length - 1, Math.floor(p * gaps.length))] ?? 0;
  return {
    nodes: renewals.size,
    renewals: count,
    late: gaps.filter((g) => g > lateAfterMs).length,
    expired: gaps.filter((g) => g > durationMs).length,
    gapP50Ms: q(0.5),
    gapP99Ms: q(0.99),
    gapMaxMs: gaps[gaps.length - 1] ?? 0,
  };
}
