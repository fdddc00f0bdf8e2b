/**
 * The fence of one virtual node: held while this replica may write for the node. It is extended
 * by every successful renewal of the node's ownership Lease and lapses on its own, by time, when
 * renewals stop succeeding — before any other replica may consider the Lease expired.
 */
import type { Clock } from "../clock.js";
import { AbortedError } from "../errors.js";

const NOT_OWNER = Symbol.for("@virtual-node/core.not-owner");

/**
 * A write for a node this replica does not (or no longer) own was refused. An {@link AbortedError}:
 * the operation was cancelled because the node's work moved to another replica; it never fails a pod.
 */
export class NotOwnerError extends AbortedError {
  /** The node whose write was refused. */
  readonly nodeName: string;
  constructor(nodeName: string, why: string) {
    super(`virtual node ${nodeName}: not the owner (${why}); write refused`);
    this.name = "NotOwnerError";
    this.nodeName = nodeName;
    Object.defineProperty(this, NOT_OWNER, { value: true });
  }

  static override [Symbol.hasInstance](value: unknown): boolean {
    return (
      typeof value === "object" && value !== null && (value as Record<symbol, unknown>)[NOT_OWNER] === true
    );
  }
}

/** Gates every write for one node (`fenced-ports.ts` wraps the client and the provider with it). */
export class Fence {
  readonly nodeName: string;
  readonly #clock: Clock;
  readonly #renewDeadlineMs: number;
  /** Local time until which writes are allowed; 0 = not held. */
  #heldUntil = 0;
  #revoked = "not acquired";

  constructor(nodeName: string, clock: Clock, renewDeadlineMs: number) {
    this.nodeName = nodeName;
    this.#clock = clock;
    this.#renewDeadlineMs = renewDeadlineMs;
  }

  /**
   * A Lease write that started at `startedAt` (local clock) succeeded. The server's view of the
   * lease started no earlier than that, so the deadline counts from the start of the request.
   */
  renewed(startedAt: number): void {
    this.#heldUntil = Math.max(this.#heldUntil, startedAt + this.#renewDeadlineMs);
    this.#revoked = "";
  }

  /** Local time at which the fence lapses unless renewed again. */
  get heldUntil(): number {
    return this.#heldUntil;
  }

  /** True while this replica may write for the node. */
  get held(): boolean {
    return this.#revoked === "" && this.#clock.now() < this.#heldUntil;
  }

  /** Stops every write at once (lost the Lease, releasing it, shutting down). */
  revoke(why: string): void {
    this.#heldUntil = 0;
    this.#revoked = why;
  }

  /** Throws {@link NotOwnerError} unless the fence is held. */
  check(): void {
    if (this.held) return;
    throw new NotOwnerError(this.nodeName, this.#revoked || "ownership lease not renewed in time");
  }
}
