// A virtual node whose pods run on Google Cloud Run (credentials: Application Default Credentials).
import { createVirtualNode } from "@virtual-node/core";
import { createCloudRunProvider } from "@virtual-node/provider-cloudrun";

const provider = createCloudRunProvider({
  project: "my-project",
  region: "europe-west1",
  serviceAccount: "workloads@my-project.iam.gserviceaccount.com",
  vpc: { network: "default", subnetwork: "default", egress: "PRIVATE_RANGES_ONLY" },
  labels: { team: "platform" },
  secrets: "mirror", // Kubernetes Secrets become Secret Manager secrets, deleted with the pod
  onFailureMaxRetries: 3,
});

const node = createVirtualNode({
  nodeName: "vn-cloudrun",
  provider,
  internalIP: process.env.POD_IP ?? "127.0.0.1",
  kubeletApi: { port: 10250 },
});

process.on("SIGTERM", () => void node.stop());
await node.run();
