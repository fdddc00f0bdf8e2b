/**
 * Options of `createFargateProvider`, and their validation: every problem is reported at start,
 * with the option's name, before any AWS call.
 */
import type { ECSClientConfig } from "@aws-sdk/client-ecs";
import { InvalidInputError } from "@virtual-node/core";
import type { Clock } from "@virtual-node/core";
import type { CloudCallerOptions, RateLimitTable } from "@virtual-node/core/provider-kit";

/** One entry of an ECS capacity provider strategy. */
export interface CapacityProviderEntry {
  capacityProvider: "FARGATE" | "FARGATE_SPOT";
  weight?: number;
  base?: number;
}

/** How Kubernetes Secret values reach a task. */
export interface SecretMirroringOptions {
  /**
   * Where the values are copied, referenced by ARN in the task definition's `secrets`:
   * - `secretsmanager`: one AWS Secrets Manager secret per Kubernetes Secret and node, a JSON
   *   document of the keys pods use (`valueFrom` = `<secret ARN>:<key>::`);
   * - `ssm`: one SSM Parameter Store `SecureString` parameter per mirrored value, under a
   *   hierarchical name `<prefix><node>/<namespace>/secret/<Secret>/<env|file>.<key>`
   *   (`valueFrom` = the parameter ARN). Pull-secret logins cannot go there (ECS reads
   *   `repositoryCredentials` from Secrets Manager only): give `repositoryCredentials` for them.
   */
  store: "secretsmanager" | "ssm";
  /**
   * Name prefix of the mirrors. Default `virtual-node/` (Secrets Manager) or `/virtual-node/`
   * (SSM; there it must be a path: `/`-separated, starting and ending with `/`, at most 10 levels,
   * not starting with `aws` or `ssm`).
   */
  prefix?: string;
  /**
   * KMS key for the mirrored values. Default: the account's `aws/secretsmanager` or `aws/ssm` key.
   * The task execution role needs `kms:Decrypt` on a customer key.
   */
  kmsKeyId?: string;
  /**
   * SSM only: parameter tier. `Standard` (default, free, values up to 4 KB) or `Advanced`
   * (charged, values up to 8 KB). A larger value rejects the pod, naming the Secret key.
   */
  tier?: "Standard" | "Advanced";
}

/** Everything the Fargate provider needs to know. */
export interface FargateProviderOptions {
  /** ECS cluster name or ARN. */
  cluster: string;
  /** AWS Region; default from the SDK's chain (`AWS_REGION`, profile). */
  region?: string;
  /** Subnets of the tasks' ENIs (awsvpc). At least one. */
  subnets: readonly string[];
  securityGroups?: readonly string[];
  /** Give the tasks a public IP (needed in public subnets without a NAT to pull images). Default false. */
  assignPublicIp?: boolean;
  /** Fargate platform version. Default `LATEST`. */
  platformVersion?: string;
  /** Role ECS uses to pull images, read secrets and write logs. Needed for secrets and awslogs. */
  executionRoleArn?: string;
  /** Default task role; a pod may choose another with the `fargate.virtual-node.io/task-role-arn` annotation. */
  taskRoleArn?: string;
  /** CloudWatch Logs group of the `awslogs` driver. Without it, tasks have no logs (and `kubectl logs` says so). */
  logGroup?: string;
  /** `awslogs-stream-prefix`. Default `vn`. */
  logStreamPrefix?: string;
  /** Let the awslogs driver create the log group (`awslogs-create-group`; needs `logs:CreateLogGroup`). */
  createLogGroup?: boolean;
  /** Capacity provider strategy (FARGATE / FARGATE_SPOT). Default: launch type FARGATE. */
  capacityProviderStrategy?: readonly CapacityProviderEntry[];
  /** Default `X86_64`. */
  cpuArchitecture?: "X86_64" | "ARM64";
  /** Extra tags on every task and task definition. */
  tags?: Readonly<Record<string, string>>;
  /**
   * Where Secret values go. Without it, a pod that uses a Secret (env or files) is rejected,
   * unless `allowPlainTextSecrets` is set.
   */
  secretMirroring?: SecretMirroringOptions;
  /**
   * Opt-in: put Secret values into the task definition as plain `environment` values (visible to
   * anyone who can describe task definitions). Off by default; never use it in production.
   */
  allowPlainTextSecrets?: boolean;
  /** Image of the init container that writes ConfigMap/Secret/downward API files. Needs `sh` and `base64`. */
  fileWriterImage?: string;
  /** `imagePullSecrets` name → ARN of a Secrets Manager secret with registry credentials (`repositoryCredentials`). */
  repositoryCredentials?: Readonly<Record<string, string>>;
  /** Credentials; default the SDK's default provider chain. */
  credentials?: ECSClientConfig["credentials"];
  /**
   * Extra AWS client settings for all clients (ECS, Logs, Secrets Manager, SSM), e.g. `endpoint` for a
   * simulator or a VPC endpoint. Retries are done by the provider: `maxAttempts` defaults to 1.
   */
  clientConfig?: { endpoint?: string; maxAttempts?: number };
  /** Request rates per API; merged over {@link ECS_LIMITS}. */
  limits?: RateLimitTable;
  /** Node capacity. Defaults from Fargate's default quotas (e.g. 4000 vCPU). */
  capacity?: { cpu?: string; memory?: string; pods?: string };
  /** A task stuck before RUNNING longer than this is reported Failed. Default 15 minutes. */
  startDeadlineMs?: number;
  /**
   * How often unused mirrors are looked for (Secrets Manager ListSecrets / SSM DescribeParameters by
   * the node's tag). Default 10 minutes.
   */
  mirrorSweepIntervalMs?: number;
  /** Status polling intervals (list-based). Defaults 2 s while some pod changes, 15 s when all settled. */
  statusIntervalMs?: { fast?: number; slow?: number };
  clock?: Clock;
  /** prom-client registry for the API call metrics. */
  registry?: CloudCallerOptions["registry"];
}

