/**
 * The README's first command runs `scripts/demo.mjs`; `--once` makes it exit when the sample
 * workload is up. This keeps the demo true: it starts its own control plane and a node on the mock
 * provider, and every pod of the sample Deployment and Job must run.
 */
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { expect, it } from "vitest";

it("the demo starts a control plane and a virtual node, and its sample workload runs", async () => {
  const script = fileURLToPath(new URL("../../../scripts/demo.mjs", import.meta.url));
  const child = spawn(process.execPath, [script, "--once"], { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  child.stdout.on("data", (chunk: Buffer) => (out += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (out += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
  expect(code, out.slice(-2000)).toBe(0);
  const last = out.slice(out.lastIndexOf("virtual-node demo"));
  expect(last).toMatch(/Ready=True \(KubeletReady\)/);
  expect(last.match(/^web-\S+\s+Running\s+yes/gm)).toHaveLength(5);
  expect(last.match(/^batch-\S+\s+(Running\s+yes|Succeeded)/gm)).toHaveLength(3);
  expect(last).toContain("kubeconfig: ");
  // The kubelet API is on by default: the API server proxies `kubectl logs` to it.
  expect(last).toMatch(/^logs of web-\S+ through the API server: \S+/m);
}, 180_000);
