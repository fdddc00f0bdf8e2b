/**
 * Projected service account tokens are refreshed like the kubelet does (at 80 % of their lifetime),
 * against the real control plane, with the agent running as the Node identity. The API server issues
 * tokens of at least 600 s, so the agent runs on a clock that follows real time and that the test
 * steps forward past the refresh time instead of waiting 8 minutes.
 */
import { AuthenticationV1Api } from "@kubernetes/client-node";
import { MockCloud, createMockProvider } from "@virtual-node/provider-mock";
import type { ControlPlaneHandle } from "@virtual-node/testing";
import {
  createConsoleLogger,
  type Clock,
  type Provider,
  type ResolvedPod,
  type TimerHandle,
} from "@virtual-node/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  apis,
  controlPlane,
  createNamespace,
  isReady,
  podSpecFor,
  startNode,
  uniqueName,
  waitFor,
  type Apis,
  type RunningNode,
} from "./support.js";

/** Real time plus an offset the test can step forward; a step fires the timers it passes. */
class SteppableClock implements Clock {
  #offset = 0;
  #nextId = 1;
  readonly #timers = new Map<number, { due: number; fn: () => void; timer: NodeJS.Timeout }>();

  now(): number {
    return Date.now() + this.#offset;
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const id = this.#nextId++;
    this.#arm(id, this.now() + Math.max(0, Number.isFinite(ms) ? ms : 0), fn);
    return id as unknown as TimerHandle;
  }

  clearTimeout(handle: TimerHandle | undefined): void {
    const id = handle as unknown as number;
    clearTimeout(this.#timers.get(id)?.timer);
    this.#timers.delete(id);
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      const onAbort = (): void => {
        this.clearTimeout(handle);
        reject(new Error("aborted"));
      };
      if (signal?.aborted === true) {
        reject(new Error("aborted"));
        return;
      }
      const handle = this.setTimeout(() => {
        signal?.removeEventListener("abort", onAbort);
        resolve();
      }, ms);
      signal?.addEventListener("abort", onAbort, { once: true });
    });
  }

  /** Jumps `ms` ahead: timers now due fire at once, the others are re-armed for what is left. */
  step(ms: number): void {
    this.#offset += ms;
    for (const [id, { due, fn, timer }] of [...this.#timers]) {
      clearTimeout(timer);
      this.#arm(id, due, fn);
    }
  }

  #arm(id: number, due: number, fn: () => void): void {
    const timer = setTimeout(
      () => {
        this.#timers.delete(id);
        fn();
      },
      Math.max(0, due - this.now()),
    );
    timer.unref();
    this.#timers.set(id, { due, fn, timer });
  }
}

interface TokenClaims {
  iat: number;
  exp: number;
}

function claimsOf(token: string): TokenClaims {
  const payload = token.split(".")[1] ?? "";
  return JSON.parse(Buffer.from(payload, "base64url").toString("utf8")) as TokenClaims;
}

function tokenFile(pod: ResolvedPod, volume: string): string | undefined {
  const file = pod.volumes.find((v) => v.name === volume)?.files.find((f) => f.path === "token");
  return file === undefined ? undefined : Buffer.from(file.content).toString("utf8");
}

