/** The process exit codes of `virtual-node` (documented in `--help` and docs/agent.md). */
export const ExitCodes = {
  /** Stopped by SIGTERM/SIGINT after a clean shutdown (or a command that succeeded). */
  Ok: 0,
  /** Failed while running (lost the API server for good, a bug). */
  Failed: 1,
  /** Bad command-line usage. */
  Usage: 2,
  /** The config is invalid: schema, secret references, provider options, kubeconfig. */
  InvalidConfig: 3,
  /** A second signal arrived during the graceful shutdown. */
  Forced: 4,
} as const;

/** One of {@link ExitCodes}. */
export type ExitCode = (typeof ExitCodes)[keyof typeof ExitCodes];
