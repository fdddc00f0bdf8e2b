/**
 * Pod → ECS: the pure half of the provider that turns a resolved pod into a
 * `RegisterTaskDefinition` input and a `RunTask` input. No I/O; secrets arrive as ARNs of their
 * mirrored copies (see `secret-mirror.ts`), so the same pod always maps to the same task
 * definition, whose family is named by a hash of its content and shared by identical pods.
 */
import type {
  ContainerDefinition,
  ContainerDependency,
  HealthCheck,
  KeyValuePair,
  MountPoint,
  RegisterTaskDefinitionCommandInput,
  RunTaskCommandInput,
  Secret,
  Volume,
} from "@aws-sdk/client-ecs";
import { createHash } from "node:crypto";
import { InvalidInputError, UnsupportedError } from "@virtual-node/core";
import type {
  Container,
  ImagePullCredential,
  PodRef,
  ResolvedContainer,
  ResolvedPod,
  ResolvedVolume,
} from "@virtual-node/core";
import {
  NAME_RULES,
  cloudName,
  fitToShape,
  ownershipTags,
  parseQuantity,
  podResources,
  splitEnv,
} from "@virtual-node/core/provider-kit";
import { FargateAnnotations } from "./annotations.js";
import {
  DEFAULT_SSM_PREFIX,
  SSM_VALUE_LIMITS,
  checkSsmName,
  ssmLeaf,
  ssmPodGroup,
  ssmSecretGroup,
} from "./ssm-names.js";
import { FILE_WRITER_CONTAINER, ROLES_TAG, formatRoles } from "./roles.js";
import type { ResolvedFargateOptions } from "./options.js";
import { FARGATE_SHAPES } from "./sizes.js";
import type { FargateShape } from "./sizes.js";

/** Where the file writer mounts the file volumes. */
const FILE_ROOT = "/vn-files";
/** RegisterTaskDefinition accepts at most 64 KiB of JSON. */
export const MAX_TASK_DEFINITION_BYTES = 65_536;
/** Secrets Manager accepts at most 64 KiB per secret value. */
export const MAX_SECRET_BYTES = 65_536;
/** ECS `stopTimeout` upper bound on Fargate. */
export const MAX_STOP_TIMEOUT_SECONDS = 120;

const FILE_VOLUME_KINDS = new Set(["configMap", "secret", "projected", "downwardAPI"]);

/** One value the provider must mirror (Secrets Manager or SSM) before the task can reference it. */
export interface MirroredValue {
  /** Secrets Manager: the secret's name. SSM: the parameter's name. */
  mirror: string;
  /**
   * Secrets Manager only: key inside the secret's JSON value (`e.<key>` for env text, `f.<key>`
   * for base64 file bytes). SSM parameters hold one value each: absent.
   */
  jsonKey?: string;
  value: string;
  /** A Kubernetes Secret's mirror is shared by the node's pods; a pod mirror holds one pod's other secret values. */
  scope: { kind: "secret"; namespace: string; name: string } | { kind: "pod" };
  /** What the value is, for messages (`Secret default/db key password (env)`); never the value. */
  label: string;
  /** The pod field that uses the value, for errors. */
  field: string;
}

/** Where one secret value of a pod comes from. */
export type SecretSource =
  | { kind: "secret-env"; secret: string; key: string }
  | { kind: "secret-file"; secret: string; key: string }
  | { kind: "pod-env"; container: string; env: string }
  | { kind: "pod-file"; volume: string; path: string };

/** Where a secret value is mirrored: the mirror's name, and for Secrets Manager the JSON key. */
export interface MirrorSlot {
  mirror: string;
  jsonKey?: string;
}

/** What the pure mapping needs besides the pod. */
export interface MappingContext {
  options: ResolvedFargateOptions;
  /** Mirrored secret name → its ARN (known once mirrored). */
  secretArns: ReadonlyMap<string, string>;
}

/** The result of {@link mapPodToTask}. */
export interface FargateTaskSpec {
  /** Task definition family: `vn-<node>-<content hash>`. */
  family: string;
  taskDefinition: RegisterTaskDefinitionCommandInput;
  /** RunTask input without `taskDefinition` (the registered ARN) — everything else is here. */
  runTask: Omit<RunTaskCommandInput, "taskDefinition">;
  /** The Fargate size chosen for the task. */
  size: FargateShape;
  /** Why that size (the kit's shape-fitting reason). */
  sizeReason: string;
}

/** A Kubernetes probe. */
type Probe = NonNullable<Container["livenessProbe"]>;

type Json = string | number | boolean | null | Json[] | { [key: string]: Json };

/** JSON with sorted keys, so equal specs hash equally. */
function canonical(value: unknown): string {
  const sort = (v: unknown): Json => {
    if (Array.isArray(v)) return v.map(sort);
    if (v !== null && typeof v === "object") {
      const out: Record<string, Json> = {};
      for (const key of Object.keys(v).sort()) {
        const item = (v as Record<string, unknown>)[key];
        if (item !== undefined) out[key] = sort(item);
      }
      return out;
    }
    return v as Json;
  };
  return JSON.stringify(sort(value));
}

