/**
 * rpc.json: what a service that speaks the write-up's RPC (gevent + msgpack) is told. Pure.
 *
 * - An RPC service registers itself: it grants a lease, puts `<prefix><host>:<port>` under its
 *   own prefix with that lease, and keeps the lease alive. When the pod dies the lease expires
 *   and the instance drops out of every client's view without anyone cleaning up.
 * - Every caller (rpc or web) watches the prefix of each RPC service it calls and applies that
 *   callee's client policy: the write-up keeps rate limiting, failover and balancing in the
 *   client, so the policy belongs to the callee and every caller applies the same one.
 * Output is deterministic (fixed key order, callees sorted) so a re-render never rolls pods.
 */
import { Service, type ServiceSpec } from "../../spec/schema";
import { etcdUserName, registryPrefix } from "../../model/registry";

export interface RpcCallee {
  readonly service: string;
  /** Watch this prefix: each key under it is one live instance (`host:port`). */
  readonly prefix: string;
  readonly balancing: "round-robin" | "least-conn" | "consistent-hash";
  /** Per-attempt timeout. */
  readonly timeoutMs: number;
  /** Worst case for one call: every attempt timing out. */
  readonly deadlineMs: number;
  /** Token bucket in the client: sustained rate and burst, per caller process. */
  readonly rateLimit: { readonly perSecond: number; readonly burst: number };
  /** On failure retry on another instance, and skip the failed one for ejectSeconds. */
  readonly failover: { readonly retries: number; readonly ejectSeconds: number };
}

export interface RpcConfig {
  readonly service: string;
  readonly etcd: {
    readonly endpoints: readonly string[];
    /** Null when etcd auth is off. The password is in the named env var, never here. */
    readonly auth: { readonly user: string; readonly passwordEnv: string } | null;
  };
  /** Null for a service that only calls (a web service); set for an RPC service. */
  readonly registration: {
    readonly prefix: string;
    /** Instance key: prefix + `<host>:<port>`. */
    readonly port: number;
    readonly leaseTtlSeconds: number;
    /** Refresh well inside the TTL, so two lost keepalives do not drop a healthy instance. */
    readonly keepAliveSeconds: number;
  } | null;
  readonly callees: readonly RpcCallee[];
}

export interface RpcConfigInput {
  readonly service: ServiceSpec;
  readonly services: readonly ServiceSpec[];
  readonly etcdEndpoints: readonly string[];
  readonly prefixRoot: string;
  readonly leaseTtlSeconds?: number;
  /** Set when etcd auth is on: the env var the pod carries its etcd password in. */
  readonly etcdAuth?: { readonly passwordEnv: string };
}

export const DEFAULT_LEASE_TTL_SECONDS = 10;

/** The client policy an RPC service without an explicit one gets: the schema's own defaults. */
function defaultPolicy() {
  return Service.shape.rpc.unwrap().parse({}).clientPolicy;
}

export function rpcConfig(input: RpcConfigInput): RpcConfig {
  const { service: s, services } = input;
  const fail = (what: string): never => {
    throw new Error(`rpc config of '${s.name}': ${what}`);
  };
  const ttl = input.leaseTtlSeconds ?? DEFAULT_LEASE_TTL_SECONDS;
  // etcd's minimum lease TTL is about 1.5 election timeouts; 3 s leaves room for one lost keepalive.
  if (!Number.isInteger(ttl) || ttl < 3 || ttl > 3600) fail(`leaseTtlSeconds must be a whole number in 3..3600 (got ${ttl})`);
  if (input.etcdEndpoints.length === 0) fail("no etcd endpoints: an RPC service finds its peers in etcd");
  if (input.etcdAuth && !/^[A-Z_][A-Z0-9_]*$/.test(input.etcdAuth.passwordEnv))
    fail(`'${input.etcdAuth.passwordEnv}' is not an env var name`);
  if (!services.some((x) => x.name === s.name)) fail("the service is not in the services list");
  const byName = new Map(services.map((x) => [x.name, x]));
  const callees: RpcCallee[] = [];
  for (const to of [...new Set(s.calls)].sort()) {
    const callee = byName.get(to) ?? fail(`calls '${to}', which is not a service of this stage`);
    if (callee.kind !== "rpc") continue; // HTTP callees are reached by DNS, in settings.json.
    const p = callee.rpc?.clientPolicy ?? defaultPolicy();
    callees.push({
      service: to,
      prefix: registryPrefix(to, input.prefixRoot),
      balancing: p.balancing,
      timeoutMs: p.timeoutMs,
      deadlineMs: p.timeoutMs * (p.retries + 1),
      rateLimit: { perSecond: p.rateLimitPerSecond, burst: p.burst },
      failover: { retries: p.retries, ejectSeconds: p.ejectSeconds },
    });
  }
  if (s.kind !== "rpc" && callees.length === 0) fail("it is not an RPC service and calls none: it needs no rpc.json");
  return {
    service: s.name,
    etcd: {
      endpoints: [...input.etcdEndpoints],
      auth: input.etcdAuth ? { user: etcdUserName(s.name), passwordEnv: input.etcdAuth.passwordEnv } : null,
    },
    registration:
      s.kind === "rpc"
        ? {
            prefix: registryPrefix(s.name, input.prefixRoot),
            port: s.port,
            leaseTtlSeconds: ttl,
            keepAliveSeconds: Math.max(1, Math.floor(ttl / 3)),
          }
        : null,
    callees,
  };
}

/** rpc.json as mounted into the pod. */
export function rpcConfigJson(input: RpcConfigInput): string {
  return JSON.stringify(rpcConfig(input), null, 2) + "\n";
}
