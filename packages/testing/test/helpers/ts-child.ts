/**
 * Node arguments that run a TypeScript file of this package directly (Node's type stripping), with a resolve
 * hook mapping the `./x.js` specifiers of the sources to `./x.ts`.
 */
const RESOLVE_HOOK = [
  'import { registerHooks } from "node:module";',
  "registerHooks({",
  "  resolve(specifier, context, next) {",
  "    try { return next(specifier, context); }",
  "    catch (error) {",
  '      if (specifier.startsWith(".") && specifier.endsWith(".js")) {',
  '        return next(specifier.slice(0, -3) + ".ts", context);',
  "      }",
  "      throw error;",
  "    }",
  "  },",
  "});",
].join("\n");

export function tsChildArgs(script: string, args: readonly string[] = []): string[] {
  return [
    "--disable-warning=ExperimentalWarning",
    "--import",
    `data:text/javascript,${encodeURIComponent(RESOLVE_HOOK)}`,
    script,
    ...args,
  ];
}
