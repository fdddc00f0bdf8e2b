/**
 * The agent's logs: pino, one JSON object per line on stderr. A pino logger already has the shape of
 * core's `Logger` (`debug/info/warn/error(obj, msg)`, `child`); what this adds is redaction of every
 * written line: core's token patterns plus the exact values of the config's secret references.
 */
import { redactSecrets, type Logger, type LogLevel } from "@virtual-node/core";
import { pino, type DestinationStream } from "pino";
import type { SecretValues } from "./secrets.js";

/** Options of {@link createAgentLogger}. */
export interface AgentLoggerOptions {
  level: LogLevel | "silent";
  /** Values to redact from every line. */
  secrets: SecretValues;
  /** Default: stderr, written synchronously so the last lines before an exit are not lost. */
  destination?: DestinationStream;
}

/** A pino logger adapted to core's `Logger`, redacting secrets from every line. */
export function createAgentLogger(options: AgentLoggerOptions): Logger {
  const destination = options.destination ?? pino.destination({ dest: 2, sync: true });
  const logger = pino(
    {
      level: options.level,
      base: { component: "virtual-node" },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      hooks: { streamWrite: (line) => options.secrets.redact(redactSecrets(line)) },
    },
    destination,
  );
  return logger;
}
