/**
 * settings.json: what each service's code is told about its stores, callees, push, short URLs and
 * bounded contexts. The backend reads the same files (backend/tests/test_contract.py renders them
 * through this function for every service of every stage).
 */
import { appSettings, CELERY_BROKER_DB, ENV } from "../../../../components/app/appSettings";
import { SHORT_URL_KEY_PREFIX } from "../../../../components/app/openrestyConf";
import { stageModel } from "../../../../model/stage";
import type { Spec } from "../../../../spec/schema";
import { stageModelOf } from "../../../lib/stacks";

const NS = "stagecraft";
const settingsOf = (stage: string, service: string) => {
  const model = stageModelOf(stage);
  const s = model.spec.services.find((x) => x.name === service);
  if (!s) throw new Error(`${stage} has no service ${service}`);
  return appSettings(s, model, NS);
};

describe("appSettings on the stage stacks", () => {
  test("mvc web: its database and cache, Celery, nchan push; no short URLs, no contexts", () => {
    expect(settingsOf("mvc", "web")).toEqual({
      service: "web",
      layer: "app",
      database: {
        host: "mysql-client.stagecraft.svc.cluster.local",
        readHost: "mysql-client.stagecraft.svc.cluster.local",
        port: 3306,
        name: "app",
        user: "app",
        pool: 5,
        passwordEnv: ENV.dbPassword,
      },
      cache: {
        host: "redis-client.stagecraft.svc.cluster.local",
        port: 6379,
        db: 0,
        prefix: "web:",
        pool: 10,
        passwordEnv: ENV.redisPassword,
      },
      celery: { brokerDb: CELERY_BROKER_DB, queues: ["default"] },
      calls: {},
      push: { kind: "nchan", publishUrl: expect.stringMatching(/^http:\/\/.+\/pub$/) },
      shortUrl: undefined,
      contexts: undefined,
    });
  });

  test("the owners that took over mvc's schema name it (adopt), each with its own apps; others say nothing", () => {
    expect(settingsOf("split", "account").database?.adopt).toEqual([{ from: "app", apps: ["accounts"] }]);
    expect(settingsOf("ddd", "content-data").database?.adopt).toEqual([{ from: "app", apps: ["posts", "notifications"] }]);
    // Absent, not empty, where nothing is adopted: settings.json of those services is unchanged.
    expect(JSON.stringify(settingsOf("split", "web"))).not.toContain("adopt");
    expect(JSON.stringify(settingsOf("mvc", "web"))).not.toContain("adopt");
  });

  test("micro and ddd web services write short codes where OpenResty reads them: the spec's DB, OpenResty's key prefix", () => {
    for (const [stage, services] of [
      ["micro", ["web"]],
      ["ddd", ["web", "feed"]],
    ] as const) {
      const spec = stageModelOf(stage).spec;
      for (const name of services)
        expect({ stage, name, shortUrl: settingsOf(stage, name).shortUrl }).toEqual({
          stage,
          name,
          shortUrl: { db: spec.shortUrl?.redisDb, prefix: SHORT_URL_KEY_PREFIX },
        });
    }
    // RPC services serve no HTTP API, so they write no short codes.
    expect(settingsOf("micro", "account").shortUrl).toBeUndefined();
    expect(settingsOf("ddd", "user-data").shortUrl).toBeUndefined();
  });

  test("ddd data services are told their bounded contexts (one aggregate root each); app services none", () => {
    expect(settingsOf("ddd", "user-data").contexts).toEqual([
      { name: "account", aggregateRoot: "Account" },
      { name: "profile", aggregateRoot: "Profile" },
    ]);
    expect(settingsOf("ddd", "content-data").contexts).toEqual([
      { name: "post", aggregateRoot: "Post" },
      { name: "comment", aggregateRoot: "Comment" },
    ]);
    for (const stage of ["mvc", "split", "micro", "ddd"])
      for (const s of stageModelOf(stage).spec.services.filter((x) => x.layer === "app"))
        expect({ stage, s: s.name, contexts: settingsOf(stage, s.name).contexts }).toEqual({ stage, s: s.name, contexts: undefined });
  });

  test("passwords are never in the file, only the names of the variables that carry them", () => {
    for (const stage of ["mvc", "split", "micro", "ddd"])
      for (const s of stageModelOf(stage).spec.services) {
        const text = JSON.stringify(settingsOf(stage, s.name));
        expect(text).not.toMatch(/password"\s*:/i);
      }
  });
});

describe("appSettings follows the spec", () => {
  const withShortUrl = (spec: Spec, redisDb: number): Spec => ({ ...spec, shortUrl: spec.shortUrl && { ...spec.shortUrl, redisDb } });

  test("the short-URL DB is the spec's; a web service without a cache gets none (it has no Redis to write to)", () => {
    const micro = stageModelOf("micro").spec;
    const spec = withShortUrl(micro, 7);
    const web = spec.services.find((s) => s.name === "web")!;
    expect(appSettings(web, stageModel(spec), NS).shortUrl).toEqual({ db: 7, prefix: SHORT_URL_KEY_PREFIX });
    const noCache = { ...web, redis: undefined };
    expect(
      appSettings(noCache, stageModel({ ...spec, services: spec.services.map((s) => (s.name === "web" ? noCache : s)) }), NS).shortUrl,
    ).toBeUndefined();
    expect(appSettings(web, stageModel({ ...spec, shortUrl: undefined }), NS).shortUrl).toBeUndefined();
  });

  test("contexts follow the spec's order and carry only name and aggregate root", () => {
    const ddd = stageModelOf("ddd").spec;
    const data = ddd.services.find((s) => s.name === "user-data")!;
    const swapped = { ...data, contexts: [...data.contexts].reverse() };
    expect(appSettings(swapped, stageModel(ddd), NS).contexts?.map((c) => c.aggregateRoot)).toEqual(["Profile", "Account"]);
  });
});
