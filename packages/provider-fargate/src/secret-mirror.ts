/**
 * Mirrors Kubernetes Secret values into AWS Secrets Manager, so task definitions reference them
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

/** Tag on every mirror: the node that owns it. */
export const MIRROR_NODE_TAG = "virtual-node-node";

/** Keeps mirrored secrets in Secrets Manager. */
export class SecretMirror {
  readonly #docs = new Map<string, { arn: string; doc: Record<string, string>; text: string }>();

  constructor(
    private readonly client: SecretsManagerClient,
    private readonly call: CloudCaller,
    private readonly nodeName: string,
    private readonly kmsKeyId: string | undefined,
  ) {}

  /** Creates or updates each mirror with (at least) the given keys; returns mirror name → ARN. */
  async ensure(
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
