import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";

import { STAMP_FILE, cachePaths, sha256File, type CacheSpec, type CacheStamp } from "../../src/binaries.js";
import { writeScript } from "./temp.js";

/** The line a fake binary prints for its version command. */
export function versionLine(name: string, version: string): string {
  if (name === "etcd") return `etcd Version: ${version.replace(/^v/, "")}`;
  if (name === "kubectl") return `Client Version: ${version}`;
  return `Kubernetes ${version}`;
}

/** A fake binary that prints `line` (its "version") whatever it is asked. */
export async function writeFakeBinary(path: string, line: string): Promise<string> {
  return writeScript(path, `echo "${line}"`);
}

/** Fills `dir` with fake control-plane binaries reporting the given versions. */
export async function writeFakeAssets(
  dir: string,
  names: readonly string[],
  versions: { kubernetes: string; etcd: string },
): Promise<void> {
  await mkdir(dir, { recursive: true });
  for (const name of names) {
    await writeFakeBinary(
      join(dir, name),
      versionLine(name, name === "etcd" ? versions.etcd : versions.kubernetes),
    );
  }
}

/** Creates a cache directory for `spec` the way a finished build leaves it (fake binaries + stamp). */
export async function writeFakeCache(
  cacheRoot: string,
  spec: CacheSpec,
  overrides: { stampVersion?: string; binaryVersion?: string } = {},
): Promise<ReturnType<typeof cachePaths>> {
  const paths = cachePaths(cacheRoot, spec);
  await mkdir(paths.binDir, { recursive: true });
  const binaries: Record<string, { sha256: string; size: number }> = {};
  for (const name of spec.binaries) {
    const path = paths.binary(name);
    await writeFakeBinary(path, versionLine(name, overrides.binaryVersion ?? spec.version));
    binaries[name] = { sha256: await sha256File(path), size: 0 };
  }
  const stamp: CacheStamp = {
    schema: 1,
    kind: spec.kind,
    version: overrides.stampVersion ?? spec.version,
    goVersion: "go1.26.8",
    builtAt: new Date().toISOString(),
    binaries,
    build: { totalSeconds: 1, peakRssKiB: null, steps: {} },
  };
  await writeFile(join(paths.dir, STAMP_FILE), JSON.stringify(stamp));
  return paths;
}

/**
 * A fake `go` for build-pipeline tests. It logs every invocation to $FAKE_GO_LOG, answers `go env GOVERSION`
 * with $FAKE_GO_VERSION (default go1.26.8), `go mod download -json` with $FAKE_K8S_GOMOD as the GoMod path,
 * and `go build -o OUT PKG` by writing a fake binary to OUT that prints the pinned version. When the package
 * ends with $FAKE_GO_FAIL, the build prints 100 numbered lines and exits 2.
 */
export async function writeFakeGo(dir: string): Promise<string> {
  await mkdir(dir, { recursive: true });
  return writeScript(
    join(dir, "go"),
    `
echo "$*" >> "$FAKE_GO_LOG"
case "$1" in
  env) echo "\${FAKE_GO_VERSION:-go1.26.8}" ;;
  mod)
    case "$2" in
      download) echo "go: downloading k8s.io/kubernetes v1.37.2" >&2
                printf '{\\n\\t"Path": "k8s.io/kubernetes",\\n\\t"Version": "v1.37.2",\\n\\t"GoMod": "%s"\\n}\\n' "$FAKE_K8S_GOMOD" ;;
      tidy) echo "go: finding module" >&2 ;;
    esac ;;
  build)
    out=""; prev=""; pkg=""
    for a in "$@"; do
      if [ "$prev" = "-o" ]; then out="$a"; fi
      prev="$a"; pkg="$a"
    done
    if [ -n "$FAKE_GO_FAIL" ] && [ "\${pkg%$FAKE_GO_FAIL}" != "$pkg" ]; then
      i=1; while [ $i -le 100 ]; do echo "compile error line $i" >&2; i=$((i+1)); done
      exit 2
    fi
    case "$pkg" in
      go.etcd.io/*) ver="etcd Version: 3.6.16" ;;
      *kubectl) ver="Client Version: v1.37.2" ;;
      *) ver="Kubernetes v1.37.2" ;;
    esac
    printf '#!/bin/sh\\necho "%s"\\n' "$ver" > "$out"
    chmod +x "$out" ;;
esac
exit 0`,
  );
}

/** A minimal k8s.io/kubernetes-like go.mod with staging modules at v0.0.0. */
export const SAMPLE_KUBERNETES_GO_MOD = `module k8s.io/kubernetes

go 1.26.0

require (
\tgithub.com/JeffAshton/win_pdh v0.0.0-20161109143554-76bb4ee9f0ab
\tk8s.io/api v0.0.0
\tk8s.io/client-go v0.0.0
\tk8s.io/kubectl v0.0.0 // a comment
\tk8s.io/kube-openapi v0.0.0-20260721132016-d427ff9ee9ad
\tk8s.io/utils v0.0.0-20260626114624-be93311217bd
)

require (
\tgithub.com/beorn7/perks v1.0.1 // indirect
\tk8s.io/cri-client v0.0.0 // indirect
)

require k8s.io/streaming v0.0.0

replace (
\tk8s.io/api => ./staging/src/k8s.io/api
\tk8s.io/client-go => ./staging/src/k8s.io/client-go
)
`;
