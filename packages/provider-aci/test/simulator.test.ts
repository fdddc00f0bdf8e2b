import type { ContainerGroup } from "@azure/arm-containerinstance";
import type { RestError } from "@azure/core-rest-pipeline";
import { FakeClock } from "@virtual-node/core";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { WebSocket } from "ws";
import { simulatorClient } from "./simulator/client.js";
import { AciSimulator, SIMULATOR_CA } from "./simulator/simulator.js";
import { SwaggerValidator } from "./simulator/swagger.js";

const RG = "vn-rg";

function group(command: string[], extra: Partial<ContainerGroup> = {}): ContainerGroup {
  return {
    location: "westeurope",
    osType: "Linux",
    restartPolicy: "Never",
    tags: { "virtual-node-pod": "p" },
    containers: [
      { name: "main", image: "busybox:1.36", command, resources: { requests: { cpu: 1, memoryInGB: 1.5 } } },
    ],
    ...extra,
  };
}

describe("swagger validator", () => {
  const v = new SwaggerValidator();
  it("accepts the swagger's own create example", async () => {
    const { readFileSync } = await import("node:fs");
    const ex = JSON.parse(
      readFileSync(
        new URL("./fixtures/2026-05-01/examples/ContainerGroupsCreateOrUpdate.json", import.meta.url),
        "utf8",
      ),
    ) as { parameters: { containerGroup: unknown } };
    expect(v.validate("ContainerGroup", ex.parameters.containerGroup)).toEqual([]);
  });
  it("rejects missing required members, wrong types, bad enums, unknown and read-only members", () => {
    const found = v.validate("ContainerGroup", {
      location: "x",
      properties: {
        osType: "Linux",
        restartPolicy: "Sometimes",
        provisioningState: "Succeeded",
        containers: [
          { name: "a", properties: { image: "i", resources: { requests: { cpu: "1" } }, bogus: 1 } },
        ],
      },
    });
    const paths = found.map((f) => f.path);
    expect(paths).toContain("$.properties.restartPolicy");
    expect(paths).toContain("$.properties.provisioningState");
    expect(paths).toContain("$.properties.containers[0].properties.resources.requests.cpu");
    expect(paths).toContain("$.properties.containers[0].properties.resources.requests.memoryInGB");
    expect(paths).toContain("$.properties.containers[0].properties.bogus");
  });
});

