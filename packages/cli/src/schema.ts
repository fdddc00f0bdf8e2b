/**
 * The agent's configuration as a JSON Schema (draft 2020-12). This object is the single source: the
 * validator compiles it, `schema/agent-config.schema.json` is written from it (editors validate with
 * that file), and docs/agent-config.md is rendered from it. Every property carries a `description`,
 * which is what the reference shows.
 */

/** `$id` of the published schema; point an editor's `yaml.schemas` / `$schema` here. */
export const AGENT_CONFIG_SCHEMA_ID = "https://virtual-node.io/schemas/agent-config/v1alpha1.json";

/** The `apiVersion` a config file declares. */
export const AGENT_CONFIG_API_VERSION = "virtual-node.io/v1alpha1";

const positiveInt = { type: "integer", minimum: 1 } as const;
const port = { type: "integer", minimum: 1, maximum: 65535 } as const;

const secretRef = {
  description:
    "A secret value: a plain string (avoid it for credentials), `{ fromFile: path }` (e.g. a mounted Secret) or `{ fromEnv: NAME }`. Resolved at start; the value is redacted from every log line.",
  // if/then/else rather than oneOf: a wrong reference gets one precise error, not one per branch.
  if: { type: "object" },
  then: {
    type: "object",
    properties: {
      fromFile: {
        type: "string",
        minLength: 1,
        description: "File whose contents (trailing newline removed) are the value.",
      },
      fromEnv: {
        type: "string",
        pattern: "^[A-Za-z_][A-Za-z0-9_]*$",
        description: "Environment variable holding the value.",
      },
    },
    minProperties: 1,
    maxProperties: 1,
    additionalProperties: false,
  },
  else: { type: "string" },
} as const;

const stringMap = { type: "object", additionalProperties: { type: "string" } } as const;
const capacity = {
  type: "object",
  description: 'Node capacity as Kubernetes quantities, e.g. `{ cpu: "100", memory: 400Gi, pods: "1000" }`.',
  additionalProperties: { type: "string" },
} as const;
const statusIntervals = {
  type: "object",
  description: "Provider status refresh while pods start (`fastMs`) and when all are steady (`slowMs`).",
  properties: { fastMs: positiveInt, slowMs: positiveInt },
  additionalProperties: false,
} as const;
const rateLimits = {
  type: "object",
  description:
    "Rate limits per cloud operation, merged over the provider's defaults: `{ <operation|default>: { ratePerSecond, burst } }`.",
  additionalProperties: {
    type: "object",
    properties: { ratePerSecond: { type: "number", exclusiveMinimum: 0 }, burst: positiveInt },
    required: ["ratePerSecond", "burst"],
    additionalProperties: false,
  },
} as const;

const mockOptions = {
  type: "object",
  description:
    "Options of `createMockProvider` (packages/provider-mock): an in-memory cloud, for trying the agent out and for tests.",
  properties: {
    pushStatus: {
      type: "boolean",
      description: "Push status changes to core (default true); false leaves core to poll.",
    },
    statusBatchSize: { ...positiveInt, description: "Largest `getPodStatuses` batch. Default 100." },
  },
  additionalProperties: false,
} as const;

