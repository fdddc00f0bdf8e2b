import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { CoreV1Api, KubeConfig } from "@kubernetes/client-node";

import { resolveBinaries, type ControlPlaneBinaries, type ResolveBinariesOptions } from "./binaries.js";
import {
  apiServerArgs,
  controllerManagerArgs,
  etcdArgs,
  schedulerArgs,
  schedulerConfiguration,
  type ComponentName,
} from "./components.js";
import { ErrorCode, TestingError } from "./errors.js";
import { waitForHealthy, type HttpTls } from "./health.js";
import {
  createIdentityMinter,
  type ClientIdentity,
  type ClientIdentityOptions,
  type ServiceAccountTokenOptions,
} from "./identity.js";
import { writeKubeconfig } from "./kubeconfig.js";
import { createClusterPki, SERVICE_ACCOUNT_ISSUER, type CertKeyPaths, type ClusterPki } from "./pki.js";
import { LOOPBACK, allocatePorts, isAddressInUse } from "./ports.js";
import { spawnComponent, type ComponentProcess, type DeathSignalStrategy } from "./process.js";
import { formatDuration, silentProgress, type ProgressSink } from "./progress.js";
import type { BinaryName } from "./versions.js";

/** The optional components; etcd and kube-apiserver always run. */
export type OptionalComponent = "kube-controller-manager" | "kube-scheduler";

export interface ComponentExtraArgs {
  readonly etcd?: readonly string[];
  readonly apiServer?: readonly string[];
  readonly controllerManager?: readonly string[];
  readonly scheduler?: readonly string[];
}

export interface StartControlPlaneOptions {
  /** Which optional components to run. Default: both. */
  readonly components?: readonly OptionalComponent[];
  /** Extra flags per component; `--flag=value` replaces a default of the same flag. */
  readonly extraArgs?: ComponentExtraArgs;
  /**
   * Default true. false: no inflight limits and no priority & fairness on the apiserver, and very high client
   * QPS/burst for controller-manager and scheduler (for load tests).
   */
  readonly apiServerRequestLimits?: boolean;
  /** kube-controller-manager --node-monitor-grace-period (Go duration). Default: Kubernetes' (50s). */
  readonly nodeMonitorGracePeriod?: string;
  /** kube-controller-manager --node-monitor-period (Go duration). Default: Kubernetes' (5s). */
  readonly nodeMonitorPeriod?: string;
  /** --kubelet-certificate-authority for the apiserver. Default unset (kubelet serving certs not verified). */
  readonly kubeletCertificateAuthority?: string;
  /** klog verbosity (--v) of the Kubernetes components. Default: their default. */
  readonly verbosity?: number;
  /** Harness progress messages. Default: silent. */
  readonly progress?: ProgressSink;
  /** Binaries to use instead of resolving them (missing ones are still resolved). */
  readonly binaries?: Partial<ControlPlaneBinaries>;
  /** Options for resolving (and, when needed, building) the binaries. */
  readonly resolve?: Omit<ResolveBinariesOptions, "required" | "signal">;
  /** Parent of the control plane's temporary directory. Default: the OS temp dir. */
  readonly baseDir?: string;
  /** Keep the temporary directory (logs, data, PKI) after stop or a failed start. Default: VIRTUAL_NODE_KEEP_TMP=1. */
  readonly keepTempDir?: boolean;
  /** Time each component gets to become ready. Default 60 s. */
  readonly startTimeoutMs?: number;
  /** Time between SIGTERM and SIGKILL when stopping. Default 10 s. */
  readonly stopTimeoutMs?: number;
  /** Port attempts per component when a port turns out to be taken. Default 4. */
  readonly portAttempts?: number;
  readonly deathSignal?: DeathSignalStrategy;
  readonly signal?: AbortSignal;
}

export interface ControlPlanePorts {
  readonly etcdClient: number;
  readonly etcdPeer: number;
  readonly apiServer: number;
  readonly controllerManager?: number;
  readonly scheduler?: number;
}

