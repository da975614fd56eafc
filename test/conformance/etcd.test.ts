/**
 * A real 3-member etcd cluster (Debian's etcd-server 3.4) on loopback, started from etcdArgs:
 * it serves, survives the loss of its leader, rejoins a restarted member with the same flags,
 * and stops taking writes once quorum is gone. With etcdAuthScript applied, each service's etcd
 * user can register under its own prefix with a lease, read only its callees' prefixes (the ones
 * rpcConfig hands it), and nothing else; the script is idempotent and tracks plan changes.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { rpcConfig } from "../../components/app/rpcConfig";
import { etcdAuthPlan, etcdAuthScript, etcdPasswordEnv } from "../../components/data/etcdAuth";
import { etcdArgs, etcdQuorum } from "../../components/data/etcdFlags";
import { validateStack } from "../../validate/validateStack";
import type { ServiceSpec } from "../../spec/schema";
import { readStackFile } from "../../spec/stackFile";
import { freePort, have, startServer, tmpDir, type Server, conformanceSuite } from "../lib/proc";

const missing = ["etcd", "etcdctl"].filter((b) => !have(b));
const maybe = conformanceSuite("etcd conformance", missing);

const { stack, raw } = readStackFile(path.join(__dirname, "../../stacks/Pulumi.micro.yaml"));
const { spec } = validateStack(stack, raw);
const MEMBERS = spec.data.etcd?.members ?? 3;
const PREFIX_ROOT = "/stagecraft/services/";

interface Result {
  status: number | null;
  out: string;
}

/** Environment with no ETCDCTL_* leaking in from the machine. */
function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith("ETCDCTL_")) env[k] = v;
  return { ...env, ETCDCTL_API: "3", ...extra };
}

