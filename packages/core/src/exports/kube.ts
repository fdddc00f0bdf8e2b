/** `@virtual-node/core/kube`: the Kubernetes client core uses (REST, watch, rate limits) and the API types. */
export { KubeApiError, KubeClient, type KubeClientOptions } from "../kube/client.js";
export { loadKubeConfig, type KubeConfigSource, type LoadKubeConfigOptions } from "../kube/kubeconfig.js";
export { Reflector, type ReflectorHandlers, type ReflectorOptions } from "../kube/reflector.js";
export { toMicroTime } from "../kube/api.js";
export { REPORT_TERMINATION_ANNOTATION } from "../kube/pod-api.js";
export type {
  ConfigMap,
  Container,
  Lease,
  Node,
  NodeCondition,
  ObjectMeta,
  PersistentVolume,
  PersistentVolumeClaim,
  Pod,
  PodCondition,
  PodSpec,
  PodStatus,
  Secret,
  Service,
  Taint,
} from "../kube/types.js";
