/**
 * `redis.conf` of the cache, as a pure function of the spec.
 * The password is never in this file (a ConfigMap): a startup step writes `requirepass <password>`
 * from the Secret into `authInclude` on an emptyDir, and this file includes it.
 */
import type { RedisSpec } from "../../spec/schema";

export interface RedisConfOptions {
  readonly port: number;
  /** Data directory (the PVC): AOF and RDB files. */
  readonly dir: string;
  /** File with the `requirepass` line, written at startup from the Secret. */
  readonly authInclude: string;
}

/** Kubernetes memory quantity (`384Mi`) in Redis units (`384mb`): Redis' kb/mb/gb are powers of 1024. */
export function redisSize(quantity: string): string {
  const m = /^(\d+)(Ki|Mi|Gi|Ti)$/.exec(quantity);
  if (!m) throw new Error(`redisConf: '${quantity}' is not a memory quantity such as '256Mi'`);
  const n = Number(m[1]);
  // Redis has no tb unit.
  return m[2] === "Ti" ? `${n * 1024}gb` : `${n}${m[2][0].toLowerCase()}b`;
}

const PATH = /^\/[A-Za-z0-9_\-/.]+$/;

export function redisConf(redis: RedisSpec, opts: RedisConfOptions): string {
  if (!Number.isInteger(opts.port) || opts.port < 1 || opts.port > 65535) throw new Error(`redisConf: port ${opts.port} is not a TCP port`);
  if (!PATH.test(opts.dir)) throw new Error(`redisConf: dir '${opts.dir}' must be an absolute path`);
  if (!PATH.test(opts.authInclude)) throw new Error(`redisConf: authInclude '${opts.authInclude}' must be an absolute path`);
  if (!Number.isInteger(redis.maxclients) || redis.maxclients < 1) throw new Error(`redisConf: maxclients must be a positive whole number`);
  const lines = [
    "# Rendered by Stagecraft (components/data/redisConf.ts): do not edit.",
    "# No bind: a pod listens on every address (tests pass --bind 127.0.0.1). Protected mode stays",
    "# on, so should the password include ever be empty, only loopback clients get in.",
    `port ${opts.port}`,
    "protected-mode yes",
    "daemonize no",
    'logfile ""',
    `dir ${opts.dir}`,
    "",
    "# Sized from the connection budget (every redis-py pool plus headroom).",
    `maxclients ${redis.maxclients}`,
    `maxmemory ${redisSize(redis.maxmemory)}`,
    `maxmemory-policy ${redis.maxmemoryPolicy}`,
    "",
    `appendonly ${redis.appendonly ? "yes" : "no"}`,
    ...(redis.appendonly ? ["appendfsync everysec"] : []),
    "",
    "# Last, so the password file is read after everything else; a missing file stops Redis from starting.",
    `include ${opts.authInclude}`,
    "",
  ];
  return lines.join("\n");
}
