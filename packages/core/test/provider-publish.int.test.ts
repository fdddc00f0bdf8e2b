/**
 * What a provider publishes besides the status, against the real control plane: its pod annotations
 * and its cloud events. The agent runs as `system:node:<name>` under the Node authorizer and
 * NodeRestriction, so this proves the write path (a merge patch of metadata through `pods/status`)
 * and the Event writes are allowed to a node, and that each cloud event is recorded once.
 */
import { createMockProvider } from "@virtual-node/provider-mock";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ProviderPodEvent } from "../src/provider.js";
import { decorateStatuses } from "./decorate-statuses.js";
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

describe("provider annotations and cloud events (real control plane, Node identity)", () => {
  const nodeName = uniqueName("vn-publish");
  const namespace = uniqueName("publish");
  const events: ProviderPodEvent[] = [
    {
      id: "cg-1/Pulling/1",
      type: "Normal",
      reason: "Pulling",
      message: "pulling image registry.example/app:1",
    },
    { id: "cg-1/Started/1", type: "Normal", reason: "Started", message: "started container app" },
  ];
  let api: Apis;
  let running: RunningNode;

  beforeAll(async () => {
    const cp = await controlPlane();
    api = apis(cp.kubeConfig);
    await createNamespace(api, namespace);
    const identity = await cp.nodeIdentity(nodeName);
    const provider = decorateStatuses(createMockProvider(), () => ({
      annotations: { "example.virtual-node.io/cloud-id": "cg-1" },
      events: [...events],
    }));
    running = await startNode(identity.kubeConfig, nodeName, provider, { statusPollSlowMs: 500 });
  });

  afterAll(async () => {
    await running.stop();
  });

  it("writes the provider's annotation and records each cloud event once", async () => {
    await api.core.createNamespacedPod({
      namespace,
      body: {
        metadata: { name: "app", annotations: { "team.example.com/owner": "ops" } },
        spec: podSpecFor(nodeName, { containers: [{ name: "app", image: "registry.example/app:1" }] }),
      },
    });
    const pod = await waitFor("provider annotation", async () => {
      const p = await api.core.readNamespacedPod({ namespace, name: "app" });
      return isReady(p) && p.metadata?.annotations?.["example.virtual-node.io/cloud-id"] === "cg-1"
        ? p
        : undefined;
    });
    expect(pod.metadata?.annotations?.["team.example.com/owner"]).toBe("ops");

    events.push({ id: "cg-1/BackOff/1", type: "Warning", reason: "BackOff", message: "restarting app" });
    const recorded = await waitFor("three cloud events", async () => {
      const list = await api.core.listNamespacedEvent({
        namespace,
        fieldSelector: `involvedObject.name=app,involvedObject.uid=${pod.metadata?.uid ?? ""}`,
      });
      const fromCloud = list.items.filter((e) => ["Pulling", "Started", "BackOff"].includes(e.reason ?? ""));
      return fromCloud.length === 3 ? fromCloud : undefined;
    });
    // Reported on every status poll for seconds, yet each one Event, counted once.
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    for (const e of recorded) expect(e.count ?? 1).toBe(1);
    expect(recorded.find((e) => e.reason === "BackOff")?.type).toBe("Warning");
    expect(recorded.every((e) => e.source?.host === nodeName || e.reportingInstance === nodeName)).toBe(true);
  });
});
