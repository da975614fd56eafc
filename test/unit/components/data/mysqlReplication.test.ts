/**
 * The MariaDB replication scripts, run by a real sh where they need no server: server_id from the
 * ordinal, the bootstrap SQL printed from env vars and files (with hostile passwords escaped),
 * and the replica init's early exits. Replication itself: test/conformance/mysqlReplication.test.ts.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import {
  CLONE_MARKER,
  INIT_MARKER,
  mariadbdCommand,
  mariadbProbes,
  mysqlPasswordEnv,
  primaryInitScript,
  primaryBootstrapSql,
  replicaInitScript,
  serverIdScript,
  type ReplicaInitOptions,
} from "../../../../components/data/mysqlReplication";
import { validateStack } from "../../../../validate/validateStack";
import { Service, type Spec } from "../../../../spec/schema";
import { ROOT } from "../../../lib/paths";
import { readStackFile } from "../../../../spec/stackFile";

const specOf = (stage: string): Spec => {
  const { stack, raw } = readStackFile(path.join(ROOT, "stacks", `Pulumi.${stage}.yaml`));
  return validateStack(stack, raw).spec;
};
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "stagecraft-mysqlrepl-unit-"));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** Runs a script with exactly this environment (plus PATH), like a container would. */
function sh(script: string, env: Record<string, string>) {
  const r = spawnSync("/bin/sh", ["-c", script], { encoding: "utf8", env: { PATH: process.env.PATH ?? "/usr/bin:/bin", ...env } });
  if (r.error) throw r.error;
  return r;
}
const syntaxOk = (script: string) => {
  const r = spawnSync("/bin/sh", ["-n"], { input: script, encoding: "utf8" });
  expect(r.stderr).toBe("");
  expect(r.status).toBe(0);
};

describe("serverIdScript", () => {
  test.each([
    [1, "mysql-0", false, 1],
    [100, "mysql-replica-0", true, 100],
    [100, "mysql-replica-1", true, 101],
    [100, "mysql-replica-15", true, 115],
  ])("base %i on pod %s (read_only %p) -> server_id %i", (base, pod, readOnly, id) => {
    const conf = path.join(tmp, `${pod}`, "conf.d", "server-id.cnf");
    const script = serverIdScript(base, { confFile: conf, readOnly });
    syntaxOk(script);
    const r = sh(script, { POD_NAME: pod });
    expect(r.status).toBe(0);
    expect(fs.readFileSync(conf, "utf8")).toBe(`[mariadbd]\nserver_id=${id}\nreport_host=${pod}\n${readOnly ? "read_only=ON\n" : ""}`);
    // Idempotent: a second run writes the same file.
    expect(sh(script, { POD_NAME: pod }).status).toBe(0);
    expect(fs.readFileSync(conf, "utf8")).toContain(`server_id=${id}\n`);
  });
  test.each(["mysql", "mysql-", "mysql-x1"])("refuses a pod name without an ordinal: %p", (pod) => {
    const r = sh(serverIdScript(1, { confFile: path.join(tmp, "never.cnf") }), { POD_NAME: pod });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/cannot read an ordinal/);
    expect(fs.existsSync(path.join(tmp, "never.cnf"))).toBe(false);
  });
  test("writes to the image's conf.d by default", () => expect(serverIdScript(1)).toContain("conf='/etc/mysql/conf.d/server-id.cnf'"));
  test.each([0, -1, 1.5, 4294967295])("refuses base %p", (base) => expect(() => serverIdScript(base)).toThrow(/server-id base/));
  test("refuses a conf path with a quote", () => expect(() => serverIdScript(1, { confFile: "/etc/my'cnf" })).toThrow(/absolute path/));
});

