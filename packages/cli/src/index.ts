/**
 * `@virtual-node/cli`: the `virtual-node` agent as a library, for wrappers and tests: config loading
 * and validation, the published JSON Schema, the agent itself and its exit codes.
 */
export { startAgent, type Agent, type AgentOptions } from "./agent.js";
export {
  ConfigFileError,
  formatIssue,
  loadAgentConfig,
  parseAgentConfig,
  validateAgentConfig,
  type ConfigIssue,
} from "./config.js";
export { renderConfigReference } from "./config-reference.js";
export { ExitCodes, type ExitCode } from "./exit-codes.js";
export type { HealthServer, ReadinessCheck } from "./health-server.js";
export { createAgentLogger, type AgentLoggerOptions } from "./logger.js";
export { HELP, runCli, type CliIO } from "./main.js";
export type { ProviderContext, ProviderFactory } from "./providers.js";
export type { Reachability } from "./reachability.js";
export {
  AGENT_CONFIG_API_VERSION,
  AGENT_CONFIG_SCHEMA_ID,
  agentConfigSchema,
  BUILT_IN_PROVIDERS,
  type BuiltInProviderName,
} from "./schema.js";
export { SecretValues, resolveSecretReferences, type SecretSources } from "./secrets.js";
export type {
  AgentConfig,
  BuiltInProviderConfig,
  HighAvailabilityConfig,
  ModuleProviderConfig,
  NodeConfig,
  ProviderConfig,
  SecretRef,
} from "./types.js";
