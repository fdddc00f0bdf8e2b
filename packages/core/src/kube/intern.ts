/**
 * One copy of each repeated string in the caches. `JSON.parse` gives every occurrence of a value its own
 * string, so 10,000 cached pods hold 10,000 copies of their namespace, image, node name, scheduler name,
 * condition types, env var names, volume paths… — measured in a heap snapshot of the agent with 2,000
 * cached pods, strings were a third of the heap and most of them repeated. Interning the values of each
 * object as it enters a cache keeps one copy of each.
 */

/** Keys whose values are unique per object: interning them would only fill the table. */
const UNIQUE_VALUES = new Set(["uid", "resourceVersion"]);

/** Replaces repeated string values of cached objects by one shared copy. */
export class StringInterner {
  #table = new Map<string, string>();

  /**
   * @param maxEntries the table is emptied when it reaches this size (strings in use stay alive where
   *   they are used; later repeats are shared again), so unique values cannot grow it without bound.
   * @param maxLength longer strings (certificates, scripts) are rarely repeated and are left alone.
   */
  constructor(
    private readonly maxEntries = 50_000,
    private readonly maxLength = 256,
  ) {}

  /** Interns the string values of `value` in place and returns it (a reflector `transform`). */
  intern<T>(value: T): T {
    this.#walk(value);
    return value;
  }

  /** How many distinct strings the table holds now. */
  get size(): number {
    return this.#table.size;
  }

  #walk(value: unknown): void {
    if (Array.isArray(value)) {
      for (let i = 0; i < value.length; i++) {
        const item: unknown = value[i];
        if (typeof item === "string") value[i] = this.#one(item);
        else if (typeof item === "object" && item !== null) this.#walk(item);
      }
      return;
    }
    if (typeof value !== "object" || value === null) return;
    const record = value as Record<string, unknown>;
    for (const key in record) {
      const item = record[key];
      if (typeof item === "string") {
        if (!UNIQUE_VALUES.has(key)) record[key] = this.#one(item);
      } else if (typeof item === "object" && item !== null) this.#walk(item);
    }
  }

  #one(text: string): string {
    if (text.length > this.maxLength) return text;
    const known = this.#table.get(text);
    if (known !== undefined) return known;
    if (this.#table.size >= this.maxEntries) this.#table.clear();
    this.#table.set(text, text);
    return text;
  }
}
