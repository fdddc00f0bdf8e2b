/**
 * What a simulated container "does": a tiny reading of its `sh -c` script, so tests describe
 * behaviour the way they would for a real image (`echo hi; sleep 2; exit 3`).
 */

/** One step of a container's run. */
export type Step =
  { kind: "log"; text: string } | { kind: "sleep"; ms: number } | { kind: "exit"; code: number };

/** The steps, and whether the program runs forever once they are done (no `exit`, a daemon). */
export interface Program {
  steps: Step[];
  /** True when the script ends without exiting (`sleep 86400`, no command at all). */
  forever: boolean;
}

/** Reads a container's command and args. Unknown commands are treated as instantaneous. */
export function parseProgram(
  command: readonly string[] | undefined,
  args: readonly string[] | undefined,
): Program {
  const argv = [...(command ?? []), ...(args ?? [])];
  if (argv.length === 0) return { steps: [], forever: true };
  const script =
    (argv[0] === "sh" || argv[0] === "/bin/sh" || argv[0] === "bash") && argv[1] === "-c"
      ? (argv[2] ?? "")
      : argv.map((a) => (a.includes(" ") ? `'${a}'` : a)).join(" ");
  const steps: Step[] = [];
  for (const raw of script.split(/;|&&|\n/)) {
    const part = raw.trim();
    if (part === "") continue;
    const [word, ...rest] = part.split(/\s+/);
    const restText = part.slice((word ?? "").length).trim();
    if (word === "echo") steps.push({ kind: "log", text: unquote(restText) });
    else if (word === "sleep") {
      const seconds = Number(rest[0]);
      if (seconds >= 3600) return { steps, forever: true };
      steps.push({ kind: "sleep", ms: Number.isFinite(seconds) ? seconds * 1000 : 0 });
    } else if (word === "exit") {
      steps.push({ kind: "exit", code: Number(rest[0] ?? 0) });
      return { steps, forever: false };
    } else if (word === "false") {
      steps.push({ kind: "exit", code: 1 });
      return { steps, forever: false };
    }
  }
  return { steps, forever: false };
}

function unquote(text: string): string {
  const t = text.trim();
  if ((t.startsWith('"') && t.endsWith('"')) || (t.startsWith("'") && t.endsWith("'"))) return t.slice(1, -1);
  return t;
}
