/**
 * my.cnf from myCnf() on Debian's real MariaDB: the server accepts both files, starts with them,
 * reports the spec's values, and a replica follows the primary by GTID while refusing app writes.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { spawnSync } from "child_process";
import { myCnf, type MySqlRole } from "../../components/data/myCnf";
import { validateStack } from "../../validate/validateStack";
import { readStackFile } from "../../spec/stackFile";
import { freePort, have, run, startServer, tmpDir, type Server, conformanceSuite } from "../lib/proc";

jest.setTimeout(120_000);

const BINARIES = ["mariadbd", "mariadb-install-db", "mariadb"];
const missing = BINARIES.filter((b) => !have(b));

const maybe = conformanceSuite("MariaDB conformance", missing);

const { stack, raw } = readStackFile(path.join(__dirname, "../../stacks/Pulumi.mvc.yaml"));
const mysql = validateStack(stack, raw).spec.data.mysql;
/** MariaDB refuses to run as root unless told to; as any other user --user is not needed. */
const asUser = process.getuid?.() === 0 ? [`--user=${os.userInfo().username}`] : [];

/** `mariadbd --help --verbose`: the effective variables after reading the file, or the error it gave. */
function helpVerbose(cnf: string): { status: number | null; vars: Map<string, string>; stderr: string } {
  const r = spawnSync("mariadbd", [`--defaults-file=${cnf}`, "--help", "--verbose", ...asUser], { encoding: "utf8", timeout: 30_000 });
  const vars = new Map<string, string>();
  for (const line of r.stdout.split("\n")) {
    const m = /^([a-z][a-z0-9-]+)\s+(\S.*)$/.exec(line);
    if (m) vars.set(m[1], m[2].trim());
  }
  return { status: r.status, vars, stderr: r.stderr };
}