describe("primaryBootstrapSql", () => {
  const opts = (spec: Spec) => ({ replUserEnv: "REPL_USER", replPasswordEnv: "REPL_PASSWORD", services: spec.services });
  const env = (users: string[], extra: Record<string, string> = {}) => ({
    REPL_USER: "replicator",
    REPL_PASSWORD: "r",
    ...Object.fromEntries(users.map((u) => [mysqlPasswordEnv(u), `${u}-pw`])),
    ...extra,
  });

  test.each([
    ["mvc", ["app"]],
    ["split", ["account", "app", "feed"]],
    ["micro", ["account", "app", "feed"]],
    ["ddd", ["account", "feed"]],
  ])("stack %s: schemas and users %p", (stage, users) => {
    const spec = specOf(stage);
    const script = primaryBootstrapSql(opts(spec));
    syntaxOk(script);
    const r = sh(script, env(users));
    expect(r.status).toBe(0);
    const sql = r.stdout;
    expect(sql).toContain("CREATE USER IF NOT EXISTS 'replicator'@'%' IDENTIFIED BY 'r';");
    expect(sql).toContain("GRANT REPLICATION SLAVE ON *.* TO 'replicator'@'%';");
    for (const s of spec.services.filter((x) => x.mysql)) {
      const { schema, user } = s.mysql!;
      expect(sql).toContain(`CREATE DATABASE IF NOT EXISTS \`${schema}\``);
      expect(sql).toContain(`CREATE USER IF NOT EXISTS '${user}'@'%' IDENTIFIED BY '${user}-pw';`);
      expect(sql).toContain(`ALTER USER '${user}'@'%' IDENTIFIED BY '${user}-pw';`);
      expect(sql).toContain(`GRANT ALL PRIVILEGES ON \`${schema}\`.* TO '${user}'@'%';`);
      // Read-only on each schema it adopts rows from, and no other grant on it.
      for (const a of s.mysql!.adopt) expect(sql).toContain(`GRANT SELECT ON \`${a.from}\`.* TO '${user}'@'%';`);
    }
    const adopters = spec.services.filter((x) => (x.mysql?.adopt ?? []).length > 0).length;
    expect(sql.match(/^GRANT SELECT ON/gm) ?? []).toHaveLength(adopters);
    expect(sql.match(/^CREATE USER/gm)).toHaveLength(users.length + 1);
    // No password of any kind in the script's text.
    for (const u of users) expect(script).not.toContain(`${u}-pw`);
  });

  test("a password with quotes, backslashes and $ is escaped for SQL and taken from a _FILE", () => {
    const file = path.join(tmp, "repl-password");
    fs.writeFileSync(file, `a'b\\c$d"e`);
    const script = primaryBootstrapSql(opts(specOf("mvc")));
    const r = sh(script, { REPL_USER: "replicator", REPL_PASSWORD_FILE: file, MYSQL_PASSWORD_APP: "x" });
    expect(r.status).toBe(0);
    expect(r.stdout).toContain(`IDENTIFIED BY 'a\\'b\\\\c$d"e';`);
    // NO_BACKSLASH_ESCAPES is switched off before any literal, so the escaping means what it says.
    expect(r.stdout.indexOf("NO_BACKSLASH_ESCAPES")).toBeLessThan(r.stdout.indexOf("IDENTIFIED BY"));
  });

  test.each([
    ["a missing service password", { MYSQL_PASSWORD_APP: "" }, /MYSQL_PASSWORD_APP \(or MYSQL_PASSWORD_APP_FILE\) is not set/],
    ["a replication user with a quote", { REPL_USER: "rep'l" }, /must be letters, digits and '_'/],
    ["an unreadable _FILE", { REPL_PASSWORD: "", REPL_PASSWORD_FILE: "/nonexistent/secret" }, /cannot read/],
  ])("prints nothing on %s", (_w, extra, message) => {
    const r = sh(primaryBootstrapSql(opts(specOf("mvc"))), env(["app"], extra));
    expect(r.status).not.toBe(0);
    expect(r.stdout).toBe("");
    expect(r.stderr).toMatch(message);
  });

  test("a user shared by two services is created once and granted both schemas", () => {
    const mk = (name: string, schema: string) =>
      Service.parse({
        name,
        kind: "web",
        image: "x/y:1",
        replicas: 1,
        resources: { cpu: "1", memory: "1Gi" },
        mysql: { schema, user: "shared" },
      });
    const r = sh(primaryBootstrapSql({ replUserEnv: "RU", replPasswordEnv: "RP", services: [mk("a", "one"), mk("b", "two")] }), {
      RU: "repl",
      RP: "p",
      MYSQL_PASSWORD_SHARED: "s",
    });
    expect(r.stdout.match(/CREATE USER IF NOT EXISTS 'shared'/g)).toHaveLength(1);
    expect(r.stdout).toContain("GRANT ALL PRIVILEGES ON `one`.* TO 'shared'@'%';");
    expect(r.stdout).toContain("GRANT ALL PRIVILEGES ON `two`.* TO 'shared'@'%';");
  });

  test("custom env names and account host", () => {
    const script = primaryBootstrapSql({ ...opts(specOf("mvc")), passwordEnv: (u) => `PW_${u.toUpperCase()}`, accountHost: "10.0.%" });
    const r = sh(script, { REPL_USER: "repl", REPL_PASSWORD: "p", PW_APP: "a" });
    expect(r.stdout).toContain("GRANT ALL PRIVILEGES ON `app`.* TO 'app'@'10.0.%';");
  });
  test.each([
    [{ replUserEnv: "repl-user" }, /not an env var name/],
    [{ accountHost: "a'b" }, /accountHost/],
    [{ passwordEnv: () => "bad name" }, /not an env var name/],
  ])("refuses %p", (change, message) => expect(() => primaryBootstrapSql({ ...opts(specOf("mvc")), ...change })).toThrow(message));
});

