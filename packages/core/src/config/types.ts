/**
 * Kubernetes object types used by pod configuration resolution, derived from the aliases in
 * `kube/types.ts`.
 */
import type { Container, EnvVar, Service, Volume } from "../kube/types.js";

/** A Service, as the service-link environment variables need it. */
export type { Service };

type EnvVarSource = NonNullable<EnvVar["valueFrom"]>;

/** `fieldRef` of an env var or a downward API file. */
export type ObjectFieldSelector = NonNullable<EnvVarSource["fieldRef"]>;

/** `resourceFieldRef` of an env var or a downward API file. */
export type ResourceFieldSelector = NonNullable<EnvVarSource["resourceFieldRef"]>;

/** One entry of `container.envFrom`. */
export type EnvFromSource = NonNullable<Container["envFrom"]>[number];

/** `items[]` of a ConfigMap or Secret volume (or projection). */
export type KeyToPath = NonNullable<NonNullable<Volume["configMap"]>["items"]>[number];

/** `items[]` of a downward API volume (or projection). */
export type DownwardAPIVolumeFile = NonNullable<NonNullable<Volume["downwardAPI"]>["items"]>[number];

/** One source of a projected volume. */
export type VolumeProjection = NonNullable<NonNullable<Volume["projected"]>["sources"]>[number];

/** A label selector (used by `clusterTrustBundle` projections). */
export type LabelSelector = NonNullable<NonNullable<VolumeProjection["clusterTrustBundle"]>["labelSelector"]>;

/** Resource quantities by name, e.g. `{ cpu: "2", memory: "4Gi" }`. */
export type ResourceList = Record<string, string>;