maybe(`a ${MEMBERS}-member etcd cluster from etcdArgs`, () => {
  jest.setTimeout(120_000);
  const dir = tmpDir("etcd");
  const servers = new Map<number, Server>();
  let clientPorts: number[] = [];
  let peerPorts: number[] = [];
  const endpoint = (i: number) => `http://127.0.0.1:${clientPorts[i]}`;
  const args = (ordinal: number) =>
    etcdArgs({
      members: MEMBERS,
      ordinal,
      name: (i) => `etcd-${i}`,
      peerUrl: (i) => `http://127.0.0.1:${peerPorts[i]}`,
      clientUrl: endpoint,
      listenPeer: `http://127.0.0.1:${peerPorts[ordinal]}`,
      listenClient: endpoint(ordinal),
      dataDir: path.join(dir, `etcd-${ordinal}`),
      clusterToken: "stagecraft-conformance",
    });
  const start = (i: number) => startServer(`etcd-${i}`, "etcd", args(i), clientPorts[i], { env: cleanEnv() });
  const running = () => [...servers.keys()].sort();

  /** etcdctl against the running members; credentials, if any, through its env vars. */
  function etcdctl(cmd: string[], opts: { user?: [string, string]; endpoints?: number[]; input?: string } = {}): Result {
    const env = cleanEnv({
      ETCDCTL_ENDPOINTS: (opts.endpoints ?? running()).map(endpoint).join(","),
      ETCDCTL_DIAL_TIMEOUT: "2s",
      ETCDCTL_COMMAND_TIMEOUT: "4s",
      ...(opts.user ? { ETCDCTL_USER: opts.user[0], ETCDCTL_PASSWORD: opts.user[1] } : {}),
    });
    const r = spawnSync("etcdctl", cmd, { encoding: "utf8", env, input: opts.input, timeout: 30_000 });
    if (r.error) throw r.error;
    return { status: r.status, out: `${r.stdout}${r.stderr}` };
  }
  const ok = (cmd: string[], opts?: Parameters<typeof etcdctl>[1]) => {
    const r = etcdctl(cmd, opts);
    if (r.status !== 0) throw new Error(`etcdctl ${cmd.join(" ")} failed:\n${r.out}`);
    return r.out;
  };
  /** Retries while a leader is elected; fails with the last output after `ms`. */
  async function eventually(cmd: string[], opts?: Parameters<typeof etcdctl>[1], ms = 15_000): Promise<string> {
    const deadline = Date.now() + ms;
    for (;;) {
      const r = etcdctl(cmd, opts);
      if (r.status === 0) return r.out;
      if (Date.now() > deadline) throw new Error(`etcdctl ${cmd.join(" ")} kept failing:\n${r.out}`);
      await new Promise((res) => setTimeout(res, 250));
    }
  }
  const value = (out: string) => out.trim().split("\n").slice(-1)[0];

  beforeAll(async () => {
    const ports = new Set<number>();
    while (ports.size < 2 * MEMBERS) ports.add(await freePort());
    const all = [...ports];
    clientPorts = all.slice(0, MEMBERS);
    peerPorts = all.slice(MEMBERS);
    // All members at once: with static bootstrap none can elect a leader until a majority is up.
    const started = await Promise.all(Array.from({ length: MEMBERS }, (_, i) => start(i)));
    started.forEach((s, i) => servers.set(i, s));
    await eventually(["endpoint", "health", "--cluster"]);
  });

  afterAll(async () => {
    await Promise.all([...servers.values()].map((s) => s.stop()));
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test("every member reports the same cluster of the expected size", () => {
    const members = ok(["member", "list"]).trim().split("\n");
    expect(members).toHaveLength(MEMBERS);
    for (let i = 0; i < MEMBERS; i++) expect(members.some((l) => l.includes(`etcd-${i}`) && l.includes(endpoint(i)))).toBe(true);
  });

  test("a write on one member is read from every other", async () => {
    ok(["put", "/conformance/a", "one"], { endpoints: [0] });
    for (let i = 1; i < MEMBERS; i++) expect(value(await eventually(["get", "/conformance/a"], { endpoints: [i] }))).toBe("one");
  });

  test("with its leader stopped (SIGTERM by PID) the cluster still writes and reads", async () => {
    const status = JSON.parse(ok(["endpoint", "status", "-w", "json"])) as { Status: { header: { member_id: number }; leader: number } }[];
    const leaderId = status[0].Status.leader;
    const leader = status.findIndex((s) => s.Status.header.member_id === leaderId);
    expect(leader).toBeGreaterThanOrEqual(0);
    await servers.get(leader)!.stop();
    expect(servers.get(leader)!.proc.exitCode ?? servers.get(leader)!.proc.signalCode).not.toBeNull();
    servers.delete(leader);
    expect(running().length).toBe(MEMBERS - 1);
    expect(running().length).toBeGreaterThanOrEqual(etcdQuorum(MEMBERS));
    await eventually(["put", "/conformance/b", "two"]);
    for (const i of running()) expect(value(await eventually(["get", "/conformance/b"], { endpoints: [i] }))).toBe("two");
    // The stopped member comes back with the same flags (as a restarted pod would) and catches up.
    servers.set(leader, await start(leader));
    expect(value(await eventually(["get", "/conformance/b"], { endpoints: [leader] }))).toBe("two");
    // ...and is stopped again: the auth tests below run on a cluster that is one member short.
    await servers.get(leader)!.stop();
    servers.delete(leader);
  });

  describe("etcd auth from the micro stack's call graph", () => {
    const passwords: Record<string, string> = { ETCD_ROOT_PASSWORD: "root-Pa55'word" };
    const users = ["account", "feed", "web"];
    for (const u of users) passwords[etcdPasswordEnv(u)] = `${u}-secret-1`;
    const cred = (u: string): [string, string] => [u, passwords[etcdPasswordEnv(u)]];
    const endpoints = () => running().map(endpoint);

    function applyAuth(services: readonly ServiceSpec[]): string {
      const script = etcdAuthScript(etcdAuthPlan(services, PREFIX_ROOT), { endpoints: endpoints(), waitSeconds: 30 });
      const r = spawnSync("sh", ["-c", script], { encoding: "utf8", env: cleanEnv(passwords), timeout: 90_000 });
      if (r.status !== 0) throw new Error(`auth script failed (${r.status}):\n${r.stdout}\n${r.stderr}`);
      return r.stderr;
    }
    const denied = (r: Result) => {
      expect(r.status).not.toBe(0);
      expect(r.out).toMatch(/permission denied/);
    };
    const config = (name: string) =>
      rpcConfig({
        service: spec.services.find((s) => s.name === name)!,
        services: spec.services,
        etcdEndpoints: endpoints(),
        prefixRoot: PREFIX_ROOT,
        leaseTtlSeconds: 3,
        etcdAuth: { passwordEnv: "ETCD_PASSWORD" },
      });

    beforeAll(() => {
      const first = applyAuth(spec.services);
      expect(first).toMatch(/user account created/);
      expect(first).toMatch(/auth on; 3 service user\(s\)/);
    });

    test("a second run changes nothing", () => {
      const again = applyAuth(spec.services);
      expect(again).not.toMatch(/created|password of|revoked|deleted/);
      expect(again).toMatch(/auth on/);
    });

    test("anonymous requests are refused once auth is on", () => {
      const r = etcdctl(["put", "/conformance/anon", "x"]);
      expect(r.status).not.toBe(0);
      expect(r.out).toMatch(/user name is empty|permission denied/);
    });

    test("account registers itself under its own prefix with a lease, and its instance expires with the lease", async () => {
      const c = config("account");
      const reg = c.registration!;
      expect(c.etcd.auth?.user).toBe("account");
      const lease = /lease ([0-9a-f]+) granted/.exec(ok(["lease", "grant", String(reg.leaseTtlSeconds)], { user: cred("account") }))![1];
      const key = `${reg.prefix}127.0.0.1:${reg.port}`;
      ok(["put", `--lease=${lease}`, key, JSON.stringify({ host: "127.0.0.1", port: reg.port })], { user: cred("account") });
      // feed and web find it through the prefix rpcConfig gives them for the callee.
      for (const caller of ["feed", "web"]) {
        const prefix = config(caller).callees.find((x) => x.service === "account")!.prefix;
        expect(ok(["get", "--prefix", "--keys-only", prefix], { user: cred(caller) })).toContain(key);
      }
      // No keepalive: the lease runs out and the instance disappears by itself.
      const deadline = Date.now() + 15_000;
      while (ok(["get", "--prefix", "--keys-only", reg.prefix], { user: cred("account") }).includes(key)) {
        if (Date.now() > deadline) throw new Error("the registration outlived its lease");
        await new Promise((res) => setTimeout(res, 250));
      }
    });

    test.each([
      ["account", "/stagecraft/services/feed/x"],
      ["account", "/stagecraft/services/web/x"],
      ["account", "/elsewhere"],
      ["feed", "/stagecraft/services/account/x"],
      ["web", "/stagecraft/services/web/x"],
      ["web", "/stagecraft/services/account/x"],
    ])("%s may not write %s", (user, key) => denied(etcdctl(["put", key, "x"], { user: cred(user) })));

    test.each([
      ["account", "/stagecraft/services/feed/"],
      ["account", "/"],
    ])("%s may not read %s", (user, prefix) => denied(etcdctl(["get", "--prefix", prefix], { user: cred(user) })));

    test("a dropped edge of the call graph is revoked on the next run", () => {
      const services = spec.services.map((s) => (s.name === "feed" ? { ...s, calls: [] } : s));
      expect(applyAuth(services)).toMatch(/revoked \/stagecraft\/services\/account\/ from stagecraft-registry-feed/);
      denied(etcdctl(["get", "--prefix", "/stagecraft/services/account/"], { user: cred("feed") }));
      ok(["put", "/stagecraft/services/feed/x", "still-mine"], { user: cred("feed") });
      applyAuth(spec.services);
      ok(["get", "--prefix", "/stagecraft/services/account/"], { user: cred("feed") });
    });

    test("a rotated password takes over and the old one stops working", () => {
      const old = cred("account");
      passwords[etcdPasswordEnv("account")] = "account-secret-2";
      expect(applyAuth(spec.services)).toMatch(/password of account set/);
      ok(["put", "/stagecraft/services/account/x", "y"], { user: cred("account") });
      const r = etcdctl(["get", "/stagecraft/services/account/x"], { user: old });
      expect(r.status).not.toBe(0);
      expect(r.out).toMatch(/authentication failed/);
    });

    test("a removed service's role is deleted and its user loses access", () => {
      const services = spec.services.filter((s) => s.name !== "web").map((s) => s);
      expect(applyAuth(services)).toMatch(/deleted stale role stagecraft-registry-web/);
      denied(etcdctl(["get", "--prefix", "/stagecraft/services/account/"], { user: cred("web") }));
    });
  });

  test("with a second member gone there is no quorum: writes fail", async () => {
    const victim = running()[0];
    await servers.get(victim)!.stop();
    servers.delete(victim);
    expect(running().length).toBeLessThan(etcdQuorum(MEMBERS));
    const r = etcdctl(["put", "/conformance/c", "three"], { user: ["root", "root-Pa55'word"] });
    expect(r.status).not.toBe(0);
    // Refused for want of a leader/quorum, not for a credential or connection problem.
    expect(r.out).toMatch(/deadline exceeded|timed out|no leader|leader changed/);
  });
});