const aciOptions = {
  type: "object",
  description:
    "Options of `createAciProvider` (packages/provider-aci). Credentials: `DefaultAzureCredential` (workload identity, managed identity or `AZURE_*` environment variables).",
  properties: {
    subscriptionId: { type: "string", minLength: 1, description: "Azure subscription ID." },
    resourceGroup: {
      type: "string",
      minLength: 1,
      description: "Resource group of the container groups (must exist).",
    },
    region: { type: "string", minLength: 1, description: "Azure region, e.g. `westeurope`." },
    osType: { enum: ["Linux", "Windows"], description: "Default `Linux`." },
    subnetIds: {
      type: "array",
      items: { type: "string" },
      description: "Delegated subnet resource IDs (private IPs).",
    },
    dnsConfig: {
      type: "object",
      properties: {
        nameServers: { type: "array", items: { type: "string" } },
        searchDomains: { type: "array", items: { type: "string" } },
        options: { type: "array", items: { type: "string" } },
      },
      required: ["nameServers"],
      additionalProperties: false,
      description: "DNS configuration of every container group.",
    },
    defaultIdentity: {
      type: "string",
      description: "User-assigned managed identity resource ID every group gets.",
    },
    logAnalytics: {
      type: "object",
      properties: { workspaceId: { type: "string" }, workspaceKey: secretRef },
      required: ["workspaceId", "workspaceKey"],
      additionalProperties: false,
      description: "Log Analytics workspace receiving the containers' logs.",
    },
    tags: { ...stringMap, description: "Extra tags on every container group." },
    gpuSku: {
      enum: ["K80", "P100", "V100"],
      description: "Default GPU SKU for `nvidia.com/gpu`. Default `V100`.",
    },
    registryCredentials: {
      type: "array",
      description: "Registry credentials for every group.",
      items: {
        type: "object",
        properties: {
          server: { type: "string" },
          username: { type: "string" },
          password: secretRef,
          identity: { type: "string" },
        },
        required: ["server"],
        additionalProperties: false,
      },
    },
    clientOptions: {
      type: "object",
      properties: { endpoint: { type: "string", pattern: "^https?://" } },
      additionalProperties: false,
      description: "ARM endpoint override (sovereign clouds, simulators).",
    },
    limits: rateLimits,
    fastStatusIntervalMs: { ...positiveInt, description: "List interval while a pod changes. Default 2000." },
    slowStatusIntervalMs: {
      ...positiveInt,
      description: "List interval while all pods are settled. Default 15000.",
    },
    provisioningDeadlineMs: {
      ...positiveInt,
      description: "Longest provisioning before the pod fails. Default 10 min.",
    },
    capacity,
    execMode: { enum: ["shell", "direct"], description: "How exec runs commands. Default `shell`." },
    logPollIntervalMs: { ...positiveInt, description: "Log poll interval for `follow`. Default 2000." },
    fileUpdates: {
      enum: ["notify", "redeploy"],
      description: "What a changed ConfigMap/Secret of a running pod does. Default `notify`.",
    },
    standbyPool: {
      type: "object",
      description:
        "Claim pre-provisioned container groups from an ACI standby pool for pods that fit its profile (docs/providers/aci.md, Standby pool).",
      properties: {
        poolId: {
          type: "string",
          pattern: "^/subscriptions/",
          description: "Resource ID of the `Microsoft.StandbyPool/standbyContainerGroupPools` pool.",
        },
        profileId: {
          type: "string",
          pattern: "^/subscriptions/",
          description:
            "Resource ID of the `Microsoft.ContainerInstance/containerGroupProfiles` profile the pool uses.",
        },
        profileRevision: { ...positiveInt, description: "The profile revision the pool uses." },
        failOnReuseFailure: {
          type: "boolean",
          description:
            "With no ready group: `false` (default) ACI creates the group cold; `true` the create fails and is retried until the pool refills.",
        },
        match: {
          type: "object",
          properties: {
            labels: { ...stringMap, description: "Every one must be on the pod." },
            namespaces: {
              type: "array",
              items: { type: "string" },
              description: "The pod's namespace is one of them.",
            },
          },
          additionalProperties: false,
          description: "Which pods try the pool at all (before the fit check). Default: every pod.",
        },
      },
      required: ["poolId", "profileId", "profileRevision"],
      additionalProperties: false,
    },
  },
  required: ["subscriptionId", "resourceGroup", "region"],
  additionalProperties: false,
} as const;

