import { describe, expect, it } from "vitest";
import { AbortedError, ConfigError, UnsupportedError } from "../../src/errors.js";
import type { ConfigMap, Container, Pod, PodSpec, Secret, Service, Volume } from "../../src/kube/types.js";
import type { ResolvedContainer, ResolvedVolume } from "../../src/pod-config.js";
import { ConfigReasons, resolvePodConfig, tokenRefreshTime } from "../../src/config/resolve.js";
import type { ResolvePodConfigOptions, ResolvePodConfigResult } from "../../src/config/resolve.js";
import { createInMemoryConfigSource } from "../../src/config/source.js";
import type { InMemoryConfigSourceData, ServiceAccountTokenRequest } from "../../src/config/source.js";

const NS = "apps";
/** An asymmetric matcher typed as the string it stands for. */
const matching = (pattern: RegExp): string => expect.stringMatching(pattern) as string;
const NOW = new Date("2030-01-01T00:00:00.000Z");
const b64 = (text: string): string => Buffer.from(text).toString("base64");
const text = (bytes: Uint8Array): string => Buffer.from(bytes).toString("utf8");

function makePod(spec: Partial<PodSpec>, metadata: Pod["metadata"] = {}): Pod {
  return {
    metadata: { name: "web-0", namespace: NS, uid: "uid-123", ...metadata },
    spec: { containers: [{ name: "app", image: "busybox" }], ...spec },
  };
}

function withContainer(
  container: Partial<Container>,
  spec: Partial<PodSpec> = {},
  metadata?: Pod["metadata"],
): Pod {
  return makePod({ containers: [{ name: "app", image: "busybox", ...container }], ...spec }, metadata);
}

function cm(name: string, data: Record<string, string>, binaryData?: Record<string, string>): ConfigMap {
  return {
    kind: "ConfigMap",
    metadata: { name, namespace: NS },
    data,
    ...(binaryData ? { binaryData } : {}),
  };
}

function secret(name: string, data: Record<string, string>): Secret {
  return {
    kind: "Secret",
    metadata: { name, namespace: NS },
    data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, b64(v)])),
  };
}

/** Source data holding the given ConfigMaps and Secrets (told apart by `kind`). */
function sourceData(
  objects: (ConfigMap | Secret)[] = [],
  extra: InMemoryConfigSourceData = {},
): InMemoryConfigSourceData {
  const configMaps: Record<string, ConfigMap> = {};
  const secrets: Record<string, Secret> = {};
  for (const o of objects) {
    const key = `${o.metadata?.namespace ?? NS}/${o.metadata?.name ?? ""}`;
    if (o.kind === "Secret") secrets[key] = o;
    else configMaps[key] = o;
  }
  return { configMaps, secrets, ...extra };
}

let tokenCounter = 0;
const tokenRequests: ServiceAccountTokenRequest[] = [];
function issueToken(request: ServiceAccountTokenRequest) {
  tokenRequests.push(request);
  tokenCounter += 1;
  return {
    token: `token-${tokenCounter}-${(request.audiences ?? ["api"]).join(",")}`,
    expirationTimestamp: new Date(NOW.getTime() + request.expirationSeconds * 1000),
  };
}

async function resolve(
  pod: Pod,
  data: InMemoryConfigSourceData = {},
  options: Partial<ResolvePodConfigOptions> = {},
): Promise<ResolvePodConfigResult> {
  return resolvePodConfig(pod, {
    source: createInMemoryConfigSource(data),
    nodeName: "vn-1",
    hostIP: "10.0.0.1",
    signal: new AbortController().signal,
    now: NOW,
    ...options,
  });
}

async function resolveError(
  pod: Pod,
  data: InMemoryConfigSourceData = {},
  options: Partial<ResolvePodConfigOptions> = {},
): Promise<ConfigError> {
  const error: unknown = await resolve(pod, data, options).then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(error instanceof ConfigError)) throw new Error(`expected a ConfigError, got ${String(error)}`);
  return error;
}

function app(result: ResolvePodConfigResult): ResolvedContainer {
  const container = result.resolved.containers[0];
  if (!container) throw new Error("no container");
  return container;
}

function envMap(container: ResolvedContainer): Record<string, string> {
  return Object.fromEntries(container.env.map((v) => [v.name, v.value]));
}

function envVar(container: ResolvedContainer, name: string) {
  const found = container.env.find((v) => v.name === name);
  if (!found) throw new Error(`no env var ${name}`);
  return found;
}

function volume(result: ResolvePodConfigResult, index = 0): ResolvedVolume {
  const v = result.resolved.volumes[index];
  if (!v) throw new Error("no volume");
  return v;
}

function files(v: ResolvedVolume): Record<string, { text: string; mode: string; secret: boolean }> {
  return Object.fromEntries(
    v.files.map((f) => [f.path, { text: text(f.content), mode: f.mode.toString(8), secret: f.secret }]),
  );
}

describe("resolvePodConfig: pod", () => {
  it("returns the ref, node name and API object", async () => {
    const pod = makePod({});
    const { resolved, warnings, tokenExpiries } = await resolve(pod);
    expect(resolved.ref).toEqual({ namespace: NS, name: "web-0", uid: "uid-123" });
    expect(resolved.nodeName).toBe("vn-1");
    expect(resolved.pod).toBe(pod);
    expect(resolved.containers).toEqual([{ name: "app", env: [], command: undefined, args: undefined }]);
    expect(warnings).toEqual([]);
    expect(tokenExpiries).toEqual([]);
  });

  it("resolves init containers too", async () => {
    const pod = makePod({
      initContainers: [{ name: "init", env: [{ name: "X", value: "1" }], args: ["$(X)"] }],
    });
    const { resolved } = await resolve(pod);
    expect(resolved.initContainers).toEqual([
      {
        name: "init",
        env: [{ name: "X", value: "1", secret: false, source: { kind: "value" } }],
        command: undefined,
        args: ["1"],
      },
    ]);
  });

  it("rejects with AbortedError when the signal is aborted", async () => {
    const controller = new AbortController();
    controller.abort();
    await expect(resolve(makePod({}), {}, { signal: controller.signal })).rejects.toBeInstanceOf(
      AbortedError,
    );
  });
});

