/**
 * The Google Cloud clients the provider uses, built once from the options: Cloud Run Admin v2
 * (Jobs, Executions, Tasks, Worker Pools, Services, Instances), Secret Manager and Cloud Logging.
 * The transport option picks gRPC (the libraries' default, for production) or the HTTP/1.1 REST
 * fallback (for proxies that cannot carry HTTP/2). Tests run both against the local simulator.
 */
import { Logging } from "@google-cloud/logging";
import { v2 } from "@google-cloud/run";
import { SecretManagerServiceClient } from "@google-cloud/secret-manager";
import type { ClientOptions } from "google-gax";

/** How the clients talk to Google. */
export type CloudRunTransport = "grpc" | "rest";

/** Connection settings shared by every client. */
export interface CloudRunClientSettings {
  projectId: string;
  transport: CloudRunTransport;
  /** An auth client (e.g. from google-auth-library); default: Application Default Credentials. */
  authClient?: ClientOptions["authClient"];
  /**
   * Extra client options passed to every client unchanged (`apiEndpoint`, `port`, `protocol`,
   * `universeDomain`, …), e.g. to reach a private endpoint or a local simulator.
   */
  clientOptions?: ClientOptions;
}

/** The clients, one per API. */
export interface CloudRunClients {
  jobs: v2.JobsClient;
  executions: v2.ExecutionsClient;
  tasks: v2.TasksClient;
  workerPools: v2.WorkerPoolsClient;
  services: v2.ServicesClient;
  /** Cloud Run Instances (used only with `longRunning: "instance"`). */
  instances: v2.InstancesClient;
  secrets: SecretManagerServiceClient;
  logging: Logging;
  /** Closes every gRPC channel. */
  close(): Promise<void>;
}

/** Builds the clients for one provider instance. */
export function createCloudRunClients(settings: CloudRunClientSettings): CloudRunClients {
  const options: ClientOptions = {
    ...settings.clientOptions,
    projectId: settings.projectId,
    ...(settings.transport === "rest" ? { fallback: true } : {}),
    ...(settings.authClient === undefined ? {} : { authClient: settings.authClient }),
  };
  const jobs = new v2.JobsClient(options);
  const executions = new v2.ExecutionsClient(options);
  const tasks = new v2.TasksClient(options);
  const workerPools = new v2.WorkerPoolsClient(options);
  const services = new v2.ServicesClient(options);
  const instances = new v2.InstancesClient(options);
  const secrets = new SecretManagerServiceClient(options);
  const logging = new Logging(options);
  return {
    jobs,
    executions,
    tasks,
    workerPools,
    services,
    instances,
    secrets,
    logging,
    async close() {
      await Promise.allSettled([
        jobs.close(),
        executions.close(),
        tasks.close(),
        workerPools.close(),
        services.close(),
        instances.close(),
        secrets.close(),
      ]);
    },
  };
}
