/**
 * `persistentVolumeClaim` volumes: claim → bound PersistentVolume → the source a cloud can mount
 * (`csi`, in-tree `nfs`, in-tree `azureFile`), with the Secrets the PV names read as well.
 *
 * The checks and their order are the kubelet's (`desiredStateOfWorldPopulator.createVolumeSpec`):
 * the claim must exist, not be terminating, be `Bound` with a `volumeName`; the PV must exist and
 * its `claimRef.uid` must be the claim's. Each failed check is a {@link ConfigError} the pod waits on
 * (the claim may still appear or bind); a PV source no cloud can mount is an {@link UnsupportedError}.
 */
import { ConfigError, UnsupportedError, throwIfAborted } from "../errors.js";
import type { PersistentVolume, PersistentVolumeClaim, Volume } from "../kube/types.js";
import type { ResolvedPersistentVolume, ResolvedSecretData } from "../pod-config.js";
import { ConfigReasons } from "./reasons.js";
import type { ConfigSource } from "./source.js";

/** The pod's `persistentVolumeClaim` volume source. */
export type PersistentVolumeClaimSource = NonNullable<Volume["persistentVolumeClaim"]>;

/** What resolving a claim needs from the pod resolver. */
export interface PersistentVolumeContext {
  source: ConfigSource;
  /** The pod's namespace (the claim's, and the default one of in-tree `azureFile` Secrets). */
  namespace: string;
  signal: AbortSignal;
  /**
   * A Secret's decoded data, or `undefined` when it does not exist. The resolver shares its Secret
   * cache and records the reference, so the Secret's appearance re-resolves the pod.
   */
  secretData(namespace: string, name: string): Promise<Map<string, Uint8Array> | undefined>;
}

/** The PV sources a virtual node can hand to a cloud; every other source is unsupported. */
const SUPPORTED_SOURCES = ["csi", "nfs", "azureFile"] as const;

/** PersistentVolumeSpec fields that are not a volume source. */
const NON_SOURCE_FIELDS = new Set([
  "accessModes",
  "capacity",
  "claimRef",
  "mountOptions",
  "nodeAffinity",
  "persistentVolumeReclaimPolicy",
  "storageClassName",
  "volumeAttributesClassName",
  "volumeMode",
]);

/**
 * Resolves one `persistentVolumeClaim` volume (at `field`, e.g. `spec.volumes[2]`) to its bound
 * PersistentVolume. Throws {@link ConfigError} while the claim is missing, unbound, terminating or
 * its PV unreadable, and {@link UnsupportedError} for a PV source other than `csi`, `nfs`,
 * `azureFile` or a source without claim lookups.
 */
export async function resolvePersistentVolumeClaim(
  claim: PersistentVolumeClaimSource,
  field: string,
  context: PersistentVolumeContext,
): Promise<ResolvedPersistentVolume> {
  const claimField = `${field}.persistentVolumeClaim`;
  const { source, namespace, signal } = context;
  const getClaim = source.getPersistentVolumeClaim?.bind(source);
  const getVolume = source.getPersistentVolume?.bind(source);
  if (!getClaim || !getVolume) {
    throw new UnsupportedError(
      `${claimField}: the config source cannot read PersistentVolumeClaims and PersistentVolumes`,
      { field: claimField },
    );
  }
  const claimName = claim.claimName;
  const what = `error processing PVC ${namespace}/${claimName}`;
  throwIfAborted(signal);
  const pvc = await getClaim(namespace, claimName, signal);
  if (!pvc) {
    throw new ConfigError(
      ConfigReasons.PersistentVolumeClaimNotFound,
      `${what}: persistentvolumeclaim "${claimName}" not found`,
      { field: claimField },
    );
  }
  checkClaim(pvc, what, claimField);
  const volumeName = pvc.spec?.volumeName ?? "";
  throwIfAborted(signal);
  const pv = await getVolume(volumeName, signal);
  if (!pv) {
    throw new ConfigError(
      ConfigReasons.PersistentVolumeNotFound,
      `${what}: persistentvolume "${volumeName}" not found`,
      { field: claimField },
    );
  }
  checkClaimRef(pv, pvc, volumeName, what, claimField);
  return buildResolved(pv, pvc, claim, claimField, context);
}

function checkClaim(pvc: PersistentVolumeClaim, what: string, field: string): void {
  // Pods on a claim that is being deleted must not start (StorageObjectInUseProtection).
  if (pvc.metadata?.deletionTimestamp !== undefined) {
    throw new ConfigError(
      ConfigReasons.PersistentVolumeClaimTerminating,
      `${what}: can't start pod because PVC is being deleted`,
      { field },
    );
  }
  const phase = pvc.status?.phase ?? "Pending";
  if (phase !== "Bound" || (pvc.spec?.volumeName ?? "") === "") {
    throw new ConfigError(
      ConfigReasons.PersistentVolumeClaimNotBound,
      `${what}: PVC is not bound (phase ${phase}${pvc.spec?.volumeName ? `, volumeName ${pvc.spec.volumeName}` : ""})`,
      { field },
    );
  }
}