/** Apiserver's client certificate for talking to kubelets, and the CA that signed it. */
export interface KubeletClientCertPaths extends CertKeyPaths {
  readonly caPath: string;
}

/** Everything needed to use a running control plane from another process (JSON-serialisable). */
export interface ControlPlaneInfo {
  readonly server: string;
  readonly kubeconfigPath: string;
  readonly caCertPem: string;
  readonly caCertPath: string;
  /** The CA key lets other processes mint client identities. Test clusters only. */
  readonly caKeyPath: string;
  readonly identitiesDir: string;
  readonly binaries: ControlPlaneBinaries;
  readonly kubeletClientCertPaths: KubeletClientCertPaths;
  readonly ports: ControlPlanePorts;
  readonly tempDir: string;
  readonly serviceAccountIssuer: string;
  readonly nodeMonitorGracePeriod?: string;
  readonly nodeMonitorPeriod?: string;
}

/** A usable connection to a control plane: admin access plus identity minting. */
export interface ControlPlaneHandle {
  /** Admin (system:masters) KubeConfig. */
  readonly kubeConfig: KubeConfig;
  /** Admin kubeconfig file. */
  readonly kubeconfigPath: string;
  readonly server: string;
  readonly caCertPem: string;
  readonly binaries: ControlPlaneBinaries;
  readonly kubeletClientCertPaths: KubeletClientCertPaths;
  readonly info: ControlPlaneInfo;
  /** Issues a client certificate for `user`/`groups` and writes a kubeconfig for it. */
  mintClientIdentity(options: ClientIdentityOptions): Promise<ClientIdentity>;
  /** The identity a kubelet for `nodeName` has: user system:node:<name>, group system:nodes. */
  nodeIdentity(nodeName: string): Promise<ClientIdentity>;
  /** A TokenRequest token for the service account (created when missing). */
  serviceAccountToken(namespace: string, name: string, options?: ServiceAccountTokenOptions): Promise<string>;
}

/** Options of {@link ControlPlane.restart}. */
export interface RestartOptions {
  /** SIGKILL instead of SIGTERM (a crash: no graceful shutdown). Default false. */
  readonly kill?: boolean;
  /** Time the component is down between the stop and the start. Default 0. */
  readonly downMs?: number;
}

/** A control plane started by this process. */
export interface ControlPlane extends ControlPlaneHandle, AsyncDisposable {
  readonly ports: ControlPlanePorts;
  readonly tempDir: string;
  /** Log file of each component; a restarted component appends to the same file. */
  readonly logFiles: Readonly<Partial<Record<ComponentName, string>>>;
  /** pid of each running component (a stopped one is absent; a restarted one has its new pid). */
  readonly pids: Readonly<Partial<Record<ComponentName, number>>>;
  /** Wall-clock time from the call to ready (binaries resolution included). */
  readonly startupMs: number;
  /**
   * Without an argument: stops every component (SIGTERM, then SIGKILL after the timeout) in dependency
   * order and removes the temp dir; idempotent, never waits longer than the stop timeout plus a few
   * seconds, and removes the temp dir even when a component would not die.
   * With a component: stops only that one (SIGTERM, then SIGKILL); {@link start} brings it back.
   */
  stop(component?: ComponentName): Promise<void>;
  /** SIGKILLs one component (a crash); it stays down until {@link start}. */
  kill(component: ComponentName): Promise<void>;
  /**
   * Starts a stopped or killed component again with the same flags, ports and data dir, and waits until
   * it is healthy. A running component is left alone.
   */
  start(component: ComponentName): Promise<void>;
  /** Stops (or, with `kill`, SIGKILLs) a component and starts it again as {@link start} does. */
  restart(component: ComponentName, options?: RestartOptions): Promise<void>;
  /** True while the component's current process runs. */
  isRunning(component: ComponentName): boolean;
}