describe("resolvePodConfig: env values and expansion", () => {
  it("expands $(VAR) against earlier vars only, keeps undefined references and $$ escapes", async () => {
    const pod = withContainer({
      env: [
        { name: "LATER_REF", value: "$(B)" },
        { name: "A", value: "a" },
        { name: "B", value: "$(A)-b" },
        { name: "C", value: "$$(A) $(MISSING) $(A)$(B)" },
        { name: "EMPTY" },
        { name: "ALSO_EMPTY", value: "" },
      ],
    });
    const c = app(await resolve(pod));
    expect(c.env.map((v) => [v.name, v.value])).toEqual([
      ["LATER_REF", "$(B)"],
      ["A", "a"],
      ["B", "a-b"],
      ["C", "$(A) $(MISSING) aa-b"],
      ["EMPTY", ""],
      ["ALSO_EMPTY", ""],
    ]);
    expect(envVar(c, "B")).toEqual({ name: "B", value: "a-b", secret: false, source: { kind: "value" } });
  });

  it("a redefinition replaces the value and moves the variable to its new place", async () => {
    const pod = withContainer({
      env: [
        { name: "X", value: "1" },
        { name: "Y", value: "$(X)" },
        { name: "X", value: "2" },
      ],
    });
    expect(app(await resolve(pod)).env.map((v) => [v.name, v.value])).toEqual([
      ["Y", "1"],
      ["X", "2"],
    ]);
  });

  it("expands command and args with the final env (including service links)", async () => {
    const pod = withContainer({
      env: [
        { name: "GREETING", value: "hi" },
        { name: "PW", valueFrom: { secretKeyRef: { name: "creds", key: "password" } } },
      ],
      command: ["/bin/sh", "-c", "echo $(GREETING) $(PW) $(KUBERNETES_SERVICE_HOST) $(NOPE) $$(GREETING)"],
      args: ["$(GREETING)"],
    });
    const data = sourceData([secret("creds", { password: "s3cr3t" })], {
      services: [
        {
          metadata: { name: "kubernetes", namespace: "default" },
          spec: { clusterIP: "10.96.0.1", ports: [{ name: "https", port: 443 }] },
        },
      ],
    });
    const c = app(await resolve(pod, data));
    expect(c.command).toEqual(["/bin/sh", "-c", "echo hi s3cr3t 10.96.0.1 $(NOPE) $(GREETING)"]);
    expect(c.args).toEqual(["hi"]);
  });

  it("leaves empty command/args as undefined", async () => {
    const c = app(await resolve(withContainer({ command: [], args: [] })));
    expect(c.command).toBeUndefined();
    expect(c.args).toBeUndefined();
  });

  it("rejects fileKeyRef as unsupported", async () => {
    const pod = withContainer({
      env: [{ name: "F", valueFrom: { fileKeyRef: { volumeName: "v", path: "env", key: "K" } } }],
    });
    const error: unknown = await resolve(pod).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UnsupportedError);
    expect((error as UnsupportedError).field).toBe("spec.containers[0].env[0].valueFrom.fileKeyRef");
  });
});

describe("resolvePodConfig: envFrom", () => {
  it("adds ConfigMap and Secret keys with prefix, sorted, env overriding them", async () => {
    const pod = withContainer({
      envFrom: [{ configMapRef: { name: "settings" } }, { prefix: "DB_", secretRef: { name: "db" } }],
      env: [{ name: "MODE", value: "override-$(MODE)" }],
    });
    const data = sourceData([
      cm("settings", { MODE: "prod", LEVEL: "info" }),
      secret("db", { USER: "admin", PASSWORD: "pw" }),
    ]);
    const c = app(await resolve(pod, data));
    expect(c.env).toEqual([
      {
        name: "LEVEL",
        value: "info",
        secret: false,
        source: { kind: "configMap", name: "settings", key: "LEVEL" },
      },
      {
        name: "DB_PASSWORD",
        value: "pw",
        secret: true,
        source: { kind: "secret", name: "db", key: "PASSWORD" },
      },
      { name: "DB_USER", value: "admin", secret: true, source: { kind: "secret", name: "db", key: "USER" } },
      { name: "MODE", value: "override-prod", secret: false, source: { kind: "value" } },
    ]);
  });

  it("skips keys that are not valid env var names with one InvalidEnvironmentVariableNames warning", async () => {
    const pod = withContainer({
      envFrom: [{ configMapRef: { name: "mixed" } }, { prefix: "p_", configMapRef: { name: "mixed" } }],
    });
    const data = sourceData([
      cm("mixed", { "1234": "a", "1z": "b", key: "c", "app.properties": "d", "has space": "e" }),
    ]);
    const result = await resolve(pod, data);
    expect(envMap(app(result))).toEqual({
      key: "c",
      "app.properties": "d",
      p_1234: "a",
      p_1z: "b",
      p_key: "c",
      "p_app.properties": "d",
    });
    expect(result.warnings).toEqual([
      {
        reason: "InvalidEnvironmentVariableNames",
        message:
          "Keys [1234, 1z, has space] from the EnvFrom configMap apps/mixed were skipped since they are considered invalid environment variable names.",
        field: "spec.containers[0].envFrom[0]",
      },
      {
        reason: "InvalidEnvironmentVariableNames",
        message:
          "Keys [p_has space] from the EnvFrom configMap apps/mixed were skipped since they are considered invalid environment variable names.",
        field: "spec.containers[0].envFrom[1]",
      },
    ]);
  });

  it("reports invalid Secret keys the same way, and accepts them with relaxed names", async () => {
    const pod = withContainer({ envFrom: [{ secretRef: { name: "s" } }] });
    const data = sourceData([secret("s", { "9LIVES": "x", OK: "y" })]);
    const strict = await resolve(pod, data);
    expect(envMap(app(strict))).toEqual({ OK: "y" });
    expect(strict.warnings[0]?.message).toBe(
      "Keys [9LIVES] from the EnvFrom secret apps/s were skipped since they are considered invalid environment variable names.",
    );
    const relaxed = await resolve(pod, data, { envVarNames: "relaxed" });
    expect(envMap(app(relaxed))).toEqual({ "9LIVES": "x", OK: "y" });
    expect(relaxed.warnings).toEqual([]);
  });

  it("optional missing sources are skipped with a warning; mandatory ones fail", async () => {
    const optional = withContainer({
      envFrom: [
        { configMapRef: { name: "nope", optional: true } },
        { secretRef: { name: "gone", optional: true } },
      ],
    });
    const result = await resolve(optional);
    expect(app(result).env).toEqual([]);
    expect(result.warnings.map((w) => [w.reason, w.field])).toEqual([
      ["OptionalConfigMapNotFound", "spec.containers[0].envFrom[0].configMapRef"],
      ["OptionalSecretNotFound", "spec.containers[0].envFrom[1].secretRef"],
    ]);
    expect(result.references).toEqual({ configMaps: new Set(["nope"]), secrets: new Set(["gone"]) });

    const cmError = await resolveError(withContainer({ envFrom: [{ configMapRef: { name: "nope" } }] }));
    expect(cmError.reason).toBe("MandatoryConfigMapNotFound");
    expect(cmError.field).toBe("spec.containers[0].envFrom[0].configMapRef");
    expect(cmError.message).toBe("couldn't get ConfigMap apps/nope: not found");

    const secretError = await resolveError(withContainer({ envFrom: [{ secretRef: { name: "gone" } }] }));
    expect(secretError.reason).toBe("MandatorySecretNotFound");
    expect(secretError.field).toBe("spec.containers[0].envFrom[0].secretRef");
  });
});

