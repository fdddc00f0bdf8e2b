/**
 * Pure mapping `ResolvedPod → Cloud Run Job | WorkerPool | Service | Instance`: which resource kind runs the pod, its
 * name, labels, containers, resources (fitted to Cloud Run's legal sizes), Secret Manager
 * references and volumes. Everything Cloud Run cannot express is rejected here with an
 * `UnsupportedError` naming the pod field, never dropped silently.
 */
import { InvalidInputError, UnsupportedError } from "@virtual-node/core";
import type { Container, ResolvedContainer, ResolvedPod, ResolvedVolume } from "@virtual-node/core";
import {
  NAME_RULES,
  cloudName,
  fitToShape,
  ownershipLabels,
  ownershipTags,
  podResources,
  splitEnv,
} from "@virtual-node/core/provider-kit";
import type { Shape } from "@virtual-node/core/provider-kit";
import type { protos } from "@google-cloud/run";
import { CLOUD_RUN_GPU_SHAPES, CLOUD_RUN_SHAPES, memoryLimit } from "./shapes.js";

/** A Cloud Run v2 Job, as the client library takes it. */
export type CloudRunJob = protos.google.cloud.run.v2.IJob;
/** A Cloud Run v2 Service, as the client library takes it. */
export type CloudRunService = protos.google.cloud.run.v2.IService;
/** A Cloud Run v2 WorkerPool, as the client library takes it. */
export type CloudRunWorkerPool = protos.google.cloud.run.v2.IWorkerPool;
/** A Cloud Run v2 Instance, as the client library takes it. */
export type CloudRunInstance = protos.google.cloud.run.v2.IInstance;
type CloudContainer = protos.google.cloud.run.v2.IContainer;
type CloudVolume = protos.google.cloud.run.v2.IVolume;
type CloudProbe = protos.google.cloud.run.v2.IProbe;
type KubeProbe = NonNullable<Container["livenessProbe"]>;

/** Cloud Run's limit on containers per instance. */
export const MAX_CONTAINERS = 10;

/** The annotation on the Job/Service that records the shape chosen (for status and billing). */
export const SHAPE_ANNOTATION = "virtual-node-shape";

/**
 * The annotation on the Job/Service naming the pod's `imagePullSecrets` that Cloud Run cannot use:
 * it pulls with the service account (Artifact Registry IAM) and has no registry-credential field.
 * Kept on the resource so the status says so also after an agent restart.
 */
export const IGNORED_PULL_SECRETS_ANNOTATION = "virtual-node-ignored-pull-secrets";

/**
 * How pods with `restartPolicy: Always` run: `workerPool` (default: a Worker Pool with one manual
 * instance), `service` (pods that declare a container port become a Service with one always-on
 * instance, the others Worker Pools), `instance` (a standalone Cloud Run Instance).
 */
export type LongRunningKind = "workerPool" | "service" | "instance";

/** Every Cloud Run resource a pod can become. */
export type CloudRunKind = "job" | LongRunningKind;

/** Options of {@link mapPod} (validated provider options). */
export interface MappingOptions {
  /** Service account email the workloads run as. */
  serviceAccount?: string;
  /** Direct VPC egress (network/subnetwork) or a Serverless VPC Access connector. */
  vpc?: {
    network?: string;
    subnetwork?: string;
    connector?: string;
    tags?: string[];
    egress?: "ALL_TRAFFIC" | "PRIVATE_RANGES_ONLY";
  };
  /** Extra labels on every Job, Worker Pool, Service and Instance (valid GCP labels). */
  labels?: Record<string, string>;
  /** Task retries for `restartPolicy: OnFailure` (Cloud Run's default is 3; always set). */
  onFailureMaxRetries: number;
  /** Task timeout when the pod has no `activeDeadlineSeconds` (Cloud Run's own default is 600 s). */
  defaultJobTimeoutSeconds: number;
  /** `mirror`: Secret values (env and files) go to Secret Manager; `reject`: such pods are refused. */
  secrets: "mirror" | "reject";
  /** Ingress of Services and Instances (default internal only: the pod has no routable IP anyway). */
  serviceIngress: "INGRESS_TRAFFIC_ALL" | "INGRESS_TRAFFIC_INTERNAL_ONLY" | "INGRESS_TRAFFIC_NONE";
  /** The GPU type for pods that ask for `nvidia.com/gpu` (default `nvidia-l4`). */
  gpuType: string;
  /** Which resource runs `restartPolicy: Always` pods (default `workerPool`). */
  longRunning?: LongRunningKind;
  /** Sent as `launchStage` on Worker Pools and Instances when set (preview features need `BETA`/`ALPHA`). */
  launchStage?: "ALPHA" | "BETA" | "GA";
}

