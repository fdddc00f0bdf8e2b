/**
 * What a simulated container "does": a tiny interpreter for the commands tests give containers
 * (`sh -c "echo hi; sleep 2; exit 3"`, `while true; do echo tick; sleep 1; done`, `sleep 3600`).
 * Evaluated lazily: given the run's start and the current time, it returns the lines printed so
 * far and, when the program ended, its exit code and end time.
 */

/** One statement of a simulated program. */
export type Op =
  | { op: "echo"; text: string }
  | { op: "sleep"; seconds: number }
  | { op: "exit"; code: number }
  | { op: "loop"; body: Op[] }
  | { op: "forever" };

/** Lines printed and, if it ended, how. */
export interface ProgramRun {
  lines: { at: number; text: string }[];
  exit?: { code: number; at: number };
}

/** Splits a shell script at top-level `;`, `&&` and newlines, keeping `while …; do …; done` whole. */
function statements(script: string): string[] {
  const parts = script
    .split(/;|&&|\n/)
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  return parts;
}

function unquote(text: string): string {
  const t = text.trim();
  if ((t.startsWith('"') && t.endsWith('"')) || (t.startsWith("'") && t.endsWith("'"))) return t.slice(1, -1);
  return t;
}

function parseStatements(parts: string[]): Op[] {
  const ops: Op[] = [];
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i] ?? "";
    if (/^while\s+true$/.test(part)) {
      const body: string[] = [];
      let j = i + 1;
      for (; j < parts.length && parts[j] !== "done"; j++) {
        const p = parts[j] ?? "";
        body.push(p.startsWith("do ") ? p.slice(3) : p);
      }
      ops.push({ op: "loop", body: parseStatements(body.filter((b) => b !== "do")) });
      i = j;
      continue;
    }
    const [word, ...rest] = part.split(/\s+/);
    const arg = rest.join(" ");
    if (word === "echo") ops.push({ op: "echo", text: unquote(arg) });
    else if (word === "sleep") ops.push({ op: "sleep", seconds: Number(arg) || 0 });
    else if (word === "exit") ops.push({ op: "exit", code: Number(arg) || 0 });
    else if (word === "true" || word === ":") continue;
    else if (word === "false") ops.push({ op: "exit", code: 1 });
    // Other commands are accepted and take no time: the simulator does not run real programs.
  }
  return ops;
}

/** The program of a container from its ACI `command` (undefined: the image's default, runs forever). */
export function parseProgram(command: readonly string[] | undefined): Op[] {
  if (command === undefined || command.length === 0) return [{ op: "forever" }];
  const [first, second, ...rest] = command;
  if (
    (first === "sh" || first === "/bin/sh" || first === "bash" || first === "/bin/bash") &&
    second === "-c"
  ) {
    return parseStatements(statements(rest.join(" ")));
  }
  if (first === "sleep") return [{ op: "sleep", seconds: Number(second) || 0 }];
  if (first === "echo") return [{ op: "echo", text: [second, ...rest].join(" ") }];
  return [{ op: "forever" }];
}

/** Runs `ops` from `startMs` up to `nowMs`. A program that falls off its end exits 0. */
export function runProgram(ops: readonly Op[], startMs: number, nowMs: number): ProgramRun {
  const lines: ProgramRun["lines"] = [];
  let t = startMs;
  let steps = 0;
  const exec = (list: readonly Op[]): { code: number } | "running" | undefined => {
    for (const op of list) {
      if (t > nowMs || ++steps > 100_000) return "running";
      switch (op.op) {
        case "echo":
          lines.push({ at: t, text: op.text });
          break;
        case "sleep":
          t += op.seconds * 1000;
          if (t > nowMs) return "running";
          break;
        case "exit":
          return { code: op.code };
        case "forever":
          return "running";
        case "loop":
          for (;;) {
            const before = t;
            const result = exec(op.body);
            if (result !== undefined) return result;
            if (t === before) t += 1000; // a loop without sleep would spin; pace it
          }
      }
    }
    return undefined;
  };
  const result = exec(ops);
  if (result === "running") return { lines };
  return { lines, exit: { code: result?.code ?? 0, at: t } };
}
