/**
 * The RBAC of a highly available agent group, exactly as docs/high-availability.md documents it: the
 * node group's ClusterRole and `kube-node-lease` Role of docs/options.md ("Identity and RBAC", the same
 * as deploy/base/rbac.yaml) bound to the agents' identity, plus a Role on the Leases of the HA namespace. Tests run their agent replicas as a non-admin user with it,
 * so that a missing right shows up as the 403 a real deployment would get.
 */
import { RbacAuthorizationV1Api, type KubeConfig, type V1PolicyRule } from "@kubernetes/client-node";

/**
 * The ClusterRole rules of a node group's identity (docs/options.md, "Identity and RBAC"; the ClusterRole
 * of deploy/base/rbac.yaml, which the deployment test proves minimal).
 */
export const HA_AGENT_CLUSTER_RULES: readonly V1PolicyRule[] = [
  {
    apiGroups: [""],
    resources: ["nodes"],
    verbs: ["get", "list", "watch", "create", "update", "patch", "delete"],
  },
  { apiGroups: [""], resources: ["nodes/status"], verbs: ["patch"] },
  { apiGroups: [""], resources: ["pods"], verbs: ["get", "list", "watch", "delete"] },
  { apiGroups: [""], resources: ["pods/status"], verbs: ["patch"] },
  { apiGroups: [""], resources: ["events"], verbs: ["create", "patch"] },
  { apiGroups: [""], resources: ["configmaps", "secrets"], verbs: ["list", "watch"] },
  { apiGroups: [""], resources: ["services"], verbs: ["list", "watch"] },
  { apiGroups: [""], resources: ["persistentvolumeclaims", "persistentvolumes"], verbs: ["get"] },
  { apiGroups: [""], resources: ["serviceaccounts/token"], verbs: ["create"] },
  { apiGroups: ["certificates.k8s.io"], resources: ["clustertrustbundles"], verbs: ["list"] },
  { apiGroups: ["authentication.k8s.io"], resources: ["tokenreviews"], verbs: ["create"] },
  { apiGroups: ["authorization.k8s.io"], resources: ["subjectaccessreviews"], verbs: ["create"] },
];

/** The rules of the Role `virtual-node-node-lease` in `kube-node-lease`: the node heartbeats only. */
export const NODE_LEASE_RULES: readonly V1PolicyRule[] = [
  { apiGroups: ["coordination.k8s.io"], resources: ["leases"], verbs: ["get", "create", "update"] },
];

/** The namespace of the node heartbeats (the kubelet's `kube-node-lease`). */
const NODE_LEASE_NAMESPACE = "kube-node-lease";

/**
 * The rules of the Role `virtual-node-ha` in the HA namespace (docs/high-availability.md, "RBAC"):
 * every replica watches the namespace's ownership and membership Leases and writes them.
 */
export const HA_LEASE_RULES: readonly V1PolicyRule[] = [
  {
    apiGroups: ["coordination.k8s.io"],
    resources: ["leases"],
    verbs: ["get", "list", "watch", "create", "update", "delete"],
  },
];

/** Name of the Role and RoleBinding in the HA namespace, as documented. */
export const HA_LEASE_ROLE_NAME = "virtual-node-ha";

/** Whom {@link grantHaAgentRbac} grants the RBAC to, and where the HA Leases live. */
export interface HaAgentRbacOptions {
  /** The agents' user name (e.g. from `mintClientIdentity({ user })`); also the ClusterRole's name. */
  readonly user: string;
  /** The HA namespace (`highAvailability.namespace`): the Role on its Leases is created there. */
  readonly namespace: string;
}

/**
 * Grants `user` the documented HA agent RBAC: a ClusterRole and ClusterRoleBinding named after the user
 * ({@link HA_AGENT_CLUSTER_RULES}), a Role and RoleBinding `<user>-node-lease` in `kube-node-lease`
 * ({@link NODE_LEASE_RULES}) and the Role and RoleBinding `virtual-node-ha` in `namespace`
 * ({@link HA_LEASE_RULES}). A node identity cannot be used instead: NodeRestriction keeps it out of
 * Leases outside `kube-node-lease`.
 *
 * @param kubeConfig - an identity allowed to write RBAC (the control plane's admin).
 * @returns the clean-up of the cluster-scoped objects and those in `kube-node-lease` (the ones in
 *   `namespace` go with the namespace); it ignores objects already gone.
 */
export async function grantHaAgentRbac(
  kubeConfig: KubeConfig,
  options: HaAgentRbacOptions,
): Promise<() => Promise<void>> {
  const { user, namespace } = options;
  if (user === "") throw new TypeError("grantHaAgentRbac: user must not be empty");
  if (namespace === "") throw new TypeError("grantHaAgentRbac: namespace must not be empty");
  const rbac = kubeConfig.makeApiClient(RbacAuthorizationV1Api);
  const subjects = [{ kind: "User", name: user, apiGroup: "rbac.authorization.k8s.io" }];
  await rbac.createClusterRole({
    body: { metadata: { name: user }, rules: HA_AGENT_CLUSTER_RULES.map((rule) => ({ ...rule })) },
  });
  await rbac.createClusterRoleBinding({
    body: {
      metadata: { name: user },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: user },
      subjects,
    },
  });
  // Named after the user: kube-node-lease outlives every test, and several tests grant at once.
  const nodeLeaseRole = `${user}-node-lease`;
  await rbac.createNamespacedRole({
    namespace: NODE_LEASE_NAMESPACE,
    body: { metadata: { name: nodeLeaseRole }, rules: NODE_LEASE_RULES.map((rule) => ({ ...rule })) },
  });
  await rbac.createNamespacedRoleBinding({
    namespace: NODE_LEASE_NAMESPACE,
    body: {
      metadata: { name: nodeLeaseRole },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: nodeLeaseRole },
      subjects,
    },
  });
  await rbac.createNamespacedRole({
    namespace,
    body: { metadata: { name: HA_LEASE_ROLE_NAME }, rules: HA_LEASE_RULES.map((rule) => ({ ...rule })) },
  });
  await rbac.createNamespacedRoleBinding({
    namespace,
    body: {
      metadata: { name: HA_LEASE_ROLE_NAME },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: HA_LEASE_ROLE_NAME },
      subjects,
    },
  });
  return async () => {
    await rbac.deleteClusterRoleBinding({ name: user }).catch(() => undefined);
    await rbac.deleteClusterRole({ name: user }).catch(() => undefined);
    const inNodeLease = { name: nodeLeaseRole, namespace: NODE_LEASE_NAMESPACE };
    await rbac.deleteNamespacedRoleBinding(inNodeLease).catch(() => undefined);
    await rbac.deleteNamespacedRole(inNodeLease).catch(() => undefined);
  };
}
