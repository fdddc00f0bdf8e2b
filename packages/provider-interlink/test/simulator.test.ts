import { FakeClock } from "@virtual-node/core";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { InterLinkPodStatus, PodCreateRequests } from "../src/api-types.js";
import { parseScript, startInterLinkSimulator } from "./simulator/simulator.js";
import type { InterLinkSimulator } from "./simulator/simulator.js";
import { loadInterLinkSchema, validate } from "./simulator/validate.js";

const UID = "6f1c1f0e-9a4b-4c1e-8d2a-0b5e3c9d7a11";

function createRequest(script: string, uid = UID): PodCreateRequests {
  return {
    pod: {
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "job-a", namespace: "batch", uid },
      spec: {
        restartPolicy: "Never",
        initContainers: [{ name: "prep", image: "busybox", command: ["sh", "-c", "echo prep; sleep 1"] }],
        containers: [{ name: "main", image: "busybox", command: ["sh", "-c", script] }],
      },
    },
    configmaps: [],
    secrets: [],
    projectedvolumesmaps: [],
  };
}

describe("interLink simulator", () => {
  let clock: FakeClock;
  let sim: InterLinkSimulator;

  beforeEach(async () => {
    clock = new FakeClock(Date.UTC(2026, 11, 1, 12));
    sim = await startInterLinkSimulator({ clock, timing: { queueMs: 1_000 }, token: "t0k" });
  });
  afterEach(async () => {
    await sim.close();
  });

  async function call(path: string, body: unknown, method = "POST", token = "t0k"): Promise<Response> {
    return fetch(`${sim.url}${path}`, {
      method,
      headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  }

  async function status(): Promise<InterLinkPodStatus[]> {
    const res = await call("/status", [{ metadata: { name: "job-a", namespace: "batch", uid: UID } }]);
    return (await res.json()) as InterLinkPodStatus[];
  }

  it("the schema is derived from interLink's description and names its source commit", () => {
    const schema = loadInterLinkSchema();
    expect(schema.$comment).toContain("f632175701d78b604138ce2e1e38af13d1f7546b");
    expect(Object.keys(schema.operations).sort()).toEqual([
      "create",
      "delete",
      "getLogs",
      "pinglink",
      "status",
    ]);
  });

  it("rejects wrongly shaped requests with the server's decode error and records a violation", async () => {
    const bad = { ...createRequest("exit 0"), extra: 1 } as unknown;
    const res = await call("/create", bad);
    expect(res.status).toBe(500);
    expect(await res.text()).toContain("unknown member extra");
    const wrongType = createRequest("exit 0") as unknown as { configmaps: unknown };
    wrongType.configmaps = "nope";
    expect((await call("/create", wrongType)).status).toBe(500);
    const logs = await call("/getLogs", { Namespace: "batch", PodUID: UID, PodName: "job-a", Opts: {} });
    expect(logs.status).toBe(400);
    expect(sim.violations.map((v) => v.errors.join(";"))).toEqual([
      "$: unknown member extra",
      "$.configmaps: expected array or null, got string",
      "$: missing required member ContainerName",
    ]);
    expect(sim.jobCount).toBe(0);
  });

  it("validates nested Kubernetes types: base64 Secret data, quantities, env", () => {
    const schema = loadInterLinkSchema();
    const op = schema.operations.create?.request ?? {};
    const ok = createRequest("exit 0");
    ok.secrets = [{ metadata: { name: "s" }, data: { k: "c2VjcmV0" } }];
    const main = ok.pod.spec?.containers[0];
    if (main) main.resources = { requests: { cpu: "500m", memory: "1Gi" } };
    expect(validate(schema, op, ok)).toEqual([]);
    const bad = createRequest("exit 0");
    bad.secrets = [{ metadata: { name: "s" }, data: { k: "plain text!" } }];
    expect(validate(schema, op, bad)).toEqual(["$.secrets[0].data.k: not base64"]);
  });

  it("answers 401 without the bearer token", async () => {
    const res = await call("/status", [], "POST", "wrong");
    expect(res.status).toBe(401);
  });

  it("moves a job through queued → init → running → finished on its clock, with the exit code", async () => {
    const created = await call("/create", createRequest("echo hello; sleep 5; echo bye; exit 3"));
    expect(created.status).toBe(200);
    const { PodUID, PodJID } = (await created.json()) as { PodUID: string; PodJID: string };
    expect(PodUID).toBe(UID);
    expect(PodJID).toMatch(/^\d+$/);

    let [s] = await status();
    expect(s?.JID).toBe(PodJID);
    expect(s?.initContainers?.[0]?.state?.waiting?.reason).toBe("ContainerCreating");
    expect(s?.containers?.[0]?.state?.waiting).toBeDefined();

    clock.advance(1_500); // queue done, init running
    [s] = await status();
    expect(s?.initContainers?.[0]?.state?.running).toBeDefined();
    expect(s?.containers?.[0]?.state?.waiting).toBeDefined();

    clock.advance(1_000); // init done, main running
    [s] = await status();
    expect(s?.initContainers?.[0]?.state?.terminated?.exitCode).toBe(0);
    expect(s?.containers?.[0]?.state?.running?.startedAt).toMatch(/Z$/);

    clock.advance(6_000);
    [s] = await status();
    expect(s?.containers?.[0]?.state?.terminated).toMatchObject({ exitCode: 3, reason: "Error" });
    expect(sim.violations).toEqual([]);
  });

  it("an empty status list answers every job (interLink's StatusHandler), GET is accepted like the VK sends it", async () => {
    await call("/create", createRequest("sleep 100"));
    await call("/create", createRequest("sleep 100", "0e3b2a9c-1d4f-4a8b-9c7d-5e6f7a8b9c0d"));
    const res = await fetch(`${sim.url}/status`, {
      method: "GET",
      headers: { authorization: "Bearer t0k" },
    });
    // fetch cannot send a GET body; an empty body is an empty list.
    expect(((await res.json()) as unknown[]).length).toBe(2);
    expect(sim.calls("status").map((r) => r.method)).toEqual(["GET"]);
  });

  it("serves logs with Tail, Bytes, SinceSeconds and Timestamps, and enforces interLink's checks", async () => {
    await call("/create", createRequest("echo one; sleep 1; echo two; sleep 1; echo three; sleep 100"));
    clock.advance(10_000);
    const logs = async (opts: Record<string, unknown>) =>
      call("/getLogs", {
        Namespace: "batch",
        PodUID: UID,
        PodName: "job-a",
        ContainerName: "main",
        Opts: {
          Tail: 0,
          Bytes: 0,
          Timestamps: false,
          Follow: false,
          Previous: false,
          SinceSeconds: 0,
          ...opts,
        },
      });
    expect(await (await logs({})).text()).toBe("one\ntwo\nthree\n");
    expect(await (await logs({ Tail: 1 })).text()).toBe("three\n");
    expect(await (await logs({ Bytes: 6 })).text()).toBe("one\ntw");
    expect(await (await logs({ SinceSeconds: 7 })).text()).toBe("two\nthree\n");
    expect(await (await logs({ Timestamps: true, Tail: 1 })).text()).toMatch(
      /^2026-12-01T12:00:04\.000000000Z three\n$/,
    );
    const both = await logs({ Tail: 1, Bytes: 5 });
    expect(both.status).toBe(400);
    expect(await both.text()).toBe("Both Tail and LimitBytes set. Set only one of them");
  });

  it("injects failures (a 504 on create, throttling with Retry-After) and slow answers", async () => {
    sim.fail("create", { status: 504, body: "Gateway Timeout: sbatch did not answer" });
    const res = await call("/create", createRequest("exit 0"));
    expect(res.status).toBe(504);
    expect(sim.jobCount).toBe(0);
    sim.fail("status", { status: 429, headers: { "retry-after": "3" } });
    const throttled = await call("/status", []);
    expect(throttled.status).toBe(429);
    expect(throttled.headers.get("retry-after")).toBe("3");
    sim.fail("pinglink", { status: 200, body: "late", delayMs: 5_000 });
    let done = false;
    const slow = call("/pinglink", undefined).then(() => (done = true));
    await new Promise((r) => setTimeout(r, 50));
    expect(done).toBe(false);
    clock.advance(5_000);
    await slow;
    expect(done).toBe(true);
  });

  it("deletes a job and forgets it; delete of a missing job answers 200", async () => {
    await call("/create", createRequest("sleep 100"));
    const del = await call(
      "/delete",
      { metadata: { name: "job-a", namespace: "batch", uid: UID, deletionGracePeriodSeconds: 5 } },
      "DELETE",
    );
    expect(del.status).toBe(200);
    expect(await status()).toEqual([]);
    expect(sim.deleted).toEqual([{ uid: UID, gracePeriodSeconds: 5 }]);
    expect((await call("/delete", { metadata: { uid: UID } })).status).toBe(200);
  });

  it("parses the small shell subset", () => {
    expect(parseScript("echo 'hi there' && sleep 2; exit 4")).toEqual([
      { kind: "echo", text: "hi there" },
      { kind: "sleep", ms: 2000 },
      { kind: "exit", code: 4 },
    ]);
  });
});
