import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { InvalidInputError } from "../../src/errors.js";
import type { Pod } from "../../src/kube/types.js";
import {
  fitToShape,
  podResources,
  type PodResources,
  type Shape,
  type ShapeRow,
} from "../../src/provider-kit/shapes.js";

const Mi = 1024 ** 2;
const Gi = 1024 ** 3;

interface FargateFixture {
  combinations: { cpu: number; memoryMiB: number[] }[];
}
const fixture = JSON.parse(
  readFileSync(new URL("./fixtures/fargate-task-cpu-memory.json", import.meta.url), "utf8"),
) as FargateFixture;

/** Every legal Fargate combination, as the fixture lists it: cpu units → MiB. */
const legalFargate = fixture.combinations.flatMap((row) =>
  row.memoryMiB.map((mib) => ({
    cpu: row.cpu / 1024,
    memory: mib * Mi,
    name: `${String(row.cpu)}/${String(mib)}`,
  })),
);

const fargateName = (cpu: number, memory: number): string => `${String(cpu * 1024)}/${String(memory / Mi)}`;
/** The same table as rules, as a Fargate provider would write it (a few rows instead of 70 shapes). */
const FARGATE: ShapeRow[] = [
  { cpu: 0.25, memory: [512 * Mi, Gi, 2 * Gi], name: fargateName },
  { cpu: 0.5, memory: { min: Gi, max: 4 * Gi, step: Gi }, name: fargateName },
  { cpu: 1, memory: { min: 2 * Gi, max: 8 * Gi, step: Gi }, name: fargateName },
  { cpu: 2, memory: { min: 4 * Gi, max: 16 * Gi, step: Gi }, name: fargateName },
  { cpu: 4, memory: { min: 8 * Gi, max: 30 * Gi, step: Gi }, name: fargateName },
  { cpu: 8, memory: { min: 16 * Gi, max: 60 * Gi, step: 4 * Gi }, name: fargateName },
  { cpu: 16, memory: { min: 32 * Gi, max: 120 * Gi, step: 8 * Gi }, name: fargateName },
];

const wants = (cpu: number | undefined, memory: number | undefined): PodResources => ({
  requests: { ...(cpu === undefined ? {} : { cpu }), ...(memory === undefined ? {} : { memory }) },
  limits: {},
});

function shapeOf(result: ReturnType<typeof fitToShape>): Shape {
  if (!result.ok) throw new Error(`expected a fit: ${result.reason}`);
  return result.shape;
}

/** Brute force over the fixture: the least cpu, then least memory, that holds (cpu, memory). */
function referenceFit(cpu: number, memory: number): string | undefined {
  const fits = legalFargate.filter((s) => s.cpu >= cpu && s.memory >= memory);
  fits.sort((a, b) => a.cpu - b.cpu || a.memory - b.memory);
  return fits[0]?.name;
}

