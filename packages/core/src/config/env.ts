/** Env var rules of the resolver that need no cluster reads: service link variables. */
import type { Service } from "./types.js";

/** `envvars.FromServices` for one service: `<NAME>_SERVICE_HOST`, `_SERVICE_PORT[_<PORT>]`, docker links. */
export function serviceLinkVars(service: Service): [string, string][] {
  const clusterIP = service.spec?.clusterIP ?? "";
  const ports = service.spec?.ports ?? [];
  const first = ports[0];
  if (first === undefined) return [];
  const prefix = envVarNameOf(service.metadata?.name ?? "");
  const vars: [string, string][] = [
    [`${prefix}_SERVICE_HOST`, clusterIP],
    [`${prefix}_SERVICE_PORT`, String(first.port)],
  ];
  for (const port of ports) {
    if (port.name !== undefined && port.name !== "") {
      vars.push([`${prefix}_SERVICE_PORT_${envVarNameOf(port.name)}`, String(port.port)]);
    }
  }
  const host = clusterIP.includes(":") ? `[${clusterIP}]` : clusterIP;
  for (const [i, port] of ports.entries()) {
    const protocol = port.protocol !== undefined && port.protocol !== "" ? port.protocol : "TCP";
    const url = `${protocol.toLowerCase()}://${host}:${port.port}`;
    if (i === 0) vars.push([`${prefix}_PORT`, url]);
    const portPrefix = `${prefix}_PORT_${port.port}_${protocol.toUpperCase()}`;
    vars.push(
      [portPrefix, url],
      [`${portPrefix}_PROTO`, protocol.toLowerCase()],
      [`${portPrefix}_PORT`, String(port.port)],
      [`${portPrefix}_ADDR`, clusterIP],
    );
  }
  return vars;
}

function envVarNameOf(name: string): string {
  return name.replaceAll("-", "_").toUpperCase();
}
