import * as path from "path";
import { mariadbSize, myCnf, type MySqlRole } from "../../../../components/data/myCnf";
import { validateStack } from "../../../../validate/validateStack";
import type { Spec } from "../../../../spec/schema";
import { ROOT } from "../../../lib/paths";
import { readStackFile } from "../../../../spec/stackFile";

function stage(name: string): Spec {
  const { stack, raw } = readStackFile(path.join(ROOT, `stacks/Pulumi.${name}.yaml`));
  return validateStack(stack, raw).spec;
}

/** `[section]` -> key -> value; every non-comment line must be a section or `key = value`, no key twice. */
function parseCnf(text: string): Map<string, Map<string, string>> {
  const out = new Map<string, Map<string, string>>();
  let section: Map<string, string> | undefined;
  for (const line of text.split("\n")) {
    if (line.trim() === "" || line.startsWith("#")) continue;
    const head = /^\[([a-z-]+)\]$/.exec(line);
    if (head) {
      section = new Map();
      out.set(head[1], section);
      continue;
    }
    const kv = /^([a-z_]+) = (\S+)$/.exec(line);
    if (!kv || !section) throw new Error(`not a 'key = value' line inside a section: ${line}`);
    expect(section.has(kv[1])).toBe(false);
    section.set(kv[1], kv[2]);
  }
  return out;
}

const mysql = stage("mvc").data.mysql;
const PRIMARY: MySqlRole = { kind: "primary" };
const REPLICA: MySqlRole = { kind: "replica" };

describe("myCnf: stage mvc", () => {
  test.each([
    ["primary", PRIMARY],
    ["replica", REPLICA],
  ])("%s: one [mysqld] section with the spec's sizes, ROW binlog and strict GTIDs", (_name, role) => {
    const cnf = parseCnf(myCnf(mysql, role));
    expect([...cnf.keys()]).toEqual(["mysqld"]);
    const d = cnf.get("mysqld") as Map<string, string>;
    expect(d.get("max_connections")).toBe("500");
    expect(d.get("innodb_buffer_pool_size")).toBe("1G");
    expect(d.get("binlog_format")).toBe("ROW");
    expect(d.get("log_bin")).toBe("mysql-bin");
    expect(d.get("gtid_strict_mode")).toBe("ON");
    expect(d.get("log_slave_updates")).toBe("ON");
    expect(d.get("skip_name_resolve")).toBe("ON");
    expect(d.get("character_set_server")).toBe("utf8mb4");
    // Per-pod and per-environment settings are never in the shared file.
    expect(d.has("server_id")).toBe(false);
    expect(d.has("bind_address")).toBe(false);
  });

  test("only the replica is read-only", () => {
    expect(parseCnf(myCnf(mysql, PRIMARY)).get("mysqld")?.has("read_only")).toBe(false);
    expect(parseCnf(myCnf(mysql, REPLICA)).get("mysqld")?.get("read_only")).toBe("ON");
  });

  test.each([
    [10, "256Mi", "256M"],
    [100000, "4Gi", "4G"],
  ])("max_connections %d, buffer pool %s", (maxConnections, pool, size) => {
    const d = parseCnf(myCnf({ ...mysql, maxConnections, innodbBufferPool: pool }, PRIMARY)).get("mysqld");
    expect(d?.get("max_connections")).toBe(String(maxConnections));
    expect(d?.get("innodb_buffer_pool_size")).toBe(size);
  });
});

describe("mariadbSize", () => {
  test.each([
    ["512Ki", "512K"],
    ["256Mi", "256M"],
    ["1Gi", "1G"],
    ["2Ti", "2T"],
  ])("%s -> %s", (q, size) => expect(mariadbSize(q)).toBe(size));
  test.each(["1G", "1.5Gi", "Mi", "100"])("refuses %s", (q) => expect(() => mariadbSize(q)).toThrow(/is not a memory quantity/));
});

describe("myCnf include", () => {
  test("the per-pod fragment is included last, so the file alone can be --defaults-file", () => {
    const text = myCnf(mysql, { kind: "primary" }, { include: "/etc/mysql/conf.d/server-id.cnf" });
    expect(text.trimEnd().split("\n").pop()).toBe("!include /etc/mysql/conf.d/server-id.cnf");
    expect(myCnf(mysql, { kind: "primary" })).not.toContain("!include");
  });
  test("refuses a relative include", () => expect(() => myCnf(mysql, { kind: "primary" }, { include: "x.cnf" })).toThrow(/absolute path/));
});
