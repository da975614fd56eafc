/**
 * Every TCP flow the stage allows between its pod groups (DNS aside): the calls, the edge's routes,
 * the stores' clients, push, replication and etcd's peers. The NetworkPolicies open exactly these;
 * anything else is denied.
 */
import type { Spec } from "../spec/schema";
import type { Call } from "./calls";
import { NAMES, PORTS, workerName } from "./names";
import type { StoreClient } from "./stores";

/** A source outside the namespace's pods: clients of the edge. */
export const ANYWHERE = "*";

/** One allowed TCP flow between pod groups (by `app.kubernetes.io/name`). */
export interface Flow {
  /** Sending pod group, or `*` for any source (only the edge's public ports). */
  readonly from: string;
  readonly to: string;
  readonly port: number;
}

const STORE_PORTS: Readonly<Record<StoreClient["store"], number>> = {
  [NAMES.mysql]: PORTS.mysql,
  [NAMES.mysqlReplica]: PORTS.mysql,
  [NAMES.redis]: PORTS.redis,
  [NAMES.etcd]: PORTS.etcdClient,
};

/** Code-point order, the same in every locale. */
export const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/**
 * Who publishes to push: every service's code gets the publish URL (appSettings), and runs in the
 * service's pods and its Celery workers.
 */
export function pushPublishers(spec: Spec): string[] {
  return spec.push ? [...spec.services.map((s) => s.name), ...spec.workers.map((w) => workerName(w.name))] : [];
}

/** Deduplicated and sorted, so a reordering of services in the stack file changes nothing. */
export function allowedFlows(spec: Spec, calls: readonly Call[], clients: readonly StoreClient[]): Flow[] {
  const flows = new Map<string, Flow>();
  const allow = (from: string, to: string, port: number) => flows.set(`${from}|${to}|${port}`, { from, to, port });
  const { nginx, kong } = spec.edge;
  const edgeApps = [...(nginx ? [NAMES.nginx] : []), ...(kong ? [NAMES.kong] : [])];

  for (const c of calls) allow(c.from, c.to, c.port);
  for (const s of spec.services) if (s.routes.length > 0) for (const e of edgeApps) allow(e, s.name, s.port);
  for (const c of clients) allow(c.client, c.store, STORE_PORTS[c.store]);

  if (nginx) allow(ANYWHERE, NAMES.nginx, PORTS.nginx);
  if (kong) allow(ANYWHERE, NAMES.kong, PORTS.kongProxy);

  const publishers = pushPublishers(spec);
  const push = spec.push;
  // nchan publishes on nginx's internal server, never on the public port's location.
  if (push?.kind === "nchan" && nginx) for (const p of publishers) allow(p, NAMES.nginx, PORTS.nginxInternal);
  if (push?.kind === "tormq") {
    for (const e of edgeApps) allow(e, NAMES.push, push.port);
    // Backends publish over ZeroMQ to every replica (headless Service): no replica-to-replica traffic.
    for (const p of publishers) allow(p, NAMES.push, push.zmqPort);
  }
  if (spec.shortUrl) for (const e of edgeApps) allow(e, NAMES.shortUrl, PORTS.shortUrl);

  // Replication: replicas clone from and follow the primary; the primary reaches replicas for checks and failover.
  if (spec.data.mysql.readReplicas > 0) {
    allow(NAMES.mysqlReplica, NAMES.mysql, PORTS.mysql);
    allow(NAMES.mysql, NAMES.mysqlReplica, PORTS.mysql);
  }
  if (spec.data.etcd) allow(NAMES.etcd, NAMES.etcd, PORTS.etcdPeer);

  return [...flows.values()].sort((a, b) => cmp(a.from, b.from) || cmp(a.to, b.to) || a.port - b.port);
}