/** The `startedBy` marker of a node's tasks (ListTasks filters on it; ECS allows 36 characters there). */
export function startedByFor(nodeName: string): string {
  return cloudName(
    { namespace: "vn", name: nodeName, uid: nodeName },
    { maxLength: 36, alphabet: "alnum-dash-underscore", hashLength: 8 },
  );
}

/** Secrets Manager name of the mirror of Kubernetes Secret `namespace/name` for a node. */
export function secretMirrorName(prefix: string, nodeName: string, namespace: string, name: string): string {
  return (
    prefix +
    cloudName(
      { namespace, name, uid: `${nodeName}/${namespace}/${name}` },
      { maxLength: 200, alphabet: "alnum-dash-underscore", hashLength: 10 },
    )
  );
}

/** Secrets Manager name of a pod's own mirror (secret values that do not come from one Secret key). */
export function podMirrorName(prefix: string, ref: PodRef): string {
  return (
    prefix +
    cloudName(ref, { maxLength: 200, alphabet: "alnum-dash-underscore", hashLength: 10, prefix: "pod-" })
  );
}

function mirrorPrefix(options: ResolvedFargateOptions): string {
  return (
    options.secretMirroring?.prefix ??
    (options.secretMirroring?.store === "ssm" ? DEFAULT_SSM_PREFIX : "virtual-node/")
  );
}

function fileKey(volume: string, path: string): string {
  return `${volume}.${path.replace(/[^A-Za-z0-9._-]/g, "_")}`;
}

/**
 * Where one secret value of a pod is mirrored, for the configured store: Secrets Manager keeps
 * one JSON document per Kubernetes Secret (or per pod) and a key in it; SSM one parameter per
 * value. Pure: the mapping and the mirror planning both ask here, so they always agree.
 */
export function mirrorSlot(
  options: ResolvedFargateOptions,
  pod: ResolvedPod,
  source: SecretSource,
): MirrorSlot {
  const prefix = mirrorPrefix(options);
  const { namespace } = pod.ref;
  if (options.secretMirroring?.store === "ssm") {
    switch (source.kind) {
      case "secret-env":
      case "secret-file": {
        const group = ssmSecretGroup(prefix, pod.nodeName, namespace, source.secret);
        return { mirror: `${group}/${ssmLeaf(source.kind === "secret-env" ? "env" : "file", source.key)}` };
      }
      case "pod-env":
        return {
          mirror: `${ssmPodGroup(prefix, pod.nodeName, pod.ref)}/${ssmLeaf("env", source.container, source.env)}`,
        };
      case "pod-file":
        return {
          mirror: `${ssmPodGroup(prefix, pod.nodeName, pod.ref)}/${ssmLeaf("file", source.volume, source.path)}`,
        };
    }
  }
  switch (source.kind) {
    case "secret-env":
      return {
        mirror: secretMirrorName(prefix, pod.nodeName, namespace, source.secret),
        jsonKey: `e.${source.key}`,
      };
    case "secret-file":
      return {
        mirror: secretMirrorName(prefix, pod.nodeName, namespace, source.secret),
        jsonKey: `f.${source.key}`,
      };
    case "pod-env":
      return { mirror: podMirrorName(prefix, pod.ref), jsonKey: `e.${source.container}.${source.env}` };
    case "pod-file":
      return { mirror: podMirrorName(prefix, pod.ref), jsonKey: `f.${fileKey(source.volume, source.path)}` };
  }
}

/**
 * The group of mirrors of one Kubernetes Secret (or, `@pod`, of one pod's own values) that the
 * provider releases together: the Secrets Manager secret's name, or the SSM path of its
 * parameters. `secret` is a Secret name, or `<pull secret>@<hash>` for a pull login's mirror.
 */
export function mirrorGroup(
  options: ResolvedFargateOptions,
  nodeName: string,
  owner: PodRef,
  secret: string,
): string {
  const prefix = mirrorPrefix(options);
  const ssm = options.secretMirroring?.store === "ssm";
  if (secret === "@pod") {
    return ssm ? ssmPodGroup(prefix, nodeName, owner) : podMirrorName(prefix, owner);
  }
  return ssm
    ? ssmSecretGroup(prefix, nodeName, owner.namespace, secret)
    : secretMirrorName(prefix, nodeName, owner.namespace, secret);
}

const encoderBase64 = (bytes: Uint8Array): string => Buffer.from(bytes).toString("base64");

/**
 * Every secret value of the pod that must be mirrored (env from Secrets, Secret files, token
 * files, pull-secret logins), with the mirror it goes to. Empty when the pod uses no secret. With
 * the SSM store, pull logins are left out (ECS reads them from Secrets Manager only; the mapping
 * rejects a pod that needs one without `repositoryCredentials`).
 */