/** One Secret Manager secret the provider writes before creating the Job/Service. */
export interface SecretMirror {
  /** The secret id (not the full name). */
  secretId: string;
  /** One version per payload, added in this order. */
  payloads: Uint8Array[];
  /** The pod field it carries, for messages. */
  field: string;
}

/** The Job, Worker Pool, Service or Instance for a pod, plus what it needs first. */
export type CloudRunSpec =
  | { kind: "job"; id: string; job: CloudRunJob; shape: Shape; secrets: SecretMirror[] }
  | { kind: "workerPool"; id: string; workerPool: CloudRunWorkerPool; shape: Shape; secrets: SecretMirror[] }
  | { kind: "service"; id: string; service: CloudRunService; shape: Shape; secrets: SecretMirror[] }
  | { kind: "instance"; id: string; instance: CloudRunInstance; shape: Shape; secrets: SecretMirror[] };

/** The resource a spec creates (the Job, Worker Pool, Service or Instance body). */
export function specResource(
  spec: CloudRunSpec,
): CloudRunJob | CloudRunWorkerPool | CloudRunService | CloudRunInstance {
  switch (spec.kind) {
    case "job":
      return spec.job;
    case "workerPool":
      return spec.workerPool;
    case "service":
      return spec.service;
    case "instance":
      return spec.instance;
  }
}

/** Whether any container of the pod declares a port (what makes it a Service under `longRunning: "service"`). */
function declaresPort(pod: ResolvedPod): boolean {
  return (pod.pod.spec?.containers ?? []).some((c) => (c.ports ?? []).length > 0);
}

/**
 * Which Cloud Run resource a pod becomes (the resource-choice table of the docs):
 * `Never | OnFailure` → Job; `Always` → Worker Pool, or a Service when `longRunning` is `service`
 * and the pod declares a port, or an Instance when `longRunning` is `instance`.
 */
export function resourceKindFor(pod: ResolvedPod, longRunning: LongRunningKind = "workerPool"): CloudRunKind {
  const policy = pod.pod.spec?.restartPolicy ?? "Always";
  if (policy !== "Always") return "job";
  if (longRunning === "service") return declaresPort(pod) ? "service" : "workerPool";
  return longRunning;
}

/** The resource id of a pod: deterministic from its UID, valid for Cloud Run. */
export function cloudRunId(ref: ResolvedPod["ref"], kind: CloudRunKind): string {
  // An execution is named `<job>-<5 characters>` and must stay within 63, hence 57 for jobs.
  // Worker Pools and Instances share the Service id rule (fewer than 50 characters).
  return kind === "job"
    ? cloudName(ref, { ...NAME_RULES.cloudRunJob, maxLength: 57 })
    : cloudName(ref, NAME_RULES.cloudRunService);
}

/** The Secret Manager secret ids a pod uses start with this (for cleanup by prefix). */
export function secretIdPrefix(ref: ResolvedPod["ref"]): string {
  return cloudName(ref, { maxLength: 200, alphabet: "alnum-dash-underscore", prefix: "vn-" });
}

function envSecretId(prefix: string, containerKey: string, env: string): string {
  return `${prefix}-${containerKey}-${sanitiseId(env)}`;
}

function sanitiseId(text: string): string {
  return text.replace(/[^A-Za-z0-9_-]/g, "-").slice(0, 40);
}

