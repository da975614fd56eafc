/**
 * etcdAuthPlan: each RPC service reads and writes only its own registry prefix and reads only its
 * RPC callees'; etcdAuthScript: valid sh that takes every password from the environment.
 * (The script's behaviour against a real etcd is proven in test/conformance/etcd.test.ts.)
 */
import { spawnSync } from "child_process";
import { etcdAuthPlan, etcdAuthScript, etcdPasswordEnv, etcdRoleName, type EtcdAuthPlan } from "../../../../components/data/etcdAuth";
import { DEFAULT_PREFIX_ROOT, registryPrefix } from "../../../../model/registry";
import { Service, type ServiceSpec } from "../../../../spec/schema";
import { stageSpec as specOf } from "../../../lib/stacks";
const P = (s: string) => `${DEFAULT_PREFIX_ROOT}${s}/`;

describe("etcdAuthPlan from the stacks", () => {
  test.each([
    [
      "micro",
      [
        ["account", [P("account")], [P("account")]],
        ["feed", [P("account"), P("feed")], [P("feed")]],
        ["web", [P("account"), P("feed")], []],
      ],
    ],
    [
      "ddd",
      [
        ["content-data", [P("content-data")], [P("content-data")]],
        // feed is a Django app service in ddd: it reads its callees' prefixes and registers nothing.
        ["feed", [P("content-data"), P("user-data")], []],
        ["user-data", [P("user-data")], [P("user-data")]],
        ["web", [P("content-data"), P("user-data")], []],
      ],
    ],
    ["split", []],
    ["mvc", []],
  ] as [string, [string, string[], string[]][]][])("stack %s", (stage, expected) => {
    const plan = etcdAuthPlan(specOf(stage).services);
    expect(plan.users).toEqual(expected.map(([name]) => ({ name, role: etcdRoleName(name) })));
    expect(plan.roles).toEqual(
      expected.map(([name, readPrefixes, writePrefixes]) => ({ name: etcdRoleName(name), readPrefixes, writePrefixes })),
    );
  });

  test.each(["micro", "ddd"])("stack %s: the law holds for every service", (stage) => {
    const services = specOf(stage).services;
    const plan = etcdAuthPlan(services);
    const byName = new Map(services.map((s) => [s.name, s]));
    for (const u of plan.users) {
      const s = byName.get(u.name)!;
      const role = plan.roles.find((r) => r.name === u.role)!;
      // Writes: exactly its own prefix, and only for an RPC service.
      expect(role.writePrefixes).toEqual(s.kind === "rpc" ? [registryPrefix(s.name)] : []);
      // Reads: its own writes plus its RPC callees, nothing else.
      const callees = s.calls.filter((c) => byName.get(c)!.kind === "rpc").map((c) => registryPrefix(c));
      expect([...role.readPrefixes].sort()).toEqual([...new Set([...role.writePrefixes, ...callees])].sort());
    }
  });
});

describe("etcdAuthPlan variants", () => {
  const svc = (name: string, kind: "web" | "rpc", calls: string[] = []): ServiceSpec =>
    Service.parse({ name, kind, calls, image: "example/svc:1.0", replicas: 1, resources: { cpu: "100m", memory: "128Mi" } });

  test("a web service that calls only HTTP services gets no etcd user", () => {
    expect(etcdAuthPlan([svc("web", "web", ["api"]), svc("api", "web")])).toEqual({ users: [], roles: [] });
  });
  test("output does not depend on the order of services or calls", () => {
    const a = [svc("b", "rpc", ["c", "a"]), svc("a", "rpc"), svc("c", "rpc")];
    const b = [svc("c", "rpc"), svc("a", "rpc"), svc("b", "rpc", ["a", "c"])];
    expect(etcdAuthPlan(a)).toEqual(etcdAuthPlan(b));
  });
  test("a prefix never covers another service's (trailing slash)", () => {
    const plan = etcdAuthPlan([svc("acc", "rpc"), svc("account", "rpc")]);
    for (const r of plan.roles)
      for (const p of r.writePrefixes)
        for (const other of plan.roles) if (other !== r) expect(other.writePrefixes.some((q) => q.startsWith(p))).toBe(false);
  });
  test("a custom prefix root", () => {
    expect(etcdAuthPlan([svc("a", "rpc")], "/reg/").roles[0].writePrefixes).toEqual(["/reg/a/"]);
  });
  test.each([
    ["an unknown callee", [svc("a", "rpc", ["ghost"])], /calls 'ghost', which is not a service/],
    ["a service named root", [svc("root", "rpc")], /may not be named 'root'/],
  ])("refuses %s", (_w, services, message) => expect(() => etcdAuthPlan(services)).toThrow(message));
  test.each(["stagecraft", "/no-trailing", "/has space/", ""])("refuses prefix root %p", (root) =>
    expect(() => etcdAuthPlan([svc("a", "rpc")], root)).toThrow(/prefixRoot/),
  );
});

