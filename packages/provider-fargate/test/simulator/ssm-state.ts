/**
 * SSM Parameter Store state: parameters with a value, type, tier, version and tags, enough for the
 * provider's SSM mirror (PutParameter, AddTagsToResource, DescribeParameters with tag and path
 * filters and pages, DeleteParameters) and for ECS to check a `valueFrom` parameter ARN.
 *
 * Requests reach it after the botocore SSM model (test/fixtures/ssm) validated them; on top of the
 * model it enforces what the service documents in PutParameter's `Name`, `Value`, `Tags` and
 * `Tier` members: the naming rules (characters, leading `/` for hierarchies, 15 levels, no
 * `aws`/`ssm` prefix, 1011 characters counting the ARN in front), 4 KB Standard / 8 KB Advanced
 * values, and that `Tags` and `Overwrite` cannot be combined.
 */
import type { Clock } from "@virtual-node/core";
import { SimError } from "./ecs-state.js";

type Json = Record<string, unknown>;
type Tag = { Key: string; Value: string };

interface ParameterRecord {
  name: string;
  value: string;
  type: string;
  tier: "Standard" | "Advanced";
  keyId: string | undefined;
  version: number;
  tags: Tag[];
  modified: number;
}

const ACCOUNT = "123456789012";

function validation(message: string): SimError {
  return new SimError("ValidationException", message);
}

/** The SSM Parameter Store state. */
export class SsmState {
  readonly parameters = new Map<string, ParameterRecord>();

  constructor(
    readonly clock: Clock,
    readonly region: string,
  ) {}

  arnOf(name: string): string {
    return `arn:aws:ssm:${this.region}:${ACCOUNT}:parameter${name.startsWith("/") ? name : `/${name}`}`;
  }

