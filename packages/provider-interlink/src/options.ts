/**
 * Options of `createInterLinkProvider`, validated once at start: every error names the option,
 * so a typo in an agent's config fails at boot instead of at the first pod.
 */
import { readFileSync } from "node:fs";
import { InvalidInputError } from "@virtual-node/core";
import type { Clock, NodeDescription } from "@virtual-node/core";
import type { CloudCallerOptions, RateLimitTable } from "@virtual-node/core/provider-kit";

/** TLS client options for an `https://` interLink API (mTLS when `certFile`/`keyFile` are set). */
export interface InterLinkTlsOptions {
  /** PEM CA bundle that signs the interLink server's certificate (default: the system roots). */
  caFile?: string;
  /** PEM client certificate, for mTLS. */
  certFile?: string;
  /** PEM private key of `certFile`. */
  keyFile?: string;
  /** Server name to verify, when the URL's host is an IP or a tunnel endpoint. */
  serverName?: string;
}

/** Per-call timeouts, in milliseconds. */
export interface InterLinkTimeouts {
  /** `/create`: a site may run a job-script builder and `sbatch`. Default 60 000. */
  createMs?: number;
  /** `/status`, `/delete`, `/pinglink`. Default 20 000. */
  requestMs?: number;
  /** One `/getLogs` read. Default 30 000. */
  logsMs?: number;
}

/** Options of `createInterLinkProvider`. */
export interface InterLinkProviderOptions {
  /**
   * The interLink API: `http://host:port`, `https://host:port` or `unix:///path/to/socket`
   * (interLink's `InterlinkAddress` style).
   */
  url: string;
  /**
   * The virtual node this interLink endpoint serves. interLink's status answer carries no node,
   * so the endpoint is the ownership mark: give each virtual node its own interLink API.
   */
  nodeName: string;
  /** A file holding the bearer token (re-read whenever it changes, e.g. a rotated OIDC token). */
  tokenFile?: string;
  tls?: InterLinkTlsOptions;
  timeouts?: InterLinkTimeouts;
  /** Passed through as `jobscriptURL`: the interLink server asks this builder for the job script. */
  jobScriptBuilderURL?: string;
  /** The site mounts PersistentVolumeClaims; without it PVC pods are rejected naming the volume. Default false. */
  persistentVolumes?: boolean;
  /** Extended resources pods may request (declared capability). Default `["nvidia.com/gpu"]`. */
  extendedResources?: readonly string[];
  /** Node capacity and labels when the site's ping reports none. */
  node?: NodeDescription;
  /** Requests per second to the interLink API, per call. Default: create 20/s (burst 50), others 10/s (burst 20). */
  limits?: RateLimitTable;
  /** Status freshness: how old a shared `/status` answer may be while pods start (default 2 000) and when all are steady (default 15 000). */
  statusIntervals?: { fastMs?: number; slowMs?: number };
  /** Poll interval while following logs. Default 2 000. */
  logPollMs?: number;
  clock?: Clock;
  /** Where the provider's API metrics go (usually the agent's registry). */
  registry?: CloudCallerOptions["registry"];
}

/** Where and how to connect, after validation. */
export interface ResolvedEndpoint {
  /** Base URL requests are made against (`http://localhost` for a socket). */
  baseUrl: string;
  socketPath?: string;
  tls?: { ca?: string; cert?: string; key?: string; servername?: string };
}

/** Validated options. */
export interface ValidatedOptions {
  endpoint: ResolvedEndpoint;
  nodeName: string;
  tokenFile?: string;
  timeouts: Required<InterLinkTimeouts>;
  jobScriptBuilderURL?: string;
  persistentVolumes: boolean;
  extendedResources: readonly string[];
  node: NodeDescription;
  limits: RateLimitTable;
  fastMs: number;
  slowMs: number;
  logPollMs: number;
}

/** Default rate limits by interLink call. */
export const INTERLINK_LIMITS: RateLimitTable = {
  create: { ratePerSecond: 20, burst: 50 },
  default: { ratePerSecond: 10, burst: 20 },
};

function fail(option: string, message: string): never {
  throw new InvalidInputError(`interLink option ${option}: ${message}`, { field: option });
}

function readPem(option: string, path: string | undefined): string | undefined {
  if (path === undefined) return undefined;
  try {
    return readFileSync(path, "utf8");
  } catch (error) {
    return fail(option, `cannot read ${path} (${(error as NodeJS.ErrnoException).code ?? "error"})`);
  }
}

