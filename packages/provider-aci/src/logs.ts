/**
 * One page of a container's log from ACI's list-logs API, for the kit's polling follower. ACI
 * returns the current run's log (optionally the last `tail` lines, each with an RFC 3339
 * timestamp); the kit de-duplicates the overlap between polls by time and message.
 */
import type { ContainerInstanceManagementClient } from "@azure/arm-containerinstance";
import { InvalidInputError } from "@virtual-node/core";
import type { ContainerLogOptions } from "@virtual-node/core";
import { parseRFC3339Nano } from "@virtual-node/core/provider-kit";
import type { CloudCaller, LogEntry, LogFetchHints, LogPage } from "@virtual-node/core/provider-kit";

/** Lines asked for on each follow poll: enough to cover one interval of a chatty container. */
export const FOLLOW_TAIL_LINES = 1_000;

/** Inputs of {@link fetchLogPage}. */
export interface LogPageRequest {
  client: ContainerInstanceManagementClient;
  call: CloudCaller;
  rg: string;
  name: string;
  container: string;
  cursor: string | undefined;
  signal: AbortSignal;
  hints: LogFetchHints;
  logOptions: ContainerLogOptions;
  /** Whether the container's run is over (no more lines will come). */
  isOver: () => Promise<boolean>;
}

/** `<RFC 3339> <message>` lines → log entries (a line without a timestamp keeps the previous time). */
export function parseAciLog(content: string): LogEntry[] {
  const entries: LogEntry[] = [];
  let last = new Date(0);
  let lastNanos = 0;
  for (const line of content.split("\n")) {
    if (line === "") continue;
    const space = line.indexOf(" ");
    const parsed = space > 0 ? parseRFC3339Nano(line.slice(0, space)) : undefined;
    if (parsed !== undefined) {
      last = parsed.time;
      lastNanos = parsed.nanos;
      entries.push({ time: parsed.time, nanos: parsed.nanos, message: line.slice(space + 1) });
    } else {
      entries.push({ time: last, nanos: lastNanos, message: line });
    }
  }
  return entries;
}

/** Reads the log once. `previous` is refused: ACI keeps only the current run's log. */
export async function fetchLogPage(r: LogPageRequest): Promise<LogPage> {
  if (r.logOptions.previous)
    throw new InvalidInputError("ACI keeps only the current run's log; there is no previous log", {
      field: "previous",
    });
  const tail = r.hints.initial ? r.hints.tailLines : FOLLOW_TAIL_LINES;
  const over = r.logOptions.follow ? await r.isOver() : false;
  const logs = await r.call(
    "Containers.ListLogs",
    (s) =>
      r.client.containers.listLogs(r.rg, r.name, r.container, {
        timestamps: true,
        ...(tail === undefined ? {} : { tail }),
        abortSignal: s,
      }),
    { signal: r.signal },
  );
  return { entries: parseAciLog(logs.content ?? ""), ...(over ? { end: true } : {}) };
}
