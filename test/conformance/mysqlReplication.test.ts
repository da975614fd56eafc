/**
 * Real MariaDB (Debian's 10.11; the images run 11.4) on loopback: a primary bootstrapped with
 * primaryBootstrapSql, and replicas made by replicaInitScript with server ids from serverIdScript.
 * Proves that data written before a replica exists reaches it through the clone, later writes
 * through GTID replication, that the replica refuses application writes, and that every script is
 * idempotent. Each server runs the real my.cnf from myCnf (split stack) plus the server_id file
 * from serverIdScript; only where it lives (datadir, socket, port, loopback) is the test's own.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { myCnf } from "../../components/data/myCnf";
import {
  CLONE_MARKER,
  INIT_MARKER,
  mariadbProbes,
  mysqlPasswordEnv,
  primaryInitScript,
  primaryBootstrapSql,
  replicaInitScript,
  serverIdScript,
} from "../../components/data/mysqlReplication";
import { validateStack } from "../../validate/validateStack";
import { readStackFile } from "../../spec/stackFile";
import { freePort, have, run, startServer, tmpDir, type Server, conformanceSuite } from "../lib/proc";

const missing = ["mariadbd", "mariadb", "mariadb-dump", "mariadb-install-db", "mariadb-admin"].filter((b) => !have(b));
const maybe = conformanceSuite("MariaDB replication conformance", missing);

const { stack, raw } = readStackFile(path.join(__dirname, "../../stacks/Pulumi.split.yaml"));
const { spec } = validateStack(stack, raw);
const users = [...new Set(spec.services.flatMap((s) => (s.mysql ? [s.mysql.user] : [])))].sort();

const ROOT_PW = "root-pw-0123";
// Quotes, a backslash and a dollar: the scripts must carry any password through sh and SQL intact.
const REPL_PW = `re'pl\\pa$s"word`;

interface Sql {
  status: number | null;
  out: string;
}

maybe("MariaDB GTID replication from the generated scripts", () => {
  jest.setTimeout(180_000);
  const dir = tmpDir("mysql");
  const servers: Server[] = [];
  const passwords: Record<string, string> = {};
  let primaryPort = 0;
  let replicaPort = 0;
  const secretsDir = path.join(dir, "secrets");

  /**
   * The server's config: the rendered my.cnf for its role, then where this test puts it (paths,
   * loopback port, a small buffer pool for a shared machine), then its server_id file.
   */
  function cnf(name: string, port: number, role: "primary" | "replica", serverIdFile: string): string {
    const rendered = path.join(dir, `${name}-my.cnf`);
    fs.writeFileSync(rendered, myCnf(spec.data.mysql, { kind: role }));
    const file = path.join(dir, `${name}.cnf`);
    const lines = [
      `!include ${rendered}`,
      "[mariadbd]",
      `datadir=${path.join(dir, name)}`,
      `socket=${path.join(dir, `${name}.sock`)}`,
      `pid-file=${path.join(dir, `${name}.pid`)}`,
      `port=${port}`,
      "bind-address=127.0.0.1",
      "innodb_buffer_pool_size=64M",
      `!include ${serverIdFile}`,
      "",
    ];
    fs.writeFileSync(file, lines.join("\n"));
    return file;
  }

  /** One statement through the client over TCP, no config files of the machine; bare values unless `vertical`. */
  function sql(port: number, user: string, password: string, query: string, vertical = false): Sql {
    const format = vertical ? ["--vertical"] : ["-N", "-B"];
    const r = spawnSync("mariadb", ["--no-defaults", "--protocol=tcp", "-h127.0.0.1", `-P${port}`, `-u${user}`, ...format, "-e", query], {
      encoding: "utf8",
      env: { ...process.env, MYSQL_PWD: password },
      timeout: 30_000,
    });
    if (r.error) throw r.error;
    return { status: r.status, out: `${r.stdout}${r.stderr}`.trim() };
  }
  const ok = (port: number, user: string, password: string, query: string) => {
    const r = sql(port, user, password, query);
    if (r.status !== 0) throw new Error(`${user}@${port}: ${query}\n${r.out}`);
    return r.out;
  };
  async function until(what: string, check: () => boolean, ms = 20_000): Promise<void> {
    const deadline = Date.now() + ms;
    while (!check()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  /** Runs a generated script with env; returns status and output, never throws on failure. */
  function sh(script: string, env: Record<string, string>, stdinTo?: string[]): { status: number | null; stdout: string; stderr: string } {
    const r = stdinTo
      ? spawnSync("sh", ["-c", `${stdinTo.join(" ")}`], {
          encoding: "utf8",
          env: { ...process.env, ...env, SCRIPT: script },
          timeout: 150_000,
        })
      : spawnSync("sh", ["-c", script], { encoding: "utf8", env: { ...process.env, ...env }, timeout: 150_000 });
    if (r.error) throw r.error;
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
  }

  const bootstrap = primaryBootstrapSql({ replUserEnv: "REPL_USER", replPasswordEnv: "REPL_PASSWORD", services: spec.services });
  /** Pipes the bootstrap SQL into the primary, as the bootstrap Job does. */
  function applyBootstrap(): void {
    const env = { ...passwords, REPL_USER: "replicator", REPL_PASSWORD_FILE: path.join(secretsDir, "repl"), MYSQL_PWD: ROOT_PW };
    const client = `mariadb --no-defaults --protocol=tcp -h127.0.0.1 -P${primaryPort} -uroot`;
    const r = sh(bootstrap, env, ["set -e;", 'sh -c "$SCRIPT" |', client]);
    if (r.status !== 0) throw new Error(`bootstrap failed (${r.status}):\n${r.stdout}\n${r.stderr}`);
  }

  function replicaInit(name: string, replPassword = REPL_PW, waitSeconds = 60) {
    const script = replicaInitScript({
      primaryHost: "127.0.0.1",
      port: primaryPort,
      localPort: replicaPort,
      replUserEnv: "REPL_USER",
      replPasswordEnv: "REPL_PASSWORD",
      rootPasswordEnv: "MARIADB_ROOT_PASSWORD",
      dataDir: path.join(dir, name),
      serverArgs: [`--defaults-file=${path.join(dir, `${name}.cnf`)}`, "--user=root"],
      waitSeconds,
    });
    const started = Date.now();
    const r = sh(script, { REPL_USER: "replicator", REPL_PASSWORD: replPassword, MARIADB_ROOT_PASSWORD: ROOT_PW, TMPDIR: dir });
    return { ...r, ms: Date.now() - started };
  }

  function serverId(name: string, pod: string, base = 100, readOnly = true): string {
    const conf = path.join(dir, `${name}-id.cnf`);
    const r = sh(serverIdScript(base, { confFile: conf, readOnly }), { POD_NAME: pod });
    if (r.status !== 0) throw new Error(`server-id script failed:\n${r.stderr}`);
    return conf;
  }

  beforeAll(async () => {
    primaryPort = await freePort();
    do replicaPort = await freePort();
    while (replicaPort === primaryPort);
    fs.mkdirSync(secretsDir);
    fs.writeFileSync(path.join(secretsDir, "repl"), REPL_PW);
    for (const u of users) passwords[mysqlPasswordEnv(u)] = `${u}-pw-'1`;

    // The primary, initialised by the project's own step (primaryInitScript), as its init container does.
    const pcnf = cnf("primary", primaryPort, "primary", serverId("primary", "mysql-0", 1, false));
    const init = primaryInit(pcnf);
    if (init.status !== 0) throw new Error(`primary init failed (${init.status}):\n${init.stderr}`);
    servers.push(await startServer("primary", "mariadbd", [`--defaults-file=${pcnf}`, "--user=root"], primaryPort));
  });

  function primaryInit(pcnf: string) {
    const script = primaryInitScript({
      rootPasswordEnv: "MARIADB_ROOT_PASSWORD",
      dataDir: path.join(dir, "primary"),
      serverArgs: [`--defaults-file=${pcnf}`, "--user=root"],
      waitSeconds: 60,
    });
    return sh(script, { MARIADB_ROOT_PASSWORD: ROOT_PW, TMPDIR: dir });
  }

  test("the primary's own init step: root has the Secret's password over TCP and the socket, no anonymous account, idempotent", () => {
    expect(ok(primaryPort, "root", ROOT_PW, "SELECT COUNT(*) FROM mysql.user WHERE User = ''")).toBe("0");
    expect(sql(primaryPort, "root", "wrong", "SELECT 1").status).not.toBe(0);
    expect(ok(primaryPort, "root", ROOT_PW, "SELECT GROUP_CONCAT(Host ORDER BY Host) FROM mysql.user WHERE User = 'root'")).toBe(
      "%,127.0.0.1,::1,localhost",
    );
    expect(fs.existsSync(path.join(dir, "primary", INIT_MARKER))).toBe(true);
    const again = primaryInit(path.join(dir, "primary.cnf"));
    expect(again.status).toBe(0);
    expect(again.stderr).toMatch(/nothing to do/);
  });

  test("the probes: readiness queries as root over the socket, liveness pings; a wrong password fails readiness only", () => {
    const probes = mariadbProbes({ socket: path.join(dir, "primary.sock"), rootPasswordEnv: "MARIADB_ROOT_PASSWORD" });
    const runProbe = (cmd: string[], pw: string) =>
      spawnSync(cmd[0], cmd.slice(1), { encoding: "utf8", env: { ...process.env, MARIADB_ROOT_PASSWORD: pw }, timeout: 20_000 }).status;
    expect(runProbe(probes.readiness, ROOT_PW)).toBe(0);
    expect(runProbe(probes.readiness, "wrong")).not.toBe(0);
    expect(runProbe(probes.liveness, "wrong")).toBe(0);
  });

  afterAll(async () => {
    for (const s of servers.reverse()) await s.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test("the bootstrap SQL creates each service's schema and user, twice without error", () => {
    applyBootstrap();
    applyBootstrap();
    for (const s of spec.services.filter((x) => x.mysql)) {
      const { user, schema } = s.mysql!;
      ok(primaryPort, user, passwords[mysqlPasswordEnv(user)], `CREATE TABLE IF NOT EXISTS ${schema}.probe (id INT PRIMARY KEY)`);
    }
    for (const s of spec.services.filter((x) => x.mysql)) {
      const { user, schema, adopt } = s.mysql!;
      const pw = passwords[mysqlPasswordEnv(user)];
      const adopted = new Set(adopt.map((a) => a.from));
      for (const other of spec.services.filter((x) => x.mysql && x.mysql.schema !== schema).map((x) => x.mysql!.schema)) {
        // Another service's schema: nothing, unless this one adopts rows from it, then reading only.
        const read = sql(primaryPort, user, pw, `SELECT * FROM ${other}.probe`);
        const write = sql(primaryPort, user, pw, `INSERT INTO ${other}.probe VALUES (1)`);
        expect({ other, read: read.status === 0 }).toEqual({ other, read: adopted.has(other) });
        expect(write.out).toMatch(/denied/);
      }
    }
    // The replication user holds REPLICATION SLAVE and nothing else; its password went through sh and SQL intact.
    expect(ok(primaryPort, "replicator", REPL_PW, "SHOW GRANTS")).toMatch(/GRANT REPLICATION SLAVE ON \*\.\* TO `replicator`@`%`/);
  });

  test("a missing password stops the bootstrap before it prints any SQL", () => {
    const env = { ...passwords, REPL_USER: "replicator", REPL_PASSWORD: REPL_PW };
    delete (env as Record<string, string>)[mysqlPasswordEnv("feed")];
    const r = sh(bootstrap, env);
    expect(r.status).not.toBe(0);
    expect(r.stdout).toBe("");
    expect(r.stderr).toMatch(/MYSQL_PASSWORD_FEED \(or MYSQL_PASSWORD_FEED_FILE\) is not set/);
  });

  describe("a replica added to a primary that already holds data", () => {
    beforeAll(async () => {
      ok(primaryPort, "account", passwords[mysqlPasswordEnv("account")], "CREATE TABLE account.t (id INT PRIMARY KEY, v VARCHAR(20))");
      ok(primaryPort, "account", passwords[mysqlPasswordEnv("account")], "INSERT INTO account.t VALUES (1, 'before-replica')");
      cnf("replica", replicaPort, "replica", serverId("replica", "mysql-replica-1"));
      const r = replicaInit("replica");
      console.info(`replicaInitScript cloned the primary in ${r.ms} ms`);
      if (r.status !== 0) throw new Error(`replica init failed (${r.status}):\n${r.stderr}`);
      expect(fs.existsSync(path.join(dir, "replica", CLONE_MARKER))).toBe(true);
      servers.push(
        await startServer("replica", "mariadbd", [`--defaults-file=${path.join(dir, "replica.cnf")}`, "--user=root"], replicaPort),
      );
    });
    const accountPw = () => passwords[mysqlPasswordEnv("account")];

    test("it has the row written before it existed", () => {
      expect(ok(replicaPort, "account", accountPw(), "SELECT v FROM account.t WHERE id = 1")).toBe("before-replica");
    });

    test("a row written afterwards replicates by GTID", async () => {
      ok(primaryPort, "account", accountPw(), "INSERT INTO account.t VALUES (2, 'after-replica')");
      await until(
        "row 2 on the replica",
        () => sql(replicaPort, "account", accountPw(), "SELECT v FROM account.t WHERE id = 2").out === "after-replica",
      );
      const status = sql(replicaPort, "root", ROOT_PW, "SHOW SLAVE STATUS", true).out;
      expect(status).toMatch(/Using_Gtid: Slave_Pos/);
      expect(status).toMatch(/Slave_IO_Running: Yes/);
      expect(status).toMatch(/Slave_SQL_Running: Yes/);
      expect(ok(replicaPort, "root", ROOT_PW, "SELECT @@gtid_slave_pos")).toBe(
        ok(primaryPort, "root", ROOT_PW, "SELECT @@gtid_binlog_pos"),
      );
    });

    test("server_id comes from the pod ordinal and read_only from the config", () => {
      expect(ok(replicaPort, "root", ROOT_PW, "SELECT @@server_id, @@read_only")).toBe("101\t1");
    });

    test("it refuses an application write", () => {
      const r = sql(replicaPort, "account", accountPw(), "INSERT INTO account.t VALUES (3, 'on-replica')");
      expect(r.status).not.toBe(0);
      expect(r.out).toMatch(/--read-only/);
      expect(ok(primaryPort, "account", accountPw(), "SELECT COUNT(*) FROM account.t WHERE id = 3")).toBe("0");
    });

    test("the probe credentials it left for healthcheck.sh log in and may watch replication", () => {
      const conf = path.join(dir, "replica", ".my-healthcheck.cnf");
      expect(fs.statSync(conf).mode & 0o077).toBe(0);
      const r = run("mariadb", [`--defaults-extra-file=${conf}`, "-h127.0.0.1", "--vertical", "-e", "SHOW SLAVE STATUS"]);
      expect(r.stdout).toMatch(/Slave_IO_Running: Yes/);
    });

    test("a user's rotated password reaches the replica through replication", async () => {
      passwords[mysqlPasswordEnv("account")] = "account-pw-2";
      applyBootstrap();
      await until("the new password on the replica", () => sql(replicaPort, "account", "account-pw-2", "SELECT 1").status === 0);
      expect(sql(replicaPort, "account", `account-pw-'1`, "SELECT 1").status).not.toBe(0);
    });

    test("running the init script again on a finished replica changes nothing", async () => {
      const primaryPos = ok(primaryPort, "root", ROOT_PW, "SELECT @@gtid_binlog_pos");
      await until("the replica to catch up", () => ok(replicaPort, "root", ROOT_PW, "SELECT @@gtid_slave_pos") === primaryPos);
      const before = ok(replicaPort, "root", ROOT_PW, "SELECT @@gtid_slave_pos");
      const r = replicaInit("replica");
      expect(r.status).toBe(0);
      expect(r.stderr).toMatch(/nothing to do/);
      expect(ok(replicaPort, "root", ROOT_PW, "SELECT @@gtid_slave_pos")).toBe(before);
    });
  });

  test("an interrupted clone is wiped and done again", () => {
    const data = path.join(dir, "replica2");
    fs.mkdirSync(path.join(data, "half-copied-db"), { recursive: true });
    fs.writeFileSync(path.join(data, "ibdata1"), "garbage from a clone that died");
    cnf("replica2", replicaPort, "replica", serverId("replica2", "mysql-replica-2"));
    const r = replicaInit("replica2");
    if (r.status !== 0) throw new Error(`replica init failed (${r.status}):\n${r.stderr}`);
    expect(r.stderr).toMatch(/removing an unfinished clone/);
    expect(fs.existsSync(path.join(data, "half-copied-db"))).toBe(false);
    expect(fs.existsSync(path.join(data, CLONE_MARKER))).toBe(true);
    expect(fs.existsSync(path.join(data, "account", "t.ibd"))).toBe(true);
  });

  test("a wrong replication password fails the init at once and leaves no marker", () => {
    cnf("replica3", replicaPort, "replica", serverId("replica3", "mysql-replica-3"));
    const r = replicaInit("replica3", "not-the-password", 60);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/the primary refused the replication user/);
    expect(r.ms).toBeLessThan(45_000);
    expect(fs.existsSync(path.join(dir, "replica3", CLONE_MARKER))).toBe(false);
  });
});
