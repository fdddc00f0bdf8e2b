export {
  FRONT_PROXY_CLIENT_NAME,
  METRICS_SERVER_TOOL,
  aggregatedEndpoint,
  aggregationLayerArgs,
  metricsServerArgs,
  registerApiService,
  startAggregatedControlPlane,
  startMetricsServer,
  type AggregatedControlPlane,
  type AggregatedControlPlaneOptions,
  type AggregationLayerFiles,
  type ApiServiceRegistration,
} from "./aggregation.js";
export {
  ALL_BINARY_NAMES,
  BINARY_ENV_VARIABLES,
  DEFAULT_REQUIRED_BINARIES,
  ETCD_CACHE,
  KUBERNETES_CACHE,
  STAMP_FILE,
  cachePaths,
  cacheSpecFor,
  decideCacheAction,
  defaultCacheRoot,
  ensureCachedBinaries,
  expectedVersionText,
  inspectCache,
  resolveBinaries,
  resolveFromEnvironment,
  sha256File,
  versionArgs,
  type BinarySource,
  type BuildStepRecord,
  type CacheDecision,
  type CacheInspection,
  type CacheSpec,
  type CacheStamp,
  type ControlPlaneBinaries,
  type EnsureCacheOptions,
  type EnsuredCache,
  type ObservedBinary,
  type ResolveBinariesOptions,
  type ResolvedBinaries,
  type ResolvedBinary,
} from "./binaries.js";
export {
  createCertificateAuthority,
  createCertificateRequest,
  createServiceAccountKeyPair,
  issueCertificate,
  loadCertificateAuthority,
  type CertificateAndKey,
  type CertificateAuthority,
  type CertificateRequestAndKey,
  type CertificateRequestOptions,
  type CertificateUsage,
  type IssueCertificateOptions,
  type ServiceAccountKeyPair,
} from "./certs.js";
export {
  apiServerArgs,
  controllerManagerArgs,
  etcdArgs,
  mergeFlags,
  schedulerArgs,
  schedulerConfiguration,
  type ComponentName,
} from "./components.js";
export {
  connectControlPlane,
  startControlPlane,
  type ComponentExtraArgs,
  type ControlPlane,
  type ControlPlaneHandle,
  type ControlPlaneInfo,
  type ControlPlanePorts,
  type KubeletClientCertPaths,
  type OptionalComponent,
  type StartControlPlaneOptions,
} from "./control-plane.js";
export {
  startFaultProxy,
  type FaultProxy,
  type FaultProxyOptions,
  type FaultProxyStats,
  type NetworkFaults,
  type ProxyDirection,
} from "./fault-proxy.js";
export { ErrorCode, TestingError, isTestingError, tailLines, type TestingErrorOptions } from "./errors.js";
export {
  BUILD_LOG_TAIL_LINES,
  compareVersions,
  findGoToolchain,
  goBuildArgs,
  kubernetesWrapperGoMod,
  parseMaxRss,
  parseZeroVersionRequires,
  type GoToolchain,
} from "./go-build.js";
export {
  ensureCacheEntry,
  readStampText,
  writeStamp,
  type CacheBuildOptions,
  type CacheCheck,
  type CacheEntry,
} from "./go-cache.js";
export {
  ensureGoTool,
  goToolCacheValid,
  goToolDirName,
  goToolPaths,
  goToolToolsGo,
  goToolWrapperGoMod,
  type EnsureGoToolOptions,
  type EnsuredGoTool,
  type GoToolSpec,
  type GoToolStamp,
} from "./go-tool.js";
export {
  HA_AGENT_CLUSTER_RULES,
  HA_LEASE_ROLE_NAME,
  HA_LEASE_RULES,
  NODE_LEASE_RULES,
  grantHaAgentRbac,
  type HaAgentRbacOptions,
} from "./ha-rbac.js";
export { httpGet, waitForHealthy, type HttpResult, type HttpTls } from "./health.js";
export {
  createIdentityMinter,
  type ClientIdentity,
  type ClientIdentityOptions,
  type IdentityMinter,
  type ServiceAccountTokenOptions,
} from "./identity.js";
export { model, type ModelShape } from "./kube-objects.js";
export {
  makeKubeConfig,
  renderKubeconfig,
  writeKubeconfig,
  type KubeconfigCredentials,
} from "./kubeconfig.js";
export { acquireLock, type LockOptions, type ReleaseLock } from "./lock.js";
export {
  APISERVER_DNS_NAMES,
  APISERVER_IP_ADDRESSES,
  KUBERNETES_SERVICE_IP,
  SERVICE_ACCOUNT_ISSUER,
  SERVICE_CLUSTER_IP_RANGE,
  createClusterPki,
  type CertKeyPaths,
  type ClusterPki,
  type ClusterPkiPaths,
} from "./pki.js";
export { LOOPBACK, allocatePort, allocatePorts, isAddressInUse } from "./ports.js";
export {
  isProcessAlive,
  liveComponentCount,
  setprivPath,
  spawnComponent,
  type ComponentExit,
  type ComponentProcess,
  type DeathSignalStrategy,
  type SpawnComponentOptions,
  type StopOptions,
} from "./process.js";
export { silentProgress, stderrProgress, type ProgressSink } from "./progress.js";
export {
  CONTROL_PLANE_CONTEXT_KEY,
  isSkippedControlPlane,
  useControlPlane,
  type ProvidedControlPlane,
  type SkippedControlPlane,
} from "./shared-control-plane.js";
export {
  ETCD_MODULE,
  ETCD_VERSION,
  KUBERNETES_BINARY_NAMES,
  KUBERNETES_VERSION,
  MINIMUM_GO_VERSION,
  STAGING_VERSION,
  kubernetesLdflags,
  stagingVersionFor,
  type BinaryName,
  type KubernetesBinaryName,
} from "./versions.js";
export {
  ensureTestHostAddress,
  TEST_HOST_LOCAL_IP,
  TEST_HOST_NAMESPACE,
  TEST_HOST_PEER_IP,
} from "./test-host.js";
