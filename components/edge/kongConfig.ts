/**
 * Kong's declarative configuration (DB-less, `_format_version: "3.0"`) as a pure function of the
 * spec: one Kong service per routed upstream, key-auth or JWT, and rate limiting whose counters
 * every node shares through Redis.
 *
 * Secrets — what Kong 3.x resolves from a vault and what it does not:
 * - `keyauth_credentials.key` and `jwt_secrets.secret` are NOT referenceable: Kong looks
 *   credentials up by their literal value (cache key `key`), and a `{vault://…}` string there is
 *   taken as the key itself. The consumer keys therefore sit in the file, so the WHOLE rendered
 *   file must go into a Kubernetes Secret (never a ConfigMap): see KONG_CONFIG_IN_SECRET.
 * - The rate-limiting plugin's `config.redis.password` IS referenceable (Kong's shared Redis
 *   schema marks it `referenceable = true`), so the file carries `{vault://env/<name>}` and the
 *   password reaches Kong as an environment variable from the Redis Secret (secretKeyRef). The env
 *   vault is bundled and on by default in Kong 3.x; it upper-cases the resource name, so the
 *   reference is the variable's name in lower case. See KONG_SECRET_ENV.
 *
 * Needs Kong >= 3.6 for the nested `config.redis` record (the stacks pin 3.9).
 */
import { createHash } from "crypto";
import type * as Yaml from "yaml";
import type { KongSpec, PushSpec, ServiceSpec, ShortUrlSpec } from "../../spec/schema";
import { NAMES } from "../../model/names";

/** The rendered kong.yml holds consumer keys in plaintext: mount it from a Secret, never a ConfigMap. */
export const KONG_CONFIG_IN_SECRET = true;

/** Environment variables the Kong container must carry (from Secrets), by what they hold. */
export const KONG_SECRET_ENV = {
  /** The Redis password the rate-limiting plugin resolves through `{vault://env/…}`. */
  redisPassword: "STAGECRAFT_REDIS_PASSWORD",
} as const;

export interface Endpoint {
  readonly host: string;
  readonly port: number;
}

export interface KongConfigInput {
  readonly kong: KongSpec;
  readonly services: readonly ServiceSpec[];
  readonly push?: PushSpec;
  readonly shortUrl?: ShortUrlSpec;
  /**
   * Where each routed upstream listens, keyed by its Kubernetes Service name (a service's name,
   * NAMES.push, NAMES.shortUrl). The caller derives hosts (cluster DNS) and ports; this module doesn't.
   */
  readonly endpoints: Readonly<Record<string, Endpoint>>;
  /** Where the rate-limit counters live. Required with policy `redis`. */
  readonly redis?: {
    readonly host: string;
    readonly port: number;
    readonly database: number;
    /** Env var that holds the Redis password; defaults to KONG_SECRET_ENV.redisPassword. */
    readonly passwordEnv?: string;
  };
  /** Each consumer's key (key-auth) or HMAC secret (jwt), by its `credentialSecret` config key. */
  readonly credentials: Readonly<Record<string, string>>;
}

export interface KongRoute {
  readonly name: string;
  readonly paths: string[];
  readonly protocols: ("http" | "https")[];
  readonly strip_path: false;
  readonly preserve_host: true;
}

export interface KeyAuthPlugin {
  readonly name: "key-auth";
  readonly config: { key_names: string[]; key_in_header: true; key_in_query: true; key_in_body: false; hide_credentials: true };
}

export interface JwtPlugin {
  readonly name: "jwt";
  readonly config: { key_claim_name: "iss"; claims_to_verify: ["exp"]; uri_param_names: string[]; secret_is_base64: false };
}

export type KongAuthPlugin = KeyAuthPlugin | JwtPlugin;

export interface RateLimitingPlugin {
  readonly name: "rate-limiting";
  readonly config: {
    second?: number;
    minute: number;
    /** `cluster` needs a database and is never emitted. */
    policy: "redis" | "local";
    limit_by: "consumer";
    fault_tolerant: true;
    redis?: { host: string; port: number; database: number; password: string; timeout: number };
  };
}

export interface KongService {
  readonly name: string;
  readonly url: string;
  readonly connect_timeout: number;
  readonly read_timeout: number;
  readonly write_timeout: number;
  readonly retries: number;
  readonly routes: KongRoute[];
  readonly plugins: KongAuthPlugin[];
}

export interface KongConsumer {
  readonly username: string;
  readonly keyauth_credentials?: { key: string }[];
  readonly jwt_secrets?: { key: string; secret: string; algorithm: "HS256" }[];
}

export interface KongDeclarativeConfig {
  readonly _format_version: "3.0";
  readonly services: KongService[];
  readonly consumers: KongConsumer[];
  readonly plugins: RateLimitingPlugin[];
}

/** Timeouts in ms. Websockets stay open for a long time, so the push route gets an hour of idle time. */
const HTTP_TIMEOUTS = { connect_timeout: 5_000, read_timeout: 60_000, write_timeout: 60_000 } as const;
const WEBSOCKET_TIMEOUTS = { connect_timeout: 5_000, read_timeout: 3_600_000, write_timeout: 3_600_000 } as const;
const ENV_NAME = /^[A-Z][A-Z0-9_]*$/;

interface Upstream {
  readonly name: string;
  readonly paths: string[];
  readonly websocket: boolean;
  /** The short-URL redirect is public: links are opened by anonymous browsers that carry no key. */
  readonly auth: boolean;
}

