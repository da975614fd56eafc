/**
 * The connection budget: how many MySQL and Redis connections a stage can open at its peak,
 * against what the servers allow. A pure function of the spec.
 *
 * Peak replicas are the HPA maximum when a service scales. Under gevent every greenlet may hold
 * its own connection, so the pool is per process for web services and per green thread for
 * Celery workers, as the formula has it.
 */
import type { Spec } from "../spec/schema";
import { peakReplicas } from "./workloads";

/** Connections a Kong node keeps to Redis for shared rate-limit counters (per worker process). */
export const KONG_REDIS_CONNECTIONS_PER_NODE = 8;
/** Connections an OpenResty short-URL pod keeps to Redis (its cosocket pool). */
export const SHORTURL_REDIS_CONNECTIONS_PER_POD = 16;
/** Connections an nginx pod's nchan keeps to Redis (about two per worker process). */
export const NCHAN_REDIS_CONNECTIONS_PER_POD = 8;
/** Connections a migration Job holds while it runs. */
export const MIGRATION_CONNECTIONS = 2;

export interface BudgetLine {
  /** Who opens the connections, e.g. `services[web]` or `workers[default]`. */
  readonly consumer: string;
  readonly connections: number;
  /** How the figure was reached, e.g. "3 replicas × 4 processes × pool 5". */
  readonly formula: string;
}

export interface StoreBudget {
  readonly lines: readonly BudgetLine[];
  /** Sum of the lines. */
  readonly demand: number;
  /** Demand plus headroom: what the server must allow. */
  readonly required: number;
  /** What the server allows (max_connections / maxclients). */
  readonly limit: number;
  readonly fits: boolean;
  /** demand / limit, for red flags near the limit. */
  readonly utilisation: number;
}

export interface ConnectionBudget {
  readonly mysql: StoreBudget;
  readonly redis: StoreBudget;
}

function store(lines: BudgetLine[], limit: number, headroomPercent: number): StoreBudget {
  const demand = lines.reduce((n, l) => n + l.connections, 0);
  const required = Math.ceil(demand * (1 + headroomPercent / 100));
  return { lines, demand, required, limit, fits: required <= limit, utilisation: limit > 0 ? demand / limit : Infinity };
}

export function connectionBudget(spec: Spec): ConnectionBudget {
  const mysql: BudgetLine[] = [];
  const redis: BudgetLine[] = [];
  const byName = new Map(spec.services.map((s) => [s.name, s]));

  for (const s of spec.services) {
    const replicas = peakReplicas(s);
    const processes = s.uwsgi?.processes ?? 1;
    const who = `services[${s.name}]`;
    const shape = `${replicas} replicas × ${processes} processes`;
    if (s.mysql)
      mysql.push({ consumer: who, connections: replicas * processes * s.mysql.pool, formula: `${shape} × pool ${s.mysql.pool}` });
    if (s.redis)
      redis.push({ consumer: who, connections: replicas * processes * s.redis.pool, formula: `${shape} × pool ${s.redis.pool}` });
    if (s.migrate && s.mysql) mysql.push({ consumer: `${who}.migrate`, connections: MIGRATION_CONNECTIONS, formula: "migration Job" });
  }

  for (const w of spec.workers) {
    const svc = byName.get(w.service);
    const who = `workers[${w.name}]`;
    const shape = `${w.replicas} workers × concurrency ${w.concurrency}`;
    if (svc?.mysql)
      mysql.push({ consumer: who, connections: w.replicas * w.concurrency * svc.mysql.pool, formula: `${shape} × pool ${svc.mysql.pool}` });
    if (svc?.redis)
      redis.push({ consumer: who, connections: w.replicas * w.concurrency * svc.redis.pool, formula: `${shape} × pool ${svc.redis.pool}` });
  }

  if (spec.beat) {
    const svc = byName.get(spec.beat.service);
    if (svc?.mysql) mysql.push({ consumer: "beat", connections: svc.mysql.pool, formula: `1 scheduler × pool ${svc.mysql.pool}` });
    if (svc?.redis) redis.push({ consumer: "beat", connections: svc.redis.pool, formula: `1 scheduler × pool ${svc.redis.pool}` });
  }

  const kong = spec.edge.kong;
  if (kong && kong.rateLimit.policy === "redis") {
    redis.push({
      consumer: "kong",
      connections: kong.replicas * KONG_REDIS_CONNECTIONS_PER_NODE,
      formula: `${kong.replicas} nodes × ${KONG_REDIS_CONNECTIONS_PER_NODE}`,
    });
  }
  if (spec.push?.kind === "nchan" && spec.edge.nginx) {
    redis.push({
      consumer: "nginx (nchan)",
      connections: spec.edge.nginx.replicas * NCHAN_REDIS_CONNECTIONS_PER_POD,
      formula: `${spec.edge.nginx.replicas} pods × ${NCHAN_REDIS_CONNECTIONS_PER_POD}`,
    });
  }
  if (spec.shortUrl) {
    redis.push({
      consumer: "shortUrl",
      connections: spec.shortUrl.replicas * SHORTURL_REDIS_CONNECTIONS_PER_POD,
      formula: `${spec.shortUrl.replicas} pods × ${SHORTURL_REDIS_CONNECTIONS_PER_POD}`,
    });
  }

  const headroom = spec.connectionHeadroomPercent;
  return {
    mysql: store(mysql, spec.data.mysql.maxConnections, headroom),
    redis: store(redis, spec.data.redis.maxclients, headroom),
  };
}
