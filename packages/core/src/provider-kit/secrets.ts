/**
 * Secret values of a resolved pod. Core resolves env and volumes the way the kubelet does but keeps
 * track of what came from a Secret (`ResolvedEnvVar.source`, `ResolvedFile.source`), so a provider
 * can send those values as the cloud's secure values (ACI `secureValue`, ECS `secrets`, Cloud Run
 * Secret Manager references) instead of plain text — upstream virtual kubelets flatten them, and
 * ACI then stores Secrets readable by anyone with ARM read access.
 */
import type { ResolvedContainer, ResolvedEnvVar, ResolvedPod } from "../pod-config.js";

/** One value of a pod that comes from one key of one Secret. */
export type SecretUse =
  | {
      kind: "env";
      /** The container's name. */
      container: string;
      /** True for an init container (sidecars included). */
      init: boolean;
      /** The environment variable's name. */
      env: string;
      secretName: string;
      key: string;
      value: string;
    }
  | {
      kind: "file";
      /** The volume's name in `spec.volumes`. */
      volume: string;
      /** Path relative to the volume's mount point. */
      path: string;
      secretName: string;
      key: string;
      content: Uint8Array;
    };

/**
 * Every env value and file of the pod that is one key of one Secret (`secretKeyRef`, `envFrom`
 * `secretRef`, `secret` volumes and projections), with the Secret's name and key, in container
 * then volume order. A value only partly from a Secret (`$(SECRET_VAR)` expanded into a longer
 * value) has no single key: it is not listed here, but {@link splitEnv} counts it as secret and
 * {@link secretRedactor} hides it.
 */
export function secretUses(pod: ResolvedPod): SecretUse[] {
  const uses: SecretUse[] = [];
  const containers = [
    ...pod.initContainers.map((c) => ({ c, init: true })),
    ...pod.containers.map((c) => ({ c, init: false })),
  ];
  for (const { c, init } of containers) {
    for (const env of c.env) {
      if (env.source.kind !== "secret") continue;
      uses.push({
        kind: "env",
        container: c.name,
        init,
        env: env.name,
        secretName: env.source.name,
        key: env.source.key,
        value: env.value,
      });
    }
  }
  for (const volume of pod.volumes) {
    for (const file of volume.files) {
      if (file.source?.kind !== "secret") continue;
      uses.push({
        kind: "file",
        volume: volume.name,
        path: file.path,
        secretName: file.source.name,
        key: file.source.key,
        content: file.content,
      });
    }
  }
  return uses;
}

/**
 * A container's env split into what may be sent as plain text and what must not: `secret` holds
 * every variable any part of which came from a Secret (`ResolvedEnvVar.secret`). Order is kept.
 */
export function splitEnv(container: ResolvedContainer): {
  plain: ResolvedEnvVar[];
  secret: ResolvedEnvVar[];
} {
  const plain: ResolvedEnvVar[] = [];
  const secret: ResolvedEnvVar[] = [];
  for (const env of container.env) (env.secret ? secret : plain).push(env);
  return { plain, secret };
}

/** Options of {@link secretRedactor}. */
export interface SecretRedactorOptions {
  /**
   * Values shorter than this are not replaced: hiding every `1` or `true` in a log line would
   * garble it and protect nothing. Default 4.
   */
  minLength?: number;
  /** What a value is replaced with. Default `[REDACTED]`. */
  replacement?: string;
}

/**
 * A function that replaces every secret value of the pod in a text (a cloud error message, a
 * request dump, a log line): secret env values, secret file contents, and the Secret data of
 * persistent volumes (CSI node-publish/stage Secrets, Azure File account keys). Each value is also
 * matched in base64 (clouds such as ACI take secret files base64-encoded) and, for multi-line
 * values such as PEM keys, line by line. Longer values are replaced first.
 */
export function secretRedactor(
  pod: ResolvedPod,
  options: SecretRedactorOptions = {},
): (text: string) => string {
  const minLength = options.minLength ?? 4;
  const replacement = options.replacement ?? "[REDACTED]";
  const values = new Set<string>();
  const addText = (text: string): void => {
    for (const candidate of [text, ...text.split(/\r?\n/).map((line) => line.trim())]) {
      if (candidate.length >= minLength) values.add(candidate);
    }
  };
  const addBytes = (bytes: Uint8Array): void => {
    addText(new TextDecoder().decode(bytes));
    const base64 = Buffer.from(bytes).toString("base64");
    if (base64.length >= minLength) values.add(base64);
  };

  for (const c of [...pod.initContainers, ...pod.containers]) {
    for (const env of c.env) if (env.secret) addBytes(new TextEncoder().encode(env.value));
  }
  for (const volume of pod.volumes) {
    for (const file of volume.files) if (file.secret) addBytes(file.content);
    const pv = volume.persistentVolume;
    for (const secret of [pv?.csi?.nodePublishSecret, pv?.csi?.nodeStageSecret, pv?.azureFile?.secret]) {
      for (const bytes of Object.values(secret?.data ?? {})) addBytes(bytes);
    }
  }
  const ordered = [...values].sort((a, b) => b.length - a.length);
  return (text: string): string => {
    let out = text;
    for (const value of ordered) if (out.includes(value)) out = out.split(value).join(replacement);
    return out;
  };
}
