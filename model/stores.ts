/**
 * Who connects to the data stores, and with how many connections at peak. One list feeds the
 * connection budget (connections.ts), the NetworkPolicies (flows.ts) and the diagram, so the
 * consumers a budget counts are the clients a policy lets through.
 *
 * Under gevent every greenlet may hold its own connection, so a pool is per process for web
 * services and per green thread for Celery workers. Peak replicas are the HPA maximum.
 */
import type { ServiceSpec, Spec } from "../spec/schema";
import { migrateJobName, NAMES, workerName } from "./names";
import { touchesRegistry } from "./registry";
import { peakReplicas } from "./workloads";

/** Connections a Kong node keeps to Redis for shared rate-limit counters (per worker process). */
export const KONG_REDIS_CONNECTIONS_PER_NODE = 8;
/** Connections an OpenResty short-URL pod keeps to Redis (its cosocket pool). */
export const SHORTURL_REDIS_CONNECTIONS_PER_POD = 16;
/** Connections an nginx pod's nchan keeps to Redis (about two per worker process). */
export const NCHAN_REDIS_CONNECTIONS_PER_POD = 8;
/** Connections a migration Job holds while it runs. */
export const MIGRATION_CONNECTIONS = 2;

/** The stores, by the pod group that serves them. */
export type Store = typeof NAMES.mysql | typeof NAMES.mysqlReplica | typeof NAMES.redis | typeof NAMES.etcd;

/** Why a client holds connections to a store (the diagram labels edges with it). */
export type Purpose = "data" | "reads" | "broker" | "registry" | "rate-limit counters" | "channels" | "migration" | "bootstrap";

/** Connections a client may hold at peak, counted against the store's limit. */
export interface BudgetLine {
  /** Who opens the connections, e.g. `services[web]` or `workers[default]`. */
  readonly consumer: string;
  readonly connections: number;
  /** How the figure was reached, e.g. "3 replicas × 4 processes × pool 5". */
  readonly formula: string;
}

export interface StoreClient {
  /** The client's pod group (`app.kubernetes.io/name`): a workload or a Job. */
  readonly client: string;
  readonly store: Store;
  readonly purpose: Purpose;
  /** Set where the client's connections count against max_connections / maxclients. */
  readonly budget?: BudgetLine;
}

/** True when the service sends its reads to the replicas: it asks to, and the cluster has some. */
export function readsFromReplicas(service: ServiceSpec, spec: Spec): boolean {
  return Boolean(service.mysql?.readFromReplicas) && spec.data.mysql.readReplicas > 0;
}

/** A process pool's clients: who, how many processes or green threads, what it is called in the budget. */
interface Runner {
  readonly client: string;
  readonly consumer: string;
  /** Processes (or green threads) that each keep a pool, and how that count was reached. */
  readonly pools: number;
  readonly shape: string;
}

/** The stores a service's code opens, as run by one runner (the service, a worker, the beat). */
function codeClients(r: Runner, s: ServiceSpec, spec: Spec): StoreClient[] {
  const out: StoreClient[] = [];
  const line = (pool: number): BudgetLine => ({ consumer: r.consumer, connections: r.pools * pool, formula: `${r.shape} × pool ${pool}` });
  if (s.mysql) out.push({ client: r.client, store: NAMES.mysql, purpose: "data", budget: line(s.mysql.pool) });
  if (readsFromReplicas(s, spec)) out.push({ client: r.client, store: NAMES.mysqlReplica, purpose: "reads" });
  if (s.redis) out.push({ client: r.client, store: NAMES.redis, purpose: "data", budget: line(s.redis.pool) });
  return out;
}

/** Every client of every store, services first (in spec order), then workers, beat and the edge. */
export function storeClients(spec: Spec): StoreClient[] {
  const out: StoreClient[] = [];
  const byName = new Map(spec.services.map((s) => [s.name, s]));

  for (const s of spec.services) {
    const replicas = peakReplicas(s);
    const processes = s.uwsgi?.processes ?? 1;
    const consumer = `services[${s.name}]`;
    const shape = `${replicas} replicas × ${processes} processes`;
    out.push(...codeClients({ client: s.name, consumer, pools: replicas * processes, shape }, s, spec));
    if (s.migrate && s.mysql)
      out.push({
        client: migrateJobName(s.name),
        store: NAMES.mysql,
        purpose: "migration",
        budget: { consumer: `${consumer}.migrate`, connections: MIGRATION_CONNECTIONS, formula: "migration Job" },
      });
    if (spec.data.etcd && touchesRegistry(s, spec.services)) out.push({ client: s.name, store: NAMES.etcd, purpose: "registry" });
  }
  for (const w of spec.workers) {
    const s = byName.get(w.service);
    const runner = {
      client: workerName(w.name),
      consumer: `workers[${w.name}]`,
      pools: w.replicas * w.concurrency,
      shape: `${w.replicas} workers × concurrency ${w.concurrency}`,
    };
    if (s) out.push(...codeClients(runner, s, spec));
  }
  const beatService = spec.beat && byName.get(spec.beat.service);
  if (beatService) out.push(...codeClients({ client: NAMES.beat, consumer: "beat", pools: 1, shape: "1 scheduler" }, beatService, spec));

  // Celery's broker is Redis: the services that enqueue, their workers and the beat reach it even without a cache.
  const enqueuers = spec.services.filter((s) => spec.workers.some((w) => w.service === s.name) || spec.beat?.service === s.name);
  for (const client of [
    ...enqueuers.map((s) => s.name),
    ...spec.workers.map((w) => workerName(w.name)),
    ...(spec.beat ? [NAMES.beat] : []),
  ])
    out.push({ client, store: NAMES.redis, purpose: "broker" });

  const { nginx, kong } = spec.edge;
  if (kong && kong.rateLimit.policy === "redis") {
    const budget = {
      consumer: "kong",
      connections: kong.replicas * KONG_REDIS_CONNECTIONS_PER_NODE,
      formula: `${kong.replicas} nodes × ${KONG_REDIS_CONNECTIONS_PER_NODE}`,
    };
    out.push({ client: NAMES.kong, store: NAMES.redis, purpose: "rate-limit counters", budget });
  }
  // nchan keeps channels in Redis so every nginx replica delivers every message.
  if (spec.push?.kind === "nchan" && nginx) {
    const budget = {
      consumer: "nginx (nchan)",
      connections: nginx.replicas * NCHAN_REDIS_CONNECTIONS_PER_POD,
      formula: `${nginx.replicas} pods × ${NCHAN_REDIS_CONNECTIONS_PER_POD}`,
    };
    out.push({ client: NAMES.nginx, store: NAMES.redis, purpose: "channels", budget });
  }
  if (spec.push?.kind === "tormq") out.push({ client: NAMES.push, store: NAMES.redis, purpose: "data" });
  if (spec.shortUrl) {
    const budget = {
      consumer: "shortUrl",
      connections: spec.shortUrl.replicas * SHORTURL_REDIS_CONNECTIONS_PER_POD,
      formula: `${spec.shortUrl.replicas} pods × ${SHORTURL_REDIS_CONNECTIONS_PER_POD}`,
    };
    out.push({ client: NAMES.shortUrl, store: NAMES.redis, purpose: "data", budget });
  }

  // The data tier's own Jobs: users and schemas in MySQL, users and roles in etcd.
  out.push({ client: NAMES.mysqlBootstrap, store: NAMES.mysql, purpose: "bootstrap" });
  if (spec.data.etcd?.auth) out.push({ client: NAMES.etcdAuth, store: NAMES.etcd, purpose: "bootstrap" });
  return out;
}