const DEFAULT_COMPONENTS: readonly OptionalComponent[] = ["kube-controller-manager", "kube-scheduler"];

function checkAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted === true) {
    throw new TestingError(ErrorCode.Aborted, "control-plane start-up was aborted");
  }
}

async function resolveNeededBinaries(
  options: StartControlPlaneOptions,
  components: readonly OptionalComponent[],
) {
  const given = options.binaries ?? {};
  const required: BinaryName[] = [];
  if (given.etcd === undefined) required.push("etcd");
  if (given.kubeApiserver === undefined) required.push("kube-apiserver");
  if (components.includes("kube-controller-manager") && given.kubeControllerManager === undefined) {
    required.push("kube-controller-manager");
  }
  if (components.includes("kube-scheduler") && given.kubeScheduler === undefined) {
    required.push("kube-scheduler");
  }
  if (required.length === 0) {
    return given as ControlPlaneBinaries;
  }
  const resolved = await resolveBinaries({
    ...options.resolve,
    required,
    ...(options.signal === undefined ? {} : { signal: options.signal }),
  });
  return {
    etcd: given.etcd ?? resolved.etcd,
    kubeApiserver: given.kubeApiserver ?? resolved.kubeApiserver,
    kubeControllerManager: given.kubeControllerManager ?? resolved.kubeControllerManager,
    kubeScheduler: given.kubeScheduler ?? resolved.kubeScheduler,
    kubectl: given.kubectl ?? resolved.kubectl,
  };
}

interface LaunchSpec {
  readonly name: ComponentName;
  readonly command: string;
  /** Number of ports the component needs. */
  readonly portCount: number;
  readonly args: (ports: readonly number[]) => string[];
  readonly health: (ports: readonly number[]) => { url: string; tls?: HttpTls };
}

interface Launched {
  readonly spec: LaunchSpec;
  readonly process: ComponentProcess;
  readonly ports: readonly number[];
}

interface LaunchContext {
  readonly logDir: string;
  readonly attempts: number;
  readonly timeoutMs: number;
  readonly deathSignal: DeathSignalStrategy | undefined;
  readonly signal: AbortSignal | undefined;
  /** Every process ever spawned, so that stop() reaches each one. */
  readonly started: ComponentProcess[];
}

/** Spawns `spec` on `ports` (recorded in ctx.started). */
function spawnSpec(
  spec: LaunchSpec,
  ports: readonly number[],
  logFile: string,
  ctx: LaunchContext,
): ComponentProcess {
  const proc = spawnComponent({
    name: spec.name,
    command: spec.command,
    args: spec.args(ports),
    logFile,
    ...(ctx.deathSignal === undefined ? {} : { deathSignal: ctx.deathSignal }),
  });
  ctx.started.push(proc);
  return proc;
}

/** Waits until `proc`, started from `spec` on `ports`, is healthy. */
async function awaitHealthy(
  spec: LaunchSpec,
  proc: ComponentProcess,
  ports: readonly number[],
  ctx: LaunchContext,
): Promise<ComponentProcess> {
  const health = spec.health(ports);
  await waitForHealthy({
    url: health.url,
    ...(health.tls === undefined ? {} : { tls: health.tls }),
    component: proc,
    timeoutMs: ctx.timeoutMs,
    ...(ctx.signal === undefined ? {} : { signal: ctx.signal }),
  });
  return proc;
}

/**
 * Starts one component and waits for it to be healthy. When it exits complaining that its address is in
 * use (the free-port race), it is retried on fresh ports.
 */