/** Which env var / volume of a pod is mirrored into which secret (pure; ids from the UID). */
export function planSecrets(pod: ResolvedPod, options: Pick<MappingOptions, "secrets">): SecretMirror[] {
  const prefix = secretIdPrefix(pod.ref);
  const mirrors: SecretMirror[] = [];
  const all = [
    ...pod.initContainers.map((c, i) => ({
      container: c,
      key: `s${i}`,
      field: `spec.initContainers[${i}].env`,
    })),
    ...pod.containers.map((c, i) => ({ container: c, key: `c${i}`, field: `spec.containers[${i}].env` })),
  ];
  for (const { container, key, field } of all) {
    const { secret } = splitEnv(container);
    for (const env of secret) {
      if (options.secrets === "reject")
        throw new UnsupportedError(
          `container ${container.name}: env ${env.name} comes from a Secret; Cloud Run needs it in Secret Manager — enable secret mirroring (secrets: "mirror")`,
          { field },
        );
      mirrors.push({
        secretId: envSecretId(prefix, key, env.name),
        payloads: [new TextEncoder().encode(env.value)],
        field: `${field} ${env.name}`,
      });
    }
  }
  pod.volumes.forEach((volume, i) => {
    if (!FILE_VOLUMES.has(volume.kind)) return;
    const field = `spec.volumes[${i}].${volume.kind}`;
    if (options.secrets === "reject")
      throw new UnsupportedError(
        `volume ${volume.name}: Cloud Run has no ${volume.kind} volumes; its files can only be mounted from Secret Manager — enable secret mirroring (secrets: "mirror")`,
        { field },
      );
    if (volume.files.length === 0) return;
    mirrors.push({
      secretId: `${prefix}-v${i}-${sanitiseId(volume.name)}`,
      payloads: volume.files.map((f) => f.content),
      field,
    });
  });
  return mirrors;
}

const FILE_VOLUMES = new Set(["secret", "configMap", "projected", "downwardAPI"]);

/** Version ids (as AddSecretVersion returned them) per secret id, one per payload. */
export type SecretVersions = ReadonlyMap<string, readonly string[]>;

function probe(
  p: KubeProbe | undefined,
  field: string,
  kind: "startup" | "liveness",
): CloudProbe | undefined {
  if (p === undefined) return undefined;
  const out: CloudProbe = {
    ...(p.initialDelaySeconds === undefined ? {} : { initialDelaySeconds: p.initialDelaySeconds }),
    ...(p.timeoutSeconds === undefined ? {} : { timeoutSeconds: p.timeoutSeconds }),
    ...(p.periodSeconds === undefined ? {} : { periodSeconds: p.periodSeconds }),
    ...(p.failureThreshold === undefined ? {} : { failureThreshold: p.failureThreshold }),
  };
  const port = (value: number | string | undefined): number | undefined => {
    if (value === undefined) return undefined;
    if (typeof value === "number") return value;
    throw new UnsupportedError(`${kind} probe: named ports are not supported by Cloud Run; use a number`, {
      field,
    });
  };
  if (p.httpGet !== undefined) {
    const httpPort = port(p.httpGet.port);
    out.httpGet = {
      path: p.httpGet.path ?? "/",
      ...(httpPort === undefined ? {} : { port: httpPort }),
      ...(p.httpGet.httpHeaders === undefined
        ? {}
        : { httpHeaders: p.httpGet.httpHeaders.map((h) => ({ name: h.name, value: h.value })) }),
    };
  } else if (p.tcpSocket !== undefined) {
    if (kind === "liveness")
      throw new UnsupportedError("liveness probe: Cloud Run supports httpGet and grpc only", { field });
    const tcpPort = port(p.tcpSocket.port);
    out.tcpSocket = tcpPort === undefined ? {} : { port: tcpPort };
  } else if (p.grpc !== undefined) {
    out.grpc = { port: p.grpc.port, ...(p.grpc.service === undefined ? {} : { service: p.grpc.service }) };
  } else {
    throw new UnsupportedError(`${kind} probe: Cloud Run has no exec probes`, { field });
  }
  return out;
}

