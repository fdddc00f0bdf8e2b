import { describe, expect, it } from "vitest";
import { resolvePodConfig } from "../../src/config/resolve.js";
import { createInMemoryConfigSource } from "../../src/config/source.js";
import type { Pod } from "../../src/kube/types.js";
import type { ResolvedContainer, ResolvedPod } from "../../src/pod-config.js";
import { secretRedactor, secretUses, splitEnv } from "../../src/provider-kit/secrets.js";

const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);
const b64 = (text: string): string => Buffer.from(text).toString("base64");

const KEY_PEM = "-----BEGIN KEY-----\nAAAABBBBCCCCDDDD\nEEEEFFFFGGGG\n-----END KEY-----\n";

function resolvedPod(): ResolvedPod {
  const init: ResolvedContainer = {
    name: "migrate",
    command: undefined,
    args: undefined,
    env: [
      {
        name: "DB_PASSWORD",
        value: "hunter2-db",
        secret: true,
        source: { kind: "secret", name: "db", key: "password" },
      },
    ],
  };
  const app: ResolvedContainer = {
    name: "app",
    command: ["run"],
    args: undefined,
    env: [
      { name: "MODE", value: "prod", secret: false, source: { kind: "value" } },
      {
        name: "API_TOKEN",
        value: "tok-123456",
        secret: true,
        source: { kind: "secret", name: "api", key: "token" },
      },
      {
        name: "FEATURE",
        value: "on",
        secret: false,
        source: { kind: "configMap", name: "flags", key: "feature" },
      },
      // `$(API_TOKEN)` expanded into a longer value: secret, but no single Secret key.
      { name: "AUTH_HEADER", value: "Bearer tok-123456", secret: true, source: { kind: "value" } },
      { name: "SHORT", value: "ab", secret: true, source: { kind: "secret", name: "api", key: "short" } },
    ],
  };
  return {
    ref: { namespace: "ns", name: "web", uid: "u1" },
    pod: {},
    nodeName: "vn",
    initContainers: [init],
    containers: [app],
    volumes: [
      {
        name: "certs",
        kind: "secret",
        files: [
          {
            path: "tls.key",
            content: bytes(KEY_PEM),
            mode: 0o600,
            secret: true,
            source: { kind: "secret", name: "tls", key: "tls.key" },
          },
        ],
      },
      {
        name: "config",
        kind: "configMap",
        files: [
          {
            path: "app.yaml",
            content: bytes("a: 1"),
            mode: 0o644,
            secret: false,
            source: { kind: "configMap", name: "cfg", key: "app.yaml" },
          },
        ],
      },
      {
        name: "share",
        kind: "persistentVolumeClaim",
        files: [],
        persistentVolume: {
          claimName: "data",
          volumeName: "pv-1",
          readOnly: false,
          accessModes: ["ReadWriteMany"],
          volumeMode: "Filesystem",
          azureFile: {
            shareName: "share",
            secret: {
              name: "azure",
              namespace: "ns",
              data: {
                azurestorageaccountname: bytes("acct"),
                azurestorageaccountkey: bytes("c2VjcmV0LWtleQ==KEY"),
              },
            },
          },
        },
      },
    ],
  };
}

