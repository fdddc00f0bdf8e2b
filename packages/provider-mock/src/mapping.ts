/**
 * Pod → mock cloud spec: the first of a provider's two pure translations (the other is
 * `status.ts`). A real provider's version builds e.g. an ACI container group or an ECS task
 * definition here; keep it free of I/O so it can be table-tested.
 */
import { InvalidInputError, UnsupportedError } from "@virtual-node/core";
import type {
  Container,
  ProviderCapabilities,
  ResolvedContainer,
  ResolvedPersistentVolume,
  ResolvedPod,
  ResolvedSecretData,
} from "@virtual-node/core";
import { fitToShape, ownershipTags, podResources, type ShapeRow } from "@virtual-node/core/provider-kit";
import {
  MockAnnotations,
  booleanAnnotation,
  containerAnnotation,
  cpuUsageAnnotation,
  durationAnnotation,
  exitCodeAnnotation,
  failCreateAnnotation,
  memoryUsageAnnotation,
  runDurationAnnotation,
} from "./annotations.js";
import type {
  MockContainerSpec,
  MockGroupSpec,
  MockPersistentVolume,
  MockPort,
  MockSecretRef,
  MockRestartPolicy,
  MockShape,
  MockVolumeSpec,
} from "./types.js";

const GIB = 1024 ** 3;

/**
 * The mock cloud's sizes, as a serverless cloud sells them: quarter cores up to 4, then whole
 * cores up to 64, each with memory from 0.5 GiB per core to 8 GiB per core in 0.5 GiB steps (one
 * row per cpu value, so the memory range can depend on the cpu). Named `<millicores>/<MiB>`.
 */
export const MOCK_SHAPES: readonly ShapeRow[] = [
  ...[0.25, 0.5, 0.75, 1, 1.25, 1.5, 1.75, 2, 2.5, 3, 3.5, 4],
  ...Array.from({ length: 60 }, (_, i) => i + 5),
].map((cpu) => ({
  cpu,
  memory: { min: Math.max(0.5, cpu / 2) * GIB, max: cpu * 8 * GIB, step: 0.5 * GIB },
  name: (c: number, m: number) => `${String(Math.round(c * 1000))}/${String(Math.round(m / 1024 ** 2))}`,
}));

/**
 * The smallest mock shape for the pod's effective resources (the larger of requests and limits);
 * a pod with no resources gets 0.25 core / 0.5 GiB, one no shape can hold is rejected.
 */
export function mockShapeOf(pod: ResolvedPod): MockShape {
  const fit = fitToShape(podResources(pod.pod), MOCK_SHAPES);
  if (!fit.ok) throw new InvalidInputError(fit.reason, { field: "spec.containers[*].resources" });
  return { name: fit.shape.name, cpu: fit.shape.cpu, memory: fit.shape.memory };
}

type Annotations = Readonly<Record<string, string>>;

function readAnnotation<T>(
  annotations: Annotations,
  key: string,
  parse: (key: string, value: string) => T,
): T | undefined {
  const value = annotations[key];
  return value === undefined ? undefined : parse(key, value);
}

/** The per-container annotation if present, else the pod-level one (main containers only). */
function containerKnob<T>(
  annotations: Annotations,
  base: Parameters<typeof containerAnnotation>[0],
  container: string,
  podLevel: boolean,
  parse: (key: string, value: string) => T,
): T | undefined {
  const own = readAnnotation(annotations, containerAnnotation(base, container), parse);
  // `null` (run forever) is a value, so test for undefined rather than using `??`.
  if (own !== undefined || !podLevel) return own;
  return readAnnotation(annotations, base, parse);
}

function restartPolicyOf(value: string | undefined): MockRestartPolicy {
  if (value === undefined || value === "Always" || value === "OnFailure" || value === "Never")
    return value ?? "Always";
  throw new InvalidInputError(`restartPolicy ${JSON.stringify(value)} is not Always, OnFailure or Never`, {
    field: "spec.restartPolicy",
  });
}

function portsOf(container: Container, field: string): MockPort[] | undefined {
  if (container.ports === undefined) return undefined;
  return container.ports.map((port, i) => {
    const protocol = port.protocol ?? "TCP";
    if (protocol !== "TCP" && protocol !== "UDP" && protocol !== "SCTP") {
      throw new InvalidInputError(`unknown port protocol ${JSON.stringify(protocol)}`, {
        field: `${field}.ports[${i}].protocol`,
      });
    }
    return {
      containerPort: port.containerPort,
      protocol,
      ...(port.name === undefined ? {} : { name: port.name }),
    };
  });
}