const fargateOptions = {
  type: "object",
  description:
    "Options of `createFargateProvider` (packages/provider-fargate). Credentials: the AWS default chain (IRSA / Pod Identity, `AWS_*` variables) unless `credentials` is given.",
  properties: {
    cluster: { type: "string", minLength: 1, description: "ECS cluster name or ARN." },
    region: { type: "string", description: "AWS region. Default: the SDK's (`AWS_REGION`)." },
    subnets: {
      type: "array",
      items: { type: "string" },
      minItems: 1,
      description: "awsvpc subnets of the tasks.",
    },
    securityGroups: { type: "array", items: { type: "string" } },
    assignPublicIp: { type: "boolean" },
    platformVersion: { type: "string" },
    executionRoleArn: { type: "string" },
    taskRoleArn: { type: "string" },
    logGroup: { type: "string" },
    logStreamPrefix: { type: "string" },
    createLogGroup: { type: "boolean" },
    capacityProviderStrategy: {
      type: "array",
      items: {
        type: "object",
        properties: {
          capacityProvider: { enum: ["FARGATE", "FARGATE_SPOT"] },
          weight: { type: "integer", minimum: 0 },
          base: { type: "integer", minimum: 0 },
        },
        required: ["capacityProvider"],
        additionalProperties: false,
      },
    },
    cpuArchitecture: { enum: ["X86_64", "ARM64"] },
    tags: stringMap,
    secretMirroring: {
      type: "object",
      description:
        "Secret values are copied into AWS Secrets Manager or SSM Parameter Store and referenced by ARN.",
      properties: {
        store: { enum: ["secretsmanager", "ssm"] },
        prefix: { type: "string" },
        kmsKeyId: { type: "string" },
        tier: { enum: ["Standard", "Advanced"], description: "SSM only. Default Standard (4 KB values)." },
      },
      required: ["store"],
      additionalProperties: false,
    },
    allowPlainTextSecrets: {
      type: "boolean",
      description: "Allow Secret values as plain task environment (not recommended). Default false.",
    },
    fileWriterImage: { type: "string" },
    repositoryCredentials: {
      ...stringMap,
      description: "Registry host → Secrets Manager ARN of its credentials.",
    },
    credentials: {
      type: "object",
      description: "Static AWS credentials (prefer the default chain).",
      properties: { accessKeyId: secretRef, secretAccessKey: secretRef, sessionToken: secretRef },
      required: ["accessKeyId", "secretAccessKey"],
      additionalProperties: false,
    },
    clientConfig: {
      type: "object",
      properties: { endpoint: { type: "string", pattern: "^https?://" }, maxAttempts: positiveInt },
      additionalProperties: false,
    },
    limits: rateLimits,
    capacity,
    startDeadlineMs: positiveInt,
    mirrorSweepIntervalMs: positiveInt,
    statusIntervalMs: {
      type: "object",
      properties: { fast: positiveInt, slow: positiveInt },
      additionalProperties: false,
    },
  },
  required: ["cluster", "subnets"],
  additionalProperties: false,
} as const;

