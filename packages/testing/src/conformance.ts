/**
 * The provider conformance suite: the behaviour core relies on, checked against any provider.
 *
 * ```ts
 * import { describeProviderConformance } from "@virtual-node/testing/conformance";
 *
 * describeProviderConformance("my-cloud", async () => ({
 *   provider: createMyProvider({ ... }),
 *   nodeName: "vn-conformance",
 *   cleanup: async () => { ... },
 * }));
 * ```
 *
 * Pods are described by behaviour (`run`, `succeed`, `fail`). By default the suite expresses
 * them as `sh -c` commands in a busybox image; a provider that cannot run arbitrary commands (or
 * a simulator) passes `makePod` to express them its own way. Providers on a fake clock pass
 * `advance`, and the suite then waits in virtual time.
 */
import { randomUUID } from "node:crypto";
import { describeError, errorCode, podKey } from "@virtual-node/core";
import type {
  ContainerStatus,
  PodRef,
  Provider,
  ProviderPodStatus,
  ResolvedPod,
  ResolvedVolume,
} from "@virtual-node/core";
import type { PodSpec } from "@virtual-node/core/kube";
import { buildPodStatus } from "@virtual-node/core/status";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

/** What a conformance pod's single container does. */
export type ConformanceBehaviour = "run" | "succeed" | "fail";

export interface ResolvedPodOverrides {
  namespace?: string;
  name?: string;
  uid?: string;
  nodeName?: string;
  image?: string;
  restartPolicy?: "Always" | "OnFailure" | "Never";
  /** Default `run`: stay running until deleted. */
  behaviour?: ConformanceBehaviour;
  annotations?: Record<string, string>;
  labels?: Record<string, string>;
  /** Plain env values for the container. */
  env?: Record<string, string>;
  /** Volumes, by kind (`configMap`, `secret`, `emptyDir`, `projected`, `downwardAPI`) or given in full. */
  volumes?: (string | ResolvedVolume)[];
}

type Volume = NonNullable<PodSpec["volumes"]>[number];

const BEHAVIOUR_COMMANDS: Record<ConformanceBehaviour, string> = {
  run: "sleep 86400",
  succeed: "exit 0",
  fail: "exit 1",
};

/** The volume kinds {@link makeResolvedVolume} can build. */
export const conformanceVolumeKinds = [
  "emptyDir",
  "configMap",
  "secret",
  "projected",
  "downwardAPI",
] as const;

const encoder = new TextEncoder();

/** A resolved volume of `kind` with one small file (none for `emptyDir`). */
export function makeResolvedVolume(kind: string, name = `vol-${kind.toLowerCase()}`): ResolvedVolume {
  const file = (path: string, text: string, secret = false) => ({
    path,
    content: encoder.encode(text),
    mode: 0o644,
    secret,
  });
  switch (kind) {
    case "emptyDir":
      return { name, kind, files: [], emptyDir: {} };
    case "secret":
      return { name, kind, files: [file("password", "conformance-secret", true)] };
    case "downwardAPI":
      return { name, kind, files: [file("labels", 'app="conformance"\n')] };
    default:
      return { name, kind, files: [file("config.txt", `hello from ${kind}\n`)] };
  }
}

/** The API-side volume source matching a resolved volume. */
function volumeSource(volume: ResolvedVolume): Volume {
  switch (volume.kind) {
    case "emptyDir":
      return { name: volume.name, emptyDir: {} };
    case "configMap":
      return { name: volume.name, configMap: { name: volume.name } };
    case "secret":
      return { name: volume.name, secret: { secretName: volume.name } };
    case "downwardAPI":
      return {
        name: volume.name,
        downwardAPI: { items: [{ path: "labels", fieldRef: { fieldPath: "metadata.labels" } }] },
      };
    case "projected":
      return { name: volume.name, projected: { sources: [{ configMap: { name: volume.name } }] } };
    default:
      return { name: volume.name, [volume.kind]: {} };
  }
}

/**
 * A small, valid resolved pod: one container `main` in `busybox:1.36` whose command expresses
 * the behaviour, with the given volumes mounted under `/mnt/<name>`.
 */
