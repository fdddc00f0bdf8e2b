/**
 * `kubectl exec` through ACI's execute-command API: ARM hands out a WebSocket URI and a password;
 * the client sends the password as its first message, then stdin; output comes back as messages;
 * the socket closes when the process ends. ACI's command is one string split at whitespace (no
 * quoting), output is one stream (stdout and stderr merged), and ACI reports no exit code.
 *
 * The exit-code story, by mode:
 * - `shell` (default, non-tty): ACI starts `/bin/sh`; the provider writes the command on its stdin
 *   with every argument single-quoted (so boundaries survive exactly), followed by
 *   `printf '\n<marker>%d\n' $?; exit`. The marker (random per session) is cut from the output and
 *   its number is the exit code. Needs a shell in the image.
 * - `direct` (and every tty session): the argv is joined with spaces (an argument containing
 *   whitespace is rejected, because ACI would split it); the exit code is 0 when the session closes
 *   normally and 1 when it fails — ACI says nothing more.
 * Stdin: ACI's socket has no half-close, so a command that reads stdin to its end never sees EOF.
 */
import { randomBytes } from "node:crypto";
import type { ContainerInstanceManagementClient } from "@azure/arm-containerinstance";
import { InvalidInputError, RetryableError } from "@virtual-node/core";
import type { ExecResult, ExecStreams } from "@virtual-node/core";
import type { CloudCaller } from "@virtual-node/core/provider-kit";
import type { WebSocketLike } from "./options.js";

/** Inputs of {@link bridgeExec}. */
export interface ExecBridgeRequest {
  client: ContainerInstanceManagementClient;
  call: CloudCaller;
  rg: string;
  name: string;
  container: string;
  command: readonly string[];
  streams: ExecStreams;
  signal: AbortSignal;
  mode: "shell" | "direct";
  webSocket?: (url: string) => WebSocketLike;
}

