/**
 * Which of a task's containers are init containers, sidecars and health-checked, recorded in a
 * task tag so the status mapping can read a task alone (ECS task views do not say which
 * containers are essential).
 */

/** Name of the init container that writes ConfigMap/Secret/downward API files. */
export const FILE_WRITER_CONTAINER = "virtual-node-files";

/** Tag that records which task containers are init containers, sidecars and health-checked. */
export const ROLES_TAG = "virtual-node-roles";

/** Container roles as recorded in {@link ROLES_TAG}. */
export interface ContainerRoles {
  init: string[];
  sidecar: string[];
  health: string[];
}

/** `init=a+b/sidecar=c/health=d` (only characters AWS allows in tag values). */
export function formatRoles(roles: ContainerRoles): string {
  return (["init", "sidecar", "health"] as const).map((k) => `${k}=${roles[k].join("+")}`).join("/");
}

/** Reads {@link formatRoles} back; missing parts are empty. */
export function parseRoles(value: string | undefined): ContainerRoles {
  const roles: ContainerRoles = { init: [], sidecar: [], health: [] };
  for (const part of (value ?? "").split("/")) {
    const [key, list] = part.split("=");
    if ((key === "init" || key === "sidecar" || key === "health") && list !== undefined && list !== "") {
      roles[key] = list.split("+");
    }
  }
  return roles;
}