describe("fitToShape with the full Fargate table", () => {
  it("the fixture has every documented combination", () => {
    expect(legalFargate).toHaveLength(3 + 4 + 7 + 13 + 23 + 12 + 12);
  });

  it("every legal combination fits itself, in the enumerated and in the rule form", () => {
    const enumerated: ShapeRow[] = legalFargate;
    for (const legal of legalFargate) {
      expect(shapeOf(fitToShape(wants(legal.cpu, legal.memory), FARGATE)).name).toBe(legal.name);
      expect(shapeOf(fitToShape(wants(legal.cpu, legal.memory), enumerated)).name).toBe(legal.name);
    }
  });

  it("just over a boundary picks the next legal combination", () => {
    for (const legal of legalFargate) {
      for (const [cpu, memory] of [
        [legal.cpu + 0.001, legal.memory],
        [legal.cpu, legal.memory + 1],
        [legal.cpu + 0.001, legal.memory + Mi],
      ] as const) {
        const expected = referenceFit(cpu, memory);
        const result = fitToShape(wants(cpu, memory), FARGATE);
        if (expected === undefined) expect(result.ok).toBe(false);
        else expect(shapeOf(result).name).toBe(expected);
      }
    }
  });

  it.each([
    [0.25, 2 * Gi + 1, "512/3072"],
    [1.0001, 2 * Gi, "2048/4096"],
    [4, 30 * Gi + 1, "8192/32768"],
    [8, 60 * Gi + 1, "16384/65536"],
    [0.1, 100 * Mi, "256/512"],
    [undefined, undefined, "256/512"],
    [0.25, 9 * Gi, "2048/9216"],
  ])("cpu %s, memory %s → %s", (cpu, memory, name) => {
    const result = fitToShape(wants(cpu, memory), FARGATE);
    expect(shapeOf(result).name).toBe(name);
  });

  it("says which shape it chose for what", () => {
    const result = fitToShape(
      { requests: { cpu: 0.5, memory: Gi }, limits: { cpu: 1, memory: 2 * Gi } },
      FARGATE,
    );
    expect(result).toMatchObject({
      ok: true,
      shape: { name: "1024/2048", cpu: 1, memory: 2 * Gi },
      reason: "chose 1024/2048 (cpu 1, memory 2Gi) for cpu 1, memory 2Gi (the larger of requests and limits)",
    });
  });

  it("fits requests or limits when asked", () => {
    const resources: PodResources = {
      requests: { cpu: 0.5, memory: Gi },
      limits: { cpu: 2, memory: 4 * Gi },
    };
    expect(shapeOf(fitToShape(resources, FARGATE, { use: "requests" })).name).toBe("512/1024");
    expect(shapeOf(fitToShape(resources, FARGATE, { use: "limits" })).name).toBe("2048/4096");
  });

  it("fails over 16 vCPU or 120 GB, naming the limit", () => {
    const cpu = fitToShape(wants(17, 2 * Gi), FARGATE);
    expect(cpu).toEqual({
      ok: false,
      reason:
        "no shape fits cpu 17, memory 2Gi (the larger of requests and limits): the most cpu offered is 16",
    });
    const memory = fitToShape(wants(16, 121 * Gi), FARGATE);
    expect(memory.ok).toBe(false);
    expect(memory.reason).toContain("the most memory offered is 120Gi");
  });

  it("fails on an empty table", () => {
    expect(fitToShape(wants(1, Gi), []).reason).toContain("the shape table is empty");
  });
});

describe("fitToShape with an ACI-like grid", () => {
  const GB = 1e9;
  const ACI: ShapeRow[] = [
    {
      cpu: { min: 0.01, max: 4, step: 0.01 },
      memory: { min: 0.1 * GB, max: 16 * GB, step: 0.1 * GB },
      name: (cpu, memory) => `${String(cpu)} cores / ${String(memory / GB)} GB`,
    },
  ];
  const defaults = { cpu: 1, memory: 1.5 * GB };

  it.each([
    [0.25, 1536 * Mi, "0.25 cores / 1.7 GB", 0.25, 1.7 * GB],
    [0.333, 1 * GB, "0.34 cores / 1 GB", 0.34, 1 * GB],
    [0.001, 1, "0.01 cores / 0.1 GB", 0.01, 0.1 * GB],
    [0.1 + 0.2, 0.3 * GB, "0.3 cores / 0.3 GB", 0.3, 0.3 * GB],
    [4, 16 * GB, "4 cores / 16 GB", 4, 16 * GB],
  ])("cpu %d, memory %d → %s", (cpu, memory, name, c, m) => {
    const shape = shapeOf(fitToShape(wants(cpu, memory), ACI, { defaults }));
    expect(shape.name).toBe(name);
    expect(shape.cpu).toBe(c);
    expect(shape.memory).toBe(m);
  });

  it("uses the defaults when the pod asks for nothing, and says so", () => {
    const result = fitToShape(wants(undefined, undefined), ACI, { defaults });
    expect(shapeOf(result).name).toBe("1 cores / 1.5 GB");
    expect(result.reason).toContain("cpu and memory defaulted");
  });

  it("fails above the grid", () => {
    expect(fitToShape(wants(4.01, GB), ACI).reason).toContain("the most cpu offered is 4");
  });

  it("checks extended resources only when asked, and copies extra keys", () => {
    const gpu: ShapeRow[] = [
      ...ACI,
      { cpu: 4, memory: 16 * GB, name: "gpu", "nvidia.com/gpu": 1, sku: "K80" },
    ];
    const resources: PodResources = { requests: { cpu: 1, memory: GB, "nvidia.com/gpu": 1 }, limits: {} };
    expect(shapeOf(fitToShape(resources, gpu)).name).toBe("1 cores / 1 GB");
    const chosen = shapeOf(fitToShape(resources, gpu, { extendedResources: ["nvidia.com/gpu"] }));
    expect(chosen).toEqual({ name: "gpu", cpu: 4, memory: 16 * GB, "nvidia.com/gpu": 1, sku: "K80" });
    const two: PodResources = { requests: { cpu: 1, "nvidia.com/gpu": 2 }, limits: {} };
    expect(fitToShape(two, gpu, { extendedResources: ["nvidia.com/gpu"] }).reason).toContain(
      "the most nvidia.com/gpu offered is 1",
    );
  });
});

