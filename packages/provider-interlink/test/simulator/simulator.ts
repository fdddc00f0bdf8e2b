/**
 * An interLink API simulator: what the interLink server in front of a site plugin (SLURM,
 * HTCondor, Docker) answers, on a local HTTP server or Unix socket, following the payloads of
 * interLink's published API description (see interlink-api.schema.json for the source and
 * commit). Jobs move through the site's states on an injected clock (queued → running →
 * finished), derived lazily from the clock on each request so a FakeClock drives it exactly.
 *
 * Every request body is validated against the schema; a bad one gets the Go server's answer to a
 * body it cannot decode (500, as `CreateHandler` does on an Unmarshal error; 400 for `/getLogs`)
 * and is recorded in `violations`, which tests assert is empty. Every request is recorded with
 * its raw body so tests count calls and scan bodies for Secret values.
 *
 * Methods: interLink's description documents every route as POST, while its own virtual kubelet
 * sends status and getLogs as GET and delete as DELETE, and the Go server's mux accepts any
 * method. The simulator accepts POST plus the method the VK uses, and records which was used.
 */
import { createServer } from "node:http";
import type { IncomingMessage, Server, ServerResponse } from "node:http";
import { createServer as createTlsServer } from "node:https";
import type { TLSSocket } from "node:tls";
import type { AddressInfo } from "node:net";
import { systemClock } from "@virtual-node/core";
import type { Clock, Pod } from "@virtual-node/core";
import type {
  ContainerLogOpts,
  InterLinkPodStatus,
  LogStruct,
  PingResponse,
  PodCreateRequests,
  WireContainerStatus,
} from "../../src/api-types.js";
import { loadInterLinkSchema, validate } from "./validate.js";
import type { InterLinkApiSchema } from "./validate.js";

/** The interLink API operations. */
export type InterLinkOperation = "create" | "status" | "delete" | "getLogs" | "pinglink";

const ROUTES: Record<string, { op: InterLinkOperation; methods: string[] }> = {
  "/create": { op: "create", methods: ["POST"] },
  "/status": { op: "status", methods: ["POST", "GET"] },
  "/delete": { op: "delete", methods: ["POST", "DELETE"] },
  "/getLogs": { op: "getLogs", methods: ["POST", "GET"] },
  "/pinglink": { op: "pinglink", methods: ["POST", "GET"] },
};

/** One recorded request. */
export interface RecordedRequest {
  op: InterLinkOperation | "unknown";
  method: string;
  path: string;
  /** The raw body text. */
  body: string;
  authorization: string | undefined;
  /** The subject CN of the client certificate the TLS handshake verified (mTLS only). */
  clientCertificate: string | undefined;
  at: number;
}

function clientCommonName(req: IncomingMessage): string | undefined {
  const socket = req.socket as Partial<TLSSocket>;
  if (socket.authorized !== true || socket.getPeerCertificate === undefined) return undefined;
  const subject = socket.getPeerCertificate().subject as Record<string, string> | undefined;
  return subject?.CN;
}

/** A schema violation: the request (or the simulator's own response) did not match. */
export interface Violation {
  op: string;
  direction: "request" | "response";
  errors: string[];
}

/** An injected failure for the next `count` calls of an operation. */
export interface Fault {
  status: number;
  body?: string;
  headers?: Record<string, string>;
  count?: number;
  /** Hold the answer this long (simulator clock) before sending it. */
  delayMs?: number;
  /**
   * Carry the request out before failing (a submission that reached the site although the
   * answer was lost: a proxy's 504 after sbatch ran, a timeout).
   */
  apply?: boolean;
}

/** How the site runs jobs. */
export interface SiteTiming {
  /** Time a job waits in the site's queue before it runs (default 1 000 ms). */
  queueMs?: number;
  /** Default run time of a container whose script does not say (`sleep`) and that does not exit: forever. */
  stepMs?: number;
}

export interface InterLinkSimulatorOptions {
  clock?: Clock;
  /** Listen on a Unix socket instead of 127.0.0.1:0. */
  socketPath?: string;
  /** Require `Authorization: Bearer <token>` (a function is asked on every request, so tokens rotate). */
  token?: string | (() => string);
  timing?: SiteTiming;
  /** The ping answer (default `{status: "ok", resources: {...}}`); a string is sent as plain text. */
  ping?: PingResponse | string;
  /**
   * Serve HTTPS with this certificate; with `clientCa` every client must present a certificate
   * signed by it (mTLS: the TLS handshake refuses anyone else, as an edge node's proxy would).
   */
  tls?: { certPem: string; keyPem: string; clientCa?: string };
}