function containerSpec(
  container: Container,
  resolved: ResolvedContainer | undefined,
  annotations: Annotations,
  field: string,
  kind: "init" | "main",
): MockContainerSpec {
  if (container.image === undefined || container.image === "") {
    throw new InvalidInputError(`container ${container.name} has no image`, { field: `${field}.image` });
  }
  const main = kind === "main";
  const spec: MockContainerSpec = {
    name: container.name,
    image: container.image,
    env: (resolved?.env ?? []).map((v) => ({
      name: v.name,
      value: v.value,
      secret: v.secret,
      source: v.source,
    })),
  };
  const command = resolved?.command ?? container.command;
  const args = resolved?.args ?? container.args;
  if (command !== undefined) spec.command = [...command];
  if (args !== undefined) spec.args = [...args];
  const ports = portsOf(container, field);
  if (ports !== undefined) spec.ports = ports;
  if (container.resources?.requests !== undefined || container.resources?.limits !== undefined) {
    spec.resources = {};
    if (container.resources.requests !== undefined)
      spec.resources.requests = { ...container.resources.requests };
    if (container.resources.limits !== undefined) spec.resources.limits = { ...container.resources.limits };
  }
  if (container.volumeMounts !== undefined) {
    spec.volumeMounts = container.volumeMounts.map((m) => ({
      name: m.name,
      mountPath: m.mountPath,
      ...(m.readOnly === undefined ? {} : { readOnly: m.readOnly }),
      ...(m.subPath === undefined ? {} : { subPath: m.subPath }),
    }));
  }
  if (kind === "init" && container.restartPolicy === "Always") spec.restartPolicy = "Always";

  const runDuration = containerKnob(
    annotations,
    MockAnnotations.runDuration,
    container.name,
    main,
    runDurationAnnotation,
  );
  if (runDuration !== undefined) spec.runDurationMs = runDuration;
  const exitCode = containerKnob(
    annotations,
    MockAnnotations.exitCode,
    container.name,
    main,
    exitCodeAnnotation,
  );
  if (exitCode !== undefined) spec.exitCode = exitCode;
  const ready = containerKnob(annotations, MockAnnotations.ready, container.name, main, booleanAnnotation);
  if (ready !== undefined) spec.ready = ready;
  const readyDelay = containerKnob(
    annotations,
    MockAnnotations.readyDelay,
    container.name,
    main,
    durationAnnotation,
  );
  if (readyDelay !== undefined) spec.readyDelayMs = readyDelay;
  // Init containers take only the per-container form, like the other knobs.
  const cpu = containerKnob(annotations, MockAnnotations.cpuUsage, container.name, main, cpuUsageAnnotation);
  const memory = containerKnob(
    annotations,
    MockAnnotations.memoryUsage,
    container.name,
    main,
    memoryUsageAnnotation,
  );
  if (cpu !== undefined || memory !== undefined) {
    spec.usage = {
      ...(cpu === undefined ? {} : { cpuNanoCores: cpu }),
      ...(memory === undefined ? {} : { memoryBytes: memory }),
    };
  }
  return spec;
}

function checkNames(containers: readonly Container[], field: string, seen: Set<string>): void {
  containers.forEach((c, i) => {
    if (typeof c.name !== "string" || c.name === "") {
      throw new InvalidInputError("container has no name", { field: `${field}[${i}].name` });
    }
    if (seen.has(c.name)) {
      throw new InvalidInputError(`duplicate container name ${c.name}`, { field: `${field}[${i}].name` });
    }
    seen.add(c.name);
  });
}

/** Credentials by reference: a cloud keeps a pointer to the Secret, so the mock keeps names and keys only. */
function secretRef(secret: ResolvedSecretData): MockSecretRef {
  return { namespace: secret.namespace, name: secret.name, keys: Object.keys(secret.data).sort() };
}

/** The PV core resolved, as the mock cloud's volume spec (JSON: no Secret bytes). */
export function toMockPersistentVolume(pv: ResolvedPersistentVolume): MockPersistentVolume {
  const out: MockPersistentVolume = {
    claimName: pv.claimName,
    volumeName: pv.volumeName,
    readOnly: pv.readOnly,
    accessModes: [...pv.accessModes],
    volumeMode: pv.volumeMode,
  };
  if (pv.capacity !== undefined) out.capacity = pv.capacity;
  if (pv.storageClassName !== undefined) out.storageClassName = pv.storageClassName;
  if (pv.csi) {
    const { driver, volumeHandle, volumeAttributes, fsType, nodePublishSecret, nodeStageSecret } = pv.csi;
    out.csi = { driver, volumeHandle, volumeAttributes: { ...volumeAttributes } };
    if (fsType !== undefined) out.csi.fsType = fsType;
    if (nodePublishSecret) out.csi.nodePublishSecret = secretRef(nodePublishSecret);
    if (nodeStageSecret) out.csi.nodeStageSecret = secretRef(nodeStageSecret);
  }
  if (pv.nfs) out.nfs = { ...pv.nfs };
  if (pv.azureFile)
    out.azureFile = { shareName: pv.azureFile.shareName, secret: secretRef(pv.azureFile.secret) };
  return out;
}

