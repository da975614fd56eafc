/**
 * etcd access for the RPC registry: who may read and write which prefix, and the script a Job
 * runs to make etcd match that plan and turn auth on. Pure.
 *
 * Each RPC service registers itself under its own prefix (`<root><service>/`) with a lease, so it
 * gets read+write there and nowhere else; a caller (rpc or web) reads the prefixes of the RPC
 * services it calls, to find their instances. A compromised service can thus neither fake another
 * service's instances nor see the registry beyond its call graph.
 */
import { DEFAULT_PREFIX_ROOT, etcdUserName, PREFIX_ROOT, registryPrefix, rpcCallees, touchesRegistry } from "../../model/registry";
import type { ServiceSpec } from "../../spec/schema";
/** Roles this project manages start with this, so the script never touches anyone else's. */
export const MANAGED_ROLE_PREFIX = "stagecraft-registry-";

export interface EtcdRole {
  readonly name: string;
  readonly readPrefixes: readonly string[];
  readonly writePrefixes: readonly string[];
}

export interface EtcdAuthPlan {
  readonly users: readonly { readonly name: string; readonly role: string }[];
  readonly roles: readonly EtcdRole[];
}

export interface EtcdAuthScriptOptions {
  /** Client URLs of the members, e.g. `http://etcd-0.etcd.<ns>.svc.cluster.local:2379`. */
  readonly endpoints: readonly string[];
  /** Env var holding the root user's password. */
  readonly rootPasswordEnv?: string;
  /** Env var holding a user's password; defaults to etcdPasswordEnv. */
  readonly passwordEnv?: (user: string) => string;
  /** How long to wait for a quorum before giving up (the Job may start before etcd). */
  readonly waitSeconds?: number;
}

const ENV_NAME = /^[A-Z_][A-Z0-9_]*$/;
const ENDPOINT = /^https?:\/\/[A-Za-z0-9.-]+:\d+$/;

/** The role that carries a service's permissions. */
export const etcdRoleName = (service: string): string => `${MANAGED_ROLE_PREFIX}${service}`;
/** Env var that carries a user's password in the auth Job (one Job holds them all). */
export const etcdPasswordEnv = (user: string): string => `ETCD_PASSWORD_${user.toUpperCase().replace(/-/g, "_")}`;

const sorted = (xs: Iterable<string>) => [...new Set(xs)].sort();

/** Who may read and write what, derived from the services and their call graph. Sorted by name. */
export function etcdAuthPlan(services: readonly ServiceSpec[], prefixRoot: string = DEFAULT_PREFIX_ROOT): EtcdAuthPlan {
  const byName = new Map(services.map((s) => [s.name, s]));
  const users: { name: string; role: string }[] = [];
  const roles: EtcdRole[] = [];
  for (const s of [...services].sort((a, b) => a.name.localeCompare(b.name))) {
    for (const to of s.calls)
      if (!byName.has(to)) throw new Error(`etcd registry: service '${s.name}' calls '${to}', which is not a service of this stage`);
    // Only services that touch the registry get a user: a web service calling only HTTP needs none.
    if (!touchesRegistry(s, services)) continue;
    const user = etcdUserName(s.name);
    if (user === "root") throw new Error(`etcd registry: a service may not be named 'root': that is etcd's administrator`);
    const own = s.kind === "rpc" ? [registryPrefix(s.name, prefixRoot)] : [];
    const role = etcdRoleName(s.name);
    roles.push({
      name: role,
      readPrefixes: sorted([...own, ...rpcCallees(s, services).map((to) => registryPrefix(to, prefixRoot))]),
      writePrefixes: own,
    });
    users.push({ name: user, role });
  }
  return { users, roles };
}

/** A shell word that stays one word whatever it holds. */
const sq = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/**
 * An idempotent POSIX sh script that makes etcd match the plan and turns auth on: creates or
 * updates users (passwords read from env vars, fed to etcdctl on stdin, never on a command
 * line), grants each role its prefixes, revokes prefixes and deletes managed roles the plan no
 * longer has, then `auth enable`. Run on every deploy; a second run changes nothing.
 * Needs `sh` and `etcdctl` (v3.4+) in the image: the etcd 3.5 image is distroless and has no shell.
 */