describe("fitToShape with Cloud Run-like rules", () => {
  // Memory per CPU (Cloud Run docs): > 512 MiB needs ≥ 0.5 CPU, > 1 GiB needs ≥ 1 CPU; below 1 CPU in
  // steps of 0.001 from 0.08; above, whole CPUs with memory ranges.
  const memory = (min: number, max: number) => ({ min, max, step: Mi });
  const CLOUD_RUN: ShapeRow[] = [
    { cpu: { min: 0.08, max: 1, step: 0.001 }, memory: memory(128 * Mi, 512 * Mi) },
    { cpu: { min: 0.5, max: 1, step: 0.001 }, memory: memory(128 * Mi, Gi) },
    { cpu: 1, memory: memory(128 * Mi, 4 * Gi) },
    { cpu: 2, memory: memory(128 * Mi, 8 * Gi) },
    { cpu: 4, memory: memory(2 * Gi, 16 * Gi) },
    { cpu: 6, memory: memory(4 * Gi, 24 * Gi) },
    { cpu: 8, memory: memory(4 * Gi, 32 * Gi) },
  ];

  it.each([
    [0.01, 64 * Mi, "80m/128Mi"],
    [0.3, 300 * Mi, "300m/300Mi"],
    [0.3, 800 * Mi, "500m/800Mi"],
    [0.7, 2 * Gi, "1/2Gi"],
    [1.5, Gi, "2/1Gi"],
    [4, Gi, "4/2Gi"],
    [3, 20 * Gi, "6/20Gi"],
    [0.2345, 1000 * Mi + 1, "500m/1001Mi"],
  ])("cpu %d, memory %d → %s", (cpu, mem, name) => {
    expect(shapeOf(fitToShape(wants(cpu, mem), CLOUD_RUN)).name).toBe(name);
  });

  it("collapses requests and limits into one shape (Cloud Run has limits only)", () => {
    const resources: PodResources = { requests: { cpu: 0.25, memory: 256 * Mi }, limits: { cpu: 1 } };
    expect(shapeOf(fitToShape(resources, CLOUD_RUN)).name).toBe("1/256Mi");
  });

  it("fails past 32 GiB", () => {
    expect(fitToShape(wants(8, 33 * Gi), CLOUD_RUN).reason).toContain("the most memory offered is 32Gi");
  });

  it("a custom comparison can prefer another shape", () => {
    // Price-like weights: memory is cheap, so spend it before cpu.
    const price = (s: Shape): number => s.cpu * 24 + s.memory / Gi;
    const result = fitToShape(wants(0.5, 512 * Mi), CLOUD_RUN, { compare: (a, b) => price(a) - price(b) });
    expect(shapeOf(result).name).toBe("500m/512Mi");
  });
});

function pod(spec: Partial<NonNullable<Pod["spec"]>>): Pod {
  return { metadata: { name: "p", namespace: "ns" }, spec: { containers: [], ...spec } };
}
const container = (name: string, requests?: Record<string, string>, limits?: Record<string, string>) => ({
  name,
  image: "busybox",
  resources: { ...(requests ? { requests } : {}), ...(limits ? { limits } : {}) },
});

