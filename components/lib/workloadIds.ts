/**
 * The uid (and gid, and fsGroup) each kind of pod runs as: one table, so no component picks a number
 * of its own. Pure.
 *
 * Every id is at least FIRST_UNMAPPED_ID: a process that escapes its container then maps to no user
 * or group of the node (Debian hands out system ids below 1000 and login ids from 1000), which is
 * what kube-score's container-security-context-user-group-id asks for. Each server has its own id,
 * so the files one writes on a node never belong to another's uid.
 *
 * The images do not decide these ids: the pod's securityContext does, and the project's images give
 * their server user the same id only so that `id` and the image's own files agree with the pod.
 * Volumes that hold data written under an earlier id are re-grouped to the new fsGroup by the kubelet
 * (fsGroupChangePolicy OnRootMismatch: the root's group no longer matches), see podSecurity.
 */

/** What a pod runs, which decides its ids. */
export type ServerKind = "app" | "mysql" | "redis" | "etcd" | "nginx" | "kong" | "openresty";

/** The first id no Debian host hands out to its own users and groups (system < 1000, login from 1000 up). */
export const FIRST_UNMAPPED_ID = 10000;

const IDS: Readonly<Record<ServerKind, number>> = {
  // The backend's image contract (backend/Dockerfile creates its `app` user with this id).
  app: 10001,
  mysql: 10002,
  redis: 10003,
  etcd: 10004,
  nginx: 10005,
  // Kong's image (not buildable here) names its `kong` user 1000; Kong runs as any uid given a
  // writable prefix (KongGateway: KONG_PREFIX on an emptyDir), see KongGateway.
  kong: 10006,
  openresty: 10007,
};

/** The uid, gid and fsGroup of a pod that runs `kind`. */
export function workloadId(kind: ServerKind): number {
  const id = IDS[kind];
  if (id === undefined) throw new Error(`no id for server kind '${kind}' (kinds: ${Object.keys(IDS).join(", ")})`);
  return id;
}

/** Every kind with its id (for tests and reports). */
export function workloadIds(): Readonly<Record<ServerKind, number>> {
  return IDS;
}
