/**
 * Mirrors Kubernetes Secret values into SSM Parameter Store (`secretMirroring.store: "ssm"`): one
 * `SecureString` parameter per value (names in `ssm-names.ts`), tagged with the owning node,
 * overwritten when the value changes, deleted (DeleteParameters, 10 names a call) when no task of
 * the node uses its Kubernetes Secret any more, and swept by tag (DescribeParameters, all pages)
 * for leftovers. PutParameter cannot take `Tags` together with `Overwrite`, so a parameter that
 * already exists is overwritten and then tagged with AddTagsToResource.
 *
 * The mirror remembers a SHA-256 of each value it wrote, never the value, to skip writes that
 * would change nothing.
 */
import { createHash } from "node:crypto";
import {
  AddTagsToResourceCommand,
  DeleteParametersCommand,
  DescribeParametersCommand,
  PutParameterCommand,
} from "@aws-sdk/client-ssm";
import type { ParameterStringFilter, SSMClient } from "@aws-sdk/client-ssm";
import type { CloudCaller } from "@virtual-node/core/provider-kit";
import { ssmParameters } from "./mapping.js";
import type { MirroredValue } from "./mapping.js";
import { MIRROR_NODE_TAG } from "./secret-mirror.js";
import type { MirrorBackend } from "./secret-mirror.js";
import { ssmGroupOf, ssmParameterArn } from "./ssm-names.js";

/** DeleteParameters takes at most 10 names (`ParameterNameList` max 10). */
export const SSM_DELETE_BATCH = 10;
/** DescribeParameters answers at most 50 a page. */
export const SSM_DESCRIBE_PAGE = 50;

/** What the SSM mirror needs besides the client. */
export interface SsmMirrorOptions {
  nodeName: string;
  tier: "Standard" | "Advanced";
  kmsKeyId?: string;
  /** Partition, Region and account of the parameters, for their ARNs. */
  where: () => Promise<{ partition: string; region: string; account: string }>;
}

function digest(value: string): string {
  return createHash("sha256").update(value, "utf8").digest("base64");
}

function cloudCode(error: unknown): string | undefined {
  return error instanceof Error ? (error as { cloudCode?: string }).cloudCode : undefined;
}

/** Keeps mirrored values in SSM Parameter Store. */
export class SsmParameterMirror implements MirrorBackend {
  /** Parameter name → SHA-256 of the value this process last wrote. */
  readonly #written = new Map<string, string>();

  constructor(
    private readonly client: SSMClient,
    private readonly call: CloudCaller,
    private readonly options: SsmMirrorOptions,
  ) {}

  get #tags(): { Key: string; Value: string }[] {
    return [{ Key: MIRROR_NODE_TAG, Value: this.options.nodeName }];
  }

  /** Writes every value (checked against the tier's size limit first); returns name → ARN. */
  async ensure(values: readonly MirroredValue[], signal: AbortSignal): Promise<Map<string, string>> {
    const parameters = ssmParameters(values, this.options.tier);
    const where = await this.options.where();
    const arns = new Map<string, string>();
    for (const [name, value] of parameters) {
      const hash = digest(value);
      const known = this.#written.get(name);
      if (known !== hash) await this.#put(name, value, known !== undefined, signal);
      this.#written.set(name, hash);
      arns.set(name, ssmParameterArn(name, where));
    }
    return arns;
  }

  async #put(name: string, value: string, exists: boolean, signal: AbortSignal): Promise<void> {
    const base = {
      Name: name,
      Value: value,
      Type: "SecureString" as const,
      Tier: this.options.tier,
      ...(this.options.kmsKeyId === undefined ? {} : { KeyId: this.options.kmsKeyId }),
    };
    if (!exists) {
      try {
        await this.call(
          "PutParameter",
          (s) =>
            this.client.send(
              new PutParameterCommand({
                ...base,
                Description: "Mirrored from Kubernetes by virtual-node (provider-fargate); do not edit",
                Tags: this.#tags,
              }),
              { abortSignal: s },
            ),
          { signal },
        );
        return;
      } catch (error) {
        // Written by an earlier run of this node: overwrite and tag it below.
        if (cloudCode(error) !== "ParameterAlreadyExists") throw error;
      }
    }
    await this.call(
      "PutParameter",
      (s) =>
        this.client.send(new PutParameterCommand({ ...base, Overwrite: true }), {
          abortSignal: s,
        }),
      { signal },
    );
    if (!exists) {
      await this.call(
        "AddTagsToResource",
        (s) =>
          this.client.send(
            new AddTagsToResourceCommand({ ResourceType: "Parameter", ResourceId: name, Tags: this.#tags }),
            { abortSignal: s },
          ),
        { signal },
      );
    }
  }

  /** Names of the node's parameters (by its tag), optionally one level under `path`; all pages. */
  async list(signal: AbortSignal, path?: string): Promise<string[]> {
    const filters: ParameterStringFilter[] = [
      { Key: `tag:${MIRROR_NODE_TAG}`, Option: "Equals", Values: [this.options.nodeName] },
      ...(path === undefined ? [] : [{ Key: "Path", Option: "OneLevel", Values: [path] }]),
    ];
    const names: string[] = [];
    let nextToken: string | undefined;
    do {
      const page = await this.call(
        "DescribeParameters",
        (s) =>
          this.client.send(
            new DescribeParametersCommand({
              ParameterFilters: filters,
              MaxResults: SSM_DESCRIBE_PAGE,
              ...(nextToken === undefined ? {} : { NextToken: nextToken }),
            }),
            { abortSignal: s },
          ),
        { signal },
      );
      for (const p of page.Parameters ?? []) if (p.Name !== undefined) names.push(p.Name);
      nextToken = page.NextToken;
    } while (nextToken !== undefined);
    return names;
  }

  /** Deletes the parameters in `names`, 10 a call (already gone is fine). */
  async delete(names: Iterable<string>, signal: AbortSignal): Promise<void> {
    const all = [...new Set(names)];
    for (let i = 0; i < all.length; i += SSM_DELETE_BATCH) {
      const batch = all.slice(i, i + SSM_DELETE_BATCH);
      // Unknown names come back as InvalidParameters, not as an error.
      await this.call(
        "DeleteParameters",
        (s) => this.client.send(new DeleteParametersCommand({ Names: batch }), { abortSignal: s }),
        { signal },
      );
      for (const name of batch) this.#written.delete(name);
    }
  }

  /**
   * Deletes every parameter of the groups: the ones this process wrote and the ones SSM lists
   * under each group's path with the node's tag (written by an earlier run).
   */
  async release(groups: Iterable<string>, signal: AbortSignal): Promise<void> {
    for (const group of new Set(groups)) {
      const names = new Set([...this.#written.keys()].filter((n) => ssmGroupOf(n) === group));
      for (const name of await this.list(signal, group)) names.add(name);
      await this.delete(names, signal);
    }
  }

  /** {@link MirrorBackend.sweep}: the node's parameters whose group no live task uses. */
  async sweep(used: ReadonlySet<string>, signal: AbortSignal): Promise<void> {
    const names = await this.list(signal);
    await this.delete(
      names.filter((n) => !used.has(ssmGroupOf(n))),
      signal,
    );
  }
}