export interface ToMockGroupSpecOptions {
  /** When given, volume kinds outside `capabilities.volumes` are rejected with `UnsupportedError`. */
  capabilities?: Pick<ProviderCapabilities, "volumes" | "initContainers">;
}

/**
 * Translates a resolved pod into the mock cloud's group spec. Throws `InvalidInputError` for a
 * malformed pod or annotation and `UnsupportedError` for an undeclared volume kind.
 */
export function toMockGroupSpec(pod: ResolvedPod, options: ToMockGroupSpecOptions = {}): MockGroupSpec {
  const spec = pod.pod.spec;
  if (spec === undefined) throw new InvalidInputError("pod has no spec", { field: "spec" });
  const annotations: Annotations = pod.pod.metadata?.annotations ?? {};
  const containers = spec.containers;
  const initContainers = spec.initContainers ?? [];
  if (containers.length === 0) {
    throw new InvalidInputError("pod has no containers", { field: "spec.containers" });
  }
  if (initContainers.length > 0 && options.capabilities?.initContainers === false) {
    throw new UnsupportedError("init containers are not supported", { field: "spec.initContainers" });
  }
  const seen = new Set<string>();
  checkNames(initContainers, "spec.initContainers", seen);
  checkNames(containers, "spec.containers", seen);

  const resolvedInit = new Map(pod.initContainers.map((c) => [c.name, c]));
  const resolvedMain = new Map(pod.containers.map((c) => [c.name, c]));

  const volumes: MockVolumeSpec[] = pod.volumes.map((v, i) => {
    if (options.capabilities !== undefined && !options.capabilities.volumes.includes(v.kind)) {
      throw new UnsupportedError(`volume kind ${v.kind} is not supported`, {
        field: `spec.volumes[${i}].${v.kind}`,
      });
    }
    const volume: MockVolumeSpec = {
      name: v.name,
      kind: v.kind,
      files: v.files.map((f) => ({
        path: f.path,
        mode: f.mode,
        secret: f.secret,
        base64: Buffer.from(f.content).toString("base64"),
      })),
    };
    if (v.emptyDir !== undefined) volume.emptyDir = { ...v.emptyDir };
    if (v.kind === "persistentVolumeClaim") {
      if (v.persistentVolume === undefined) {
        throw new InvalidInputError(`volume ${v.name} has no resolved PersistentVolume`, {
          field: `spec.volumes[${i}].persistentVolumeClaim`,
        });
      }
      volume.persistentVolume = toMockPersistentVolume(v.persistentVolume);
    }
    return volume;
  });

  const group: MockGroupSpec = {
    namespace: pod.ref.namespace,
    name: pod.ref.name,
    uid: pod.ref.uid,
    nodeName: pod.nodeName,
    restartPolicy: restartPolicyOf(spec.restartPolicy),
    initContainers: initContainers.map((c, i) =>
      containerSpec(c, resolvedInit.get(c.name), annotations, `spec.initContainers[${i}]`, "init"),
    ),
    containers: containers.map((c, i) =>
      containerSpec(c, resolvedMain.get(c.name), annotations, `spec.containers[${i}]`, "main"),
    ),
    volumes,
  };
  const labels = pod.pod.metadata?.labels;
  if (labels !== undefined) group.labels = { ...labels };
  // The ownership marks, as a real cloud would carry them: tags the provider reads back on adoption.
  group.tags = ownershipTags(pod.ref, pod.nodeName);
  group.shape = mockShapeOf(pod);
  const startDelay = readAnnotation(annotations, MockAnnotations.startDelay, durationAnnotation);
  if (startDelay !== undefined) group.startDelayMs = startDelay;
  const stopDelay = readAnnotation(annotations, MockAnnotations.stopDelay, durationAnnotation);
  if (stopDelay !== undefined) group.stopDelayMs = stopDelay;
  const failCreate = readAnnotation(annotations, MockAnnotations.failCreate, failCreateAnnotation);
  if (failCreate !== undefined) group.failCreate = failCreate;
  return group;
}
