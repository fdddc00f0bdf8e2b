/**
 * Kubernetes object types used across the SDK. `kube/` is the only place that imports
 * `@kubernetes/client-node`; everything else (and every provider) takes these aliases.
 */
export type {
  V1Pod as Pod,
  V1PodSpec as PodSpec,
  V1PodStatus as PodStatus,
  V1PodCondition as PodCondition,
  V1Container as Container,
  V1ContainerStatus as KubeContainerStatus,
  V1ContainerState as KubeContainerState,
  V1Node as Node,
  V1NodeStatus as NodeStatus,
  V1NodeCondition as NodeCondition,
  V1Taint as Taint,
  V1NodeAddress as NodeAddress,
  V1NodeSystemInfo as NodeSystemInfo,
  V1Lease as Lease,
  V1ObjectMeta as ObjectMeta,
  V1Volume as Volume,
  V1EnvVar as EnvVar,
  V1ConfigMap as ConfigMap,
  V1Secret as Secret,
  CoreV1Event as KubeEvent,
  V1Service as Service,
  V1PersistentVolumeClaim as PersistentVolumeClaim,
  V1PersistentVolume as PersistentVolume,
} from "@kubernetes/client-node";
