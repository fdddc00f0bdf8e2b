/**
 * A stateful ARM simulator for Microsoft.ContainerInstance, served over HTTPS on 127.0.0.1 so the
 * real `ContainerInstanceManagementClient` talks to it through its `endpoint` option.
 *
 * Wire protocol as ARM speaks it (see the shared fixtures' examples and the azure-cli recording):
 * PUT answers 201/200 with an absolute `Azure-AsyncOperation` URL, the operation reads
 * `InProgress` until the group is provisioned; DELETE answers 202 + `Azure-AsyncOperation` (or 204
 * when missing); list pages carry absolute `nextLink`s; errors are `{error:{code,message}}`;
 * throttling is 429 `SubscriptionRequestsThrottled` with `Retry-After`; every response carries
 * `x-ms-ratelimit-remaining-subscription-{reads,writes}`. Secure values, secret volume contents,
 * registry passwords and storage keys are never returned, as in ACI.
 *
 * Time comes from the injected clock; groups move through their states lazily, computed at each
 * request from the times they were deployed.
 *
 * Standby pools (api-version 2026-05-01): container group profiles (seeded with `addProfile`,
 * read through `CGProfile_Get*`) and pools of pre-provisioned groups made from one profile revision
 * (`addStandbyPool`: N ready groups, refilled one every `refillIntervalMs` while below capacity).
 * A PUT naming a profile and a pool claims a ready group, which runs `timing.claimMs` after the
 * PUT; with none ready the group is created cold from the profile (`timing.pullMs`), or the PUT
 * fails (409) when `failContainerGroupCreateOnReuseFailure` is set. These timings are the
 * simulator's parameters, not Azure's figures (Microsoft publishes none).
 */