const cloudRunOptions = {
  type: "object",
  description:
    "Options of `createCloudRunProvider` (packages/provider-cloudrun). Credentials: Application Default Credentials (Workload Identity, `GOOGLE_APPLICATION_CREDENTIALS`).",
  properties: {
    project: { type: "string", minLength: 1, description: "Google Cloud project ID." },
    region: { type: "string", minLength: 1, description: "Cloud Run region, e.g. `europe-west1`." },
    serviceAccount: { type: "string", description: "Service account the workloads run as." },
    vpc: {
      type: "object",
      description:
        "VPC egress: `{ network, subnetwork, tags }` (Direct VPC) or `{ connector }`, plus `egress`.",
      properties: {
        network: { type: "string" },
        subnetwork: { type: "string" },
        connector: { type: "string" },
        tags: { type: "array", items: { type: "string" } },
        egress: { enum: ["ALL_TRAFFIC", "PRIVATE_RANGES_ONLY"] },
      },
      additionalProperties: false,
    },
    labels: stringMap,
    longRunning: {
      enum: ["workerPool", "service", "instance"],
      description:
        "What runs `restartPolicy: Always` pods: Worker Pools (default), Services for pods that declare a port, or Instances.",
    },
    launchStage: {
      enum: ["ALPHA", "BETA", "GA"],
      description:
        "Sent as `launchStage` on Worker Pools and Instances (preview projects). Default: not sent.",
    },
    secrets: {
      enum: ["mirror", "reject"],
      description: "Secret-sourced env and files: mirrored to Secret Manager or rejected. Default `mirror`.",
    },
    transport: { enum: ["grpc", "rest"], description: "Client transport. Default `grpc`." },
    onFailureMaxRetries: { type: "integer", minimum: 0 },
    defaultJobTimeoutSeconds: positiveInt,
    serviceIngress: {
      enum: ["INGRESS_TRAFFIC_ALL", "INGRESS_TRAFFIC_INTERNAL_ONLY", "INGRESS_TRAFFIC_NONE"],
    },
    gpuType: { type: "string" },
    capacity,
    name: { type: "string", description: "Provider name reported on the node. Default `cloudrun`." },
    rateLimits,
    maxAttempts: positiveInt,
    operationTimeoutMs: positiveInt,
    statusIntervals,
    listPageSize: positiveInt,
    logPollIntervalMs: positiveInt,
  },
  required: ["project", "region"],
  additionalProperties: false,
} as const;

const interLinkOptions = {
  type: "object",
  description:
    "Options of `createInterLinkProvider` (packages/provider-interlink). `nodeName` defaults to the node's name.",
  properties: {
    url: {
      type: "string",
      pattern: "^(https?|unix)://",
      description: "The interLink API: `http://`, `https://` or `unix:///path`.",
    },
    tokenFile: { type: "string", description: "File holding the bearer token (re-read when it changes)." },
    tls: {
      type: "object",
      properties: {
        caFile: { type: "string" },
        certFile: { type: "string" },
        keyFile: { type: "string" },
        serverName: { type: "string" },
      },
      additionalProperties: false,
    },
    timeouts: {
      type: "object",
      properties: { createMs: positiveInt, requestMs: positiveInt, logsMs: positiveInt },
      additionalProperties: false,
    },
    jobScriptBuilderURL: { type: "string" },
    persistentVolumes: { type: "boolean" },
    extendedResources: { type: "array", items: { type: "string" } },
    limits: rateLimits,
    statusIntervals,
    logPollMs: positiveInt,
  },
  required: ["url"],
  additionalProperties: false,
} as const;

/** Built-in provider names and the schema of their `options`. */
export const BUILT_IN_PROVIDERS = {
  mock: mockOptions,
  aci: aciOptions,
  fargate: fargateOptions,
  cloudrun: cloudRunOptions,
  interlink: interLinkOptions,
} as const;

/** A provider picked by name. */
export type BuiltInProviderName = keyof typeof BUILT_IN_PROVIDERS;

const builtInProvider = {
  type: "object",
  description: "A built-in provider, picked by `name`.",
  properties: {
    name: { enum: Object.keys(BUILT_IN_PROVIDERS), description: "Which provider." },
    options: { type: "object", description: "The provider's options (see below, per provider)." },
  },
  required: ["name"],
  additionalProperties: false,
  allOf: Object.entries(BUILT_IN_PROVIDERS).map(([name, options]) => ({
    if: { properties: { name: { const: name } }, required: ["name"] },
    then: { properties: { options } },
  })),
} as const;

const moduleProvider = {
  type: "object",
  description:
    "Your own provider, loaded from a module: its `export` (default `createProvider`, else the default export) is called as `factory(options, context)` and returns a `Provider`.",
  properties: {
    module: {
      type: "string",
      minLength: 1,
      description: "Module path (relative to the config file) or package name.",
    },
    export: {
      type: "string",
      minLength: 1,
      description: "Named export of the factory. Default `createProvider`, then `default`.",
    },
    options: { type: "object", description: "Passed to the factory, secret references resolved." },
  },
  required: ["module"],
  additionalProperties: false,
} as const;

