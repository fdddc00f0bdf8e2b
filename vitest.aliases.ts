/**
 * Tests import the workspace packages by name and run their TypeScript sources directly (no build
 * step between an edit and a test run). One table for every vitest project.
 */
import { fileURLToPath } from "node:url";
import type { AliasOptions } from "vite";

const root = (path: string): string => fileURLToPath(new URL(path, import.meta.url));

/** `@virtual-node/<package>[/<subpath>]` → that package's source entry. */
export const workspaceAliases: AliasOptions = [
  { find: /^@virtual-node\/core\/(.+)$/, replacement: root("./packages/core/src/exports/$1.ts") },
  {
    find: /^@virtual-node\/testing\/conformance$/,
    replacement: root("./packages/testing/src/conformance.ts"),
  },
  { find: /^@virtual-node\/([a-z-]+)$/, replacement: root("./packages/$1/src/index.ts") },
];