import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { createServer } from "node:https";
import type { IncomingMessage, Server, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { fileURLToPath } from "node:url";
import type { Clock } from "@virtual-node/core";
import { systemClock } from "@virtual-node/core";
import { WebSocketServer } from "ws";
import type { WebSocket } from "ws";
import { parseProgram, runProgram } from "./program.js";
import { SwaggerValidator } from "./swagger.js";
import type { SchemaViolation } from "./swagger.js";

const tls = (file: string) => readFileSync(fileURLToPath(new URL(`./tls/${file}`, import.meta.url)), "utf8");
/** The test-only CA (self-signed, SAN 127.0.0.1) clients must trust. */
export const SIMULATOR_CA = tls("cert.pem");

/** api-versions accepted: what `@azure/arm-containerinstance` 9.1 sends, and the swagger's. */
export const ACCEPTED_API_VERSIONS = ["2023-05-01", "2026-05-01"] as const;

type Json = Record<string, unknown>;

/** One recorded request. */
export interface RecordedRequest {
  operation: string;
  method: string;
  path: string;
  query: Record<string, string>;
  body: unknown;
  status: number;
  at: number;
}

/** A request the swagger validation rejected. */
export interface RecordedViolation extends SchemaViolation {
  operation: string;
}

/** Timing of the simulated cloud, in (clock) ms. */
export interface SimulatorTiming {
  /** From PUT to images pulled. Default 2000. */
  pullMs: number;
  /** From a container exiting to its restart (restart policy permitting). Default 1000. */
  restartDelayMs: number;
  /** From DELETE to the group being gone. Default 1000. */
  deleteMs: number;
  /** From a claim PUT to the claimed (pre-provisioned) group running. Default 500. */
  claimMs: number;
}

/** A standby pool of the simulator (the Microsoft.StandbyPool resource's state). */
export interface SimulatorPoolOptions {
  /** Resource ID of the profile the pool's groups are made from, and its revision. */
  profileId: string;
  revision: number;
  /** `elasticityProfile.maxReadyCapacity`. */
  maxReadyCapacity: number;
  /** Ready groups at the start. Default `maxReadyCapacity`. */
  ready?: number;
  /** While below capacity, one more group is ready every this many ms (the refill rate). */
  refillIntervalMs: number;
}

/** What happened to a pool's claims. */
export interface PoolStatus {
  ready: number;
  /** Claims that got a pre-provisioned group. */
  claimed: number;
  /** Claims with no ready group, created cold from the profile. */
  coldFallbacks: number;
  /** Claims with no ready group refused (`failContainerGroupCreateOnReuseFailure`). */
  refused: number;
}

interface SimPool extends SimulatorPoolOptions {
  ready: number;
  /** Since when the pool has been refilling (below capacity). */
  anchor: number;
  claimed: number;
  coldFallbacks: number;
  refused: number;
}

/** An injected failure. `count` requests matching `operation` (a name or `*`) get it. */
export interface SimulatorFault {
  operation: string;
  count: number;
  status: number;
  code: string;
  message: string;
  retryAfterSeconds?: number;
}

/** What a command run by exec does: its output and exit code. */
export type ExecHandler = (
  argv: string[],
  group: string,
  container: string,
) => { output: string; exitCode: number } | undefined;

export interface AciSimulatorOptions {
  clock?: Clock;
  subscriptionId?: string;
  resourceGroups?: readonly string[];
  location?: string;
  /** Groups per list page. Default 100. */
  pageSize?: number;
  timing?: Partial<SimulatorTiming>;
  /** Requests per window before reads/writes are throttled. Default 12 000 reads, 1 200 writes per hour. */
  readQuota?: number;
  writeQuota?: number;
  /** Commands exec knows beyond the built-ins (echo, exit, cat, true, false, sh -c). */
  exec?: ExecHandler;
}

interface Deployment {
  body: Json;
  at: number;
  generation: number;
}

interface SimGroup {
  rg: string;
  name: string;
  location: string;
  tags: Record<string, string>;
  deployment: Deployment;
  ip: string;
  /** From the PUT to images pulled (cold) or to the claimed group running. */
  startMs: number;
  /** ARM's `isCreatedFromStandbyPool`, for groups created from a profile. */
  fromPool?: boolean;
  /** A provisioning failure decided at PUT (bad image, injected). */
  failure?: { code: string; message: string };
  stuck: boolean;
  deletingAt?: number;
  stoppedAt?: number;
}

interface ContainerView {
  name: string;
  instanceView: Json;
  running: boolean;
  /** Ended for good (no restart coming). */
  final?: { exitCode: number };
  logs: { at: number; text: string }[];
}

interface GroupView {
  provisioningState: string;
  state: string;
  containers: ContainerView[];
  initContainers: ContainerView[];
}

const CG_PATH =
  /^\/subscriptions\/([^/]+)\/resourceGroups\/([^/]+)\/providers\/Microsoft\.ContainerInstance\/containerGroups(?:\/([^/]+))?(?:\/(restart|stop|start)|\/containers\/([^/]+)\/(logs|exec|attach))?$/i;
const PROFILE_PATH =
  /^\/subscriptions\/([^/]+)\/resourceGroups\/([^/]+)\/providers\/Microsoft\.ContainerInstance\/containerGroupProfiles\/([^/]+)(\/revisions(?:\/([^/]+))?)?$/i;
const SUB_LIST = /^\/subscriptions\/([^/]+)\/providers\/Microsoft\.ContainerInstance\/containerGroups$/i;
const LOCATION_PATH =
  /^\/subscriptions\/([^/]+)\/providers\/Microsoft\.ContainerInstance\/locations\/([^/]+)\/(usages|capabilities|operations\/([^/]+))$/i;

const FIXTURES = fileURLToPath(new URL("../fixtures/2026-05-01/examples/", import.meta.url));
const fixture = (name: string): Json => JSON.parse(readFileSync(`${FIXTURES}${name}`, "utf8")) as Json;

const SWAGGER_PREFIX =
  "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.ContainerInstance/containerGroups/{containerGroupName}";

/** The simulator. `start()` it, give clients `url` and {@link SIMULATOR_CA}, `close()` it. */
export class AciSimulator {
  readonly clock: Clock;
  readonly subscriptionId: string;
  readonly location: string;
  readonly requests: RecordedRequest[] = [];
  readonly violations: RecordedViolation[] = [];
  readonly timing: SimulatorTiming;
  readonly resourceGroups: Set<string>;
  pageSize: number;
  readonly #validator = new SwaggerValidator();
  readonly #groups = new Map<string, SimGroup>();
  readonly #operations = new Map<string, { key: string; kind: "create" | "delete"; generation: number }>();
  readonly #execSessions = new Map<
    string,
    { group: string; container: string; command: string; password: string; attach: boolean }
  >();
  readonly #faults: SimulatorFault[] = [];
  readonly #profiles = new Map<string, { location: string; revisions: Json[] }>();
  readonly #pools = new Map<string, SimPool>();
  readonly #options: AciSimulatorOptions;
  #server: Server | undefined;
  #wss: WebSocketServer | undefined;
  #url = "";
  #generation = 0;
  #ipCounter = 4;
  #reads = 0;
  #writes = 0;
  #windowStart = 0;
  /** Images whose pull fails (ACI: `InaccessibleImage`). */
  readonly badImages = new Set<string>(["sim/does-not-exist:latest"]);
  /** Group names (or `*`) whose provisioning never finishes. */
  readonly stuckGroups = new Set<string>();

  constructor(options: AciSimulatorOptions = {}) {
    this.#options = options;
    this.clock = options.clock ?? systemClock;
    this.subscriptionId = options.subscriptionId ?? "00000000-0000-0000-0000-000000000000";
    this.location = options.location ?? "westeurope";
    this.resourceGroups = new Set(options.resourceGroups ?? ["vn-rg"]);
    this.pageSize = options.pageSize ?? 100;
    this.timing = { pullMs: 2000, restartDelayMs: 1000, deleteMs: 1000, claimMs: 500, ...options.timing };
    this.#windowStart = this.clock.now();
  }

  /** Base URL, e.g. `https://127.0.0.1:43123`. */
  get url(): string {
    return this.#url;
  }

  async start(): Promise<string> {
    const server = createServer({ key: tls("key.pem"), cert: SIMULATOR_CA }, (req, res) => {
      void this.#handle(req, res);
    });
    const wss = new WebSocketServer({ noServer: true });
    server.on("upgrade", (req, socket, head) => {
      const id = /^\/ws\/([^/?]+)/.exec(req.url ?? "")?.[1];
      const session = id === undefined ? undefined : this.#execSessions.get(id);
      if (session === undefined || id === undefined) {
        socket.destroy();
        return;
      }
      this.#execSessions.delete(id);
      wss.handleUpgrade(req, socket, head, (ws) => {
        this.#runSession(ws, session);
      });
    });
    this.#server = server;
    this.#wss = wss;
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    this.#url = `https://127.0.0.1:${String((server.address() as AddressInfo).port)}`;
    return this.#url;
  }

  async close(): Promise<void> {
    for (const client of this.#wss?.clients ?? []) client.terminate();
    this.#wss?.close();
    const server = this.#server;
    if (server === undefined) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => {
      server.close(() => {
        resolve();
      });
    });
  }

  /** Queue a failure for the next `count` requests of `operation` (`*` = any). */
  inject(fault: Partial<SimulatorFault> & { operation: string }): void {
    this.#faults.push({
      count: 1,
      status: 500,
      code: "InternalServerError",
      message: "injected failure",
      ...fault,
    });
  }

  /** Queue `count` throttles (429 `SubscriptionRequestsThrottled`) for `operation`. */
  throttle(operation: string, count = 1, retryAfterSeconds = 0): void {
    this.inject({
      operation,
      count,
      status: 429,
      code: "SubscriptionRequestsThrottled",
      message: "Number of requests for subscription exceeded the limit. Please try again after some time.",
      retryAfterSeconds,
    });
  }

  /** Requests per operation name. */
  counts(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const r of this.requests) out[r.operation] = (out[r.operation] ?? 0) + 1;
    return out;
  }

  /** Every request body, serialized, for scanning (e.g. for Secret values in plain text). */
  bodies(): string[] {
    return this.requests.filter((r) => r.body !== undefined).map((r) => JSON.stringify(r.body));
  }

  /** Names of the groups in a resource group (not yet gone). */
  groupNames(rg?: string): string[] {
    return [...this.#groups.values()]
      .filter((g) => (rg === undefined || g.rg === rg) && !this.#gone(g))
      .map((g) => g.name);
  }

  /** The stored PUT body of a group (with secure values, as the service keeps them). */
  storedBody(rg: string, name: string): Json | undefined {
    return this.#groups.get(key(rg, name))?.deployment.body;
  }

  /**
   * Creates (or revises) a container group profile, as `az container container-group-profile
   * create` would; the body is checked against the swagger's `ContainerGroupProfile`. Returns the
   * new revision (1, 2, …).
   */
  addProfile(rg: string, name: string, properties: Json): number {
    const body = { location: this.location, properties };
    const found = this.#validator.validate("ContainerGroupProfile", body);
    if (found.length > 0)
      throw new Error(`profile ${name}: ${found.map((v) => `${v.path} ${v.message}`).join("; ")}`);
    const profile = this.#profiles.get(key(rg, name)) ?? { location: this.location, revisions: [] };
    profile.revisions.push(structuredClone(properties));
    this.#profiles.set(key(rg, name), profile);
    return profile.revisions.length;
  }

  /** The resource ID of profile `name`. */
  profileId(rg: string, name: string): string {
    return `/subscriptions/${this.subscriptionId}/resourceGroups/${rg}/providers/Microsoft.ContainerInstance/containerGroupProfiles/${name}`;
  }

  /** The resource ID of standby pool `name`. */
  poolId(rg: string, name: string): string {
    return `/subscriptions/${this.subscriptionId}/resourceGroups/${rg}/providers/Microsoft.StandbyPool/standbyContainerGroupPools/${name}`;
  }

  /** Creates a standby pool (its groups are provisioned: `ready` of them are ready now). */
  addStandbyPool(rg: string, name: string, options: SimulatorPoolOptions): void {
    this.#pools.set(key(rg, name), {
      ...options,
      ready: options.ready ?? options.maxReadyCapacity,
      anchor: this.clock.now(),
      claimed: 0,
      coldFallbacks: 0,
      refused: 0,
    });
  }

  /** A pool's state now. */
  poolStatus(rg: string, name: string): PoolStatus {
    const pool = this.#pools.get(key(rg, name));
    if (pool === undefined) throw new Error(`no pool ${name}`);
    this.#refill(pool);
    return {
      ready: pool.ready,
      claimed: pool.claimed,
      coldFallbacks: pool.coldFallbacks,
      refused: pool.refused,
    };
  }

  /** Creates a group directly (no request), as another agent or a user would have. */
  seed(rg: string, name: string, body: Json): void {
    this.#put(rg, name, body);
  }

  // ---- request handling ---------------------------------------------------------------------

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const raw = await readBody(req);
    const url = new URL(req.url ?? "/", this.#url);
    const query = Object.fromEntries(url.searchParams.entries());
    const method = (req.method ?? "GET").toUpperCase();
    let body: unknown;
    if (raw.length > 0) {
      try {
        body = JSON.parse(raw);
      } catch {
        body = raw;
      }
    }
    const operation = this.#operationName(method, url.pathname);
    const record: RecordedRequest = {
      operation,
      method,
      path: url.pathname,
      query,
      body,
      status: 0,
      at: this.clock.now(),
    };
    this.requests.push(record);
    const send = (status: number, payload?: unknown, headers: Record<string, string> = {}): void => {
      record.status = status;
      const text = payload === undefined ? "" : JSON.stringify(payload);
      res.writeHead(status, {
        "content-type": "application/json; charset=utf-8",
        "x-ms-request-id": randomUUID(),
        ...this.#quotaHeaders(),
        ...headers,
      });
      res.end(text);
    };
    const error = (status: number, code: string, message: string, headers: Record<string, string> = {}) => {
      send(status, { error: { code, message } }, headers);
    };

    try {
      if (req.headers.authorization?.startsWith("Bearer ") !== true) {
        error(401, "AuthenticationFailed", "Authentication failed. The 'Authorization' header is missing.");
        return;
      }
      const apiVersion = query["api-version"];
      if (apiVersion === undefined || !(ACCEPTED_API_VERSIONS as readonly string[]).includes(apiVersion)) {
        error(400, "InvalidApiVersionParameter", `The api-version '${apiVersion ?? ""}' is invalid.`);
        return;
      }
      const fault = this.#takeFault(operation);
      if (fault !== undefined) {
        const headers: Record<string, string> =
          fault.retryAfterSeconds === undefined ? {} : { "retry-after": String(fault.retryAfterSeconds) };
        error(fault.status, fault.code, fault.message, headers);
        return;
      }
      if (!this.#chargeQuota(method)) {
        error(
          429,
          "SubscriptionRequestsThrottled",
          "Number of requests for subscription exceeded the limit.",
          {
            "retry-after": "0",
          },
        );
        return;
      }
      this.#route(method, url, query, body, operation, send, error);
    } catch (e) {
      error(500, "InternalServerError", e instanceof Error ? e.message : String(e));
    }
  }

  #operationName(method: string, path: string): string {
    const loc = LOCATION_PATH.exec(path);
    if (loc) {
      if (loc[3] === "usages") return "Location_ListUsage";
      if (loc[3] === "capabilities") return "Location_ListCapabilities";
      return "AsyncOperation_Get";
    }
    if (SUB_LIST.test(path)) return "ContainerGroups_List";
    const profile = PROFILE_PATH.exec(path);
    if (profile)
      return profile[4] === undefined
        ? "CGProfile_Get"
        : profile[5] === undefined
          ? "CGProfile_ListAllRevisions"
          : "CGProfile_GetByRevisionNumber";
    const m = CG_PATH.exec(path);
    if (!m) return "Unknown";
    if (m[6] === "logs") return "Containers_ListLogs";
    if (m[6] === "exec") return "Containers_ExecuteCommand";
    if (m[6] === "attach") return "Containers_Attach";
    if (m[4] !== undefined) return `ContainerGroups_${capitalize(m[4])}`;
    if (m[3] === undefined) return "ContainerGroups_ListByResourceGroup";
    return (
      {
        GET: "ContainerGroups_Get",
        PUT: "ContainerGroups_CreateOrUpdate",
        PATCH: "ContainerGroups_Update",
        DELETE: "ContainerGroups_Delete",
      }[method] ?? "Unknown"
    );
  }

  #takeFault(operation: string): SimulatorFault | undefined {
    const fault = this.#faults.find((f) => f.count > 0 && (f.operation === "*" || f.operation === operation));
    if (fault === undefined) return undefined;
    fault.count--;
    return fault;
  }

  #chargeQuota(method: string): boolean {
    const now = this.clock.now();
    if (now - this.#windowStart >= 3_600_000) {
      this.#windowStart = now;
      this.#reads = 0;
      this.#writes = 0;
    }
    if (method === "GET") {
      if (this.#reads >= (this.#options.readQuota ?? 12_000)) return false;
      this.#reads++;
    } else {
      if (this.#writes >= (this.#options.writeQuota ?? 1_200)) return false;
      this.#writes++;
    }
    return true;
  }

  #quotaHeaders(): Record<string, string> {
    return {
      "x-ms-ratelimit-remaining-subscription-reads": String(
        Math.max(0, (this.#options.readQuota ?? 12_000) - this.#reads),
      ),
      "x-ms-ratelimit-remaining-subscription-writes": String(
        Math.max(0, (this.#options.writeQuota ?? 1_200) - this.#writes),
      ),
    };
  }

  #validate(operation: string, definition: string | undefined, body: unknown): boolean {
    if (definition === undefined) return true;
    const found = this.#validator.validate(definition, body);
    for (const v of found) this.violations.push({ operation, ...v });
    return found.length === 0;
  }

  #route(
    method: string,
    url: URL,
    query: Record<string, string>,
    body: unknown,
    operation: string,
    send: (status: number, payload?: unknown, headers?: Record<string, string>) => void,
    error: (status: number, code: string, message: string) => void,
  ): void {
    const path = url.pathname;
    const loc = LOCATION_PATH.exec(path);
    if (loc) {
      if (loc[3] === "usages") {
        send(200, usageBody());
        return;
      }
      if (loc[3] === "capabilities") {
        send(200, ((fixture("CapabilitiesList.json").responses as Record<string, Json>)["200"] ?? {}).body);
        return;
      }
      const op = this.#operations.get(loc[4] ?? "");
      if (op === undefined) {
        error(404, "NotFound", "The operation was not found.");
        return;
      }
      send(200, this.#operationStatus(op));
      return;
    }
    const profilePath = PROFILE_PATH.exec(path);
    if (profilePath) {
      this.#profileRoute(method, profilePath, query, send, error);
      return;
    }
    const sub = SUB_LIST.exec(path);
    if (sub) {
      this.#sendPage(path, query, [...this.#groups.values()], send);
      return;
    }
    const m = CG_PATH.exec(path);
    if (!m) {
      error(404, "InvalidResourceType", `No route for ${method} ${path}`);
      return;
    }
    const [, subscription, rg = "", name, action, container, containerAction] = m;
    if (subscription !== this.subscriptionId) {
      error(404, "SubscriptionNotFound", `The subscription '${subscription ?? ""}' could not be found.`);
      return;
    }
    if (![...this.resourceGroups].some((g) => g.toLowerCase() === rg.toLowerCase())) {
      error(404, "ResourceGroupNotFound", `Resource group '${rg}' could not be found.`);
      return;
    }
    if (name === undefined) {
      this.#sendPage(
        path,
        query,
        [...this.#groups.values()].filter((g) => g.rg === rg),
        send,
      );
      return;
    }
    const k = key(rg, name);
    const group = this.#live(k);
    if (method === "PUT") {
      if (!this.#validate(operation, "ContainerGroup", body)) {
        error(
          400,
          "InvalidRequestContent",
          `The request content was invalid: ${this.#lastViolations(operation)}`,
        );
        return;
      }
      const props = (body as Json).properties as Json;
      if (props.containerGroupProfile !== undefined || props.standbyPoolProfile !== undefined) {
        const claim = this.#claim(rg, name, body as Json, query["api-version"] ?? "", group);
        if ("code" in claim) {
          error(claim.status, claim.code, claim.message);
          return;
        }
        const opId = randomUUID();
        this.#operations.set(opId, { key: k, kind: "create", generation: claim.group.deployment.generation });
        send(claim.created ? 201 : 200, this.#render(claim.group), {
          "azure-asyncoperation": this.#operationUrl(opId),
        });
        return;
      }
      const semantic = this.#semanticCheck(body as Json, group);
      if (semantic !== undefined) {
        error(400, semantic.code, semantic.message);
        return;
      }
      const created = group === undefined;
      const g = this.#put(rg, name, body as Json);
      const opId = randomUUID();
      this.#operations.set(opId, { key: k, kind: "create", generation: g.deployment.generation });
      send(created ? 201 : 200, this.#render(g), { "azure-asyncoperation": this.#operationUrl(opId) });
      return;
    }
    if (group === undefined) {
      if (method === "DELETE") {
        send(204);
        return;
      }
      error(
        404,
        "ResourceNotFound",
        `The Resource 'Microsoft.ContainerInstance/containerGroups/${name}' under resource group '${rg}' was not found.`,
      );
      return;
    }
    if (action !== undefined) {
      if (body !== undefined && body !== "")
        this.violations.push({ operation, path: "$", message: "takes no body" });
      if (action === "restart") this.#redeploy(group);
      else if (action === "stop") group.stoppedAt = this.clock.now();
      else {
        group.stoppedAt = undefined;
        this.#redeploy(group);
      }
      send(action === "stop" ? 204 : 202, undefined, {});
      return;
    }
    if (container !== undefined) {
      this.#containerAction(group, container, containerAction ?? "", query, body, operation, send, error);
      return;
    }
    switch (method) {
      case "GET":
        send(200, this.#render(group));
        return;
      case "PATCH":
        // PATCH takes the swagger's `Resource` body: tags only.
        if (!this.#checkNode(operation, this.#validator.bodyDefinition(SWAGGER_PREFIX, "patch"), body)) {
          error(400, "InvalidRequestContent", this.#lastViolations(operation));
          return;
        }
        group.tags = ((body as Json | undefined)?.tags as Record<string, string> | undefined) ?? group.tags;
        send(200, this.#render(group));
        return;
      case "DELETE": {
        if (this.timing.deleteMs <= 0) {
          this.#groups.delete(k);
          send(200, this.#render(group));
          return;
        }
        group.deletingAt ??= this.clock.now();
        const opId = randomUUID();
        this.#operations.set(opId, { key: k, kind: "delete", generation: group.deployment.generation });
        send(202, undefined, { "azure-asyncoperation": this.#operationUrl(opId) });
        return;
      }
      default:
        error(405, "MethodNotAllowed", `${method} is not supported`);
    }
  }

  #checkNode(
    operation: string,
    node: Parameters<SwaggerValidator["validateNode"]>[0] | undefined,
    body: unknown,
  ): boolean {
    if (node === undefined) return true;
    const found = this.#validator.validateNode(node, body);
    for (const v of found) this.violations.push({ operation, ...v });
    return found.length === 0;
  }

  #lastViolations(operation: string): string {
    return this.violations
      .filter((v) => v.operation === operation)
      .slice(-3)
      .map((v) => `${v.path} ${v.message}`)
      .join("; ");
  }

  /** Rules ARM/ACI enforce beyond the schema. */
  #semanticCheck(body: Json, existing: SimGroup | undefined): { code: string; message: string } | undefined {
    const props = body.properties as Json;
    const containers = (props.containers as Json[] | undefined) ?? [];
    if (containers.length === 0)
      return {
        code: "InvalidContainerGroupContainers",
        message: "The container group must have at least one container.",
      };
    for (const c of containers) {
      const p = c.properties as Json;
      const requests = (p.resources as Json | undefined)?.requests as Json | undefined;
      if (requests === undefined)
        return {
          code: "InvalidRequestContent",
          message: `Container '${String(c.name)}' must have resource requests.`,
        };
      if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(String(c.name)) || String(c.name).length > 63)
        return {
          code: "InvalidContainerName",
          message: `The container name '${String(c.name)}' is invalid.`,
        };
    }
    if (existing !== undefined) {
      const before = existing.deployment.body.properties as Json;
      if (before.osType !== props.osType)
        return {
          code: "ContainerGroupUpdateNotAllowed",
          message: "The property 'osType' of a container group cannot be updated.",
        };
    }
    return undefined;
  }

  #put(rg: string, name: string, body: Json, start: { startMs?: number; fromPool?: boolean } = {}): SimGroup {
    const k = key(rg, name);
    const existing = this.#live(k);
    const deployment: Deployment = { body, at: this.clock.now(), generation: ++this.#generation };
    const containers = [
      ...(((body.properties as Json).initContainers as Json[] | undefined) ?? []),
      ...(((body.properties as Json).containers as Json[] | undefined) ?? []),
    ];
    const badImage = containers
      .map((c) => String((c.properties as Json).image))
      .find((image) => this.badImages.has(image));
    const group: SimGroup = {
      rg,
      name,
      location: typeof body.location === "string" ? body.location : this.location,
      tags: (body.tags as Record<string, string> | undefined) ?? {},
      deployment,
      ip: existing?.ip ?? `10.240.0.${String(this.#ipCounter++ % 250)}`,
      startMs: start.startMs ?? this.timing.pullMs,
      ...(start.fromPool === undefined ? {} : { fromPool: start.fromPool }),
      stuck: this.stuckGroups.has(name) || this.stuckGroups.has("*"),
      ...(badImage === undefined
        ? {}
        : {
            failure: {
              code: "InaccessibleImage",
              message: `The image '${badImage}' in container group '${name}' is not accessible.`,
            },
          }),
    };
    this.#groups.set(k, group);
    return group;
  }

  // ---- standby pools ---------------------------------------------------------------------------

  #profileRoute(
    method: string,
    m: RegExpExecArray,
    query: Record<string, string>,
    send: (status: number, payload?: unknown) => void,
    error: (status: number, code: string, message: string) => void,
  ): void {
    const [, subscription = "", rg = "", name = "", revisions, revision] = m;
    if (query["api-version"] !== "2026-05-01") {
      error(
        400,
        "NoRegisteredProviderFound",
        `No registered resource provider found for location '${this.location}' and API version '${query["api-version"] ?? ""}' for type 'containerGroupProfiles'.`,
      );
      return;
    }
    if (method !== "GET") {
      error(
        405,
        "MethodNotAllowed",
        `${method} of a profile is not simulated (seed profiles with addProfile)`,
      );
      return;
    }
    const profile = this.#profiles.get(key(rg, name));
    if (subscription !== this.subscriptionId || profile === undefined) {
      error(
        404,
        "ResourceNotFound",
        `The Resource 'Microsoft.ContainerInstance/containerGroupProfiles/${name}' under resource group '${rg}' was not found.`,
      );
      return;
    }
    const render = (n: number): Json => ({
      id: this.profileId(rg, name),
      name,
      type: "Microsoft.ContainerInstance/containerGroupProfiles",
      location: profile.location,
      properties: { ...scrubSecrets(profile.revisions[n - 1] ?? {}), revision: n },
    });
    if (revisions === undefined) {
      send(200, render(profile.revisions.length));
      return;
    }
    if (revision === undefined) {
      send(200, { value: profile.revisions.map((_, i) => render(i + 1)) });
      return;
    }
    const n = Number(revision);
    if (!Number.isInteger(n) || n < 1 || n > profile.revisions.length) {
      error(
        404,
        "ResourceNotFound",
        `Revision '${revision}' of container group profile '${name}' was not found.`,
      );
      return;
    }
    send(200, render(n));
  }

  #refill(pool: SimPool): void {
    const now = this.clock.now();
    if (pool.ready >= pool.maxReadyCapacity) {
      pool.anchor = now;
      return;
    }
    const n = Math.floor((now - pool.anchor) / pool.refillIntervalMs);
    if (n <= 0) return;
    pool.ready = Math.min(pool.maxReadyCapacity, pool.ready + n);
    pool.anchor = pool.ready >= pool.maxReadyCapacity ? now : pool.anchor + n * pool.refillIntervalMs;
  }

  /**
   * A PUT that names a container group profile (and maybe a standby pool): the group is the
   * profile's; per container only `configMap` may be given. Rules beyond the schema are the
   * simulator's reading of Microsoft's documentation (stricter where it says nothing).
   */
  #claim(
    rg: string,
    name: string,
    body: Json,
    apiVersion: string,
    existing: SimGroup | undefined,
  ): { group: SimGroup; created: boolean } | { status: number; code: string; message: string } {
    const bad = (code: string, message: string, status = 400) => ({ status, code, message });
    if (apiVersion === "2023-05-01")
      return bad(
        "InvalidRequestContent",
        "The request content was invalid: 'containerGroupProfile' and 'standbyPoolProfile' are not known in api-version 2023-05-01.",
      );
    const props = body.properties as Json;
    const ref = props.containerGroupProfile as { id?: string; revision?: number } | undefined;
    const standby = props.standbyPoolProfile as
      { id?: string; failContainerGroupCreateOnReuseFailure?: boolean } | undefined;
    if (ref?.id === undefined)
      return bad(
        "InvalidContainerGroupProfileReference",
        "A standby pool claim needs 'containerGroupProfile.id'.",
      );
    const pm =
      /\/resourceGroups\/([^/]+)\/providers\/Microsoft\.ContainerInstance\/containerGroupProfiles\/([^/]+)$/i.exec(
        ref.id,
      );
    const profile = pm === null ? undefined : this.#profiles.get(key(pm[1] ?? "", pm[2] ?? ""));
    const revision = ref.revision ?? profile?.revisions.length ?? 0;
    const template = profile?.revisions[revision - 1];
    if (template === undefined)
      return bad(
        "ContainerGroupProfileNotFound",
        `Container group profile '${ref.id}' revision ${String(revision)} was not found.`,
      );
    const profileContainers = (template.containers as Json[] | undefined) ?? [];
    const claimed = (props.containers as Json[] | undefined) ?? [];
    for (const c of claimed) {
      const extra = Object.keys((c.properties as Json | undefined) ?? {}).filter((k) => k !== "configMap");
      if (extra.length > 0)
        return bad(
          "ContainerGroupProfileOverrideNotAllowed",
          `Container '${String(c.name)}' of a group created from a profile may set only 'configMap'; got ${extra.join(", ")}.`,
        );
    }
    const names = (list: Json[]) =>
      list
        .map((c) => String(c.name))
        .sort()
        .join(",");
    if (names(claimed) !== names(profileContainers))
      return bad(
        "ContainerGroupProfileMismatch",
        `The containers (${names(claimed)}) are not the profile's (${names(profileContainers)}).`,
      );
    if (existing !== undefined) {
      const before = (existing.deployment.body.properties as Json).containerGroupProfile as Json | undefined;
      if (before?.id === ref.id && before.revision === revision) return { group: existing, created: false };
      return bad(
        "ContainerGroupUpdateNotAllowed",
        `Container group '${name}' exists and is not from this profile.`,
      );
    }
    const byName = new Map(claimed.map((c) => [String(c.name), c]));
    const deployed: Json = {
      location: typeof body.location === "string" ? body.location : this.location,
      tags: body.tags ?? {},
      ...(body.identity === undefined ? {} : { identity: body.identity }),
      properties: {
        ...structuredClone(template),
        containers: profileContainers.map((c) => {
          const configMap = (byName.get(String(c.name))?.properties as Json | undefined)?.configMap;
          return {
            name: c.name,
            properties: { ...(c.properties as Json), ...(configMap === undefined ? {} : { configMap }) },
          };
        }),
        containerGroupProfile: { id: ref.id, revision },
        ...(standby === undefined ? {} : { standbyPoolProfile: standby }),
      },
    };
    if (standby === undefined)
      return { group: this.#put(rg, name, deployed, { fromPool: false }), created: true };
    const sm =
      /\/resourceGroups\/([^/]+)\/providers\/Microsoft\.StandbyPool\/standbyContainerGroupPools\/([^/]+)$/i.exec(
        standby.id ?? "",
      );
    const pool = sm === null ? undefined : this.#pools.get(key(sm[1] ?? "", sm[2] ?? ""));
    if (pool === undefined)
      return bad(
        "StandbyPoolNotFound",
        `Standby container group pool '${standby.id ?? ""}' was not found.`,
        404,
      );
    this.#refill(pool);
    const sameProfile = pool.profileId.toLowerCase() === ref.id.toLowerCase() && pool.revision === revision;
    if (sameProfile && pool.ready > 0) {
      if (pool.ready >= pool.maxReadyCapacity) pool.anchor = this.clock.now();
      pool.ready--;
      pool.claimed++;
      return {
        group: this.#put(rg, name, deployed, { startMs: this.timing.claimMs, fromPool: true }),
        created: true,
      };
    }
    if (standby.failContainerGroupCreateOnReuseFailure === true) {
      pool.refused++;
      return bad(
        "StandbyPoolReuseFailed",
        `No container group of standby pool '${standby.id ?? ""}' could be reused${sameProfile ? " (none ready)" : " (the pool is made from another profile revision)"}.`,
        409,
      );
    }
    pool.coldFallbacks++;
    return { group: this.#put(rg, name, deployed, { fromPool: false }), created: true };
  }

  #redeploy(group: SimGroup): void {
    group.deployment = { ...group.deployment, at: this.clock.now(), generation: ++this.#generation };
  }

  #gone(group: SimGroup): boolean {
    return group.deletingAt !== undefined && this.clock.now() >= group.deletingAt + this.timing.deleteMs;
  }

  #live(k: string): SimGroup | undefined {
    const group = this.#groups.get(k);
    if (group !== undefined && this.#gone(group)) {
      this.#groups.delete(k);
      return undefined;
    }
    return group;
  }

  #operationUrl(id: string): string {
    return `${this.#url}/subscriptions/${this.subscriptionId}/providers/Microsoft.ContainerInstance/locations/${this.location}/operations/${id}?api-version=2023-05-01`;
  }

  #operationStatus(op: { key: string; kind: "create" | "delete"; generation: number }): Json {
    const group = this.#groups.get(op.key);
    if (op.kind === "delete") {
      return { status: group === undefined || this.#gone(group) ? "Succeeded" : "InProgress" };
    }
    if (group === undefined)
      return {
        status: "Canceled",
        error: { code: "ResourceNotFound", message: "The container group was deleted." },
      };
    const view = this.#view(group);
    if (view.provisioningState === "Failed")
      return {
        status: "Failed",
        error: group.failure ?? {
          code: "ContainerGroupProvisioningFailed",
          message: "An init container failed.",
        },
      };
    if (view.provisioningState === "Succeeded") return { status: "Succeeded" };
    return { status: "InProgress" };
  }

  #sendPage(
    path: string,
    query: Record<string, string>,
    groups: SimGroup[],
    send: (status: number, payload?: unknown) => void,
  ): void {
    const live = groups.filter((g) => this.#live(key(g.rg, g.name)) !== undefined);
    const skip = Number(query.$skiptoken ?? "0");
    const page = live.slice(skip, skip + this.pageSize);
    const next = skip + this.pageSize < live.length ? skip + this.pageSize : undefined;
    send(200, {
      value: page.map((g) => this.#render(g, { list: true })),
      ...(next === undefined
        ? {}
        : {
            nextLink: `${this.#url}${path}?api-version=${query["api-version"] ?? ""}&$skiptoken=${String(next)}`,
          }),
    });
  }

  // ---- state ---------------------------------------------------------------------------------

  #view(group: SimGroup): GroupView {
    const now = this.clock.now();
    const { body, at } = group.deployment;
    const props = body.properties as Json;
    const restartPolicy = typeof props.restartPolicy === "string" ? props.restartPolicy : "Always";
    const initSpecs = (props.initContainers as Json[] | undefined) ?? [];
    const specs = (props.containers as Json[] | undefined) ?? [];
    const pulledAt = at + group.startMs;
    const events = (name: string, image: string, extra: Json[] = []): Json[] => [
      event("Pulling", `pulling image "${image}"`, at),
      ...(now >= pulledAt && group.failure === undefined
        ? [event("Pulled", `Successfully pulled image "${image}"`, pulledAt)]
        : []),
      ...extra,
    ];
    const waiting = (spec: Json, detail: string, extra: Json[] = []): ContainerView => ({
      name: String(spec.name),
      running: false,
      logs: [],
      instanceView: {
        restartCount: 0,
        currentState: { state: "Waiting", detailStatus: detail },
        events: events(String(spec.name), String((spec.properties as Json).image), extra),
      },
    });
    const deleting = group.deletingAt !== undefined ? "Deleting" : undefined;
    if (group.failure !== undefined && now >= pulledAt) {
      const failed = [event("Failed", group.failure.message, pulledAt, "Warning")];
      return {
        provisioningState: deleting ?? "Failed",
        state: "Failed",
        initContainers: initSpecs.map((s) => waiting(s, "ImagePullBackOff", failed)),
        containers: specs.map((s) => waiting(s, "ImagePullBackOff", failed)),
      };
    }
    if (now < pulledAt || group.stuck) {
      return {
        provisioningState: deleting ?? (now < at + 200 ? "Pending" : "Creating"),
        state: "Pending",
        initContainers: initSpecs.map((s) => waiting(s, "Pulling")),
        containers: specs.map((s) => waiting(s, "Pulling")),
      };
    }
    // Init containers, one after the other.
    let t = pulledAt;
    const inits: ContainerView[] = [];
    let initFailed: number | undefined;
    let initRunning = false;
    for (const spec of initSpecs) {
      if (initRunning || initFailed !== undefined) {
        inits.push(waiting(spec, "Waiting"));
        continue;
      }
      const run = runProgram(parseProgram((spec.properties as Json).command as string[] | undefined), t, now);
      const started = [event("Started", "Started container", t)];
      if (run.exit === undefined) {
        initRunning = true;
        inits.push({
          name: String(spec.name),
          running: true,
          logs: run.lines,
          instanceView: {
            restartCount: 0,
            currentState: { state: "Running", startTime: iso(t) },
            events: events("", String((spec.properties as Json).image), started),
          },
        });
        continue;
      }
      inits.push({
        name: String(spec.name),
        running: false,
        final: { exitCode: run.exit.code },
        logs: run.lines,
        instanceView: {
          restartCount: 0,
          currentState: {
            state: "Terminated",
            startTime: iso(t),
            finishTime: iso(run.exit.at),
            exitCode: run.exit.code,
            detailStatus: run.exit.code === 0 ? "Completed" : "Error",
          },
          events: events("", String((spec.properties as Json).image), started),
        },
      });
      if (run.exit.code !== 0) initFailed = run.exit.code;
      t = run.exit.at;
    }
    if (initRunning || initFailed !== undefined) {
      return {
        provisioningState: deleting ?? (initFailed !== undefined ? "Failed" : "Creating"),
        state: initFailed !== undefined ? "Failed" : "Pending",
        initContainers: inits,
        containers: specs.map((s) => waiting(s, "Initializing")),
      };
    }
    const startAt = t;
    const stoppedAt = group.stoppedAt;
    const containers = specs.map((spec) =>
      this.#containerTimeline(spec, startAt, stoppedAt ?? now, restartPolicy, events),
    );
    const allFinal = containers.every((c) => c.final !== undefined);
    const state =
      stoppedAt !== undefined
        ? "Stopped"
        : allFinal
          ? containers.every((c) => c.final?.exitCode === 0)
            ? "Succeeded"
            : "Failed"
          : "Running";
    return { provisioningState: deleting ?? "Succeeded", state, initContainers: inits, containers };
  }

  #containerTimeline(
    spec: Json,
    startAt: number,
    now: number,
    restartPolicy: string,
    events: (name: string, image: string, extra?: Json[]) => Json[],
  ): ContainerView {
    const props = spec.properties as Json;
    const program = parseProgram(props.command as string[] | undefined);
    let start = startAt;
    let restarts = 0;
    let previous: Json | undefined;
    const started: Json[] = [];
    for (let i = 0; i < 10_000; i++) {
      started.push(event("Started", "Started container", start));
      const run = runProgram(program, start, now);
      if (run.exit === undefined) {
        return {
          name: String(spec.name),
          running: true,
          logs: run.lines,
          instanceView: {
            restartCount: restarts,
            currentState: { state: "Running", startTime: iso(start), detailStatus: "" },
            ...(previous === undefined ? {} : { previousState: previous }),
            events: events("", String(props.image), collapse(started)),
          },
        };
      }
      const terminated = {
        state: "Terminated",
        startTime: iso(start),
        finishTime: iso(run.exit.at),
        exitCode: run.exit.code,
        detailStatus: run.exit.code === 0 ? "Completed" : "Error",
      };
      const restart = restartPolicy === "Always" || (restartPolicy === "OnFailure" && run.exit.code !== 0);
      const next = run.exit.at + this.timing.restartDelayMs;
      if (!restart || next > now) {
        return {
          name: String(spec.name),
          running: false,
          ...(restart ? {} : { final: { exitCode: run.exit.code } }),
          logs: run.lines,
          instanceView: {
            restartCount: restarts,
            currentState: terminated,
            ...(previous === undefined ? {} : { previousState: previous }),
            events: events("", String(props.image), collapse(started)),
          },
        };
      }
      previous = terminated;
      restarts++;
      start = next;
    }
    throw new Error("container restarted too often to simulate");
  }

  #render(group: SimGroup, options: { list?: boolean } = {}): Json {
    const view = this.#view(group);
    const props = structuredClone(group.deployment.body.properties) as Json;
    const byName = (list: ContainerView[], name: unknown) => list.find((c) => c.name === name);
    const scrub = (containers: Json[] | undefined, views: ContainerView[]) =>
      (containers ?? []).map((c) => {
        const p = c.properties as Json;
        const env = ((p.environmentVariables as Json[] | undefined) ?? []).map((e) => {
          const rest = { ...e };
          delete rest.secureValue;
          return rest;
        });
        const iv = byName(views, c.name)?.instanceView;
        return {
          name: c.name,
          properties: {
            ...p,
            environmentVariables: env,
            ...(options.list || iv === undefined ? {} : { instanceView: iv }),
          },
        };
      });
    props.containers = scrub(props.containers as Json[] | undefined, view.containers);
    if (props.initContainers !== undefined)
      props.initContainers = scrub(props.initContainers as Json[], view.initContainers);
    if (props.volumes !== undefined)
      props.volumes = (props.volumes as Json[]).map((v) => {
        if (v.secret !== undefined) return { ...v, secret: {} };
        if (v.azureFile !== undefined) {
          const rest = { ...(v.azureFile as Json) };
          delete rest.storageAccountKey;
          return { ...v, azureFile: rest };
        }
        return v;
      });
    if (props.imageRegistryCredentials !== undefined)
      props.imageRegistryCredentials = (props.imageRegistryCredentials as Json[]).map((c) => {
        const rest = { ...c };
        delete rest.password;
        return rest;
      });
    if (props.ipAddress !== undefined || view.provisioningState === "Succeeded") {
      props.ipAddress = {
        ...(props.ipAddress as Json | undefined),
        ip: group.ip,
        type: ((props.ipAddress as Json | undefined)?.type as string | undefined) ?? "Private",
      };
    }
    props.provisioningState = view.provisioningState;
    if (group.fromPool !== undefined) props.isCreatedFromStandbyPool = group.fromPool;
    if (!options.list) props.instanceView = { events: [], state: view.state };
    return {
      id: `/subscriptions/${this.subscriptionId}/resourceGroups/${group.rg}/providers/Microsoft.ContainerInstance/containerGroups/${group.name}`,
      name: group.name,
      type: "Microsoft.ContainerInstance/containerGroups",
      location: group.location,
      tags: group.tags,
      ...(group.deployment.body.identity === undefined ? {} : { identity: group.deployment.body.identity }),
      properties: props,
    };
  }

  // ---- containers: logs, exec, attach --------------------------------------------------------

  #containerAction(
    group: SimGroup,
    container: string,
    action: string,
    query: Record<string, string>,
    body: unknown,
    operation: string,
    send: (status: number, payload?: unknown) => void,
    error: (status: number, code: string, message: string) => void,
  ): void {
    const view = this.#view(group);
    const c = [...view.containers, ...view.initContainers].find((x) => x.name === container);
    if (c === undefined) {
      error(
        404,
        "ContainerNotFound",
        `The container '${container}' does not exist in container group '${group.name}'.`,
      );
      return;
    }
    if (action === "logs") {
      if (query.tail !== undefined && !/^\d+$/.test(query.tail))
        this.violations.push({ operation, path: "$query.tail", message: "must be an integer" });
      if (query.timestamps !== undefined && !/^(true|false)$/.test(query.timestamps))
        this.violations.push({ operation, path: "$query.timestamps", message: "must be a boolean" });
      let lines = c.logs;
      if (query.tail !== undefined) lines = lines.slice(Math.max(0, lines.length - Number(query.tail)));
      const stamp = query.timestamps === "true";
      send(200, {
        content: lines
          .map((l) => `${stamp ? `${new Date(l.at).toISOString().replace("Z", "000000Z")} ` : ""}${l.text}\n`)
          .join(""),
      });
      return;
    }
    if (action === "exec") {
      if (!this.#validate(operation, "ContainerExecRequest", body)) {
        error(400, "InvalidRequestContent", this.#lastViolations(operation));
        return;
      }
      if (!c.running) {
        error(409, "ContainerGroupNotRunning", `The container '${container}' is not running.`);
        return;
      }
      send(200, this.#session(group, container, str((body as Json).command), false));
      return;
    }
    if (action === "attach") {
      send(200, this.#session(group, container, "", true));
      return;
    }
    error(404, "InvalidResourceType", action);
  }

  #session(group: SimGroup, container: string, command: string, attach: boolean): Json {
    const id = randomUUID();
    const password = randomUUID().replaceAll("-", "");
    this.#execSessions.set(id, { group: key(group.rg, group.name), container, command, password, attach });
    return { webSocketUri: `${this.#url.replace("https://", "wss://")}/ws/${id}`, password };
  }

  #runSession(
    ws: WebSocket,
    session: { group: string; container: string; command: string; password: string; attach: boolean },
  ): void {
    let authed = false;
    let buffer = "";
    const [groupRg = "", groupName = ""] = session.group.split("/");
    const shell = /^(\/bin\/)?(sh|bash)$/.test(session.command.trim());
    ws.on("message", (data: Buffer) => {
      const text = data.toString("utf8");
      if (!authed) {
        if (text !== session.password) {
          ws.close(4001, "bad password");
          return;
        }
        authed = true;
        if (session.attach) {
          const group = this.#groups.get(session.group);
          const view = group === undefined ? undefined : this.#view(group);
          const logs = view?.containers.find((c) => c.name === session.container)?.logs ?? [];
          ws.send(logs.map((l) => `${l.text}\n`).join(""));
          ws.close(1000);
          return;
        }
        if (!shell) {
          // ACI splits the command string at whitespace; there is no quoting.
          const result = this.#runCommand(
            session.command.trim().split(/\s+/),
            groupRg,
            groupName,
            session.container,
          );
          ws.send(result.output);
          ws.close(1000);
        }
        return;
      }
      if (!shell) return;
      buffer += text;
      for (let nl = buffer.indexOf("\n"); nl >= 0; nl = buffer.indexOf("\n")) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        if (this.#shellLine(line, ws, groupRg, groupName, session.container)) {
          ws.close(1000);
          return;
        }
      }
    });
  }

  /** Runs one line of the simulated shell; true when the shell exits. */
  #shellLine(line: string, ws: WebSocket, rg: string, group: string, container: string): boolean {
    let status = 0;
    for (const statement of splitUnquoted(line, ";")) {
      const argv = shellWords(statement).map((w) => w.replaceAll("$?", String(status)));
      if (argv.length === 0) continue;
      if (argv[0] === "exit") return true;
      const result = this.#runCommand(argv, rg, group, container);
      ws.send(result.output);
      status = result.exitCode;
    }
    return false;
  }

  #runCommand(
    argv: string[],
    rg: string,
    group: string,
    container: string,
  ): { output: string; exitCode: number } {
    const custom = this.#options.exec?.(argv, group, container);
    if (custom !== undefined) return custom;
    const [cmd, ...args] = argv;
    switch (cmd) {
      case "echo":
        return { output: `${args.join(" ")}\n`, exitCode: 0 };
      case "printf":
        return { output: printf(args[0] ?? "", args.slice(1)), exitCode: 0 };
      case "true":
        return { output: "", exitCode: 0 };
      case "false":
        return { output: "", exitCode: 1 };
      case "sh":
      case "/bin/sh": {
        if (args[0] !== "-c") return { output: "", exitCode: 0 };
        const m = /^\s*exit\s+(\d+)\s*$/.exec(args[1] ?? "");
        if (m) return { output: "", exitCode: Number(m[1]) };
        const out = runProgram(parseProgram(["sh", "-c", args[1] ?? ""]), 0, Number.MAX_SAFE_INTEGER);
        return { output: out.lines.map((l) => `${l.text}\n`).join(""), exitCode: out.exit?.code ?? 0 };
      }
      case "cat": {
        const content = this.#readFile(rg, group, container, args[0] ?? "");
        return content === undefined
          ? { output: `cat: ${args[0] ?? ""}: No such file or directory\n`, exitCode: 1 }
          : { output: content, exitCode: 0 };
      }
      default:
        return { output: `sh: ${cmd ?? ""}: not found\n`, exitCode: 127 };
    }
  }

  /** A file of a secret volume as a container sees it. */
  #readFile(rg: string, groupName: string, container: string, path: string): string | undefined {
    const group = this.#groups.get(key(rg, groupName));
    const props = group?.deployment.body.properties as Json | undefined;
    const spec = ((props?.containers as Json[] | undefined) ?? []).find((c) => c.name === container);
    for (const mount of ((spec?.properties as Json | undefined)?.volumeMounts as Json[] | undefined) ?? []) {
      const mountPath = String(mount.mountPath).replace(/\/$/, "");
      if (!path.startsWith(`${mountPath}/`)) continue;
      const volume = ((props?.volumes as Json[] | undefined) ?? []).find((v) => v.name === mount.name);
      const file = (volume?.secret as Record<string, string> | undefined)?.[path.slice(mountPath.length + 1)];
      if (file !== undefined) return Buffer.from(file, "base64").toString("utf8");
    }
    return undefined;
  }
}

