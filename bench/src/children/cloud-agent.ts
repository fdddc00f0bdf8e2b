/**
 * The virtual-node agent on a cloud provider, for the cloud-calls scenario: core with one provider package
 * (its real SDK client) pointed at that provider's simulator on loopback. Core's default intervals and the
 * provider's default status intervals: the calls counted are what a user of the defaults gets. Only the
 * client-side request rates are raised for ACI and Cloud Run, whose create quotas (0.3/s and 1/s) would
 * make 1,000 creates take about an hour; a rate limit bounds how fast calls go out, not how many the
 * status path asks for.
 *
 * Usage: node cloud-agent.js '<CloudAgentJob JSON>'   (prints READY once the node is registered)
 */
import { OAuth2Client } from "google-auth-library";

import { createConsoleLogger, createVirtualNode, loadKubeConfig, type Provider } from "@virtual-node/core";
import { ACI_RATE_LIMITS, createAciProvider } from "@virtual-node/provider-aci";
import { CLOUD_RUN_RATE_LIMITS, createCloudRunProvider } from "@virtual-node/provider-cloudrun";
import { createFargateProvider } from "@virtual-node/provider-fargate";
import { createInterLinkProvider } from "@virtual-node/provider-interlink";

import type { CloudProviderId } from "../cloud-calls.js";

export interface CloudAgentJob {
  readonly kubeconfig: string;
  readonly nodeName: string;
  readonly provider: CloudProviderId;
  /** The simulator: base URL (`http://127.0.0.1:<port>` for Cloud Run). */
  readonly endpoint: string;
  /** PEM of the CA the simulator's TLS certificate chains to (ACI's ARM simulator serves HTTPS). */
  readonly caPem?: string;
}

/** Far above what the scenario sends: the limiter never decides how long setup takes. */
const UNLIMITED = { ratePerSecond: 10_000, burst: 10_000 };
const unlimited = (table: Readonly<Record<string, unknown>>) =>
  Object.fromEntries(Object.keys(table).map((api) => [api, UNLIMITED]));
const CAPACITY = { cpu: "100000", memory: "400Ti", pods: "110000" };

interface Closable {
  readonly provider: Provider;
  readonly close: () => Promise<void> | void;
}

function providerFor(job: CloudAgentJob): Closable {
  switch (job.provider) {
    case "aci": {
      const provider = createAciProvider({
        subscriptionId: "00000000-0000-0000-0000-000000000000",
        resourceGroup: "vn-rg",
        region: "westeurope",
        // The simulator checks that a bearer token is present; no identity endpoint is asked.
        credential: {
          getToken: () =>
            Promise.resolve({ token: "bench-token", expiresOnTimestamp: Date.now() + 3_600_000 }),
        },
        clientOptions: {
          endpoint: job.endpoint,
          ...(job.caPem === undefined ? {} : { tlsOptions: { ca: job.caPem } }),
        },
        limits: { ...unlimited(ACI_RATE_LIMITS), default: UNLIMITED, "Location.ListUsage": UNLIMITED },
        capacity: CAPACITY,
      });
      return {
        provider,
        close: () => {
          provider.close();
        },
      };
    }
    case "fargate": {
      const provider = createFargateProvider({
        cluster: "vn-bench",
        region: "us-east-1",
        subnets: ["subnet-0a1b2c"],
        securityGroups: ["sg-0a1b2c"],
        executionRoleArn: "arn:aws:iam::123456789012:role/vn-exec",
        logGroup: "/vn/bench",
        secretMirroring: { store: "secretsmanager" },
        credentials: { accessKeyId: "AKIDSIMULATOR", secretAccessKey: "simulator-secret-key" },
        clientConfig: { endpoint: job.endpoint },
      });
      return {
        provider,
        close: () => {
          provider.close();
        },
      };
    }
    case "cloudrun": {
      const url = new URL(job.endpoint);
      // A static token: the Google clients never ask the metadata server.
      const authClient = new OAuth2Client();
      authClient.setCredentials({ access_token: "bench-token", expiry_date: Date.now() + 864e8 });
      const provider = createCloudRunProvider({
        project: "p1",
        region: "us-central1",
        transport: "rest",
        authClient,
        clientOptions: { apiEndpoint: url.hostname, port: Number(url.port), protocol: "http" },
        secrets: "mirror",
        rateLimits: { ...unlimited(CLOUD_RUN_RATE_LIMITS), default: UNLIMITED },
        capacity: CAPACITY,
      });
      return { provider, close: () => provider.close() };
    }
    case "interlink": {
      const provider = createInterLinkProvider({ url: job.endpoint, nodeName: job.nodeName });
      return { provider, close: () => provider.close() };
    }
  }
}

const job = JSON.parse(process.argv[2] ?? "{}") as CloudAgentJob;
const kubeConfig = loadKubeConfig({ file: job.kubeconfig });
const { provider, close } = providerFor(job);
const node = createVirtualNode({
  nodeName: job.nodeName,
  provider,
  kubeConfig,
  internalIP: "127.0.0.1",
  // The benchmark counts cloud calls; the API server side is unthrottled, as for every other agent.
  qps: 0,
  burst: 0,
  logger: createConsoleLogger({ level: process.env.VIRTUAL_NODE_BENCH_LOG === "debug" ? "debug" : "warn" }),
  shutdown: "leave",
  kubeletApi: { enabled: false },
});
const controller = new AbortController();
process.on("SIGTERM", () => {
  controller.abort();
});
process.on("SIGINT", () => {
  controller.abort();
});
void node.ready.then(() => process.stdout.write("READY\n"));
await node.run(controller.signal);
await close();
process.exit(0);