export function planSecretMirrors(pod: ResolvedPod, options: ResolvedFargateOptions): MirroredValue[] {
  const out: MirroredValue[] = [];
  const { namespace } = pod.ref;
  const specs = new Map<string, string>([
    ...(pod.pod.spec?.initContainers ?? []).map((c, i): [string, string] => [
      c.name,
      `spec.initContainers[${i}]`,
    ]),
    ...(pod.pod.spec?.containers ?? []).map((c, i): [string, string] => [c.name, `spec.containers[${i}]`]),
  ]);
  for (const container of [...pod.initContainers, ...pod.containers]) {
    const base = specs.get(container.name) ?? `container ${container.name}`;
    for (const env of splitEnv(container).secret) {
      const field = `${base}.env[${env.name}]`;
      if (env.source.kind === "secret") {
        const { name, key } = env.source;
        out.push({
          ...mirrorSlot(options, pod, { kind: "secret-env", secret: name, key }),
          value: env.value,
          scope: { kind: "secret", namespace, name },
          label: `Secret ${namespace}/${name} key ${key} (env ${env.name})`,
          field,
        });
      } else {
        out.push({
          ...mirrorSlot(options, pod, { kind: "pod-env", container: container.name, env: env.name }),
          value: env.value,
          scope: { kind: "pod" },
          label: `env ${env.name} of container ${container.name}`,
          field,
        });
      }
    }
  }
  pod.volumes.forEach((volume, index) => {
    if (!FILE_VOLUME_KINDS.has(volume.kind)) return;
    const field = `spec.volumes[${index}]`;
    for (const file of volume.files) {
      if (!file.secret) continue;
      const value = encoderBase64(file.content);
      if (file.source?.kind === "secret") {
        const { name, key } = file.source;
        out.push({
          ...mirrorSlot(options, pod, { kind: "secret-file", secret: name, key }),
          value,
          scope: { kind: "secret", namespace, name },
          label: `Secret ${namespace}/${name} key ${key} (file ${file.path} of volume ${volume.name}, base64)`,
          field,
        });
      } else {
        out.push({
          ...mirrorSlot(options, pod, { kind: "pod-file", volume: volume.name, path: file.path }),
          value,
          scope: { kind: "pod" },
          label: `file ${file.path} of volume ${volume.name} (base64)`,
          field,
        });
      }
    }
  });
  if (options.secretMirroring?.store === "ssm") return out;
  const pullSecrets = pod.pod.spec?.imagePullSecrets ?? [];
  for (const spec of [...(pod.pod.spec?.initContainers ?? []), ...(pod.pod.spec?.containers ?? [])]) {
    const login = spec.image === undefined ? undefined : pullLoginFor(pod, spec.image);
    // An explicitly configured credentials ARN for that pull secret wins (nothing to mirror).
    if (login === undefined || options.repositoryCredentials?.[login.secretName] !== undefined) continue;
    const mirror = pullMirrorName(options, pod, login);
    const scope = { kind: "secret" as const, namespace, name: pullMirrorKey(login) };
    const index = Math.max(
      0,
      pullSecrets.findIndex((s) => s.name === login.secretName),
    );
    const label = `pull Secret ${namespace}/${login.secretName} (${registryOf(spec.image ?? "")})`;
    const field = `spec.imagePullSecrets[${index}]`;
    out.push({ mirror, jsonKey: "username", value: login.username, scope, label, field });
    out.push({ mirror, jsonKey: "password", value: login.password, scope, label, field });
  }
  return out;
}

/**
 * The SSM parameters of planned values (name → value), each checked against the tier's size
 * limit: a larger value is an `InvalidInputError` naming the Secret key and the pod field.
 */
export function ssmParameters(
  values: readonly MirroredValue[],
  tier: "Standard" | "Advanced" = "Standard",
): Map<string, string> {
  const limit = SSM_VALUE_LIMITS[tier];
  const out = new Map<string, string>();
  for (const v of values) {
    const size = Buffer.byteLength(v.value);
    if (size > limit) {
      const more = tier === "Standard" ? ' (secretMirroring.tier "Advanced" allows 8192)' : "";
      throw new InvalidInputError(
        `${v.field}: ${v.label} is ${size} bytes; an SSM ${tier} parameter holds at most ${limit}${more}`,
        { field: v.field },
      );
    }
    checkSsmName(v.mirror, v.field);
    out.set(v.mirror, v.value);
  }
  return out;
}

/** The registry host of an image reference (`docker.io` for Docker Hub's short names). */
export function registryOf(image: string): string {
  const first = image.split("/")[0] ?? "";
  const hasHost =
    image.includes("/") && (first.includes(".") || first.includes(":") || first === "localhost");
  return hasHost ? normalizeRegistry(first) : "docker.io";
}

