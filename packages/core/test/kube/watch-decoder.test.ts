import { describe, expect, it } from "vitest";
import { WatchDecoder, type WatchEvent } from "../../src/kube/watch-decoder.js";

const line = (type: string, name: string): string =>
  `${JSON.stringify({ type, object: { metadata: { name } } })}\n`;

function decode(): { decoder: WatchDecoder; events: WatchEvent[] } {
  const events: WatchEvent[] = [];
  return { decoder: new WatchDecoder((e) => events.push(e)), events };
}

describe("WatchDecoder", () => {
  it("decodes events split across chunks at any byte", () => {
    const body = line("ADDED", "a") + line("MODIFIED", "b") + line("DELETED", "c");
    for (let cut = 1; cut < body.length; cut++) {
      const { decoder, events } = decode();
      decoder.response(200);
      decoder.data(body.slice(0, cut));
      decoder.data(body.slice(cut));
      expect(events.map((e) => e.type)).toEqual(["ADDED", "MODIFIED", "DELETED"]);
    }
  });

  it("keeps data that arrives before the response status (seen under load)", () => {
    const { decoder, events } = decode();
    const body = line("ADDED", "early") + line("MODIFIED", "early");
    decoder.data(body.slice(0, 20));
    decoder.data(body.slice(20));
    expect(events).toEqual([]);
    decoder.response(200);
    decoder.data(line("DELETED", "late"));
    expect(
      events.map((e) => `${e.type}:${(e.object as { metadata: { name: string } }).metadata.name}`),
    ).toEqual(["ADDED:early", "MODIFIED:early", "DELETED:late"]);
  });

  it("collects the body of an error status instead of parsing it", () => {
    const { decoder, events } = decode();
    decoder.data('{"kind":"Status","code":');
    decoder.response(403);
    decoder.data('403,"reason":"Forbidden"}');
    expect(events).toEqual([]);
    expect(JSON.parse(decoder.errorBody)).toEqual({ kind: "Status", code: 403, reason: "Forbidden" });
  });

  it("throws on a malformed line, so the watch ends and the reflector relists", () => {
    const { decoder } = decode();
    decoder.response(200);
    expect(() => {
      decoder.data("{not json}\n");
    }).toThrow(SyntaxError);
  });

  it("passes a handler's error through", () => {
    const decoder = new WatchDecoder(() => {
      throw new Error("410 Gone");
    });
    decoder.data(line("ERROR", "x"));
    expect(() => {
      decoder.response(200);
    }).toThrow("410 Gone");
  });
});
