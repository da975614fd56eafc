/**
 * Kubernetes names, labels and ports: one place, so every tier, the NetworkPolicies and the
 * reports agree, and a name never depends on the stage (a stage move updates in place).
 */

/** Ports the workloads listen on. Unprivileged (>1024) where the server runs as non-root. */
export const PORTS = {
  nginx: 8080,
  /** nginx's cluster-internal server: the nchan publisher, never behind the public load balancer. */
  nginxInternal: 8081,
  mysql: 3306,
  redis: 6379,
  etcdClient: 2379,
  etcdPeer: 2380,
  kongProxy: 8000,
  kongStatus: 8100,
  shortUrl: 8080,
  dns: 53,
} as const;

/** Fixed Kubernetes object names of the singletons. Services and workers are named from the spec. */
export const NAMES = {
  nginx: "nginx",
  kong: "kong",
  kongProxy: "kong-proxy",
  /** Headless: the primary StatefulSet's governing Service (its pod's DNS name). */
  mysql: "mysql",
  /** Headless: the read replicas' governing Service. */
  mysqlRead: "mysql-read",
  mysqlReplica: "mysql-replica",
  /** Headless: Redis's governing Service. */
  redis: "redis",
  /**
   * What clients connect to: a ClusterIP beside each governing Service, as etcd-client beside etcd.
   * A stable address: a pod's restart changes its IP, which a headless name would serve stale from
   * DNS caches for up to their TTL (30 s in the local cluster's CoreDNS); a ClusterIP follows the
   * ready endpoints at once and balances reads over the replicas per connection.
   */
  mysqlClient: "mysql-client",
  mysqlReadClient: "mysql-read-client",
  redisClient: "redis-client",
  etcd: "etcd",
  etcdClient: "etcd-client",
  push: "push",
  shortUrl: "shorturl",
  beat: "celery-beat",
  /** Service exposing nginx's internal server inside the cluster only. */
  nginxInternal: "nginx-internal",
  /** Job that keeps MySQL's replication user and each service's schema and user in place. */
  mysqlBootstrap: "mysql-bootstrap",
  /** Job that applies etcd users, roles and `auth enable`. */
  etcdAuth: "etcd-auth",
} as const;

export const workerName = (worker: string) => `celery-${worker}`;
export const migrateJobName = (service: string) => `${service}-migrate`;
/** The Job that copies the rows an old owner wrote after the adoption (spec mysql.adopt). */
export const adoptLateJobName = (service: string) => `${service}-adopt-late`;

/** What a thing is, for `app.kubernetes.io/component`. */
export type Role =
  | "load-balancer"
  | "gateway"
  | "web"
  | "rpc"
  | "worker"
  | "scheduler"
  | "push"
  | "short-url"
  | "database"
  | "cache"
  | "registry"
  | "migration";

export type Tier = "edge" | "app" | "data" | "platform";

export const PART_OF = "stagecraft";
/** Label that carries the tier; NetworkPolicies and reports group by it. */
export const TIER_LABEL = "stagecraft.dev/tier";
/** Namespace annotation stating the stage's call-graph law (`open` or `layered`), read by the policy pack. */
export const CALL_RULES_ANNOTATION = "stagecraft.dev/call-rules";
/** Label that carries a service's layer (app or data) in the call graph. */
export const LAYER_LABEL = "stagecraft.dev/layer";

/** Selector labels: the immutable part (a StatefulSet's selector can never change). */
export function selectorLabels(name: string): Record<string, string> {
  return { "app.kubernetes.io/name": name, "app.kubernetes.io/part-of": PART_OF };
}

/** The recommended `app.kubernetes.io/*` labels plus Stagecraft's tier. */
export function labels(name: string, role: Role, tier: Tier, extra: Record<string, string> = {}): Record<string, string> {
  return {
    ...selectorLabels(name),
    "app.kubernetes.io/instance": name,
    "app.kubernetes.io/component": role,
    "app.kubernetes.io/managed-by": "pulumi",
    [TIER_LABEL]: tier,
    ...extra,
  };
}

/** In-cluster DNS name of a Service. */
export const serviceHost = (name: string, namespace: string) => `${name}.${namespace}.svc.cluster.local`;

/** Secrets, by name: what a pod references with secretKeyRef (key `password`). */
export const SECRETS = {
  mysqlAdmin: "mysql-admin",
  redis: "redis-credentials",
  etcdRoot: "etcd-root",
  kong: "kong-secrets",
} as const;
/** Each MySQL user's password lives in its own Secret, readable only by the pods that use it. */
export const mysqlUserSecret = (user: string) => `mysql-user-${user.replace(/_/g, "-")}`;
/** Each RPC service's etcd password (where etcd auth is on). */
export const etcdUserSecret = (service: string) => `etcd-user-${service}`;
/** The key every Stagecraft Secret stores its password under. */
export const PASSWORD_KEY = "password";