  #checkName(name: string): void {
    if (/[^A-Za-z0-9_.\-/]/.test(name)) {
      throw validation(
        `Parameter name: can't be prefixed with "aws" or "ssm" (case-insensitive). It must use only letters, numbers, or the following symbols: . (period), - (hyphen), _ (underscore). ${name}`,
      );
    }
    if (name.includes("/") && !name.startsWith("/")) {
      throw validation("Parameter name must be a fully qualified name.");
    }
    if (/^\/?(aws|ssm)/i.test(name)) {
      throw validation(`No access to reserved parameter name: ${name}.`);
    }
    if (name.split("/").length - 1 > 15) {
      throw new SimError(
        "HierarchyLevelLimitExceededException",
        "A hierarchy can have a maximum of 15 levels.",
      );
    }
    if (this.arnOf(name).length > 1011) {
      throw validation("Parameter name including the ARN is longer than 1011 characters.");
    }
  }

  #find(name: string): ParameterRecord {
    const byName = this.parameters.get(name);
    const found = byName ?? [...this.parameters.values()].find((p) => this.arnOf(p.name) === name);
    if (found === undefined) throw new SimError("ParameterNotFound", `Parameter ${name} not found.`);
    return found;
  }

  /** Whether an ECS `valueFrom` (a parameter ARN of this Region and account, or a name) names a parameter. */
  resolves(valueFrom: string): boolean {
    if (valueFrom.startsWith("arn:aws:secretsmanager:")) return false;
    if (
      valueFrom.startsWith("arn:") &&
      !valueFrom.startsWith(`arn:aws:ssm:${this.region}:${ACCOUNT}:parameter/`)
    ) {
      return false;
    }
    try {
      this.#find(valueFrom);
      return true;
    } catch {
      return false;
    }
  }

  /** The current value of a parameter (test helper and ECS injection). */
  valueOf(name: string): string | undefined {
    return this.parameters.get(name)?.value;
  }

  putParameter(body: Json): Json {
    const name = String(body.Name);
    const value = String(body.Value);
    const overwrite = body.Overwrite === true;
    const tags = body.Tags as Tag[] | undefined;
    if (overwrite && tags !== undefined && tags.length > 0) {
      throw validation(
        "Invalid request: tags and overwrite can't be used together. To create a parameter with tags, please remove overwrite flag. To update tags for an existing parameter, please use AddTagsToResource or RemoveTagsFromResource.",
      );
    }
    this.#checkName(name);
    const existing = this.parameters.get(name);
    const tier = (body.Tier as "Standard" | "Advanced" | undefined) ?? existing?.tier ?? "Standard";
    const limit = tier === "Advanced" ? 8192 : 4096;
    if (Buffer.byteLength(value) > limit) {
      throw validation(
        `${tier} tier parameters support a maximum parameter value of ${limit} characters. To create a larger parameter value, upgrade the parameter to use the advanced-parameter tier.`,
      );
    }
    if (existing !== undefined && !overwrite) {
      throw new SimError(
        "ParameterAlreadyExists",
        "The parameter already exists. To overwrite this value, set the overwrite option in the request to true.",
      );
    }
    if (existing !== undefined && existing.tier === "Advanced" && tier === "Standard") {
      throw validation(
        "This parameter uses the advanced-parameter tier. You can't downgrade a parameter from the advanced-parameter tier to the standard-parameter tier.",
      );
    }
    const type = (body.Type as string | undefined) ?? existing?.type ?? "String";
    const record: ParameterRecord = {
      name,
      value,
      type,
      tier,
      keyId:
        type === "SecureString"
          ? ((body.KeyId as string | undefined) ?? existing?.keyId ?? "alias/aws/ssm")
          : undefined,
      version: (existing?.version ?? 0) + 1,
      tags: existing?.tags ?? tags ?? [],
      modified: this.clock.now(),
    };
    this.parameters.set(name, record);
    return { Version: record.version, Tier: record.tier };
  }

  addTagsToResource(body: Json): Json {
    if (body.ResourceType !== "Parameter") throw validation("the simulator tags parameters only");
    const id = String(body.ResourceId);
    const parameter = this.parameters.get(id);
    if (parameter === undefined)
      throw new SimError(
        "InvalidResourceId",
        "The resource ID isn't valid. Verify that you entered the correct ID and try again.",
      );
    for (const tag of body.Tags as Tag[]) {
      parameter.tags = [...parameter.tags.filter((t) => t.Key !== tag.Key), tag];
    }
    return {};
  }

  describeParameters(body: Json): Json {
    const filters =
      (body.ParameterFilters as { Key: string; Option?: string; Values?: string[] }[] | undefined) ?? [];
    const matches = (p: ParameterRecord): boolean =>
      filters.every((f) => {
        const values = f.Values ?? [];
        if (f.Key.startsWith("tag:")) {
          const key = f.Key.slice(4);
          return p.tags.some((t) => t.Key === key && (values.length === 0 || values.includes(t.Value)));
        }
        if (f.Key === "Path") {
          const option = f.Option ?? "OneLevel";
          if (option !== "OneLevel" && option !== "Recursive")
            throw validation(
              `The following filter option is not valid: ${option}. Valid options include: [Recursive, OneLevel].`,
            );
          return values.some((v) => {
            const path = v.endsWith("/") ? v : `${v}/`;
            if (!p.name.startsWith(path)) return false;
            return option === "Recursive" || !p.name.slice(path.length).includes("/");
          });
        }
        if (f.Key === "Name") {
          const option = f.Option ?? "Equals";
          return values.some((v) => (option === "BeginsWith" ? p.name.startsWith(v) : p.name === v));
        }
        if (f.Key === "Type") return values.includes(p.type);
        if (f.Key === "Tier") return values.includes(p.tier);
        throw validation(`The simulator does not implement the ${f.Key} filter.`);
      });
    const all = [...this.parameters.values()].filter(matches).sort((a, b) => a.name.localeCompare(b.name));
    const size = (body.MaxResults as number | undefined) ?? 10;
    const start = body.NextToken === undefined ? 0 : Number(body.NextToken);
    const page = all.slice(start, start + size);
    const next = start + size < all.length ? String(start + size) : undefined;
    return {
      Parameters: page.map((p) => ({
        Name: p.name,
        ARN: this.arnOf(p.name),
        Type: p.type,
        Tier: p.tier,
        Version: p.version,
        LastModifiedDate: p.modified / 1000,
        ...(p.keyId === undefined ? {} : { KeyId: p.keyId }),
      })),
      ...(next === undefined ? {} : { NextToken: next }),
    };
  }

  deleteParameters(body: Json): Json {
    const names = body.Names as string[];
    const deleted: string[] = [];
    const invalid: string[] = [];
    for (const name of names) {
      if (this.parameters.delete(name)) deleted.push(name);
      else invalid.push(name);
    }
    return { DeletedParameters: deleted, InvalidParameters: invalid };
  }

  getParameters(body: Json): Json {
    const names = body.Names as string[];
    const found = names.filter((n) => this.parameters.has(n));
    return {
      Parameters: found.map((n) => {
        const p = this.#find(n);
        return {
          Name: p.name,
          ARN: this.arnOf(p.name),
          Type: p.type,
          Version: p.version,
          Value: body.WithDecryption === true || p.type !== "SecureString" ? p.value : "(encrypted)",
        };
      }),
      InvalidParameters: names.filter((n) => !this.parameters.has(n)),
    };
  }

  /** Tags of a parameter (test helper). */
  tagsOf(name: string): Tag[] {
    return this.#find(name).tags;
  }
}