/** POSIX single-quoting: the word comes out of `sh` exactly as given. */
export function shellQuote(arg: string): string {
  return `'${arg.replaceAll("'", `'\\''`)}'`;
}

/** The line written to `/bin/sh` in shell mode. */
export function shellLine(command: readonly string[], marker: string): string {
  return `${command.map(shellQuote).join(" ")}; printf '\\n${marker}%d\\n' $?; exit\n`;
}

/** The command string of direct mode; rejects what ACI would split differently. */
export function directCommand(command: readonly string[]): string {
  const bad = command.findIndex((a) => a === "" || /\s/.test(a));
  if (bad >= 0)
    throw new InvalidInputError(
      `ACI splits exec commands at whitespace; argument ${String(bad)} (${JSON.stringify(command[bad])}) cannot be passed as one`,
      {
        field: `command[${String(bad)}]`,
      },
    );
  return command.join(" ");
}

/**
 * Finds the exit marker in the output stream; what is before it is the command's output. Holds
 * back a marker-sized tail until more output shows it is not the marker.
 */
export class MarkerScanner {
  #pending = "";
  #exitCode: number | undefined;
  readonly #pattern: RegExp;
  constructor(readonly marker: string) {
    this.#pattern = new RegExp(`\\n${marker}(\\d+)\\n`);
  }
  /** The exit code, once the marker was seen. */
  get exitCode(): number | undefined {
    return this.#exitCode;
  }
  /** Feeds output; returns what can be passed on to the client. */
  push(text: string): string {
    if (this.#exitCode !== undefined) return "";
    this.#pending += text;
    const m = this.#pattern.exec(this.#pending);
    if (m !== null) {
      this.#exitCode = Number(m[1]);
      const out = this.#pending.slice(0, m.index);
      this.#pending = "";
      return out;
    }
    const keep = this.marker.length + 16;
    if (this.#pending.length <= keep) return "";
    const out = this.#pending.slice(0, this.#pending.length - keep);
    this.#pending = this.#pending.slice(this.#pending.length - keep);
    return out;
  }
  /** The rest, at the end of the session. */
  flush(): string {
    const out = this.#pending;
    this.#pending = "";
    return out;
  }
}

function defaultWebSocket(url: string): WebSocketLike {
  const Ctor = (globalThis as { WebSocket?: new (url: string) => WebSocketLike }).WebSocket;
  if (Ctor === undefined)
    throw new RetryableError("this Node.js has no global WebSocket; pass the webSocket option");
  return new Ctor(url);
}

/** Runs one exec session and resolves with the exit code (see the module comment for its meaning). */
export async function bridgeExec(r: ExecBridgeRequest): Promise<ExecResult> {
  const shell = r.mode === "shell" && !r.streams.tty;
  const commandString = shell ? "/bin/sh" : directCommand(r.command);
  let rows = 24;
  let cols = 80;
  const resize = r.streams.resize?.[Symbol.asyncIterator]();
  if (r.streams.tty && resize !== undefined) {
    const first = await resize.next();
    if (first.done !== true) {
      rows = first.value.height;
      cols = first.value.width;
    }
  }
  const session = await r.call(
    "Containers.ExecuteCommand",
    (s) =>
      r.client.containers.executeCommand(
        r.rg,
        r.name,
        r.container,
        { command: commandString, terminalSize: { rows, cols } },
        { abortSignal: s },
      ),
    { signal: r.signal },
  );
  if (session.webSocketUri === undefined || session.password === undefined)
    throw new RetryableError("ACI returned no exec session");
  const ws = (r.webSocket ?? defaultWebSocket)(session.webSocketUri);
  ws.binaryType = "arraybuffer";
  const marker = `__VN_EXIT_${randomBytes(6).toString("hex")}_`;
  const scanner = shell ? new MarkerScanner(marker) : undefined;
  const decoder = new TextDecoder();
  const out = r.streams.stdout;

  return new Promise<ExecResult>((resolve, reject) => {
    let opened = false;
    let settled = false;
    const finish = (result: ExecResult | Error): void => {
      if (settled) return;
      settled = true;
      r.signal.removeEventListener("abort", onAbort);
      r.streams.stdin?.off("data", onStdin);
      if (result instanceof Error) reject(result);
      else resolve(result);
    };
    const onAbort = (): void => {
      ws.close(1000, "client went away");
      finish({ exitCode: 130 });
    };
    const onStdin = (chunk: Buffer | string): void => {
      if (ws.readyState === 1) ws.send(typeof chunk === "string" ? chunk : new Uint8Array(chunk));
    };
    r.signal.addEventListener("abort", onAbort, { once: true });
    ws.addEventListener("open", () => {
      opened = true;
      ws.send(session.password ?? "");
      if (shell) ws.send(shellLine(r.command, marker));
      r.streams.stdin?.on("data", onStdin);
    });
    ws.addEventListener("message", (event) => {
      const data = event.data;
      const text =
        typeof data === "string"
          ? data
          : decoder.decode(data instanceof ArrayBuffer ? new Uint8Array(data) : (data as Uint8Array));
      const pass = scanner === undefined ? text : scanner.push(text);
      if (pass !== "") out?.write(pass);
      if (scanner?.exitCode !== undefined) ws.close(1000);
    });
    ws.addEventListener("error", () => {
      if (!opened) finish(new RetryableError(`exec session to ${r.name}/${r.container} failed to open`));
    });
    ws.addEventListener("close", (event) => {
      if (scanner !== undefined) {
        if (scanner.exitCode === undefined) {
          const rest = scanner.flush();
          if (rest !== "") out?.write(rest);
          finish({ exitCode: 1 }); // the shell went away without reporting: treat as a failure
          return;
        }
        finish({ exitCode: scanner.exitCode });
        return;
      }
      finish({ exitCode: event.code === 1000 || event.code === 1005 || event.code === undefined ? 0 : 1 });
    });
  });
}

/** Inputs of {@link bridgeAttach}. */
export type AttachBridgeRequest = Omit<ExecBridgeRequest, "command" | "mode">;

/**
 * `kubectl attach` through ACI's attach API: a WebSocket (password first) that streams the main
 * process's output. ACI's attach is output-only and reports no exit code: the result is 0 when the
 * stream closes normally, 1 otherwise.
 */
export async function bridgeAttach(r: AttachBridgeRequest): Promise<ExecResult> {
  const session = await r.call(
    "Containers.Attach",
    (s) => r.client.containers.attach(r.rg, r.name, r.container, { abortSignal: s }),
    { signal: r.signal },
  );
  if (session.webSocketUri === undefined || session.password === undefined)
    throw new RetryableError("ACI returned no attach session");
  const ws = (r.webSocket ?? defaultWebSocket)(session.webSocketUri);
  ws.binaryType = "arraybuffer";
  const decoder = new TextDecoder();
  return new Promise<ExecResult>((resolve, reject) => {
    let opened = false;
    const onAbort = (): void => {
      ws.close(1000, "client went away");
      resolve({ exitCode: 0 });
    };
    r.signal.addEventListener("abort", onAbort, { once: true });
    ws.addEventListener("open", () => {
      opened = true;
      ws.send(session.password ?? "");
    });
    ws.addEventListener("message", (event) => {
      const data = event.data;
      r.streams.stdout?.write(
        typeof data === "string"
          ? data
          : decoder.decode(data instanceof ArrayBuffer ? new Uint8Array(data) : (data as Uint8Array)),
      );
    });
    ws.addEventListener("error", () => {
      if (!opened) reject(new RetryableError(`attach session to ${r.name}/${r.container} failed to open`));
    });
    ws.addEventListener("close", (event) => {
      r.signal.removeEventListener("abort", onAbort);
      resolve({ exitCode: event.code === 1000 || event.code === 1005 || event.code === undefined ? 0 : 1 });
    });
  });
}
