/**
 * Loads a kubeconfig (a file, `KUBECONFIG`, `~/.kube/config`, or the in-cluster service account)
 * into the two calls `KubeClient` makes of it.
 *
 * Why not always `@kubernetes/client-node`'s `KubeConfig`: importing it loads the library's whole
 * generated API (every type and client), which costs an agent about 75 MiB of RSS and 25 MiB of heap
 * before it serves a single pod (measured: a bare Node 24 process 43 MiB RSS, with client-node
 * 119 MiB). The agent only needs a server URL, a CA, and a client certificate or bearer token. So the
 * common cases — certificates and tokens inline or in files, a token file re-read as it rotates, the
 * in-cluster service account — are read here, and everything else (exec and auth-provider plugins,
 * basic auth, proxies, several files in `KUBECONFIG`) is handed to client-node's `KubeConfig`,
 * loaded only then.
 */
import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { homedir } from "node:os";
import { dirname, isAbsolute, join } from "node:path";
import { parse } from "yaml";
import { InvalidInputError } from "../errors.js";

/** The server of the current context, as `KubeClient` reads it. */
export interface KubeConfigCluster {
  readonly server: string;
  readonly skipTLSVerify?: boolean;
  readonly tlsServerName?: string;
  /** The cluster CA, base64 (`certificate-authority-data`). */
  readonly caData?: string;
  /** The cluster CA file (`certificate-authority`), absolute. */
  readonly caFile?: string;
}

/** TLS material and headers for a request, filled in by {@link KubeConfigSource.applyToHTTPSOptions}. */
export interface KubeHttpsOptions {
  ca?: Buffer | string;
  cert?: Buffer | string;
  key?: Buffer | string;
  headers?: Record<string, string>;
}

/**
 * What core needs of a kubeconfig. `@kubernetes/client-node`'s `KubeConfig` is one; so is what
 * {@link loadKubeConfig} returns.
 */
export interface KubeConfigSource {
  getCurrentCluster(): KubeConfigCluster | null;
  /** Called before each connection: a rotating token file is read again. */
  applyToHTTPSOptions(options: KubeHttpsOptions): Promise<void>;
}

export interface LoadKubeConfigOptions {
  /** A kubeconfig file. Default: `KUBECONFIG`, `~/.kube/config`, then the in-cluster service account. */
  readonly file?: string;
  /** Use the in-cluster service account (as a pod). */
  readonly inCluster?: boolean;
  /** Default: `process.env`. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Where the service account's `token` and `ca.crt` are (default: the kubelet's mount). */
  readonly serviceAccountDir?: string;
}

export const SERVICE_ACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount";

interface RawNamed<T> {
  name?: string;
  cluster?: T;
  user?: T;
  context?: T;
}
type Raw = Record<string, unknown>;

/** Loads the kubeconfig `options` name (see {@link LoadKubeConfigOptions}). */
export function loadKubeConfig(options: LoadKubeConfigOptions = {}): KubeConfigSource {
  const env = options.env ?? process.env;
  if (options.inCluster === true) return inClusterConfig(env, options.serviceAccountDir);
  if (options.file !== undefined) return fromFile(options.file);
  const fromEnv = env.KUBECONFIG;
  if (fromEnv !== undefined && fromEnv !== "") {
    const files = fromEnv.split(":").filter((f) => f !== "");
    // Several files merge by client-go's rules: client-node implements them.
    if (files.length !== 1)
      return clientNode((kc) => {
        kc.loadFromDefault();
      });
    return fromFile(files[0] ?? "");
  }
  const home = join(env.HOME ?? homedir(), ".kube", "config");
  if (existsSync(home)) return fromFile(home);
  if (env.KUBERNETES_SERVICE_HOST) return inClusterConfig(env, options.serviceAccountDir);
  throw new InvalidInputError("no kubeconfig: set KUBECONFIG, create ~/.kube/config, or run in a pod", {
    field: "kubeconfig",
  });
}

function inClusterConfig(
  env: Readonly<Record<string, string | undefined>>,
  dir = SERVICE_ACCOUNT_DIR,
): KubeConfigSource {
  const host = env.KUBERNETES_SERVICE_HOST;
  const port = env.KUBERNETES_SERVICE_PORT ?? "443";
  if (host === undefined || host === "")
    throw new InvalidInputError("in-cluster config needs KUBERNETES_SERVICE_HOST", { field: "kubeconfig" });
  const server = `https://${host.includes(":") ? `[${host}]` : host}:${port}`;
  const ca = readFileSync(join(dir, "ca.crt"));
  const tokenFile = join(dir, "token");
  return new StaticKubeConfig({ server, caFile: join(dir, "ca.crt") }, { ca, tokenFile });
}

interface Credentials {
  ca?: Buffer | string;
  cert?: Buffer | string;
  key?: Buffer | string;
  token?: string;
  /** Read again on every `applyToHTTPSOptions` (projected tokens rotate). */
  tokenFile?: string;
}