/** A pull-secret server (`https://index.docker.io/v1/`, `reg.example.com:5000`) as a registry host. */
function normalizeRegistry(server: string): string {
  const host = server
    .replace(/^https?:\/\//, "")
    .replace(/\/.*$/, "")
    .toLowerCase();
  return host === "index.docker.io" || host === "registry-1.docker.io" ? "docker.io" : host;
}

/** The first of the pod's pull-secret logins for the image's registry (the kubelet's keyring order). */
export function pullLoginFor(pod: ResolvedPod, image: string): ImagePullCredential | undefined {
  const registry = registryOf(image);
  return pod.imagePullSecrets?.find((login) => normalizeRegistry(login.server) === registry);
}

/**
 * The Secrets Manager mirror of one pull-secret login: its own secret, because ECS reads
 * `repositoryCredentials` as a whole secret with `username` and `password`. Named like the Secret's
 * mirror with `@<server hash>` (no Kubernetes Secret name has an `@`), so it shares its lifecycle.
 */
function pullMirrorKey(login: ImagePullCredential): string {
  const hash = createHash("sha256").update(normalizeRegistry(login.server)).digest("hex").slice(0, 8);
  return `${login.secretName}@${hash}`;
}

function pullMirrorName(
  options: ResolvedFargateOptions,
  pod: ResolvedPod,
  login: ImagePullCredential,
): string {
  return secretMirrorName(mirrorPrefix(options), pod.nodeName, pod.ref.namespace, pullMirrorKey(login));
}

/** Groups mirrored values by mirror into the JSON documents stored in Secrets Manager. */
export function mirrorDocuments(values: readonly MirroredValue[]): Map<string, Record<string, string>> {
  const docs = new Map<string, Record<string, string>>();
  const fields = new Map<string, string>();
  for (const v of values) {
    if (v.jsonKey === undefined) {
      throw new InvalidInputError(`${v.field}: ${v.label} has no Secrets Manager JSON key`, {
        field: v.field,
      });
    }
    const doc = docs.get(v.mirror) ?? {};
    doc[v.jsonKey] = v.value;
    docs.set(v.mirror, doc);
    if (!fields.has(v.mirror)) fields.set(v.mirror, v.field);
  }
  for (const [name, doc] of docs) {
    const size = Buffer.byteLength(JSON.stringify(doc));
    if (size > MAX_SECRET_BYTES) {
      const field = fields.get(name) ?? "spec.volumes";
      throw new InvalidInputError(
        `${field}: secret values mirrored to ${name} are ${size} bytes; Secrets Manager accepts at most ${MAX_SECRET_BYTES}`,
        { field },
      );
    }
  }
  return docs;
}

/**
 * The `repositoryCredentials` secret of a container: the `repositoryCredentials` option for one of
 * the pod's pull secrets, else the mirror of the pod's login for the image's registry. A login that
 * cannot reach ECS without plain text (no mirroring) rejects the pod: ECS has no plain field for it.
 */
function repositoryCredentialsOf(
  pod: ResolvedPod,
  image: string | undefined,
  ctx: MappingContext,
  field: string,
): string | undefined {
  const configured = (pod.pod.spec?.imagePullSecrets ?? [])
    .map((s) => (s.name === undefined ? undefined : ctx.options.repositoryCredentials?.[s.name]))
    .find((arn) => arn !== undefined);
  if (configured !== undefined) return configured;
  const login = image === undefined ? undefined : pullLoginFor(pod, image);
  if (login === undefined) return undefined;
  const index = (pod.pod.spec?.imagePullSecrets ?? []).findIndex((s) => s.name === login.secretName);
  if (ctx.options.secretMirroring?.store === "ssm") {
    return invalid(
      `spec.imagePullSecrets[${String(Math.max(0, index))}]`,
      `the login for ${registryOf(image ?? "")} (Secret ${login.secretName}, used by ${field}) cannot be mirrored to SSM: ECS reads repositoryCredentials from Secrets Manager only; set repositoryCredentials.${login.secretName} to a Secrets Manager secret ARN`,
    );
  }
  const arn = ctx.secretArns.get(pullMirrorName(ctx.options, pod, login));
  if (arn !== undefined) return arn;
  return invalid(
    `spec.imagePullSecrets[${String(Math.max(0, index))}]`,
    `the login for ${registryOf(image ?? "")} (Secret ${login.secretName}, used by ${field}) reaches ECS only through Secrets Manager: set secretMirroring, or repositoryCredentials.${login.secretName} to a secret ARN`,
  );
}

function reject(field: string, message: string): never {
  throw new UnsupportedError(`${field}: ${message}`, { field });
}

function invalid(field: string, message: string): never {
  throw new InvalidInputError(`${field}: ${message}`, { field });
}

function clamp(value: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, value));
}

/** An exec probe as an ECS container health check. */
export function healthCheckOf(probe: Probe): HealthCheck | undefined {
  const command = probe.exec?.command;
  if (command === undefined || command.length === 0) return undefined;
  return {
    command: ["CMD", ...command],
    interval: clamp(probe.periodSeconds ?? 10, 5, 300),
    timeout: clamp(probe.timeoutSeconds ?? 1, 2, 60),
    retries: clamp(probe.failureThreshold ?? 3, 1, 10),
    startPeriod: clamp(probe.initialDelaySeconds ?? 0, 0, 300),
  };
}

function quantityOf(value: string | number | undefined, field: string): number | undefined {
  if (value === undefined) return undefined;
  try {
    return parseQuantity(value);
  } catch (cause) {
    throw new InvalidInputError(`${field}: ${String(value)} is not a quantity`, { field, cause });
  }
}

/**
 * Where a secret value comes from: Secrets Manager, the mirror's ARN with its JSON key
 * (`arn:…:key::`); SSM, the parameter's ARN.
 */
