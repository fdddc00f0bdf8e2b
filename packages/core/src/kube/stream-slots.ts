/**
 * How many requests one HTTP/2 connection carries at once. Beyond the API server's
 * SETTINGS_MAX_CONCURRENT_STREAMS (Go's default: 250) nghttp2 queues new streams inside the session,
 * where their headers and bodies count against Node's `maxSessionMemory` (10 MB); past that every new
 * stream is refused with `NGHTTP2_ENHANCE_YOUR_CALM` — the fleet benchmark (500 nodes, one connection)
 * had 21,722 such refusals. Requests wait here instead, in order, for the cost of a closure each. (Go's
 * transport opens another connection at the limit; one connection keeps one ping and one reconnect.)
 *
 * Heartbeats (node leases, node status) wait in a lane of their own that is served first: in one
 * FIFO they queued behind thousands of pod writes — the fleet benchmark's 500 nodes renewed their
 * leases up to 100 s late and 3,987 renewals came after the lease had expired, which is how a node
 * is marked NotReady and its pods evicted. The kubelet keeps heartbeats apart for the same reason (its
 * own heartbeat client, no client-side rate limit), and the API server's priority and fairness puts
 * leases in `node-high`.
 */
import { AbortedError } from "../errors.js";

/** Which queue a request waits in: `heartbeat` is served before `normal`. */
export type StreamLane = "normal" | "heartbeat";

interface Waiter {
  grant: () => void;
  cancelled: boolean;
}

/** FIFO of waiters with O(1) removal from the head; cancelled waiters are skipped, not spliced out. */
class WaiterQueue {
  #items: Waiter[] = [];
  #head = 0;

  get empty(): boolean {
    return this.#head === this.#items.length;
  }

  get waiting(): number {
    let n = 0;
    for (let i = this.#head; i < this.#items.length; i++) if (this.#items[i]?.cancelled === false) n++;
    return n;
  }

  push(waiter: Waiter): void {
    this.#items.push(waiter);
  }

  /** The next waiter still waiting, or undefined. */
  shift(): Waiter | undefined {
    while (this.#head < this.#items.length) {
      const waiter = this.#items[this.#head++];
      if (waiter !== undefined && !waiter.cancelled) {
        this.#compact();
        return waiter;
      }
    }
    this.#compact();
    return undefined;
  }

  #compact(): void {
    if (this.#head === this.#items.length) {
      this.#items = [];
      this.#head = 0;
    } else if (this.#head > 1024 && this.#head * 2 > this.#items.length) {
      this.#items = this.#items.slice(this.#head);
      this.#head = 0;
    }
  }
}

export class StreamSlots {
  #active = 0;
  readonly #lanes: Record<StreamLane, WaiterQueue> = {
    heartbeat: new WaiterQueue(),
    normal: new WaiterQueue(),
  };

  /** `limit()` is read at every decision: it follows the peer's settings and the open watches. */
  constructor(private readonly limit: () => number) {}

  /** Requests holding a slot now. */
  get active(): number {
    return this.#active;
  }

  /** Requests waiting for a slot, in both lanes. */
  get waiting(): number {
    return this.#lanes.heartbeat.waiting + this.#lanes.normal.waiting;
  }

  /** Waits for a slot; call the returned function once when the stream has closed. */
  async acquire(signal?: AbortSignal, lane: StreamLane = "normal"): Promise<() => void> {
    if (signal?.aborted === true) throw new AbortedError();
    // A normal request may not pass anyone waiting; a heartbeat only waits behind heartbeats.
    const ahead =
      lane === "heartbeat"
        ? this.#lanes.heartbeat.empty
        : this.#lanes.heartbeat.empty && this.#lanes.normal.empty;
    if (ahead && this.#active < this.limit()) {
      this.#active++;
      return this.#releaser();
    }
    await new Promise<void>((resolve, reject) => {
      const waiter: Waiter = {
        cancelled: false,
        grant: () => {
          signal?.removeEventListener("abort", onAbort);
          resolve();
        },
      };
      const onAbort = (): void => {
        waiter.cancelled = true;
        reject(new AbortedError());
        this.#grant(); // the waiters behind it may fit now
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      this.#lanes[lane].push(waiter);
    });
    return this.#releaser();
  }

  /** The limit may have grown (the peer's SETTINGS arrived, a watch ended): let waiters in. */
  recheck(): void {
    this.#grant();
  }

  #releaser(): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#active--;
      this.#grant();
    };
  }

  #grant(): void {
    while (this.#active < this.limit()) {
      const waiter = this.#lanes.heartbeat.shift() ?? this.#lanes.normal.shift();
      if (waiter === undefined) return;
      this.#active++;
      waiter.grant();
    }
  }
}