async function launch(spec: LaunchSpec, ctx: LaunchContext): Promise<Launched> {
  for (let attempt = 1; ; attempt++) {
    checkAborted(ctx.signal);
    const ports = await allocatePorts(spec.portCount);
    const logFile = join(ctx.logDir, attempt === 1 ? `${spec.name}.log` : `${spec.name}.${attempt}.log`);
    const proc = spawnSpec(spec, ports, logFile, ctx);
    try {
      return { spec, process: await awaitHealthy(spec, proc, ports, ctx), ports };
    } catch (error) {
      const exited = proc.exitStatus() !== undefined;
      if (exited && attempt < ctx.attempts && isAddressInUse(await proc.readLog())) {
        continue;
      }
      if (exited && isAddressInUse(await proc.readLog())) {
        throw new TestingError(
          ErrorCode.PortUnavailable,
          `${spec.name} could not bind a free port in ${ctx.attempts} attempts`,
          { cause: error, logTail: await proc.logTail(), logFile },
        );
      }
      throw error;
    }
  }
}

/** Extra time stop() waits for processes after the SIGKILL before it gives up on them. */
const KILL_GRACE_MS = 5_000;

/**
 * Stops in dependency order (clients of the apiserver, the apiserver, etcd); each step is bounded by
 * `timeoutMs` plus the kill grace, so a process that ignores even SIGKILL (D state) cannot hang it.
 */
async function stopAll(processes: readonly ComponentProcess[], timeoutMs: number): Promise<void> {
  const byName = (name: ComponentName) => processes.filter((p) => p.name === name);
  const bounded = async (group: readonly ComponentProcess[]): Promise<void> => {
    let timer: NodeJS.Timeout | undefined;
    const giveUp = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, timeoutMs + KILL_GRACE_MS);
      timer.unref();
    });
    await Promise.race([Promise.all(group.map((p) => p.stop({ timeoutMs }))), giveUp]);
    clearTimeout(timer);
  };
  await bounded([...byName("kube-scheduler"), ...byName("kube-controller-manager")]);
  await bounded(byName("kube-apiserver"));
  await bounded(processes);
}

/**
 * Starts etcd, kube-apiserver and (by default) kube-controller-manager and kube-scheduler as local processes
 * on free loopback ports, with a fresh PKI, and waits until they are ready.
 */
