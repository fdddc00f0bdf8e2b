/**
 * Secrets Manager state: secrets with a current string value and tags, enough for the provider's
 * mirroring (create, put, describe, list by tag, delete) and for ECS to check `valueFrom`.
 */
import { randomBytes } from "node:crypto";
import type { Clock } from "@virtual-node/core";
import { SimError } from "./ecs-state.js";

type Json = Record<string, unknown>;

interface SecretRecord {
  arn: string;
  name: string;
  value: string | undefined;
  tags: { Key: string; Value: string }[];
  versions: number;
  deletedAt?: number;
}

/** The Secrets Manager service state. */
export class SecretsState {
  readonly secrets = new Map<string, SecretRecord>();

  constructor(
    readonly clock: Clock,
    readonly region: string,
  ) {}

  #find(id: string): SecretRecord {
    const byName = this.secrets.get(id);
    const found = byName ?? [...this.secrets.values()].find((s) => s.arn === id);
    if (found === undefined || found.deletedAt !== undefined) {
      throw new SimError("ResourceNotFoundException", "Secrets Manager can't find the specified secret.");
    }
    return found;
  }

  /** Whether an ECS `valueFrom` (a secret ARN, optionally `:jsonKey::`) names a live secret (and key). */
  resolves(valueFrom: string): boolean {
    const match = /^(arn:aws:secretsmanager:[^:]+:\d+:secret:[^:]+)(?::([^:]*):([^:]*):([^:]*))?$/.exec(
      valueFrom,
    );
    if (match?.[1] === undefined) return false;
    try {
      const secret = this.#find(match[1]);
      const key = match[2];
      if (key === undefined || key === "") return true;
      const parsed = JSON.parse(secret.value ?? "{}") as Record<string, unknown>;
      return key in parsed;
    } catch {
      return false;
    }
  }

  /** The current value of a secret (test helper and ECS injection). */
  valueOf(id: string): string | undefined {
    return this.#find(id).value;
  }

  createSecret(body: Json): Json {
    const name = String(body.Name);
    const existing = this.secrets.get(name);
    if (existing !== undefined && existing.deletedAt === undefined) {
      throw new SimError(
        "ResourceExistsException",
        `The operation failed because the secret ${name} already exists.`,
      );
    }
    const arn = `arn:aws:secretsmanager:${this.region}:123456789012:secret:${name}-${randomBytes(3).toString("hex")}`;
    const record: SecretRecord = {
      arn,
      name,
      value: body.SecretString as string | undefined,
      tags: (body.Tags as { Key: string; Value: string }[] | undefined) ?? [],
      versions: body.SecretString === undefined ? 0 : 1,
    };
    this.secrets.set(name, record);
    return { ARN: arn, Name: name, VersionId: `v${record.versions}` };
  }

  putSecretValue(body: Json): Json {
    const secret = this.#find(String(body.SecretId));
    secret.value = body.SecretString as string | undefined;
    secret.versions++;
    return { ARN: secret.arn, Name: secret.name, VersionId: `v${secret.versions}` };
  }

  describeSecret(body: Json): Json {
    const secret = this.#find(String(body.SecretId));
    return { ARN: secret.arn, Name: secret.name, Tags: secret.tags };
  }

  getSecretValue(body: Json): Json {
    const secret = this.#find(String(body.SecretId));
    return {
      ARN: secret.arn,
      Name: secret.name,
      SecretString: secret.value,
      VersionId: `v${secret.versions}`,
    };
  }

  listSecrets(body: Json): Json {
    const filters = (body.Filters as { Key: string; Values: string[] }[] | undefined) ?? [];
    const list = [...this.secrets.values()].filter(
      (s) =>
        s.deletedAt === undefined &&
        filters.every((f) => {
          if (f.Key === "tag-key") return s.tags.some((t) => f.Values.includes(t.Key));
          if (f.Key === "tag-value") return s.tags.some((t) => f.Values.includes(t.Value));
          if (f.Key === "name") return f.Values.some((v) => s.name.startsWith(v));
          return true;
        }),
    );
    return { SecretList: list.map((s) => ({ ARN: s.arn, Name: s.name, Tags: s.tags })) };
  }

  deleteSecret(body: Json): Json {
    const secret = this.#find(String(body.SecretId));
    secret.deletedAt = this.clock.now();
    if (body.ForceDeleteWithoutRecovery === true) this.secrets.delete(secret.name);
    return { ARN: secret.arn, Name: secret.name, DeletionDate: this.clock.now() / 1000 };
  }

  /** Live secrets (test helper). */
  live(): SecretRecord[] {
    return [...this.secrets.values()].filter((s) => s.deletedAt === undefined);
  }
}
