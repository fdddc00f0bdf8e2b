/**
 * The provider's options and their validation: every problem is reported at start, with the
 * option's name, before any call to Google.
 */
import { InvalidInputError } from "@virtual-node/core";
import type { Clock } from "@virtual-node/core";
import type { CloudCallerOptions, PollOptions, RateLimitTable } from "@virtual-node/core/provider-kit";
import type { CloudRunClientSettings, CloudRunClients, CloudRunTransport } from "./clients.js";
import type { LongRunningKind, MappingOptions } from "./mapping.js";

/** Options of `createCloudRunProvider`. */
export interface CloudRunProviderOptions {
  /** The Google Cloud project id. */
  project: string;
  /** The Cloud Run region (`us-central1`). */
  region: string;
  /** Service account email the workloads run as (default: the project's default compute account). */
  serviceAccount?: string;
  /** VPC egress: `{ network, subnetwork, tags }` (Direct VPC) or `{ connector }`, plus `egress`. */
  vpc?: MappingOptions["vpc"];
  /** Extra labels on every Job, Worker Pool, Service and Instance (valid GCP labels). */
  labels?: Record<string, string>;
  /**
   * Which resource runs `restartPolicy: Always` pods: `workerPool` (default; one manually scaled
   * instance), `service` (pods that declare a container port become Services with one always-on
   * instance, the others Worker Pools), `instance` (standalone Cloud Run Instances; explicit opt-in).
   */
  longRunning?: LongRunningKind;
  /**
   * `launchStage` sent on Worker Pools and Instances (`ALPHA` | `BETA` | `GA`; default: not sent).
   * Set `BETA` (or `ALPHA`) if your project still gets those resources as a preview feature.
   */
  launchStage?: MappingOptions["launchStage"];
  /** `mirror`: Secret values go to Secret Manager (created, versioned, deleted with the pod); `reject` (default). */
  secrets?: "mirror" | "reject";
  /** `grpc` (default, production) or `rest` (HTTP/1.1 JSON fallback). */
  transport?: CloudRunTransport;
  /** Auth client; default Application Default Credentials. */
  authClient?: CloudRunClientSettings["authClient"];
  /** Passed to every Google client (`apiEndpoint`, `port`, `protocol`, …). */
  clientOptions?: CloudRunClientSettings["clientOptions"];
  /** Pre-built clients (tests, or sharing channels between nodes); overrides transport/auth/clientOptions. */
  clients?: CloudRunClients;
  /** Task retries for `restartPolicy: OnFailure` pods (default 3, Cloud Run's own default). */
  onFailureMaxRetries?: number;
  /** Task timeout without `activeDeadlineSeconds` (default 86 400 s; Cloud Run's own default is 600 s). */
  defaultJobTimeoutSeconds?: number;
  /** Service and Instance ingress (default `INGRESS_TRAFFIC_INTERNAL_ONLY`). */
  serviceIngress?: MappingOptions["serviceIngress"];
  /** GPU type for `nvidia.com/gpu` pods (default `nvidia-l4`). */
  gpuType?: string;
  /** Node capacity (default cpu 1000, memory 4Ti, pods 1000, nvidia.com/gpu 0). */
  capacity?: Record<string, string>;
  /** Provider name (default `cloudrun`): the default taint's value. */
  name?: string;
  /** Time source (FakeClock in tests). */
  clock?: Clock;
  /** The agent's metrics registry, for the API call/throttle metrics. */
  registry?: CloudCallerOptions["registry"];
  /** Requests per second and burst per API (defaults in `CLOUD_RUN_RATE_LIMITS`). */
  rateLimits?: RateLimitTable;
  /** Tries per cloud call (default 4). */
  maxAttempts?: number;
  /** Backoff between cloud call retries. */
  retryBackoff?: CloudCallerOptions["backoff"];
  /** Backoff between long-running-operation checks (default 500 ms doubling to 10 s). */
  operationBackoff?: PollOptions["backoff"];
  /** Longest wait for a create/delete operation (default 10 min). */
  operationTimeoutMs?: number;
  /** Status list intervals (defaults 2 s while something changes, 15 s when all settled). */
  statusIntervals?: { fastMs?: number; slowMs?: number };
  /** Page size of the list calls (default 500). */
  listPageSize?: number;
  /** Log polling interval while following (default 2 s). */
  logPollIntervalMs?: number;
}

