/**
 * The commands a mock container understands for `exec`: a pure function of the command, stdin and
 * environment, so `kubectl exec` through the kubelet API can be tested without a runtime.
 */

export interface MockCommandContext {
  /** Environment of the container, in declaration order. */
  env: readonly { name: string; value: string }[];
  /** What `hostname` prints (the pod name, like a real pod). */
  hostname: string;
}

export interface MockCommandResult {
  stdout: string;
  stderr: string;
  exitCode: number;
  /** How long the command runs (`sleep`); the cloud waits this long on its clock. */
  durationMs: number;
}

/** The supported commands; anything else exits 127 like a shell. */
export const MOCK_COMMANDS = ["echo", "cat", "env", "sleep", "exit", "hostname", "true", "false"] as const;

function result(stdout: string, exitCode = 0, stderr = "", durationMs = 0): MockCommandResult {
  return { stdout, stderr, exitCode, durationMs };
}

/**
 * Runs one command: `echo [-n] args…`, `cat` (stdin to stdout), `env`, `sleep N` (seconds,
 * fractions allowed), `exit N`, `hostname`, `true`, `false`. `sh -c "<command>"` runs the inner
 * command, split on whitespace.
 */
export function runMockCommand(
  command: readonly string[],
  stdin: string,
  context: MockCommandContext,
): MockCommandResult {
  const [program, ...args] = command;
  if (program === undefined || program === "") return result("", 126, "exec: no command\n");
  const base = program.slice(program.lastIndexOf("/") + 1);
  switch (base) {
    case "sh":
    case "bash":
      if (args[0] === "-c" && args[1] !== undefined) {
        return runMockCommand(args[1].trim().split(/\s+/), stdin, context);
      }
      return result("", 2, `${base}: only "-c <command>" is supported\n`);
    case "echo":
      return args[0] === "-n" ? result(args.slice(1).join(" ")) : result(`${args.join(" ")}\n`);
    case "cat":
      return result(stdin);
    case "env":
      return result(context.env.map((v) => `${v.name}=${v.value}\n`).join(""));
    case "hostname":
      return result(`${context.hostname}\n`);
    case "true":
      return result("");
    case "false":
      return result("", 1);
    case "sleep": {
      const seconds = Number(args[0]);
      if (args[0] === undefined || !Number.isFinite(seconds) || seconds < 0) {
        return result("", 1, `sleep: invalid time interval '${args[0] ?? ""}'\n`);
      }
      return result("", 0, "", Math.round(seconds * 1000));
    }
    case "exit": {
      const code = args[0] === undefined ? 0 : Number(args[0]);
      if (!Number.isInteger(code))
        return result("", 2, `exit: ${args[0] ?? ""}: numeric argument required\n`);
      return result("", ((code % 256) + 256) % 256);
    }
    default:
      return result("", 127, `${program}: command not found\n`);
  }
}