function positive(option: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isFinite(value) || value <= 0)
    fail(option, `must be a positive number of milliseconds, got ${String(value)}`);
  return value;
}

function endpointOf(options: InterLinkProviderOptions): ResolvedEndpoint {
  if (typeof options.url !== "string" || options.url === "") fail("url", "is required");
  if (options.url.startsWith("unix://")) {
    const socketPath = options.url.slice("unix://".length);
    if (!socketPath.startsWith("/"))
      fail("url", "a unix:// URL needs an absolute socket path (unix:///run/interlink.sock)");
    if (options.tls !== undefined) fail("tls", "is not used with a unix:// socket");
    return { baseUrl: "http://localhost", socketPath };
  }
  let url: URL;
  try {
    url = new URL(options.url);
  } catch {
    return fail("url", `not a URL: ${options.url}`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:")
    fail("url", `must be http://, https:// or unix://, got ${url.protocol}`);
  if (url.username !== "" || url.password !== "")
    fail("url", "must not carry credentials; use tokenFile or tls");
  const baseUrl = `${url.origin}${url.pathname.replace(/\/+$/, "")}`;
  if (url.protocol === "http:") {
    if (options.tls !== undefined) fail("tls", "needs an https:// url");
    return { baseUrl };
  }
  const tls = options.tls ?? {};
  if ((tls.certFile === undefined) !== (tls.keyFile === undefined)) {
    fail(
      tls.certFile === undefined ? "tls.certFile" : "tls.keyFile",
      "mTLS needs both tls.certFile and tls.keyFile",
    );
  }
  const ca = readPem("tls.caFile", tls.caFile);
  const cert = readPem("tls.certFile", tls.certFile);
  const key = readPem("tls.keyFile", tls.keyFile);
  return {
    baseUrl,
    tls: {
      ...(ca === undefined ? {} : { ca }),
      ...(cert === undefined ? {} : { cert }),
      ...(key === undefined ? {} : { key }),
      ...(tls.serverName === undefined ? {} : { servername: tls.serverName }),
    },
  };
}

/** Validates the options; throws `InvalidInputError` whose `field` names the bad option. */
export function validateOptions(options: InterLinkProviderOptions): ValidatedOptions {
  const endpoint = endpointOf(options);
  if (typeof options.nodeName !== "string" || options.nodeName === "") fail("nodeName", "is required");
  if (options.tokenFile !== undefined) {
    // Read once now so a wrong path fails at start; later reads follow the file's changes.
    try {
      readFileSync(options.tokenFile, "utf8");
    } catch (error) {
      fail(
        "tokenFile",
        `cannot read ${options.tokenFile} (${(error as NodeJS.ErrnoException).code ?? "error"})`,
      );
    }
  }
  if (options.jobScriptBuilderURL !== undefined) {
    try {
      const u = new URL(options.jobScriptBuilderURL);
      if (u.protocol !== "http:" && u.protocol !== "https:" && u.protocol !== "http+unix:")
        throw new TypeError();
    } catch {
      fail("jobScriptBuilderURL", `must be an http(s) URL, got ${options.jobScriptBuilderURL}`);
    }
  }
  const t = options.timeouts ?? {};
  return {
    endpoint,
    nodeName: options.nodeName,
    ...(options.tokenFile === undefined ? {} : { tokenFile: options.tokenFile }),
    timeouts: {
      createMs: positive("timeouts.createMs", t.createMs, 60_000),
      requestMs: positive("timeouts.requestMs", t.requestMs, 20_000),
      logsMs: positive("timeouts.logsMs", t.logsMs, 30_000),
    },
    ...(options.jobScriptBuilderURL === undefined
      ? {}
      : { jobScriptBuilderURL: options.jobScriptBuilderURL }),
    persistentVolumes: options.persistentVolumes ?? false,
    extendedResources: options.extendedResources ?? ["nvidia.com/gpu"],
    node: options.node ?? {},
    limits: options.limits ?? INTERLINK_LIMITS,
    fastMs: positive("statusIntervals.fastMs", options.statusIntervals?.fastMs, 2_000),
    slowMs: positive("statusIntervals.slowMs", options.statusIntervals?.slowMs, 15_000),
    logPollMs: positive("logPollMs", options.logPollMs, 2_000),
  };
}