describe("ACI simulator behind the real ContainerInstanceManagementClient", () => {
  let clock: FakeClock;
  let sim: AciSimulator;
  beforeEach(async () => {
    clock = new FakeClock();
    sim = new AciSimulator({ clock, pageSize: 2 });
    await sim.start();
  });
  afterEach(async () => {
    expect(sim.violations).toEqual([]);
    await sim.close();
  });

  it("sends api-version 2023-05-01 and provisions a group over time through the LRO", async () => {
    const client = simulatorClient(sim);
    const poller = await client.containerGroups.beginCreateOrUpdate(
      RG,
      "cg1",
      group(["sh", "-c", "echo hi; sleep 5; exit 3"]),
    );
    expect(poller.isDone()).toBe(false);
    expect(sim.requests[0]?.query["api-version"]).toBe("2023-05-01");
    let g = await client.containerGroups.get(RG, "cg1");
    expect(g.provisioningState).toMatch(/Pending|Creating/);
    clock.advance(2_000);
    await poller.poll();
    expect(poller.isDone()).toBe(true);
    expect(poller.getResult()?.provisioningState).toBe("Succeeded");
    g = await client.containerGroups.get(RG, "cg1");
    expect(g.containers[0]?.instanceView?.currentState?.state).toBe("Running");
    expect(g.instanceView?.state).toBe("Running");
    clock.advance(5_000);
    g = await client.containerGroups.get(RG, "cg1");
    expect(g.containers[0]?.instanceView?.currentState).toMatchObject({ state: "Terminated", exitCode: 3 });
    expect(g.instanceView?.state).toBe("Failed");
    const logs = await client.containers.listLogs(RG, "cg1", "main", { tail: 10, timestamps: true });
    expect(logs.content).toMatch(/^2024-01-01T00:00:02\.000000000Z hi\n$/);
  });

  it("restarts containers by policy and keeps the previous state and exit code", async () => {
    const client = simulatorClient(sim);
    await client.containerGroups.beginCreateOrUpdate(
      RG,
      "cg2",
      group(["sh", "-c", "sleep 1; exit 2"], { restartPolicy: "Always" }),
    );
    clock.advance(2_000 + 1_000 + 1_000 + 500);
    const g = await client.containerGroups.get(RG, "cg2");
    const iv = g.containers[0]?.instanceView;
    expect(iv?.restartCount).toBe(1);
    expect(iv?.previousState).toMatchObject({ state: "Terminated", exitCode: 2 });
    expect(iv?.currentState?.state).toBe("Running");
  });

  it("fails provisioning for an inaccessible image, with the ARM error on the LRO", async () => {
    const client = simulatorClient(sim);
    const poller = await client.containerGroups.beginCreateOrUpdate(
      RG,
      "bad",
      group([], {
        containers: [
          {
            name: "main",
            image: "sim/does-not-exist:latest",
            resources: { requests: { cpu: 1, memoryInGB: 1 } },
          },
        ],
      }),
    );
    clock.advance(2_000);
    const error = await poller.poll().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(String((error as Error | undefined)?.message)).toMatch(/not accessible/);
    const g = await client.containerGroups.get(RG, "bad");
    expect(g.provisioningState).toBe("Failed");
  });

  it("answers a wrongly shaped body with the ARM validation error and records the violation", async () => {
    const client = simulatorClient(sim);
    const bad = group([]) as unknown as Record<string, unknown>;
    // The SDK serializes from its models, so send raw through its pipeline to get a bad shape on the wire.
    const error = await client
      .sendOperationRequest(
        {
          containerGroup: { ...bad, restartPolicy: "Sometimes" },
          resourceGroupName: RG,
          containerGroupName: "x",
          options: {},
        },
        {
          path: "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.ContainerInstance/containerGroups/{containerGroupName}",
          httpMethod: "PUT",
          responses: { 200: {}, 201: {} },
          requestBody: { parameterPath: "containerGroup", mapper: { type: { name: "any" } } } as never,
          queryParameters: [
            {
              parameterPath: "apiVersion",
              mapper: {
                defaultValue: "2023-05-01",
                isConstant: true,
                serializedName: "api-version",
                type: { name: "String" },
              },
            },
          ],
          urlParameters: [
            {
              parameterPath: "$host",
              mapper: { serializedName: "$host", required: true, type: { name: "String" } },
              skipEncoding: true,
            },
            {
              parameterPath: "subscriptionId",
              mapper: { serializedName: "subscriptionId", required: true, type: { name: "String" } },
            },
            {
              parameterPath: "resourceGroupName",
              mapper: { serializedName: "resourceGroupName", required: true, type: { name: "String" } },
            },
            {
              parameterPath: "containerGroupName",
              mapper: { serializedName: "containerGroupName", required: true, type: { name: "String" } },
            },
          ],
          headerParameters: [
            {
              parameterPath: "contentType",
              mapper: {
                defaultValue: "application/json",
                isConstant: true,
                serializedName: "Content-Type",
                type: { name: "String" },
              },
            },
          ],
          mediaType: "json",
          serializer: {
            serialize: (_m: unknown, v: unknown) => v,
            deserialize: (_m: unknown, v: unknown) => v,
          } as never,
        },
      )
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect((error as RestError).name).toBe("RestError");
    expect((error as RestError).statusCode).toBe(400);
    expect((error as RestError).code).toBe("InvalidRequestContent");
    expect(sim.violations.map((v) => v.path)).toContain("$.restartPolicy");
    sim.violations.length = 0;
  });

  it("pages lists with absolute nextLinks", async () => {
    const client = simulatorClient(sim);
    for (const n of ["a1", "a2", "a3", "a4", "a5"])
      await client.containerGroups.beginCreateOrUpdate(RG, n, group([]));
    const names: string[] = [];
    for await (const g of client.containerGroups.listByResourceGroup(RG)) names.push(g.name ?? "");
    expect(names.sort()).toEqual(["a1", "a2", "a3", "a4", "a5"]);
    expect(sim.counts().ContainerGroups_ListByResourceGroup).toBe(3);
  });

  it("throttles with 429 + Retry-After and sends x-ms-ratelimit-remaining headers", async () => {
    const client = simulatorClient(sim);
    sim.throttle("ContainerGroups_Get", 1, 7);
    let headers: Record<string, string> = {};
    const error = await client.containerGroups
      .get(RG, "nope", { onResponse: (r) => (headers = r.headers.toJSON()) })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect((error as RestError).statusCode).toBe(429);
    expect((error as RestError).code).toBe("SubscriptionRequestsThrottled");
    expect(headers["retry-after"]).toBe("7");
    expect(Number(headers["x-ms-ratelimit-remaining-subscription-reads"])).toBeGreaterThan(0);
    const missing = await client.containerGroups.get(RG, "nope").then(
      () => undefined,
      (e: unknown) => e,
    );
    expect((missing as RestError).code).toBe("ResourceNotFound");
    const noRg = await client.containerGroups.get("other-rg", "nope").then(
      () => undefined,
      (e: unknown) => e,
    );
    expect((noRg as RestError).code).toBe("ResourceGroupNotFound");
  });

  it("deletes through the LRO and hides secure values in responses", async () => {
    const client = simulatorClient(sim);
    await client.containerGroups.beginCreateOrUpdate(RG, "sec", {
      ...group([]),
      containers: [
        {
          name: "main",
          image: "busybox",
          resources: { requests: { cpu: 1, memoryInGB: 1 } },
          environmentVariables: [{ name: "TOKEN", secureValue: "s3cr3t" }],
        },
      ],
    });
    const g = await client.containerGroups.get(RG, "sec");
    expect(JSON.stringify(g)).not.toContain("s3cr3t");
    const poller = await client.containerGroups.beginDelete(RG, "sec", { updateIntervalInMs: 1 });
    expect(poller.isDone()).toBe(false);
    clock.advance(1_000);
    await poller.poll();
    expect(poller.isDone()).toBe(true);
    expect(sim.groupNames()).toEqual([]);
    await client.containerGroups.beginDelete(RG, "sec"); // missing: 204
  });

  it("execs over the WebSocket: password first, then a shell that reports $?", async () => {
    const client = simulatorClient(sim);
    await client.containerGroups.beginCreateOrUpdate(RG, "ex", group(["sleep", "3600"]));
    clock.advance(2_000);
    const session = await client.containers.executeCommand(RG, "ex", "main", {
      command: "/bin/sh",
      terminalSize: { rows: 24, cols: 80 },
    });
    const ws = new WebSocket(session.webSocketUri ?? "", { ca: SIMULATOR_CA });
    const output: string[] = [];
    ws.on("message", (d: Buffer) => output.push(d.toString()));
    await new Promise((resolve) => ws.on("open", resolve));
    ws.send(session.password ?? "");
    ws.send("'echo' 'a b'; 'sh' '-c' 'exit 4'; echo \"rc=$?\"; exit\n");
    await new Promise((resolve) => ws.on("close", resolve));
    expect(output.join("")).toBe("a b\nrc=4\n");
  });
});
