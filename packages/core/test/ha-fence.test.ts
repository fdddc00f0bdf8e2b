/**
 * The fence and the ports it gates: writes for a node pass only while its fence is held (by time,
 * on the injected clock — even before any lapse timer fired), reads always pass, and a refused
 * write is a NotOwnerError, which is an AbortedError (cancelled work, never a failed pod).
 */
import { describe, expect, it } from "vitest";
import { FakeClock } from "../src/clock.js";
import { AbortedError } from "../src/errors.js";
import { Fence, NotOwnerError } from "../src/ha/fence.js";
import { fenceKubeClient, fenceProvider } from "../src/ha/fenced-ports.js";
import { KubeClient } from "../src/kube/client.js";
import type { Provider } from "../src/provider.js";
import { minimalCapabilities } from "../src/provider.js";
import { kubeConfigFor } from "./kube-config.js";

describe("fence", () => {
  it("is held from renewal start until the renew deadline, and revoked at once", () => {
    const clock = new FakeClock();
    const fence = new Fence("vn-1", clock, 10_000);
    expect(fence.held).toBe(false);
    expect(() => {
      fence.check();
    }).toThrow(NotOwnerError);
    const started = clock.now();
    clock.advance(300); // the renewal request took 300 ms
    fence.renewed(started);
    expect(fence.held).toBe(true);
    clock.advance(9_699);
    expect(fence.held).toBe(true);
    clock.advance(1);
    expect(fence.held).toBe(false);
    fence.renewed(clock.now());
    fence.revoke("lost");
    expect(() => {
      fence.check();
    }).toThrow(/not the owner \(lost\)/);
    const error = (() => {
      try {
        fence.check();
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(AbortedError);
    expect(error).toMatchObject({ code: "VN_ABORTED", nodeName: "vn-1" });
    expect(new AbortedError()).not.toBeInstanceOf(NotOwnerError);
  });
});

describe("fenced ports", () => {
  it("the provider's cloud-changing calls need the fence; reads do not", async () => {
    const clock = new FakeClock();
    const fence = new Fence("vn-1", clock, 10_000);
    const calls: string[] = [];
    class CloudProvider implements Provider {
      readonly name = "cloud";
      readonly capabilities = minimalCapabilities;
      readonly #calls = calls; // #private: the proxy must call with the real object as `this`
      async createPod(): Promise<void> {
        await Promise.resolve();
        this.#calls.push("createPod");
      }
      async updatePod(): Promise<void> {
        await Promise.resolve();
        this.#calls.push("updatePod");
      }
      async deletePod(): Promise<void> {
        await Promise.resolve();
        this.#calls.push("deletePod");
      }
      async getPodStatus(): Promise<undefined> {
        await Promise.resolve();
        this.#calls.push("getPodStatus");
        return undefined;
      }
      async listPods(): Promise<[]> {
        await Promise.resolve();
        this.#calls.push("listPods");
        return [];
      }
    }
    const provider = fenceProvider(new CloudProvider(), fence);
    const ref = { namespace: "ns", name: "p", uid: "u" };
    const call = { signal: new AbortController().signal };
    await expect(provider.deletePod(ref, 0, call)).rejects.toBeInstanceOf(NotOwnerError);
    await provider.getPodStatus(ref, call);
    await provider.listPods("vn-1", call);
    expect(calls).toEqual(["getPodStatus", "listPods"]);
    fence.renewed(clock.now());
    await provider.deletePod(ref, 0, call);
    expect(calls).toEqual(["getPodStatus", "listPods", "deletePod"]);
    expect("getPodStatuses" in provider).toBe(false);
    expect(provider.name).toBe("cloud");
  });

  it("the API client's writes need the fence, every verb; GETs do not", async () => {
    const clock = new FakeClock();
    const fence = new Fence("vn-1", clock, 10_000);
    const client = new KubeClient({ kubeConfig: kubeConfigFor("https://127.0.0.1:1") });
    const sent: string[] = [];
    client.request = async <T>(method: string, path: string): Promise<T> => {
      await Promise.resolve();
      sent.push(`${method} ${path}`);
      return {} as T;
    };
    const fenced = fenceKubeClient(client, fence);
    await fenced.get("/api/v1/nodes/vn-1");
    for (const write of [
      () => fenced.create("/api/v1/nodes", {}),
      () => fenced.replace("/api/v1/nodes/vn-1/status", {}),
      () => fenced.patch("/api/v1/nodes/vn-1", {}, "application/merge-patch+json"),
      () => fenced.delete("/api/v1/nodes/vn-1"),
      () => fenced.request("POST", "/api/v1/namespaces/ns/events"),
    ])
      await expect(write()).rejects.toBeInstanceOf(NotOwnerError);
    expect(sent).toEqual(["GET /api/v1/nodes/vn-1"]);
    fence.renewed(clock.now());
    await fenced.replace("/api/v1/nodes/vn-1/status", {});
    clock.advance(10_000);
    await expect(fenced.replace("/api/v1/nodes/vn-1/status", {})).rejects.toBeInstanceOf(NotOwnerError);
    expect(sent).toEqual(["GET /api/v1/nodes/vn-1", "PUT /api/v1/nodes/vn-1/status"]);
    client.close();
  });
});