export function makeResolvedPod(overrides: ResolvedPodOverrides = {}): ResolvedPod {
  const namespace = overrides.namespace ?? "default";
  const name = overrides.name ?? `conformance-${randomUUID().slice(0, 8)}`;
  const uid = overrides.uid ?? randomUUID();
  const nodeName = overrides.nodeName ?? "vn-conformance";
  const command = ["sh", "-c", BEHAVIOUR_COMMANDS[overrides.behaviour ?? "run"]];
  const volumes = (overrides.volumes ?? []).map((v) => (typeof v === "string" ? makeResolvedVolume(v) : v));
  const env = Object.entries(overrides.env ?? {}).map(([envName, value]) => ({ name: envName, value }));
  return {
    ref: { namespace, name, uid },
    nodeName,
    pod: {
      apiVersion: "v1",
      kind: "Pod",
      metadata: {
        namespace,
        name,
        uid,
        labels: { app: "conformance", ...overrides.labels },
        annotations: { ...overrides.annotations },
      },
      spec: {
        nodeName,
        restartPolicy: overrides.restartPolicy ?? "Always",
        containers: [
          {
            name: "main",
            image: overrides.image ?? "busybox:1.36",
            command,
            env,
            volumeMounts: volumes.map((v) => ({ name: v.name, mountPath: `/mnt/${v.name}` })),
          },
        ],
        volumes: volumes.map(volumeSource),
      },
    },
    initContainers: [],
    containers: [
      {
        name: "main",
        env: env.map((e) => ({ ...e, secret: false, source: { kind: "value" as const } })),
        command,
        args: undefined,
      },
    ],
    volumes,
  };
}

export interface ConformanceTimeouts {
  /** Longest wait for a pod to reach an expected status, in (virtual, with `advance`) ms. Default 60 000. */
  statusMs?: number;
  /** Poll interval while waiting. Default 100 ms real, 250 ms virtual. */
  pollMs?: number;
}

export interface ConformanceContext {
  provider: Provider;
  /** The node name the suite creates pods for. */
  nodeName: string;
  /** For fake-clock providers: move time forward (the suite then never sleeps for real). */
  advance?: (ms: number) => Promise<void>;
  /** Runs after the suite, after it deleted the pods it created. */
  cleanup?: () => Promise<void>;
  /** Builds the pods the suite uses; default {@link makeResolvedPod}. Must honour `behaviour`. */
  makePod?: (overrides: ResolvedPodOverrides) => ResolvedPod;
  /** A second provider instance on the same backend (as after an agent restart), for the adoption check. */
  reconnect?: () => Promise<Provider>;
  /** A pod the provider must reject with `InvalidInputError`. Default: a pod without containers; `null` skips. */
  invalidPod?: (() => ResolvedPod) | null;
  /** Two images for the update check (default busybox 1.36 → 1.37). */
  images?: readonly [string, string];
  timeouts?: ConformanceTimeouts;
}

/** Stable ids of the checks, for {@link ConformanceOptions.skip}. */
export type ConformanceCheck =
  | "capabilities"
  | "idempotent-create"
  | "list-ownership"
  | "missing-status"
  | "delete-missing"
  | "delete"
  | "running"
  | "succeeded"
  | "failed"
  | "update"
  | "adoption"
  | "invalid-input"
  | "typed-errors"
  | "abort"
  | "volumes"
  | "batch-status"
  | "push-status"
  | "node";

export interface ConformanceOptions {
  /** Checks to leave out (say why in your provider's docs). */
  skip?: readonly ConformanceCheck[];
  /** Per-check timeout in real ms (default: vitest's). */
  testTimeoutMs?: number;
}

const PROBE_HANDLERS = ["exec", "httpGet", "tcpSocket", "grpc"];
const RESTART_POLICIES = ["Always", "OnFailure", "Never"];
const PROTOCOLS = ["TCP", "UDP", "SCTP"];

/**
 * The phase core writes for `pod` when its provider reports `status`: the provider's own phase if it states
 * one, else core's derivation from the container states and restart policy (`buildPodStatus`, the kubelet's
 * rules). The suite judges every status this way, so a provider is held to what core makes of it.
 */
