import { accessSync, constants, statSync } from "node:fs";
import { delimiter, isAbsolute, join } from "node:path";

/** True when `path` is an existing regular file this process may execute. */
export function isExecutableFile(path: string): boolean {
  try {
    if (!statSync(path).isFile()) {
      return false;
    }
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Looks `name` up on `PATH` (of `env`), like `command -v`. Absolute paths are checked as they are. */
export function findExecutable(name: string, env: NodeJS.ProcessEnv = process.env): string | null {
  if (isAbsolute(name)) {
    return isExecutableFile(name) ? name : null;
  }
  for (const dir of (env.PATH ?? "").split(delimiter)) {
    if (dir === "") {
      continue;
    }
    const candidate = join(dir, name);
    if (isExecutableFile(candidate)) {
      return candidate;
    }
  }
  return null;
}