describe("replicaInitScript", () => {
  const base: ReplicaInitOptions = {
    primaryHost: "mysql.stagecraft.svc.cluster.local",
    port: 3306,
    replUserEnv: "REPL_USER",
    replPasswordEnv: "REPL_PASSWORD",
    rootPasswordEnv: "MARIADB_ROOT_PASSWORD",
    dataDir: "/var/lib/mysql",
  };

  test("is valid POSIX sh and holds no password", () => {
    const s = replicaInitScript(base);
    syntaxOk(s);
    expect(s).toContain("mariadb-dump --all-databases --master-data=1 --gtid --single-transaction");
    expect(s).toContain("MASTER_USE_GTID=slave_pos");
    expect(s).toMatch(/--skip-networking --skip-log-bin --skip-slave-start --read-only/);
    // Client passwords travel in MYSQL_PWD, never on a command line (visible in ps).
    expect(s).not.toMatch(/mariadb[a-z-]*[^\n]*(\s-p\S|--password)/);
    expect(s).toContain('MYSQL_PWD=$ROOT_PASSWORD "$@"');
  });

  test("a datadir that already holds a finished clone is left alone, before any secret is read", () => {
    const dataDir = path.join(tmp, "done");
    fs.mkdirSync(dataDir);
    fs.writeFileSync(path.join(dataDir, CLONE_MARKER), "");
    fs.writeFileSync(path.join(dataDir, "ibdata1"), "precious");
    const r = sh(replicaInitScript({ ...base, dataDir }), {});
    expect(r.status).toBe(0);
    expect(r.stderr).toMatch(/nothing to do/);
    expect(fs.readFileSync(path.join(dataDir, "ibdata1"), "utf8")).toBe("precious");
  });

  test("a missing secret stops it before it touches the datadir", () => {
    const dataDir = path.join(tmp, "half");
    fs.mkdirSync(dataDir);
    fs.writeFileSync(path.join(dataDir, "ibdata1"), "partial");
    const r = sh(replicaInitScript({ ...base, dataDir }), { REPL_USER: "repl", REPL_PASSWORD: "p" });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/MARIADB_ROOT_PASSWORD \(or MARIADB_ROOT_PASSWORD_FILE\) is not set/);
    expect(fs.existsSync(path.join(dataDir, "ibdata1"))).toBe(true);
  });

  test("server arguments go first (so --defaults-file works) and are quoted", () => {
    const s = replicaInitScript({ ...base, serverArgs: ["--defaults-file=/etc/my conf.cnf", "--user=root"] });
    expect(s).toContain("mariadb-install-db '--defaults-file=/etc/my conf.cnf' '--user=root' --datadir=");
    expect(s).toContain("mariadbd '--defaults-file=/etc/my conf.cnf' '--user=root' --datadir=");
  });

  test("probe credentials name the replica's own port", () => {
    expect(replicaInitScript({ ...base, localPort: 3307 })).toMatch(/password=%s\\nprotocol=tcp\\n' 3307 /);
  });

  test.each([
    [{ primaryHost: "mysql; rm -rf /" }, /not a host name/],
    [{ port: 0 }, /not a TCP port/],
    [{ localPort: 70000 }, /localPort/],
    [{ replPasswordEnv: "repl-password" }, /not an env var name/],
    [{ dataDir: "var/lib/mysql" }, /absolute path/],
    [{ dataDir: "/var/lib/$(x)" }, /absolute path/],
    [{ waitSeconds: 0 }, /waitSeconds/],
  ] as [Partial<ReplicaInitOptions>, RegExp][])("refuses %p", (change, message) =>
    expect(() => replicaInitScript({ ...base, ...change })).toThrow(message),
  );
});