describe("resolvePodConfig: configMapKeyRef / secretKeyRef", () => {
  const data = sourceData([
    cm("cfg", { url: "https://x", constructor: "own" }),
    secret("creds", { token: "t0k3n", pw: "p" }),
  ]);

  it("reads keys, marks secrets, and keeps secrecy through $(VAR) expansion", async () => {
    const pod = withContainer({
      env: [
        { name: "URL", valueFrom: { configMapKeyRef: { name: "cfg", key: "url" } } },
        { name: "TOKEN", valueFrom: { secretKeyRef: { name: "creds", key: "token" } } },
        { name: "AUTH", value: "Bearer $(TOKEN)" },
        { name: "ENDPOINT", value: "$(URL)/api" },
        { name: "ESCAPED", value: "$$(TOKEN)" },
        { name: "OWN", valueFrom: { configMapKeyRef: { name: "cfg", key: "constructor" } } },
      ],
    });
    const c = app(await resolve(pod, data));
    expect(envVar(c, "URL")).toEqual({
      name: "URL",
      value: "https://x",
      secret: false,
      source: { kind: "configMap", name: "cfg", key: "url" },
    });
    expect(envVar(c, "TOKEN")).toEqual({
      name: "TOKEN",
      value: "t0k3n",
      secret: true,
      source: { kind: "secret", name: "creds", key: "token" },
    });
    expect(envVar(c, "AUTH")).toEqual({
      name: "AUTH",
      value: "Bearer t0k3n",
      secret: true,
      source: { kind: "value" },
    });
    expect(envVar(c, "ENDPOINT").secret).toBe(false);
    expect(envVar(c, "ESCAPED")).toMatchObject({ value: "$(TOKEN)", secret: false });
    expect(envVar(c, "OWN").value).toBe("own");
  });

  it("does not read inherited properties as keys", async () => {
    const pod = withContainer({
      env: [{ name: "X", valueFrom: { secretKeyRef: { name: "creds", key: "toString" } } }],
    });
    expect((await resolveError(pod, data)).reason).toBe("MandatorySecretKeyNotFound");
  });

  it("missing key: CreateContainerConfigError-style message naming object and key", async () => {
    const cmPod = withContainer({
      env: [
        { name: "A", value: "1" },
        { name: "B", valueFrom: { configMapKeyRef: { name: "cfg", key: "nope" } } },
      ],
    });
    const cmError = await resolveError(cmPod, data);
    expect(cmError).toBeInstanceOf(ConfigError);
    expect(cmError.reason).toBe("MandatoryConfigMapKeyNotFound");
    expect(cmError.message).toBe("couldn't find key nope in ConfigMap apps/cfg");
    expect(cmError.field).toBe("spec.containers[0].env[1].valueFrom.configMapKeyRef");

    const secretPod = withContainer({
      env: [{ name: "B", valueFrom: { secretKeyRef: { name: "creds", key: "nope" } } }],
    });
    const secretError = await resolveError(secretPod, data);
    expect(secretError.reason).toBe("MandatorySecretKeyNotFound");
    expect(secretError.message).toBe("couldn't find key nope in Secret apps/creds");
    expect(secretError.field).toBe("spec.containers[0].env[0].valueFrom.secretKeyRef");
  });

  it("missing object: Mandatory…NotFound reasons", async () => {
    const cmError = await resolveError(
      withContainer({ env: [{ name: "B", valueFrom: { configMapKeyRef: { name: "absent", key: "k" } } }] }),
    );
    expect([cmError.reason, cmError.field]).toEqual([
      ConfigReasons.MandatoryConfigMapNotFound,
      "spec.containers[0].env[0].valueFrom.configMapKeyRef",
    ]);
    const secretError = await resolveError(
      withContainer({
        env: [{ name: "B", valueFrom: { secretKeyRef: { name: "absent", key: "k", optional: false } } }],
      }),
    );
    expect([secretError.reason, secretError.field]).toEqual([
      ConfigReasons.MandatorySecretNotFound,
      "spec.containers[0].env[0].valueFrom.secretKeyRef",
    ]);
  });

  it("optional: missing object or key skips the variable (keeping an earlier value) with a warning", async () => {
    const pod = withContainer({
      envFrom: [{ configMapRef: { name: "cfg" } }],
      env: [
        { name: "url", valueFrom: { configMapKeyRef: { name: "cfg", key: "nope", optional: true } } },
        { name: "B", valueFrom: { configMapKeyRef: { name: "absent", key: "k", optional: true } } },
        { name: "C", valueFrom: { secretKeyRef: { name: "creds", key: "nope", optional: true } } },
        { name: "D", valueFrom: { secretKeyRef: { name: "absent-secret", key: "k", optional: true } } },
      ],
    });
    const result = await resolve(pod, data);
    expect(envMap(app(result))).toEqual({ constructor: "own", url: "https://x" });
    expect(result.warnings.map((w) => [w.reason, w.field])).toEqual([
      ["OptionalConfigMapKeyNotFound", "spec.containers[0].env[0].valueFrom.configMapKeyRef"],
      ["OptionalConfigMapNotFound", "spec.containers[0].env[1].valueFrom.configMapKeyRef"],
      ["OptionalSecretKeyNotFound", "spec.containers[0].env[2].valueFrom.secretKeyRef"],
      ["OptionalSecretNotFound", "spec.containers[0].env[3].valueFrom.secretKeyRef"],
    ]);
    expect(result.warnings[0]?.message).toBe(
      "couldn't find key nope in ConfigMap apps/cfg (optional; skipped)",
    );
    expect(result.references).toEqual({
      configMaps: new Set(["cfg", "absent"]),
      secrets: new Set(["creds", "absent-secret"]),
    });
  });

  it("fetches each object once per resolution", async () => {
    let gets = 0;
    const base = createInMemoryConfigSource(data);
    const pod = makePod({
      containers: [
        { name: "a", env: [{ name: "X", valueFrom: { configMapKeyRef: { name: "cfg", key: "url" } } }] },
        { name: "b", envFrom: [{ configMapRef: { name: "cfg" } }] },
      ],
      volumes: [{ name: "v", configMap: { name: "cfg" } }],
    });
    await resolvePodConfig(pod, {
      source: {
        ...base,
        getConfigMap: (ns, name, signal) => {
          gets += 1;
          return base.getConfigMap(ns, name, signal);
        },
      },
      nodeName: "vn-1",
      signal: new AbortController().signal,
      now: NOW,
    });
    expect(gets).toBe(1);
  });
});

