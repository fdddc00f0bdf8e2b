// A virtual node in front of an HPC site's interLink API (reached through an SSH tunnel to the
// login node on localhost:3000, bearer token rotated into a file by an OIDC refresher).
import { createVirtualNode } from "@virtual-node/core";
import { createInterLinkProvider } from "@virtual-node/provider-interlink";

const nodeName = "vn-hpc-slurm";
const provider = createInterLinkProvider({
  url: process.env.INTERLINK_URL ?? "http://127.0.0.1:3000",
  nodeName,
  tokenFile: "/var/run/interlink/token",
  timeouts: { createMs: 120_000 },
  node: { capacity: { cpu: "256", memory: "1Ti", pods: "500" } },
});

const node = createVirtualNode({
  nodeName,
  provider,
  internalIP: process.env.POD_IP ?? "127.0.0.1",
  kubeletApi: { port: 10250 },
});

process.on("SIGTERM", () => {
  void node.stop().then(() => provider.close());
});
await node.run();
