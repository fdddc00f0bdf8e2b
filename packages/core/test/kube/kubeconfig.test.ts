import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { KubeConfig } from "@kubernetes/client-node";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { loadKubeConfig, type KubeHttpsOptions } from "../../src/kube/kubeconfig.js";

const b64 = (s: string) => Buffer.from(s).toString("base64");

function kubeconfig(
  cluster: Record<string, unknown>,
  user: Record<string, unknown>,
  current = "ctx",
): string {
  return JSON.stringify({
    apiVersion: "v1",
    kind: "Config",
    "current-context": current,
    clusters: [
      { name: "other", cluster: { server: "https://other:6443" } },
      { name: "c", cluster },
    ],
    users: [{ name: "u", user }],
    contexts: [
      { name: "wrong", context: { cluster: "other", user: "u" } },
      { name: "ctx", context: { cluster: "c", user: "u" } },
    ],
  });
}

async function applied(source: ReturnType<typeof loadKubeConfig>): Promise<KubeHttpsOptions> {
  const options: KubeHttpsOptions = {};
  await source.applyToHTTPSOptions(options);
  return options;
}

describe("loadKubeConfig", () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "kubeconfig-test-"));
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });
  const write = (name: string, text: string) => {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  };

  it("reads inline certificates of the current context, without client-node", async () => {
    const file = write(
      "config",
      kubeconfig(
        {
          server: "https://api:6443",
          "certificate-authority-data": b64("CA"),
          "tls-server-name": "kubernetes",
        },
        { "client-certificate-data": b64("CERT"), "client-key-data": b64("KEY") },
      ),
    );
    const kc = loadKubeConfig({ file });
    expect(kc).not.toBeInstanceOf(KubeConfig);
    expect(kc.getCurrentCluster()).toEqual({
      server: "https://api:6443",
      caData: b64("CA"),
      tlsServerName: "kubernetes",
    });
    const o = await applied(kc);
    expect([String(o.ca), String(o.cert), String(o.key), o.headers]).toEqual([
      "CA",
      "CERT",
      "KEY",
      undefined,
    ]);
  });

  it("reads certificate files relative to the kubeconfig, and a token file again on every use", async () => {
    mkdirSync(join(dir, "pki"));
    write("pki/ca.crt", "CA-FILE");
    write("pki/token", "first\n");
    const file = write(
      "config.yaml",
      `apiVersion: v1
current-context: ctx
clusters: [{ name: c, cluster: { server: "https://api:6443", certificate-authority: pki/ca.crt, insecure-skip-tls-verify: true } }]
users: [{ name: u, user: { tokenFile: pki/token } }]
contexts: [{ name: ctx, context: { cluster: c, user: u } }]
`,
    );
    const kc = loadKubeConfig({ file });
    expect(kc.getCurrentCluster()).toMatchObject({ caFile: join(dir, "pki/ca.crt"), skipTLSVerify: true });
    expect(String((await applied(kc)).ca)).toBe("CA-FILE");
    expect((await applied(kc)).headers).toEqual({ Authorization: "Bearer first" });
    write("pki/token", "rotated\n");
    expect((await applied(kc)).headers).toEqual({ Authorization: "Bearer rotated" });
  });

  it("the in-cluster service account: server from the environment (IPv6 in brackets), CA and rotating token from the mount", async () => {
    write("ca.crt", "SA-CA");
    write("token", "sa-token");
    const kc = loadKubeConfig({
      inCluster: true,
      serviceAccountDir: dir,
      env: { KUBERNETES_SERVICE_HOST: "fd00::1", KUBERNETES_SERVICE_PORT: "443" },
    });
    expect(kc.getCurrentCluster()).toEqual({ server: "https://[fd00::1]:443", caFile: join(dir, "ca.crt") });
    const o = await applied(kc);
    expect([String(o.ca), o.headers]).toEqual(["SA-CA", { Authorization: "Bearer sa-token" }]);
  });

  it("hands exec plugins (and anything else it does not read) to client-node's KubeConfig", () => {
    const file = write(
      "exec",
      kubeconfig(
        { server: "https://api:6443" },
        { exec: { apiVersion: "client.authentication.k8s.io/v1", command: "/bin/echo", args: ["x"] } },
      ),
    );
    const kc = loadKubeConfig({ file });
    expect(kc).toBeInstanceOf(KubeConfig);
    expect(kc.getCurrentCluster()?.server).toBe("https://api:6443");
  });

  it("KUBECONFIG with one file is read; with several, client-node merges them", () => {
    const one = write("one", kubeconfig({ server: "https://one:6443" }, { token: "t" }));
    const two = write("two", kubeconfig({ server: "https://two:6443" }, { token: "t" }));
    const single = loadKubeConfig({ env: { KUBECONFIG: one, HOME: dir } });
    expect([single instanceof KubeConfig, single.getCurrentCluster()?.server]).toEqual([
      false,
      "https://one:6443",
    ]);
    const merged = loadKubeConfig({ env: { KUBECONFIG: `${one}:${two}`, HOME: dir } });
    expect(merged).toBeInstanceOf(KubeConfig);
  });

  it("names the problem: no context, no cluster, unreadable YAML, nothing to load", () => {
    const field = (f: () => unknown) => {
      try {
        f();
      } catch (e) {
        return [(e as { field?: string }).field, (e as Error).message];
      }
      return undefined;
    };
    expect(field(() => loadKubeConfig({ file: write("empty", "apiVersion: v1\n") }))).toEqual([
      "kubeconfig",
      expect.stringContaining("has no context"),
    ]);
    const noCluster = write(
      "nocluster",
      kubeconfig({ server: "https://api" }, {}).replace('"name":"c"', '"name":"x"'),
    );
    expect(field(() => loadKubeConfig({ file: noCluster }))?.[1]).toContain(
      "no cluster for its current context",
    );
    expect(field(() => loadKubeConfig({ file: write("bad", "{ [") }))?.[1]).toContain(
      "cannot read the kubeconfig",
    );
    expect(field(() => loadKubeConfig({ env: { HOME: dir } }))?.[1]).toContain("no kubeconfig");
  });
});
