/**
 * Container logs from Cloud Logging: `entries.list` filtered by the job (`cloud_run_job`), the
 * worker pool (`cloud_run_worker_pool`), the service (`cloud_run_revision`) or the instance,
 * ascending by time, with a timestamp cursor; the kit's polling follower applies tail/since/timestamps/limitBytes and de-duplicates by `insertId`.
 */
import { InvalidInputError } from "@virtual-node/core";
import type { ContainerLogOptions } from "@virtual-node/core";
import { followLogsByPolling, formatRFC3339Nano } from "@virtual-node/core/provider-kit";
import type { CloudCaller, LogEntry, LogPage } from "@virtual-node/core/provider-kit";
import type { Clock } from "@virtual-node/core";
import type { Logging } from "@google-cloud/logging";
import type { Readable } from "node:stream";
import type { CloudRunKind } from "./mapping.js";

/** What to read: the pod's Cloud Run object and container. */
export interface LogTarget {
  kind: CloudRunKind;
  /** The Job, Worker Pool, Service or Instance id. */
  id: string;
  container: string;
  /** Filter by container too (pods with several containers). */
  multiContainer: boolean;
  /** Where reading starts when the caller gives no `sinceTime` (the object's creation). */
  createdAt: Date;
  /** Whether the pod's run is over (a followed stream then ends). */
  finished: () => Promise<boolean>;
}

/** What the reader needs. */
export interface LogReaderDeps {
  call: CloudCaller;
  logging: Logging;
  project: string;
  region: string;
  clock: Clock;
  intervalMs: number;
}

interface RawEntry {
  insertId?: string | null;
  textPayload?: string | null;
  jsonPayload?: { fields?: Record<string, { stringValue?: string | null }> } | null;
  timestamp?: { seconds?: number | string | { toString(): string } | null; nanos?: number | null } | null;
}

/** The monitored resource of each kind's container logs. */
const RESOURCE_FILTER: Record<CloudRunKind, (id: string) => readonly string[]> = {
  job: (id) => ['resource.type="cloud_run_job"', `resource.labels.job_name="${id}"`],
  workerPool: (id) => ['resource.type="cloud_run_worker_pool"', `resource.labels.worker_pool_name="${id}"`],
  service: (id) => ['resource.type="cloud_run_revision"', `resource.labels.service_name="${id}"`],
  // Worker Pool and Instance resource types follow Cloud Run's naming (cloud_run_<kind>); they are
  // not in the validated fixtures (docs/providers/cloudrun.md says so).
  instance: (id) => ['resource.type="cloud_run_instance"', `resource.labels.instance_name="${id}"`],
};

/** The Cloud Logging filter of a target, from `since` on (RFC 3339 with nanoseconds). */
export function logFilter(target: LogTarget, region: string, since: string): string {
  const clauses = [...RESOURCE_FILTER[target.kind](target.id)];
  clauses.push(`resource.labels.location="${region}"`);
  if (target.multiContainer) clauses.push(`labels.container_name="${target.container}"`);
  // Always mention timestamp: the client library otherwise adds "the last 24 hours" on its own.
  clauses.push(`timestamp>="${since}"`);
  return clauses.join(" AND ");
}

function toEntry(raw: RawEntry): LogEntry & { stamp: string } {
  const seconds = Number(String(raw.timestamp?.seconds ?? 0));
  const nanos = raw.timestamp?.nanos ?? 0;
  const time = new Date(seconds * 1000 + Math.floor(nanos / 1e6));
  const message = raw.textPayload ?? raw.jsonPayload?.fields?.message?.stringValue ?? "";
  return {
    time,
    nanos,
    message,
    ...(raw.insertId == null ? {} : { id: raw.insertId }),
    stamp: formatRFC3339Nano(time, nanos),
  };
}

/** A container's log stream. */
export async function readContainerLogs(
  deps: LogReaderDeps,
  target: LogTarget,
  logOptions: ContainerLogOptions,
  signal: AbortSignal,
): Promise<Readable> {
  if (logOptions.previous)
    throw new InvalidInputError(`container ${target.container}: Cloud Run keeps no previous run's log apart`);
  const fetchPage = async (
    cursor: string | undefined,
    pageSignal: AbortSignal,
    hints: { sinceTime?: Date },
  ): Promise<LogPage> => {
    const since = cursor ?? formatRFC3339Nano(hints.sinceTime ?? target.createdAt);
    const [, , response] = await deps.call(
      "ListEntries",
      () =>
        deps.logging.getEntries({
          resourceNames: [`projects/${deps.project}`],
          filter: logFilter(target, deps.region, since),
          orderBy: "timestamp asc",
          pageSize: 1000,
          autoPaginate: false,
        }),
      { signal: pageSignal },
    );
    const raw = ((response as { entries?: RawEntry[] } | undefined)?.entries ?? []).map(toEntry);
    const more = (response as { nextPageToken?: string | null } | undefined)?.nextPageToken;
    const last = raw.at(-1);
    const hasMore = more !== undefined && more !== null && more !== "";
    const end = !hasMore && (await target.finished());
    return {
      entries: raw.map((e) => ({
        time: e.time,
        nanos: e.nanos,
        message: e.message,
        ...(e.id === undefined ? {} : { id: e.id }),
      })),
      ...(last === undefined ? {} : { cursor: last.stamp }),
      more: hasMore,
      end,
    };
  };
  return followLogsByPolling(fetchPage, {
    logOptions,
    signal,
    clock: deps.clock,
    intervalMs: deps.intervalMs,
  });
}
