/**
 * Whether the API server answers, and the moment it answers again after an outage.
 *
 * Every loop that talks to the API server backs off on its own when it fails (watches up to 30 s,
 * pods per key up to a minute, the lease up to 7 s), so after an outage each would wait out its own
 * delay and the node would look dead for up to half a minute after the API server is back. Instead,
 * the client reports transport failures here; while the API server is away this probes it once a
 * second (`GET /version`, readable by any identity), and the first answer — a probe or any other
 * request — tells every listener at once, so they restart their watches and retry what waits.
 */
import { type Clock, systemClock, type TimerHandle } from "../clock.js";
import type { Logger } from "../logger.js";

/** One request to the API server that resolves when it answered, whatever the status. */
export type ReachabilityProbe = (signal: AbortSignal) => Promise<void>;

/** Options of {@link ApiReachability}. */
export interface ApiReachabilityOptions {
  /** Asks the API server something cheap; rejects on a transport failure. */
  probe: ReachabilityProbe;
  /** Default: the system clock. */
  clock?: Clock;
  /** Time between probes while the API server does not answer. Default 1 s. */
  probeIntervalMs?: number;
  logger?: Logger;
}

/** HTTP statuses that mean "a proxy answered, the API server did not". */
const GATEWAY_STATUSES = new Set([502, 503, 504]);

/** True when `status` came from the API server itself (not a gateway in front of it). */
export function isApiServerAnswer(status: number): boolean {
  return status > 0 && !GATEWAY_STATUSES.has(status);
}

/**
 * Tracks reachability of one API server. {@link failed} and {@link answered} are fed by the client;
 * {@link onRecovered} listeners run once per outage, when the first answer arrives.
 */
export class ApiReachability {
  readonly #probe: ReachabilityProbe;
  readonly #clock: Clock;
  readonly #intervalMs: number;
  readonly #logger: Logger | undefined;
  readonly #listeners = new Set<() => void>();
  #unreachableSince: number | undefined;
  #timer: TimerHandle | undefined;
  #probing: AbortController | undefined;
  #closed = false;

  constructor(options: ApiReachabilityOptions) {
    this.#probe = options.probe;
    this.#clock = options.clock ?? systemClock;
    this.#intervalMs = options.probeIntervalMs ?? 1_000;
    this.#logger = options.logger;
  }

  /** False from the first transport failure until the API server answers again. */
  get reachable(): boolean {
    return this.#unreachableSince === undefined;
  }

  /** A request could not reach the API server (connection refused or reset, TLS failure, gateway). */
  failed(): void {
    if (this.#closed || this.#unreachableSince !== undefined) return;
    this.#unreachableSince = this.#clock.now();
    this.#logger?.warn({}, "API server unreachable; probing it every second");
    this.#scheduleProbe();
  }

  /** The API server answered a request. Ends an outage, if there was one. */
  answered(): void {
    const since = this.#unreachableSince;
    if (since === undefined) return;
    this.#unreachableSince = undefined;
    this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#probing?.abort();
    this.#probing = undefined;
    this.#logger?.info({ outageMs: this.#clock.now() - since }, "API server answers again");
    for (const listener of [...this.#listeners]) {
      try {
        listener();
      } catch (error) {
        this.#logger?.warn({ error: String(error) }, "reachability listener failed");
      }
    }
  }

  /** Runs `listener` each time the API server answers after an outage. Returns an unsubscribe. */
  onRecovered(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => {
      this.#listeners.delete(listener);
    };
  }

  /** Stops probing; later failures are ignored. */
  close(): void {
    this.#closed = true;
    this.#clock.clearTimeout(this.#timer);
    this.#probing?.abort();
  }

  #scheduleProbe(): void {
    this.#timer = this.#clock.setTimeout(() => {
      this.#timer = undefined;
      void this.#probeOnce();
    }, this.#intervalMs);
  }

  async #probeOnce(): Promise<void> {
    if (!this.#stillDown()) return;
    const probing = new AbortController();
    this.#probing = probing;
    try {
      await this.#probe(probing.signal);
      if (!probing.signal.aborted) this.answered();
    } catch {
      // Read again after the await: an answer or close() may have come meanwhile.
      if (!probing.signal.aborted && this.#stillDown()) this.#scheduleProbe();
    }
  }

  #stillDown(): boolean {
    return !this.#closed && this.#unreachableSince !== undefined;
  }
}
