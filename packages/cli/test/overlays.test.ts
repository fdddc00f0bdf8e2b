/** Every overlay's agent.yaml in deploy/ is a valid config (the image would exit 3 otherwise). */
import { readdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { loadAgentConfig } from "../src/config.js";

const overlays = fileURLToPath(new URL("../../../deploy/overlays/", import.meta.url));
const base = fileURLToPath(new URL("../../../deploy/base/agent.yaml", import.meta.url));

describe("deploy/ configs", () => {
  it.each(readdirSync(overlays))(
    "overlays/%s/agent.yaml validates, with highAvailability on",
    async (name) => {
      const config = await loadAgentConfig(`${overlays}${name}/agent.yaml`);
      expect(config.highAvailability?.namespace).toBe("virtual-node");
      expect(config.nodes.length).toBeGreaterThan(0);
    },
  );

  it("base/agent.yaml validates", async () => {
    expect((await loadAgentConfig(base)).nodes[0]?.provider).toEqual({ name: "mock" });
  });
});