describe("resolvePodConfig: fieldRef", () => {
  const metadata = {
    labels: { app: "web", "example.com/tier": "front" },
    annotations: { note: 'say "hi"\n\ttab\\ é 😀 \u00a0\u0007' },
  };
  const fieldEnv = (fieldPath: string, name = "V") => ({
    name,
    valueFrom: { fieldRef: { apiVersion: "v1", fieldPath } },
  });

  it("resolves metadata, spec and status fields", async () => {
    const pod = withContainer(
      {
        env: [
          fieldEnv("metadata.name", "NAME"),
          fieldEnv("metadata.namespace", "NAMESPACE"),
          fieldEnv("metadata.uid", "UID"),
          fieldEnv("metadata.labels", "LABELS"),
          fieldEnv("metadata.annotations", "ANNOTATIONS"),
          fieldEnv("metadata.labels['app']", "LABEL_APP"),
          fieldEnv("metadata.labels['example.com/tier']", "LABEL_TIER"),
          fieldEnv("metadata.labels['missing']", "LABEL_MISSING"),
          fieldEnv("metadata.annotations['note']", "NOTE"),
          fieldEnv("spec.nodeName", "NODE"),
          fieldEnv("spec.serviceAccountName", "SA"),
          fieldEnv("status.hostIP", "HOST_IP"),
          fieldEnv("status.hostIPs", "HOST_IPS"),
        ],
      },
      { serviceAccountName: "runner" },
      metadata,
    );
    const c = app(await resolve(pod, {}, { hostIPs: ["10.0.0.1", "fd00::1"] }));
    expect(envMap(c)).toEqual({
      NAME: "web-0",
      NAMESPACE: NS,
      UID: "uid-123",
      LABELS: 'app="web"\nexample.com/tier="front"',
      ANNOTATIONS: 'note="say \\"hi\\"\\n\\ttab\\\\ é 😀 \\u00a0\\a"',
      LABEL_APP: "web",
      LABEL_TIER: "front",
      LABEL_MISSING: "",
      NOTE: 'say "hi"\n\ttab\\ é 😀 \u00a0\u0007',
      NODE: "vn-1",
      SA: "runner",
      HOST_IP: "10.0.0.1",
      HOST_IPS: "10.0.0.1,fd00::1",
    });
    expect(envVar(c, "NAME").source).toEqual({ kind: "field", fieldPath: "metadata.name" });
  });

  it("formats control characters like Go's %q", async () => {
    const pod = withContainer(
      { env: [fieldEnv("metadata.annotations")] },
      {},
      { annotations: { b: "\u0001\u007f\u2028", a: "" } },
    );
    expect(envMap(app(await resolve(pod))).V).toBe('a=""\nb="\\x01\\x7f\\u2028"');
  });

  it("prefers the pod's spec.nodeName", async () => {
    const pod = withContainer({ env: [fieldEnv("spec.nodeName")] }, { nodeName: "scheduled-node" });
    expect(envMap(app(await resolve(pod))).V).toBe("scheduled-node");
  });

  it("status.podIP/podIPs need a known pod IP: PodIPNotAvailable otherwise", async () => {
    const pod = withContainer({ env: [fieldEnv("metadata.name", "N"), fieldEnv("status.podIP", "POD_IP")] });
    const error = await resolveError(pod);
    expect(error.reason).toBe("PodIPNotAvailable");
    expect(error.field).toBe("spec.containers[0].env[1].valueFrom.fieldRef");
    expect(error.message).toContain("does not pre-allocate pod IPs");

    const ips = withContainer({
      env: [fieldEnv("status.podIP", "POD_IP"), fieldEnv("status.podIPs", "POD_IPS")],
    });
    expect(envMap(app(await resolve(ips, {}, { podIP: "192.168.1.5" })))).toEqual({
      POD_IP: "192.168.1.5",
      POD_IPS: "192.168.1.5",
    });
    expect(
      envMap(app(await resolve(ips, {}, { podIP: "ignored", podIPs: ["192.168.1.5", "fd00::5"] }))),
    ).toEqual({
      POD_IP: "192.168.1.5",
      POD_IPS: "192.168.1.5,fd00::5",
    });
  });

  it("status.hostIP without a known host IP: HostIPNotAvailable", async () => {
    const pod = withContainer({ env: [fieldEnv("status.hostIP")] });
    const error = await resolveError(pod, {}, { hostIP: undefined });
    expect(error.reason).toBe("HostIPNotAvailable");
    expect(envMap(app(await resolve(pod, {}, { hostIP: undefined, hostIPs: ["10.1.1.1"] }))).V).toBe(
      "10.1.1.1",
    );
  });

  it("rejects unsupported field paths, bad subscripts and API versions", async () => {
    for (const [fieldPath, message] of [
      ["spec.restartPolicy", "unsupported fieldPath: spec.restartPolicy"],
      ["metadata.name['x']", "fieldPath \"metadata.name['x']\" does not support subscript"],
      ["metadata.labels['bad key']", "invalid key subscript in metadata.labels['bad key']"],
    ] as const) {
      const error = await resolveError(withContainer({ env: [fieldEnv(fieldPath)] }));
      expect(error.reason).toBe("InvalidFieldPath");
      expect(error.message).toContain(message);
      expect(error.field).toBe("spec.containers[0].env[0].valueFrom.fieldRef");
    }
    const v2 = withContainer({
      env: [{ name: "V", valueFrom: { fieldRef: { apiVersion: "v2", fieldPath: "metadata.name" } } }],
    });
    expect((await resolveError(v2)).reason).toBe("InvalidFieldPath");
  });
});

describe("resolvePodConfig: resourceFieldRef", () => {
  const resources = {
    requests: { cpu: "250m", memory: "64Mi", "ephemeral-storage": "1G" },
    limits: { cpu: "1500m", memory: "1Gi", "hugepages-2Mi": "4Mi" },
  };
  const ref = (resource: string, divisor?: string, containerName?: string) => ({
    name: `V_${resource.replace(/[.-]/g, "_")}_${divisor ?? "1"}`,
    valueFrom: {
      resourceFieldRef: {
        resource,
        ...(divisor === undefined ? {} : { divisor }),
        ...(containerName ? { containerName } : {}),
      },
    },
  });

  it("converts with divisors, rounding up like the kubelet", async () => {
    const pod = withContainer({
      resources,
      env: [
        ref("limits.cpu"),
        ref("limits.cpu", "1m"),
        ref("requests.cpu"),
        ref("requests.cpu", "1m"),
        ref("limits.memory"),
        ref("limits.memory", "1Mi"),
        ref("limits.memory", "1G"),
        ref("requests.memory", "1Mi"),
        ref("requests.memory", "1k"),
        ref("requests.ephemeral-storage", "1Mi"),
        ref("limits.hugepages-2Mi", "1Mi"),
        ref("requests.cpu", "0"),
      ],
    });
    const c = app(await resolve(pod));
    expect(c.env.map((v) => [v.name, v.value])).toEqual([
      ["V_limits_cpu_1", "2"],
      ["V_limits_cpu_1m", "1500"],
      ["V_requests_cpu_1", "1"],
      ["V_requests_cpu_1m", "250"],
      ["V_limits_memory_1", "1073741824"],
      ["V_limits_memory_1Mi", "1024"],
      ["V_limits_memory_1G", "2"],
      ["V_requests_memory_1Mi", "64"],
      ["V_requests_memory_1k", "67109"],
      ["V_requests_ephemeral_storage_1Mi", "954"],
      ["V_limits_hugepages_2Mi_1Mi", "4"],
      ["V_requests_cpu_0", "1"],
    ]);
    expect(c.env[0]?.source).toEqual({ kind: "resource", resource: "limits.cpu", containerName: "app" });
  });

  it("unset limits default to node allocatable; unset requests read as 0", async () => {
    const pod = withContainer({
      resources: { limits: { memory: "0" } },
      env: [
        ref("limits.cpu", "1m"),
        ref("limits.memory", "1Gi"),
        ref("limits.ephemeral-storage", "1Gi"),
        ref("requests.cpu"),
      ],
    });
    const c = app(
      await resolve(pod, {}, { nodeAllocatable: { cpu: "4", memory: "16Gi", "ephemeral-storage": "100Gi" } }),
    );
    expect(envMap(c)).toEqual({
      V_limits_cpu_1m: "4000",
      V_limits_memory_1Gi: "16",
      V_limits_ephemeral_storage_1Gi: "100",
      V_requests_cpu_1: "0",
    });
    expect(envMap(app(await resolve(pod)))).toMatchObject({ V_limits_cpu_1m: "0" });
  });

  it("reads another container by name; unknown containers and resources fail", async () => {
    const pod = makePod({
      containers: [
        { name: "app", env: [ref("limits.memory", "1Mi", "sidecar")] },
        { name: "sidecar", resources: { limits: { memory: "128Mi" } } },
      ],
    });
    const c = app(await resolve(pod));
    expect(envMap(c)).toEqual({ V_limits_memory_1Mi: "128" });
    expect(c.env[0]?.source).toEqual({
      kind: "resource",
      resource: "limits.memory",
      containerName: "sidecar",
    });

    const unknown = await resolveError(withContainer({ env: [ref("limits.memory", "1Mi", "ghost")] }));
    expect([unknown.reason, unknown.message]).toEqual([
      "InvalidResourceFieldRef",
      "spec.containers[0].env[0].valueFrom.resourceFieldRef: container ghost not found",
    ]);
    const unsupported = await resolveError(withContainer({ env: [ref("limits.nvidia.com/gpu")] }));
    expect(unsupported.reason).toBe("InvalidResourceFieldRef");
    expect(unsupported.message).toContain("unsupported container resource : limits.nvidia.com/gpu");
    const badQuantity = await resolveError(withContainer({ env: [ref("limits.cpu", "lots")] }));
    expect(badQuantity.reason).toBe("InvalidResourceFieldRef");
  });
});