/** The options after validation, with defaults filled. */
export interface ResolvedFargateOptions extends FargateProviderOptions {
  logStreamPrefix: string;
  platformVersion: string;
  cpuArchitecture: "X86_64" | "ARM64";
  fileWriterImage: string;
  startDeadlineMs: number;
  mirrorSweepIntervalMs: number;
}

/** Default image of the file-writer init container (public ECR mirror of busybox). */
export const DEFAULT_FILE_WRITER_IMAGE = "public.ecr.aws/docker/library/busybox:1.36";

const ARN = /^arn:aws[a-z-]*:[a-z0-9-]+:[a-z0-9-]*:\d{12}:.+$/;

/** An SSM parameter path: `/a/b/`. */
const SSM_PREFIX = /^(\/[A-Za-z0-9_.-]+)+\/$/;

function fail(option: string, message: string): never {
  throw new InvalidInputError(`FargateProviderOptions.${option}: ${message}`, { field: option });
}

/** The checks of `secretMirroring` (see {@link SecretMirroringOptions}). */
function validateMirroring(mirroring: SecretMirroringOptions, options: FargateProviderOptions): void {
  const store = mirroring.store as string;
  if (store !== "secretsmanager" && store !== "ssm") {
    fail("secretMirroring.store", `must be \`secretsmanager\` or \`ssm\`, not ${JSON.stringify(store)}`);
  }
  if (options.executionRoleArn === undefined) {
    fail("executionRoleArn", "is required with secretMirroring (ECS reads secrets with the execution role)");
  }
  const tier = mirroring.tier as string | undefined;
  if (tier !== undefined) {
    if (store !== "ssm") fail("secretMirroring.tier", "applies to store `ssm` only");
    if (tier !== "Standard" && tier !== "Advanced") {
      fail("secretMirroring.tier", `must be Standard or Advanced, not ${JSON.stringify(tier)}`);
    }
  }
  if (store === "ssm") {
    const prefix = mirroring.prefix;
    if (prefix !== undefined) {
      if (!SSM_PREFIX.test(prefix) || prefix.length > 200) {
        fail(
          "secretMirroring.prefix",
          `${JSON.stringify(prefix)} is not an SSM path: \`/\`-separated levels of [A-Za-z0-9_.-], starting and ending with \`/\`, at most 200 characters`,
        );
      }
      if (/^\/(aws|ssm)/i.test(prefix)) {
        fail("secretMirroring.prefix", "SSM parameter names cannot start with `aws` or `ssm`");
      }
      if (prefix.split("/").length - 2 > 10) fail("secretMirroring.prefix", "at most 10 levels");
    }
    const key = mirroring.kmsKeyId;
    if (key !== undefined && !/^[a-zA-Z0-9:/_-]{1,256}$/.test(key)) {
      fail("secretMirroring.kmsKeyId", "not a KMS key ID, alias or ARN (SSM's KeyId pattern)");
    }
  }
}

