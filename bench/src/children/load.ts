/**
 * The load process: creates (at full speed or at a steady rate) or deletes the benchmark's pods, in its
 * own process so its CPU does not mix with the observer's. Writes a JSON report to `out`.
 *
 * Usage: node load.js '<LoadJob JSON>'
 */
import { writeFile } from "node:fs/promises";

import { KubeApiError } from "@virtual-node/core/kube";

import { clientFor, sleep } from "../kube.js";
import { benchPod, podName } from "../pod.js";

export interface LoadJob {
  readonly kubeconfig: string;
  readonly namespace: string;
  readonly nodeName: string;
  /** Spread the pods over these nodes (pod i on nodeNames[i mod n]) instead of all on `nodeName`. */
  readonly nodeNames?: readonly string[];
  readonly prefix: string;
  readonly count: number;
  readonly mode: "create" | "delete";
  /** Pods per second; 0 = as fast as `concurrency` allows. */
  readonly rate: number;
  readonly concurrency: number;
  /** Deletes: grace period; undefined = the pod's own. */
  readonly graceSeconds?: number;
  readonly out: string;
}

export interface LoadReport {
  readonly startedAt: number;
  readonly finishedAt: number;
  /** Epoch ms (sub-ms precision) at which request i was sent (first attempt). */
  readonly sentAt: readonly number[];
  readonly requests: Record<string, number>;
  readonly failures: number;
}

const now = (): number => performance.timeOrigin + performance.now();

async function main(): Promise<void> {
  const job = JSON.parse(process.argv[2] ?? "{}") as LoadJob;
  const client = clientFor(job.kubeconfig, "virtual-node-bench-load");
  const base = `/api/v1/namespaces/${job.namespace}/pods`;
  const sentAt: number[] = new Array<number>(job.count).fill(0);
  const requests: Record<string, number> = {};
  let failures = 0;
  const count = (key: string): void => {
    requests[key] = (requests[key] ?? 0) + 1;
  };

  const one = async (i: number): Promise<void> => {
    const name = podName(job.prefix, i);
    for (let attempt = 0; attempt < 20; attempt++) {
      if (attempt === 0) sentAt[i] = now();
      try {
        if (job.mode === "create") {
          count("POST pods");
          const nodes = job.nodeNames ?? [job.nodeName];
          await client.create(base, benchPod(name, nodes[i % nodes.length] ?? job.nodeName));
        } else {
          count("DELETE pods");
          await client.delete(
            `${base}/${name}`,
            job.graceSeconds === undefined
              ? undefined
              : { apiVersion: "v1", kind: "DeleteOptions", gracePeriodSeconds: job.graceSeconds },
          );
        }
        return;
      } catch (error) {
        if (error instanceof KubeApiError) {
          if (job.mode === "delete" && error.status === 404) return;
          if (job.mode === "create" && error.status === 409) return;
          if (error.status !== 429 && error.status < 500) throw error;
        }
        await sleep(50 * (attempt + 1));
      }
    }
    failures++;
  };

  const startedAt = now();
  if (job.rate > 0) {
    // A steady arrival rate: request i is sent at startedAt + i / rate, whatever the answers take.
    const inFlight: Promise<void>[] = [];
    for (let i = 0; i < job.count; i++) {
      const due = startedAt + (i * 1000) / job.rate;
      const wait = due - now();
      if (wait > 0) await sleep(wait);
      inFlight.push(
        one(i).catch(() => {
          failures++;
        }),
      );
    }
    await Promise.all(inFlight);
  } else {
    let next = 0;
    const worker = async (): Promise<void> => {
      for (let i = next++; i < job.count; i = next++) {
        await one(i).catch(() => {
          failures++;
        });
      }
    };
    await Promise.all(Array.from({ length: Math.min(job.concurrency, job.count) }, worker));
  }
  const report: LoadReport = { startedAt, finishedAt: now(), sentAt, requests, failures };
  await writeFile(job.out, JSON.stringify(report));
  client.close();
}

// The API client's HTTP/2 session is unref'd: keep the process alive while requests are pending.
const keepAlive = setInterval(() => undefined, 1 << 30);
main()
  .finally(() => {
    clearInterval(keepAlive);
  })
  .catch((error: unknown) => {
    process.stderr.write(
      `load: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exit(1);
  });
