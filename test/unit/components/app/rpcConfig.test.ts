/**
 * rpc.json: an RPC service's own registration (prefix, lease, keepalive) and, for each RPC callee,
 * its prefix and the callee's client policy. Deterministic whatever the order of the input.
 */
import { rpcConfig, rpcConfigJson, type RpcConfigInput } from "../../../../components/app/rpcConfig";
import { touchesRegistry } from "../../../../model/registry";
import { Service, type ServiceSpec, type Spec } from "../../../../spec/schema";
import { stageSpec as specOf } from "../../../lib/stacks";
const ROOT = "/stagecraft/services/";
const ENDPOINTS = ["http://etcd-0.etcd.stagecraft.svc.cluster.local:2379", "http://etcd-1.etcd.stagecraft.svc.cluster.local:2379"];
const input = (spec: Spec, name: string, extra: Partial<RpcConfigInput> = {}): RpcConfigInput => ({
  service: spec.services.find((s) => s.name === name)!,
  services: spec.services,
  etcdEndpoints: ENDPOINTS,
  prefixRoot: ROOT,
  ...extra,
});
const svc = (o: Record<string, unknown>): ServiceSpec =>
  Service.parse({ image: "example/svc:1.0", replicas: 1, resources: { cpu: "100m", memory: "128Mi" }, ...o });

describe("rpc.json for the micro stack", () => {
  const micro = specOf("micro");

  test("account: registers itself, calls nobody", () => {
    expect(rpcConfig(input(micro, "account", { etcdAuth: { passwordEnv: "ETCD_PASSWORD" } }))).toEqual({
      service: "account",
      etcd: { endpoints: ENDPOINTS, auth: { user: "account", passwordEnv: "ETCD_PASSWORD" } },
      registration: { prefix: `${ROOT}account/`, port: 9000, leaseTtlSeconds: 10, keepAliveSeconds: 3 },
      callees: [],
    });
  });

  test("feed: registers itself and calls account under account's policy", () => {
    const c = rpcConfig(input(micro, "feed"));
    expect(c.registration?.prefix).toBe(`${ROOT}feed/`);
    expect(c.etcd.auth).toBeNull();
    expect(c.callees).toEqual([
      {
        service: "account",
        prefix: `${ROOT}account/`,
        balancing: "least-conn",
        timeoutMs: 500,
        deadlineMs: 1500,
        rateLimit: { perSecond: 500, burst: 100 },
        failover: { retries: 2, ejectSeconds: 30 },
      },
    ]);
  });

  test("web: no registration, both callees sorted, each with its own policy", () => {
    const c = rpcConfig(input(micro, "web"));
    expect(c.registration).toBeNull();
    expect(c.callees.map((x) => [x.service, x.balancing, x.timeoutMs, x.deadlineMs, x.rateLimit.perSecond, x.failover.retries])).toEqual([
      ["account", "least-conn", 500, 1500, 500, 2],
      ["feed", "round-robin", 800, 1600, 300, 1],
    ]);
  });

  test.each([
    ["web", true],
    ["account", true],
    ["feed", true],
  ])("touchesRegistry(%s) = %p", (name, expected) =>
    expect(
      touchesRegistry(
        micro.services.find((s) => s.name === name)!,
        micro.services,
      ),
    ).toBe(expected),
  );
});

describe("rpc.json for the other stacks", () => {
  test("split has HTTP only: no service needs rpc.json, and asking for one is an error", () => {
    const split = specOf("split");
    for (const s of split.services) {
      expect(touchesRegistry(s, split.services)).toBe(false);
      expect(() => rpcConfig(input(split, s.name))).toThrow(/needs no rpc.json/);
    }
  });
  test("ddd: data services only register; the app services call them", () => {
    const ddd = specOf("ddd");
    expect(rpcConfig(input(ddd, "user-data")).callees).toEqual([]);
    expect(rpcConfig(input(ddd, "feed")).callees.map((c) => c.service)).toEqual(["content-data", "user-data"]);
    expect(rpcConfig(input(ddd, "web")).registration).toBeNull();
  });
});

describe("rpc.json variants", () => {
  const services = [
    svc({ name: "caller", kind: "rpc", calls: ["plain", "http"] }),
    svc({ name: "plain", kind: "rpc", port: 9100 }),
    svc({ name: "http", kind: "web" }),
  ];
  const base = (o: Partial<RpcConfigInput> = {}): RpcConfigInput => ({
    service: services[0],
    services,
    etcdEndpoints: ENDPOINTS,
    prefixRoot: ROOT,
    ...o,
  });

  test("an RPC callee without an explicit policy gets the schema's defaults; an HTTP callee is left out", () => {
    expect(rpcConfig(base()).callees).toEqual([
      {
        service: "plain",
        prefix: `${ROOT}plain/`,
        balancing: "round-robin",
        timeoutMs: 1000,
        deadlineMs: 3000,
        rateLimit: { perSecond: 200, burst: 50 },
        failover: { retries: 2, ejectSeconds: 30 },
      },
    ]);
  });

  test.each([
    [3, 1],
    [10, 3],
    [30, 10],
    [3600, 1200],
  ])("lease TTL %i s is kept alive every %i s", (ttl, keepAlive) => {
    const r = rpcConfig(base({ leaseTtlSeconds: ttl })).registration!;
    expect([r.leaseTtlSeconds, r.keepAliveSeconds]).toEqual([ttl, keepAlive]);
    expect(r.keepAliveSeconds * 3).toBeLessThanOrEqual(r.leaseTtlSeconds);
  });

  test("the same input in any order renders the same bytes", () => {
    const shuffled = [services[2], services[1], { ...services[0], calls: ["http", "plain"] }];
    expect(rpcConfigJson({ ...base(), service: shuffled[2], services: shuffled })).toBe(rpcConfigJson(base()));
    expect(rpcConfigJson(base()).endsWith("}\n")).toBe(true);
  });

  test.each([
    ["a TTL below 3 s", { leaseTtlSeconds: 2 }, /leaseTtlSeconds/],
    ["a fractional TTL", { leaseTtlSeconds: 4.5 }, /leaseTtlSeconds/],
    ["no etcd endpoints", { etcdEndpoints: [] }, /no etcd endpoints/],
    ["a bad password env", { etcdAuth: { passwordEnv: "etcd-password" } }, /not an env var name/],
    ["a bad prefix root", { prefixRoot: "stagecraft" }, /prefixRoot/],
    ["a service outside the list", { service: svc({ name: "ghost", kind: "rpc" }) }, /not in the services list/],
    ["an unknown callee", { service: svc({ name: "caller", kind: "rpc", calls: ["nobody"] }) }, /calls 'nobody'/],
  ] as [string, Partial<RpcConfigInput>, RegExp][])("refuses %s", (_w, change, message) => {
    expect(() => rpcConfig(base(change))).toThrow(message);
  });
});
