/** Builders of resolved pods for the ACI tests. */
import type { Pod, ResolvedEnvVar, ResolvedPod, ResolvedVolume } from "@virtual-node/core";

type Spec = NonNullable<Pod["spec"]>;

/** A resolved pod from a pod spec: env from `env[].value` (plain), plus `secretEnv` marked secret. */
export function resolvedPod(
  spec: Partial<Spec> & { containers: Spec["containers"] },
  extra: {
    name?: string;
    namespace?: string;
    uid?: string;
    annotations?: Record<string, string>;
    volumes?: ResolvedVolume[];
    secretEnv?: Record<string, Record<string, string>>;
    nodeName?: string;
  } = {},
): ResolvedPod {
  const namespace = extra.namespace ?? "default";
  const name = extra.name ?? "web";
  const uid = extra.uid ?? "0b7f3c1e-8d2a-4c55-9a1e-2f6d7c8b9a01";
  const nodeName = extra.nodeName ?? "vn-aci";
  const resolve = (c: Spec["containers"][number]) => {
    const env: ResolvedEnvVar[] = (c.env ?? []).map((e) => ({
      name: e.name,
      value: e.value ?? "",
      secret: false,
      source: { kind: "value" },
    }));
    for (const [k, v] of Object.entries(extra.secretEnv?.[c.name] ?? {}))
      env.push({ name: k, value: v, secret: true, source: { kind: "secret", name: "creds", key: k } });
    return { name: c.name, env, command: c.command, args: c.args };
  };
  return {
    ref: { namespace, name, uid },
    nodeName,
    pod: {
      apiVersion: "v1",
      kind: "Pod",
      metadata: { namespace, name, uid, annotations: extra.annotations ?? {} },
      spec: { nodeName, ...spec },
    },
    containers: spec.containers.map(resolve),
    initContainers: (spec.initContainers ?? []).map(resolve),
    volumes: extra.volumes ?? [],
  };
}

const enc = new TextEncoder();

/** A resolved file. */
export function file(path: string, text: string, secret = false) {
  return { path, content: enc.encode(text), mode: 0o644, secret };
}
