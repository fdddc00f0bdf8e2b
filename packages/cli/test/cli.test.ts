/**
 * The command line without a cluster: help, version, schema, validate-config, usage errors and exit
 * codes, secret references and their redaction, readiness from provider pings, the health server.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import { FakeClock, type Provider } from "@virtual-node/core";
import { createMockProvider } from "@virtual-node/provider-mock";
import { ExitCodes } from "../src/exit-codes.js";
import { startHealthServer } from "../src/health-server.js";
import { createAgentLogger } from "../src/logger.js";
import { runCli } from "../src/main.js";
import { loadProvider } from "../src/providers.js";
import { trackReachability } from "../src/reachability.js";
import { agentConfigSchema } from "../src/schema.js";
import { resolveSecretReferences, SecretValues } from "../src/secrets.js";
import { ConfigFileError } from "../src/config.js";

function io(env: Record<string, string> = {}): {
  out: string[];
  err: string[];
  io: Parameters<typeof runCli>[1];
} {
  const out: string[] = [];
  const err: string[] = [];
  return {
    out,
    err,
    io: {
      stdout: { write: (t: string) => out.push(t) },
      stderr: { write: (t: string) => err.push(t) },
      env,
      signal: new AbortController().signal,
    },
  };
}

const dir = mkdtempSync(join(tmpdir(), "vn-cli-"));
function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}
const header = "apiVersion: virtual-node.io/v1alpha1\nkind: AgentConfig\n";

describe("virtual-node commands", () => {
  it("--help shows usage, examples and exit codes on stdout; no command is a usage error", async () => {
    const h = io();
    expect(await runCli(["--help"], h.io)).toBe(ExitCodes.Ok);
    const text = h.out.join("");
    expect(text).toContain("virtual-node run --config <file>");
    expect(text).toContain("Examples:");
    expect(text).toContain("Exit codes: 0");
    const none = io();
    expect(await runCli([], none.io)).toBe(ExitCodes.Usage);
    expect(none.err.join("")).toContain("Usage:");
  });

  it("version prints the package versions", async () => {
    const h = io();
    expect(await runCli(["version"], h.io)).toBe(ExitCodes.Ok);
    expect(h.out.join("")).toMatch(/^virtual-node \d+\.\d+\.\d+ \(core \d+\.\d+\.\d+, node v\d+/);
  });

  it("schema prints the published JSON Schema", async () => {
    const h = io();
    expect(await runCli(["schema"], h.io)).toBe(ExitCodes.Ok);
    expect(JSON.parse(h.out.join(""))).toEqual(JSON.parse(JSON.stringify(agentConfigSchema)));
  });

  it("validate-config: 0 for a valid file, 3 with path/problem/allowed values for an invalid one", async () => {
    const good = file("good.yaml", `${header}nodes: [{ name: vn-a, provider: { name: mock } }]\n`);
    const ok = io();
    expect(await runCli(["validate-config", "--config", good], ok.io)).toBe(ExitCodes.Ok);
    expect(ok.out.join("")).toBe(`${good}: valid (vn-a)\n`);

    const bad = file(
      "bad.yaml",
      `${header}nodes: [{ name: vn-a, provider: { name: mock, options: { push: true } } }]\n`,
    );
    const ko = io();
    expect(await runCli(["validate-config", "-c", bad], ko.io)).toBe(ExitCodes.InvalidConfig);
    expect(ko.err.join("")).toContain(
      'nodes[0].provider.options.push (line 3): unknown property; allowed: "pushStatus", "statusBatchSize"',
    );
    const missing = io();
    expect(await runCli(["validate-config", "-c", join(dir, "nope.yaml")], missing.io)).toBe(
      ExitCodes.InvalidConfig,
    );
    expect(missing.err.join("")).toContain("cannot read the file (ENOENT)");
  });

  it("usage errors exit 2 and name the problem", async () => {
    for (const [args, text] of [
      [["run"], "run needs --config <file>"],
      [["frobnicate"], 'unknown command "frobnicate"'],
      [["run", "--bogus"], "Unknown option '--bogus'"],
      [
        ["run", "-c", "x.yaml", "--log-level", "loud"],
        "--log-level must be one of debug, info, warn, error, silent",
      ],
      [["run", "-c", "x.yaml", "--port", "http"], "--port must be an integer"],
    ] as const) {
      const h = io();
      expect(await runCli(args, h.io), args.join(" ")).toBe(ExitCodes.Usage);
      expect(h.err.join("")).toContain(text);
    }
  });

  it("run exits 3 when a provider rejects its options or a secret reference cannot be resolved", async () => {
    const kubeconfig = file(
      "kubeconfig",
      "apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: 'https://127.0.0.1:1'}}]\nusers: [{name: u, user: {token: t}}]\ncontexts: [{name: x, context: {cluster: c, user: u}}]\ncurrent-context: x\n",
    );
    const config = file(
      "secret.yaml",
      `${header}nodes:\n  - name: vn-i\n    provider:\n      name: interlink\n      options: { url: "http://127.0.0.1:1", tls: { caFile: { fromEnv: MISSING_CA } } }\n`,
    );
    // tls.caFile is a plain string in the schema: a reference there is a schema error, exit 3.
    const schemaError = io();
    expect(
      await runCli(["run", "-c", config, "--kubeconfig", kubeconfig, "--port", "0"], schemaError.io),
    ).toBe(ExitCodes.InvalidConfig);

    const module = file("bad-provider.mjs", "export function createProvider() { return { name: 'x' }; }\n");
    const notAProvider = file(
      "module.yaml",
      `${header}nodes: [{ name: vn-m, provider: { module: ./${module.split("/").pop() ?? ""} } }]\n`,
    );
    const h = io();
    const logs: string[] = [];
    h.io.logger = createAgentLogger({
      level: "info",
      secrets: new SecretValues(),
      destination: { write: (l: string) => logs.push(l) },
    });
    expect(await runCli(["run", "-c", notAProvider, "--kubeconfig", kubeconfig, "--port", "0"], h.io)).toBe(
      ExitCodes.InvalidConfig,
    );
    expect(h.err.join("")).toContain("nodes[0].provider: the factory did not return a Provider");
    expect(JSON.parse(logs[0] ?? "{}")).toMatchObject({ level: "error", msg: "the agent did not start" });
  });
});

describe("secret references", () => {
  it("resolves fromEnv and fromFile anywhere, remembers the values and never puts them in errors", async () => {
    file("key", "file-secret-value\n");
    const secrets = new SecretValues();
    const resolved = await resolveSecretReferences(
      { a: { fromEnv: "TOKEN" }, nested: [{ key: { fromFile: "key" } }], plain: "x" },
      "nodes[0].provider.options",
      { env: { TOKEN: "env-secret-value" }, baseDir: dir },
      secrets,
    );
    expect(resolved).toEqual({ a: "env-secret-value", nested: [{ key: "file-secret-value" }], plain: "x" });
    expect(secrets.redact("got env-secret-value and file-secret-value")).toBe(
      "got [REDACTED] and [REDACTED]",
    );

    const failure = await resolveSecretReferences(
      { a: { fromEnv: "NOPE" }, b: { fromFile: "/does/not/exist" } },
      "opts",
      { env: {}, baseDir: dir },
      secrets,
    ).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(ConfigFileError);
    expect((failure as ConfigFileError).issues).toEqual([
      { path: "opts.a", problem: "environment variable NOPE is not set" },
      { path: "opts.b", problem: "cannot read secret file /does/not/exist (ENOENT)" },
    ]);
  });

  it("the agent logger redacts resolved values and token patterns from every line", () => {
    const secrets = new SecretValues();
    secrets.add("hunter2-very-secret");
    const lines: string[] = [];
    const logger = createAgentLogger({
      level: "debug",
      secrets,
      destination: { write: (l: string) => lines.push(l) },
    });
    logger
      .child({ node: "vn" })
      .warn(
        { detail: "key=hunter2-very-secret", header: "Authorization: Bearer abc.def.ghi" },
        "provider said hunter2-very-secret",
      );
    expect(lines).toHaveLength(1);
    expect(lines[0]).not.toContain("hunter2-very-secret");
    expect(lines[0]).not.toContain("abc.def.ghi");
    expect(JSON.parse(lines[0] ?? "")).toMatchObject({
      level: "warn",
      node: "vn",
      msg: "provider said [REDACTED]",
    });
  });
});

describe("providers and readiness", () => {
  it("loads a provider from a module with its options and context", async () => {
    const module = file(
      "good-provider.mjs",
      "import { createMockProvider } from '@virtual-node/provider-mock';\nexport function make(options, context) { return Object.assign(createMockProvider({ name: options.name }), { seen: context.nodeName }); }\n",
    );
    // The module imports the workspace package: resolve it from this package's node_modules.
    const provider = (await loadProvider(
      { module, export: "make" },
      { name: "custom" },
      {
        nodeName: "vn-x",
        registry: new Registry(),
        logger: createAgentLogger({ level: "silent", secrets: new SecretValues() }),
      },
      { field: "nodes[0].provider", baseDir: dir },
    )) as Provider & { seen: string };
    expect(provider.name).toBe("custom");
    expect(provider.seen).toBe("vn-x");
    await expect(
      loadProvider(
        { module, export: "nope" },
        {},
        {
          nodeName: "n",
          registry: new Registry(),
          logger: createAgentLogger({ level: "silent", secrets: new SecretValues() }),
        },
        { field: "nodes[0].provider", baseDir: dir },
      ),
    ).rejects.toThrow(
      "nodes[0].provider.export: " + module + " exports no function named nope (exports: make)",
    );
  });

  it("records ping outcomes without changing the provider", async () => {
    const clock = new FakeClock(1_000);
    const mock = createMockProvider();
    const { provider, reachability } = trackReachability(mock, () => clock.now());
    expect(reachability).toMatchObject({ lastSuccessAt: undefined, pingless: false });
    await provider.ping?.({ signal: new AbortController().signal });
    expect(reachability.lastSuccessAt).toBe(1_000);
    expect(provider.name).toBe(mock.name);
    expect(provider.capabilities).toBe(mock.capabilities);
    await mock.cloud.configure({ faults: { rate: 1, operations: ["ping"] } });
    clock.advance(5_000);
    await expect(provider.ping?.({ signal: new AbortController().signal })).rejects.toThrow();
    expect(reachability.lastSuccessAt).toBe(1_000);
    expect(reachability.lastError).toEqual(expect.any(String));
  });

  it("serves /healthz, /readyz (503 naming the failing check) and /metrics", async () => {
    const registry = new Registry();
    let ok = false;
    const server = await startHealthServer({
      address: "127.0.0.1",
      port: 0,
      registry,
      readiness: () => [
        { name: "provider-reachable:vn", ok, ...(ok ? {} : { message: "no successful ping yet" }) },
      ],
    });
    try {
      expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
      const notReady = await fetch(`${server.url}/readyz`);
      expect(notReady.status).toBe(503);
      expect(await notReady.json()).toEqual({
        ready: false,
        checks: [{ name: "provider-reachable:vn", ok: false, message: "no successful ping yet" }],
      });
      ok = true;
      expect((await fetch(`${server.url}/readyz`)).status).toBe(200);
      const metrics = await fetch(`${server.url}/metrics`);
      expect(metrics.headers.get("content-type")).toContain("text/plain");
      expect((await fetch(`${server.url}/nope`)).status).toBe(404);
    } finally {
      await server.close();
    }
  });
});
