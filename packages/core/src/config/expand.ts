/**
 * `$(VAR)` expansion with the kubelet's rules (Kubernetes' forked `expansion.Expand`), used for
 * `env[].value`, `command` and `args`:
 *
 * - `$(NAME)` is replaced by the value of `NAME` when it is defined, and left as written otherwise;
 * - `$$` is an escaped `$`: it becomes a single `$` and the character after it is not special,
 *   so `$$(NAME)` yields the literal `$(NAME)`;
 * - `$(` without a closing `)` is left as written;
 * - a `$` followed by anything else (or at the end of the input) is left as written;
 * - expansion is single-pass: substituted values are never scanned again, and a name runs up to
 *   the first `)` (so `$(A$(B))` looks up the name `A$(B` and leaves the final `)` in place).
 */

/** Looks a variable up; `undefined` means "not defined" (the reference is kept). */
export type VarLookup = (name: string) => string | undefined;

/** A defined variable and whether its value came from a Secret. */
export interface TrackedVar {
  value: string;
  secret: boolean;
}

/** Looks a variable up with provenance; `undefined` means "not defined". */
export type TrackedVarLookup = (name: string) => TrackedVar | undefined;

export interface ExpandResult {
  value: string;
  /** True when at least one substituted value came from a Secret. */
  usedSecret: boolean;
}

const DOLLAR = 0x24; // $
const OPEN = 0x28; // (

/** Expands `$(VAR)` references in `input` with the kubelet's rules. */
export function expandVars(input: string, lookup: VarLookup): string {
  return expandVarsTracked(input, (name) => {
    const value = lookup(name);
    return value === undefined ? undefined : { value, secret: false };
  }).value;
}

/**
 * Like {@link expandVars}, and also reports whether any substituted value was secret, so that a
 * plain `value: "postgres://u:$(DB_PASSWORD)@db"` is itself treated as a secret.
 */
export function expandVarsTracked(input: string, lookup: TrackedVarLookup): ExpandResult {
  // Fast path: nothing to expand.
  if (!input.includes("$")) return { value: input, usedSecret: false };

  let out = "";
  let usedSecret = false;
  let checkpoint = 0;
  for (let cursor = 0; cursor < input.length; cursor++) {
    // A `$` as the very last character is copied with the rest of the input.
    if (input.charCodeAt(cursor) !== DOLLAR || cursor + 1 >= input.length) continue;
    out += input.slice(checkpoint, cursor);
    const next = input.charCodeAt(cursor + 1);
    if (next === DOLLAR) {
      // `$$` → `$`; the second `$` is consumed and cannot start a reference.
      out += "$";
      cursor += 1;
    } else if (next === OPEN) {
      const close = input.indexOf(")", cursor + 2);
      if (close === -1) {
        // Unterminated: keep `$(` and continue scanning after the `(`.
        out += "$(";
        cursor += 1;
      } else {
        const name = input.slice(cursor + 2, close);
        const found = lookup(name);
        if (found === undefined) {
          out += `$(${name})`;
        } else {
          out += found.value;
          usedSecret ||= found.secret;
        }
        cursor = close;
      }
    } else {
      // `$x`: not an expression. Keep the `$`; `x` (never a `$` here) is copied as ordinary text,
      // whole, so a character outside the BMP stays intact.
      out += "$";
    }
    checkpoint = cursor + 1;
  }
  return { value: out + input.slice(checkpoint), usedSecret };
}