const taint = {
  type: "object",
  properties: {
    key: { type: "string", minLength: 1 },
    value: { type: "string" },
    effect: { enum: ["NoSchedule", "PreferNoSchedule", "NoExecute"] },
  },
  required: ["key", "effect"],
  additionalProperties: false,
} as const;

const node = {
  type: "object",
  description: "One virtual node.",
  properties: {
    name: {
      type: "string",
      pattern: "^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$",
      maxLength: 253,
      description: "The Node's name (a DNS subdomain).",
    },
    provider: {
      description: "What runs this node's pods: `{ name, options }` or `{ module, export?, options }`.",
      type: "object",
      if: { type: "object", required: ["module"] },
      then: moduleProvider,
      else: builtInProvider,
    },
    labels: { ...stringMap, description: "Extra Node labels." },
    annotations: { ...stringMap, description: "Extra Node annotations." },
    taints: {
      type: "array",
      items: taint,
      description: "Node taints. Default: `virtual-kubelet.io/provider=<provider>:NoSchedule`.",
    },
    internalIP: {
      type: "string",
      description:
        "InternalIP where this node's kubelet API is reachable. Default: the pod's/host's first IPv4 (`POD_IP` when set).",
    },
    kubeletPort: {
      ...port,
      description: "Port of this node's kubelet API. Default `kubeletApi.port` + the node's index.",
    },
  },
  required: ["name", "provider"],
  additionalProperties: false,
} as const;

