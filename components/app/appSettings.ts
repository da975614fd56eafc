/**
 * The settings a service's code receives (mounted as settings.json): where its database, cache,
 * callees and push endpoint are, and its pool sizes. Secrets are never in here, only the names
 * of the environment variables that carry them. Pure.
 */
import { cmp } from "../../model/flows";
import { NAMES, PORTS, serviceHost } from "../../model/names";
import type { StageModel } from "../../model/stage";
import type { ServiceSpec } from "../../spec/schema";
import { SHORT_URL_KEY_PREFIX } from "./openrestyConf";

/** Environment variables the pods get from Secrets. */
export const ENV = {
  dbPassword: "DATABASE_PASSWORD",
  redisPassword: "REDIS_PASSWORD",
  etcdPassword: "ETCD_PASSWORD",
} as const;

export interface AppSettings {
  readonly service: string;
  readonly layer: "app" | "data";
  readonly database?: {
    readonly host: string;
    /** Read Service (replicas) when the service may read from them; the primary otherwise. */
    readonly readHost: string;
    readonly port: number;
    readonly name: string;
    readonly user: string;
    readonly pool: number;
    readonly passwordEnv: string;
    /** Tables taken over once from an earlier stage's schema (`manage.py adopt`); absent when none. */
    readonly adopt?: readonly { readonly from: string; readonly apps: readonly string[] }[];
  };
  readonly cache?: {
    readonly host: string;
    readonly port: number;
    readonly db: number;
    readonly prefix: string;
    readonly pool: number;
    readonly passwordEnv: string;
  };
  readonly celery?: { readonly brokerDb: number; readonly queues: readonly string[] };
  /** Callees: HTTP ones by URL; RPC ones are found in the registry (rpc.json). */
  readonly calls: Readonly<Record<string, { readonly protocol: "http" | "rpc"; readonly url?: string }>>;
  readonly push?: { readonly kind: "nchan" | "tormq"; readonly publishUrl: string };
  /**
   * Where short codes are written for the short-URL service to follow: `<prefix><code>` in Redis
   * DB `db` on the cache's Redis (the key OpenResty reads, openrestyConf.ts). Web services with a
   * cache, when the stage has a short-URL service.
   */
  readonly shortUrl?: { readonly db: number; readonly prefix: string };
  /** A data service's bounded contexts: it serves exactly these aggregate roots (none else). */
  readonly contexts?: readonly { readonly name: string; readonly aggregateRoot: string }[];
}

/** Celery's broker lives in its own Redis DB so flushing a cache never drops queued jobs. */
export const CELERY_BROKER_DB = 15;

export function appSettings(service: ServiceSpec, model: StageModel, namespace: string): AppSettings {
  const { spec } = model;
  const host = (n: string) => serviceHost(n, namespace);
  const queues = spec.workers.filter((w) => w.service === service.name).map((w) => w.queue);
  const calls: Record<string, { protocol: "http" | "rpc"; url?: string }> = {};
  const own = model.calls.filter((c) => c.from === service.name).sort((a, b) => cmp(a.to, b.to));
  for (const c of own)
    calls[c.to] = c.protocol === "http" ? { protocol: "http", url: `http://${host(c.to)}:${c.port}` } : { protocol: "rpc" };
  const push = spec.push;
  return {
    service: service.name,
    layer: service.layer,
    database: service.mysql && {
      host: host(NAMES.mysqlClient),
      readHost: host(model.replicaReaders.has(service.name) ? NAMES.mysqlReadClient : NAMES.mysqlClient),
      port: PORTS.mysql,
      name: service.mysql.schema,
      user: service.mysql.user,
      pool: service.mysql.pool,
      passwordEnv: ENV.dbPassword,
      adopt: service.mysql.adopt.length > 0 ? service.mysql.adopt.map((a) => ({ from: a.from, apps: [...a.apps] })) : undefined,
    },
    cache: service.redis && {
      host: host(NAMES.redisClient),
      port: PORTS.redis,
      db: service.redis.db,
      prefix: service.redis.prefix,
      pool: service.redis.pool,
      passwordEnv: ENV.redisPassword,
    },
    celery: queues.length > 0 || spec.beat?.service === service.name ? { brokerDb: CELERY_BROKER_DB, queues } : undefined,
    calls,
    push:
      push?.kind === "nchan"
        ? { kind: "nchan", publishUrl: `http://${host(NAMES.nginxInternal)}:${PORTS.nginxInternal}${push.publisherPath}` }
        : push?.kind === "tormq"
          ? { kind: "tormq", publishUrl: `tcp://${host(NAMES.push)}:${push.zmqPort}` }
          : undefined,
    shortUrl:
      spec.shortUrl && service.redis && service.kind === "web" ? { db: spec.shortUrl.redisDb, prefix: SHORT_URL_KEY_PREFIX } : undefined,
    contexts: service.contexts.length > 0 ? service.contexts.map((c) => ({ name: c.name, aggregateRoot: c.aggregateRoot })) : undefined,
  };
}
