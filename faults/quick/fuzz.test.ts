/**
 * Fuzzed pod specs (fast-check) through what core does before a provider sees a pod — capability
 * validation, config resolution (the kubelet's env/volume rules) — and through every provider's pure
 * mapping. Nothing may crash: a rejection is a typed error (`VN_*` code) naming the field.
 * 10,000 pods under `npm run test:faults`, 1,000 in `npm test` (pure code: cheap at any size).
 */
import { VirtualNodeError, type Pod, type ProviderCapabilities, type ResolvedPod } from "@virtual-node/core";
import { validatePodAgainstCapabilities } from "@virtual-node/core/status";
import { createInMemoryConfigSource, resolvePodConfig } from "@virtual-node/core/config";
import { aciCapabilities, toContainerGroup } from "@virtual-node/provider-aci";
import { cloudRunCapabilities, mapPod as mapCloudRun } from "@virtual-node/provider-cloudrun";
import {
  fargateCapabilities,
  mapPodToTask,
  planSecretMirrors,
  resolveFargateOptions,
} from "@virtual-node/provider-fargate";
import { interLinkCapabilities, toCreateRequest } from "@virtual-node/provider-interlink";
import { mockCapabilities, toMockGroupSpec } from "@virtual-node/provider-mock";
import fc from "fast-check";
import { describe, expect, it } from "vitest";

import { FULL, writeResult } from "../support.js";

const NAMESPACE = "fuzz";
const fargateOptions = resolveFargateOptions({
  cluster: "vn-fuzz",
  region: "us-east-1",
  subnets: ["subnet-0a1b2c"],
  securityGroups: ["sg-0a1b2c"],
  executionRoleArn: "arn:aws:iam::123456789012:role/vn-exec",
  logGroup: "/vn/fuzz",
});

interface Mapper {
  readonly name: string;
  readonly capabilities: ProviderCapabilities;
  map(pod: ResolvedPod): unknown;
}

const MAPPERS: readonly Mapper[] = [
  {
    name: "mock",
    capabilities: mockCapabilities,
    map: (p) => toMockGroupSpec(p, { capabilities: mockCapabilities }),
  },
  {
    name: "fargate",
    capabilities: fargateCapabilities,
    map: (p) => {
      const arns = new Map(
        planSecretMirrors(p, fargateOptions).map((m) => [
          m.mirror,
          `arn:aws:secretsmanager:us-east-1:1:secret:${m.mirror}`,
        ]),
      );
      return mapPodToTask(p, { options: fargateOptions, secretArns: arns });
    },
  },
  {
    name: "aci",
    capabilities: aciCapabilities,
    map: (p) => toContainerGroup(p, { nodeName: "vn-fuzz", location: "westeurope", osType: "Linux" }),
  },
  {
    name: "cloudrun",
    capabilities: cloudRunCapabilities("mirror"),
    map: (p) =>
      mapCloudRun(p, {
        onFailureMaxRetries: 3,
        defaultJobTimeoutSeconds: 86_400,
        secrets: "mirror",
        serviceIngress: "INGRESS_TRAFFIC_INTERNAL_ONLY",
        gpuType: "nvidia-l4",
      }),
  },
  {
    name: "interlink",
    capabilities: interLinkCapabilities({ persistentVolumes: false, extendedResources: [] }),
    map: (p) => toCreateRequest(p, { nodeName: "vn-fuzz" }),
  },
];

const source = createInMemoryConfigSource({
  secrets: {
    [`${NAMESPACE}/creds`]: {
      metadata: { name: "creds", namespace: NAMESPACE },
      data: { token: Buffer.from("s3cr3t").toString("base64") },
    },
  },
  configMaps: {
    [`${NAMESPACE}/settings`]: {
      metadata: { name: "settings", namespace: NAMESPACE },
      data: { mode: "fast", "bad key": "x" },
    },
  },
});