describe("resolvePodConfig: service links", () => {
  const services: Service[] = [
    {
      metadata: { name: "kubernetes", namespace: "default" },
      spec: { clusterIP: "10.96.0.1", ports: [{ name: "https", port: 443, protocol: "TCP" }] },
    },
    {
      metadata: { name: "other-ns", namespace: "default" },
      spec: { clusterIP: "10.96.0.9", ports: [{ port: 1 }] },
    },
    {
      metadata: { name: "redis-primary", namespace: NS },
      spec: {
        clusterIP: "10.96.0.20",
        ports: [
          { name: "redis", port: 6379 },
          { name: "metrics-port", port: 9121, protocol: "UDP" },
        ],
      },
    },
    { metadata: { name: "headless", namespace: NS }, spec: { clusterIP: "None", ports: [{ port: 80 }] } },
    { metadata: { name: "no-ip", namespace: NS }, spec: { ports: [{ port: 80 }] } },
    { metadata: { name: "v6", namespace: NS }, spec: { clusterIP: "fd00::10", ports: [{ port: 80 }] } },
  ];

  it("adds docker-links style variables for the namespace's services and the master service", async () => {
    const pod = withContainer({
      env: [
        { name: "REDIS", value: "$(REDIS_PRIMARY_SERVICE_HOST):$(REDIS_PRIMARY_SERVICE_PORT)" },
        { name: "V6_SERVICE_HOST", value: "overridden" },
      ],
    });
    const c = app(await resolve(pod, { services }));
    const env = envMap(c);
    expect(env.REDIS).toBe("10.96.0.20:6379");
    expect(c.env.slice(0, 2).map((v) => v.name)).toEqual(["REDIS", "V6_SERVICE_HOST"]);
    expect(env).toMatchObject({
      KUBERNETES_SERVICE_HOST: "10.96.0.1",
      KUBERNETES_SERVICE_PORT: "443",
      KUBERNETES_SERVICE_PORT_HTTPS: "443",
      KUBERNETES_PORT: "tcp://10.96.0.1:443",
      KUBERNETES_PORT_443_TCP: "tcp://10.96.0.1:443",
      KUBERNETES_PORT_443_TCP_PROTO: "tcp",
      KUBERNETES_PORT_443_TCP_PORT: "443",
      KUBERNETES_PORT_443_TCP_ADDR: "10.96.0.1",
      REDIS_PRIMARY_SERVICE_HOST: "10.96.0.20",
      REDIS_PRIMARY_SERVICE_PORT: "6379",
      REDIS_PRIMARY_SERVICE_PORT_REDIS: "6379",
      REDIS_PRIMARY_SERVICE_PORT_METRICS_PORT: "9121",
      REDIS_PRIMARY_PORT: "tcp://10.96.0.20:6379",
      REDIS_PRIMARY_PORT_6379_TCP: "tcp://10.96.0.20:6379",
      REDIS_PRIMARY_PORT_9121_UDP: "udp://10.96.0.20:9121",
      REDIS_PRIMARY_PORT_9121_UDP_PROTO: "udp",
      REDIS_PRIMARY_PORT_9121_UDP_PORT: "9121",
      REDIS_PRIMARY_PORT_9121_UDP_ADDR: "10.96.0.20",
      V6_SERVICE_HOST: "overridden",
      V6_PORT: "tcp://[fd00::10]:80",
      V6_PORT_80_TCP_ADDR: "fd00::10",
    });
    expect(Object.keys(env).filter((k) => /^(HEADLESS|NO_IP|OTHER_NS)_/.test(k))).toEqual([]);
    expect(envVar(c, "KUBERNETES_SERVICE_HOST")).toEqual({
      name: "KUBERNETES_SERVICE_HOST",
      value: "10.96.0.1",
      secret: false,
      source: { kind: "serviceLink" },
    });
    expect(c.env.filter((v) => v.source.kind === "serviceLink")).toHaveLength(Object.keys(env).length - 2);
  });

  it("enableServiceLinks: false keeps only the master service", async () => {
    const c = app(await resolve(withContainer({}, { enableServiceLinks: false }), { services }));
    expect(Object.keys(envMap(c)).every((k) => k.startsWith("KUBERNETES_"))).toBe(true);
    expect(envMap(c).KUBERNETES_SERVICE_HOST).toBe("10.96.0.1");
  });

  it("a 'kubernetes' service in the pod's namespace wins over the master one", async () => {
    const local: Service = {
      metadata: { name: "kubernetes", namespace: NS },
      spec: { clusterIP: "10.1.1.1", ports: [{ port: 80 }] },
    };
    expect(
      envMap(app(await resolve(withContainer({}), { services: [...services, local] })))
        .KUBERNETES_SERVICE_HOST,
    ).toBe("10.1.1.1");
  });

  it("without listServices there are no service variables", async () => {
    const source = createInMemoryConfigSource({ services });
    delete source.listServices;
    const result = await resolvePodConfig(withContainer({}), {
      source,
      nodeName: "vn-1",
      signal: new AbortController().signal,
      now: NOW,
    });
    expect(app(result).env).toEqual([]);
  });
});