function apiContainer(pod: ResolvedPod, name: string, init: boolean): Container {
  const list = init ? pod.pod.spec?.initContainers : pod.pod.spec?.containers;
  const found = list?.find((c) => c.name === name);
  if (found === undefined) throw new InvalidInputError(`container ${name} is not in the pod spec`);
  return found;
}

interface ContainerInput {
  /** `s<i>` for sidecars, `c<i>` for app containers: part of their secret ids. */
  key: string;
  resolved: ResolvedContainer;
  api: Container;
  field: string;
  sidecar: boolean;
}

/** Builds the Job (run-to-completion) or the Worker Pool / Service / Instance (long-running) for a pod. */
export function mapPod(
  pod: ResolvedPod,
  options: MappingOptions,
  versions: SecretVersions = new Map(),
): CloudRunSpec {
  const spec = pod.pod.spec;
  if (spec === undefined || pod.containers.length === 0)
    throw new InvalidInputError("the pod has no containers", { field: "spec.containers" });
  const kind = resourceKindFor(pod, options.longRunning);
  const id = cloudRunId(pod.ref, kind);
  const secrets = planSecrets(pod, options);
  const secretOf = new Map(secrets.map((s) => [s.secretId, s]));
  const versionOf = (secretId: string, index: number): string => {
    const v = versions.get(secretId)?.[index];
    if (v === undefined)
      throw new InvalidInputError(`secret ${secretId} has no mirrored version ${index + 1} yet`, {
        // The mirror's field reads `spec.containers[0].env NAME`: the path is its first word.
        field: secretOf.get(secretId)?.field.split(" ")[0] ?? "spec",
      });
    return v.split("/").at(-1) ?? v;
  };

  // Sidecars (init containers with restartPolicy Always) start first; plain init containers cannot run.
  const inputs: ContainerInput[] = [];
  pod.initContainers.forEach((c, i) => {
    const api = apiContainer(pod, c.name, true);
    if (api.restartPolicy !== "Always")
      throw new UnsupportedError(
        `init container ${c.name}: Cloud Run cannot run containers to completion before the others`,
        { field: `spec.initContainers[${i}]` },
      );
    inputs.push({ key: `s${i}`, resolved: c, api, field: `spec.initContainers[${i}]`, sidecar: true });
  });
  pod.containers.forEach((c, i) => {
    inputs.push({
      key: `c${i}`,
      resolved: c,
      api: apiContainer(pod, c.name, false),
      field: `spec.containers[${i}]`,
      sidecar: false,
    });
  });
  if (inputs.length > MAX_CONTAINERS)
    throw new UnsupportedError(`Cloud Run runs at most ${MAX_CONTAINERS} containers per instance`, {
      field: "spec.containers",
    });

  const volumes = mapVolumes(pod, versionOf, secretOf);
  const volumeNames = new Set(volumes.map((v) => v.name ?? ""));

  // Resources: the pod's effective requests/limits fitted to a legal Cloud Run size.
  const resources = podResources(pod.pod);
  const gpus = Math.max(resources.limits["nvidia.com/gpu"] ?? 0, resources.requests["nvidia.com/gpu"] ?? 0);
  if (gpus > 1)
    throw new UnsupportedError("Cloud Run attaches at most one GPU per instance", {
      field: "spec.containers[].resources",
    });
  if (gpus > 0 && kind === "job")
    throw new UnsupportedError(
      "GPUs are supported on long-running pods (Worker Pools, Services, Instances) only in this API version",
      {
        field: "spec.containers[].resources",
      },
    );
  const fit = fitToShape(resources, gpus > 0 ? CLOUD_RUN_GPU_SHAPES : CLOUD_RUN_SHAPES, {
    use: "max",
    defaults: { cpu: 1, memory: 512 * 1024 * 1024 },
    ...(gpus > 0 ? { extendedResources: ["nvidia.com/gpu"] } : {}),
  });
  if (!fit.ok)
    throw new UnsupportedError(`resources: ${fit.reason}`, { field: "spec.containers[].resources" });
  const shape = fit.shape;

  const sidecarNames = inputs.filter((c) => c.sidecar).map((c) => c.resolved.name);
  const ported = inputs.filter((c) => (c.api.ports ?? []).length > 0);
  if ((kind === "service" || kind === "instance") && ported.length > 1)
    throw new UnsupportedError(
      `Cloud Run routes traffic to one container only; ${ported.map((c) => c.resolved.name).join(", ")} all declare ports`,
      { field: `${ported[1]?.field ?? "spec.containers"}.ports` },
    );
  const main = inputs.find((c) => !c.sidecar);

  const containers: CloudContainer[] = inputs.map((input) => {
    const { resolved, api, field } = input;
    if (api.image === undefined || api.image === "")
      throw new InvalidInputError(`container ${resolved.name} has no image`, { field: `${field}.image` });
    const env: protos.google.cloud.run.v2.IEnvVar[] = [];
    for (const e of resolved.env) {
      if (e.secret) {
        const secretId = envSecretId(secretIdPrefix(pod.ref), input.key, e.name);
        env.push({
          name: e.name,
          valueSource: { secretKeyRef: { secret: secretId, version: versionOf(secretId, 0) } },
        });
      } else {
        env.push({ name: e.name, value: e.value });
      }
    }
    for (const m of api.volumeMounts ?? []) {
      if (m.subPath !== undefined || m.subPathExpr !== undefined)
        throw new UnsupportedError(`volume mount ${m.name}: Cloud Run has no subPath mounts`, {
          field: `${field}.volumeMounts`,
        });
      if (!volumeNames.has(m.name))
        throw new InvalidInputError(`volume mount ${m.name}: no such volume`, {
          field: `${field}.volumeMounts`,
        });
    }
    if (api.readinessProbe !== undefined)
      throw new UnsupportedError("Cloud Run v2 has no readiness probes", {
        field: `${field}.readinessProbe`,
      });
    if (kind === "job" && (api.livenessProbe !== undefined || api.startupProbe !== undefined))
      throw new UnsupportedError("Cloud Run Jobs have no probes", { field: `${field}.livenessProbe` });
    const isMain = input === main;
    // Worker Pools receive no traffic: their containers' ports are informational and not sent.
    const ports = kind === "service" || kind === "instance" ? (api.ports ?? []) : [];
    const out: CloudContainer = {
      name: resolved.name,
      image: api.image,
      ...(resolved.command === undefined ? {} : { command: resolved.command }),
      ...(resolved.args === undefined ? {} : { args: resolved.args }),
      ...(env.length === 0 ? {} : { env }),
      ...(api.workingDir === undefined ? {} : { workingDir: api.workingDir }),
      // Cloud Run names the port by protocol: `http1` (default) or `h2c` (HTTP/2 cleartext, gRPC).
      ...(ports.length === 0
        ? {}
        : {
            ports: ports.slice(0, 1).map((p) => ({
              containerPort: p.containerPort,
              ...(p.name === "h2c" ? { name: "h2c" } : {}),
            })),
          }),
      ...((api.volumeMounts ?? []).length === 0
        ? {}
        : { volumeMounts: (api.volumeMounts ?? []).map((m) => ({ name: m.name, mountPath: m.mountPath })) }),
    };
    // The whole instance size goes to the main container; sidecars keep only what they declare.
    if (isMain) {
      out.resources = {
        limits: {
          cpu: String(shape.cpu),
          memory: memoryLimit(shape.memory),
          ...(gpus > 0 ? { "nvidia.com/gpu": "1" } : {}),
        },
        ...(kind === "service" ? { cpuIdle: false } : {}),
      };
    } else {
      const limits: Record<string, string> = {};
      const declared = api.resources?.limits ?? api.resources?.requests;
      if (declared?.cpu !== undefined) limits.cpu = declared.cpu;
      if (declared?.memory !== undefined) limits.memory = declared.memory;
      if (Object.keys(limits).length > 0) out.resources = { limits };
    }
    if (kind !== "job") {
      const startup = probe(api.startupProbe, `${field}.startupProbe`, "startup");
      const liveness = probe(api.livenessProbe, `${field}.livenessProbe`, "liveness");
      if (startup !== undefined) out.startupProbe = startup;
      if (liveness !== undefined) out.livenessProbe = liveness;
    }
    if (!input.sidecar && sidecarNames.length > 0) out.dependsOn = sidecarNames;
    return out;
  });

  const labels = { ...options.labels, ...ownershipLabels(pod.ref, pod.nodeName) };
  const pullSecrets = (pod.pod.spec?.imagePullSecrets ?? []).map((s) => s.name ?? "").filter((n) => n !== "");
  const annotations = {
    ...ownershipTags(pod.ref, pod.nodeName),
    [SHAPE_ANNOTATION]: shape.name,
    ...(pullSecrets.length > 0 ? { [IGNORED_PULL_SECRETS_ANNOTATION]: pullSecrets.join(",") } : {}),
  };
  const vpcAccess = vpcOf(options);
  const needsGen2 = volumes.some((v) => v.nfs != null || v.gcs != null);
  const launchStage = options.launchStage === undefined ? {} : { launchStage: options.launchStage };
  const nodeSelector = gpus > 0 ? { nodeSelector: { accelerator: options.gpuType } } : {};
  const identity = {
    ...(options.serviceAccount === undefined ? {} : { serviceAccount: options.serviceAccount }),
    ...(vpcAccess === undefined ? {} : { vpcAccess }),
  };

  if (kind === "job") {
    const policy = spec.restartPolicy ?? "Never";
    const timeout = spec.activeDeadlineSeconds ?? options.defaultJobTimeoutSeconds;
    const job: CloudRunJob = {
      labels,
      annotations,
      template: {
        labels,
        annotations,
        taskCount: 1,
        parallelism: 1,
        template: {
          containers,
          ...(volumes.length === 0 ? {} : { volumes }),
          maxRetries: policy === "OnFailure" ? options.onFailureMaxRetries : 0,
          timeout: { seconds: timeout },
          ...(options.serviceAccount === undefined ? {} : { serviceAccount: options.serviceAccount }),
          ...(vpcAccess === undefined ? {} : { vpcAccess }),
          ...(needsGen2 ? { executionEnvironment: "EXECUTION_ENVIRONMENT_GEN2" } : {}),
        },
      },
    };
    return { kind, id, job, shape, secrets };
  }
  if (kind === "workerPool") {
    // Worker Pools always run in the second generation environment (no executionEnvironment field).
    const workerPool: CloudRunWorkerPool = {
      labels,
      annotations,
      ...launchStage,
      template: {
        labels,
        annotations,
        containers,
        ...(volumes.length === 0 ? {} : { volumes }),
        ...identity,
        ...nodeSelector,
      },
      // One pod = one instance, always on: Worker Pools scale manually.
      scaling: { manualInstanceCount: 1 },
    };
    return { kind, id, workerPool, shape, secrets };
  }
  if (kind === "instance") {
    const instance: CloudRunInstance = {
      labels,
      annotations,
      ...launchStage,
      containers,
      ...(volumes.length === 0 ? {} : { volumes }),
      ...identity,
      ...nodeSelector,
      ingress: options.serviceIngress,
    };
    return { kind, id, instance, shape, secrets };
  }
  const service: CloudRunService = {
    labels,
    annotations,
    ingress: options.serviceIngress,
    scaling: { minInstanceCount: 1 },
    template: {
      labels,
      annotations,
      containers,
      ...(volumes.length === 0 ? {} : { volumes }),
      // One pod = one always-on instance.
      scaling: { minInstanceCount: 1, maxInstanceCount: 1 },
      ...identity,
      ...(needsGen2 ? { executionEnvironment: "EXECUTION_ENVIRONMENT_GEN2" } : {}),
      ...nodeSelector,
    },
  };
  return { kind, id, service, shape, secrets };
}

