/**
 * Mirrors Kubernetes Secret values into AWS Secrets Manager (the SSM Parameter Store mirror is
 * `ssm-mirror.ts`), so task definitions reference them
 * by ARN (`secrets[].valueFrom`) and never carry them as plain text. One Secrets Manager secret
 * per Kubernetes Secret and node (a JSON document of the keys pods use), plus one per pod for
 * secret values that are not one Secret key (service-account tokens). Values are updated on
 * each create; a mirror is deleted once no task of the node uses it.
 */
import {
  CreateSecretCommand,
  DeleteSecretCommand,
  DescribeSecretCommand,
  ListSecretsCommand,
  PutSecretValueCommand,
} from "@aws-sdk/client-secrets-manager";
import type { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { errorCode } from "@virtual-node/core";
import type { CloudCaller } from "@virtual-node/core/provider-kit";
import { mirrorDocuments } from "./mapping.js";
import type { MirroredValue } from "./mapping.js";

/** Tag on every mirror: the node that owns it. */
export const MIRROR_NODE_TAG = "virtual-node-node";

/**
 * A store of mirrored secret values (Secrets Manager or SSM Parameter Store), as the provider
 * uses it. A *group* is what the provider releases at once: every mirror of one Kubernetes
 * Secret (or of one pod's own values) for the node — see `mirrorGroup` in the mapping.
 */
export interface MirrorBackend {
  /** Writes (creates or updates) the values; returns mirror name → ARN for the mapping. */
  ensure(values: readonly MirroredValue[], signal: AbortSignal): Promise<Map<string, string>>;
  /** Deletes every mirror of these groups (already gone is fine). */
  release(groups: Iterable<string>, signal: AbortSignal): Promise<void>;
  /** Deletes every mirror the node owns (by its tag) whose group is not in `used`. */
  sweep(used: ReadonlySet<string>, signal: AbortSignal): Promise<void>;
}

/** Keeps mirrored secrets in Secrets Manager: one secret (a JSON document) per group. */
export class SecretMirror implements MirrorBackend {
  readonly #docs = new Map<string, { arn: string; doc: Record<string, string>; text: string }>();

  constructor(
    private readonly client: SecretsManagerClient,
    private readonly call: CloudCaller,
    private readonly nodeName: string,
    private readonly kmsKeyId: string | undefined,
  ) {}

  /** {@link MirrorBackend.ensure}: the values grouped into one JSON document per secret. */
  ensure(values: readonly MirroredValue[], signal: AbortSignal): Promise<Map<string, string>> {
    return this.ensureDocuments(mirrorDocuments(values), signal);
  }

  /** {@link MirrorBackend.release}: a group is one secret. */
  release(groups: Iterable<string>, signal: AbortSignal): Promise<void> {
    return this.delete(groups, signal);
  }

  /** {@link MirrorBackend.sweep}. */
  async sweep(used: ReadonlySet<string>, signal: AbortSignal): Promise<void> {
    const names = await this.list(signal);
    await this.delete(
      names.filter((n) => !used.has(n)),
      signal,
    );
  }

  /** Creates or updates each mirror with (at least) the given keys; returns mirror name → ARN. */
  async ensureDocuments(
    docs: ReadonlyMap<string, Record<string, string>>,
    signal: AbortSignal,
  ): Promise<Map<string, string>> {
    const arns = new Map<string, string>();
    for (const [name, doc] of docs) {
      const known = this.#docs.get(name);
      // Keys other pods of the node use stay; this pod's values are the freshest.
      const merged = { ...known?.doc, ...doc };
      const text = JSON.stringify(merged);
      if (known !== undefined && known.text === text) {
        arns.set(name, known.arn);
        continue;
      }
      const arn = await this.#write(name, text, known?.arn, signal);
      this.#docs.set(name, { arn, doc: merged, text });
      arns.set(name, arn);
    }
    return arns;
  }

  async #write(
    name: string,
    text: string,
    knownArn: string | undefined,
    signal: AbortSignal,
  ): Promise<string> {
    if (knownArn === undefined) {
      try {
        const created = await this.call(
          "CreateSecret",
          (s) =>
            this.client.send(
              new CreateSecretCommand({
                Name: name,
                SecretString: text,
                Description: "Mirrored from Kubernetes by virtual-node (provider-fargate); do not edit",
                Tags: [{ Key: MIRROR_NODE_TAG, Value: this.nodeName }],
                ...(this.kmsKeyId === undefined ? {} : { KmsKeyId: this.kmsKeyId }),
              }),
              { abortSignal: s },
            ),
          { signal },
        );
        if (created.ARN !== undefined) return created.ARN;
      } catch (error) {
        // Exists already (an earlier run of this node): update it below.
        if (!(
          error instanceof Error && (error as { cloudCode?: string }).cloudCode === "ResourceExistsException"
        )) {
          throw error;
        }
      }
    }
    const put = await this.call(
      "PutSecretValue",
      (s) =>
        this.client.send(new PutSecretValueCommand({ SecretId: knownArn ?? name, SecretString: text }), {
          abortSignal: s,
        }),
      { signal },
    );
    if (put.ARN !== undefined) return put.ARN;
    const described = await this.call(
      "DescribeSecret",
      (s) => this.client.send(new DescribeSecretCommand({ SecretId: name }), { abortSignal: s }),
      { signal },
    );
    return described.ARN ?? name;
  }

  /** Names of every mirror this node owns (by its tag), all pages. */
  async list(signal: AbortSignal): Promise<string[]> {
    const names: string[] = [];
    let nextToken: string | undefined;
    do {
      const page = await this.call(
        "ListSecrets",
        (s) =>
          this.client.send(
            new ListSecretsCommand({
              Filters: [
                { Key: "tag-key", Values: [MIRROR_NODE_TAG] },
                { Key: "tag-value", Values: [this.nodeName] },
              ],
              MaxResults: 100,
              ...(nextToken === undefined ? {} : { NextToken: nextToken }),
            }),
            { abortSignal: s },
          ),
        { signal },
      );
      for (const secret of page.SecretList ?? []) if (secret.Name !== undefined) names.push(secret.Name);
      nextToken = page.NextToken;
    } while (nextToken !== undefined);
    return names;
  }

  /** Deletes the mirrors in `names` (already gone is fine). */
  async delete(names: Iterable<string>, signal: AbortSignal): Promise<void> {
    for (const name of names) {
      this.#docs.delete(name);
      try {
        await this.call(
          "DeleteSecret",
          (s) =>
            this.client.send(new DeleteSecretCommand({ SecretId: name, ForceDeleteWithoutRecovery: true }), {
              abortSignal: s,
            }),
          { signal },
        );
      } catch (error) {
        if (errorCode(error) !== "VN_NOT_FOUND") throw error;
      }
    }
  }
}