/** Checks the options and fills defaults; throws `InvalidInputError` naming the first bad option. */
export function resolveFargateOptions(options: FargateProviderOptions): ResolvedFargateOptions {
  if (typeof options.cluster !== "string" || options.cluster.trim() === "") fail("cluster", "is required");
  if (!Array.isArray(options.subnets) || options.subnets.length === 0) {
    fail("subnets", "give at least one subnet ID (awsvpc networking)");
  }
  options.subnets.forEach((s: unknown, i) => {
    if (typeof s !== "string" || !/^subnet-[0-9a-z]+$/.test(s))
      fail(`subnets[${i}]`, `${JSON.stringify(s)} is not a subnet ID`);
  });
  (options.securityGroups ?? []).forEach((s, i) => {
    if (!/^sg-[0-9a-z]+$/.test(s))
      fail(`securityGroups[${i}]`, `${JSON.stringify(s)} is not a security group ID`);
  });
  if (options.subnets.length > 16) fail("subnets", "ECS accepts at most 16 subnets");
  if ((options.securityGroups?.length ?? 0) > 5)
    fail("securityGroups", "ECS accepts at most 5 security groups");
  for (const key of ["executionRoleArn", "taskRoleArn"] as const) {
    const value = options[key];
    if (value !== undefined && !ARN.test(value)) fail(key, `${JSON.stringify(value)} is not an IAM role ARN`);
  }
  if (options.logGroup !== undefined && !/^[.\-_/#A-Za-z0-9]{1,512}$/.test(options.logGroup)) {
    fail("logGroup", "not a valid CloudWatch Logs group name");
  }
  if (options.logGroup !== undefined && options.executionRoleArn === undefined) {
    fail("executionRoleArn", "is required with logGroup (the awslogs driver writes with the execution role)");
  }
  if (options.secretMirroring !== undefined) validateMirroring(options.secretMirroring, options);
  const strategy = options.capacityProviderStrategy ?? [];
  strategy.forEach((entry, i) => {
    if (!["FARGATE", "FARGATE_SPOT"].includes(entry.capacityProvider)) {
      fail(`capacityProviderStrategy[${i}].capacityProvider`, "must be FARGATE or FARGATE_SPOT");
    }
    if (
      entry.weight !== undefined &&
      (!Number.isInteger(entry.weight) || entry.weight < 0 || entry.weight > 1000)
    ) {
      fail(`capacityProviderStrategy[${i}].weight`, "must be an integer 0..1000");
    }
    if (
      entry.base !== undefined &&
      (!Number.isInteger(entry.base) || entry.base < 0 || entry.base > 100000)
    ) {
      fail(`capacityProviderStrategy[${i}].base`, "must be an integer 0..100000");
    }
  });
  if (options.cpuArchitecture !== undefined && !["X86_64", "ARM64"].includes(options.cpuArchitecture)) {
    fail("cpuArchitecture", "must be X86_64 or ARM64");
  }
  for (const [name, arn] of Object.entries(options.repositoryCredentials ?? {})) {
    if (!ARN.test(arn)) fail(`repositoryCredentials.${name}`, "must be a Secrets Manager secret ARN");
  }
  for (const [key, value] of Object.entries(options.tags ?? {})) {
    if (key.length > 128 || value.length > 256 || key.startsWith("aws:")) {
      fail(`tags.${key}`, "AWS tags: key ≤ 128, value ≤ 256 characters, no `aws:` prefix");
    }
  }
  if (options.startDeadlineMs !== undefined && !(options.startDeadlineMs > 0)) {
    fail("startDeadlineMs", "must be a positive number of ms");
  }
  return {
    ...options,
    logStreamPrefix: options.logStreamPrefix ?? "vn",
    platformVersion: options.platformVersion ?? "LATEST",
    cpuArchitecture: options.cpuArchitecture ?? "X86_64",
    fileWriterImage: options.fileWriterImage ?? DEFAULT_FILE_WRITER_IMAGE,
    startDeadlineMs: options.startDeadlineMs ?? 15 * 60_000,
    mirrorSweepIntervalMs: options.mirrorSweepIntervalMs ?? 10 * 60_000,
  };
}
