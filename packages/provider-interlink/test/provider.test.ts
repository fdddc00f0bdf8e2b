import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FakeClock, errorCode, podKey } from "@virtual-node/core";
import type { PodRef } from "@virtual-node/core";
import { createCertificateAuthority, issueCertificate } from "@virtual-node/testing";
import { makeResolvedPod } from "@virtual-node/testing/conformance";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { SITE_JOB_ID_ANNOTATION, createInterLinkProvider } from "../src/index.js";
import type { InterLinkProvider, InterLinkProviderOptions, PodCreateRequests } from "../src/index.js";
import { startInterLinkSimulator } from "./simulator/simulator.js";
import type { InterLinkSimulator, InterLinkSimulatorOptions } from "./simulator/simulator.js";

const call = () => ({ signal: new AbortController().signal });

async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  let text = "";
  for await (const chunk of stream) text += String(chunk);
  return text;
}

describe("interLink provider", () => {
  let clock: FakeClock;
  let sim: InterLinkSimulator;
  let provider: InterLinkProvider;
  let dir: string;
  let started = false;

  async function start(
    simOptions: InterLinkSimulatorOptions = {},
    options: Partial<InterLinkProviderOptions> = {},
  ) {
    sim = await startInterLinkSimulator({ clock, timing: { queueMs: 1_000 }, ...simOptions });
    provider = createInterLinkProvider({ url: sim.url, nodeName: "vn-hpc", clock, ...options });
    started = true;
  }

  /** Moves the fake clock in small steps until `promise` settles (rate limits and backoff wait on it). */
  async function drive<T>(promise: Promise<T>, stepMs = 50): Promise<T> {
    let done = false;
    const settled = promise.finally(() => {
      done = true;
    });
    while (!done) await clock.advanceAsync(stepMs);
    return settled;
  }

  beforeEach(() => {
    clock = new FakeClock(Date.UTC(2026, 11, 1, 12));
    dir = mkdtempSync(join(tmpdir(), "interlink-test-"));
  });
  afterEach(async () => {
    rmSync(dir, { recursive: true, force: true });
    if (!started) return;
    started = false;
    await provider.close();
    await sim.close();
    expect(sim.violations).toEqual([]);
  });

  it("a 504 on create surfaces at once with the site's message; the retry finds the job and does not submit again", async () => {
    await start();
    const pod = makeResolvedPod({ nodeName: "vn-hpc", behaviour: "run" });
    sim.fail("create", { status: 504, body: "Gateway Timeout: sbatch did not answer in time", apply: true });
    const error = await provider.createPod(pod, call()).catch((e: unknown) => e);
    expect(errorCode(error)).toBe("VN_RETRYABLE");
    expect(String(error)).toContain(
      "interLink create answered HTTP 504: Gateway Timeout: sbatch did not answer in time",
    );
    // The job reached the site although the answer was lost: the retry must not submit it twice.
    await provider.createPod(pod, call());
    expect(sim.calls("create")).toHaveLength(1);
    expect(sim.jobCount).toBe(1);
    expect(await provider.getPodStatus(pod.ref, call())).toBeDefined();
  });

  it("publishes the site's job ID; a new agent given the annotated pod asks the site with it and submits nothing", async () => {
    await start();
    const pod = makeResolvedPod({ nodeName: "vn-hpc", behaviour: "run" });
    await provider.createPod(pod, call());
    const jobId = (await provider.getPodStatus(pod.ref, call()))?.annotations?.[SITE_JOB_ID_ANNOTATION];
    expect(jobId).toMatch(/\S/);

    // A restarted agent: core hands it the API pod, which carries the annotation core merged.
    await provider.close();
    provider = createInterLinkProvider({ url: sim.url, nodeName: "vn-hpc", clock });
    const annotated = structuredClone(pod);
    annotated.pod.metadata = {
      ...annotated.pod.metadata,
      annotations: { ...annotated.pod.metadata?.annotations, [SITE_JOB_ID_ANNOTATION]: jobId ?? "" },
    };
    const statusCallsBefore = sim.calls("status").length;
    await provider.createPod(annotated, call());
    expect(sim.calls("create")).toHaveLength(1);
    const asked = sim.calls("status").slice(statusCallsBefore);
    expect(asked.some((c) => c.body.includes(`"JobID":"${jobId ?? ""}"`))).toBe(true);
  });

  it("an update says on the pod that interLink cannot apply it (message and one Warning event per update)", async () => {
    await start();
    const pod = makeResolvedPod({ nodeName: "vn-hpc", behaviour: "run" });
    await provider.createPod(pod, call());
    expect((await provider.getPodStatus(pod.ref, call()))?.events).toBeUndefined();
    await provider.updatePod(pod, { ...call(), reason: "spec" });
    const first = await provider.getPodStatus(pod.ref, call());
    expect(first?.message).toMatch(/no update call.*delete the pod/);
    expect(first?.events).toMatchObject([{ type: "Warning", reason: "UpdateNotApplied" }]);
    await clock.advanceAsync(1_000);
    await provider.updatePod(pod, { ...call(), reason: "volumes" });
    const second = await provider.getPodStatus(pod.ref, call());
    expect(second?.events?.[0]?.id).not.toBe(first?.events?.[0]?.id);
    expect(sim.calls("create")).toHaveLength(1);
    const unknown = makeResolvedPod({ nodeName: "vn-hpc" });
    expect(
      errorCode(await provider.updatePod(unknown, { ...call(), reason: "spec" }).catch((e: unknown) => e)),
    ).toBe("VN_NOT_FOUND");
  });

  it("a submission the site rejects is not retried inside the call, and a timeout is a RetryableError naming it", async () => {
    await start({}, { timeouts: { createMs: 5_000 } });
    const pod = makeResolvedPod({ nodeName: "vn-hpc" });
    sim.fail("create", { status: 500, body: "sbatch: error: invalid partition specified: gpu-xl" });
    const rejected = await provider.createPod(pod, call()).catch((e: unknown) => e);
    expect(String(rejected)).toContain("invalid partition specified: gpu-xl");
    expect(sim.calls("create")).toHaveLength(1);

    sim.fail("create", { status: 200, body: "{}", delayMs: 60_000 });
    const pending = provider.createPod(pod, call()).catch((e: unknown) => e);
    // Let the request reach the simulator, then pass the create timeout on the fake clock.
    while (sim.calls("create").length < 2) await new Promise((r) => setTimeout(r, 5));
    await clock.advanceAsync(5_000);
    const timedOut = await pending;
    expect(errorCode(timedOut)).toBe("VN_RETRYABLE");
    expect(String(timedOut)).toContain("interLink create timed out after 5000 ms");
    await clock.advanceAsync(60_000);
  });

  it("sends the resolved ConfigMaps, Secrets and projected volumes in PodCreateRequests shape, no Secret value in plain text", async () => {
    await start();
    const enc = new TextEncoder();
    const pod = makeResolvedPod({ nodeName: "vn-hpc", volumes: ["configMap", "emptyDir"] });
    pod.volumes.push(
      {
        name: "creds",
        kind: "secret",
        files: [
          {
            path: "password",
            content: enc.encode("hunter2-volume"),
            mode: 0o400,
            secret: true,
            source: { kind: "secret", name: "db", key: "password" },
          },
        ],
      },
      {
        name: "kube-api-access",
        kind: "projected",
        files: [
          {
            path: "token",
            content: enc.encode("eyJhbGciOiJSUzI1NiJ9.token-value"),
            mode: 0o644,
            secret: true,
            source: { kind: "value" },
          },
          { path: "namespace", content: enc.encode("default"), mode: 0o644, secret: false },
        ],
      },
    );
    pod.pod.spec?.volumes?.push(
      { name: "creds", secret: { secretName: "db" } },
      { name: "kube-api-access", projected: { sources: [{ serviceAccountToken: { path: "token" } }] } },
    );
    const main = pod.containers[0];
    main?.env.push(
      {
        name: "DB_PASSWORD",
        value: "hunter2-env",
        secret: true,
        source: { kind: "secret", name: "db", key: "api" },
      },
      { name: "DSN", value: "postgres://app:hunter2-expanded@db", secret: true, source: { kind: "value" } },
      {
        name: "MODE",
        value: "batch",
        secret: false,
        source: { kind: "configMap", name: "cfg", key: "mode" },
      },
    );
    await provider.createPod(pod, call());
    const body = JSON.parse(sim.calls("create")[0]?.body ?? "{}") as PodCreateRequests;
    expect(body.configmaps.map((c) => [c.metadata.name, c.data])).toEqual([
      ["vol-configmap", { "config.txt": "hello from configMap\n" }],
    ]);
    const secrets = Object.fromEntries(body.secrets.map((s) => [s.metadata.name, s.data]));
    expect(Buffer.from(secrets.db?.password ?? "", "base64").toString()).toBe("hunter2-volume");
    expect(Buffer.from(secrets.db?.api ?? "", "base64").toString()).toBe("hunter2-env");
    const projected = body.projectedvolumesmaps.find((m) => m.metadata.name === "kube-api-access");
    expect(projected?.data).toEqual({ namespace: "default" });
    expect(Buffer.from(projected?.binaryData?.token ?? "", "base64").toString()).toContain("token-value");
    const env = body.pod.spec?.containers[0]?.env ?? [];
    expect(env.find((e) => e.name === "MODE")).toEqual({ name: "MODE", value: "batch" });
    expect(env.find((e) => e.name === "DB_PASSWORD")?.valueFrom?.secretKeyRef).toEqual({
      name: "db",
      key: "api",
    });
    expect(env.find((e) => e.name === "DSN")?.valueFrom?.secretKeyRef?.key).toBe("main.DSN");
    expect(body.pod.metadata?.annotations?.["virtual-node-node"]).toBe("vn-hpc");
    for (const r of sim.requests) {
      for (const secret of ["hunter2-volume", "hunter2-env", "hunter2-expanded", "token-value"])
        expect(r.body).not.toContain(secret);
    }
  });

  it("rejects a PVC naming the volume unless the site declares support", async () => {
    await start();
    const pod = makeResolvedPod({ nodeName: "vn-hpc" });
    pod.volumes.push({
      name: "data",
      kind: "persistentVolumeClaim",
      files: [],
      persistentVolume: {
        claimName: "scratch",
        volumeName: "pv-1",
        readOnly: false,
        accessModes: ["ReadWriteMany"],
        volumeMode: "Filesystem",
        nfs: { server: "nfs", path: "/x" },
      },
    });
    pod.pod.spec?.volumes?.push({ name: "data", persistentVolumeClaim: { claimName: "scratch" } });
    expect(provider.capabilities.volumes).not.toContain("persistentVolumeClaim");
    const error = (await provider.createPod(pod, call()).catch((e: unknown) => e)) as { field?: string };
    expect(errorCode(error)).toBe("VN_UNSUPPORTED");
    expect(error.field).toBe("spec.volumes[0].persistentVolumeClaim");
    expect(sim.calls("create")).toHaveLength(0);

    const withPvc = createInterLinkProvider({
      url: sim.url,
      nodeName: "vn-hpc",
      clock,
      persistentVolumes: true,
    });
    expect(withPvc.capabilities.volumes).toContain("persistentVolumeClaim");
    await withPvc.createPod(pod, call());
    const body = JSON.parse(sim.calls("create")[0]?.body ?? "{}") as PodCreateRequests;
    expect(body.persistentvolumes?.[0]).toMatchObject({
      metadata: { name: "scratch" },
      spec: { volumeName: "pv-1" },
    });
    await withPvc.close();
  });

  it("re-reads the bearer token file when it changes", async () => {
    const tokenFile = join(dir, "token");
    writeFileSync(tokenFile, "first-token\n");
    let current = "first-token";
    await start({ token: () => current }, { tokenFile });
    await provider.ping(call());
    current = "rotated-token";
    writeFileSync(tokenFile, "rotated-token-longer\n");
    current = "rotated-token-longer";
    await provider.ping(call());
    expect(sim.calls("pinglink").map((r) => r.authorization)).toEqual([
      "Bearer first-token",
      "Bearer rotated-token-longer",
    ]);
    writeFileSync(tokenFile, "stale-token-xx\n");
    const error = await provider.ping(call()).catch((e: unknown) => e);
    expect(errorCode(error)).toBe("VN_PERMANENT");
  });

  it("talks to an interLink API on a Unix socket", async () => {
    const socketPath = join(dir, "interlink.sock");
    await start({ socketPath });
    expect(sim.url).toBe(`unix://${socketPath}`);
    const pod = makeResolvedPod({ nodeName: "vn-hpc" });
    await provider.createPod(pod, call());
    expect(await provider.getPodStatus(pod.ref, call())).toBeDefined();
  });

  it("mTLS: only an agent with a client certificate from the site's CA gets through, and it checks the site's certificate", async () => {
    const siteCa = await createCertificateAuthority({ commonName: "interlink-site-ca" });
    const server = await issueCertificate(siteCa, {
      commonName: "interlink-edge",
      ipAddresses: ["127.0.0.1"],
      usages: ["server"],
    });
    const agentCert = await issueCertificate(siteCa, { commonName: "vn-hpc-agent" });
    const strangerCa = await createCertificateAuthority({ commonName: "someone-else" });
    const stranger = await issueCertificate(strangerCa, { commonName: "stranger" });
    const write = (name: string, pem: string) => {
      const path = join(dir, name);
      writeFileSync(path, pem);
      return path;
    };
    const tls = {
      caFile: write("ca.crt", siteCa.certPem),
      certFile: write("agent.crt", agentCert.certPem),
      keyFile: write("agent.key", agentCert.keyPem),
    };
    await start({ tls: { ...server, clientCa: siteCa.certPem } }, { tls });
    expect(sim.url).toMatch(/^https:\/\/127\.0\.0\.1:/);

    const pod = makeResolvedPod({ nodeName: "vn-hpc", behaviour: "run" });
    await provider.ping(call());
    await provider.createPod(pod, call());
    expect(await provider.getPodStatus(pod.ref, call())).toBeDefined();
    expect(new Set(sim.requests.map((r) => r.clientCertificate))).toEqual(new Set(["vn-hpc-agent"]));

    // Without a client certificate, or with one from another CA, the handshake refuses the agent:
    // a transport failure the core retries, and the site never sees a request.
    const seen = sim.requests.length;
    const refused = async (options: Partial<InterLinkProviderOptions>) => {
      const other = createInterLinkProvider({ url: sim.url, nodeName: "vn-hpc", clock, ...options });
      try {
        const error = await other.ping(call()).catch((e: unknown) => e);
        return errorCode(error);
      } finally {
        await other.close();
      }
    };
    expect(await refused({ tls: { caFile: tls.caFile } })).toBe("VN_RETRYABLE");
    expect(
      await refused({
        tls: {
          caFile: tls.caFile,
          certFile: write("stranger.crt", stranger.certPem),
          keyFile: write("stranger.key", stranger.keyPem),
        },
      }),
    ).toBe("VN_RETRYABLE");
    // The agent does not trust a site whose certificate its CA did not sign.
    expect(
      await refused({
        tls: { ...tls, caFile: write("stranger-ca.crt", strangerCa.certPem) },
      }),
    ).toBe("VN_RETRYABLE");
    expect(sim.requests).toHaveLength(seen);
  });

  it("validates options at start, naming the option", () => {
    const bad = (o: Partial<InterLinkProviderOptions>) => {
      try {
        createInterLinkProvider({ url: "http://127.0.0.1:1", nodeName: "n", ...o });
      } catch (e) {
        return (e as { field?: string }).field;
      }
      return undefined;
    };
    expect(bad({ url: "ftp://x" })).toBe("url");
    expect(bad({ url: "unix://relative.sock" })).toBe("url");
    expect(bad({ url: "https://user:pw@host" })).toBe("url");
    expect(bad({ nodeName: "" })).toBe("nodeName");
    expect(bad({ tokenFile: "/nonexistent/token" })).toBe("tokenFile");
    expect(bad({ tls: { caFile: "/x" } })).toBe("tls");
    expect(bad({ url: "https://h", tls: { certFile: "/x" } })).toBe("tls.keyFile");
    expect(bad({ timeouts: { createMs: -1 } })).toBe("timeouts.createMs");
    expect(bad({ jobScriptBuilderURL: "not a url" })).toBe("jobScriptBuilderURL");
  });

  it("ping answers node capacity, accelerators and taints; plain-text answers keep the defaults; a 503 rejects", async () => {
    await start({}, { node: { capacity: { cpu: "8", memory: "16Gi", pods: "50" } } });
    await provider.ping(call());
    const node = await provider.describeNode("vn-hpc", call());
    expect(node.capacity).toEqual({ cpu: "512", memory: "2Ti", pods: "1000", "nvidia.com/gpu": "4" });
    expect(node.taints).toEqual([{ key: "interlink.eu/site", value: "hpc-sim", effect: "NoSchedule" }]);
    sim.ping = "pong";
    await clock.advanceAsync(60_000);
    const plain = await provider.describeNode("vn-hpc", call());
    expect(plain.capacity).toEqual({ cpu: "8", memory: "16Gi", pods: "50" });
    sim.fail("pinglink", { status: 503, body: "plugin unreachable" });
    const error = await provider.ping(call()).catch((e: unknown) => e);
    expect(String(error)).toContain("plugin unreachable");
  });

  it("logs: tail, since, timestamps, limitBytes, and follow until the job ends", async () => {
    await start({}, { logPollMs: 1_000 });
    const pod = makeResolvedPod({ nodeName: "vn-hpc", restartPolicy: "Never" });
    const command = [
      "sh",
      "-c",
      "echo one; sleep 1; echo two; sleep 1; echo three; sleep 3; echo four; exit 0",
    ];
    const c = pod.pod.spec?.containers[0];
    if (c) c.command = command;
    const r = pod.containers[0];
    if (r) r.command = command;
    await provider.createPod(pod, call());
    await clock.advanceAsync(3_500); // queued 1 s, then one (t=1), two (t=2), three (t=3)
    const base = { follow: false, timestamps: false, previous: false };
    const read = async (o: Partial<typeof base> & Record<string, unknown>) =>
      readAll(await drive(provider.getContainerLogs(pod.ref, "main", { ...base, ...o }, call())));
    expect(await read({})).toBe("one\ntwo\nthree\n");
    expect(await read({ tailLines: 2 })).toBe("two\nthree\n");
    expect(await read({ sinceSeconds: 1 })).toBe("three\n");
    expect(await read({ limitBytes: 6 })).toBe("one\ntw");
    expect(await read({ timestamps: true, tailLines: 1 })).toBe("2026-12-01T12:00:03Z three\n");
    const tails = sim
      .calls("getLogs")
      .map((x) => (JSON.parse(x.body) as { Opts: { Tail: number; Bytes: number } }).Opts);
    expect(tails.some((o) => o.Tail === 2 && o.Bytes === 0)).toBe(true);

    const controller = new AbortController();
    const stream = await provider.getContainerLogs(
      pod.ref,
      "main",
      { ...base, follow: true },
      { signal: controller.signal },
    );
    let text = "";
    stream.on("data", (chunk) => (text += String(chunk)));
    const ended = new Promise((resolve) => stream.on("end", resolve));
    // Core polls status every second or so; the followed stream ends once a status read shows the
    // job finished (the shared status list refreshes every 15 s once the pod is steady).
    const state = { done: false };
    void ended.then(() => (state.done = true));
    for (let i = 0; i < 40 && !state.done; i++) {
      await clock.advanceAsync(1_000);
      await provider.getPodStatuses([pod.ref], call());
    }
    await ended;
    expect(text).toBe("one\ntwo\nthree\nfour\n");
    const unknown = await provider.getContainerLogs(pod.ref, "nope", base, call()).catch((e: unknown) => e);
    expect(errorCode(unknown)).toBe("VN_NOT_FOUND");
  });

  it("one /status call answers any number of pods; 1 000 steady pods cost one call per slow interval", async () => {
    await start({ timing: { queueMs: 100 } }, { statusIntervals: { fastMs: 2_000, slowMs: 15_000 } });
    const refs: PodRef[] = [];
    for (let i = 0; i < 1000; i++) {
      const pod = makeResolvedPod({ nodeName: "vn-hpc", name: `steady-${String(i)}` });
      // Created after the agent started: no earlier submission can exist, so no lookup before it.
      if (pod.pod.metadata) pod.pod.metadata.creationTimestamp = new Date(clock.now() + 1_000);
      refs.push(pod.ref);
      await drive(provider.createPod(pod, call()));
    }
    const creates = sim.calls("create").length;
    expect(creates).toBe(1000);
    await clock.advanceAsync(5_000);
    // Until everything is running the source may list at the fast interval; then steady state.
    let statuses = await drive(provider.getPodStatuses(refs, call()));
    expect(
      [...statuses.values()].every((s) => s !== undefined && "running" in (s.containers[0]?.state ?? {})),
    ).toBe(true);
    await clock.advanceAsync(15_000);
    statuses = await drive(provider.getPodStatuses(refs, call()));
    const before = sim.calls("status").length;
    // Core polls every few seconds, in batches; simulate 10 minutes of it.
    for (let t = 0; t < 600; t += 5) {
      await clock.advanceAsync(5_000);
      for (let i = 0; i < refs.length; i += 100)
        await provider.getPodStatuses(refs.slice(i, i + 100), call());
    }
    const calls = sim.calls("status").length - before;
    // 600 s / 15 s = 40 intervals.
    expect(calls).toBeLessThanOrEqual(41);
    expect(calls).toBeGreaterThanOrEqual(39);
    expect(statuses.get(podKey(refs[999] ?? { namespace: "", name: "" }))).toBeDefined();
    const lastBody = JSON.parse(sim.calls("status").at(-1)?.body ?? "[]") as unknown[];
    expect(lastBody).toHaveLength(1000);
    console.log(`[interlink] 1000 steady pods, 600 s of polling: ${String(calls)} /status calls`);
  });
});