describe("resolvePodConfig: volumes", () => {
  it("configMap: all keys (data and binaryData) with defaultMode 0644", async () => {
    const pod = makePod({ volumes: [{ name: "cfg", configMap: { name: "cfg" } }] });
    const data = sourceData([
      cm(
        "cfg",
        { "app.yaml": "a: 1", "b.txt": "b" },
        { "logo.bin": Buffer.from([0, 1, 255]).toString("base64") },
      ),
    ]);
    const result = await resolve(pod, data);
    const v = volume(result);
    expect([v.name, v.kind]).toEqual(["cfg", "configMap"]);
    expect(files(v)).toEqual({
      "app.yaml": { text: "a: 1", mode: "644", secret: false },
      "b.txt": { text: "b", mode: "644", secret: false },
      "logo.bin": { text: Buffer.from([0, 1, 255]).toString("utf8"), mode: "644", secret: false },
    });
    expect([...(v.files.find((f) => f.path === "logo.bin")?.content ?? [])]).toEqual([0, 1, 255]);
    expect(v.files[0]?.content).toBeInstanceOf(Uint8Array);
    expect(result.references.configMaps).toEqual(new Set(["cfg"]));
  });

  it("configMap: items map keys to paths with per-item modes and a custom defaultMode", async () => {
    const pod = makePod({
      volumes: [
        {
          name: "cfg",
          configMap: {
            name: "cfg",
            defaultMode: 0o400,
            items: [
              { key: "app.yaml", path: "conf/app.yaml" },
              { key: "logo.bin", path: "./img//logo.bin", mode: 0o755 },
            ],
          },
        },
      ],
    });
    const data = sourceData([cm("cfg", { "app.yaml": "a: 1", other: "x" }, { "logo.bin": b64("PNG") })]);
    expect(files(volume(await resolve(pod, data)))).toEqual({
      "conf/app.yaml": { text: "a: 1", mode: "400", secret: false },
      "img/logo.bin": { text: "PNG", mode: "755", secret: false },
    });
  });

  it("configMap: missing key fails unless optional; missing optional ConfigMap gives an empty volume", async () => {
    const data = sourceData([cm("cfg", { a: "1" })]);
    const items = [
      { key: "a", path: "a" },
      { key: "nope", path: "nope" },
    ];
    const error = await resolveError(
      makePod({ volumes: [{ name: "v", configMap: { name: "cfg", items } }] }),
      data,
    );
    expect([error.reason, error.message, error.field]).toEqual([
      "MandatoryConfigMapKeyNotFound",
      "couldn't find key nope in ConfigMap apps/cfg",
      "spec.volumes[0].configMap.items[1]",
    ]);

    const optional = await resolve(
      makePod({ volumes: [{ name: "v", configMap: { name: "cfg", items, optional: true } }] }),
      data,
    );
    expect(Object.keys(files(volume(optional)))).toEqual(["a"]);
    expect(optional.warnings.map((w) => w.reason)).toEqual(["OptionalConfigMapKeyNotFound"]);

    const missing = await resolve(
      makePod({ volumes: [{ name: "v", configMap: { name: "absent", optional: true } }] }),
    );
    expect(volume(missing).files).toEqual([]);
    expect(missing.warnings).toEqual([
      {
        reason: "OptionalConfigMapNotFound",
        message: "optional ConfigMap apps/absent not found; skipped",
        field: "spec.volumes[0].configMap",
      },
    ]);

    const mandatory = await resolveError(
      makePod({ volumes: [{ name: "v", configMap: { name: "absent" } }] }),
    );
    expect([mandatory.reason, mandatory.field]).toEqual([
      "MandatoryConfigMapNotFound",
      "spec.volumes[0].configMap",
    ]);
  });

  it("secret: decoded data (and stringData), secret files, items and modes", async () => {
    const s = secret("tls", { "tls.crt": "CERT", "tls.key": "KEY" });
    s.stringData = { extra: "plain" };
    const whole = await resolve(
      makePod({ volumes: [{ name: "tls", secret: { secretName: "tls", defaultMode: 0o440 } }] }),
      sourceData([s]),
    );
    expect(files(volume(whole))).toEqual({
      extra: { text: "plain", mode: "440", secret: true },
      "tls.crt": { text: "CERT", mode: "440", secret: true },
      "tls.key": { text: "KEY", mode: "440", secret: true },
    });
    expect(whole.references.secrets).toEqual(new Set(["tls"]));

    const items = await resolve(
      makePod({
        volumes: [
          {
            name: "tls",
            secret: { secretName: "tls", items: [{ key: "tls.key", path: "private/key.pem", mode: 0o400 }] },
          },
        ],
      }),
      sourceData([s]),
    );
    expect(files(volume(items))).toEqual({ "private/key.pem": { text: "KEY", mode: "400", secret: true } });

    const missingKey = await resolveError(
      makePod({
        volumes: [{ name: "tls", secret: { secretName: "tls", items: [{ key: "ca.crt", path: "ca.crt" }] } }],
      }),
      sourceData([s]),
    );
    expect([missingKey.reason, missingKey.message]).toEqual([
      "MandatorySecretKeyNotFound",
      "couldn't find key ca.crt in Secret apps/tls",
    ]);

    const missing = await resolveError(
      makePod({ volumes: [{ name: "tls", secret: { secretName: "absent" } }] }),
    );
    expect([missing.reason, missing.field]).toEqual(["MandatorySecretNotFound", "spec.volumes[0].secret"]);
    const optional = await resolve(
      makePod({ volumes: [{ name: "tls", secret: { secretName: "absent", optional: true } }] }),
    );
    expect(volume(optional).files).toEqual([]);
    expect(optional.warnings.map((w) => w.reason)).toEqual(["OptionalSecretNotFound"]);
  });

  it("downwardAPI: metadata fields and container resources, with modes", async () => {
    const pod = makePod(
      {
        containers: [{ name: "app", resources: { requests: { memory: "32Mi" } } }],
        volumes: [
          {
            name: "info",
            downwardAPI: {
              defaultMode: 0o444,
              items: [
                { path: "labels", fieldRef: { fieldPath: "metadata.labels" } },
                { path: "annotations", fieldRef: { fieldPath: "metadata.annotations" }, mode: 0o400 },
                { path: "name", fieldRef: { fieldPath: "metadata.name" } },
                { path: "tier", fieldRef: { fieldPath: "metadata.labels['tier']" } },
                {
                  path: "mem_request",
                  resourceFieldRef: { containerName: "app", resource: "requests.memory", divisor: "1Mi" },
                },
                {
                  path: "cpu_limit",
                  resourceFieldRef: { containerName: "app", resource: "limits.cpu", divisor: "1m" },
                },
              ],
            },
          },
        ],
      },
      { labels: { tier: "web", app: "x" }, annotations: { "build/sha": "abc" } },
    );
    const result = await resolve(pod, {}, { nodeAllocatable: { cpu: "2" } });
    expect(volume(result).kind).toBe("downwardAPI");
    expect(files(volume(result))).toEqual({
      annotations: { text: 'build/sha="abc"', mode: "400", secret: false },
      cpu_limit: { text: "2000", mode: "444", secret: false },
      labels: { text: 'app="x"\ntier="web"', mode: "444", secret: false },
      mem_request: { text: "32", mode: "444", secret: false },
      name: { text: "web-0", mode: "444", secret: false },
      tier: { text: "web", mode: "444", secret: false },
    });
  });

  it("downwardAPI: status fields are not available in volumes", async () => {
    const pod = makePod({
      volumes: [
        { name: "v", downwardAPI: { items: [{ path: "ip", fieldRef: { fieldPath: "status.podIP" } }] } },
      ],
    });
    const error = await resolveError(pod, {}, { podIP: "1.2.3.4" });
    expect([error.reason, error.field]).toEqual([
      "InvalidFieldPath",
      "spec.volumes[0].downwardAPI.items[0].fieldRef",
    ]);
  });

  it("emptyDir keeps medium and sizeLimit; other kinds pass through without files", async () => {
    const volumes: Volume[] = [
      { name: "scratch", emptyDir: { medium: "Memory", sizeLimit: "64Mi" } },
      { name: "plain", emptyDir: {} },
      { name: "defaulted" },
      { name: "host", hostPath: { path: "/var/log" } },
      { name: "data", persistentVolumeClaim: { claimName: "pvc" } },
    ];
    // A claim resolves to its bound PV (persistent-volume.test.ts has the details).
    const result = await resolve(makePod({ volumes }), {
      persistentVolumeClaims: {
        [`${NS}/pvc`]: {
          metadata: { name: "pvc", namespace: NS, uid: "pvc-uid" },
          spec: { volumeName: "pv-1" },
          status: { phase: "Bound" },
        },
      },
      persistentVolumes: {
        "pv-1": {
          metadata: { name: "pv-1" },
          spec: {
            accessModes: ["ReadWriteMany"],
            claimRef: { namespace: NS, name: "pvc", uid: "pvc-uid" },
            nfs: { server: "nfs.example", path: "/export" },
          },
        },
      },
    });
    expect(result.resolved.volumes).toEqual([
      { name: "scratch", kind: "emptyDir", files: [], emptyDir: { medium: "Memory", sizeLimit: "64Mi" } },
      { name: "plain", kind: "emptyDir", files: [], emptyDir: {} },
      { name: "defaulted", kind: "emptyDir", files: [], emptyDir: {} },
      { name: "host", kind: "hostPath", files: [] },
      {
        name: "data",
        kind: "persistentVolumeClaim",
        files: [],
        persistentVolume: {
          claimName: "pvc",
          volumeName: "pv-1",
          readOnly: false,
          accessModes: ["ReadWriteMany"],
          volumeMode: "Filesystem",
          nfs: { server: "nfs.example", path: "/export" },
        },
      },
    ]);
  });

  it("rejects unsafe file paths", async () => {
    for (const path of ["../etc/passwd", "a/../../b", "/abs", "..data/x", ""]) {
      const pod = makePod({
        volumes: [{ name: "v", configMap: { name: "cfg", items: [{ key: "a", path }] } }],
      });
      const error = await resolveError(pod, sourceData([cm("cfg", { a: "1" })]));
      expect(error.reason).toBe("InvalidVolumeSource");
      expect(error.field).toBe("spec.volumes[0].configMap.items[0]");
    }
  });
});

