import { describe, expect, it } from "vitest";
import { ConfigFileError, parseAgentConfig } from "../src/config.js";

const header = "apiVersion: virtual-node.io/v1alpha1\nkind: AgentConfig\n";

function issuesOf(text: string): ConfigFileError["issues"] {
  try {
    parseAgentConfig(text, "agent.yaml");
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigFileError);
    return (error as ConfigFileError).issues;
  }
  throw new Error("the config was accepted");
}

describe("agent config validation", () => {
  it("accepts built-in and module providers, in YAML and in JSON", () => {
    const yaml = `${header}nodes:
  - name: vn-1
    provider: { name: mock, options: { pushStatus: false } }
  - name: vn-2
    provider: { module: ./my-provider.js, export: make, options: { anything: [1, 2] } }
`;
    const config = parseAgentConfig(yaml);
    expect(config.nodes.map((n) => n.name)).toEqual(["vn-1", "vn-2"]);
    expect(config.nodes[1]?.provider).toEqual({
      module: "./my-provider.js",
      export: "make",
      options: { anything: [1, 2] },
    });
    const json = JSON.stringify({
      apiVersion: "virtual-node.io/v1alpha1",
      kind: "AgentConfig",
      nodes: [{ name: "j", provider: { name: "mock" } }],
    });
    expect(parseAgentConfig(json).nodes[0]?.name).toBe("j");
  });

  it("names the path, the line, the problem and the allowed values", () => {
    const issues = issuesOf(`${header}logLevel: loud
nodes:
  - name: Vn_1
    provider:
      name: aci
      options:
        subscriptionId: sub
        regin: westeurope
`);
    expect(issues).toContainEqual({
      path: "logLevel",
      problem: "is not one of the allowed values",
      allowed: ["debug", "info", "warn", "error", "silent"],
      line: 3,
    });
    expect(issues).toContainEqual(expect.objectContaining({ path: "nodes[0].name", line: 5 }));
    expect(issues).toContainEqual(
      expect.objectContaining({ path: "nodes[0].provider.options.resourceGroup", problem: "is required" }),
    );
    expect(issues).toContainEqual(
      expect.objectContaining({ path: "nodes[0].provider.options.region", problem: "is required" }),
    );
    const typo = issues.find((i) => i.path === "nodes[0].provider.options.regin");
    expect(typo).toMatchObject({ problem: "unknown property", line: 10 });
    expect(typo?.allowed).toContain("region");
  });

  it("takes an ACI standby pool and names what is missing from one", () => {
    const aci = (standbyPool: string) => `${header}nodes:
  - name: a
    provider:
      name: aci
      options:
        subscriptionId: s
        resourceGroup: g
        region: r
        standbyPool: ${standbyPool}
`;
    expect(
      parseAgentConfig(
        aci(
          "{ poolId: /subscriptions/s/resourceGroups/g/providers/Microsoft.StandbyPool/standbyContainerGroupPools/p, profileId: /subscriptions/s/resourceGroups/g/providers/Microsoft.ContainerInstance/containerGroupProfiles/f, profileRevision: 2, match: { namespaces: [batch] } }",
        ),
      ).nodes[0]?.provider,
    ).toMatchObject({ name: "aci", options: { standbyPool: { profileRevision: 2 } } });
    expect(issuesOf(aci("{ poolId: /subscriptions/s/x, profileRevision: 0 }"))).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          path: "nodes[0].provider.options.standbyPool.profileId",
          problem: "is required",
        }),
        expect.objectContaining({ path: "nodes[0].provider.options.standbyPool.profileRevision" }),
      ]),
    );
  });

  it("lists the provider names when the name is unknown", () => {
    const issues = issuesOf(`${header}nodes: [{ name: a, provider: { name: kwok } }]\n`);
    expect(issues).toEqual([
      expect.objectContaining({
        path: "nodes[0].provider.name",
        allowed: ["mock", "aci", "fargate", "cloudrun", "interlink"],
      }),
    ]);
  });

  it("explains a malformed secret reference", () => {
    const issues = issuesOf(`${header}nodes:
  - name: a
    provider:
      name: aci
      options:
        subscriptionId: s
        resourceGroup: g
        region: r
        logAnalytics: { workspaceId: w, workspaceKey: { fromFile: /k, fromEnv: K } }
`);
    expect(issues).toEqual([
      expect.objectContaining({
        path: "nodes[0].provider.options.logAnalytics.workspaceKey",
        problem: "a secret reference has exactly one of fromFile, fromEnv",
      }),
    ]);
  });

  it("rejects unknown keys of a module provider and missing top-level fields", () => {
    expect(issuesOf(`nodes: [{ name: a, provider: { module: ./x.js, bogus: 1 } }]\n`)).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ path: "apiVersion", problem: "is required" }),
        expect.objectContaining({ path: "kind", problem: "is required" }),
        expect.objectContaining({
          path: "nodes[0].provider.bogus",
          problem: "unknown property",
          allowed: ["module", "export", "options"],
        }),
      ]),
    );
  });

  it("reports YAML syntax errors with their line", () => {
    expect(issuesOf(`${header}nodes:\n  - name: a\n   provider: x: y\n`)[0]).toMatchObject({
      path: "",
      line: expect.any(Number) as number,
    });
  });

  it("the message lists every issue, one per line", () => {
    try {
      parseAgentConfig(`${header}nodes: []\nshutdown: drain\n`, "agent.yaml");
      expect.unreachable();
    } catch (error) {
      expect((error as Error).message).toBe(
        'agent.yaml is not a valid agent config:\n  nodes (line 3): must NOT have fewer than 1 items\n  shutdown (line 4): is not one of the allowed values; allowed: "leave", "notReady", "cordon", "delete"',
      );
    }
  });
});
