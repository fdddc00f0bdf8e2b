/**
 * The HA agent RBAC helper grants exactly what the docs and the deployment give an HA agent group: the
 * ClusterRole and kube-node-lease Role of docs/options.md ("Identity and RBAC") and the Role of
 * docs/high-availability.md ("RBAC"), read from the YAML blocks of those pages, and the same objects of
 * deploy/base/rbac.yaml (proven minimal by the deployment test).
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { KubeConfig, type V1PolicyRule } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";

import {
  HA_AGENT_CLUSTER_RULES,
  HA_LEASE_ROLE_NAME,
  HA_LEASE_RULES,
  NODE_LEASE_RULES,
  grantHaAgentRbac,
} from "../src/index.js";

interface RbacObject {
  kind?: string;
  metadata?: { name?: string; namespace?: string };
  rules?: V1PolicyRule[];
}

/** Every RBAC object of the page's ```yaml blocks. */
function documentedObjects(page: string): RbacObject[] {
  const text = readFileSync(fileURLToPath(new URL(`../../../docs/${page}`, import.meta.url)), "utf8");
  const blocks = [...text.matchAll(/^```yaml\n([\s\S]*?)^```/gm)].map((m) => m[1] ?? "");
  return blocks.flatMap((block) => parseAllDocuments(block).map((doc) => doc.toJS() as RbacObject));
}

/** Every RBAC object of a manifest of the repository. */
function manifestObjects(path: string): RbacObject[] {
  const text = readFileSync(fileURLToPath(new URL(`../../../${path}`, import.meta.url)), "utf8");
  return parseAllDocuments(text).map((doc) => doc.toJS() as RbacObject);
}

const documented = (page: string, kind: string, name: string): RbacObject | undefined =>
  (page.endsWith(".yaml") ? manifestObjects(page) : documentedObjects(page)).find(
    (o) => o.kind === kind && o.metadata?.name === name,
  );

describe("HA agent RBAC", () => {
  it.each([
    {
      what: "the node group's ClusterRole",
      page: "options.md",
      kind: "ClusterRole",
      name: "virtual-node",
      rules: HA_AGENT_CLUSTER_RULES,
    },
    {
      what: "the node heartbeats' Role",
      page: "options.md",
      kind: "Role",
      name: "virtual-node-node-lease",
      rules: NODE_LEASE_RULES,
    },
    {
      what: "the deployment's ClusterRole",
      page: "deploy/base/rbac.yaml",
      kind: "ClusterRole",
      name: "virtual-node",
      rules: HA_AGENT_CLUSTER_RULES,
    },
    {
      what: "the deployment's node-lease Role",
      page: "deploy/base/rbac.yaml",
      kind: "Role",
      name: "virtual-node-node-lease",
      rules: NODE_LEASE_RULES,
    },
    {
      what: "the deployment's HA Role",
      page: "deploy/base/rbac.yaml",
      kind: "Role",
      name: HA_LEASE_ROLE_NAME,
      rules: HA_LEASE_RULES,
    },
    {
      what: "the HA namespace's Lease Role",
      page: "high-availability.md",
      kind: "Role",
      name: HA_LEASE_ROLE_NAME,
      rules: HA_LEASE_RULES,
    },
  ])("grants exactly $what ($page)", ({ page, kind, name, rules }) => {
    const object = documented(page, kind, name);
    expect(object, `${kind} ${name} in ${page}`).toBeDefined();
    expect(rules).toEqual(object?.rules);
  });

  it.each([
    { options: { user: "", namespace: "ha" }, field: "user" },
    { options: { user: "agent", namespace: "" }, field: "namespace" },
  ])("refuses an empty $field before any request", async ({ options, field }) => {
    // No cluster behind this config: the error must come before any request.
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: "c", server: "https://127.0.0.1:1", skipTLSVerify: true }],
      users: [{ name: "u" }],
      contexts: [{ name: "x", cluster: "c", user: "u" }],
      currentContext: "x",
    });
    await expect(grantHaAgentRbac(kc, options)).rejects.toThrow(new RegExp(`\\b${field} must not be empty`));
  });
});
