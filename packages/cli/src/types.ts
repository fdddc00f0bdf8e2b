/**
 * The TypeScript shape of a config that passed validation against `agentConfigSchema`. Kept next to
 * the schema by hand; `test/schema.test.ts` checks that the two agree on every top-level key.
 */
import type { LogLevel, SharedOptions, ShutdownPolicy } from "@virtual-node/core";
import type { BuiltInProviderName } from "./schema.js";

/** A secret value in a config file: inline (discouraged), from a file or from an environment variable. */
export type SecretRef = string | { fromFile: string } | { fromEnv: string };

/** A provider picked by name. */
export interface BuiltInProviderConfig {
  name: BuiltInProviderName;
  options?: Record<string, unknown>;
}

/** A provider loaded from a module. */
export interface ModuleProviderConfig {
  module: string;
  export?: string;
  options?: Record<string, unknown>;
}

/** What runs a node's pods. */
export type ProviderConfig = BuiltInProviderConfig | ModuleProviderConfig;

/** One virtual node of the config. */
export interface NodeConfig {
  name: string;
  provider: ProviderConfig;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  taints?: { key: string; value?: string; effect: "NoSchedule" | "PreferNoSchedule" | "NoExecute" }[];
  internalIP?: string;
  kubeletPort?: number;
}

/** `highAvailability` of the config (the core's `HighAvailabilityOptions`). */
export interface HighAvailabilityConfig {
  namespace: string;
  identity?: string;
  leaseDurationSeconds?: number;
  renewDeadlineSeconds?: number;
  retryPeriodSeconds?: number;
}

/** A validated agent config file. */
export interface AgentConfig {
  apiVersion: string;
  kind: "AgentConfig";
  nodes: NodeConfig[];
  kubeconfig?: string;
  logLevel?: LogLevel | "silent";
  server?: { address?: string; port?: number; pingFreshnessMs?: number };
  shutdown?: ShutdownPolicy;
  highAvailability?: HighAvailabilityConfig;
  kubeletApi?: {
    enabled?: boolean;
    port?: number;
    listenAddress?: string;
    certificate?:
      | { source: "selfSigned"; validityDays?: number }
      | { source: "files"; certFile: string; keyFile: string; reloadIntervalMs?: number }
      | {
          source: "csr";
          expirationSeconds?: number;
          rotateBeforeExpiryMs?: number;
          interimSelfSigned?: boolean;
          pollIntervalMs?: number;
        };
  };
  telemetry?: { otlp?: { endpoint: string; headers?: Record<string, SecretRef>; serviceName?: string } };
  /** Core's own tuning options, passed through as they are (same names, same defaults). */
  tuning?: Pick<
    SharedOptions,
    | "qps"
    | "burst"
    | "leaseDurationSeconds"
    | "leaseRenewIntervalMs"
    | "nodeStatusReportIntervalMs"
    | "pingIntervalMs"
    | "podSyncConcurrency"
    | "statusPollFastMs"
    | "statusPollSlowMs"
    | "reconcileIntervalMs"
    | "orphanGraceMs"
    | "maxRetryDelayMs"
    | "volumePollIntervalMs"
  >;
}