function valueFrom(ctx: MappingContext, slot: MirrorSlot, field: string): string {
  const arn = ctx.secretArns.get(slot.mirror);
  if (arn === undefined) {
    invalid(
      field,
      "uses a Secret, and the Fargate provider has no secretMirroring configured " +
        "(Secret values are never put into a task definition as plain text)",
    );
  }
  return slot.jsonKey === undefined ? arn : `${arn}:${slot.jsonKey}::`;
}

function shellQuote(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

interface FileWriter {
  container: ContainerDefinition;
}

/** The init container that writes file volumes into their bind mounts before the app starts. */
function fileWriter(
  pod: ResolvedPod,
  volumes: ResolvedVolume[],
  ctx: MappingContext,
): FileWriter | undefined {
  const environment: KeyValuePair[] = [];
  const secrets: Secret[] = [];
  const lines = ["set -e"];
  let n = 0;
  volumes.forEach((volume) => {
    const root = `${FILE_ROOT}/${volume.name}`;
    lines.push(`mkdir -p ${shellQuote(root)}`);
    for (const file of volume.files) {
      if (file.path.split("/").includes(".."))
        invalid(`spec.volumes[${volume.name}]`, `file path ${file.path} leaves the volume`);
      const variable = `VN_FILE_${n++}`;
      const target = `${root}/${file.path}`;
      const dir = target.slice(0, target.lastIndexOf("/"));
      if (file.secret) {
        const field = `spec.volumes[${volume.name}]`;
        const slot = mirrorSlot(
          ctx.options,
          pod,
          file.source?.kind === "secret"
            ? { kind: "secret-file", secret: file.source.name, key: file.source.key }
            : { kind: "pod-file", volume: volume.name, path: file.path },
        );
        if (ctx.secretArns.get(slot.mirror) === undefined && ctx.options.allowPlainTextSecrets === true) {
          environment.push({ name: variable, value: encoderBase64(file.content) });
        } else {
          secrets.push({ name: variable, valueFrom: valueFrom(ctx, slot, field) });
        }
      } else {
        environment.push({ name: variable, value: encoderBase64(file.content) });
      }
      lines.push(`mkdir -p ${shellQuote(dir)}`);
      lines.push(`printf '%s' "$${variable}" | base64 -d > ${shellQuote(target)}`);
      lines.push(`chmod ${(file.mode & 0o777).toString(8)} ${shellQuote(target)}`);
    }
  });
  if (volumes.length === 0) return undefined;
  const container: ContainerDefinition = {
    name: FILE_WRITER_CONTAINER,
    image: ctx.options.fileWriterImage,
    essential: false,
    entryPoint: ["sh", "-c"],
    command: [lines.join("\n")],
    mountPoints: volumes.map((v) => ({
      sourceVolume: v.name,
      containerPath: `${FILE_ROOT}/${v.name}`,
      readOnly: false,
    })),
    ...(environment.length > 0 ? { environment } : {}),
    ...(secrets.length > 0 ? { secrets } : {}),
  };
  return { container };
}

/** `fs-id[:path[:accessPointId]]` of an EFS CSI volume handle. */
export function parseEfsVolumeHandle(
  handle: string,
): { fileSystemId: string; path?: string; accessPointId?: string } | undefined {
  const [fileSystemId, path, accessPointId] = handle.split(":");
  if (fileSystemId === undefined || !/^fs-[0-9a-f]+$/.test(fileSystemId)) return undefined;
  return {
    fileSystemId,
    ...(path !== undefined && path !== "" ? { path } : {}),
    ...(accessPointId !== undefined && accessPointId !== "" ? { accessPointId } : {}),
  };
}

function taskVolume(volume: ResolvedVolume, index: number): Volume {
  if (volume.kind === "emptyDir" || FILE_VOLUME_KINDS.has(volume.kind)) return { name: volume.name };
  const field = `spec.volumes[${index}].${volume.kind}`;
  if (volume.kind !== "persistentVolumeClaim")
    reject(field, `volume kind ${volume.kind} is not supported on Fargate`);
  const pv = volume.persistentVolume;
  if (pv?.csi?.driver !== "efs.csi.aws.com") {
    const driver = pv?.csi?.driver ?? (pv?.nfs ? "nfs" : pv?.azureFile ? "azureFile" : "unknown");
    reject(
      field,
      `PersistentVolume ${pv?.volumeName ?? "?"} uses ${driver}; Fargate mounts only EFS (efs.csi.aws.com)`,
    );
  }
  const parsed = parseEfsVolumeHandle(pv.csi.volumeHandle);
  if (parsed === undefined) {
    invalid(field, `EFS volume handle ${pv.csi.volumeHandle} is not fs-id[:path[:accessPointId]]`);
  }
  return {
    name: volume.name,
    efsVolumeConfiguration: {
      fileSystemId: parsed.fileSystemId,
      // With an access point, the access point's root applies; ECS wants rootDirectory omitted or "/".
      ...(parsed.accessPointId === undefined ? { rootDirectory: parsed.path ?? "/" } : {}),
      transitEncryption: "ENABLED",
      authorizationConfig: {
        iam: "ENABLED",
        ...(parsed.accessPointId === undefined ? {} : { accessPointId: parsed.accessPointId }),
      },
    },
  };
}

function capabilitiesOf(
  container: Container,
  field: string,
): { add?: string[]; drop?: string[] } | undefined {
  const caps = container.securityContext?.capabilities;
  if (caps === undefined) return undefined;
  const norm = (c: string): string => c.toUpperCase().replace(/^CAP_/, "");
  const add = (caps.add ?? []).map(norm);
  for (const cap of add) {
    if (cap !== "SYS_PTRACE")
      reject(
        `${field}.securityContext.capabilities.add`,
        `Fargate allows adding only SYS_PTRACE, not ${cap}`,
      );
  }
  const drop = (caps.drop ?? []).map(norm);
  return { ...(add.length > 0 ? { add } : {}), ...(drop.length > 0 ? { drop } : {}) };
}

interface ContainerInput {
  spec: Container;
  resolved: ResolvedContainer;
  field: string;
  kind: "init" | "sidecar" | "app";
}

function containerDefinition(
  pod: ResolvedPod,
  input: ContainerInput,
  ctx: MappingContext,
  volumeKinds: Map<string, string>,
): ContainerDefinition {
  const { spec, resolved, field } = input;
  if (spec.image === undefined || spec.image === "") invalid(`${field}.image`, "is required");
  const sc = spec.securityContext;
  const podSc = pod.pod.spec?.securityContext;
  if (sc?.privileged === true)
    reject(`${field}.securityContext.privileged`, "Fargate does not run privileged containers");
  const { plain, secret } = splitEnv(resolved);
  const environment: KeyValuePair[] = plain.map((e) => ({ name: e.name, value: e.value }));
  const secrets: Secret[] = [];
  for (const env of secret) {
    const slot = mirrorSlot(
      ctx.options,
      pod,
      env.source.kind === "secret"
        ? { kind: "secret-env", secret: env.source.name, key: env.source.key }
        : { kind: "pod-env", container: resolved.name, env: env.name },
    );
    if (ctx.secretArns.get(slot.mirror) === undefined && ctx.options.allowPlainTextSecrets === true) {
      environment.push({ name: env.name, value: env.value });
    } else {
      secrets.push({ name: env.name, valueFrom: valueFrom(ctx, slot, `${field}.env[${env.name}]`) });
    }
  }
  const ports = (spec.ports ?? []).map((p, i) => {
    const protocol = (p.protocol ?? "TCP").toLowerCase();
    if (protocol !== "tcp" && protocol !== "udp")
      reject(`${field}.ports[${i}].protocol`, `${p.protocol ?? ""} is not supported`);
    const transport: "tcp" | "udp" = protocol === "udp" ? "udp" : "tcp";
    return { containerPort: p.containerPort, hostPort: p.containerPort, protocol: transport };
  });
  const mountPoints: MountPoint[] = (spec.volumeMounts ?? []).map((m, i) => {
    if (m.subPath !== undefined && m.subPath !== "")
      reject(`${field}.volumeMounts[${i}].subPath`, "ECS bind mounts cannot mount a sub-path");
    if (!volumeKinds.has(m.name)) invalid(`${field}.volumeMounts[${i}].name`, `no volume ${m.name}`);
    const readOnly = m.readOnly === true || FILE_VOLUME_KINDS.has(volumeKinds.get(m.name) ?? "");
    return { sourceVolume: m.name, containerPath: m.mountPath, readOnly };
  });
  const user = sc?.runAsUser ?? podSc?.runAsUser;
  const group = sc?.runAsGroup ?? podSc?.runAsGroup;
  const limits = spec.resources?.limits ?? {};
  const requests = spec.resources?.requests ?? {};
  const cpuCores = quantityOf(limits.cpu, `${field}.resources.limits.cpu`);
  const memLimit = quantityOf(limits.memory, `${field}.resources.limits.memory`);
  const memRequest = quantityOf(requests.memory, `${field}.resources.requests.memory`);
  const caps = capabilitiesOf(spec, field);
  const probe = spec.livenessProbe ?? spec.readinessProbe;
  const healthCheck = probe === undefined ? undefined : healthCheckOf(probe);
  const grace = pod.pod.spec?.terminationGracePeriodSeconds ?? 30;
  const repository = repositoryCredentialsOf(pod, spec.image, ctx, field);
  const logs = ctx.options.logGroup;
  return {
    name: resolved.name,
    image: spec.image,
    essential: input.kind === "app",
    ...(resolved.command === undefined ? {} : { entryPoint: resolved.command }),
    ...(resolved.args === undefined ? {} : { command: resolved.args }),
    ...(spec.workingDir === undefined ? {} : { workingDirectory: spec.workingDir }),
    ...(ports.length > 0 ? { portMappings: ports } : {}),
    ...(environment.length > 0 ? { environment } : {}),
    ...(secrets.length > 0 ? { secrets } : {}),
    ...(mountPoints.length > 0 ? { mountPoints } : {}),
    ...(user === undefined ? {} : { user: group === undefined ? String(user) : `${user}:${group}` }),
    ...(sc?.readOnlyRootFilesystem === undefined
      ? {}
      : { readonlyRootFilesystem: sc.readOnlyRootFilesystem }),
    ...(caps === undefined ? {} : { linuxParameters: { capabilities: caps } }),
    // Init containers share the task's size with the app (they do not run at the same time), so
    // only running-together containers get hard limits that ECS sums against the task size.
    ...(input.kind !== "init" && cpuCores !== undefined ? { cpu: Math.ceil(cpuCores * 1024) } : {}),
    ...(input.kind !== "init" && memLimit !== undefined ? { memory: Math.ceil(memLimit / 2 ** 20) } : {}),
    ...(input.kind !== "init" &&
    memRequest !== undefined &&
    (memLimit === undefined || memRequest <= memLimit)
      ? { memoryReservation: Math.ceil(memRequest / 2 ** 20) }
      : {}),
    ...(healthCheck === undefined ? {} : { healthCheck }),
    stopTimeout: clamp(grace, 0, MAX_STOP_TIMEOUT_SECONDS),
    ...(repository === undefined ? {} : { repositoryCredentials: { credentialsParameter: repository } }),
    ...(logs === undefined
      ? {}
      : {
          logConfiguration: {
            logDriver: "awslogs",
            options: {
              "awslogs-group": logs,
              "awslogs-region": ctx.options.region ?? "us-east-1",
              "awslogs-stream-prefix": ctx.options.logStreamPrefix,
              ...(ctx.options.createLogGroup === true ? { "awslogs-create-group": "true" } : {}),
            },
          },
        }),
  };
}

function ephemeralStorageGiB(pod: ResolvedPod): number | undefined {
  let total = 0;
  const spec = pod.pod.spec;
  (spec?.containers ?? []).forEach((c, i) => {
    const field = `spec.containers[${i}].resources`;
    const value = Math.max(
      quantityOf(c.resources?.requests?.["ephemeral-storage"], `${field}.requests.ephemeral-storage`) ?? 0,
      quantityOf(c.resources?.limits?.["ephemeral-storage"], `${field}.limits.ephemeral-storage`) ?? 0,
    );
    total += value;
  });
  if (total === 0) return undefined;
  const gib = Math.ceil(total / 2 ** 30);
  if (gib > 200) {
    reject(
      "spec.containers[].resources.ephemeral-storage",
      `${gib} GiB asked; Fargate offers at most 200 GiB`,
    );
  }
  // Fargate gives 20 GiB by default; asking means 21..200.
  return gib <= 20 ? undefined : Math.max(21, gib);
}

/**
 * Maps a resolved pod to the ECS task definition and RunTask inputs. Pure. Throws
 * `UnsupportedError` (with `field`) for what Fargate cannot run and `InvalidInputError` for
 * impossible values (sizes, a Secret without mirroring, oversized file content).
 */
export function mapPodToTask(pod: ResolvedPod, ctx: MappingContext): FargateTaskSpec {
  const spec = pod.pod.spec;
  if (spec === undefined || pod.containers.length === 0 || spec.containers.length === 0) {
    invalid("spec.containers", "a pod needs at least one container");
  }
  if (spec.hostNetwork === true) reject("spec.hostNetwork", "Fargate tasks have their own network (awsvpc)");
  if (spec.hostPID === true) reject("spec.hostPID", "Fargate does not share the host PID namespace");
  if (spec.hostIPC === true) reject("spec.hostIPC", "Fargate does not share the host IPC namespace");
  const options = ctx.options;

  // Resources → a Fargate size through the kit's shape fitting.
  const fit = fitToShape(podResources(pod.pod), FARGATE_SHAPES, {
    use: "max",
    defaults: { cpu: 0.25, memory: 512 * 2 ** 20 },
  });
  if (!fit.ok) invalid("spec.containers[].resources", `no Fargate task size fits: ${fit.reason}`);
  const size = fit.shape as FargateShape;

  const volumeKinds = new Map(pod.volumes.map((v) => [v.name, v.kind]));
  const fileVolumes = pod.volumes.filter((v) => FILE_VOLUME_KINDS.has(v.kind));
  const volumes = pod.volumes.map((v, i) => taskVolume(v, i));
  const writer = fileWriter(pod, fileVolumes, ctx);

  const resolvedByName = new Map([...pod.initContainers, ...pod.containers].map((c) => [c.name, c]));
  const take = (c: Container, field: string, kind: ContainerInput["kind"]): ContainerInput => {
    const resolved = resolvedByName.get(c.name);
    if (resolved === undefined) invalid(field, `container ${c.name} was not resolved`);
    return { spec: c, resolved, field, kind };
  };
  const inits = (spec.initContainers ?? []).map((c, i) =>
    take(c, `spec.initContainers[${i}]`, c.restartPolicy === "Always" ? "sidecar" : "init"),
  );
  const apps = spec.containers.map((c, i) => take(c, `spec.containers[${i}]`, "app"));
  for (const c of [...inits, ...apps]) {
    if (c.spec.name === FILE_WRITER_CONTAINER)
      invalid(`${c.field}.name`, `${FILE_WRITER_CONTAINER} is reserved`);
  }

  // Init containers run in order (each waits for the previous to succeed); sidecars start and stay.
  const definitions: ContainerDefinition[] = [];
  let previous: ContainerDependency[] = [];
  if (writer !== undefined) {
    definitions.push(writer.container);
    previous = [{ containerName: FILE_WRITER_CONTAINER, condition: "SUCCESS" }];
  }
  const sidecars: ContainerDependency[] = [];
  for (const init of inits) {
    const def = containerDefinition(pod, init, ctx, volumeKinds);
    const dependsOn = [...previous, ...sidecars];
    definitions.push(dependsOn.length > 0 ? { ...def, dependsOn } : def);
    if (init.kind === "sidecar") {
      sidecars.push({
        containerName: def.name ?? "",
        condition: def.healthCheck === undefined ? "START" : "HEALTHY",
      });
    } else {
      previous = [{ containerName: def.name ?? "", condition: "SUCCESS" }];
    }
  }
  for (const app of apps) {
    const def = containerDefinition(pod, app, ctx, volumeKinds);
    const dependsOn = [...previous, ...sidecars];
    definitions.push(dependsOn.length > 0 ? { ...def, dependsOn } : def);
  }

  const annotations = pod.pod.metadata?.annotations ?? {};
  const taskRoleArn = annotations[FargateAnnotations.taskRoleArn] ?? options.taskRoleArn;
  const storage = ephemeralStorageGiB(pod);
  const userTags = Object.entries(options.tags ?? {}).map(([key, value]) => ({ key, value }));
  const content: Omit<RegisterTaskDefinitionCommandInput, "family"> = {
    networkMode: "awsvpc",
    requiresCompatibilities: ["FARGATE"],
    cpu: String(size.cpuUnits),
    memory: String(size.memoryMiB),
    runtimePlatform: { cpuArchitecture: options.cpuArchitecture, operatingSystemFamily: "LINUX" },
    containerDefinitions: definitions,
    ...(volumes.length > 0 ? { volumes } : {}),
    ...(options.executionRoleArn === undefined ? {} : { executionRoleArn: options.executionRoleArn }),
    ...(taskRoleArn === undefined ? {} : { taskRoleArn }),
    ...(storage === undefined ? {} : { ephemeralStorage: { sizeInGiB: storage } }),
  };
  const family = cloudName(
    { namespace: "vn", name: pod.nodeName, uid: canonical(content) },
    { ...NAME_RULES.ecsTaskDefinitionFamily, hashLength: 20 },
  );
  const taskDefinition: RegisterTaskDefinitionCommandInput = {
    family,
    ...content,
    tags: [{ key: "virtual-node-node", value: pod.nodeName }, ...userTags],
  };
  const bytes = Buffer.byteLength(JSON.stringify(taskDefinition));
  if (bytes > MAX_TASK_DEFINITION_BYTES) {
    invalid(
      "spec.volumes",
      `the task definition is ${bytes} bytes (ConfigMap and downward API files travel in it); ECS accepts at most ${MAX_TASK_DEFINITION_BYTES}`,
    );
  }

  const chosen = annotations[FargateAnnotations.capacityProvider];
  if (chosen !== undefined && chosen !== "FARGATE" && chosen !== "FARGATE_SPOT") {
    invalid(
      `metadata.annotations[${FargateAnnotations.capacityProvider}]`,
      "must be FARGATE or FARGATE_SPOT",
    );
  }
  const strategy =
    chosen !== undefined
      ? [{ capacityProvider: chosen, weight: 1 }]
      : (options.capacityProviderStrategy ?? []);
  const roles = formatRoles({
    init: inits.filter((c) => c.kind === "init").map((c) => c.resolved.name),
    sidecar: inits.filter((c) => c.kind === "sidecar").map((c) => c.resolved.name),
    health: definitions.filter((d) => d.healthCheck !== undefined).map((d) => d.name ?? ""),
  });
  const marks = { ...options.tags, ...ownershipTags(pod.ref, pod.nodeName), [ROLES_TAG]: roles };
  const tags = Object.entries(marks).map(([key, value]) => ({
    key,
    value,
  }));
  const runTask: Omit<RunTaskCommandInput, "taskDefinition"> = {
    cluster: options.cluster,
    count: 1,
    startedBy: startedByFor(pod.nodeName),
    // Same pod and same task definition → same token: a retried RunTask never starts a second task.
    clientToken: `${pod.ref.uid}-${family.slice(-20)}`.slice(0, 64),
    tags,
    platformVersion: options.platformVersion,
    networkConfiguration: {
      awsvpcConfiguration: {
        subnets: [...options.subnets],
        ...(options.securityGroups === undefined ? {} : { securityGroups: [...options.securityGroups] }),
        assignPublicIp: options.assignPublicIp === true ? "ENABLED" : "DISABLED",
      },
    },
    ...(strategy.length > 0
      ? { capacityProviderStrategy: strategy.map((s) => ({ ...s })) }
      : { launchType: "FARGATE" as const }),
  };
  return { family, taskDefinition, runTask, size, sizeReason: fit.reason };
}