describe("podResources", () => {
  it.each([
    [
      { containers: [container("a", { cpu: "100m" }), container("b", { cpu: "" })] },
      "spec.containers[1].resources.requests.cpu",
    ],
    [
      { initContainers: [container("init", { memory: "lots" })], containers: [container("a", {})] },
      "spec.initContainers[0].resources.requests.memory",
    ],
  ])("names the field of a malformed quantity (%#)", (spec, field) => {
    let thrown: unknown;
    try {
      podResources(pod(spec));
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(InvalidInputError);
    expect((thrown as InvalidInputError).field).toBe(field);
  });

  it("sums app containers", () => {
    const r = podResources(
      pod({
        containers: [
          container("a", { cpu: "100m", memory: "64Mi" }),
          container("b", { cpu: "200m", memory: "128Mi" }),
        ],
      }),
    );
    expect(r.requests.cpu).toBeCloseTo(0.3, 12);
    expect(r.requests.memory).toBe(192 * Mi);
    expect(r.limits).toEqual({});
  });

  it("takes the largest init container when it is bigger than the app containers", () => {
    const r = podResources(
      pod({
        initContainers: [container("init", { cpu: "1", memory: "32Mi" })],
        containers: [container("a", { cpu: "100m", memory: "64Mi" })],
      }),
    );
    expect(r.requests).toEqual({ cpu: 1, memory: 64 * Mi });
  });

  it("adds sidecars to the app containers and to every later init container", () => {
    const r = podResources(
      pod({
        initContainers: [
          { ...container("before", { cpu: "300m" }) },
          { ...container("sidecar", { cpu: "50m", memory: "10Mi" }), restartPolicy: "Always" },
          { ...container("after", { cpu: "500m", memory: "5Mi" }) },
        ],
        containers: [container("app", { cpu: "100m", memory: "20Mi" })],
      }),
    );
    // Running together: app + sidecar = 150m / 30Mi; "after" runs next to the sidecar: 550m / 15Mi.
    expect(r.requests.cpu).toBeCloseTo(0.55, 12);
    expect(r.requests.memory).toBe(30 * Mi);
  });

  it("counts an init container that runs before a sidecar on its own", () => {
    const r = podResources(
      pod({
        initContainers: [
          container("before", { cpu: "500m" }),
          { ...container("sidecar", { cpu: "100m" }), restartPolicy: "Always" },
        ],
        containers: [container("app", { cpu: "100m" })],
      }),
    );
    expect(r.requests.cpu).toBeCloseTo(0.5, 12);
  });

  it("counts a limit without a request as the request", () => {
    const r = podResources(pod({ containers: [container("a", undefined, { cpu: "2", memory: "1Gi" })] }));
    expect(r.requests).toEqual({ cpu: 2, memory: Gi });
    expect(r.limits).toEqual({ cpu: 2, memory: Gi });
  });

  it("adds pod overhead to requests, and to limits only where there is a limit", () => {
    const r = podResources(
      pod({
        containers: [container("a", { cpu: "250m", memory: "64Mi" }, { cpu: "500m" })],
        overhead: { cpu: "250m", memory: "120Mi" },
      }),
    );
    expect(r.requests).toEqual({ cpu: 0.5, memory: 184 * Mi });
    expect(r.limits).toEqual({ cpu: 0.75 });
  });

  it("lets pod-level resources win for the resources they name", () => {
    const r = podResources(
      pod({
        resources: { requests: { cpu: "1" }, limits: { cpu: "2", memory: "2Gi" } },
        containers: [
          container("a", { cpu: "100m", memory: "64Mi" }),
          container("b", { "nvidia.com/gpu": "1" }),
        ],
      }),
    );
    expect(r.requests).toEqual({ cpu: 1, memory: 2 * Gi, "nvidia.com/gpu": 1 });
    expect(r.limits).toEqual({ cpu: 2, memory: 2 * Gi });
  });

  it("keeps extended resources", () => {
    const r = podResources(
      pod({ containers: [container("a", { "nvidia.com/gpu": "1" }, { "nvidia.com/gpu": "1" })] }),
    );
    expect(r.requests["nvidia.com/gpu"]).toBe(1);
  });

  it("rejects a malformed quantity with InvalidInputError naming the container", () => {
    expect(() => podResources(pod({ containers: [container("a", { cpu: "lots" })] }))).toThrow(
      InvalidInputError,
    );
    expect(() => podResources(pod({ containers: [container("a", { cpu: "lots" })] }))).toThrow(
      /container a requests: cpu/,
    );
  });

  it("is empty for a pod without resources", () => {
    expect(podResources({})).toEqual({ requests: {}, limits: {} });
  });

  it("feeds fitToShape", () => {
    const r = podResources(pod({ containers: [container("a", { cpu: "600m", memory: "1536Mi" })] }));
    expect(shapeOf(fitToShape(r, FARGATE)).name).toBe("1024/2048");
  });
});
