/**
 * Options of `createAciProvider`, validated once at start: a wrong option fails with an
 * `InvalidInputError` whose `field` names it (`options.resourceGroup`).
 */
import type {
  ContainerInstanceManagementClient,
  ContainerInstanceManagementClientOptionalParams,
  ImageRegistryCredential,
} from "@azure/arm-containerinstance";
import type { TokenCredential } from "@azure/identity";
import { InvalidInputError } from "@virtual-node/core";
import type { Clock } from "@virtual-node/core";
import type { RateLimitTable } from "@virtual-node/core/provider-kit";
import type { CloudCallerOptions } from "@virtual-node/core/provider-kit";
import type { GpuSku } from "./mapping.js";
import { GPU_SKUS } from "./mapping.js";
import type { StandbyPoolOptions } from "./standby.js";
import { validateStandbyPool } from "./standby.js";

/** The WHATWG WebSocket subset the exec bridge uses (global `WebSocket` and `ws` both fit). */
export interface WebSocketLike {
  binaryType: string;
  readonly readyState: number;
  send(data: string | ArrayBufferLike | Uint8Array): void;
  close(code?: number, reason?: string): void;
  addEventListener(
    type: "open" | "close" | "error" | "message",
    listener: (event: { data?: unknown; code?: number; reason?: string }) => void,
  ): void;
}

/** Options of {@link createAciProvider}. */
export interface AciProviderOptions {
  /** Azure subscription ID. */
  subscriptionId: string;
  /** Resource group the container groups live in (must exist). */
  resourceGroup: string;
  /** Azure region of the groups, e.g. `westeurope`. */
  region: string;
  /** Default `Linux`. */
  osType?: "Linux" | "Windows";
  /** Subnet resource IDs (delegated to `Microsoft.ContainerInstance/containerGroups`): private IPs. */
  subnetIds?: readonly string[];
  /** DNS configuration of every group (e.g. the cluster DNS reachable from the subnet). */
  dnsConfig?: { nameServers: string[]; searchDomains?: string[]; options?: string[] };
  /** Resource ID of a user-assigned managed identity every group gets (pods may name another). */
  defaultIdentity?: string;
  /** Log Analytics workspace that receives the containers' logs. */
  logAnalytics?: { workspaceId: string; workspaceKey: string };
  /** Extra tags on every container group. */
  tags?: Record<string, string>;
  /** Default GPU SKU for `nvidia.com/gpu`. Default `V100`. */
  gpuSku?: GpuSku;
  /** Registry credentials for every group. */
  registryCredentials?: readonly ImageRegistryCredential[];
  /** Credentials; default `DefaultAzureCredential` from `@azure/identity`. */
  credential?: TokenCredential;
  /** Passed to the SDK client (tests: `endpoint`, `tlsOptions`). Its own retries are turned off: the kit retries. */
  clientOptions?: ContainerInstanceManagementClientOptionalParams;
  /** A ready client (overrides `credential` and `clientOptions`). */
  client?: ContainerInstanceManagementClient;
  /** Rate limits per ARM operation; merged over {@link ACI_RATE_LIMITS}. */
  limits?: RateLimitTable;
  clock?: Clock;
  /** prom-client registry for the kit's API-call metrics. */
  registry?: CloudCallerOptions["registry"];
  /** List interval while some pod is changing. Default 2 s. */
  fastStatusIntervalMs?: number;
  /** List interval while all pods are settled. Default 15 s. */
  slowStatusIntervalMs?: number;
  /**
   * How often a settled group's details (instance view) are re-read even though its list entry did
   * not change: the list view has no container states. Default 5 min (`restartPolicy: Always`) and
   * 1 min (`Never`/`OnFailure`, where a container ending ends the pod).
   */
  detailRefreshMs?: { always?: number; job?: number };
  /** Longest provisioning before the pod fails with ACI's detail. Default 10 min. */
  provisioningDeadlineMs?: number;
  /** Node capacity. Default 800 CPUs, 4 TiB memory, 5 000 pods (ACI's standard regional quota order). */
  capacity?: Record<string, string>;
  /** Opens the exec WebSocket; default the global `WebSocket`. */
  webSocket?: (url: string) => WebSocketLike;
  /**
   * How exec runs commands. `shell` (default): ACI starts `/bin/sh`, the command is sent quoted on
   * its stdin followed by an exit-code marker, so argument boundaries and the exit code survive;
   * needs a shell in the image. `direct`: the argv is joined with spaces (ACI splits at whitespace;
   * arguments containing whitespace are rejected) and the exit code is 0 when the session closes
   * normally, as ACI reports none.
   */
  execMode?: "shell" | "direct";
  /** Log poll interval for `follow`. Default 2 s. */
  logPollIntervalMs?: number;
  /**
   * What a changed ConfigMap/Secret of a running pod does. ACI cannot change a running group's
   * files without redeploying it (which restarts its containers). `notify` (default): keep it running
   * and report (status message + a `MountedFilesStale` Warning Event) that the pod must be restarted; `redeploy`: PUT the new
   * files, restarting the containers.
   */
  fileUpdates?: "notify" | "redeploy";
  /**
   * An ACI standby pool to claim pre-provisioned groups from: pods whose group would be the pool's
   * profile group claim one (much faster start), the others are created as usual. See
   * docs/providers/aci.md, "Standby pool".
   */
  standbyPool?: StandbyPoolOptions;
}