describe("etcdAuthScript", () => {
  const plan = etcdAuthPlan(specOf("micro").services);
  const endpoints = ["http://etcd-0.etcd.stagecraft.svc.cluster.local:2379", "http://etcd-1.etcd.stagecraft.svc.cluster.local:2379"];
  const script = etcdAuthScript(plan, { endpoints });

  test("is valid POSIX sh (dash -n)", () => {
    const r = spawnSync("sh", ["-n"], { input: script, encoding: "utf8" });
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
  });
  test("requires every password from the environment and holds none", () => {
    for (const env of ["ETCD_ROOT_PASSWORD", ...plan.users.map((u) => etcdPasswordEnv(u.name))]) expect(script).toContain(`: "\${${env}:?`);
    expect(script).not.toMatch(/--new-user-password|--password=|ETCDCTL_PASSWORD=['"]?[a-z]/);
  });
  test("stops before touching etcd when a password is missing", () => {
    const env = { PATH: "/nonexistent", ETCD_ROOT_PASSWORD: "x", [etcdPasswordEnv("account")]: "y", [etcdPasswordEnv("feed")]: "z" };
    const r = spawnSync("/bin/sh", ["-c", script], { encoding: "utf8", env });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/ETCD_PASSWORD_WEB.*set ETCD_PASSWORD_WEB/);
    expect(r.stderr).not.toMatch(/etcdctl: not found/);
  });
  test("grants each role its prefixes and enables auth last", () => {
    expect(script).toContain(`export ETCDCTL_ENDPOINTS='${endpoints.join(",")}'`);
    expect(script).toContain(`sync_prefixes 'stagecraft-registry-feed' '${P("account")}' '${P("feed")}'`);
    expect(script).toContain(`sync_prefixes 'stagecraft-registry-web' '${P("account")} ${P("feed")}' ''`);
    expect(script.trimEnd().split("\n").slice(-2)[0]).toBe("etcdctl auth enable >/dev/null");
  });
  test("custom env var names", () => {
    const s = etcdAuthScript(plan, { endpoints, rootPasswordEnv: "ROOT_PW", passwordEnv: (u) => `PW_${u.toUpperCase()}` });
    expect(s).toContain(': "${ROOT_PW:?');
    expect(s).toContain("ensure_user 'feed' \"$PW_FEED\"");
  });
  test("deterministic", () => expect(etcdAuthScript(plan, { endpoints })).toBe(script));

  const bad: [string, EtcdAuthPlan, Parameters<typeof etcdAuthScript>[1], RegExp][] = [
    ["no endpoints", plan, { endpoints: [] }, /no endpoints/],
    ["an endpoint without scheme", plan, { endpoints: ["etcd:2379"] }, /not http/],
    ["a bad env name", plan, { endpoints, rootPasswordEnv: "root-pw" }, /not an env var name/],
    [
      "a user with an undefined role",
      { users: [{ name: "a", role: "stagecraft-registry-x" }], roles: [] },
      { endpoints },
      /does not define/,
    ],
    [
      "an unmanaged role",
      { users: [], roles: [{ name: "admin", readPrefixes: [], writePrefixes: [] }] },
      { endpoints },
      /only those are managed/,
    ],
    [
      "a root-wide prefix",
      { users: [], roles: [{ name: "stagecraft-registry-a", readPrefixes: ["/"], writePrefixes: [] }] },
      { endpoints },
      /not a registry prefix/,
    ],
    ["a user named root", { users: [{ name: "root", role: "stagecraft-registry-a" }], roles: [] }, { endpoints }, /not allowed/],
    ["zero wait", plan, { endpoints, waitSeconds: 0 }, /waitSeconds/],
  ];
  test.each(bad)("refuses %s", (_w, p, opts, message) => expect(() => etcdAuthScript(p, opts)).toThrow(message));
});
