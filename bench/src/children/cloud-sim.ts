/**
 * One provider's stateful cloud simulator (the one its own tests use, from packages/provider-* /test),
 * in its own process for the cloud-calls scenario. The simulators are TypeScript test code: this child
 * runs on Node 24 with `--experimental-transform-types` and maps their `./x.js` imports to `./x.ts`, so
 * they run unchanged, reading their schemas and fixtures from where they are. Every request they receive
 * is recorded by the simulator itself; a control endpoint on loopback serves the tally.
 *
 * Usage: node --experimental-transform-types cloud-sim.js '<SimJob JSON>'
 * Writes `{ endpoint, control }` to `job.out` once listening. `GET <control>/calls` answers
 * `SimTally` (cloud-calls.ts).
 */
import { existsSync } from "node:fs";
import { rename, writeFile } from "node:fs/promises";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { registerHooks } from "node:module";
import { fileURLToPath } from "node:url";

// Types only (erased): the modules themselves are loaded at run time, from their TypeScript sources.
import type * as AciSim from "../../../packages/provider-aci/test/simulator/simulator.js";
import type * as AwsSim from "../../../packages/provider-fargate/test/simulator/server.js";
import type * as CloudRunSim from "../../../packages/provider-cloudrun/test/simulator/server.js";
import type * as InterLinkSim from "../../../packages/provider-interlink/test/simulator/simulator.js";
import { tally, type CloudProviderId, type RecordedCall } from "../cloud-calls.js";

export interface SimJob {
  readonly provider: CloudProviderId;
  /** Where to write {@link SimReady}. */
  readonly out: string;
}

export interface SimReady {
  /** What the provider is pointed at: a base URL (ACI, Fargate, interLink) or `http://127.0.0.1:<port>` (Cloud Run). */
  readonly endpoint: string;
  /** The control endpoint, `http://127.0.0.1:<port>`. */
  readonly control: string;
  /** PEM of the simulator's TLS certificate, when it serves HTTPS (ACI). */
  readonly caPem?: string;
}

// The simulators import their siblings as `./x.js` (TypeScript's nodenext convention): map to `./x.ts`.
registerHooks({
  resolve(specifier, context, nextResolve) {
    const parent = context.parentURL;
    if (parent?.endsWith(".ts") === true && specifier.startsWith(".") && specifier.endsWith(".js")) {
      const asJs = new URL(specifier, parent);
      const asTs = new URL(asJs.href.replace(/\.js$/, ".ts"));
      if (!existsSync(fileURLToPath(asJs)) && existsSync(fileURLToPath(asTs)))
        return nextResolve(asTs.href, context);
    }
    return nextResolve(specifier, context);
  },
});

/** packages/ of the repository: this file runs from bench/dist/children. */
const packages = new URL("../../../packages/", import.meta.url);
const load = <T>(path: string): Promise<T> => import(new URL(path, packages).href) as Promise<T>;

interface Running {
  readonly endpoint: string;
  readonly caPem?: string;
  requests(): readonly RecordedCall[];
  violations(): number;
}

/** Pods the simulated site or account accepts: far more than the scenario runs. */
const CAPACITY_PODS = "110000";

async function start(provider: CloudProviderId): Promise<Running> {
  switch (provider) {
    case "aci": {
      const { AciSimulator, SIMULATOR_CA } = await load<typeof AciSim>(
        "provider-aci/test/simulator/simulator.ts",
      );
      // ARM's subscription read/write quotas (12,000 / 1,200 per hour in the simulator) are not what is
      // measured: 1,000 creates and deletes alone exceed the write quota.
      const sim = new AciSimulator({ readQuota: 100_000_000, writeQuota: 100_000_000 });
      const endpoint = await sim.start();
      return {
        endpoint,
        caPem: SIMULATOR_CA,
        requests: () => sim.requests,
        violations: () => sim.violations.length,
      };
    }
    case "fargate": {
      const { startAwsSimulator } = await load<typeof AwsSim>("provider-fargate/test/simulator/server.ts");
      const sim = await startAwsSimulator({ clusters: ["vn-bench"] });
      return {
        endpoint: sim.url,
        requests: () => sim.requests.map((r) => ({ operation: r.operation, method: "POST" })),
        violations: () => sim.violations.length,
      };
    }
    case "cloudrun": {
      const { startSimulator } = await load<typeof CloudRunSim>("provider-cloudrun/test/simulator/server.ts");
      const { systemClock } = await import("@virtual-node/core");
      const server = await startSimulator({ clock: systemClock });
      return {
        endpoint: `http://127.0.0.1:${String(server.port)}`,
        requests: () => server.sim.requests,
        violations: () => server.sim.violations.length,
      };
    }
    case "interlink": {
      const { startInterLinkSimulator } = await load<typeof InterLinkSim>(
        "provider-interlink/test/simulator/simulator.ts",
      );
      // The site reports room for the pods and no taint.
      const sim = await startInterLinkSimulator({
        ping: {
          status: "ok",
          resources: { cpu: "100000", memory: "400Ti", pods: CAPACITY_PODS },
          taints: [],
        },
      });
      return {
        endpoint: sim.url,
        requests: () => sim.requests.map((r) => ({ operation: r.op, method: r.method })),
        violations: () => sim.violations.length,
      };
    }
  }
}

const job = JSON.parse(process.argv[2] ?? "{}") as SimJob;
const sim = await start(job.provider);
const control = createServer((req, res) => {
  if (req.url !== "/calls") {
    res.writeHead(404).end();
    return;
  }
  res.writeHead(200, { "content-type": "application/json" });
  res.end(JSON.stringify(tally(sim.requests(), sim.violations())));
});
await new Promise<void>((resolve) => control.listen(0, "127.0.0.1", resolve));
const ready: SimReady = {
  endpoint: sim.endpoint,
  ...(sim.caPem === undefined ? {} : { caPem: sim.caPem }),
  control: `http://127.0.0.1:${String((control.address() as AddressInfo).port)}`,
};
// Written whole, then renamed: the harness polls for the file and must never read it half written.
await writeFile(`${job.out}.tmp`, JSON.stringify(ready));
await rename(`${job.out}.tmp`, job.out);
process.stdout.write(`READY ${ready.endpoint} (control ${ready.control})\n`);
const stop = () => {
  process.exit(0);
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