function authPlugin(kind: KongSpec["auth"]): KongAuthPlugin {
  // Keys may come in the query string too: browsers' WebSocket API cannot set headers.
  if (kind === "key-auth")
    return {
      name: "key-auth",
      config: { key_names: ["apikey"], key_in_header: true, key_in_query: true, key_in_body: false, hide_credentials: true },
    };
  return { name: "jwt", config: { key_claim_name: "iss", claims_to_verify: ["exp"], uri_param_names: ["jwt"], secret_is_base64: false } };
}

function upstreams(input: KongConfigInput): Upstream[] {
  const out: Upstream[] = input.services
    .filter((s) => s.routes.length > 0)
    .map((s) => ({ name: s.name, paths: [...s.routes], websocket: false, auth: true }));
  if (input.push?.kind === "tormq") out.push({ name: NAMES.push, paths: [input.push.path], websocket: true, auth: true });
  // `<route>/` so the prefix match takes only `<route>/<code>`, not every path that starts with the route.
  if (input.shortUrl)
    out.push({ name: NAMES.shortUrl, paths: [`${input.shortUrl.route.replace(/\/+$/, "")}/`], websocket: false, auth: false });
  const seen = new Set<string>();
  for (const u of out) {
    if (seen.has(u.name)) throw new Error(`kongConfig: two routed upstreams are named '${u.name}'; Kong service names must be unique`);
    seen.add(u.name);
  }
  return out;
}

function rateLimiting(input: KongConfigInput): RateLimitingPlugin {
  const { kong } = input;
  const { perSecond, perMinute, policy } = kong.rateLimit;
  const limits = { ...(perSecond !== undefined ? { second: perSecond } : {}), minute: perMinute };
  // fault_tolerant: a Redis outage lets traffic through rather than taking the whole API down.
  const common = { limit_by: "consumer", fault_tolerant: true } as const;
  if (policy === "local") {
    // Same rule as the schema's: per-node counters multiply the limit by the node count.
    if (kong.replicas > 1)
      throw new Error(
        `kongConfig: rate-limit policy 'local' with ${kong.replicas} Kong nodes lets clients through ${kong.replicas}× the limit`,
      );
    return { name: "rate-limiting", config: { ...limits, policy: "local", ...common } };
  }
  const redis = input.redis;
  if (!redis) throw new Error("kongConfig: rate-limit policy 'redis' needs input.redis (host, port, database)");
  const env = redis.passwordEnv ?? KONG_SECRET_ENV.redisPassword;
  if (!ENV_NAME.test(env)) throw new Error(`kongConfig: '${env}' is not an environment variable name (upper case, digits, '_')`);
  return {
    name: "rate-limiting",
    config: {
      ...limits,
      policy: "redis",
      ...common,
      redis: {
        host: redis.host,
        port: redis.port,
        database: redis.database,
        password: `{vault://env/${env.toLowerCase()}}`,
        timeout: 2_000,
      },
    },
  };
}

function consumers(input: KongConfigInput): KongConsumer[] {
  return input.kong.consumers.map((c) => {
    const credential = input.credentials[c.credentialSecret];
    if (!credential)
      throw new Error(
        `kongConfig: consumer '${c.username}' has no credential: set it with pulumi config set --secret stagecraft:${c.credentialSecret} <value>`,
      );
    return input.kong.auth === "key-auth"
      ? { username: c.username, keyauth_credentials: [{ key: credential }] }
      : // The JWT's `iss` claim names the consumer; the HMAC secret is the credential.
        { username: c.username, jwt_secrets: [{ key: c.username, secret: credential, algorithm: "HS256" }] };
  });
}

/** The declarative config as a typed object. Throws on inputs the caller should never pass. */
export function kongConfig(input: KongConfigInput): KongDeclarativeConfig {
  const services = upstreams(input).map((u): KongService => {
    const ep = input.endpoints[u.name];
    if (!ep) throw new Error(`kongConfig: no endpoint given for upstream '${u.name}'`);
    return {
      name: u.name,
      url: `http://${ep.host}:${ep.port}`,
      ...(u.websocket ? WEBSOCKET_TIMEOUTS : HTTP_TIMEOUTS),
      retries: 3,
      routes: u.paths.map((p, i) => ({
        name: `${u.name}-${i}`,
        paths: [p],
        protocols: ["http", "https"],
        strip_path: false,
        preserve_host: true,
      })),
      // Without consumers every authenticated route answers 401: fail closed, never open.
      plugins: u.auth ? [authPlugin(input.kong.auth)] : [],
    };
  });
  // One global limiter: per consumer where a key identified one, per client IP elsewhere (short URLs).
  return { _format_version: "3.0", services, consumers: consumers(input), plugins: [rateLimiting(input)] };
}

/** kong.yml text, byte-for-byte the same for the same input (no aliases, no line folding). */
export function kongYaml(input: KongConfigInput): string {
  // Loaded here, not at the top: the Stage imports this module for every stage, and the yaml
  // package is a few percent of a preview's program start-up (CPU profile with the engine), which
  // stages without Kong (mvc, split) would pay for nothing.
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- see above
  const { stringify } = require("yaml") as typeof Yaml;
  return stringify(kongConfig(input), { aliasDuplicateObjects: false, lineWidth: 0 });
}

/** Short content hash for a pod-template annotation, so a config change rolls Kong's pods. */
export function kongConfigHash(yaml: string): string {
  return createHash("sha256").update(yaml).digest("hex").slice(0, 16);
}