/** A profile's properties as ARM returns them: no secure values, secret contents, passwords, keys. */
function scrubSecrets(properties: Json): Json {
  const out = structuredClone(properties);
  for (const list of [out.containers, out.initContainers] as (Json[] | undefined)[])
    for (const c of list ?? []) {
      const p = (c.properties ?? {}) as Json;
      p.environmentVariables = ((p.environmentVariables as Json[] | undefined) ?? []).map((e) => {
        const rest = { ...e };
        delete rest.secureValue;
        return rest;
      });
    }
  if (out.volumes !== undefined)
    out.volumes = (out.volumes as Json[]).map((v) => {
      if (v.secret !== undefined) return { ...v, secret: {} };
      if (v.azureFile !== undefined) {
        const rest = { ...(v.azureFile as Json) };
        delete rest.storageAccountKey;
        return { ...v, azureFile: rest };
      }
      return v;
    });
  if (out.imageRegistryCredentials !== undefined)
    out.imageRegistryCredentials = (out.imageRegistryCredentials as Json[]).map((c) => {
      const rest = { ...c };
      delete rest.password;
      return rest;
    });
  return out;
}

function key(rg: string, name: string): string {
  return `${rg.toLowerCase()}/${name.toLowerCase()}`;
}

function str(value: unknown): string {
  return typeof value === "string" ? value : "";
}