// Values chosen to hit edges: valid, empty, malformed, huge.
const name = fc.constantFrom("app", "sidecar", "a", "", "Bad_Name", "x".repeat(70), "web-1");
const quantity = fc.constantFrom(
  "100m",
  "1",
  "0.5",
  "2Gi",
  "512Mi",
  "1e3",
  "-1",
  "abc",
  "",
  "1.5Gi",
  "100000",
  "1Ki",
);
const envVar = fc.oneof(
  fc.record({
    name: fc.constantFrom("A", "B_1", "1BAD", "", "PATH"),
    value: fc.constantFrom("x", "$(A)", "$$(A)", ""),
  }),
  fc.record({
    name: fc.constant("TOKEN"),
    valueFrom: fc.record({
      secretKeyRef: fc.record({
        name: fc.constantFrom("creds", "missing", ""),
        key: fc.constantFrom("token", "nokey"),
        optional: fc.option(fc.boolean(), { nil: undefined }),
      }),
    }),
  }),
  fc.record({
    name: fc.constant("MODE"),
    valueFrom: fc.record({
      configMapKeyRef: fc.record({
        name: fc.constantFrom("settings", "gone"),
        key: fc.constantFrom("mode", "x"),
      }),
    }),
  }),
  fc.record({
    name: fc.constant("POD"),
    valueFrom: fc.record({
      fieldRef: fc.record({ fieldPath: fc.constantFrom("metadata.name", "status.podIP", "spec.bogus") }),
    }),
  }),
);
const container = fc.record(
  {
    name,
    image: fc.constantFrom("busybox:1.36", "", "registry.local/app@sha256:abc", "UPPER/case"),
    command: fc.option(fc.array(fc.constantFrom("sh", "-c", "echo $(A)", ""), { maxLength: 3 }), {
      nil: undefined,
    }),
    env: fc.option(fc.array(envVar, { maxLength: 4 }), { nil: undefined }),
    envFrom: fc.option(
      fc.array(fc.record({ configMapRef: fc.record({ name: fc.constantFrom("settings", "gone") }) }), {
        maxLength: 1,
      }),
      { nil: undefined },
    ),
    ports: fc.option(
      fc.array(
        fc.record({
          containerPort: fc.constantFrom(80, 0, 65536, -1, 8080),
          protocol: fc.option(fc.constantFrom("TCP", "UDP", "SCTP", "HTTP"), { nil: undefined }),
        }),
        { maxLength: 2 },
      ),
      { nil: undefined },
    ),
    resources: fc.option(
      fc.record({
        requests: fc.option(fc.record({ cpu: quantity, memory: quantity }), { nil: undefined }),
        limits: fc.option(
          fc.dictionary(fc.constantFrom("cpu", "memory", "nvidia.com/gpu", "ephemeral-storage"), quantity),
          { nil: undefined },
        ),
      }),
      { nil: undefined },
    ),
    volumeMounts: fc.option(
      fc.array(
        fc.record({
          name: fc.constantFrom("data", "creds", "cfg", "nope"),
          mountPath: fc.constantFrom("/data", "relative", "", "/creds"),
        }),
        { maxLength: 2 },
      ),
      { nil: undefined },
    ),
    livenessProbe: fc.option(
      fc.oneof(
        fc.record({
          httpGet: fc.record({ port: fc.constantFrom(80, "http", 0), path: fc.constantFrom("/healthz", "") }),
        }),
        fc.record({ exec: fc.record({ command: fc.constant(["true"]) }) }),
        fc.record({
          tcpSocket: fc.record({ port: fc.constantFrom(80, 99999) }),
          periodSeconds: fc.constantFrom(1, 0, -5),
        }),
      ),
      { nil: undefined },
    ),
  },
  { requiredKeys: ["name"] },
);
const volume = fc.oneof(
  fc.record({
    name: fc.constantFrom("data", ""),
    emptyDir: fc.record({ sizeLimit: fc.option(quantity, { nil: undefined }) }),
  }),
  fc.record({
    name: fc.constant("creds"),
    secret: fc.record({
      secretName: fc.constantFrom("creds", "missing"),
      optional: fc.option(fc.boolean(), { nil: undefined }),
    }),
  }),
  fc.record({
    name: fc.constant("cfg"),
    configMap: fc.record({
      name: fc.constantFrom("settings", "gone"),
      items: fc.option(fc.constant([{ key: "mode", path: "../escape" }]), { nil: undefined }),
    }),
  }),
  fc.record({ name: fc.constant("host"), hostPath: fc.record({ path: fc.constant("/var/run") }) }),
);
const podArb: fc.Arbitrary<Pod> = fc
  .record({
    containers: fc.array(container, { minLength: 0, maxLength: 3 }),
    initContainers: fc.option(fc.array(container, { maxLength: 1 }), { nil: undefined }),
    volumes: fc.option(fc.array(volume, { maxLength: 3 }), { nil: undefined }),
    restartPolicy: fc.option(fc.constantFrom("Always", "OnFailure", "Never", "Sometimes"), {
      nil: undefined,
    }),
    hostNetwork: fc.option(fc.boolean(), { nil: undefined }),
    activeDeadlineSeconds: fc.option(fc.constantFrom(10, 0, -1), { nil: undefined }),
    annotations: fc.dictionary(
      fc.constantFrom("vn.io/shape", "virtual-node.io/cpu", "other"),
      fc.constantFrom("x", "", "2"),
    ),
  })
  .map(
    ({ annotations, ...spec }) =>
      ({
        apiVersion: "v1",
        kind: "Pod",
        metadata: {
          name: "fuzzed",
          namespace: NAMESPACE,
          uid: "00000000-0000-4000-8000-000000000001",
          annotations,
        },
        spec: { nodeName: "vn-fuzz", ...spec },
      }) as Pod,
  );