export async function startControlPlane(options: StartControlPlaneOptions = {}): Promise<ControlPlane> {
  const startedAt = Date.now();
  const progress = options.progress ?? silentProgress();
  const components = options.components ?? DEFAULT_COMPONENTS;
  const requestLimits = options.apiServerRequestLimits ?? true;
  const keepTempDir = options.keepTempDir ?? process.env.VIRTUAL_NODE_KEEP_TMP === "1";
  const timeoutMs = options.startTimeoutMs ?? 60_000;
  const stopTimeoutMs = options.stopTimeoutMs ?? 10_000;
  const verbosity = options.verbosity === undefined ? [] : [`--v=${options.verbosity}`];
  const extra = options.extraArgs ?? {};

  const binaries = await resolveNeededBinaries(options, components);
  checkAborted(options.signal);

  const parent = options.baseDir ?? tmpdir();
  await mkdir(parent, { recursive: true });
  const tempDir = await mkdtemp(join(parent, "virtual-node-cp-"));
  const logDir = join(tempDir, "logs");
  const identitiesDir = join(tempDir, "identities");
  const certDir = join(tempDir, "component-certs");
  await Promise.all([logDir, identitiesDir, certDir].map((d) => mkdir(d, { recursive: true, mode: 0o700 })));

  const started: ComponentProcess[] = [];
  const ctx: LaunchContext = {
    logDir,
    attempts: options.portAttempts ?? 4,
    timeoutMs,
    deathSignal: options.deathSignal,
    signal: options.signal,
    started,
  };

  try {
    const pki: ClusterPki = await createClusterPki(join(tempDir, "pki"));
    const caCertPem = pki.ca.certPem;
    const adminTls: HttpTls = { ca: caCertPem, cert: pki.admin.certPem, key: pki.admin.keyPem };

    const etcd = await launch(
      {
        name: "etcd",
        command: binaries.etcd,
        portCount: 2,
        args: ([client = 0, peer = 0]) =>
          etcdArgs({
            dataDir: join(tempDir, "etcd"),
            clientPort: client,
            peerPort: peer,
            extraArgs: extra.etcd ?? [],
          }),
        health: ([client = 0]) => ({ url: `http://${LOOPBACK}:${client}/health` }),
      },
      ctx,
    );
    const [etcdClient = 0, etcdPeer = 0] = etcd.ports;
    progress.line(`etcd ready on ${LOOPBACK}:${etcdClient} (${formatDuration(Date.now() - startedAt)})`);

    const apiserver = await launch(
      {
        name: "kube-apiserver",
        command: binaries.kubeApiserver,
        portCount: 1,
        args: ([port = 0]) => [
          ...apiServerArgs({
            securePort: port,
            etcdClientPort: etcdClient,
            pki: pki.paths,
            requestLimits,
            certDir: join(certDir, "kube-apiserver"),
            ...(options.kubeletCertificateAuthority === undefined
              ? {}
              : { kubeletCertificateAuthority: options.kubeletCertificateAuthority }),
            extraArgs: [...verbosity, ...(extra.apiServer ?? [])],
          }),
        ],
        health: ([port = 0]) => ({ url: `https://${LOOPBACK}:${port}/readyz`, tls: adminTls }),
      },
      ctx,
    );
    const [apiServerPort = 0] = apiserver.ports;
    const server = `https://${LOOPBACK}:${apiServerPort}`;
    progress.line(`kube-apiserver ready at ${server} (${formatDuration(Date.now() - startedAt)})`);

    const kubeconfigPath = join(tempDir, "admin.kubeconfig");
    const kubeConfig = await writeKubeconfig(kubeconfigPath, {
      server,
      caCertPem,
      clientCertPem: pki.admin.certPem,
      clientKeyPem: pki.admin.keyPem,
      userName: "admin",
    });
    const kcmKubeconfig = join(tempDir, "kube-controller-manager.kubeconfig");
    await writeKubeconfig(kcmKubeconfig, {
      server,
      caCertPem,
      clientCertPem: pki.controllerManager.certPem,
      clientKeyPem: pki.controllerManager.keyPem,
      userName: "system:kube-controller-manager",
    });
    const schedulerKubeconfig = join(tempDir, "kube-scheduler.kubeconfig");
    await writeKubeconfig(schedulerKubeconfig, {
      server,
      caCertPem,
      clientCertPem: pki.scheduler.certPem,
      clientKeyPem: pki.scheduler.keyPem,
      userName: "system:kube-scheduler",
    });
    const schedulerConfigPath = join(tempDir, "kube-scheduler.yaml");
    await writeFile(schedulerConfigPath, schedulerConfiguration(schedulerKubeconfig, requestLimits));

    const kcmBinary = binaries.kubeControllerManager;
    const schedulerBinary = binaries.kubeScheduler;
    const [kcm, scheduler] = await Promise.all([
      components.includes("kube-controller-manager") && kcmBinary !== undefined
        ? launch(
            {
              name: "kube-controller-manager",
              command: kcmBinary,
              portCount: 1,
              args: ([port = 0]) =>
                controllerManagerArgs({
                  securePort: port,
                  kubeconfigPath: kcmKubeconfig,
                  pki: pki.paths,
                  requestLimits,
                  certDir: join(certDir, "kube-controller-manager"),
                  ...(options.nodeMonitorGracePeriod === undefined
                    ? {}
                    : { nodeMonitorGracePeriod: options.nodeMonitorGracePeriod }),
                  ...(options.nodeMonitorPeriod === undefined
                    ? {}
                    : { nodeMonitorPeriod: options.nodeMonitorPeriod }),
                  extraArgs: [...verbosity, ...(extra.controllerManager ?? [])],
                }),
              health: ([port = 0]) => ({ url: `https://${LOOPBACK}:${port}/healthz` }),
            },
            ctx,
          )
        : undefined,
      components.includes("kube-scheduler") && schedulerBinary !== undefined
        ? launch(
            {
              name: "kube-scheduler",
              command: schedulerBinary,
              portCount: 1,
              args: ([port = 0]) =>
                schedulerArgs({
                  securePort: port,
                  kubeconfigPath: schedulerKubeconfig,
                  configPath: schedulerConfigPath,
                  certDir: join(certDir, "kube-scheduler"),
                  extraArgs: [...verbosity, ...(extra.scheduler ?? [])],
                }),
              health: ([port = 0]) => ({ url: `https://${LOOPBACK}:${port}/healthz` }),
            },
            ctx,
          )
        : undefined,
    ]);
    // A user's first `kubectl run` needs the `default` ServiceAccount, which the controller-manager
    // creates a moment after it is healthy: the control plane is ready when it exists.
    if (kcm !== undefined) {
      await waitForDefaultServiceAccount(kubeConfig, {
        timeoutMs,
        ...(options.signal === undefined ? {} : { signal: options.signal }),
      });
    }
    const startupMs = Date.now() - startedAt;
    progress.line(`control plane ready in ${formatDuration(startupMs)} (${tempDir})`);

    const ports: ControlPlanePorts = {
      etcdClient,
      etcdPeer,
      apiServer: apiServerPort,
      ...(kcm === undefined ? {} : { controllerManager: kcm.ports[0] ?? 0 }),
      ...(scheduler === undefined ? {} : { scheduler: scheduler.ports[0] ?? 0 }),
    };
    const running = new Map<ComponentName, Launched>();
    for (const launched of [etcd, apiserver, kcm, scheduler]) {
      if (launched !== undefined) running.set(launched.spec.name, launched);
    }
    const kubeletClientCertPaths: KubeletClientCertPaths = {
      ...pki.paths.apiserverKubeletClient,
      caPath: pki.paths.ca.certPath,
    };
    const info: ControlPlaneInfo = {
      server,
      kubeconfigPath,
      caCertPem,
      caCertPath: pki.paths.ca.certPath,
      caKeyPath: pki.paths.ca.keyPath,
      identitiesDir,
      binaries,
      kubeletClientCertPaths,
      ports,
      tempDir,
      serviceAccountIssuer: SERVICE_ACCOUNT_ISSUER,
      ...(options.nodeMonitorGracePeriod === undefined
        ? {}
        : { nodeMonitorGracePeriod: options.nodeMonitorGracePeriod }),
      ...(options.nodeMonitorPeriod === undefined ? {} : { nodeMonitorPeriod: options.nodeMonitorPeriod }),
    };
    const minter = createIdentityMinter({
      server,
      caCertPem,
      caCertPath: pki.paths.ca.certPath,
      caKeyPath: pki.paths.ca.keyPath,
      identitiesDir,
      adminKubeConfig: kubeConfig,
    });

    let stopping: Promise<void> | undefined;
    const stopEverything = (): Promise<void> => {
      stopping ??= (async () => {
        try {
          await stopAll(started, stopTimeoutMs);
        } finally {
          if (!keepTempDir) {
            await rm(tempDir, { recursive: true, force: true });
          }
        }
      })();
      return stopping;
    };
    const launchedOf = (component: ComponentName): Launched => {
      if (stopping !== undefined) {
        throw new TestingError(
          ErrorCode.Aborted,
          `the control plane is stopped; cannot control ${component}`,
        );
      }
      const launched = running.get(component);
      if (launched === undefined) {
        throw new TestingError(ErrorCode.ComponentNotReady, `${component} is not part of this control plane`);
      }
      return launched;
    };
    const isRunning = (component: ComponentName): boolean =>
      running.get(component)?.process.exitStatus() === undefined;
    // One operation at a time per component: a restart never races a kill of the same process.
    const queues = new Map<ComponentName, Promise<unknown>>();
    const serialized = (component: ComponentName, op: () => Promise<void>): Promise<void> => {
      const next = (queues.get(component) ?? Promise.resolve()).then(op, op);
      queues.set(
        component,
        next.catch(() => undefined),
      );
      return next;
    };
    const stopOne = (component: ComponentName, kill: boolean): Promise<void> =>
      serialized(component, async () => {
        const { process: proc } = launchedOf(component);
        if (kill) await proc.kill();
        else await proc.stop({ timeoutMs: stopTimeoutMs });
      });
    const startOne = (component: ComponentName): Promise<void> =>
      serialized(component, async () => {
        const launched = launchedOf(component);
        if (launched.process.exitStatus() === undefined) return;
        const proc = spawnSpec(launched.spec, launched.ports, launched.process.logFile, ctx);
        running.set(component, { ...launched, process: proc });
        await awaitHealthy(launched.spec, proc, launched.ports, ctx);
      });
    const stop = (component?: ComponentName): Promise<void> =>
      component === undefined ? stopEverything() : stopOne(component, false);

    return {
      kubeConfig,
      kubeconfigPath,
      server,
      caCertPem,
      binaries,
      kubeletClientCertPaths,
      info,
      ports,
      tempDir,
      startupMs,
      logFiles: Object.fromEntries([...running].map(([k, l]) => [k, l.process.logFile])),
      get pids() {
        return Object.fromEntries(
          [...running]
            .filter(([k, l]) => l.process.pid !== undefined && isRunning(k))
            .map(([k, l]) => [k, l.process.pid]),
        );
      },
      ...minter,
      stop,
      kill: (component) => stopOne(component, true),
      start: startOne,
      restart: async (component, restartOptions = {}) => {
        await stopOne(component, restartOptions.kill === true);
        if ((restartOptions.downMs ?? 0) > 0) {
          await new Promise((resolve) => setTimeout(resolve, restartOptions.downMs));
        }
        await startOne(component);
      },
      isRunning,
      [Symbol.asyncDispose]: () => stopEverything(),
    };
  } catch (error) {
    await stopAll(started, 2000).catch(() => undefined);
    if (!keepTempDir) {
      await rm(tempDir, { recursive: true, force: true }).catch(() => undefined);
      if (error instanceof TestingError && error.logFile !== undefined) {
        error.message +=
          "\n(the temporary directory was removed; set VIRTUAL_NODE_KEEP_TMP=1 to keep the logs)";
      }
    }
    throw error;
  }
}