maybe("my.cnf on a real MariaDB (stage mvc)", () => {
  let dir: string;
  const servers: Server[] = [];
  const files: Record<MySqlRole["kind"], string> = { primary: "", replica: "" };
  const ports = { primary: 0, replica: 0 };
  const sock = (role: MySqlRole["kind"]) => path.join(dir, `${role}.sock`);

  /** Runs SQL over the role's socket as root; rows as tab-separated lines. */
  const sql = (role: MySqlRole["kind"], query: string): string[] =>
    run("mariadb", ["--no-defaults", `--socket=${sock(role)}`, "-uroot", "-N", "-B", "-e", query])
      .stdout.trim()
      .split("\n")
      .filter((l) => l !== "");

  beforeAll(() => {
    dir = tmpDir("mariadb");
    for (const kind of ["primary", "replica"] as const) {
      files[kind] = path.join(dir, `${kind}.cnf`);
      fs.writeFileSync(files[kind], myCnf(mysql, { kind }));
    }
  });

  afterAll(async () => {
    for (const s of servers) await s.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test.each(["primary", "replica"] as const)("mariadbd --help --verbose accepts the %s file and reads the spec's values", (kind) => {
    const { status, vars, stderr } = helpVerbose(files[kind]);
    expect({ status, stderr: status === 0 ? "" : stderr }).toEqual({ status: 0, stderr: "" });
    expect(vars.get("max-connections")).toBe(String(mysql.maxConnections));
    expect(vars.get("innodb-buffer-pool-size")).toBe(String(1024 ** 3)); // 1Gi
    expect(vars.get("binlog-format")).toBe("ROW");
    expect(vars.get("gtid-strict-mode")).toBe("TRUE");
    expect(vars.get("log-slave-updates")).toBe("TRUE");
    expect(vars.get("character-set-server")).toBe("utf8mb4");
    expect(vars.get("read-only")).toBe(kind === "replica" ? "TRUE" : "FALSE");
  });

  test("the same check refuses a misspelt option (so passing it means something)", () => {
    const bad = path.join(dir, "bad.cnf");
    fs.writeFileSync(bad, myCnf(mysql, { kind: "primary" }) + "max_conections = 5\n");
    const { status, stderr } = helpVerbose(bad);
    expect(status).not.toBe(0);
    expect(stderr).toMatch(/unknown variable 'max_conections=5'/);
  });

  test("a real primary and replica start with the files and report the spec's values", async () => {
    const t0 = Date.now();
    const primaryData = path.join(dir, "primary-data");
    run("mariadb-install-db", [
      `--defaults-file=${files.primary}`,
      `--datadir=${primaryData}`,
      "--auth-root-authentication-method=normal",
      "--skip-test-db",
      ...asUser,
    ]);
    // The replica starts from the same empty system tables, as a fresh StatefulSet pod would.
    fs.cpSync(primaryData, path.join(dir, "replica-data"), { recursive: true });
    const installed = Date.now() - t0;
    for (const [i, kind] of (["primary", "replica"] as const).entries()) {
      ports[kind] = await freePort();
      servers.push(
        await startServer(
          `mariadbd ${kind}`,
          "mariadbd",
          [
            `--defaults-file=${files[kind]}`,
            `--datadir=${path.join(dir, `${kind}-data`)}`,
            `--socket=${sock(kind)}`,
            `--port=${ports[kind]}`,
            `--pid-file=${path.join(dir, `${kind}.pid`)}`,
            "--bind-address=127.0.0.1",
            // What the per-pod init step supplies: a distinct server_id per ordinal.
            `--server-id=${i + 1}`,
            ...asUser,
          ],
          ports[kind],
          { timeoutMs: 60_000 },
        ),
      );
    }
    console.log(`MariaDB: install-db ${installed} ms, both servers up ${Date.now() - t0} ms`);
    const q =
      "SELECT @@max_connections, @@read_only, @@innodb_buffer_pool_size, @@binlog_format, @@gtid_strict_mode, @@log_bin, @@server_id";
    expect(sql("primary", q)).toEqual([[String(mysql.maxConnections), "0", String(1024 ** 3), "ROW", "1", "1", "1"].join("\t")]);
    expect(sql("replica", q)).toEqual([[String(mysql.maxConnections), "1", String(1024 ** 3), "ROW", "1", "1", "2"].join("\t")]);
  });

  test("the replica follows the primary by GTID and refuses writes from the app user", async () => {
    expect(ports.replica).toBeGreaterThan(0);
    sql(
      "primary",
      [
        "CREATE USER repl@'%' IDENTIFIED BY 'repl-pw'",
        "GRANT REPLICATION SLAVE ON *.* TO repl@'%'",
        "CREATE DATABASE app",
        "CREATE USER app@'%' IDENTIFIED BY 'app-pw'",
        "GRANT ALL ON app.* TO app@'%'",
        "CREATE TABLE app.orders (id INT PRIMARY KEY, item VARCHAR(32)) CHARACTER SET utf8mb4",
      ].join("; "),
    );
    sql(
      "replica",
      `CHANGE MASTER TO MASTER_HOST='127.0.0.1', MASTER_PORT=${ports.primary}, MASTER_USER='repl', MASTER_PASSWORD='repl-pw', MASTER_USE_GTID=slave_pos; START SLAVE`,
    );
    sql("primary", "INSERT INTO app.orders VALUES (1, 'café ☕')");

    const deadline = Date.now() + 20_000;
    let rows: string[] = [];
    while (Date.now() < deadline) {
      rows =
        sql("replica", "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema='app'")[0] === "1"
          ? sql("replica", "SELECT id, item FROM app.orders")
          : [];
      if (rows.length > 0) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(rows).toEqual(["1\tcafé ☕"]);
    expect(sql("replica", "SELECT @@gtid_slave_pos")).toEqual(sql("primary", "SELECT @@gtid_binlog_pos"));

    // The app user reaches the replica over TCP (skip-name-resolve: no DNS lookups) and cannot write.
    const write = spawnSync(
      "mariadb",
      ["--no-defaults", "-h127.0.0.1", `-P${ports.replica}`, "-uapp", "-papp-pw", "-e", "INSERT INTO app.orders VALUES (2, 'x')"],
      { encoding: "utf8", timeout: 30_000 },
    );
    expect(write.status).not.toBe(0);
    expect(write.stderr).toMatch(/ERROR 1290 .*--read-only/);
  });
});
