/**
 * kongConfig / kongYaml / kongConfigHash: the micro stack as written, and hand-made variants
 * (jwt, local policy on one node, no consumers, an rpc service with an HTTP face).
 */
import * as path from "path";
import { parse } from "yaml";
import {
  KONG_CONFIG_IN_SECRET,
  KONG_SECRET_ENV,
  kongConfig,
  kongConfigHash,
  kongYaml,
  type Endpoint,
  type KongConfigInput,
  type KongDeclarativeConfig,
} from "../../../../components/edge/kongConfig";
import { NAMES, PORTS, serviceHost } from "../../../../model/names";
import { validateStack } from "../../../../validate/validateStack";
import type { KongSpec, Spec } from "../../../../spec/schema";
import { ROOT } from "../../../lib/paths";
import { readStackFile } from "../../../../spec/stackFile";

const { stack, raw } = readStackFile(path.join(ROOT, "stacks/Pulumi.micro.yaml"));
const micro = validateStack(stack, raw);
const KEY = "mobile-app-key-0123456789abcdef";

/** What the Stage would pass: cluster DNS names and the spec's ports. */
function inputFor(spec: Spec, kong: KongSpec = spec.edge.kong!): KongConfigInput {
  const ns = micro.target.namespace;
  const endpoints: Record<string, Endpoint> = {};
  for (const s of spec.services) endpoints[s.name] = { host: serviceHost(s.name, ns), port: s.port };
  if (spec.push?.kind === "tormq") endpoints[NAMES.push] = { host: serviceHost(NAMES.push, ns), port: spec.push.port };
  if (spec.shortUrl) endpoints[NAMES.shortUrl] = { host: serviceHost(NAMES.shortUrl, ns), port: PORTS.shortUrl };
  return {
    kong,
    services: spec.services,
    push: spec.push,
    shortUrl: spec.shortUrl,
    endpoints,
    redis: { host: serviceHost(NAMES.redis, ns), port: PORTS.redis, database: 3 },
    credentials: Object.fromEntries(kong.consumers.map((c) => [c.credentialSecret, KEY])),
  };
}

const base = inputFor(micro.spec);
const kong = micro.spec.edge.kong!;
const svc = (c: KongDeclarativeConfig, name: string) => c.services.find((s) => s.name === name);

describe("kongConfig on the micro stack", () => {
  const c = kongConfig(base);

  test("format 3.0; one Kong service per routed upstream, rpc services without routes left out", () => {
    expect(c._format_version).toBe("3.0");
    expect(c.services.map((s) => s.name)).toEqual(["web", NAMES.push, NAMES.shortUrl]);
  });

  test.each([
    ["web", "http://web.stagecraft.svc.cluster.local:8000", ["/"]],
    [NAMES.push, `http://push.stagecraft.svc.cluster.local:8888`, ["/push"]],
    [NAMES.shortUrl, `http://shorturl.stagecraft.svc.cluster.local:${PORTS.shortUrl}`, ["/s/"]],
  ])("%s: url %s, paths %j, path and host passed through", (name, url, paths) => {
    const s = svc(c, name)!;
    expect(s.url).toBe(url);
    expect(s.routes.flatMap((r) => r.paths)).toEqual(paths);
    for (const r of s.routes) expect(r).toMatchObject({ strip_path: false, preserve_host: true });
  });

  test("the push route keeps websockets open for an hour; plain HTTP routes time out in a minute", () => {
    expect(svc(c, NAMES.push)).toMatchObject({ read_timeout: 3_600_000, write_timeout: 3_600_000 });
    expect(svc(c, "web")).toMatchObject({ read_timeout: 60_000, write_timeout: 60_000 });
  });

  test("key-auth on every route except the public short-URL redirect", () => {
    expect(svc(c, "web")!.plugins.map((p) => p.name)).toEqual(["key-auth"]);
    expect(svc(c, NAMES.push)!.plugins.map((p) => p.name)).toEqual(["key-auth"]);
    expect(svc(c, NAMES.shortUrl)!.plugins).toEqual([]);
  });

  test("consumers from the spec, with their key", () => {
    expect(c.consumers).toEqual([{ username: "mobile-app", keyauth_credentials: [{ key: KEY }] }]);
  });

  test("one global rate limiter with the spec's limits, counters in Redis, password by env vault reference", () => {
    expect(c.plugins).toEqual([
      {
        name: "rate-limiting",
        config: {
          second: 50,
          minute: 1200,
          policy: "redis",
          limit_by: "consumer",
          fault_tolerant: true,
          redis: {
            host: "redis.stagecraft.svc.cluster.local",
            port: 6379,
            database: 3,
            password: `{vault://env/${KONG_SECRET_ENV.redisPassword.toLowerCase()}}`,
            timeout: 2000,
          },
        },
      },
    ]);
  });
});

