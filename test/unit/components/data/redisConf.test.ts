import * as path from "path";
import { redisConf, redisSize, type RedisConfOptions } from "../../../../components/data/redisConf";
import { validateStack } from "../../../../validate/validateStack";
import type { Spec } from "../../../../spec/schema";
import { ROOT } from "../../../lib/paths";
import { readStackFile } from "../../../../spec/stackFile";

function stage(name: string): Spec {
  const { stack, raw } = readStackFile(path.join(ROOT, `stacks/Pulumi.${name}.yaml`));
  return validateStack(stack, raw).spec;
}

/** Directives in order as [name, value]; comments and blank lines dropped. */
function parseConf(text: string): [string, string][] {
  return text
    .split("\n")
    .filter((l) => l.trim() !== "" && !l.startsWith("#"))
    .map((l) => {
      const m = /^([a-z-]+) (.+)$/.exec(l);
      if (!m) throw new Error(`not a 'directive value' line: ${l}`);
      return [m[1], m[2]];
    });
}

const redis = stage("mvc").data.redis;
const opts: RedisConfOptions = { port: 6379, dir: "/data", authInclude: "/run/redis/auth.conf" };

describe("redisConf: stage mvc", () => {
  const pairs = parseConf(redisConf(redis, opts));
  const conf = new Map(pairs);

  test("no directive twice", () => expect(conf.size).toBe(pairs.length));

  test.each([
    ["port", "6379"],
    ["dir", "/data"],
    ["maxclients", "1000"],
    ["maxmemory", "384mb"],
    ["maxmemory-policy", "allkeys-lru"],
    ["appendonly", "yes"],
    ["protected-mode", "yes"],
  ])("%s %s", (key, value) => expect(conf.get(key)).toBe(value));

  test("the password is only included, last; no bind", () => {
    expect(pairs[pairs.length - 1]).toEqual(["include", "/run/redis/auth.conf"]);
    expect(conf.has("requirepass")).toBe(false);
    expect(conf.has("bind")).toBe(false);
  });
});

describe("redisConf: values follow the spec", () => {
  test.each([
    [16, "64Mi", "noeviction", false, "64mb", "no"],
    [100000, "2Gi", "volatile-lfu", true, "2gb", "yes"],
  ] as const)("maxclients %d, maxmemory %s, %s, appendonly %s", (maxclients, maxmemory, maxmemoryPolicy, appendonly, mem, aof) => {
    const conf = new Map(parseConf(redisConf({ ...redis, maxclients, maxmemory, maxmemoryPolicy, appendonly }, { ...opts, port: 7000 })));
    expect(conf.get("maxclients")).toBe(String(maxclients));
    expect(conf.get("maxmemory")).toBe(mem);
    expect(conf.get("maxmemory-policy")).toBe(maxmemoryPolicy);
    expect(conf.get("appendonly")).toBe(aof);
    expect(conf.has("appendfsync")).toBe(appendonly);
    expect(conf.get("port")).toBe("7000");
  });

  test.each<[string, Partial<RedisConfOptions>, RegExp]>([
    ["a relative dir", { dir: "data" }, /dir 'data' must be an absolute path/],
    ["an include with a space", { authInclude: "/run/a b" }, /authInclude '\/run\/a b'/],
    ["port 0", { port: 0 }, /port 0 is not a TCP port/],
  ])("refuses %s", (_what, over, message) => {
    expect(() => redisConf(redis, { ...opts, ...over })).toThrow(message);
  });
});

describe("redisSize", () => {
  test.each([
    ["512Ki", "512kb"],
    ["384Mi", "384mb"],
    ["3Gi", "3gb"],
    ["1Ti", "1024gb"],
  ])("%s -> %s", (q, size) => expect(redisSize(q)).toBe(size));
  test.each(["384M", "1.5Gi", ""])("refuses '%s'", (q) => expect(() => redisSize(q)).toThrow(/is not a memory quantity/));
});