export function corePhase(pod: ResolvedPod, status: ProviderPodStatus): string | undefined {
  return buildPodStatus(pod.pod, status, { now: new Date(0), runtime: "conformance" }).phase;
}

function isAbortRejection(error: unknown): boolean {
  if (errorCode(error) === "VN_ABORTED") return true;
  return error instanceof Error && error.name === "AbortError";
}

function terminatedExitCode(c: ContainerStatus | undefined): number | undefined {
  return c !== undefined && "terminated" in c.state ? c.state.terminated.exitCode : undefined;
}

function describeStatus(pod: ResolvedPod, status: ProviderPodStatus | undefined): string {
  if (status === undefined) return "no pod";
  const containers = status.containers.map((c) => `${c.name}=${JSON.stringify(c.state)}`).join(", ");
  const phase = status.phase ?? `(derived by core) ${corePhase(pod, status) ?? "none"}`;
  return `phase ${phase}; ${containers}`;
}

/** Registers the conformance checks for a provider as a vitest `describe` block. */
export function describeProviderConformance(
  name: string,
  setup: () => Promise<ConformanceContext>,
  options: ConformanceOptions = {},
): void {
  describe(`provider conformance: ${name}`, () => {
    let ctx: ConformanceContext | undefined;
    const created = new Map<string, PodRef>();
    const skip = new Set(options.skip ?? []);

    function context(): ConformanceContext {
      if (ctx === undefined) throw new Error("conformance setup did not complete");
      return ctx;
    }

    const call = (): { signal: AbortSignal } => ({ signal: new AbortController().signal });

    function pod(overrides: ResolvedPodOverrides = {}): ResolvedPod {
      const c = context();
      const built = (c.makePod ?? makeResolvedPod)({ nodeName: c.nodeName, ...overrides });
      created.set(podKey(built.ref), built.ref);
      return built;
    }

    async function create(overrides: ResolvedPodOverrides = {}): Promise<ResolvedPod> {
      const p = pod(overrides);
      await context().provider.createPod(p, call());
      return p;
    }

    async function pause(): Promise<void> {
      const c = context();
      if (c.advance !== undefined) await c.advance(c.timeouts?.pollMs ?? 250);
      else await new Promise((resolve) => setTimeout(resolve, c.timeouts?.pollMs ?? 100));
    }

    /** Polls `read` until `accept` holds, in virtual time when the provider has a fake clock. */
    async function waitFor<T>(
      what: string,
      read: () => Promise<T>,
      accept: (value: T) => boolean,
      show: (v: T) => string,
    ) {
      const c = context();
      const limit = c.timeouts?.statusMs ?? 60_000;
      const step = c.timeouts?.pollMs ?? (c.advance === undefined ? 100 : 250);
      const started = Date.now();
      for (let waited = 0; ; waited += step) {
        const value = await read();
        if (accept(value)) return value;
        const elapsed = c.advance === undefined ? Date.now() - started : waited;
        if (elapsed >= limit)
          throw new Error(`timed out after ${limit} ms waiting for ${what}; last seen: ${show(value)}`);
        await pause();
      }
    }

    function waitForStatus(
      p: ResolvedPod,
      what: string,
      accept: (s: ProviderPodStatus | undefined) => boolean,
    ) {
      return waitFor(
        `${p.ref.name} ${what}`,
        () => context().provider.getPodStatus(p.ref, call()),
        accept,
        (s) => describeStatus(p, s),
      );
    }

    function phaseIs(p: ResolvedPod, phase: string) {
      return waitForStatus(p, `to be ${phase}`, (s) => s !== undefined && corePhase(p, s) === phase);
    }

    function check(
      id: ConformanceCheck,
      title: string,
      fn: (skipTest: (note: string) => never) => Promise<void>,
    ): void {
      const run = skip.has(id) ? it.skip : it;
      run(
        `${title} [${id}]`,
        async (testContext) => {
          await fn((note) => testContext.skip(note));
        },
        options.testTimeoutMs,
      );
    }

    beforeAll(async () => {
      ctx = await setup();
    });

    afterAll(async () => {
      if (ctx === undefined) return;
      for (const ref of created.values()) {
        await ctx.provider.deletePod(ref, 0, call()).catch(() => undefined);
      }
      await ctx.cleanup?.();
    });

    check("capabilities", "declares well-formed capabilities", async () => {
      const { provider } = context();
      expect(provider.name).toMatch(/^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/);
      const caps = provider.capabilities;
      for (const key of [
        "initContainers",
        "sidecarContainers",
        "ephemeralContainers",
        "hostNetwork",
        "hostPID",
        "hostIPC",
        "privileged",
        "mountedFileUpdates",
        "podIPBeforeStart",
      ] as const) {
        expect(typeof caps[key], `capabilities.${key}`).toBe("boolean");
      }
      for (const key of ["volumes", "securityContext", "extendedResources"] as const) {
        expect(Array.isArray(caps[key]), `capabilities.${key}`).toBe(true);
        for (const item of caps[key]) expect(typeof item, `capabilities.${key}[]`).toBe("string");
      }
      for (const kind of ["liveness", "readiness", "startup"] as const) {
        expect(Array.isArray(caps.probes[kind]), `capabilities.probes.${kind}`).toBe(true);
        for (const handler of caps.probes[kind]) expect(PROBE_HANDLERS).toContain(handler);
      }
      expect(caps.restartPolicies.length).toBeGreaterThan(0);
      for (const policy of caps.restartPolicies) expect(RESTART_POLICIES).toContain(policy);
      for (const protocol of caps.portProtocols) expect(PROTOCOLS).toContain(protocol);
      if (provider.statusBatchSize !== undefined) {
        expect(Number.isInteger(provider.statusBatchSize) && provider.statusBatchSize > 0).toBe(true);
      }
      return Promise.resolve();
    });

    check("idempotent-create", "creates a pod idempotently (twice → one pod, no error)", async () => {
      const { provider, nodeName } = context();
      const p = pod();
      await provider.createPod(p, call());
      await provider.createPod(p, call());
      const listed = (await provider.listPods(nodeName, call())).filter(
        (s) => s.namespace === p.ref.namespace && s.name === p.ref.name,
      );
      expect(listed).toHaveLength(1);
      expect(listed[0]?.uid).toBe(p.ref.uid);
    });

    check("list-ownership", "lists its pods with ownership marks, only for its node", async () => {
      const { provider, nodeName } = context();
      const a = await create();
      const b = await create();
      const listed = await provider.listPods(nodeName, call());
      for (const p of [a, b]) {
        const entry = listed.find((s) => s.namespace === p.ref.namespace && s.name === p.ref.name);
        expect(entry, `listPods includes ${p.ref.name}`).toBeDefined();
        expect(entry?.uid).toBe(p.ref.uid);
        expect(entry?.nodeName).toBe(nodeName);
      }
      for (const entry of listed) expect(entry.nodeName).toBe(nodeName);
      const other = await provider.listPods(`${nodeName}-other`, call());
      expect(other.filter((s) => s.name === a.ref.name || s.name === b.ref.name)).toEqual([]);
    });

    check("missing-status", "reports undefined (not an error) for a pod it does not have", async () => {
      const { provider } = context();
      const ref = { namespace: "default", name: `missing-${randomUUID().slice(0, 8)}`, uid: randomUUID() };
      expect(await provider.getPodStatus(ref, call())).toBeUndefined();
    });

    check("delete-missing", "deletes a missing pod without error", async () => {
      const { provider } = context();
      await provider.deletePod(
        { namespace: "default", name: `missing-${randomUUID().slice(0, 8)}`, uid: randomUUID() },
        0,
        call(),
      );
    });

    check("delete", "delete removes the pod: status undefined, gone from the list", async () => {
      const { provider, nodeName } = context();
      const p = await create();
      await provider.deletePod(p.ref, 0, call());
      await waitForStatus(p, "to be gone", (s) => s === undefined);
      const listed = await provider.listPods(nodeName, call());
      expect(listed.some((s) => s.name === p.ref.name && s.uid === p.ref.uid)).toBe(false);
      await provider.deletePod(p.ref, 0, call());
    });

    check("running", "a long-running pod reaches Running", async () => {
      const p = await create({ behaviour: "run" });
      const status = await phaseIs(p, "Running");
      expect(status?.containers.map((c) => c.name)).toEqual(["main"]);
      expect(status?.containers[0]?.state).toHaveProperty("running");
      for (const ip of status?.podIPs ?? []) expect(typeof ip).toBe("string");
    });

    check("succeeded", "a pod whose container exits 0 reaches Succeeded (restartPolicy Never)", async () => {
      const p = await create({ behaviour: "succeed", restartPolicy: "Never" });
      const status = await phaseIs(p, "Succeeded");
      expect(terminatedExitCode(status?.containers[0])).toBe(0);
    });

    check("failed", "a pod whose container exits nonzero reaches Failed with the exit code", async () => {
      const p = await create({ behaviour: "fail", restartPolicy: "Never" });
      const status = await phaseIs(p, "Failed");
      const code = terminatedExitCode(status?.containers[0]);
      expect(code).toBeDefined();
      expect(code).not.toBe(0);
    });

    check("update", "updating a running pod (image change) succeeds and keeps it running", async () => {
      const { provider, images = ["busybox:1.36", "busybox:1.37"] } = context();
      const p = await create({ behaviour: "run", image: images[0] });
      await phaseIs(p, "Running");
      const updated = (context().makePod ?? makeResolvedPod)({
        nodeName: p.nodeName,
        namespace: p.ref.namespace,
        name: p.ref.name,
        uid: p.ref.uid,
        behaviour: "run",
        image: images[1],
      });
      await provider.updatePod(updated, { ...call(), reason: "spec" });
      await phaseIs(p, "Running");
    });

    check(
      "adoption",
      "another instance on the same backend lists and reports the same pods",
      async (skipTest) => {
        const c = context();
        if (c.reconnect === undefined) return skipTest("no reconnect() given");
        const p = await create({ behaviour: "run" });
        const before = await phaseIs(p, "Running");
        const second = await c.reconnect();
        const listed = await second.listPods(c.nodeName, call());
        const entry = listed.find((s) => s.name === p.ref.name);
        expect(entry?.uid).toBe(p.ref.uid);
        expect(entry?.nodeName).toBe(c.nodeName);
        const status = await second.getPodStatus(p.ref, call());
        expect(status && corePhase(p, status)).toBe(before && corePhase(p, before));
        await second.deletePod(p.ref, 0, call());
        await waitForStatus(p, "to be gone after the second instance deleted it", (s) => s === undefined);
      },
    );

    check(
      "invalid-input",
      "rejects an invalid pod with InvalidInputError (VN_INVALID_INPUT)",
      async (skipTest) => {
        const c = context();
        if (c.invalidPod === null) return skipTest("invalidPod: null");
        let bad: ResolvedPod;
        if (c.invalidPod === undefined) {
          bad = pod();
          const spec = bad.pod.spec;
          if (spec !== undefined) spec.containers = [];
          bad.containers = [];
        } else {
          bad = c.invalidPod();
          created.set(podKey(bad.ref), bad.ref);
        }
        const error = await c.provider.createPod(bad, call()).then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(error, "createPod of an invalid pod must reject").toBeDefined();
        expect(errorCode(error)).toBe("VN_INVALID_INPUT");
      },
    );

    check("typed-errors", "fails only with typed errors (stable codes) on a bad request", async () => {
      const { provider, nodeName } = context();
      const ghost = pod({ nodeName });
      const error = await provider.updatePod(ghost, { ...call(), reason: "spec" }).then(
        () => undefined,
        (e: unknown) => e,
      );
      if (error !== undefined) expect(errorCode(error), describeError(error)).not.toBe("VN_UNKNOWN");
    });

    check("abort", "rejects an already-aborted call with AbortedError (or an AbortError)", async () => {
      const { provider, nodeName } = context();
      const p = pod();
      const signal = AbortSignal.abort();
      const calls: [string, () => Promise<unknown>][] = [
        ["createPod", () => provider.createPod(p, { signal })],
        ["updatePod", () => provider.updatePod(p, { signal, reason: "spec" })],
        ["deletePod", () => provider.deletePod(p.ref, 0, { signal })],
        ["getPodStatus", () => provider.getPodStatus(p.ref, { signal })],
        ["listPods", () => provider.listPods(nodeName, { signal })],
      ];
      if (provider.getPodStatuses) {
        const batch = provider.getPodStatuses.bind(provider);
        calls.push(["getPodStatuses", () => batch([p.ref], { signal })]);
      }
      if (provider.ping) {
        const ping = provider.ping.bind(provider);
        calls.push(["ping", () => ping({ signal })]);
      }
      if (provider.describeNode) {
        const describeNode = provider.describeNode.bind(provider);
        calls.push(["describeNode", () => describeNode(nodeName, { signal })]);
      }
      for (const [method, run] of calls) {
        const error = await run().then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(error, `${method} with an aborted signal must reject`).toBeDefined();
        expect(isAbortRejection(error), `${method} rejected with ${describeError(error)}`).toBe(true);
      }
      // Prefer AbortedError: a DOMException is accepted but loses the stable code.
      const created = await provider.getPodStatus(p.ref, call());
      expect(created, "an aborted createPod must not create the pod").toBeUndefined();
    });

    check("volumes", "accepts a pod with each declared volume kind", async () => {
      const { provider } = context();
      const kinds = provider.capabilities.volumes.filter((k) =>
        (conformanceVolumeKinds as readonly string[]).includes(k),
      );
      for (const kind of kinds) {
        const p = await create({ volumes: [kind] });
        await provider.deletePod(p.ref, 0, call());
      }
    });

    check("batch-status", "getPodStatuses agrees with getPodStatus", async (skipTest) => {
      const { provider } = context();
      if (provider.getPodStatuses === undefined) return skipTest("no getPodStatuses");
      const p = await create({ behaviour: "run" });
      await phaseIs(p, "Running");
      const missing = {
        namespace: p.ref.namespace,
        name: `missing-${randomUUID().slice(0, 8)}`,
        uid: randomUUID(),
      };
      const batch = await provider.getPodStatuses([p.ref, missing], call());
      const single = await provider.getPodStatus(p.ref, call());
      const fromBatch = batch.get(podKey(p.ref));
      expect(fromBatch, "batch has the pod under namespace/name").toBeDefined();
      expect(fromBatch && corePhase(p, fromBatch)).toBe(single && corePhase(p, single));
      expect(fromBatch?.containers.map((c) => [c.name, Object.keys(c.state)[0]])).toEqual(
        single?.containers.map((c) => [c.name, Object.keys(c.state)[0]]),
      );
      expect(batch.get(podKey(missing))).toBeUndefined();
    });

    check("push-status", "pushes status changes to subscribers", async (skipTest) => {
      const { provider, nodeName } = context();
      if (provider.subscribeStatus === undefined) return skipTest("no subscribeStatus");
      const seen: [PodRef, ProviderPodStatus | undefined][] = [];
      const unsubscribe = provider.subscribeStatus(nodeName, (ref, status) => seen.push([ref, status]));
      expect(typeof unsubscribe).toBe("function");
      try {
        const p = await create({ behaviour: "run" });
        await waitFor(
          `a pushed status for ${p.ref.name}`,
          () => Promise.resolve(seen.filter(([ref, s]) => ref.name === p.ref.name && s !== undefined)),
          (events) => events.length > 0,
          (events) => `${events.length} events`,
        );
        await provider.deletePod(p.ref, 0, call());
        await waitFor(
          `a pushed removal of ${p.ref.name}`,
          () => Promise.resolve(seen.filter(([ref]) => ref.name === p.ref.name).at(-1)),
          (last) => last !== undefined && last[1] === undefined,
          (last) => describeStatus(p, last?.[1]),
        );
      } finally {
        unsubscribe();
      }
    });

    check("node", "answers ping and describes the node", async () => {
      const { provider, nodeName } = context();
      if (provider.ping) await provider.ping(call());
      if (provider.describeNode) {
        const node = await provider.describeNode(nodeName, call());
        expect(typeof node).toBe("object");
        for (const [resource, quantity] of Object.entries(node.capacity ?? {})) {
          expect(typeof quantity, `capacity.${resource}`).toBe("string");
        }
      }
    });
  });
}