function checkClaimRef(
  pv: PersistentVolume,
  pvc: PersistentVolumeClaim,
  volumeName: string,
  what: string,
  field: string,
): void {
  const claimRef = pv.spec?.claimRef;
  if (claimRef === undefined) {
    throw new ConfigError(
      ConfigReasons.PersistentVolumeClaimMismatch,
      `${what}: found PV object "${volumeName}" but it has a nil pv.Spec.ClaimRef indicating it is not yet bound to the claim`,
      { field },
    );
  }
  const expected = pvc.metadata?.uid ?? "";
  if ((claimRef.uid ?? "") !== expected) {
    throw new ConfigError(
      ConfigReasons.PersistentVolumeClaimMismatch,
      `${what}: found PV object "${volumeName}" but its pv.Spec.ClaimRef.UID (${JSON.stringify(claimRef.uid ?? "")}) does not point to claim.UID (${JSON.stringify(expected)})`,
      { field },
    );
  }
}

async function buildResolved(
  pv: PersistentVolume,
  pvc: PersistentVolumeClaim,
  claim: PersistentVolumeClaimSource,
  field: string,
  context: PersistentVolumeContext,
): Promise<ResolvedPersistentVolume> {
  const spec = pv.spec ?? {};
  const volumeName = pv.metadata?.name ?? pvc.spec?.volumeName ?? "";
  const kind = sourceKind(pv);
  if (kind === undefined || !(SUPPORTED_SOURCES as readonly string[]).includes(kind)) {
    const uses = kind === undefined ? "has no volume source" : `uses ${kind}`;
    throw new UnsupportedError(
      `${field}: PersistentVolume ${volumeName} (claim ${context.namespace}/${claim.claimName}) ${uses}; a virtual node can only hand csi, nfs and azureFile volumes to its provider`,
      { field },
    );
  }
  const resolved: ResolvedPersistentVolume = {
    claimName: claim.claimName,
    volumeName,
    readOnly: claim.readOnly === true,
    accessModes: [...(spec.accessModes ?? pvc.status?.accessModes ?? [])],
    volumeMode: spec.volumeMode ?? "Filesystem",
  };
  const capacity = spec.capacity?.storage;
  if (capacity !== undefined) resolved.capacity = capacity;
  const storageClassName = spec.storageClassName ?? pvc.spec?.storageClassName;
  if (storageClassName !== undefined && storageClassName !== "") resolved.storageClassName = storageClassName;

  const what = `PersistentVolume ${volumeName}`;
  if (spec.csi) {
    const csi = spec.csi;
    const out: NonNullable<ResolvedPersistentVolume["csi"]> = {
      driver: csi.driver,
      volumeHandle: csi.volumeHandle,
      volumeAttributes: { ...(csi.volumeAttributes ?? {}) },
    };
    if (csi.fsType !== undefined && csi.fsType !== "") out.fsType = csi.fsType;
    if (csi.nodePublishSecretRef?.name) {
      out.nodePublishSecret = await requireSecret(
        context,
        csi.nodePublishSecretRef.namespace || context.namespace,
        csi.nodePublishSecretRef.name,
        `${what} csi.nodePublishSecretRef`,
        field,
      );
    }
    if (csi.nodeStageSecretRef?.name) {
      out.nodeStageSecret = await requireSecret(
        context,
        csi.nodeStageSecretRef.namespace || context.namespace,
        csi.nodeStageSecretRef.name,
        `${what} csi.nodeStageSecretRef`,
        field,
      );
    }
    resolved.csi = out;
    resolved.readOnly ||= csi.readOnly === true;
  } else if (spec.nfs) {
    resolved.nfs = { server: spec.nfs.server, path: spec.nfs.path };
    resolved.readOnly ||= spec.nfs.readOnly === true;
  } else if (spec.azureFile) {
    const azure = spec.azureFile;
    // The Node authorizer's rule (VisitPVSecretNames): secretNamespace, else the claim's namespace.
    const secretNamespace = azure.secretNamespace || pv.spec?.claimRef?.namespace || context.namespace;
    resolved.azureFile = {
      shareName: azure.shareName,
      secret: await requireSecret(context, secretNamespace, azure.secretName, `${what} azureFile`, field),
    };
    resolved.readOnly ||= azure.readOnly === true;
  }
  return resolved;
}

/** The PV spec's volume source field (`csi`, `nfs`, `hostPath`, ...), if it has one. */
function sourceKind(pv: PersistentVolume): string | undefined {
  for (const [key, value] of Object.entries(pv.spec ?? {})) {
    if (!NON_SOURCE_FIELDS.has(key) && value !== undefined && value !== null) return key;
  }
  return undefined;
}

async function requireSecret(
  context: PersistentVolumeContext,
  namespace: string,
  name: string,
  usedBy: string,
  field: string,
): Promise<ResolvedSecretData> {
  throwIfAborted(context.signal);
  const data = await context.secretData(namespace, name);
  if (!data) {
    throw new ConfigError(
      ConfigReasons.MandatorySecretNotFound,
      `couldn't get Secret ${namespace}/${name} (${usedBy}): not found`,
      { field },
    );
  }
  return { name, namespace, data: Object.fromEntries(data) };
}