/** The agent config schema. */
export const agentConfigSchema = {
  $schema: "https://json-schema.org/draft/2020-12/schema",
  $id: AGENT_CONFIG_SCHEMA_ID,
  title: "virtual-node agent configuration",
  description: "What `virtual-node run --config <file>` runs. YAML or JSON.",
  type: "object",
  properties: {
    apiVersion: { const: AGENT_CONFIG_API_VERSION, description: "Config format version." },
    kind: { const: "AgentConfig" },
    nodes: {
      type: "array",
      items: node,
      minItems: 1,
      description: "The virtual nodes this agent runs (one process, one API connection).",
    },
    kubeconfig: {
      type: "string",
      description:
        "Kubeconfig file, relative to this file; `--kubeconfig` wins. Default: in-cluster credentials inside a pod, else KUBECONFIG or ~/.kube/config.",
    },
    logLevel: {
      enum: ["debug", "info", "warn", "error", "silent"],
      description: "Log level (JSON lines on stderr). Default `info`; `--log-level` wins.",
    },
    server: {
      type: "object",
      description: "The agent's HTTP endpoint: `/healthz`, `/readyz`, `/metrics`.",
      properties: {
        address: { type: "string", description: "Bind address. Default `0.0.0.0`." },
        port: {
          type: "integer",
          minimum: 0,
          maximum: 65535,
          description: "Port (0: any free port, logged). Default 8080.",
        },
        pingFreshnessMs: {
          ...positiveInt,
          description:
            "`/readyz` needs every provider's last successful ping to be this recent. Default 3 × `tuning.pingIntervalMs`.",
        },
      },
      additionalProperties: false,
    },
    shutdown: {
      enum: ["leave", "notReady", "cordon", "delete"],
      description:
        "What happens to the Nodes on SIGTERM/SIGINT. Default `notReady`. With `highAvailability`, the Leases are handed over instead while another replica is live.",
    },
    highAvailability: {
      type: "object",
      description:
        "Run several replicas: each node's controllers run in the replica holding its ownership Lease (`virtual-node-owner-<node>`).",
      properties: {
        namespace: {
          type: "string",
          minLength: 1,
          description: "Namespace of the ownership and membership Leases.",
        },
        identity: {
          type: "string",
          minLength: 1,
          description: "This replica's identity. Default `POD_NAME` when set, else `<hostname>-<pid>`.",
        },
        leaseDurationSeconds: { ...positiveInt, description: "Default 15." },
        renewDeadlineSeconds: { ...positiveInt, description: "Default 10." },
        retryPeriodSeconds: { ...positiveInt, description: "Default 2." },
      },
      required: ["namespace"],
      additionalProperties: false,
    },
    kubeletApi: {
      type: "object",
      description:
        "The kubelet API (logs, exec, port-forward, stats; docs/kubelet-api.md). Served by default on 10250.",
      properties: {
        enabled: { type: "boolean", description: "Default true." },
        port: { ...port, description: "Base port (node i listens on port + i). Default 10250." },
        listenAddress: { type: "string", description: "Default `0.0.0.0`." },
        certificate: {
          description:
            "Serving certificate: `{ source: selfSigned }` (default), `{ source: files, certFile, keyFile }` or `{ source: csr }`.",
          type: "object",
          properties: { source: { enum: ["selfSigned", "files", "csr"] } },
          required: ["source"],
          allOf: [
            {
              if: { properties: { source: { const: "selfSigned" } } },
              then: { properties: { source: true, validityDays: positiveInt }, additionalProperties: false },
            },
            {
              if: { properties: { source: { const: "files" } } },
              then: {
                properties: {
                  source: true,
                  certFile: { type: "string" },
                  keyFile: { type: "string" },
                  reloadIntervalMs: positiveInt,
                },
                required: ["certFile", "keyFile"],
                additionalProperties: false,
              },
            },
            {
              if: { properties: { source: { const: "csr" } } },
              then: {
                properties: {
                  source: true,
                  expirationSeconds: { type: "integer", minimum: 600 },
                  rotateBeforeExpiryMs: positiveInt,
                  interimSelfSigned: { type: "boolean" },
                  pollIntervalMs: positiveInt,
                },
                additionalProperties: false,
              },
            },
          ],
        },
      },
      additionalProperties: false,
    },
    telemetry: {
      type: "object",
      description:
        "OpenTelemetry trace export (spans `virtual-node.pod.sync`, `virtual-node.provider.*`). Off unless `otlp` is set.",
      properties: {
        otlp: {
          type: "object",
          properties: {
            endpoint: {
              type: "string",
              pattern: "^https?://",
              description: "OTLP/HTTP traces endpoint, e.g. `http://otel-collector:4318/v1/traces`.",
            },
            headers: {
              type: "object",
              additionalProperties: secretRef,
              description: "Extra request headers (e.g. an API key, as a secret reference).",
            },
            serviceName: { type: "string", description: "`service.name`. Default `virtual-node`." },
          },
          required: ["endpoint"],
          additionalProperties: false,
        },
      },
      additionalProperties: false,
    },
    tuning: {
      type: "object",
      description:
        "Timings and limits shared by all nodes (defaults are the kubelet's; see docs/options.md).",
      properties: {
        qps: { type: "number", exclusiveMinimum: 0, description: "API requests per second. Default 50." },
        burst: { ...positiveInt, description: "API burst. Default 100." },
        leaseDurationSeconds: { ...positiveInt, description: "Node lease duration. Default 40." },
        leaseRenewIntervalMs: { ...positiveInt, description: "Default 10000." },
        nodeStatusReportIntervalMs: { ...positiveInt, description: "Default 300000." },
        pingIntervalMs: { ...positiveInt, description: "Provider ping interval. Default 10000." },
        podSyncConcurrency: { ...positiveInt, description: "Default 32." },
        statusPollFastMs: { ...positiveInt, description: "Default 1000." },
        statusPollSlowMs: { ...positiveInt, description: "Default 10000." },
        reconcileIntervalMs: { ...positiveInt, description: "Default 60000." },
        orphanGraceMs: { ...positiveInt, description: "Default 120000." },
        maxRetryDelayMs: { ...positiveInt, description: "Default 60000." },
        volumePollIntervalMs: { ...positiveInt, description: "Default 2000." },
      },
      additionalProperties: false,
    },
  },
  required: ["apiVersion", "kind", "nodes"],
  additionalProperties: false,
} as const;