/** Rate limits per ARM operation (requests per second, burst). ARM allows ~12 000 reads and 1 200 writes per hour per subscription and principal; ACI adds its own per-minute limits on creates. */
export const ACI_RATE_LIMITS: RateLimitTable = {
  default: { ratePerSecond: 3, burst: 20 },
  "ContainerGroups.CreateOrUpdate": { ratePerSecond: 0.3, burst: 20 },
  "ContainerGroups.Delete": { ratePerSecond: 0.3, burst: 20 },
  "ContainerGroups.ListByResourceGroup": { ratePerSecond: 2, burst: 10 },
  "ContainerGroups.Get": { ratePerSecond: 2, burst: 20 },
  "ContainerGroups.Poll": { ratePerSecond: 2, burst: 20 },
  "Containers.ListLogs": { ratePerSecond: 2, burst: 20 },
  "Containers.ExecuteCommand": { ratePerSecond: 0.5, burst: 5 },
  "Containers.Attach": { ratePerSecond: 0.5, burst: 5 },
  "ContainerGroupProfiles.GetByRevision": { ratePerSecond: 1, burst: 5 },
};

const NAME = /^[-\w._()]{1,90}$/;

/** Absent, or one of `allowed` (options may come from untyped configuration files). */
function oneOf(value: unknown, allowed: readonly string[]): boolean {
  return value === undefined || (typeof value === "string" && allowed.includes(value));
}

function fail(option: string, message: string): never {
  throw new InvalidInputError(`option ${option}: ${message}`, { field: `options.${option}` });
}

/** Checks the options; throws `InvalidInputError` naming the first bad option. */
export function validateOptions(options: AciProviderOptions): void {
  if (typeof options.subscriptionId !== "string" || !/^[0-9a-fA-F-]{36}$/.test(options.subscriptionId))
    fail("subscriptionId", "must be a subscription GUID");
  if (
    typeof options.resourceGroup !== "string" ||
    !NAME.test(options.resourceGroup) ||
    options.resourceGroup.endsWith(".")
  )
    fail("resourceGroup", "must be a resource group name (1-90 letters, digits, _ - . ( ))");
  if (typeof options.region !== "string" || !/^[a-z0-9]+$/i.test(options.region))
    fail("region", "must be a region name such as westeurope");
  if (!oneOf(options.osType, ["Linux", "Windows"])) fail("osType", "must be Linux or Windows");
  for (const [i, id] of (options.subnetIds ?? []).entries()) {
    if (
      !/^\/subscriptions\/[^/]+\/resourceGroups\/[^/]+\/providers\/Microsoft\.Network\/virtualNetworks\/[^/]+\/subnets\/[^/]+$/i.test(
        id,
      )
    )
      fail(`subnetIds[${String(i)}]`, "must be a subnet resource ID");
  }
  if (options.dnsConfig !== undefined && options.dnsConfig.nameServers.length === 0)
    fail("dnsConfig.nameServers", "needs at least one server");
  if (
    options.defaultIdentity !== undefined &&
    !/^\/subscriptions\/.+\/providers\/Microsoft\.ManagedIdentity\/userAssignedIdentities\/[^/]+$/i.test(
      options.defaultIdentity,
    )
  )
    fail("defaultIdentity", "must be a user-assigned identity resource ID");
  if (
    options.logAnalytics !== undefined &&
    (options.logAnalytics.workspaceId === "" || options.logAnalytics.workspaceKey === "")
  )
    fail("logAnalytics", "needs workspaceId and workspaceKey");
  if (options.gpuSku !== undefined && !(GPU_SKUS as readonly string[]).includes(options.gpuSku))
    fail("gpuSku", `must be one of ${GPU_SKUS.join(", ")}`);
  for (const key of [
    "fastStatusIntervalMs",
    "slowStatusIntervalMs",
    "provisioningDeadlineMs",
    "logPollIntervalMs",
  ] as const) {
    const v = options[key];
    if (v !== undefined && (!Number.isFinite(v) || v <= 0))
      fail(key, "must be a positive number of milliseconds");
  }
  if (!oneOf(options.execMode, ["shell", "direct"])) fail("execMode", "must be shell or direct");
  if (!oneOf(options.fileUpdates, ["notify", "redeploy"])) fail("fileUpdates", "must be notify or redeploy");
  if (options.standbyPool !== undefined) validateStandbyPool(options.standbyPool, options.subscriptionId);
  for (const [k, v] of Object.entries(options.tags ?? {})) {
    if (k.length > 512 || /[<>%&\\?/]/.test(k)) fail(`tags.${k}`, "is not a valid Azure tag name");
    if (v.length > 256) fail(`tags.${k}`, "value longer than 256 characters");
  }
}
