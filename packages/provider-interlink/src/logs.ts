/**
 * Container logs over `/getLogs`, followed by polling through the kit's `followLogsByPolling`.
 *
 * Every read asks the site for timestamps (`Timestamps: true`) so lines can be placed in time and
 * de-duplicated across polls; the kit then prints them with or without timestamps as the client
 * asked, and applies `tailLines`, `sinceSeconds`/`sinceTime` and `limitBytes`. The site is asked for
 * less where it can do it itself: `Tail` on the first read, `SinceTime` from the cursor (the last
 * timestamp seen) afterwards. `Bytes` is never sent: interLink rejects `Tail` and `LimitBytes`
 * together, and the kit cuts at `limitBytes` anyway. interLink's own `Follow` streaming is not used:
 * plugins implement it unevenly, and polling with a cursor works with all of them.
 */
import type { ContainerLogOptions, PodRef } from "@virtual-node/core";
import { formatRFC3339Nano, parseRFC3339Nano } from "@virtual-node/core/provider-kit";
import type { LogEntry, LogFetchHints, LogPage } from "@virtual-node/core/provider-kit";
import type { LogStruct } from "./api-types.js";

/** The `/getLogs` body for one read. */
export function logRequest(
  ref: PodRef,
  container: string,
  options: ContainerLogOptions,
  cursor: string | undefined,
  hints: LogFetchHints,
): LogStruct {
  const sinceTime =
    cursor ?? (hints.sinceTime === undefined ? undefined : formatRFC3339Nano(hints.sinceTime));
  return {
    Namespace: ref.namespace,
    PodUID: ref.uid,
    PodName: ref.name,
    ContainerName: container,
    Opts: {
      Tail: hints.initial && cursor === undefined && sinceTime === undefined ? (hints.tailLines ?? 0) : 0,
      Bytes: 0,
      Timestamps: true,
      Follow: false,
      Previous: options.previous,
      SinceSeconds: 0,
      ...(sinceTime === undefined ? {} : { SinceTime: sinceTime }),
    },
  };
}

/**
 * The site's log text → entries. A line that starts with an RFC 3339 time and a space is placed at
 * that time; a line without one (a plugin that ignores `Timestamps`) gets `now` and an id from its
 * position, so repeated reads of the same text de-duplicate.
 */
export function parseLogText(text: string, now: Date): LogEntry[] {
  const lines = text.split("\n");
  if (lines.at(-1) === "") lines.pop();
  return lines.map((line, index): LogEntry => {
    const space = line.indexOf(" ");
    const parsed = space > 0 ? parseRFC3339Nano(line.slice(0, space)) : undefined;
    if (parsed === undefined) return { time: now, message: line, id: `line-${String(index)}` };
    return { time: parsed.time, nanos: parsed.nanos, message: line.slice(space + 1) };
  });
}

/** A page of entries with the cursor for the next read: the newest timestamp seen. */
export function logPage(entries: LogEntry[], previousCursor: string | undefined, ended: boolean): LogPage {
  const stamped = entries.filter((e) => e.id === undefined);
  const last = stamped.at(-1);
  const cursor = last === undefined ? previousCursor : formatRFC3339Nano(last.time, last.nanos);
  return { entries, ...(cursor === undefined ? {} : { cursor }), ...(ended ? { end: true } : {}) };
}
