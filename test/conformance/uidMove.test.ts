/**
 * A live stack's volumes were written under the images' old uids (MariaDB and Redis 999, etcd 1001).
 * The pods now run as workloadId(kind) with fsGroup = that id; the kubelet then re-groups the volume
 * once (test/lib/fsGroup.ts, a copy of what it does). On Debian's real servers, as those uids (the
 * test runs as root and drops to them with setpriv, as the container runtime does): the new uid
 * reads and writes the old data, MariaDB's 0700 directories included, and a rollback to the old uid
 * reads what the new one wrote. Without the kubelet's step the new uid cannot start: the step is
 * what makes it work, not luck.
 */
import * as fs from "fs";
import * as path from "path";
import { spawnSync } from "child_process";
import { myCnf } from "../../components/data/myCnf";
import { mariadbdCommand, primaryInitScript } from "../../components/data/mysqlReplication";
import { etcdArgs } from "../../components/data/etcdFlags";
import { workloadId } from "../../components/lib/workloadIds";
import { validateStack } from "../../validate/validateStack";
import { readStackFile } from "../../spec/stackFile";
import { applyFsGroup, needsOwnershipChange } from "../lib/fsGroup";
import { conformanceSuite, freePort, have, startServer, tmpDir, type Server } from "../lib/proc";

jest.setTimeout(240_000);

const isRoot = process.getuid?.() === 0;
const missing = [
  ...["setpriv", "mariadbd", "mariadb-install-db", "mariadb", "redis-server", "redis-cli", "etcd", "etcdctl"].filter((b) => !have(b)),
  ...(isRoot ? [] : ["root (to run servers as other uids)"]),
];
const maybe = conformanceSuite("uid move conformance", missing);

/** A pod's identity: runAsUser, runAsGroup and fsGroup, as podSecurity sets them (all one id). */
const as = (id: number, cmd: string[]): string[] => [`--reuid=${id}`, `--regid=${id}`, `--groups=${id}`, "--", ...cmd];

