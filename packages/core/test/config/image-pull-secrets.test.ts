import { describe, expect, it } from "vitest";
import type { Pod, Secret } from "../../src/kube/types.js";
import {
  FAILED_TO_RETRIEVE_IMAGE_PULL_SECRET,
  parsePullSecret,
} from "../../src/config/image-pull-secrets.js";
import type { PullSecretData } from "../../src/config/image-pull-secrets.js";
import { resolvePodConfig } from "../../src/config/resolve.js";
import { createInMemoryConfigSource } from "../../src/config/source.js";

const NS = "apps";
const NOW = new Date("2030-01-01T00:00:00.000Z");
const b64 = (text: string): string => Buffer.from(text).toString("base64");
const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);
const PASSWORD = "hunter2-" + "pull";

function data(type: string | undefined, entries: Record<string, string>): PullSecretData {
  return {
    ...(type === undefined ? {} : { type }),
    data: new Map(Object.entries(entries).map(([k, v]) => [k, bytes(v)])),
  };
}

const dockerConfigJson = (auths: Record<string, unknown>) =>
  data("kubernetes.io/dockerconfigjson", { ".dockerconfigjson": JSON.stringify({ auths }) });

describe("parsePullSecret", () => {
  const cases: [string, PullSecretData, ReturnType<typeof parsePullSecret>][] = [
    [
      "dockerconfigjson with username/password",
      dockerConfigJson({ "reg.example.com": { username: "u", password: PASSWORD } }),
      [{ server: "reg.example.com", username: "u", password: PASSWORD }],
    ],
    [
      "dockerconfigjson with only auth (base64 user:password, the password may hold colons)",
      dockerConfigJson({ "https://index.docker.io/v1/": { auth: b64(`bob:${PASSWORD}:x`) } }),
      [{ server: "https://index.docker.io/v1/", username: "bob", password: `${PASSWORD}:x` }],
    ],
    [
      "dockercfg (servers at the top level), several registries in order",
      data("kubernetes.io/dockercfg", {
        ".dockercfg": JSON.stringify({
          "a.example.com": { username: "a", password: "pa" },
          "b.example.com": { auth: b64("b:pb") },
        }),
      }),
      [
        { server: "a.example.com", username: "a", password: "pa" },
        { server: "b.example.com", username: "b", password: "pb" },
      ],
    ],
    [
      "an entry without a usable login is skipped",
      dockerConfigJson({
        "x.example.com": { auth: b64("nocolon") },
        "y.example.com": { username: "y", password: "py" },
      }),
      [{ server: "y.example.com", username: "y", password: "py" }],
    ],
    [
      "Opaque type",
      data(undefined, { ".dockerconfigjson": "{}" }),
      "type Opaque is not kubernetes.io/dockerconfigjson or kubernetes.io/dockercfg",
    ],
    ["missing key", data("kubernetes.io/dockerconfigjson", {}), "no .dockerconfigjson key"],
    [
      "not JSON",
      data("kubernetes.io/dockerconfigjson", { ".dockerconfigjson": `{${PASSWORD}` }),
      ".dockerconfigjson is not valid JSON",
    ],
    [
      "no auths",
      data("kubernetes.io/dockerconfigjson", { ".dockerconfigjson": "{}" }),
      ".dockerconfigjson has no registries",
    ],
    [
      "no usable login",
      dockerConfigJson({ "x.example.com": { email: "x@example.com" } }),
      ".dockerconfigjson has no registry with a username and password",
    ],
  ];
  it.each(cases)("%s", (_title, secret, expected) => {
    const result = parsePullSecret(secret);
    expect(result).toEqual(expected);
    // Reasons describe the Secret's shape, never its content.
    if (typeof result === "string") expect(result).not.toContain(PASSWORD);
  });
});

describe("resolvePodConfig: imagePullSecrets", () => {
  const pullSecret: Secret = {
    kind: "Secret",
    type: "kubernetes.io/dockerconfigjson",
    metadata: { name: "regcred", namespace: NS },
    data: {
      ".dockerconfigjson": b64(
        JSON.stringify({ auths: { "reg.example.com": { username: "u", password: PASSWORD } } }),
      ),
    },
  };
  const pod = (names: string[]): Pod => ({
    metadata: { name: "web-0", namespace: NS, uid: "uid-1" },
    spec: {
      containers: [{ name: "app", image: "reg.example.com/app:1" }],
      imagePullSecrets: names.map((name) => ({ name })),
    },
  });
  const resolve = (p: Pod, secrets: Secret[]) =>
    resolvePodConfig(p, {
      source: createInMemoryConfigSource({
        secrets: Object.fromEntries(secrets.map((s) => [`${NS}/${s.metadata?.name ?? ""}`, s])),
      }),
      nodeName: "vn",
      signal: new AbortController().signal,
      now: NOW,
    });

  it("resolves the logins, references the Secret (watched, re-resolved on change)", async () => {
    const result = await resolve(pod(["regcred"]), [pullSecret]);
    expect(result.resolved.imagePullSecrets).toEqual([
      { server: "reg.example.com", username: "u", password: PASSWORD, secretName: "regcred" },
    ]);
    expect(result.references.secrets.has("regcred")).toBe(true);
    expect(result.warnings).toEqual([]);
  });

  it("a missing pull secret is a warning, not a failure (the kubelet pulls without it)", async () => {
    const result = await resolve(pod(["gone", "regcred"]), [pullSecret]);
    expect(result.resolved.imagePullSecrets?.map((c) => c.secretName)).toEqual(["regcred"]);
    expect(result.warnings).toEqual([
      {
        reason: FAILED_TO_RETRIEVE_IMAGE_PULL_SECRET,
        message: `Unable to retrieve image pull secret ${NS}/gone (not found); the image will be pulled without it`,
        field: "spec.imagePullSecrets[0]",
      },
    ]);
    expect(result.references.secrets.has("gone")).toBe(true);
  });

  it("an unusable pull secret is a warning that does not quote it; no pull secrets → none", async () => {
    const opaque: Secret = { ...pullSecret, type: "Opaque" };
    const result = await resolve(pod(["regcred"]), [opaque]);
    expect(result.resolved.imagePullSecrets).toBeUndefined();
    expect(result.warnings[0]?.reason).toBe(FAILED_TO_RETRIEVE_IMAGE_PULL_SECRET);
    expect(JSON.stringify(result.warnings)).not.toContain(PASSWORD);
    expect((await resolve(pod([]), [])).resolved.imagePullSecrets).toBeUndefined();
  });
});
