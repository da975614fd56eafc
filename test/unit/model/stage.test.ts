/** The stage model of each stack: the facts every consumer reads, worked out once. */
import { NAMES } from "../../../model/names";
import { stageModelOf } from "../../lib/stacks";

describe("stage model", () => {
  test("mvc: the connection budget counts the web pool per uWSGI process and the Celery pool per green thread", () => {
    const { connections } = stageModelOf("mvc");
    expect(connections.mysql.lines).toEqual([
      { consumer: "services[web]", connections: 6 * 4 * 5, formula: "6 replicas × 4 processes × pool 5" },
      { consumer: "services[web].migrate", connections: 2, formula: "migration Job" },
      { consumer: "workers[default]", connections: 2 * 20 * 5, formula: "2 workers × concurrency 20 × pool 5" },
      { consumer: "beat", connections: 5, formula: "1 scheduler × pool 5" },
    ]);
    expect(connections.mysql).toMatchObject({ demand: 327, required: 360, limit: 500, fits: true });
    expect(connections.redis.lines.map((l) => l.consumer)).toEqual(["services[web]", "workers[default]", "beat", "nginx (nchan)"]);
  });

  test("split: the services that ask for replica reads read from them; HTTP calls", () => {
    const m = stageModelOf("split");
    expect([...m.replicaReaders].sort()).toEqual(["account", "feed", "web"]);
    expect(m.calls.map((c) => `${c.from}->${c.to}:${c.protocol}`)).toEqual(["web->account:http", "web->feed:http", "feed->account:http"]);
    expect(m.registryUsers.size).toBe(0);
  });

  test("micro: RPC callees are found in etcd, so their callers use the registry too", () => {
    const m = stageModelOf("micro");
    expect([...m.registryUsers].sort()).toEqual(["account", "feed", "web"]);
    expect(m.storeClients.filter((c) => c.store === NAMES.etcd).map((c) => `${c.client}:${c.purpose}`)).toEqual([
      "web:registry",
      "account:registry",
      "feed:registry",
      `${NAMES.etcdAuth}:bootstrap`,
    ]);
    // tormq push: every service's code publishes, in its pods and its Celery workers.
    expect(m.pushPublishers).toEqual(["web", "account", "feed", "celery-default"]);
  });

  test("every stage: one workload per Deployment or StatefulSet, its pods counted at rest and at peak", () => {
    for (const stage of ["mvc", "split", "micro", "ddd"]) {
      const m = stageModelOf(stage);
      expect(new Set(m.workloads.map((w) => w.name)).size).toBe(m.workloads.length);
      expect(m.totals.podsAtRest).toBe(m.workloads.reduce((n, w) => n + w.replicas, 0));
      for (const w of m.workloads) expect(w.peakReplicas).toBeGreaterThanOrEqual(w.replicas);
    }
  });
});

test("images: every image a stage runs, once, sorted (workers run their service's)", () => {
  const m = stageModelOf("micro");
  expect(m.images).toEqual([...new Set(m.images)].sort());
  expect(m.images).toContain(m.spec.data.etcd?.toolsImage);
  for (const s of m.spec.services) expect(m.images).toContain(s.image);
  expect(stageModelOf("mvc").images.some((i) => /kong/.test(i))).toBe(false);
});
