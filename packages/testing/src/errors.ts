/** Stable error codes of the testing harness. Match on `code`, never on the message. */
export const ErrorCode = {
  /** Neither binaries nor a Go toolchain to build them are available. */
  BinariesUnavailable: "VN_BINARIES_UNAVAILABLE",
  /** A binary path given through the environment or options does not exist or is not executable. */
  BinaryNotFound: "VN_BINARY_NOT_FOUND",
  /** The Go toolchain on PATH is older than the pinned minimum. */
  GoTooOld: "VN_GO_TOO_OLD",
  /** A `go` command (download, tidy, build) failed. */
  GoBuildFailed: "VN_GO_BUILD_FAILED",
  /** Freshly built binaries did not pass verification. */
  BuildVerificationFailed: "VN_BUILD_VERIFICATION_FAILED",
  /** Timed out waiting for another process that holds the build lock. */
  LockTimeout: "VN_LOCK_TIMEOUT",
  /** A control-plane component exited while starting. */
  ComponentExited: "VN_COMPONENT_EXITED",
  /** A control-plane component did not become ready in time. */
  ComponentNotReady: "VN_COMPONENT_NOT_READY",
  /** A component could not bind a port even after retrying on other ports. */
  PortUnavailable: "VN_PORT_UNAVAILABLE",
  /** Start-up was aborted through an AbortSignal. */
  Aborted: "VN_ABORTED",
  /** Tests asked for the shared control plane but the global setup did not start one. */
  ControlPlaneNotProvided: "VN_CONTROL_PLANE_NOT_PROVIDED",
  /** A Kubernetes API call made by the harness failed. */
  ApiRequestFailed: "VN_API_REQUEST_FAILED",
  /** The non-loopback test-host network (netns + veth) could not be created. */
  TestHostUnavailable: "VN_TEST_HOST_UNAVAILABLE",
} as const;

export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

export interface TestingErrorOptions {
  readonly cause?: unknown;
  /** Last lines of a relevant log (build log, component log). */
  readonly logTail?: string;
  /** Path of that log on disk, if it still exists. */
  readonly logFile?: string;
}

/**
 * Every error the harness throws on purpose. The message is written to be read by a human in a test
 * report or a terminal, so it already contains the relevant log tail.
 */
export class TestingError extends Error {
  readonly code: ErrorCode;
  readonly logTail: string | undefined;
  readonly logFile: string | undefined;

  constructor(code: ErrorCode, message: string, options: TestingErrorOptions = {}) {
    const tail = options.logTail?.trimEnd();
    const where = options.logFile === undefined ? "" : ` (${options.logFile})`;
    const full = tail ? `${message}\n--- last log lines${where} ---\n${tail}\n---` : message;
    super(full, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "TestingError";
    this.code = code;
    this.logTail = tail;
    this.logFile = options.logFile;
  }
}

export function isTestingError(error: unknown, code?: ErrorCode): error is TestingError {
  return error instanceof TestingError && (code === undefined || error.code === code);
}

/** Returns the last `lines` lines of `text` (without a trailing empty line). */
export function tailLines(text: string, lines: number): string {
  const all = text.replace(/\s+$/, "").split("\n");
  return all.slice(Math.max(0, all.length - lines)).join("\n");
}
