/**
 * The pure parts of the fault suite's checks: reading the cloud's call log off the wire, cutting it into
 * per-caller runs (the "never two active at once" check) and comparing container start times.
 */
import { describe, expect, it } from "vitest";

import { callerRuns, parseCloudCalls, restartedSince, type CloudCall } from "../support.js";

describe("parseCloudCalls", () => {
  const head = (line: string, headers: string[]) => [line, ...headers, "", ""].join("\r\n");
  it.each([
    {
      name: "one request with its caller",
      chunk: head("POST /groups HTTP/1.1", ["host: x", "x-vn-caller: replica-a", "content-length: 2"]) + "{}",
      want: [{ method: "POST", path: "/groups", caller: "replica-a" }],
    },
    {
      name: "the header name in any case",
      chunk: head("GET /ping HTTP/1.1", ["X-VN-Caller: replica-b"]),
      want: [{ method: "GET", path: "/ping", caller: "replica-b" }],
    },
    {
      name: "two pipelined requests, each with its own caller",
      chunk:
        head("DELETE /groups/ns/a HTTP/1.1", ["x-vn-caller: r1"]) +
        head("PUT /groups/ns/b HTTP/1.1", ["x-vn-caller: r2"]),
      want: [
        { method: "DELETE", path: "/groups/ns/a", caller: "r1" },
        { method: "PUT", path: "/groups/ns/b", caller: "r2" },
      ],
    },
    {
      name: "the node the call is for",
      chunk: head("GET /pods?node=vn-3 HTTP/1.1", ["x-vn-caller: replica-a", "x-vn-node: vn-3"]),
      want: [{ method: "GET", path: "/pods?node=vn-3", caller: "replica-a", node: "vn-3" }],
    },
    {
      name: "a request without the header",
      chunk: head("GET /events HTTP/1.1", ["host: x"]),
      want: [{ method: "GET", path: "/events", caller: undefined }],
    },
    {
      name: "the next request's header is not taken for a request that has none",
      chunk: head("GET /a HTTP/1.1", ["host: x"]) + head("GET /b HTTP/1.1", ["x-vn-caller: r2"]),
      want: [
        { method: "GET", path: "/a", caller: undefined },
        { method: "GET", path: "/b", caller: "r2" },
      ],
    },
    { name: "a body chunk", chunk: '{"spec":{"name":"GET /x HTTP/1.1"}}', want: [] },
  ])("$name", ({ chunk, want }) => {
    expect(parseCloudCalls(chunk, 7)).toEqual(want.map((w) => ({ at: 7, ...w })));
  });
});

describe("callerRuns", () => {
  const call = (at: number, caller?: string): CloudCall => ({ at, method: "GET", path: "/", caller });
  it.each([
    { name: "no calls", calls: [], want: [] },
    {
      name: "one owner then another: two runs",
      calls: [call(1, "a"), call(2, "a"), call(5, "b"), call(9, "b")],
      want: [
        { caller: "a", from: 1, to: 2, calls: 2 },
        { caller: "b", from: 5, to: 9, calls: 2 },
      ],
    },
    {
      name: "interleaved callers (two active at once): a run per switch",
      calls: [call(1, "a"), call(2, "b"), call(3, "a"), call(4, "b")],
      want: [
        { caller: "a", from: 1, to: 1, calls: 1 },
        { caller: "b", from: 2, to: 2, calls: 1 },
        { caller: "a", from: 3, to: 3, calls: 1 },
        { caller: "b", from: 4, to: 4, calls: 1 },
      ],
    },
    {
      name: "sorted by time first; a missing caller is its own run",
      calls: [call(3, "a"), call(1, "a"), call(2)],
      want: [
        { caller: "a", from: 1, to: 1, calls: 1 },
        { caller: "<none>", from: 2, to: 2, calls: 1 },
        { caller: "a", from: 3, to: 3, calls: 1 },
      ],
    },
  ])("$name", ({ calls, want }) => {
    expect(callerRuns(calls)).toEqual(want);
  });
});

describe("restartedSince", () => {
  it.each([
    { name: "same start times", before: [["u1", "t1"]], after: [["u1", "t1"]], want: [] },
    { name: "a changed start time", before: [["u1", "t1"]], after: [["u1", "t2"]], want: ["u1"] },
    { name: "a pod gone (deleted) is not a restart", before: [["u1", "t1"]], after: [], want: [] },
    { name: "a new pod is not a restart", before: [], after: [["u2", "t1"]], want: [] },
  ] as { name: string; before: [string, string][]; after: [string, string][]; want: string[] }[])(
    "$name",
    ({ before, after, want }) => {
      expect(restartedSince(new Map(before), new Map(after))).toEqual(want);
    },
  );
});
