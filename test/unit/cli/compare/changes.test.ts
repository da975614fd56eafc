import { stageChanges } from "../../../../cli/compare/changes";
import { stageModel } from "../../../../model/stage";
import type { Spec } from "../../../../spec/schema";
import { stageModelOf } from "../../../lib/stacks";

const [mvc, split, micro, ddd] = ["mvc", "split", "micro", "ddd"].map(stageModelOf);

describe("what changes from the previous stage", () => {
  test("mvc -> split: services split out, read replicas, tormq replaces nchan, HTTP calls", () => {
    expect(stageChanges(mvc, split)).toEqual([
      "Pods at rest go from 10 to 20 (at peak 13 to 25); workloads from 6 to 11.",
      "New services: account (web, 2 replicas) and feed (web, 2–4 replicas).",
      "account takes over the rows of accounts from schema app into its schema account (copied once, ids kept, before it serves).",
      "feed takes over the rows of posts and notifications from schema app into its schema feed (copied once, ids kept, before it serves).",
      "New Celery worker: feed (queue feed, 2 replicas).",
      "Push moves from the Nginx push module (nchan, subscribe on /sub) to a Tornado + ZeroMQ push service (tormq, 2 replicas, websocket /push).",
      "MySQL gets 2 read replicas (GTID replication, read-only) beside the unchanged primary; reads can go to mysql-read.",
      "MySQL max_connections goes from 500 to 1000.",
      "Redis maxclients goes from 1000 to 2000.",
      "New calls: web → account, web → feed and feed → account.",
    ]);
  });

  test("split -> micro: Kong replaces Nginx, services become RPC, etcd and short URLs arrive", () => {
    const text = stageChanges(split, micro);
    expect(text).toContain(
      "Kong (DB-less, 2 replicas) replaces Nginx at the edge: it takes authentication (key-auth) and rate limiting (1200/min, counters shared through Redis) off the services.",
    );
    expect(text).toContain("account changes from a Django web service (HTTP) to an RPC service (gevent + msgpack, registered in etcd).");
    expect(text).toContain("Celery worker removed: feed.");
    expect(text).toContain("A short-URL service on OpenResty is added (2 replicas, route /s).");
    expect(text).toContain("etcd (3 members) is added: RPC services register in it with a lease.");
    expect(text.some((s) => s.startsWith("Push moves"))).toBe(false);
    // The owners keep their schemas: no rows move.
    expect(text.some((s) => s.includes("takes over the rows"))).toBe(false);
  });

  test("micro -> ddd: data services with bounded contexts, layered call graph", () => {
    const text = stageChanges(micro, ddd);
    expect(text).toContain("New services: user-data (rpc, data layer, 2 replicas) and content-data (rpc, data layer, 2–4 replicas).");
    expect(text).toContain("Service removed: account.");
    expect(text).toContain("web no longer connects to MySQL itself.");
    expect(text).toContain("user-data owns the bounded contexts account (aggregate root Account) and profile (aggregate root Profile).");
    expect(text).toContain("Calls no longer made: web → account, web → feed and feed → account.");
    expect(text.find((s) => s.startsWith("The call graph becomes layered"))).toBeDefined();
  });

  test("a stage compared with itself: nothing changes", () => {
    expect(stageChanges(micro, micro)).toEqual(["Nothing changes."]);
  });

  test("a new image is said once per move, naming the services (every stage runs the backend's one image, so only a bump shows)", () => {
    const bump = (to: string): Spec => ({
      ...micro.spec,
      services: micro.spec.services.map((s) => (s.name === "account" || s.name === "web" ? { ...s, image: to } : s)),
    });
    expect(stageChanges(micro, stageModel(bump("stagecraft.local/backend:9.9.9")))).toEqual(["New images for web and account."]);
  });

  test("one replica more and one edge fewer are each said once", () => {
    const next: Spec = {
      ...micro.spec,
      services: micro.spec.services.map((s) =>
        s.name === "account" ? { ...s, replicas: 3 } : s.name === "feed" ? { ...s, calls: [] } : s,
      ),
    };
    expect(stageChanges(micro, stageModel(next))).toEqual([
      "Pods at rest go from 23 to 24 (at peak 28 to 29); workloads from 12 to 12.",
      "account goes from 2 replicas to 3 replicas.",
      "Calls no longer made: feed → account.",
    ]);
  });
});
