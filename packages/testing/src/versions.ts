/**
 * The single place that pins the versions of everything the control plane is built from.
 * Everything else (cache directory names, go.mod contents, ldflags, version checks) is derived from here.
 */

/** Kubernetes release whose kube-apiserver, kube-controller-manager, kube-scheduler and kubectl are built. */
export const KUBERNETES_VERSION = "v1.37.2";

/** Go module path of the etcd server. */
export const ETCD_MODULE = "go.etcd.io/etcd/server/v3";

/** etcd release built for the control plane. */
export const ETCD_VERSION = "v3.6.16";

/** Oldest Go toolchain able to build the pinned releases. */
export const MINIMUM_GO_VERSION = "1.26";

/** `go` directive written into the generated wrapper modules. */
export const GO_DIRECTIVE = "1.26.0";

/** Module path of the generated Kubernetes wrapper module. */
export const KUBERNETES_WRAPPER_MODULE = "virtualnode.local/k8s-build";

/** Module path of the generated etcd wrapper module. */
export const ETCD_WRAPPER_MODULE = "virtualnode.local/etcd-build";

export interface ParsedKubernetesVersion {
  readonly major: number;
  readonly minor: number;
  readonly patch: number;
}

/** Parses `vMAJOR.MINOR.PATCH`. */
export function parseKubernetesVersion(version: string): ParsedKubernetesVersion {
  const match = /^v(\d+)\.(\d+)\.(\d+)$/.exec(version);
  if (match?.[1] === undefined || match[2] === undefined || match[3] === undefined) {
    throw new Error(`not a Kubernetes release version: ${version}`);
  }
  return { major: Number(match[1]), minor: Number(match[2]), patch: Number(match[3]) };
}

/**
 * Version of the k8s.io staging modules (k8s.io/api, k8s.io/client-go, ...) published together with a
 * Kubernetes release: v1.MINOR.PATCH ↔ v0.MINOR.PATCH.
 */
export function stagingVersionFor(kubernetesVersion: string): string {
  const { minor, patch } = parseKubernetesVersion(kubernetesVersion);
  return `v0.${minor}.${patch}`;
}

/** Staging module version matching {@link KUBERNETES_VERSION}. */
export const STAGING_VERSION = stagingVersionFor(KUBERNETES_VERSION);

/** The Kubernetes binaries built from k8s.io/kubernetes/cmd/<name>. */
export const KUBERNETES_BINARY_NAMES = [
  "kube-apiserver",
  "kube-controller-manager",
  "kube-scheduler",
  "kubectl",
] as const;

export type KubernetesBinaryName = (typeof KUBERNETES_BINARY_NAMES)[number];

/** Every binary the harness knows about. */
export type BinaryName = KubernetesBinaryName | "etcd";

/**
 * `-ldflags` for the Kubernetes binaries. Identical flags keep Go's build cache shared between builds,
 * so do not reorder or reformat them.
 */
export function kubernetesLdflags(kubernetesVersion: string = KUBERNETES_VERSION): string {
  const { major, minor } = parseKubernetesVersion(kubernetesVersion);
  return [
    "-s -w",
    `-X k8s.io/component-base/version.gitVersion=${kubernetesVersion}`,
    `-X k8s.io/component-base/version.gitMajor=${major}`,
    `-X k8s.io/component-base/version.gitMinor=${minor}`,
    "-X k8s.io/component-base/version.gitTreeState=clean",
    `-X k8s.io/client-go/pkg/version.gitVersion=${kubernetesVersion}`,
    `-X k8s.io/client-go/pkg/version.gitMajor=${major}`,
    `-X k8s.io/client-go/pkg/version.gitMinor=${minor}`,
  ].join(" ");
}

/** `-ldflags` for etcd. */
export const ETCD_LDFLAGS = "-s -w";

/** Name of the cache sub-directory holding the Kubernetes binaries. */
export function kubernetesCacheDirName(kubernetesVersion: string = KUBERNETES_VERSION): string {
  return `k8s-${kubernetesVersion}`;
}

/** Name of the cache sub-directory holding etcd. */
export function etcdCacheDirName(etcdVersion: string = ETCD_VERSION): string {
  return `etcd-${etcdVersion}`;
}