/**
 * Rebuilds a {@link ControlPlaneHandle} from {@link ControlPlaneInfo} — e.g. inside a vitest worker from the
 * value the global setup provided.
 */
export async function connectControlPlane(info: ControlPlaneInfo): Promise<ControlPlaneHandle> {
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromString(await readFile(info.kubeconfigPath, "utf8"));
  const minter = createIdentityMinter({
    server: info.server,
    caCertPem: info.caCertPem,
    caCertPath: info.caCertPath,
    caKeyPath: info.caKeyPath,
    identitiesDir: info.identitiesDir,
    adminKubeConfig: kubeConfig,
  });
  return {
    kubeConfig,
    kubeconfigPath: info.kubeconfigPath,
    server: info.server,
    caCertPem: info.caCertPem,
    binaries: info.binaries,
    kubeletClientCertPaths: info.kubeletClientCertPaths,
    info,
    ...minter,
  };
}

/** Waits until the controller-manager created `default/default`, polling every 100 ms. */
async function waitForDefaultServiceAccount(
  kubeConfig: KubeConfig,
  options: { timeoutMs: number; signal?: AbortSignal },
): Promise<void> {
  const core = kubeConfig.makeApiClient(CoreV1Api);
  const deadline = Date.now() + options.timeoutMs;
  let last: unknown;
  for (;;) {
    checkAborted(options.signal);
    try {
      await core.readNamespacedServiceAccount({ name: "default", namespace: "default" });
      return;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) {
      throw new TestingError(
        ErrorCode.ComponentNotReady,
        `the default ServiceAccount did not appear within ${formatDuration(options.timeoutMs)}`,
        { cause: last },
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