describe("secretUses", () => {
  it("lists env values and files that are one key of one Secret, with name and key", () => {
    const uses = secretUses(resolvedPod());
    expect(uses).toEqual([
      {
        kind: "env",
        container: "migrate",
        init: true,
        env: "DB_PASSWORD",
        secretName: "db",
        key: "password",
        value: "hunter2-db",
      },
      {
        kind: "env",
        container: "app",
        init: false,
        env: "API_TOKEN",
        secretName: "api",
        key: "token",
        value: "tok-123456",
      },
      {
        kind: "env",
        container: "app",
        init: false,
        env: "SHORT",
        secretName: "api",
        key: "short",
        value: "ab",
      },
      {
        kind: "file",
        volume: "certs",
        path: "tls.key",
        secretName: "tls",
        key: "tls.key",
        content: bytes(KEY_PEM),
      },
    ]);
  });

  it("finds what the real resolver marks: secretKeyRef, envFrom secretRef, secret volumes and projections", async () => {
    const pod: Pod = {
      metadata: { name: "web", namespace: "ns", uid: "u1" },
      spec: {
        containers: [
          {
            name: "app",
            image: "busybox",
            envFrom: [{ secretRef: { name: "bulk" } }],
            env: [
              { name: "PASSWORD", valueFrom: { secretKeyRef: { name: "db", key: "password" } } },
              { name: "URL", value: "postgres://u:$(PASSWORD)@db" },
              { name: "PLAIN", value: "x" },
            ],
          },
        ],
        volumes: [
          { name: "s", secret: { secretName: "tls", items: [{ key: "tls.crt", path: "certs/tls.crt" }] } },
          {
            name: "p",
            projected: {
              sources: [
                { secret: { name: "db", items: [{ key: "password", path: "pw" }] } },
                { configMap: { name: "cfg" } },
              ],
            },
          },
        ],
      },
    };
    const secret = (name: string, data: Record<string, string>) => ({
      kind: "Secret",
      metadata: { name, namespace: "ns" },
      data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, b64(v)])),
    });
    const { resolved } = await resolvePodConfig(pod, {
      source: createInMemoryConfigSource({
        secrets: {
          "ns/db": secret("db", { password: "s3cret-pw" }),
          "ns/bulk": secret("bulk", { BULK_KEY: "bulk-value" }),
          "ns/tls": secret("tls", { "tls.crt": "CERTDATA" }),
        },
        configMaps: {
          "ns/cfg": { kind: "ConfigMap", metadata: { name: "cfg", namespace: "ns" }, data: { a: "b" } },
        },
      }),
      nodeName: "vn",
      signal: new AbortController().signal,
      now: new Date("2030-01-01T00:00:00Z"),
    });
    const uses = secretUses(resolved).map((u) =>
      u.kind === "env"
        ? `env ${u.env}=${u.secretName}/${u.key}`
        : `file ${u.volume}:${u.path}=${u.secretName}/${u.key}`,
    );
    expect(uses).toEqual([
      "env BULK_KEY=bulk/BULK_KEY",
      "env PASSWORD=db/password",
      "file s:certs/tls.crt=tls/tls.crt",
      "file p:pw=db/password",
    ]);
    const container = resolved.containers[0];
    if (container === undefined) throw new Error("no container");
    const { plain, secret: secretEnv } = splitEnv(container);
    expect(plain.map((e) => e.name)).toEqual(["PLAIN"]);
    expect(secretEnv.map((e) => e.name)).toEqual(["BULK_KEY", "PASSWORD", "URL"]);
    expect(secretRedactor(resolved)("connect postgres://u:s3cret-pw@db failed")).toBe(
      "connect [REDACTED] failed",
    );
  });
});

describe("splitEnv", () => {
  it("keeps order and puts every value with any Secret part on the secret side", () => {
    const app = resolvedPod().containers[0];
    if (app === undefined) throw new Error("no container");
    const { plain, secret } = splitEnv(app);
    expect(plain.map((e) => e.name)).toEqual(["MODE", "FEATURE"]);
    expect(secret.map((e) => e.name)).toEqual(["API_TOKEN", "AUTH_HEADER", "SHORT"]);
  });
});

describe("secretRedactor", () => {
  const redact = secretRedactor(resolvedPod());

  it("replaces secret env values, longest first", () => {
    expect(redact("header was Bearer tok-123456 and token tok-123456")).toBe(
      "header was [REDACTED] and token [REDACTED]",
    );
    expect(redact("DB_PASSWORD=hunter2-db")).toBe("DB_PASSWORD=[REDACTED]");
  });

  it("replaces file contents whole, line by line and in base64", () => {
    expect(redact(`key: ${KEY_PEM}`)).toBe("key: [REDACTED]");
    expect(redact("bad line AAAABBBBCCCCDDDD in key")).toBe("bad line [REDACTED] in key");
    expect(redact(`{"secretVolume":{"tls.key":"${b64(KEY_PEM)}"}}`)).toBe(
      '{"secretVolume":{"tls.key":"[REDACTED]"}}',
    );
  });

  it("replaces persistent volume Secret data", () => {
    expect(redact("mount failed: key c2VjcmV0LWtleQ==KEY rejected for acct")).toBe(
      "mount failed: key [REDACTED] rejected for [REDACTED]",
    );
  });

  it("leaves plain values and very short secrets alone", () => {
    expect(redact("mode prod, feature on, ab")).toBe("mode prod, feature on, ab");
    expect(secretRedactor(resolvedPod(), { minLength: 2, replacement: "***" })("ab")).toBe("***");
  });
});