describe("variants", () => {
  const rpcWithRoutes = micro.spec.services.map((s) => (s.name === "account" ? { ...s, routes: ["/account"] } : s));
  const cases: [string, KongConfigInput, (c: KongDeclarativeConfig) => void][] = [
    [
      "jwt: jwt plugin on routes, consumers get an HS256 secret keyed by their name",
      inputFor(micro.spec, { ...kong, auth: "jwt" }),
      (c) => {
        expect(svc(c, "web")!.plugins).toEqual([
          { name: "jwt", config: { key_claim_name: "iss", claims_to_verify: ["exp"], uri_param_names: ["jwt"], secret_is_base64: false } },
        ]);
        expect(svc(c, NAMES.shortUrl)!.plugins).toEqual([]);
        expect(c.consumers).toEqual([{ username: "mobile-app", jwt_secrets: [{ key: "mobile-app", secret: KEY, algorithm: "HS256" }] }]);
      },
    ],
    [
      "local policy on one node: no Redis block, no password reference",
      { ...inputFor(micro.spec, { ...kong, replicas: 1, rateLimit: { perMinute: 60, policy: "local" } }), redis: undefined },
      (c) =>
        expect(c.plugins).toEqual([
          { name: "rate-limiting", config: { minute: 60, policy: "local", limit_by: "consumer", fault_tolerant: true } },
        ]),
    ],
    [
      "no consumers: auth stays on (fail closed), consumer list empty",
      inputFor(micro.spec, { ...kong, consumers: [] }),
      (c) => {
        expect(c.consumers).toEqual([]);
        expect(svc(c, "web")!.plugins.map((p) => p.name)).toEqual(["key-auth"]);
      },
    ],
    [
      "an rpc service with an HTTP face gets its own Kong service on its port",
      inputFor({ ...micro.spec, services: rpcWithRoutes }),
      (c) =>
        expect(svc(c, "account")).toMatchObject({
          url: "http://account.stagecraft.svc.cluster.local:9000",
          plugins: [{ name: "key-auth" }],
        }),
    ],
    [
      "a custom password env var becomes the reference",
      { ...base, redis: { ...base.redis!, passwordEnv: "KONG_RL_REDIS_PW" } },
      (c) => expect(c.plugins[0].config.redis?.password).toBe("{vault://env/kong_rl_redis_pw}"),
    ],
    [
      "no push and no short URL: only the routed services",
      inputFor({ ...micro.spec, push: undefined, shortUrl: undefined }),
      (c) => expect(c.services.map((s) => s.name)).toEqual(["web"]),
    ],
  ];
  test.each(cases)("%s", (_name, input, check) => check(kongConfig(input)));

  test.each(cases.map(([n, i]) => [n, i] as const))("never emits the 'cluster' policy (%s)", (_name, input) => {
    expect(kongConfig(input).plugins.every((p) => p.config.policy !== ("cluster" as string))).toBe(true);
    expect(kongYaml(input)).not.toMatch(/policy:\s*cluster/);
  });
});

describe("refusals", () => {
  test.each<[string, KongConfigInput, RegExp]>([
    [
      "local policy with 2 nodes",
      { ...base, kong: { ...kong, rateLimit: { perMinute: 60, policy: "local" } } },
      /'local' with 2 Kong nodes/,
    ],
    ["redis policy without Redis", { ...base, redis: undefined }, /needs input\.redis/],
    ["a consumer without its credential", { ...base, credentials: {} }, /stagecraft:kongMobileAppKey/],
    [
      "an upstream without an endpoint",
      { ...base, endpoints: Object.fromEntries(Object.entries(base.endpoints).filter(([k]) => k !== "web")) },
      /no endpoint given for upstream 'web'/,
    ],
    ["a bad env var name", { ...base, redis: { ...base.redis!, passwordEnv: "bad-name" } }, /not an environment variable name/],
    [
      "two upstreams with one name",
      { ...base, services: base.services.map((s) => (s.name === "account" ? { ...s, name: NAMES.push, routes: ["/a"] } : s)) },
      /two routed upstreams are named 'push'/,
    ],
  ])("%s", (_name, input, message) => expect(() => kongConfig(input)).toThrow(message));
});

describe("kongYaml and kongConfigHash", () => {
  const text = kongYaml(base);

  test("YAML round-trips to the typed object, with a string format version and no aliases", () => {
    expect(parse(text)).toEqual(kongConfig(base));
    expect(text).toMatch(/^_format_version: "3\.0"$/m);
    expect(text).not.toMatch(/[&*]a\d/);
  });

  test("deterministic: the same input gives the same bytes and the same hash", () => {
    expect(kongYaml(inputFor(micro.spec))).toBe(text);
    expect(kongConfigHash(text)).toMatch(/^[0-9a-f]{16}$/);
    expect(kongConfigHash(kongYaml(inputFor(micro.spec)))).toBe(kongConfigHash(text));
  });

  test.each<[string, KongConfigInput]>([
    ["a new route", { ...base, services: base.services.map((s) => (s.name === "web" ? { ...s, routes: ["/", "/api"] } : s)) }],
    ["a new limit", { ...base, kong: { ...kong, rateLimit: { ...kong.rateLimit, perMinute: 1201 } } }],
    ["a rotated key", { ...base, credentials: { kongMobileAppKey: `${KEY}x` } }],
  ])("%s changes the hash, so Kong's pods roll", (_name, input) => {
    expect(kongConfigHash(kongYaml(input))).not.toBe(kongConfigHash(text));
  });

  test("secrets: the Redis password never appears, only its reference; the keys do, hence a Secret", () => {
    expect(text).toContain(`{vault://env/${KONG_SECRET_ENV.redisPassword.toLowerCase()}}`);
    expect(text).toContain(KEY);
    expect(KONG_CONFIG_IN_SECRET).toBe(true);
  });
});
