/** The benchmark's pod: bare (no controller), bound with spec.nodeName, one container, no token volume. */
import type { Pod } from "@virtual-node/core";

export function podName(prefix: string, index: number): string {
  return `${prefix}-${String(index).padStart(5, "0")}`;
}

export function benchPod(name: string, nodeName: string): Pod {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, labels: { app: "virtual-node-bench" } },
    spec: {
      nodeName,
      // No projected ServiceAccount token: none of the systems would mint one alike.
      automountServiceAccountToken: false,
      tolerations: [{ operator: "Exists" }],
      containers: [
        {
          name: "app",
          image: "registry.k8s.io/pause:3.10",
          resources: { requests: { cpu: "1m", memory: "1Mi" } },
        },
      ],
    },
  };
}