function capitalize(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

function event(name: string, message: string, at: number, type = "Normal"): Json {
  return { count: 1, firstTimestamp: iso(at), lastTimestamp: iso(at), name, message, type };
}

/** ACI folds repeated events into one with a count. */
function collapse(events: Json[]): Json[] {
  if (events.length <= 1) return events;
  const first = events[0] as Json;
  const last = events[events.length - 1] as Json;
  return [{ ...first, count: events.length, lastTimestamp: last.lastTimestamp }];
}

function usageBody(): Json {
  return {
    value: [
      {
        unit: "Count",
        currentValue: 0,
        limit: 100,
        name: { value: "ContainerGroups", localizedValue: "Container Groups" },
      },
      {
        unit: "Count",
        currentValue: 0,
        limit: 100,
        name: { value: "StandardCores", localizedValue: "Standard Cores" },
      },
    ],
  };
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

/** `printf FORMAT ARGS`: `%d`/`%s` and the `\n`/`\t`/`\\` escapes. */
function printf(format: string, args: string[]): string {
  let i = 0;
  return format
    .replace(/%[ds]/g, () => args[i++] ?? "")
    .replace(/\\([nt\\])/g, (_m, c: string) => (c === "n" ? "\n" : c === "t" ? "\t" : "\\"));
}

/** Splits at `separator` outside single or double quotes. */
function splitUnquoted(line: string, separator: string): string[] {
  const out: string[] = [];
  let current = "";
  let quote: string | undefined;
  let escaped = false;
  for (const ch of line) {
    if (escaped) {
      escaped = false;
      current += ch;
    } else if (quote !== undefined) {
      if (ch === quote) quote = undefined;
      current += ch;
    } else if (ch === "\\") {
      escaped = true;
      current += ch;
    } else if (ch === "'" || ch === '"') {
      quote = ch;
      current += ch;
    } else if (ch === separator) {
      out.push(current);
      current = "";
    } else current += ch;
  }
  out.push(current);
  return out.map((s) => s.trim()).filter((s) => s.length > 0);
}

/** POSIX words: whitespace-separated, single quotes literal, double quotes and backslashes basic. */
function shellWords(text: string): string[] {
  const words: string[] = [];
  let current: string | undefined;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charAt(i);
    if (ch === "'") {
      const end = text.indexOf("'", i + 1);
      current = (current ?? "") + text.slice(i + 1, end < 0 ? text.length : end);
      i = end < 0 ? text.length : end;
    } else if (ch === '"') {
      const end = text.indexOf('"', i + 1);
      current = (current ?? "") + text.slice(i + 1, end < 0 ? text.length : end);
      i = end < 0 ? text.length : end;
    } else if (ch === "\\" && i + 1 < text.length) {
      current = (current ?? "") + text.charAt(++i);
    } else if (/\s/.test(ch)) {
      if (current !== undefined) words.push(current);
      current = undefined;
    } else current = (current ?? "") + ch;
  }
  if (current !== undefined) words.push(current);
  return words;
}
