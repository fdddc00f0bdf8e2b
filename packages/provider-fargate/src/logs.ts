/**
 * `kubectl logs` for Fargate: the awslogs driver writes each container to the stream
 * `<prefix>/<container>/<task id>`; this reads it with GetLogEvents (forward tokens) through the
 * kit's follower, which applies tail, since, timestamps, limitBytes and follow.
 */
import { GetLogEventsCommand } from "@aws-sdk/client-cloudwatch-logs";
import type { CloudWatchLogsClient } from "@aws-sdk/client-cloudwatch-logs";
import { errorCode } from "@virtual-node/core";
import type { Clock, ContainerLogOptions } from "@virtual-node/core";
import { followLogsByPolling } from "@virtual-node/core/provider-kit";
import type { CloudCaller, LogPage } from "@virtual-node/core/provider-kit";
import type { Readable } from "node:stream";

/** What {@link containerLogs} needs. */
export interface ContainerLogsInput {
  client: CloudWatchLogsClient;
  call: CloudCaller;
  clock: Clock;
  logGroup: string;
  logStream: string;
  logOptions: ContainerLogOptions;
  signal: AbortSignal;
  /** Whether the task has stopped (no more lines will come). */
  ended: () => boolean;
  /** Poll interval while following. Default 1 s. */
  intervalMs?: number;
}

/** A container's CloudWatch log as a kubelet-style stream. */
export function containerLogs(input: ContainerLogsInput): Promise<Readable> {
  const { client, call, logGroup, logStream } = input;
  return followLogsByPolling(
    async (cursor, signal, hints): Promise<LogPage> => {
      try {
        const page = await call(
          "GetLogEvents",
          (s) =>
            client.send(
              new GetLogEventsCommand({
                logGroupName: logGroup,
                logStreamName: logStream,
                startFromHead: true,
                ...(cursor === undefined ? {} : { nextToken: cursor }),
                ...(cursor === undefined && hints.sinceTime !== undefined
                  ? { startTime: hints.sinceTime.getTime() }
                  : {}),
              }),
              { abortSignal: s },
            ),
          { signal },
        );
        const events = page.events ?? [];
        const token = page.nextForwardToken;
        return {
          entries: events.map((e, i) => ({
            time: new Date(e.timestamp ?? 0),
            message: e.message ?? "",
            id: `${String(e.timestamp ?? 0)}/${String(e.ingestionTime ?? 0)}/${i}/${e.message ?? ""}`,
          })),
          ...(token === undefined ? {} : { cursor: token }),
          // CloudWatch returns the same token once the stream is read to its end.
          more: events.length > 0 && token !== cursor,
          end: events.length === 0 && input.ended(),
        };
      } catch (error) {
        // No stream yet: the container has not written a line (or has not started).
        if (errorCode(error) === "VN_NOT_FOUND") return { entries: [], end: input.ended() };
        throw error;
      }
    },
    {
      logOptions: input.logOptions,
      signal: input.signal,
      clock: input.clock,
      ...(input.intervalMs === undefined ? {} : { intervalMs: input.intervalMs }),
    },
  );
}