describe("service account token refresh (real control plane, Node identity)", () => {
  const nodeName = uniqueName("vn-token");
  const namespace = uniqueName("token");
  const cloud = new MockCloud();
  const clock = new SteppableClock();
  const logLines: string[] = [];
  /** Every `updatePod` the provider receives, with its reason. */
  const updates: { reason: string; pod: ResolvedPod }[] = [];
  let cp: ControlPlaneHandle;
  let api: Apis;
  let running: RunningNode;

  beforeAll(async () => {
    cp = await controlPlane();
    api = apis(cp.kubeConfig);
    await createNamespace(api, namespace);
    const identity = await cp.nodeIdentity(nodeName);
    const mock = createMockProvider({ cloud });
    const updatePod: Provider["updatePod"] = async (pod, options) => {
      updates.push({ reason: options.reason, pod });
      await mock.updatePod(pod, options);
    };
    // The mock provider, with its updatePod recorded (a Proxy keeps its methods bound to it).
    const provider = new Proxy(mock, {
      get(target, property) {
        if (property === "updatePod") return updatePod;
        const value: unknown = Reflect.get(target, property, target);
        return typeof value === "function" ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    });
    running = await startNode(identity.kubeConfig, nodeName, provider, {
      clock,
      // Debug level: the most the agent ever logs, so a token in any line would show.
      logger: createConsoleLogger({ level: "debug", stream: { write: (line) => logLines.push(line) } }),
    });
  });

  afterAll(async () => {
    await running.stop();
  });

  it("hands the provider a new, valid token with reason 'volumes' once 80 % of its lifetime has passed", async () => {
    const name = "refresh";
    const volume = "short-token";
    await api.core.createNamespacedPod({
      namespace,
      body: {
        metadata: { name },
        spec: podSpecFor(nodeName, {
          volumes: [
            {
              name: volume,
              projected: {
                sources: [{ serviceAccountToken: { path: "token", expirationSeconds: 600 } }],
              },
            },
          ],
        }),
      },
    });
    await waitFor("pod ready", async () => {
      const p = await api.core.readNamespacedPod({ name, namespace });
      return isReady(p) ? p : undefined;
    });
    const group = await waitFor("provider holds the pod", () => cloud.getGroup(namespace, name));
    const firstFile = group.spec.volumes
      .find((v) => v.name === volume)
      ?.files.find((f) => f.path === "token");
    const first = Buffer.from(firstFile?.base64 ?? "", "base64").toString("utf8");
    expect(first).toMatch(/^eyJ/);
    const firstClaims = claimsOf(first);
    expect(firstClaims.exp - firstClaims.iat).toBe(600);
    expect(updates.filter((u) => u.reason === "volumes")).toEqual([]);

    // 70 % of the lifetime: not due yet.
    clock.step(420_000);
    await new Promise((r) => setTimeout(r, 1_500));
    expect(updates.filter((u) => u.reason === "volumes")).toEqual([]);

    // Past 80 %: the scheduled refresh fires and requests a new token from the API server.
    clock.step(70_000); // 490 s: 10 s past the refresh time (480 s)
    // Bounded well under the 10 s left past the refresh time, so only the scheduled refresh can pass.
    const refreshed = await waitFor(
      "updatePod(reason: volumes)",
      () => updates.find((u) => u.reason === "volumes"),
      { timeoutMs: 5_000 },
    );
    const second = tokenFile(refreshed.pod, volume);
    expect(second).toMatch(/^eyJ/);
    expect(second).not.toBe(first);
    const secondClaims = claimsOf(second ?? "");
    expect(secondClaims.exp - secondClaims.iat).toBe(600);
    expect(secondClaims.iat).toBeGreaterThanOrEqual(firstClaims.iat);
    expect(secondClaims.exp).toBeGreaterThan(Date.now() / 1000);

    const review = await cp.kubeConfig.makeApiClient(AuthenticationV1Api).createTokenReview({
      body: { spec: { token: second ?? "" } },
    });
    expect(review.status?.authenticated).toBe(true);
    expect(review.status?.user?.username).toBe(`system:serviceaccount:${namespace}:default`);
    expect(review.status?.user?.extra?.["authentication.kubernetes.io/pod-name"]).toEqual([name]);

    // The mock cloud now holds the new token, not the old one.
    const held = (await cloud.getGroup(namespace, name))?.spec.volumes.find((v) => v.name === volume);
    expect(Buffer.from(held?.files.find((f) => f.path === "token")?.base64 ?? "", "base64").toString()).toBe(
      second,
    );

    expect(logLines.length).toBeGreaterThan(0);
    const logs = logLines.join("");
    expect(logs).toContain("updated mounted files in provider");
    for (const token of [first, second ?? ""]) {
      expect(logs).not.toContain(token);
      // Nor the signature alone (the part that makes a token usable).
      expect(logs).not.toContain(token.split(".")[2] ?? token);
    }
  });
});