interface Step {
  kind: "echo" | "sleep" | "exit";
  text?: string;
  ms?: number;
  code?: number;
}

interface SimContainer {
  name: string;
  image: string;
  steps: Step[];
  init: boolean;
}

interface Job {
  jid: string;
  pod: Pod;
  uid: string;
  namespace: string;
  name: string;
  submittedAt: number;
  containers: SimContainer[];
  request: PodCreateRequests;
}

interface Timeline {
  name: string;
  init: boolean;
  startAt?: number;
  endAt?: number;
  exitCode?: number;
  logs: { at: number; text: string }[];
}

const DEFAULT_PING: PingResponse = {
  status: "ok",
  resources: {
    cpu: "512",
    memory: "2Ti",
    pods: "1000",
    accelerators: [{ resourceType: "nvidia.com/gpu", available: "4" }],
  },
  taints: [{ key: "interlink.eu/site", value: "hpc-sim", effect: "NoSchedule" }],
};

/** Parses the tiny shell subset the simulator "runs": `echo`, `sleep N`, `exit N`, separated by `;`/`&&`. */
export function parseScript(script: string): Step[] {
  const steps: Step[] = [];
  for (const raw of script.split(/;|&&|\n/)) {
    const part = raw.trim();
    if (part === "") continue;
    const [cmd, ...rest] = part.split(/\s+/);
    const arg = rest.join(" ");
    if (cmd === "echo") steps.push({ kind: "echo", text: arg.replace(/^["']|["']$/g, "") });
    else if (cmd === "sleep") steps.push({ kind: "sleep", ms: Number(arg) * 1000 });
    else if (cmd === "exit") steps.push({ kind: "exit", code: Number(arg) });
  }
  return steps;
}

function containerSteps(c: { command?: string[]; args?: string[] }): Step[] {
  const argv = [...(c.command ?? []), ...(c.args ?? [])];
  const dashC = argv.indexOf("-c");
  if (dashC >= 0 && argv[dashC + 1] !== undefined) return parseScript(argv[dashC + 1] ?? "");
  // Anything else runs until it is cancelled, like a service job.
  return [{ kind: "sleep", ms: Number.POSITIVE_INFINITY }];
}

function timeline(c: SimContainer, startAt: number): Timeline {
  const t: Timeline = { name: c.name, init: c.init, startAt, logs: [] };
  let now = startAt;
  for (const step of c.steps) {
    if (step.kind === "echo") t.logs.push({ at: now, text: step.text ?? "" });
    else if (step.kind === "sleep") now += step.ms ?? 0;
    else {
      t.endAt = now;
      t.exitCode = step.code ?? 0;
      return t;
    }
  }
  if (Number.isFinite(now)) {
    t.endAt = now;
    t.exitCode = 0;
  }
  return t;
}

/** RFC 3339 with nanoseconds, as the Go plugins print log timestamps. */
function rfc3339Nano(ms: number): string {
  const iso = new Date(ms).toISOString();
  return `${iso.slice(0, 19)}.${iso.slice(20, 23)}000000Z`;
}

/** Go's `time.Time` marshalled (seconds precision, as `metav1.Time`). */
function goTime(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 19)}Z`;
}

// A response sink for operations whose answer is lost (Fault.apply).
const DISCARD = {
  writeHead: () => DISCARD,
  end: () => DISCARD,
} as unknown as ServerResponse;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** A running simulator. */
export class InterLinkSimulator {
  readonly clock: Clock;
  readonly schema: InterLinkApiSchema;
  readonly requests: RecordedRequest[] = [];
  readonly violations: Violation[] = [];
  /** Jobs the site deleted, by pod UID (with the grace period the delete asked for). */
  readonly deleted: { uid: string; gracePeriodSeconds: number | undefined }[] = [];
  ping: PingResponse | string;
  timing: Required<SiteTiming>;
  #server: Server;
  #jobs = new Map<string, Job>();
  #faults = new Map<InterLinkOperation, Fault[]>();
  #nextJid = 1000;
  #token: string | (() => string) | undefined;
  #url = "";
  readonly #scheme: "http" | "https";

  constructor(options: InterLinkSimulatorOptions = {}) {
    this.clock = options.clock ?? systemClock;
    this.schema = loadInterLinkSchema();
    this.ping = options.ping ?? DEFAULT_PING;
    this.timing = { queueMs: 1_000, stepMs: 0, ...options.timing };
    this.#token = options.token;
    const handler = (req: IncomingMessage, res: ServerResponse) => {
      void this.#handle(req, res);
    };
    const tls = options.tls;
    this.#scheme = tls === undefined ? "http" : "https";
    this.#server =
      tls === undefined
        ? createServer(handler)
        : createTlsServer(
            {
              cert: tls.certPem,
              key: tls.keyPem,
              ...(tls.clientCa === undefined
                ? {}
                : { ca: tls.clientCa, requestCert: true, rejectUnauthorized: true }),
            },
            handler,
          );
  }

  /** `http://127.0.0.1:<port>` (or `unix://<path>`). */
  get url(): string {
    return this.#url;
  }

  async listen(socketPath?: string): Promise<this> {
    await new Promise<void>((resolve, reject) => {
      this.#server.once("error", reject);
      if (socketPath !== undefined) this.#server.listen(socketPath, resolve);
      else this.#server.listen(0, "127.0.0.1", resolve);
    });
    if (socketPath !== undefined) this.#url = `unix://${socketPath}`;
    else this.#url = `${this.#scheme}://127.0.0.1:${String((this.#server.address() as AddressInfo).port)}`;
    return this;
  }

  async close(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) =>
      this.#server.close(() => {
        resolve();
      }),
    );
  }

  /** Fail the next `fault.count` (default 1) calls of `op`. */
  fail(op: InterLinkOperation, fault: Fault): void {
    const list = this.#faults.get(op) ?? [];
    list.push({ count: 1, ...fault });
    this.#faults.set(op, list);
  }

  /** Drops every injected fault. */
  clearFaults(): void {
    this.#faults.clear();
  }

  /** Requests of one operation. */
  calls(op: InterLinkOperation): RecordedRequest[] {
    return this.requests.filter((r) => r.op === op);
  }

  /** The job of a pod UID, if the site has it. */
  job(uid: string): { jid: string; request: PodCreateRequests } | undefined {
    const job = this.#jobs.get(uid);
    return job && { jid: job.jid, request: job.request };
  }

  get jobCount(): number {
    return this.#jobs.size;
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks).toString("utf8");
    const path = (req.url ?? "/").split("?")[0] ?? "/";
    const route = ROUTES[path];
    const method = req.method ?? "GET";
    this.requests.push({
      op: route?.op ?? "unknown",
      method,
      path,
      body,
      authorization: req.headers.authorization,
      clientCertificate: clientCommonName(req),
      at: this.clock.now(),
    });
    if (route === undefined) {
      this.#send(res, 404, "404 page not found\n");
      return;
    }
    if (!route.methods.includes(method)) {
      this.#send(res, 405, "method not allowed\n");
      return;
    }
    if (this.#token !== undefined) {
      const token = typeof this.#token === "function" ? this.#token() : this.#token;
      if (req.headers.authorization !== `Bearer ${token}`) {
        this.#send(res, 401, "Unauthorized\n");
        return;
      }
    }
    const fault = this.#takeFault(route.op);
    if (fault !== undefined) {
      // The operation still happens when the fault says so; its answer is lost.
      if (fault.apply === true) this.#operate(route.op, body, DISCARD);
      if (fault.delayMs !== undefined) await this.clock.sleep(fault.delayMs);
      this.#send(res, fault.status, fault.body ?? "", fault.headers);
      return;
    }
    this.#operate(route.op, body, res);
  }

  #operate(op: InterLinkOperation, body: string, res: ServerResponse): void {
    const route = { op };
    let parsed: unknown = undefined;
    const requestSchema = this.schema.operations[route.op]?.request;
    if (requestSchema !== undefined) {
      try {
        parsed = body === "" ? null : JSON.parse(body);
      } catch (error) {
        this.violations.push({ op: route.op, direction: "request", errors: [`not JSON: ${String(error)}`] });
        this.#send(res, route.op === "getLogs" ? 400 : 500, "invalid request body");
        return;
      }
      const errors = validate(this.schema, requestSchema, parsed);
      if (errors.length > 0) {
        this.violations.push({ op: route.op, direction: "request", errors });
        this.#send(
          res,
          route.op === "getLogs" ? 400 : 500,
          `json: cannot decode request: ${errors[0] ?? ""}`,
        );
        return;
      }
    }
    switch (route.op) {
      case "create": {
        this.#create(res, parsed as PodCreateRequests);
        return;
      }
      case "status": {
        this.#status(res, (parsed ?? []) as Pod[]);
        return;
      }
      case "delete": {
        this.#delete(res, parsed as Pod);
        return;
      }
      case "getLogs": {
        this.#logs(res, parsed as LogStruct);
        return;
      }
      case "pinglink": {
        this.#ping(res);
        return;
      }
    }
  }

  #takeFault(op: InterLinkOperation): Fault | undefined {
    const list = this.#faults.get(op);
    const fault = list?.[0];
    if (fault === undefined) return undefined;
    fault.count = (fault.count ?? 1) - 1;
    if (fault.count <= 0) list?.shift();
    return fault;
  }

  #send(res: ServerResponse, status: number, body: string, headers: Record<string, string> = {}): void {
    res.writeHead(status, {
      "content-type": body.startsWith("{") || body.startsWith("[") ? "application/json" : "text/plain",
      ...headers,
    });
    res.end(body);
  }

  #json(res: ServerResponse, op: InterLinkOperation, value: unknown): void {
    const schema = this.schema.operations[op]?.response;
    if (schema !== undefined) {
      const errors = validate(this.schema, schema, value);
      if (errors.length > 0) this.violations.push({ op, direction: "response", errors });
    }
    this.#send(res, 200, JSON.stringify(value));
  }

  #create(res: ServerResponse, request: PodCreateRequests): void {
    const meta = request.pod.metadata ?? {};
    const uid = meta.uid ?? "";
    const spec = request.pod.spec;
    if (uid === "" || meta.name === undefined || spec === undefined || spec.containers.length === 0) {
      // A plugin that cannot build a job answers 500 with its reason.
      this.#send(res, 500, "pod has no uid, name or containers");
      return;
    }
    const existing = this.#jobs.get(uid);
    if (existing !== undefined) {
      // A SLURM site would submit a second job; the simulator keeps one and counts the duplicate.
      this.violations.push({
        op: "create",
        direction: "request",
        errors: [`duplicate submission of pod ${uid}`],
      });
      this.#json(res, "create", { PodUID: uid, PodJID: existing.jid });
      return;
    }
    const jid = String(this.#nextJid++);
    const containers: SimContainer[] = [
      ...(spec.initContainers ?? []).map((c) => ({
        name: c.name,
        image: c.image ?? "",
        steps: containerSteps(c),
        init: true,
      })),
      ...spec.containers.map((c) => ({
        name: c.name,
        image: c.image ?? "",
        steps: containerSteps(c),
        init: false,
      })),
    ];
    this.#jobs.set(uid, {
      jid,
      pod: request.pod,
      uid,
      namespace: meta.namespace ?? "default",
      name: meta.name,
      submittedAt: this.clock.now(),
      containers,
      request,
    });
    this.#json(res, "create", { PodUID: uid, PodJID: jid });
  }

  /** Where each container is in its life, at `now`. */
  #timelines(job: Job): Timeline[] {
    let at = job.submittedAt + this.timing.queueMs;
    const out: Timeline[] = [];
    for (const c of job.containers.filter((x) => x.init)) {
      const t = timeline(c, at);
      out.push(t);
      if (t.endAt === undefined || t.exitCode !== 0) {
        // A failed or endless init container holds back the rest.
        for (const rest of job.containers.filter((x) => x !== c && !out.some((o) => o.name === x.name))) {
          out.push({ name: rest.name, init: rest.init, logs: [] });
        }
        return out;
      }
      at = t.endAt;
    }
    for (const c of job.containers.filter((x) => !x.init)) out.push(timeline(c, at));
    return out;
  }

  #containerStatus(job: Job, t: Timeline, now: number): WireContainerStatus {
    const image = job.containers.find((c) => c.name === t.name)?.image ?? "";
    const base = {
      name: t.name,
      image,
      imageID: "",
      containerID: `slurm://${job.jid}/${t.name}`,
      restartCount: 0,
    };
    if (t.startAt === undefined || now < t.startAt) {
      return {
        ...base,
        ready: false,
        state: { waiting: { reason: "ContainerCreating", message: `job ${job.jid} queued` } },
      };
    }
    if (t.endAt === undefined || now < t.endAt) {
      return { ...base, ready: true, started: true, state: { running: { startedAt: goTime(t.startAt) } } };
    }
    return {
      ...base,
      ready: false,
      started: false,
      state: {
        terminated: {
          exitCode: t.exitCode ?? 0,
          reason: t.exitCode === 0 ? "Completed" : "Error",
          startedAt: goTime(t.startAt),
          finishedAt: goTime(t.endAt),
        },
      },
    };
  }

  #podStatus(job: Job): InterLinkPodStatus {
    const now = this.clock.now();
    const lines = this.#timelines(job);
    return {
      name: job.name,
      UID: job.uid,
      namespace: job.namespace,
      JID: job.jid,
      initContainers: lines.filter((t) => t.init).map((t) => this.#containerStatus(job, t, now)),
      containers: lines.filter((t) => !t.init).map((t) => this.#containerStatus(job, t, now)),
    };
  }

  #status(res: ServerResponse, pods: Pod[]): void {
    // Like interLink's StatusHandler: an empty list answers every job it knows.
    const jobs =
      pods.length === 0
        ? [...this.#jobs.values()]
        : pods.flatMap((p) => {
            const job = this.#jobs.get(p.metadata?.uid ?? "");
            return job ? [job] : [];
          });
    this.#json(
      res,
      "status",
      jobs.map((j) => this.#podStatus(j)),
    );
  }

  #delete(res: ServerResponse, pod: Pod): void {
    const uid = pod.metadata?.uid ?? "";
    if (this.#jobs.delete(uid)) {
      this.deleted.push({ uid, gracePeriodSeconds: pod.metadata?.deletionGracePeriodSeconds ?? undefined });
    }
    // The plugins answer 200 for a job that is already gone (scancel of a finished job).
    this.#send(res, 200, "Deleted");
  }

  #logs(res: ServerResponse, request: LogStruct): void {
    const opts: ContainerLogOpts = request.Opts;
    // The checks of interLink's GetLogsHandler, with its messages.
    if (!DNS_LABEL.test(request.Namespace)) {
      this.#send(res, 400, "invalid namespace: must be a valid DNS label");
      return;
    }
    if (!UUID.test(request.PodUID)) {
      this.#send(res, 400, "invalid pod UID: must be a valid UUID");
      return;
    }
    if (opts.Tail !== 0 && opts.Bytes !== 0) {
      this.#send(res, 400, "Both Tail and LimitBytes set. Set only one of them");
      return;
    }
    const sinceTime =
      opts.SinceTime !== undefined && !opts.SinceTime.startsWith("0001-")
        ? Date.parse(opts.SinceTime)
        : undefined;
    if (opts.SinceSeconds !== 0 && sinceTime !== undefined) {
      this.#send(res, 400, "Both SinceSeconds and SinceTime set. Set only one of them");
      return;
    }
    const job = this.#jobs.get(request.PodUID);
    const t = job && this.#timelines(job).find((x) => x.name === request.ContainerName);
    if (job === undefined || t === undefined) {
      this.#send(res, 500, `no logs for ${request.PodName}/${request.ContainerName}`);
      return;
    }
    if (opts.Previous) {
      this.#send(res, 500, "previous logs are not kept by this site");
      return;
    }
    const now = this.clock.now();
    let lines = t.logs.filter((l) => l.at <= now);
    const since = sinceTime ?? (opts.SinceSeconds > 0 ? now - opts.SinceSeconds * 1000 : undefined);
    if (since !== undefined) lines = lines.filter((l) => l.at >= since);
    if (opts.Tail > 0) lines = lines.slice(-opts.Tail);
    let text = lines
      .map((l) => (opts.Timestamps ? `${rfc3339Nano(l.at)} ${l.text}\n` : `${l.text}\n`))
      .join("");
    if (opts.Bytes > 0) text = Buffer.from(text).subarray(0, opts.Bytes).toString("utf8");
    this.#send(res, 200, text);
  }

  #ping(res: ServerResponse): void {
    if (typeof this.ping === "string") {
      this.#send(res, 200, this.ping);
      return;
    }
    this.#json(res, "pinglink", this.ping);
  }
}

/** Starts a simulator on 127.0.0.1:0 (or `options.socketPath`). */
export async function startInterLinkSimulator(
  options: InterLinkSimulatorOptions = {},
): Promise<InterLinkSimulator> {
  return new InterLinkSimulator(options).listen(options.socketPath);
}