describe("resolvePodConfig: projected volumes", () => {
  const caPem = "-----BEGIN CERTIFICATE-----\nQ0E=\n-----END CERTIFICATE-----\n";

  function kubeApiAccess(name = "kube-api-access-x7k2p"): Volume {
    return {
      name,
      projected: {
        defaultMode: 0o644,
        sources: [
          { serviceAccountToken: { expirationSeconds: 3607, path: "token" } },
          { configMap: { name: "kube-root-ca.crt", items: [{ key: "ca.crt", path: "ca.crt" }] } },
          {
            downwardAPI: {
              items: [{ path: "namespace", fieldRef: { apiVersion: "v1", fieldPath: "metadata.namespace" } }],
            },
          },
        ],
      },
    };
  }

  it("resolves the default kube-api-access volume", async () => {
    tokenRequests.length = 0;
    const pod = makePod({ serviceAccountName: "builder", volumes: [kubeApiAccess()] });
    const result = await resolve(
      pod,
      sourceData([cm("kube-root-ca.crt", { "ca.crt": caPem })], { issueToken }),
    );
    const v = volume(result);
    expect([v.name, v.kind]).toEqual(["kube-api-access-x7k2p", "projected"]);
    expect(files(v)).toEqual({
      "ca.crt": { text: caPem, mode: "644", secret: false },
      namespace: { text: NS, mode: "644", secret: false },
      token: {
        text: matching(/^token-\d+-api$/),
        mode: "644",
        secret: true,
      },
    });
    expect(tokenRequests).toEqual([
      {
        namespace: NS,
        serviceAccountName: "builder",
        expirationSeconds: 3607,
        boundPod: { name: "web-0", uid: "uid-123" },
      },
    ]);
    // 80 % of 3607 s = 2885.6 s after issue.
    expect(result.tokenExpiries).toEqual([new Date(NOW.getTime() + 2885.6 * 1000)]);
    expect(result.references.configMaps).toEqual(new Set(["kube-root-ca.crt"]));
  });

  it("combines sources in order (later paths win), with audiences, defaults and secret flags", async () => {
    tokenRequests.length = 0;
    const pod = makePod({
      volumes: [
        {
          name: "all",
          projected: {
            defaultMode: 0o440,
            sources: [
              {
                configMap: {
                  name: "cfg",
                  items: [
                    { key: "shared", path: "shared" },
                    { key: "a", path: "a", mode: 0o600 },
                  ],
                },
              },
              { secret: { name: "sec", items: [{ key: "shared", path: "shared" }] } },
              { secret: { name: "absent", optional: true } },
              { serviceAccountToken: { audience: "vault", path: "vault/token" } },
              { downwardAPI: { items: [{ path: "labels", fieldRef: { fieldPath: "metadata.labels" } }] } },
            ],
          },
        },
      ],
    });
    const data = sourceData(
      [cm("cfg", { shared: "from-cm", a: "A" }), secret("sec", { shared: "from-secret" })],
      { issueToken },
    );
    const result = await resolve(pod, data);
    expect(files(volume(result))).toEqual({
      a: { text: "A", mode: "600", secret: false },
      labels: { text: "", mode: "440", secret: false },
      shared: { text: "from-secret", mode: "440", secret: true },
      "vault/token": {
        text: matching(/-vault$/),
        mode: "440",
        secret: true,
      },
    });
    expect(tokenRequests).toEqual([
      {
        namespace: NS,
        serviceAccountName: "default",
        audiences: ["vault"],
        expirationSeconds: 3600,
        boundPod: { name: "web-0", uid: "uid-123" },
      },
    ]);
    expect(result.warnings.map((w) => w.reason)).toEqual(["OptionalSecretNotFound"]);
    expect(result.references).toEqual({ configMaps: new Set(["cfg"]), secrets: new Set(["sec", "absent"]) });
  });

  it("token and trust bundle files are 0600 when the pod has an fsGroup or a single runAsUser", async () => {
    const data = sourceData([cm("kube-root-ca.crt", { "ca.crt": caPem })], { issueToken });
    const modes = async (spec: Partial<PodSpec>) =>
      files(volume(await resolve(makePod({ volumes: [kubeApiAccess()], ...spec }), data)));
    expect((await modes({ securityContext: { fsGroup: 2000 } })).token?.mode).toBe("600");
    expect((await modes({ securityContext: { runAsUser: 1000 } })).token?.mode).toBe("600");
    expect((await modes({ securityContext: { fsGroup: 2000 } }))["ca.crt"]?.mode).toBe("644");
    const mixed = await modes({
      containers: [
        { name: "a", securityContext: { runAsUser: 1000 } },
        { name: "b", securityContext: { runAsUser: 1001 } },
      ],
    });
    expect(mixed.token?.mode).toBe("644");
  });

  it("missing mandatory projected sources fail with the source's field", async () => {
    const pod = makePod({ volumes: [kubeApiAccess()] });
    const error = await resolveError(pod, { issueToken });
    expect([error.reason, error.field]).toEqual([
      "MandatoryConfigMapNotFound",
      "spec.volumes[0].projected.sources[1].configMap",
    ]);
  });

  it("serviceAccountToken needs a source that issues tokens, and a valid lifetime", async () => {
    const data = sourceData([cm("kube-root-ca.crt", { "ca.crt": caPem })]);
    const noTokens = await resolveError(makePod({ volumes: [kubeApiAccess()] }), data);
    expect([noTokens.reason, noTokens.field]).toEqual([
      "ServiceAccountTokenUnavailable",
      "spec.volumes[0].projected.sources[0].serviceAccountToken",
    ]);
    const tooShort = makePod({
      volumes: [
        {
          name: "t",
          projected: { sources: [{ serviceAccountToken: { path: "t", expirationSeconds: 300 } }] },
        },
      ],
    });
    expect((await resolveError(tooShort, { issueToken })).reason).toBe("InvalidVolumeSource");
  });

  it("refresh times: one per distinct token, 80 % of lifetime or 24 h, ascending", async () => {
    tokenRequests.length = 0;
    const token = (path: string, expirationSeconds?: number, audience?: string) => ({
      serviceAccountToken: {
        path,
        ...(expirationSeconds ? { expirationSeconds } : {}),
        ...(audience ? { audience } : {}),
      },
    });
    const pod = makePod({
      volumes: [
        { name: "a", projected: { sources: [token("t1", 7200), token("t2")] } },
        { name: "b", projected: { sources: [token("t3", 7200), token("t4", 172800, "long")] } },
      ],
    });
    const result = await resolve(pod, { issueToken });
    expect(tokenRequests).toHaveLength(3); // t1 and t3 share a token
    expect(text(volume(result, 0).files.find((f) => f.path === "t1")?.content ?? new Uint8Array())).toBe(
      text(volume(result, 1).files.find((f) => f.path === "t3")?.content ?? new Uint8Array()),
    );
    expect(result.tokenExpiries).toEqual([
      new Date(NOW.getTime() + 2880 * 1000), // 3600 s × 0.8
      new Date(NOW.getTime() + 5760 * 1000), // 7200 s × 0.8
      new Date(NOW.getTime() + 24 * 3600 * 1000), // 48 h token: refreshed at 24 h
    ]);
  });

  it("tokenRefreshTime honours issuedAt from caching sources", () => {
    const issuedAt = new Date(NOW.getTime() - 1000 * 1000);
    const expirationTimestamp = new Date(issuedAt.getTime() + 3600 * 1000);
    expect(tokenRefreshTime({ issuedAt, expirationTimestamp }, NOW)).toEqual(
      new Date(issuedAt.getTime() + 2880 * 1000),
    );
    expect(
      tokenRefreshTime({ expirationTimestamp: new Date(NOW.getTime() + 365 * 86400 * 1000) }, NOW),
    ).toEqual(new Date(NOW.getTime() + 86400 * 1000));
  });

  describe("clusterTrustBundle", () => {
    const der = (n: number) => Buffer.from(Array.from({ length: 70 }, (_, i) => (i * n) % 256));
    const pemOf = (bytes: Buffer, type = "CERTIFICATE") =>
      `-----BEGIN ${type}-----\n${(bytes.toString("base64").match(/.{1,64}/g) ?? []).join("\n")}\n-----END ${type}-----\n`;
    const [one, two] = [der(3), der(7)];
    const bundles = [
      {
        name: "a",
        signerName: "example.com/signer",
        labels: { env: "prod" },
        trustBundle: pemOf(two) + pemOf(one),
      },
      {
        name: "b",
        signerName: "example.com/signer",
        labels: { env: "prod" },
        trustBundle: `junk\n${pemOf(one)}`,
      },
      { name: "c", signerName: "other.com/signer", labels: { env: "prod" }, trustBundle: pemOf(der(11)) },
    ];
    const projected = (
      clusterTrustBundle: NonNullable<
        NonNullable<NonNullable<Volume["projected"]>["sources"]>[number]["clusterTrustBundle"]
      >,
    ) => makePod({ volumes: [{ name: "ctb", projected: { sources: [{ clusterTrustBundle }] } }] });
    const sorted = [one, two].sort((x, y) => Buffer.compare(x, y));

    it("by signer: deduplicated, sorted PEM of matching bundles", async () => {
      const pod = projected({
        signerName: "example.com/signer",
        labelSelector: { matchLabels: { env: "prod" } },
        path: "ca.pem",
      });
      const result = await resolve(pod, { clusterTrustBundles: bundles });
      expect(files(volume(result))).toEqual({
        "ca.pem": { text: sorted.map((d) => pemOf(d)).join(""), mode: "644", secret: false },
      });
    });

    it("by name; missing bundles fail unless optional", async () => {
      const byName = await resolve(projected({ name: "c", path: "ca.pem" }), {
        clusterTrustBundles: bundles,
      });
      expect(files(volume(byName))["ca.pem"]?.text).toBe(pemOf(der(11)));

      const missing = await resolveError(projected({ name: "zzz", path: "ca.pem" }), {
        clusterTrustBundles: bundles,
      });
      expect([missing.reason, missing.field]).toEqual([
        "ClusterTrustBundleNotFound",
        "spec.volumes[0].projected.sources[0].clusterTrustBundle",
      ]);
      // No selector: matches nothing.
      const optional = await resolve(
        projected({ signerName: "example.com/signer", path: "ca.pem", optional: true }),
        {
          clusterTrustBundles: bundles,
        },
      );
      expect(files(volume(optional))).toEqual({ "ca.pem": { text: "", mode: "644", secret: false } });
      expect(optional.warnings.map((w) => w.reason)).toEqual(["ClusterTrustBundleNotFound"]);
    });

    it("without source support: ConfigError, or a warning and an empty file when optional", async () => {
      const error = await resolveError(projected({ name: "a", path: "ca.pem" }));
      expect(error.reason).toBe("ClusterTrustBundleUnavailable");
      const optional = await resolve(projected({ name: "a", path: "ca.pem", optional: true }));
      expect(files(volume(optional))["ca.pem"]?.text).toBe("");
      expect(optional.warnings.map((w) => w.reason)).toEqual(["ClusterTrustBundleUnavailable"]);
      const neither = await resolveError(projected({ path: "ca.pem" }), { clusterTrustBundles: bundles });
      expect(neither.reason).toBe("InvalidVolumeSource");
    });
  });

  it("rejects podCertificate projections as unsupported", async () => {
    const pod = makePod({
      volumes: [
        {
          name: "p",
          projected: { sources: [{ podCertificate: { signerName: "x/y", keyType: "ED25519" } }] },
        },
      ],
    });
    await expect(resolve(pod)).rejects.toBeInstanceOf(UnsupportedError);
  });
});