function runAs(id: number, cmd: string[], env: NodeJS.ProcessEnv = {}): { status: number | null; out: string } {
  const r = spawnSync("setpriv", as(id, cmd), { encoding: "utf8", env: { PATH: process.env.PATH, ...env }, timeout: 120_000 });
  if (r.error) throw r.error;
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

/** A volume root as the local provisioner and a fresh EBS volume hand it over: empty, writable. */
function volume(dir: string, name: string): string {
  const root = path.join(dir, name);
  fs.mkdirSync(root, { mode: 0o777 });
  fs.chmodSync(root, 0o777);
  return root;
}

/** Modes and owners under a root, for failure messages and the 0700 check. */
function tree(root: string): { rel: string; uid: number; gid: number; mode: string }[] {
  const out: { rel: string; uid: number; gid: number; mode: string }[] = [];
  const visit = (p: string) => {
    const st = fs.lstatSync(p);
    out.push({ rel: path.relative(root, p) || ".", uid: st.uid, gid: st.gid, mode: (st.mode & 0o7777).toString(8) });
    if (st.isDirectory()) for (const e of fs.readdirSync(p)) visit(path.join(p, e));
  };
  visit(root);
  return out;
}

const OLD = { mysql: 999, redis: 999, etcd: 1001 } as const;
const NEW = { mysql: workloadId("mysql"), redis: workloadId("redis"), etcd: workloadId("etcd") } as const;

const { stack, raw } = readStackFile(path.join(__dirname, "../../stacks/Pulumi.mvc.yaml"));
const spec = validateStack(stack, raw).spec;

maybe("moving a live stack's volumes to the new uids (and back)", () => {
  let dir: string;
  const servers: Server[] = [];
  const stopAll = async () => {
    for (const s of servers.splice(0)) await s.stop();
  };

  beforeAll(() => {
    dir = tmpDir("uid-move");
    // The servers, as other uids, must reach their files under it.
    fs.chmodSync(dir, 0o755);
  });
  afterAll(async () => {
    await stopAll();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test("MariaDB: the new uid serves the old datadir (0700 directories and all); a rollback serves what it wrote", async () => {
    const data = volume(dir, "mysql-data");
    const run = path.join(dir, "mysql-run");
    fs.mkdirSync(run, { mode: 0o777 });
    fs.chmodSync(run, 0o777);
    const cnf = path.join(dir, "stagecraft.cnf");
    fs.writeFileSync(cnf, myCnf(spec.data.mysql, { kind: "primary" }), { mode: 0o644 });
    const env = { MARIADB_ROOT_PASSWORD: "conformance-root", TMPDIR: run };
    const port = await freePort();
    const server = (id: number) =>
      startServer(
        `mariadbd as ${id}`,
        "setpriv",
        as(id, [
          ...mariadbdCommand({ defaultsFile: cnf, dataDir: data, socket: path.join(run, "mysqld.sock"), port }),
          "--bind-address=127.0.0.1",
          "--server-id=1",
          `--pid-file=${path.join(run, "mysqld.pid")}`,
        ]),
        port,
        { timeoutMs: 90_000, env: { PATH: process.env.PATH, TMPDIR: run } },
      );
    const sql = (query: string): string[] => {
      const r = spawnSync("mariadb", ["--no-defaults", "-h127.0.0.1", `-P${port}`, "-uroot", "-N", "-B", "-e", query], {
        encoding: "utf8",
        env: { PATH: process.env.PATH, MYSQL_PWD: env.MARIADB_ROOT_PASSWORD },
      });
      if (r.status !== 0) throw new Error(`mariadb -e ${query}: ${r.stderr}`);
      return r.stdout.trim().split("\n").filter(Boolean);
    };

    // 1. Before: the pod as the old image uid (999) initialises the datadir with the project's own step, writes a row.
    const init = runAs(
      OLD.mysql,
      ["sh", "-c", primaryInitScript({ rootPasswordEnv: "MARIADB_ROOT_PASSWORD", dataDir: data, serverArgs: [`--defaults-file=${cnf}`] })],
      env,
    );
    expect({ status: init.status, out: init.status === 0 ? "" : init.out }).toEqual({ status: 0, out: "" });
    servers.push(await server(OLD.mysql));
    sql(
      "CREATE DATABASE shop; CREATE TABLE shop.orders (id INT PRIMARY KEY, who VARCHAR(20)); INSERT INTO shop.orders VALUES (1, 'before')",
    );
    await stopAll();
    const privateDirs = tree(data).filter((f) => f.uid === OLD.mysql && f.mode === "700");
    // MariaDB keeps each schema in a directory only its owner may enter: the case to prove.
    expect(privateDirs.map((f) => f.rel)).toEqual(expect.arrayContaining(["mysql", "shop"]));

    // 2. The new uid without the kubelet's step: the server cannot use the datadir.
    await expect(server(NEW.mysql)).rejects.toThrow(/exited before listening|did not listen/);

    // 3. The kubelet's step for fsGroup NEW (the root's group is 999: OnRootMismatch runs it), then the new uid.
    expect(applyFsGroup(data, NEW.mysql)).toBe(true);
    expect(tree(data).filter((f) => f.gid !== NEW.mysql)).toEqual([]);
    servers.push(await server(NEW.mysql));
    expect(sql("SELECT who FROM shop.orders ORDER BY id")).toEqual(["before"]);
    sql("INSERT INTO shop.orders VALUES (2, 'after'); CREATE DATABASE audit; CREATE TABLE audit.log (id INT PRIMARY KEY)");
    await stopAll();
    // A second start needs no walk: the root already matches.
    expect(needsOwnershipChange(data, NEW.mysql)).toBe(false);
    // What the new uid created: its own, in group NEW by setgid.
    expect(tree(data).find((f) => f.rel === "audit")).toMatchObject({ uid: NEW.mysql, gid: NEW.mysql });

    // 4. Rollback: fsGroup 999 again; the old uid reads and writes both uids' files.
    expect(applyFsGroup(data, OLD.mysql)).toBe(true);
    servers.push(await server(OLD.mysql));
    expect(sql("SELECT who FROM shop.orders ORDER BY id")).toEqual(["before", "after"]);
    sql("INSERT INTO audit.log VALUES (1)");
    expect(sql("SELECT COUNT(*) FROM audit.log")).toEqual(["1"]);
    await stopAll();
  });

  test("Redis: the new uid loads the old RDB and AOF and rewrites them; a rollback loads them", async () => {
    const data = volume(dir, "redis-data");
    const port = await freePort();
    const server = (id: number) =>
      startServer(
        `redis as ${id}`,
        "setpriv",
        as(id, ["redis-server", "--port", String(port), "--bind", "127.0.0.1", "--dir", data, "--appendonly", "yes", "--save", "60 1"]),
        port,
      );
    const cli = (...args: string[]): string => {
      const r = spawnSync("redis-cli", ["-p", String(port), ...args], { encoding: "utf8" });
      if (r.status !== 0) throw new Error(`redis-cli ${args.join(" ")}: ${r.stderr}`);
      return r.stdout.trim();
    };

    servers.push(await server(OLD.redis));
    cli("SET", "before", "1");
    expect(cli("SAVE")).toBe("OK");
    await stopAll();
    expect(tree(data).some((f) => f.uid === OLD.redis && f.rel === "appendonlydir")).toBe(true);

    expect(applyFsGroup(data, NEW.redis)).toBe(true);
    servers.push(await server(NEW.redis));
    expect(cli("GET", "before")).toBe("1");
    cli("SET", "after", "2");
    // Both a new RDB (rename over the old one's name) and an AOF rewrite (new files in appendonlydir).
    expect(cli("SAVE")).toBe("OK");
    expect(cli("BGREWRITEAOF")).toMatch(/rewriting started/);
    await new Promise((r) => setTimeout(r, 1500));
    await stopAll();

    expect(applyFsGroup(data, OLD.redis)).toBe(true);
    servers.push(await server(OLD.redis));
    expect([cli("GET", "before"), cli("GET", "after")]).toEqual(["1", "2"]);
    await stopAll();
  });

  test("etcd: the new uid serves the old member's data directory; a rollback serves what it wrote", async () => {
    // The pod mounts the volume at /var/lib/etcd and runs with --data-dir /var/lib/etcd/data.
    const volumeRoot = volume(dir, "etcd-volume");
    const dataDir = path.join(volumeRoot, "data");
    const [client, peer] = [await freePort(), await freePort()];
    const args = etcdArgs({
      members: 1,
      ordinal: 0,
      name: () => "etcd-0",
      peerUrl: () => `http://127.0.0.1:${peer}`,
      clientUrl: () => `http://127.0.0.1:${client}`,
      listenPeer: `http://127.0.0.1:${peer}`,
      listenClient: `http://127.0.0.1:${client}`,
      dataDir,
      clusterToken: "stagecraft-uid-move",
    });
    const server = (id: number) =>
      startServer(`etcd as ${id}`, "setpriv", as(id, ["etcd", ...args]), client, { env: { PATH: process.env.PATH } });
    const ctl = (...a: string[]): string => {
      const r = spawnSync("etcdctl", [`--endpoints=http://127.0.0.1:${client}`, ...a], {
        encoding: "utf8",
        env: { PATH: process.env.PATH, ETCDCTL_API: "3" },
      });
      if (r.status !== 0) throw new Error(`etcdctl ${a.join(" ")}: ${r.stderr}`);
      return r.stdout.trim();
    };

    servers.push(await server(OLD.etcd));
    ctl("put", "before", "1");
    await stopAll();
    expect(tree(volumeRoot).find((f) => f.rel === "data")).toMatchObject({ uid: OLD.etcd, mode: "700" });

    await expect(server(NEW.etcd)).rejects.toThrow(/exited before listening|did not listen/);

    expect(applyFsGroup(volumeRoot, NEW.etcd)).toBe(true);
    const s = await server(NEW.etcd);
    servers.push(s);
    expect(ctl("get", "before", "--print-value-only")).toBe("1");
    ctl("put", "after", "2");
    await stopAll();

    expect(applyFsGroup(volumeRoot, OLD.etcd)).toBe(true);
    servers.push(await server(OLD.etcd));
    expect([ctl("get", "before", "--print-value-only"), ctl("get", "after", "--print-value-only")]).toEqual(["1", "2"]);
    await stopAll();
  });
});