class StaticKubeConfig implements KubeConfigSource {
  constructor(
    private readonly cluster: KubeConfigCluster,
    private readonly credentials: Credentials,
  ) {}

  getCurrentCluster(): KubeConfigCluster {
    return this.cluster;
  }

  applyToHTTPSOptions(options: KubeHttpsOptions): Promise<void> {
    const { ca, cert, key, token, tokenFile } = this.credentials;
    if (ca !== undefined) options.ca = ca;
    if (cert !== undefined) options.cert = cert;
    if (key !== undefined) options.key = key;
    const bearer = tokenFile === undefined ? token : readFileSync(tokenFile, "utf8").trim();
    if (bearer !== undefined && bearer !== "")
      options.headers = { ...options.headers, Authorization: `Bearer ${bearer}` };
    return Promise.resolve();
  }
}

/** What this loader reads of a user; any other key means a plugin or scheme client-node handles. */
const USER_KEYS = new Set([
  "client-certificate",
  "client-certificate-data",
  "client-key",
  "client-key-data",
  "token",
  "tokenFile",
]);
const CLUSTER_KEYS = new Set([
  "server",
  "certificate-authority",
  "certificate-authority-data",
  "insecure-skip-tls-verify",
  "tls-server-name",
  "extensions",
]);

function fromFile(file: string): KubeConfigSource {
  let doc: Raw;
  try {
    doc = (parse(readFileSync(file, "utf8")) ?? {}) as Raw;
  } catch (error) {
    throw new InvalidInputError(`cannot read the kubeconfig ${file}: ${(error as Error).message}`, {
      field: "kubeconfig",
      cause: error,
    });
  }
  const currentName = doc["current-context"];
  const contexts = (doc.contexts ?? []) as RawNamed<Raw>[];
  const context = contexts.find((c) => c.name === currentName)?.context ?? contexts[0]?.context;
  if (context === undefined)
    throw new InvalidInputError(`the kubeconfig ${file} has no context`, { field: "kubeconfig" });
  const cluster = ((doc.clusters ?? []) as RawNamed<Raw>[]).find((c) => c.name === context.cluster)?.cluster;
  if (cluster === undefined || typeof cluster.server !== "string")
    throw new InvalidInputError(`the kubeconfig ${file} has no cluster for its current context`, {
      field: "kubeconfig",
    });
  const user = ((doc.users ?? []) as RawNamed<Raw>[]).find((u) => u.name === context.user)?.user ?? {};
  const simple =
    Object.keys(user).every((k) => USER_KEYS.has(k)) &&
    Object.keys(cluster).every((k) => CLUSTER_KEYS.has(k));
  if (!simple)
    return clientNode((kc) => {
      kc.loadFromFile(file);
    });
  const base = dirname(file);
  const path = (p: unknown): string => (isAbsolute(String(p)) ? String(p) : join(base, String(p)));
  const material = (data: unknown, fileKey: unknown): Buffer | undefined =>
    typeof data === "string"
      ? Buffer.from(data, "base64")
      : typeof fileKey === "string"
        ? readFileSync(path(fileKey))
        : undefined;
  const credentials: Credentials = {};
  const ca = material(cluster["certificate-authority-data"], cluster["certificate-authority"]);
  const cert = material(user["client-certificate-data"], user["client-certificate"]);
  const key = material(user["client-key-data"], user["client-key"]);
  if (ca !== undefined) credentials.ca = ca;
  if (cert !== undefined) credentials.cert = cert;
  if (key !== undefined) credentials.key = key;
  if (typeof user.token === "string") credentials.token = user.token;
  if (typeof user.tokenFile === "string") credentials.tokenFile = path(user.tokenFile);
  return new StaticKubeConfig(
    {
      server: cluster.server,
      ...(typeof cluster["certificate-authority-data"] === "string"
        ? { caData: cluster["certificate-authority-data"] }
        : {}),
      ...(typeof cluster["certificate-authority"] === "string"
        ? { caFile: path(cluster["certificate-authority"]) }
        : {}),
      ...(cluster["insecure-skip-tls-verify"] === true ? { skipTLSVerify: true } : {}),
      ...(typeof cluster["tls-server-name"] === "string"
        ? { tlsServerName: cluster["tls-server-name"] }
        : {}),
    },
    credentials,
  );
}

interface ClientNodeKubeConfig extends KubeConfigSource {
  loadFromFile(file: string): void;
  loadFromDefault(): void;
}

/** client-node's `KubeConfig`, loaded on demand (synchronously: Node ≥ 22.12 requires ES modules). */
function clientNode(load: (kc: ClientNodeKubeConfig) => void): KubeConfigSource {
  const require = createRequire(import.meta.url);
  const { KubeConfig } = require("@kubernetes/client-node") as {
    KubeConfig: new () => ClientNodeKubeConfig;
  };
  const kc = new KubeConfig();
  load(kc);
  return kc;
}