function vpcOf(options: MappingOptions): protos.google.cloud.run.v2.IVpcAccess | undefined {
  const vpc = options.vpc;
  if (vpc === undefined) return undefined;
  const egress = vpc.egress ?? "PRIVATE_RANGES_ONLY";
  if (vpc.connector !== undefined) return { connector: vpc.connector, egress };
  return {
    egress,
    networkInterfaces: [
      {
        ...(vpc.network === undefined ? {} : { network: vpc.network }),
        ...(vpc.subnetwork === undefined ? {} : { subnetwork: vpc.subnetwork }),
        ...(vpc.tags === undefined ? {} : { tags: vpc.tags }),
      },
    ],
  };
}

const FILESTORE_DRIVER = "filestore.csi.storage.gke.io";
const GCSFUSE_DRIVER = "gcsfuse.csi.storage.gke.io";

function mapVolumes(
  pod: ResolvedPod,
  versionOf: (secretId: string, index: number) => string,
  secretOf: Map<string, SecretMirror>,
): CloudVolume[] {
  const prefix = secretIdPrefix(pod.ref);
  return pod.volumes.map((volume: ResolvedVolume, i): CloudVolume => {
    const field = `spec.volumes[${i}]`;
    if (FILE_VOLUMES.has(volume.kind)) {
      const secretId = `${prefix}-v${i}-${sanitiseId(volume.name)}`;
      if (volume.files.length === 0 || !secretOf.has(secretId)) {
        // Nothing to project (e.g. an optional ConfigMap that is missing): an empty in-memory dir.
        return { name: volume.name, emptyDir: { medium: "MEMORY", sizeLimit: "1Mi" } };
      }
      return {
        name: volume.name,
        secret: {
          secret: secretId,
          items: volume.files.map((f, index) => ({
            path: f.path,
            version: versionOf(secretId, index),
            mode: f.mode,
          })),
        },
      };
    }
    if (volume.kind === "emptyDir") {
      // Cloud Run has only in-memory emptyDirs; a disk-backed one counts against memory as well.
      return {
        name: volume.name,
        emptyDir: {
          medium: "MEMORY",
          ...(volume.emptyDir?.sizeLimit === undefined ? {} : { sizeLimit: volume.emptyDir.sizeLimit }),
        },
      };
    }
    if (volume.kind === "persistentVolumeClaim") {
      const pv = volume.persistentVolume;
      if (pv === undefined)
        throw new InvalidInputError(`volume ${volume.name}: the claim is not resolved`, {
          field: `${field}.persistentVolumeClaim`,
        });
      if (pv.nfs !== undefined)
        return {
          name: volume.name,
          nfs: { server: pv.nfs.server, path: pv.nfs.path, readOnly: pv.readOnly },
        };
      if (pv.csi?.driver === FILESTORE_DRIVER) {
        const ip = pv.csi.volumeAttributes.ip;
        const share = pv.csi.volumeAttributes.volume ?? pv.csi.volumeHandle.split("/").at(-1);
        if (ip === undefined || share === undefined)
          throw new UnsupportedError(`volume ${volume.name}: Filestore PV without ip/volume attributes`, {
            field: `${field}.persistentVolumeClaim`,
          });
        return { name: volume.name, nfs: { server: ip, path: `/${share}`, readOnly: pv.readOnly } };
      }
      if (pv.csi?.driver === GCSFUSE_DRIVER) {
        return { name: volume.name, gcs: { bucket: pv.csi.volumeHandle, readOnly: pv.readOnly } };
      }
      throw new UnsupportedError(
        `volume ${volume.name}: Cloud Run mounts NFS (in-tree nfs, ${FILESTORE_DRIVER}) and Cloud Storage (${GCSFUSE_DRIVER}) volumes only`,
        { field: `${field}.persistentVolumeClaim` },
      );
    }
    throw new UnsupportedError(`volume ${volume.name}: Cloud Run has no ${volume.kind} volumes`, {
      field: `${field}.${volume.kind}`,
    });
  });
}
