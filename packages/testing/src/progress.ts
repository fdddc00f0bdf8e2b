/** Where build progress goes. Defaults to stderr; tests pass a collector. */
export interface ProgressSink {
  /** Writes one complete line (without trailing newline). */
  line(text: string): void;
  /** When true, {@link ProgressSink.status} may redraw the current line in place. */
  readonly interactive: boolean;
  /** Redraws a transient status line (interactive sinks only). */
  status?(text: string): void;
  /** Clears the transient status line (interactive sinks only). */
  clearStatus?(): void;
}

const PREFIX = "[virtual-node]";

export function stderrProgress(): ProgressSink {
  const stream = process.stderr;
  const interactive = stream.isTTY;
  let statusShown = false;
  const clear = (): void => {
    if (statusShown) {
      stream.write("\r\x1b[2K");
      statusShown = false;
    }
  };
  return {
    interactive,
    line(text) {
      clear();
      stream.write(`${PREFIX} ${text}\n`);
    },
    status(text) {
      stream.write(`\r\x1b[2K${PREFIX} ${text}`);
      statusShown = true;
    },
    clearStatus: clear,
  };
}

export function silentProgress(): ProgressSink {
  return { interactive: false, line: () => undefined };
}

export function formatDuration(ms: number): string {
  const seconds = Math.round(ms / 1000);
  if (seconds < 60) {
    return `${seconds}s`;
  }
  const minutes = Math.floor(seconds / 60);
  const rest = seconds % 60;
  return `${minutes}m${String(rest).padStart(2, "0")}s`;
}

export function formatKiB(kib: number): string {
  const gib = kib / (1024 * 1024);
  return gib >= 1 ? `${gib.toFixed(2)} GiB` : `${(kib / 1024).toFixed(0)} MiB`;
}

export interface TickerOptions {
  /** Interval of the in-place status redraw on interactive sinks. Default 2 s. */
  readonly interactiveIntervalMs?: number;
  /** Interval of liveness lines on non-interactive sinks (CI logs). Default 30 s. */
  readonly plainIntervalMs?: number;
}

/**
 * Shows that a long step is alive: redraws "<label> … 42s" every couple of seconds on a terminal, and
 * prints a "still <label> (2m30s)" line every 30 s otherwise. Returns a function that stops the ticker.
 */
export function startTicker(sink: ProgressSink, label: string, options: TickerOptions = {}): () => void {
  const startedAt = Date.now();
  const elapsed = (): string => formatDuration(Date.now() - startedAt);
  let timer: NodeJS.Timeout;
  if (sink.interactive && sink.status !== undefined) {
    const status = sink.status.bind(sink);
    status(`${label} … ${elapsed()}`);
    timer = setInterval(() => {
      status(`${label} … ${elapsed()}`);
    }, options.interactiveIntervalMs ?? 2000);
  } else {
    sink.line(`${label} …`);
    timer = setInterval(() => {
      sink.line(`still ${label} (${elapsed()})`);
    }, options.plainIntervalMs ?? 30_000);
  }
  return () => {
    clearInterval(timer);
    sink.clearStatus?.();
  };
}