export function etcdAuthScript(plan: EtcdAuthPlan, opts: EtcdAuthScriptOptions): string {
  const rootEnv = opts.rootPasswordEnv ?? "ETCD_ROOT_PASSWORD";
  const pwEnv = opts.passwordEnv ?? etcdPasswordEnv;
  const waitSeconds = opts.waitSeconds ?? 120;
  if (opts.endpoints.length === 0) throw new Error("etcd auth script: no endpoints given");
  for (const e of opts.endpoints) if (!ENDPOINT.test(e)) throw new Error(`etcd auth script: endpoint '${e}' is not http(s)://host:port`);
  if (!Number.isInteger(waitSeconds) || waitSeconds < 1) throw new Error(`etcd auth script: waitSeconds must be a whole number >= 1`);
  const roleByName = new Map(plan.roles.map((r) => [r.name, r]));
  const envs = new Map<string, string>([["root", rootEnv]]);
  for (const u of plan.users) {
    if (!/^[a-z][a-z0-9-]*$/.test(u.name) || u.name === "root") throw new Error(`etcd auth script: user name '${u.name}' is not allowed`);
    if (!roleByName.has(u.role)) throw new Error(`etcd auth script: user '${u.name}' has role '${u.role}', which the plan does not define`);
    envs.set(u.name, pwEnv(u.name));
  }
  for (const r of plan.roles) {
    if (!r.name.startsWith(MANAGED_ROLE_PREFIX) || !/^[a-z0-9-]+$/.test(r.name))
      throw new Error(`etcd auth script: role '${r.name}' must start with '${MANAGED_ROLE_PREFIX}' (only those are managed)`);
    for (const p of [...r.readPrefixes, ...r.writePrefixes])
      if (!PREFIX_ROOT.test(p) || p === "/")
        throw new Error(`etcd auth script: prefix '${p}' of role '${r.name}' is not a registry prefix`);
  }
  for (const [user, env] of envs)
    if (!ENV_NAME.test(env)) throw new Error(`etcd auth script: '${env}' (password of ${user}) is not an env var name`);

  const lines: string[] = [];
  const add = (...l: string[]) => lines.push(...l);
  add(
    "#!/bin/sh",
    "# Generated by Stagecraft (components/data/etcdAuth.ts). Idempotent: run it on every deploy.",
    "set -eu",
    "export ETCDCTL_API=3",
    `export ETCDCTL_ENDPOINTS=${sq(opts.endpoints.join(","))}`,
    "export ETCDCTL_DIAL_TIMEOUT=3s ETCDCTL_COMMAND_TIMEOUT=10s",
    "",
    "log() { printf 'etcd-auth: %s\\n' \"$*\" >&2; }",
    "",
    "# Every password comes from the environment (a Secret); a missing one stops the run here.",
    ...[...envs].map(([user, env]) => `: "\${${env}:?set ${env} to the etcd password of '${user}'}"`),
    "",
    "# Root credentials on every call: etcd accepts them while auth is off and needs them once it is on.",
    "export ETCDCTL_USER=root",
    `ETCDCTL_PASSWORD=$${rootEnv}`,
    "export ETCDCTL_PASSWORD",
    "",
    "wait_for_quorum() {",
    "  i=0",
    // A linearizable read needs a quorum: exactly what the rest of the script needs.
    "  until out=$(etcdctl get --keys-only --limit=1 /stagecraft-auth-probe 2>&1); do",
    "    i=$((i + 2))",
    `    if [ "$i" -ge ${waitSeconds} ]; then log "no quorum at $ETCDCTL_ENDPOINTS after ${waitSeconds}s: $out"; exit 1; fi`,
    "    sleep 2",
    "  done",
    "}",
    "",
    "# Auth is on when an anonymous admin call is refused for want of a user.",
    "auth_enabled() {",
    "  if out=$(unset ETCDCTL_USER ETCDCTL_PASSWORD; etcdctl user list 2>&1); then return 1; fi",
    '  case $out in *"user name is empty"* | *"permission denied"* | *"invalid auth token"*) return 0 ;; esac',
    '  log "cannot tell whether auth is on: $out"',
    "  exit 1",
    "}",
    "",
    "# ensure_user NAME PASSWORD PROBE_PREFIX: create it, or reset its password unless it already works.",
    "ensure_user() {",
    '  if [ -z "$2" ]; then log "empty password for $1"; exit 1; fi',
    '  if etcdctl user get "$1" >/dev/null 2>&1; then',
    // With auth on, a login that works means the password is current: leave it, so clients keep their tokens.
    '    if [ "$AUTH_ON" = 1 ] && (ETCDCTL_USER=$1 ETCDCTL_PASSWORD=$2 etcdctl get --keys-only --limit=1 --prefix "$3" >/dev/null 2>&1); then',
    "      return 0",
    "    fi",
    '    printf \'%s\\n\' "$2" | etcdctl user passwd "$1" --interactive=false >/dev/null',
    '    log "password of $1 set"',
    "  else",
    '    printf \'%s\\n\' "$2" | etcdctl user add "$1" --interactive=false >/dev/null',
    '    log "user $1 created"',
    "  fi",
    "}",
    "",
    'ensure_role() { etcdctl role get "$1" >/dev/null 2>&1 || { etcdctl role add "$1" >/dev/null && log "role $1 created"; }; }',
    "",
    "# sync_prefixes ROLE 'READ ONLY PREFIXES' 'READ+WRITE PREFIXES': grant these, revoke any other prefix.",
    "sync_prefixes() {",
    '  for p in $2; do etcdctl role grant-permission "$1" read "$p" --prefix >/dev/null; done',
    '  for p in $3; do etcdctl role grant-permission "$1" readwrite "$p" --prefix >/dev/null; done',
    "  for p in $(etcdctl role get \"$1\" | sed -n 's/.*(prefix \\(.*\\))$/\\1/p' | sort -u); do",
    '    case " $2 $3 " in *" $p "*) ;; *) etcdctl role revoke-permission "$1" "$p" --prefix >/dev/null && log "revoked $p from $1" ;; esac',
    "  done",
    "}",
    "",
    "wait_for_quorum",
    "AUTH_ON=0",
    "if auth_enabled; then AUTH_ON=1; fi",
    "",
    "# The administrator first: auth enable needs root with the root role.",
    `ensure_user root "$${rootEnv}" /`,
    "etcdctl role get root >/dev/null 2>&1 || etcdctl role add root >/dev/null",
    "etcdctl user grant-role root root >/dev/null",
    "",
  );
  for (const r of plan.roles) {
    const write = new Set(r.writePrefixes);
    const readOnly = r.readPrefixes.filter((p) => !write.has(p));
    add(`ensure_role ${sq(r.name)}`, `sync_prefixes ${sq(r.name)} ${sq(readOnly.join(" "))} ${sq(r.writePrefixes.join(" "))}`);
  }
  for (const u of plan.users) {
    const r = roleByName.get(u.role) as EtcdRole;
    // The probe prefix is one the user may read, so a successful login is also a successful read.
    const probe = r.readPrefixes[0] ?? "/";
    add(
      `ensure_user ${sq(u.name)} "$${envs.get(u.name) as string}" ${sq(probe)}`,
      `etcdctl user grant-role ${sq(u.name)} ${sq(u.role)} >/dev/null`,
    );
  }
  const keep = plan.roles.map((r) => r.name).join(" ");
  add(
    "",
    "# A managed role the plan no longer has belongs to a removed service: its user keeps no access.",
    "for r in $(etcdctl role list); do",
    `  case $r in ${MANAGED_ROLE_PREFIX}*) case ${sq(` ${keep} `)} in *" $r "*) ;; *) etcdctl role delete "$r" >/dev/null && log "deleted stale role $r" ;; esac ;; esac`,
    "done",
    "",
    "etcdctl auth enable >/dev/null",
    `log "auth on; ${plan.users.length} service user(s) in place"`,
    "",
  );
  return lines.join("\n");
}
