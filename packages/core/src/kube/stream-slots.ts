/**
 * How many requests one HTTP/2 connection carries at once. Beyond the API server's
 * SETTINGS_MAX_CONCURRENT_STREAMS (Go's default: 250) nghttp2 queues new streams inside the session,
 * where their headers and bodies count against Node's `maxSessionMemory` (10 MB); past that every new
 * stream is refused with `NGHTTP2_ENHANCE_YOUR_CALM` — the fleet benchmark (500 nodes, one connection)
 * had 21,722 such refusals. Requests wait here instead, in order, for the cost of a closure each. (Go's
 * transport opens another connection at the limit; one connection keeps one ping and one reconnect.)
 */
import { AbortedError } from "../errors.js";

interface Waiter {
  grant: () => void;
  cancelled: boolean;
}

export class StreamSlots {
  #active = 0;
  #queue: Waiter[] = [];
  #head = 0;

  /** `limit()` is read at every decision: it follows the peer's settings and the open watches. */
  constructor(private readonly limit: () => number) {}

  /** Requests holding a slot now. */
  get active(): number {
    return this.#active;
  }

  /** Requests waiting for a slot. */
  get waiting(): number {
    let n = 0;
    for (let i = this.#head; i < this.#queue.length; i++) if (this.#queue[i]?.cancelled === false) n++;
    return n;
  }

  /** Waits for a slot; call the returned function once when the stream has closed. */
  async acquire(signal?: AbortSignal): Promise<() => void> {
    if (signal?.aborted === true) throw new AbortedError();
    if (this.#head === this.#queue.length && this.#active < this.limit()) {
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
      this.#queue.push(waiter);
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
    while (this.#head < this.#queue.length && this.#active < this.limit()) {
      const waiter = this.#queue[this.#head++];
      if (waiter === undefined || waiter.cancelled) continue;
      this.#active++;
      waiter.grant();
    }
    if (this.#head === this.#queue.length) {
      this.#queue = [];
      this.#head = 0;
    } else if (this.#head > 1024 && this.#head * 2 > this.#queue.length) {
      this.#queue = this.#queue.slice(this.#head);
      this.#head = 0;
    }
  }
}
