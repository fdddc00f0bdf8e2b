// The provider guide's conformance example (docs/provider-guide.md shows this file verbatim; `npm test`
// type-checks it against the suite's real types). In a provider package it is a test file.
import { describeProviderConformance } from "@virtual-node/testing/conformance";
import { createAcmeProvider, type AcmeClient, type AcmeGroup } from "./provider-guide-sample.js";

/** Stands in for a simulator of the vendor's API (the real providers validate requests against its schema). */
function startAcmeSimulator(): AcmeClient & { close(): Promise<void> } {
  const groups = new Map<string, AcmeGroup>();
  return {
    run: async (spec) => {
      if (!groups.has(spec.name))
        groups.set(spec.name, { name: spec.name, tags: spec.tags, state: "running" });
      return Promise.resolve();
    },
    stop: async (name) => {
      groups.delete(name);
      return Promise.resolve();
    },
    list: async (tags) =>
      Promise.resolve(
        [...groups.values()].filter((g) => Object.entries(tags).every(([k, v]) => g.tags[k] === v)),
      ),
    close: async () => {
      groups.clear();
      return Promise.resolve();
    },
  };
}

describeProviderConformance(
  "acme against its simulator",
  async () => {
    const acme = startAcmeSimulator();
    return Promise.resolve({
      provider: createAcmeProvider(acme, "vn-conformance"),
      nodeName: "vn-conformance",
      // A second agent on the same backend, for the adoption check.
      reconnect: async () => Promise.resolve(createAcmeProvider(acme, "vn-conformance")),
      cleanup: () => acme.close(),
    });
  },
  // Acme cannot update a running group: say why in the provider's docs when you skip a check.
  { skip: ["update"] },
);