describe("primaryInitScript (the primary's own init step; against a real server: test/conformance/mysqlReplication.test.ts)", () => {
  const sh = (script: string, env: Record<string, string>) =>
    spawnSync("sh", ["-c", script], { encoding: "utf8", env: { PATH: process.env.PATH, ...env } });

  test("an initialised datadir is left alone, before any secret is read", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "init-"));
    fs.mkdirSync(path.join(dir, "mysql"));
    const r = sh(primaryInitScript({ rootPasswordEnv: "ROOT_PW", dataDir: dir }), {});
    fs.rmSync(dir, { recursive: true });
    expect(r.status).toBe(0);
    expect(r.stderr).toMatch(/already initialised: nothing to do/);
  });

  test("an empty datadir without the root password fails, naming the variable", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "init-"));
    const r = sh(primaryInitScript({ rootPasswordEnv: "ROOT_PW", dataDir: dir }), {});
    fs.rmSync(dir, { recursive: true });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/ROOT_PW \(or ROOT_PW_FILE\) is not set/);
  });

  test("the password is never in the script's text; the server args come first; the marker is written", () => {
    const s = primaryInitScript({ rootPasswordEnv: "ROOT_PW", dataDir: "/var/lib/mysql", serverArgs: ["--defaults-file=/etc/x.cnf"] });
    expect(s).toContain(`mariadb-install-db '--defaults-file=/etc/x.cnf' --datadir=`);
    expect(s).toContain("--skip-networking --skip-log-bin");
    expect(s).toContain(INIT_MARKER);
    expect(s).not.toMatch(/IDENTIFIED BY '[^%]/);
  });

  test.each([
    [{ rootPasswordEnv: "root pw", dataDir: "/d" }, /not an env var name/],
    [{ rootPasswordEnv: "R", dataDir: "relative" }, /absolute path/],
    [{ rootPasswordEnv: "R", dataDir: "/d", waitSeconds: 0 }, /waitSeconds/],
  ])("refuses %j", (opts, err) => expect(() => primaryInitScript(opts)).toThrow(err));
});

describe("mariadbdCommand and mariadbProbes", () => {
  test("the server reads only the defaults file, with every path explicit", () => {
    expect(
      mariadbdCommand({ defaultsFile: "/etc/mysql/conf.d/s.cnf", dataDir: "/var/lib/mysql", socket: "/run/mysqld/m.sock", port: 3306 }),
    ).toEqual([
      "mariadbd",
      "--defaults-file=/etc/mysql/conf.d/s.cnf",
      "--datadir=/var/lib/mysql",
      "--socket=/run/mysqld/m.sock",
      "--port=3306",
    ]);
    expect(() => mariadbdCommand({ defaultsFile: "/a", dataDir: "/b", socket: "/c", port: 0 })).toThrow(/not a TCP port/);
  });

  test("readiness queries with the password from env (not argv); liveness pings without one", () => {
    const p = mariadbProbes({ socket: "/run/mysqld/m.sock", rootPasswordEnv: "ROOT_PW" });
    expect(p.readiness.join(" ")).toContain('MYSQL_PWD="$ROOT_PW" mariadb --no-defaults --protocol=socket --socket=/run/mysqld/m.sock');
    expect(p.liveness).toEqual(["mariadb-admin", "--no-defaults", "--protocol=socket", "--socket=/run/mysqld/m.sock", "ping"]);
    expect(() => mariadbProbes({ socket: "/s", rootPasswordEnv: "1x" })).toThrow(/env var name/);
  });
});
