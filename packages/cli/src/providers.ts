/**
 * From a node's `provider` config to a `Provider`: a built-in picked by name (its package imported
 * only when used, so an agent image needs only the providers it runs), or a factory exported by a
 * module, so provider authors run their own providers in the same agent.
 */
import { isAbsolute, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { InvalidInputError, type Logger, type Provider } from "@virtual-node/core";
import type { Registry } from "prom-client";
import type * as AciPackage from "@virtual-node/provider-aci";
import type * as CloudRunPackage from "@virtual-node/provider-cloudrun";
import type * as FargatePackage from "@virtual-node/provider-fargate";
import type * as InterLinkPackage from "@virtual-node/provider-interlink";
import type * as MockPackage from "@virtual-node/provider-mock";
import type { BuiltInProviderName } from "./schema.js";
import type { ProviderConfig } from "./types.js";

/** What a provider factory receives besides its options. */
export interface ProviderContext {
  /** The node the provider serves. */
  nodeName: string;
  /** The agent's metrics registry (served on `/metrics`). */
  registry: Registry;
  logger: Logger;
}

/** The signature a module provider exports: `export function createProvider(options, context)`. */
export type ProviderFactory = (
  options: Record<string, unknown>,
  context: ProviderContext,
) => Provider | Promise<Provider>;

type Options = Record<string, unknown>;

/** Built-in providers; each imports its package lazily. */
const builtIns: Record<
  BuiltInProviderName,
  (options: Options, context: ProviderContext) => Promise<Provider>
> = {
  async mock(options) {
    const { createMockProvider, MockCloud } = await importPackage<typeof MockPackage>(
      "@virtual-node/provider-mock",
    );
    return createMockProvider({ ...options, cloud: mockCloud(MockCloud) });
  },
  async aci(options, { registry }) {
    const { createAciProvider } = await importPackage<typeof AciPackage>("@virtual-node/provider-aci");
    return createAciProvider({
      ...(options as unknown as Parameters<typeof createAciProvider>[0]),
      registry,
    });
  },
  async fargate(options, { registry }) {
    const { createFargateProvider } = await importPackage<typeof FargatePackage>(
      "@virtual-node/provider-fargate",
    );
    return createFargateProvider({
      ...(options as unknown as Parameters<typeof createFargateProvider>[0]),
      registry,
    });
  },
  async cloudrun(options, { registry }) {
    const { createCloudRunProvider } = await importPackage<typeof CloudRunPackage>(
      "@virtual-node/provider-cloudrun",
    );
    return createCloudRunProvider({
      ...(options as unknown as Parameters<typeof createCloudRunProvider>[0]),
      registry,
    });
  },
  async interlink(options, { registry, nodeName }) {
    const { createInterLinkProvider } = await importPackage<typeof InterLinkPackage>(
      "@virtual-node/provider-interlink",
    );
    return createInterLinkProvider({
      nodeName,
      ...(options as unknown as Omit<Parameters<typeof createInterLinkProvider>[0], "nodeName">),
      registry,
    });
  },
};

// The mock nodes of one agent share one in-memory cloud (it keys everything by node name).
let sharedMockCloud: unknown;
function mockCloud<T>(MockCloud: new () => T): T {
  sharedMockCloud ??= new MockCloud();
  return sharedMockCloud as T;
}

async function importPackage<T>(name: string): Promise<T> {
  try {
    return (await import(name)) as T;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ERR_MODULE_NOT_FOUND" && String(error).includes(name)) {
      throw new InvalidInputError(`provider package ${name} is not installed (npm install ${name})`, {
        field: "provider.name",
        cause: error,
      });
    }
    throw error;
  }
}

/**
 * Builds the provider of one node. `field` is the config path of the provider (for error messages),
 * `baseDir` the directory relative module paths are resolved against (the config file's).
 */
export async function loadProvider(
  config: ProviderConfig,
  options: Options,
  context: ProviderContext,
  where: { field: string; baseDir: string },
): Promise<Provider> {
  let provider: unknown;
  if ("module" in config) {
    const factory = await loadFactory(config.module, config.export, where);
    provider = await factory(options, context);
  } else {
    provider = await builtIns[config.name](options, context);
  }
  if (!isProvider(provider)) {
    throw new InvalidInputError(
      `${where.field}: the factory did not return a Provider (an object with name, capabilities, createPod, deletePod, getPodStatus, listPods)`,
      { field: where.field },
    );
  }
  return provider;
}

async function loadFactory(
  specifier: string,
  exportName: string | undefined,
  where: { field: string; baseDir: string },
): Promise<ProviderFactory> {
  const isPath = specifier.startsWith(".") || isAbsolute(specifier);
  const target = isPath ? pathToFileURL(resolve(where.baseDir, specifier)).href : specifier;
  let module: Record<string, unknown>;
  try {
    module = (await import(target)) as Record<string, unknown>;
  } catch (error) {
    throw new InvalidInputError(`${where.field}.module: cannot import ${specifier}: ${String(error)}`, {
      field: `${where.field}.module`,
      cause: error,
    });
  }
  const names = exportName === undefined ? ["createProvider", "default"] : [exportName];
  for (const name of names) {
    const candidate = module[name];
    if (typeof candidate === "function") return candidate as ProviderFactory;
  }
  throw new InvalidInputError(
    `${where.field}.export: ${specifier} exports no function named ${names.join(" or ")} (exports: ${Object.keys(module).join(", ") || "none"})`,
    { field: `${where.field}.export` },
  );
}

function isProvider(value: unknown): value is Provider {
  if (typeof value !== "object" || value === null) return false;
  const p = value as Record<string, unknown>;
  return (
    typeof p.name === "string" &&
    typeof p.capabilities === "object" &&
    ["createPod", "deletePod", "getPodStatus", "listPods"].every((m) => typeof p[m] === "function")
  );
}
