/**
 * `my.cnf` of the MariaDB primary and its read replicas, as a pure function of the spec.
 * Checked against MariaDB 10.11 (Debian) and written for the mariadb:11.4 image: only options both know.
 */
import type { MySqlSpec } from "../../spec/schema";

export type MySqlRole = { readonly kind: "primary" } | { readonly kind: "replica" };

/** Kubernetes memory quantity (`1Gi`) as a MariaDB size (`1G`): both mean powers of 1024. */
export function mariadbSize(quantity: string): string {
  const m = /^(\d+)(Ki|Mi|Gi|Ti)$/.exec(quantity);
  if (!m) throw new Error(`myCnf: '${quantity}' is not a memory quantity such as '256Mi' or '1Gi'`);
  return `${m[1]}${m[2][0]}`;
}

export interface MyCnfOptions {
  /**
   * A per-pod fragment to `!include` at the end (the server_id file an init step writes), so this
   * file alone can be the server's `--defaults-file` and no image's own config is read.
   */
  readonly include?: string;
}

export function myCnf(mysql: MySqlSpec, role: MySqlRole, opts: MyCnfOptions = {}): string {
  if (opts.include !== undefined && (!opts.include.startsWith("/") || /\s/.test(opts.include)))
    throw new Error(`myCnf: include '${opts.include}' must be an absolute path without spaces`);
  if (!Number.isInteger(mysql.maxConnections) || mysql.maxConnections < 1)
    throw new Error(`myCnf: maxConnections must be a positive whole number, got ${mysql.maxConnections}`);
  const lines = [
    `# Rendered by Stagecraft for the ${role.kind} (components/data/myCnf.ts): do not edit.`,
    "#",
    "# server_id and report_host are per pod, so they are not here: an init step writes them next to",
    "# this file from the StatefulSet ordinal. No bind-address: the server's default (every address)",
    "# is what a pod needs; tests pass --bind-address=127.0.0.1.",
    "[mysqld]",
    "skip_name_resolve = ON",
    "character_set_server = utf8mb4",
    "collation_server = utf8mb4_unicode_ci",
    "",
    "# Sized from the connection budget (web and worker pools plus headroom).",
    `max_connections = ${mysql.maxConnections}`,
    `innodb_buffer_pool_size = ${mariadbSize(mysql.innodbBufferPool)}`,
    "innodb_flush_log_at_trx_commit = 1",
    "",
    "# Row-based binlog with GTIDs: a replica (or a replacement primary) follows by GTID position.",
    "log_bin = mysql-bin",
    "binlog_format = ROW",
    "sync_binlog = 1",
    "binlog_expire_logs_seconds = 604800",
    "gtid_strict_mode = ON",
    "# Replicas log what they apply, so any of them can be promoted or chained.",
    "log_slave_updates = ON",
    "relay_log = relay-bin",
  ];
  if (role.kind === "replica") {
    lines.push("", "# Only replication writes here; the app writes to the primary Service.", "read_only = ON");
  }
  if (opts.include) lines.push("", "# server_id, report_host (and read_only on replicas) of this pod.", `!include ${opts.include}`);
  lines.push("");
  return lines.join("\n");
}