/** Validated options with defaults applied. */
export interface ResolvedCloudRunOptions extends CloudRunProviderOptions {
  secrets: "mirror" | "reject";
  transport: CloudRunTransport;
  longRunning: LongRunningKind;
  onFailureMaxRetries: number;
  defaultJobTimeoutSeconds: number;
  serviceIngress: MappingOptions["serviceIngress"];
  gpuType: string;
  name: string;
  listPageSize: number;
  logPollIntervalMs: number;
  operationTimeoutMs: number;
}

const PROJECT = /^[a-z][a-z0-9-]{4,28}[a-z0-9]$|^[a-z0-9-]+$/;
const REGION = /^[a-z]+-[a-z]+\d+$/;
const LABEL_KEY = /^[a-z][a-z0-9_-]{0,62}$/;
const LABEL_VALUE = /^[a-z0-9_-]{0,63}$/;

function fail(option: string, message: string): never {
  throw new InvalidInputError(`cloudrun option ${option}: ${message}`, { field: option });
}

/** Checks the options and fills defaults; throws `InvalidInputError` naming the option. */
export function resolveOptions(options: CloudRunProviderOptions): ResolvedCloudRunOptions {
  if (typeof options.project !== "string" || !PROJECT.test(options.project))
    fail("project", "must be a Google Cloud project id (lowercase letters, digits, hyphens)");
  if (typeof options.region !== "string" || !REGION.test(options.region))
    fail("region", "must be a Cloud Run region such as us-central1");
  if (options.serviceAccount !== undefined && !/^[^@\s]+@[^@\s]+$/.test(options.serviceAccount))
    fail("serviceAccount", "must be a service account email");
  // Plain-JavaScript callers can pass anything: check the values the types promise.
  const given = options as {
    longRunning?: unknown;
    secrets?: unknown;
    transport?: unknown;
    launchStage?: unknown;
  };
  if (
    given.longRunning !== undefined &&
    given.longRunning !== "workerPool" &&
    given.longRunning !== "service" &&
    given.longRunning !== "instance"
  )
    fail("longRunning", 'must be "workerPool" (default), "service" or "instance"');
  if (
    given.launchStage !== undefined &&
    given.launchStage !== "ALPHA" &&
    given.launchStage !== "BETA" &&
    given.launchStage !== "GA"
  )
    fail("launchStage", 'must be "ALPHA", "BETA" or "GA"');
  if (given.secrets !== undefined && given.secrets !== "mirror" && given.secrets !== "reject")
    fail("secrets", 'must be "mirror" or "reject"');
  if (given.transport !== undefined && given.transport !== "grpc" && given.transport !== "rest")
    fail("transport", 'must be "grpc" or "rest"');
  for (const [key, value] of Object.entries(options.labels ?? {})) {
    if (!LABEL_KEY.test(key)) fail(`labels.${key}`, "is not a valid GCP label key");
    if (!LABEL_VALUE.test(value)) fail(`labels.${key}`, "has an invalid GCP label value");
  }
  const vpc = options.vpc;
  if (vpc !== undefined) {
    if (vpc.connector !== undefined && (vpc.network !== undefined || vpc.subnetwork !== undefined))
      fail("vpc", "give either connector or network/subnetwork, not both");
    if (vpc.connector === undefined && vpc.network === undefined && vpc.subnetwork === undefined)
      fail("vpc", "needs connector, network or subnetwork");
  }
  const retries = options.onFailureMaxRetries ?? 3;
  if (!Number.isInteger(retries) || retries < 0 || retries > 10)
    fail("onFailureMaxRetries", "must be an integer 0..10");
  const timeout = options.defaultJobTimeoutSeconds ?? 86_400;
  if (!Number.isInteger(timeout) || timeout < 1 || timeout > 604_800)
    fail("defaultJobTimeoutSeconds", "must be an integer 1..604800 (7 days)");
  const pageSize = options.listPageSize ?? 500;
  if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > 1000) fail("listPageSize", "must be 1..1000");
  return {
    ...options,
    secrets: options.secrets ?? "reject",
    transport: options.transport ?? "grpc",
    longRunning: options.longRunning ?? "workerPool",
    onFailureMaxRetries: retries,
    defaultJobTimeoutSeconds: timeout,
    serviceIngress: options.serviceIngress ?? "INGRESS_TRAFFIC_INTERNAL_ONLY",
    gpuType: options.gpuType ?? "nvidia-l4",
    name: options.name ?? "cloudrun",
    listPageSize: pageSize,
    logPollIntervalMs: options.logPollIntervalMs ?? 2000,
    operationTimeoutMs: options.operationTimeoutMs ?? 600_000,
  };
}
