/**
 * Splits a watch response body into events. The response status and the body can reach the
 * stream's listeners in either order under load (a DATA chunk before the `response` event), so
 * chunks that arrive before the status is known are held, not guessed to be an error body: guessing
 * dropped the head of the watch and the next line failed to parse.
 */
import type { WatchEventType } from "./client.js";

/** One decoded watch event. */
export interface WatchEvent {
  type: WatchEventType;
  object: unknown;
}

/** Feeds a watch response through; events come out in order, each line parsed once. */
export class WatchDecoder {
  #status: number | undefined;
  #held: string[] = [];
  #buffered = "";
  #errorBody = "";
  readonly #onEvent: (event: WatchEvent) => void;

  constructor(onEvent: (event: WatchEvent) => void) {
    this.#onEvent = onEvent;
  }

  /** The HTTP status, once known. */
  get status(): number | undefined {
    return this.#status;
  }

  /** The body of a non-200 response (for the API error). */
  get errorBody(): string {
    return this.#errorBody;
  }

  /** The response headers arrived. Replays chunks held until now. Throws what `onEvent` throws. */
  response(status: number): void {
    this.#status = status;
    const held = this.#held;
    this.#held = [];
    for (const chunk of held) this.data(chunk);
  }

  /** A body chunk. Throws a parse error, or what `onEvent` throws, for the caller to end the watch. */
  data(chunk: string): void {
    if (this.#status === undefined) {
      this.#held.push(chunk);
      return;
    }
    if (this.#status !== 200) {
      this.#errorBody += chunk;
      return;
    }
    this.#buffered += chunk;
    let newline = this.#buffered.indexOf("\n");
    while (newline >= 0) {
      const line = this.#buffered.slice(0, newline);
      this.#buffered = this.#buffered.slice(newline + 1);
      if (line.trim().length > 0) this.#onEvent(JSON.parse(line) as WatchEvent);
      newline = this.#buffered.indexOf("\n");
    }
  }
}