interface Tally {
  pods: number;
  validationRejections: number;
  resolveRejections: number;
  mapped: Record<string, number>;
  mapperRejections: Record<string, number>;
  /** Crashes and rejections without a typed error naming a field; must stay empty. */
  defects: string[];
}

function judge(tally: Tally, stage: string, error: unknown): void {
  if (error instanceof VirtualNodeError && typeof error.field === "string" && error.field !== "") return;
  if (tally.defects.length < 20) {
    const shown = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    tally.defects.push(`${stage}: ${shown}`);
  } else tally.defects.push(stage);
}

describe("fault: fuzzed pod specs", () => {
  it("never crash validation, config resolution or any provider mapping; every rejection names a field", async () => {
    const runs = FULL ? 10_000 : 1_000;
    const tally: Tally = {
      pods: 0,
      validationRejections: 0,
      resolveRejections: 0,
      mapped: {},
      mapperRejections: {},
      defects: [],
    };
    const signal = new AbortController().signal;
    await fc.assert(
      fc.asyncProperty(podArb, async (pod) => {
        tally.pods++;
        let resolved: ResolvedPod;
        try {
          resolved = (
            await resolvePodConfig(pod, {
              source,
              nodeName: "vn-fuzz",
              hostIP: "10.0.0.1",
              podIP: "10.1.0.5",
              signal,
              now: new Date(0),
            })
          ).resolved;
        } catch (error) {
          tally.resolveRejections++;
          judge(tally, "resolvePodConfig", error);
          return;
        }
        for (const mapper of MAPPERS) {
          let problems;
          try {
            problems = validatePodAgainstCapabilities(pod, mapper.name, mapper.capabilities);
          } catch (error) {
            judge(tally, `validate(${mapper.name})`, error);
            continue;
          }
          if (problems.length > 0) {
            tally.validationRejections++;
            for (const p of problems)
              if (p.field === "") tally.defects.push(`validate(${mapper.name}): no field: ${p.message}`);
            continue;
          }
          try {
            mapper.map(resolved);
            tally.mapped[mapper.name] = (tally.mapped[mapper.name] ?? 0) + 1;
          } catch (error) {
            tally.mapperRejections[mapper.name] = (tally.mapperRejections[mapper.name] ?? 0) + 1;
            judge(tally, `map(${mapper.name})`, error);
          }
        }
      }),
      { numRuns: runs, seed: 15, endOnFailure: true },
    );
    await writeResult("fuzz", {
      figures: { pods: tally.pods, crashesOrUnnamedRejections: tally.defects.length },
      ...tally,
      defects: tally.defects.slice(0, 20),
    });
    expect(tally.pods).toBe(runs);
    expect(Object.values(tally.mapped).reduce((a, b) => a + b, 0)).toBeGreaterThan(0); // some pods got through
    expect(tally.defects).toEqual([]);
  });
});
