/**
 * The `virtual-node` command line, as a function of its arguments (the bin in `cli.ts` only wires
 * the process: argv, streams, signals, exit code). Arguments are parsed with `node:util`'s
 * `parseArgs`: subcommands plus a handful of flags need no dependency.
 */
import { createRequire } from "node:module";
import { parseArgs } from "node:util";
import { describeError, type Logger, type LogLevel } from "@virtual-node/core";
import { isConfigurationError, startAgent } from "./agent.js";
import { ConfigFileError, loadAgentConfig } from "./config.js";
import { ExitCodes, type ExitCode } from "./exit-codes.js";
import { createAgentLogger } from "./logger.js";
import { agentConfigSchema } from "./schema.js";
import { SecretValues } from "./secrets.js";

const require = createRequire(import.meta.url);

/** What a command writes to and reads from. */
export interface CliIO {
  /** Where command output goes. */
  stdout: {
    /** Writes `text` as is. */
    write(text: string): unknown;
  };
  /** Where usage errors and the agent's failure summary go. */
  stderr: {
    /** Writes `text` as is. */
    write(text: string): unknown;
  };
  env: Readonly<Record<string, string | undefined>>;
  /** Aborted on SIGTERM/SIGINT (the bin wires it). */
  signal: AbortSignal;
  /** Test hook: a logger instead of pino on stderr. */
  logger?: Logger;
}

/** `--help` text. Examples first: they are what people look for. */
export const HELP = `virtual-node: run Kubernetes virtual nodes from a config file

Usage:
  virtual-node run --config <file> [--kubeconfig <file>] [--log-level <level>] [--port <n>]
  virtual-node validate-config --config <file>
  virtual-node schema            print the config's JSON Schema
  virtual-node version
  virtual-node help | --help

Examples:
  # one mock node against the cluster of your current kubeconfig
  cat > agent.yaml <<'YAML'
  apiVersion: virtual-node.io/v1alpha1
  kind: AgentConfig
  nodes:
    - name: vn-mock-0
      provider: { name: mock }
  YAML
  virtual-node run --config agent.yaml

  # check a config (CI, editors without schema support)
  virtual-node validate-config --config deploy/overlays/aci/agent.yaml

  # inside a pod: in-cluster credentials are used when --kubeconfig is not given
  virtual-node run --config /etc/virtual-node/agent.yaml --log-level debug

Options:
  --config, -c     agent config file (YAML or JSON), see docs/agent-config.md
  --kubeconfig     kubeconfig file (default: config's kubeconfig, in-cluster, KUBECONFIG, ~/.kube/config)
  --log-level      debug | info | warn | error | silent (default: the config's logLevel, else info)
  --port           port of /healthz, /readyz, /metrics (default: the config's server.port, else 8080)

Signals: SIGTERM and SIGINT shut down gracefully (the config's shutdown policy, or HA hand-over);
a second signal exits at once.
Exit codes: 0 stopped by a signal after a clean shutdown, 1 failed while running, 2 bad usage,
3 invalid config (the message names the path, the problem and the allowed values), 4 forced exit.`;

const LOG_LEVELS = ["debug", "info", "warn", "error", "silent"] as const;

function usageError(io: CliIO, message: string): ExitCode {
  io.stderr.write(`virtual-node: ${message}\nRun "virtual-node --help" for usage.\n`);
  return ExitCodes.Usage;
}

/** The package versions `version` prints. */
export function versions(): { cli: string; core: string; node: string } {
  const cli = (require("../package.json") as { version: string }).version;
  const core = (require("@virtual-node/core/package.json") as { version: string }).version;
  return { cli, core, node: process.version };
}

/** Runs one `virtual-node` invocation; resolves to its exit code. */
export async function runCli(argv: readonly string[], io: CliIO): Promise<ExitCode> {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      strict: true,
      options: {
        config: { type: "string", short: "c" },
        kubeconfig: { type: "string" },
        "log-level": { type: "string" },
        port: { type: "string" },
        help: { type: "boolean", short: "h" },
        version: { type: "boolean" },
      },
    });
  } catch (error) {
    return usageError(io, (error as Error).message);
  }
  const { values, positionals } = parsed;
  const command = values.help ? "help" : values.version ? "version" : positionals[0];
  switch (command) {
    case undefined:
    case "help":
      (command === undefined ? io.stderr : io.stdout).write(`${HELP}\n`);
      return command === undefined ? ExitCodes.Usage : ExitCodes.Ok;
    case "version": {
      const v = versions();
      io.stdout.write(`virtual-node ${v.cli} (core ${v.core}, node ${v.node})\n`);
      return ExitCodes.Ok;
    }
    case "schema":
      io.stdout.write(`${JSON.stringify(agentConfigSchema, null, 2)}\n`);
      return ExitCodes.Ok;
    case "validate-config":
    case "run":
      break;
    default:
      return usageError(io, `unknown command ${JSON.stringify(command)}`);
  }
  const configFile = values.config ?? positionals[1];
  if (configFile === undefined) return usageError(io, `${command} needs --config <file>`);
  const level = values["log-level"];
  if (level !== undefined && !(LOG_LEVELS as readonly string[]).includes(level)) {
    return usageError(io, `--log-level must be one of ${LOG_LEVELS.join(", ")}`);
  }
  const port = values.port === undefined ? undefined : Number(values.port);
  if (port !== undefined && (!Number.isInteger(port) || port < 0 || port > 65535)) {
    return usageError(io, "--port must be an integer from 0 to 65535");
  }

  let config;
  try {
    config = await loadAgentConfig(configFile);
  } catch (error) {
    if (error instanceof ConfigFileError) {
      io.stderr.write(`virtual-node: ${error.message}\n`);
      return ExitCodes.InvalidConfig;
    }
    throw error;
  }
  if (command === "validate-config") {
    io.stdout.write(`${configFile}: valid (${config.nodes.map((n) => n.name).join(", ")})\n`);
    return ExitCodes.Ok;
  }

  const secrets = new SecretValues();
  const logger =
    io.logger ??
    createAgentLogger({ level: (level ?? config.logLevel ?? "info") as LogLevel | "silent", secrets });
  let agent;
  try {
    agent = await startAgent(config, {
      configFile,
      ...(values.kubeconfig === undefined ? {} : { kubeconfig: values.kubeconfig }),
      env: io.env,
      logger,
      secrets,
      ...(port === undefined ? {} : { serverPort: port }),
    });
  } catch (error) {
    logger.error({ error: describeError(error) }, "the agent did not start");
    io.stderr.write(`virtual-node: ${secrets.redact(describeError(error))}\n`);
    return isConfigurationError(error) ? ExitCodes.InvalidConfig : ExitCodes.Failed;
  }
  agent.ready.then(
    () => {
      logger.info({ nodes: agent.nodeNames }, "ready");
    },
    () => undefined,
  );
  try {
    await agent.run(io.signal);
  } catch (error) {
    logger.error({ error: describeError(error) }, "the agent failed");
    return isConfigurationError(error) ? ExitCodes.InvalidConfig : ExitCodes.Failed;
  }
  logger.info({}, "stopped");
  return io.signal.aborted ? ExitCodes.Ok : ExitCodes.Failed;
}
