/**
 * CloudWatch Logs state: log groups and streams with events, read through GetLogEvents with
 * forward/backward tokens the way the service pages them.
 */
import type { Clock } from "@virtual-node/core";
import { SimError } from "./ecs-state.js";

type Json = Record<string, unknown>;

interface LogEvent {
  timestamp: number;
  message: string;
  ingestionTime: number;
}

/** The CloudWatch Logs service state. */
export class LogsState {
  readonly groups = new Map<string, Map<string, LogEvent[]>>();

  constructor(readonly clock: Clock) {}

  /** Appends an event (the awslogs driver's PutLogEvents, done by the simulated task). */
  write(group: string, stream: string, timestamp: number, message: string): void {
    let streams = this.groups.get(group);
    if (streams === undefined) {
      streams = new Map();
      this.groups.set(group, streams);
    }
    let events = streams.get(stream);
    if (events === undefined) {
      events = [];
      streams.set(stream, events);
    }
    events.push({ timestamp, message, ingestionTime: Math.max(timestamp, this.clock.now()) });
    events.sort((a, b) => a.timestamp - b.timestamp);
  }

  createLogGroup(body: Json): Json {
    const name = String(body.logGroupName);
    if (this.groups.has(name))
      throw new SimError("ResourceAlreadyExistsException", "The specified log group already exists");
    this.groups.set(name, new Map());
    return {};
  }

  describeLogGroups(body: Json): Json {
    const prefix = (body.logGroupNamePrefix as string | undefined) ?? "";
    return {
      logGroups: [...this.groups.keys()]
        .filter((n) => n.startsWith(prefix))
        .map((logGroupName) => ({
          logGroupName,
          arn: `arn:aws:logs:us-east-1:123456789012:log-group:${logGroupName}`,
        })),
    };
  }

  getLogEvents(body: Json): Json {
    const group = this.groups.get(String(body.logGroupName));
    const stream = group?.get(String(body.logStreamName));
    if (stream === undefined) {
      throw new SimError("ResourceNotFoundException", "The specified log stream does not exist.");
    }
    // Events become visible once ingested (the simulated clock decides "now").
    const now = this.clock.now();
    const start = body.startTime as number | undefined;
    const end = body.endTime as number | undefined;
    const visible = stream.filter(
      (e) =>
        e.ingestionTime <= now &&
        (start === undefined || e.timestamp >= start) &&
        (end === undefined || e.timestamp < end),
    );
    const limit = Math.min((body.limit as number | undefined) ?? 10_000, 10_000);
    const token = body.nextToken as string | undefined;
    let from: number;
    let to: number;
    if (token !== undefined) {
      const [dir, pos] = token.split("/");
      const at = Number(pos);
      if (dir === "f") {
        from = at;
        to = Math.min(visible.length, at + limit);
      } else {
        to = at;
        from = Math.max(0, at - limit);
      }
    } else if (body.startFromHead === true) {
      from = 0;
      to = Math.min(visible.length, limit);
    } else {
      to = visible.length;
      from = Math.max(0, to - limit);
    }
    return {
      events: visible.slice(from, to).map((e) => ({ ...e })),
      nextForwardToken: `f/${to}`,
      nextBackwardToken: `b/${from}`,
    };
  }
}
