/**
 * The stage spec: one typed, validated schema for every stage.
 *
 * A stage is data. `stacks/Pulumi.<stage>.yaml` holds it under the config key `stagecraft:spec`;
 * what belongs to an environment (where it runs) sits apart under `stagecraft:target`, so a live
 * stack can move from one stage to the next by swapping only the spec.
 *
 * Every object is `.strict()`: an unknown key is a typo, and a typo is an error.
 * Cross-field rules (call graph, connection budget, PDB vs replicas) live in ./rules.ts.
 */
import { z } from "zod";

/** RFC 1123 label: what Kubernetes accepts as a Service/StatefulSet name. */
export const DNS_LABEL = /^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/;
const dnsLabel = z
  .string({ required_error: "is required", invalid_type_error: "must be a string" })
  .regex(DNS_LABEL, "must be a DNS label (lower-case letters, digits and '-', starting with a letter, at most 63)");

/** An image reference with a pinned tag or digest: `latest` and untagged images are refused. */
const image = z
  .string({ required_error: "is required (an image reference with a pinned tag)" })
  .regex(/^[a-z0-9][a-z0-9._\-/:]*?(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(@sha256:[a-f0-9]{64})?$/, "is not an image reference")
  .refine((s) => /(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}|@sha256:[a-f0-9]{64})$/.test(s.replace(/^[^/]*:\d+\//, "")), {
    message: "must carry a pinned tag or digest (e.g. 'redis:7.2.5'), never an implicit latest",
  })
  .refine((s) => !/:latest(@|$)/.test(s), { message: "must not use the 'latest' tag: pin a version" });

const cpu = z.string().regex(/^\d+(\.\d+)?m?$/, "must be a CPU quantity such as '250m' or '1'");
const memory = z.string().regex(/^\d+(Ki|Mi|Gi|Ti)$/, "must be a memory quantity such as '256Mi' or '2Gi'");
const storage = z.string().regex(/^\d+(Mi|Gi|Ti)$/, "must be a storage size such as '20Gi'");
const int = (min: number, max = Number.MAX_SAFE_INTEGER) =>
  z.number({ invalid_type_error: "must be a number" }).int("must be a whole number").min(min).max(max);

/** Requests and limits. Limits default to twice the request (components/lib/pod.ts). */
export const Resources = z
  .object({
    cpu,
    memory,
    cpuLimit: cpu.optional(),
    memoryLimit: memory.optional(),
    ephemeralStorage: memory.default("256Mi"),
  })
  .strict();

const Hpa = z
  .object({
    minReplicas: int(1),
    maxReplicas: int(1),
    targetCpuPercent: int(10, 100).default(70),
  })
  .strict()
  .refine((h) => h.maxReplicas >= h.minReplicas, { message: "must be at least minReplicas", path: ["maxReplicas"] });

/** uWSGI master + workers with gevent, as the write-up runs Django. */
const Uwsgi = z
  .object({
    processes: int(1, 64),
    /** gevent async cores per process (greenlets). */
    asyncCores: int(1, 10000).default(100),
    /** Seconds before a stuck request's worker is recycled. */
    harakiri: int(1, 3600).default(30),
    /** Requests a worker serves before it is recycled (leak guard). */
    maxRequests: int(1).default(5000),
    /** Socket listen backlog. */
    listen: int(1, 65535).default(128),
    bufferSize: int(4096, 65535).default(32768),
  })
  .strict();

const mysqlIdentifier = z.string().regex(/^[a-z][a-z0-9_]{0,63}$/, "must be a MySQL identifier (lower case, digits, '_')");

/** What a service gets of MySQL: its own schema and user, and its pool size per process. */
const MySqlUse = z
  .object({
    schema: mysqlIdentifier,
    user: z.string().regex(/^[a-z][a-z0-9_]{0,31}$/, "must be a MySQL user name (lower case, digits, '_', at most 32)"),
    /** Connections each process keeps in its pool (djorm-ext-pool in the write-up). */
    pool: int(1, 100).default(5),
    /** Reads may go to replicas (the read Service) when the cluster has any. */
    readFromReplicas: z.boolean().default(false),
    /**
     * Rows this service takes over from the schema that owned them in an earlier stage (a stage
     * move splits the monolith's schema between new owners). After `migrate`, the service's Job
     * copies the named Django apps' tables from `from` once, while its own are still empty.
     */
    adopt: z
      .array(
        z
          .object({
            from: mysqlIdentifier,
            /** Django app labels whose tables move (the backend knows each app's tables). */
            apps: z.array(z.string().regex(/^[a-z][a-z0-9_]*$/, "must be a Django app label such as 'accounts'")).min(1),
          })
          .strict(),
      )
      .default([]),
  })
  .strict();

/** What a service gets of Redis: a logical DB or a key prefix, and its redis-py pool size. */
const RedisUse = z
  .object({
    db: int(0, 15).default(0),
    prefix: z.string().regex(/^[a-z][a-z0-9_:-]*$/, "must be a key prefix such as 'orders:'"),
    pool: int(1, 1000).default(10),
  })
  .strict();

/** Client-side governance for RPC calls: the write-up keeps it in the client. */
const RpcClientPolicy = z
  .object({
    rateLimitPerSecond: int(1).default(200),
    burst: int(1).default(50),
    retries: int(0, 10).default(2),
    timeoutMs: int(10, 60000).default(1000),
    balancing: z.enum(["round-robin", "least-conn", "consistent-hash"]).default("round-robin"),
    /** Seconds an instance is skipped after it fails (failover). */
    ejectSeconds: int(1, 3600).default(30),
  })
  .strict();

const BoundedContext = z
  .object({
    name: dnsLabel,
    /** The one aggregate root the context exposes over RPC. */
    aggregateRoot: z.string().regex(/^[A-Z][A-Za-z0-9]*$/, "must be a type name such as 'Order'"),
  })
  .strict();

export const Service = z
  .object({
    name: dnsLabel,
    /** web: Django under uWSGI, reached over HTTP. rpc: gevent + msgpack RPC, registered in etcd. */
    kind: z.enum(["web", "rpc"]),
    /** app services serve users; data services own bounded contexts and their data (stage ddd). */
    layer: z.enum(["app", "data"]).default("app"),
    image,
    replicas: int(1, 500),
    resources: Resources,
    port: int(1024, 65535).default(8000),
    /** HTTP paths the edge routes to this service (web services, or rpc services with an HTTP face). */
    routes: z.array(z.string().regex(/^\/[A-Za-z0-9_\-/.]*$/, "must be a URL path starting with '/'")).default([]),
    uwsgi: Uwsgi.optional(),
    rpc: z
      .object({ clientPolicy: RpcClientPolicy.default({}) })
      .strict()
      .optional(),
    hpa: Hpa.optional(),
    mysql: MySqlUse.optional(),
    redis: RedisUse.optional(),
    /** Names of the services this one calls (HTTP in split, RPC from micro on). */
    calls: z.array(dnsLabel).default([]),
    contexts: z.array(BoundedContext).default([]),
    /** Run `manage.py migrate` as a Job before new pods take traffic. */
    migrate: z.boolean().default(false),
  })
  .strict();

export const Worker = z
  .object({
    /** Kubernetes name suffix: the Deployment is `celery-<name>`. */
    name: dnsLabel,
    /** The service whose code (image, database, cache) the worker runs. */
    service: dnsLabel,
    queue: z.string().regex(/^[a-z][a-z0-9_.-]*$/, "must be a queue name"),
    replicas: int(1, 500),
    /** gevent pool size (`-P gevent -c N`). */
    concurrency: int(1, 10000),
    resources: Resources,
  })
  .strict();

export const Beat = z.object({ service: dnsLabel, resources: Resources }).strict();

const NchanPush = z
  .object({
    kind: z.literal("nchan"),
    /** Public path clients subscribe on (websocket / EventSource / long-poll). */
    subscriberPath: z
      .string()
      .regex(/^\/[a-z0-9_\-/]*$/)
      .default("/sub"),
    /** Internal path the backend publishes on; never routed from outside the cluster. */
    publisherPath: z
      .string()
      .regex(/^\/[a-z0-9_\-/]*$/)
      .default("/pub"),
    messageTimeoutSeconds: int(1, 86400).default(3600),
    messageBufferLength: int(1, 10000).default(100),
  })
  .strict();

const TormqPush = z
  .object({
    kind: z.literal("tormq"),
    image,
    replicas: int(1, 100),
    resources: Resources,
    /** Public websocket path. */
    path: z
      .string()
      .regex(/^\/[a-z0-9_\-/]*$/)
      .default("/push"),
    port: int(1024, 65535).default(8888),
    /** ZeroMQ pub/sub port between replicas. */
    zmqPort: int(1024, 65535).default(5556),
  })
  .strict();

export const Push = z.discriminatedUnion("kind", [NchanPush, TormqPush]);

export const Nginx = z
  .object({
    image,
    /**
     * The temp directory the image's nginx was built with (Debian: /var/lib/nginx; the official
     * image: /var/cache/nginx). The nchan module makes nginx create its compiled-in body path there
     * whatever the config says (seen on the real node), so the pod mounts a scratch volume on it.
     * Part of the image choice, so it sits beside `image`.
     */
    imageTempDir: z
      .string()
      .regex(/^\/[A-Za-z0-9_.\-/]*$/, "must be an absolute path")
      .optional(),
    replicas: int(1, 100),
    resources: Resources,
    workerConnections: int(64, 65535).default(4096),
    /** Idle keepalive connections each worker keeps to the upstreams. */
    upstreamKeepalive: int(0, 1024).default(32),
    clientMaxBodySize: z
      .string()
      .regex(/^\d+[km]?$/, "must be an nginx size such as '10m'")
      .default("10m"),
    timeouts: z
      .object({ connect: int(1, 600).default(5), read: int(1, 3600).default(60), send: int(1, 3600).default(60) })
      .strict()
      .default({}),
  })
  .strict();

const KongConsumer = z
  .object({
    username: dnsLabel,
    /** Name of the secret config key (`stagecraft:<credentialSecret>`) that holds its API key. */
    credentialSecret: z.string().regex(/^[a-zA-Z][a-zA-Z0-9]*$/),
  })
  .strict();

export const Kong = z
  .object({
    image,
    replicas: int(1, 100),
    resources: Resources,
    auth: z.enum(["key-auth", "jwt"]).default("key-auth"),
    rateLimit: z
      .object({
        perSecond: int(1).optional(),
        perMinute: int(1).default(600),
        /** `redis` shares counters between nodes; `local` counts per node. */
        policy: z.enum(["redis", "local"]).default("redis"),
      })
      .strict()
      .default({}),
    consumers: z.array(KongConsumer).default([]),
  })
  .strict();

export const MySql = z
  .object({
    image,
    resources: Resources,
    storage,
    /** Read replicas beside the primary (GTID replication); 0 keeps a lone primary. */
    readReplicas: int(0, 16).default(0),
    maxConnections: int(10, 100000),
    innodbBufferPool: memory.default("256Mi"),
  })
  .strict();

export const Redis = z
  .object({
    image,
    resources: Resources,
    storage,
    maxclients: int(16, 100000),
    maxmemory: memory.default("256Mi"),
    maxmemoryPolicy: z.enum(["noeviction", "allkeys-lru", "volatile-lru", "allkeys-lfu", "volatile-lfu"]).default("allkeys-lru"),
    appendonly: z.boolean().default(true),
  })
  .strict();

export const Etcd = z
  .object({
    image,
    resources: Resources,
    storage,
    members: int(1, 9).refine((n) => n % 2 === 1, {
      message: "must be odd (3, 5, 7): an even member count adds no fault tolerance and can split votes",
    }),
    /** Turn on etcd auth: each RPC service may write only its own registry prefix. */
    auth: z.boolean().default(true),
    /** An image with a shell and etcdctl, for the Job that applies users and roles (etcd's own image is distroless). */
    toolsImage: image.default("docker.io/bitnami/etcd:3.5.17"),
  })
  .strict();

export const ShortUrl = z
  .object({
    image,
    replicas: int(1, 100),
    resources: Resources,
    route: z
      .string()
      .regex(/^\/[a-z0-9_\-/]*$/)
      .default("/s"),
    redisDb: int(0, 15).default(1),
    /**
     * Dynamic modules the image's nginx must `load_module` first: part of the image choice, so it
     * sits beside `image` (Debian's nginx: the NDK and Lua modules; OpenResty's image: none).
     */
    modules: z.array(z.string().regex(/^\/[A-Za-z0-9_.\-/]*\.so$/, "must be an absolute path to a .so module")).default([]),
  })
  .strict();

export const Spec = z
  .object({
    /** The stage's name, for labels and reports only: behaviour never depends on it. */
    stage: dnsLabel,
    description: z.string().default(""),
    edge: z.object({ nginx: Nginx.optional(), kong: Kong.optional() }).strict(),
    services: z.array(Service).min(1, "must list at least one service"),
    workers: z.array(Worker).default([]),
    beat: Beat.optional(),
    push: Push.optional(),
    shortUrl: ShortUrl.optional(),
    data: z.object({ mysql: MySql, redis: Redis, etcd: Etcd.optional() }).strict(),
    /** Call-graph law: `open` allows any acyclic graph; `layered` is ddd's (app -> data only). */
    callRules: z.enum(["open", "layered"]).default("open"),
    /** Spare connections kept free in MySQL and Redis for admins, migrations and bursts. */
    connectionHeadroomPercent: int(0, 100).default(10),
  })
  .strict();

export type Spec = z.infer<typeof Spec>;
export type ServiceSpec = z.infer<typeof Service>;
export type WorkerSpec = z.infer<typeof Worker>;
export type BeatSpec = z.infer<typeof Beat>;
export type PushSpec = z.infer<typeof Push>;
export type NginxSpec = z.infer<typeof Nginx>;
export type KongSpec = z.infer<typeof Kong>;
export type MySqlSpec = z.infer<typeof MySql>;
export type RedisSpec = z.infer<typeof Redis>;
export type EtcdSpec = z.infer<typeof Etcd>;
export type ShortUrlSpec = z.infer<typeof ShortUrl>;
export type ResourcesSpec = z.infer<typeof Resources>;
export type UwsgiSpec = z.infer<typeof Uwsgi>;
export type RpcClientPolicySpec = z.infer<typeof RpcClientPolicy>;
