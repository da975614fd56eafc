/**
 * The app tier (AppService, CeleryWorker, CeleryBeat, PushService, ShortUrl) under Pulumi mocks.
 * Each renders charts/service through helm.v4.Chart with values computed in TypeScript, so the
 * assertions are on the chart's captured `values`: plain data (a preview shows exactly what an
 * update applies), a config hash that rolls pods exactly when their config changes, and the
 * workload shape each spec entry asks for.
 */
import * as path from "path";
import type { ServiceSpec, Spec } from "../../../../spec/schema";
import { stageModel } from "../../../../model/stage";
import {
  build,
  buildStage,
  childrenOf,
  containersOf,
  credentialEnv,
  K8S,
  named,
  nonPlainPaths,
  ofType,
  rawOf,
  ROOT,
  STAGES,
  type Build,
  type ContainerLike,
  type Pulumi,
  type Registration,
  type StageBuild,
  type StageName,
} from "../../../lib/mocks";

const HASH = "stagecraft.dev/config-hash";
/** A content hash, whatever its prefix: what matters is that it is there and when it changes. */
const HASH_VALUE = /[0-9a-f]{16}/;

interface Values {
  name: string;
  workload: { kind: string; replicas: number };
  podAnnotations: Record<string, string>;
  configMap: Record<string, string>;
  service: { enabled: boolean; headless: boolean; ports: { name: string; port: number; targetPort: string | number }[] };
  pdb: { enabled: boolean; maxUnavailable: number };
  hpa: { enabled: boolean; minReplicas?: number; maxReplicas?: number; targetCpuPercent?: number };
  containers: ContainerLike[];
  initContainers: ContainerLike[];
  volumes: { name: string; configMap?: { name: string } }[];
  terminationGracePeriodSeconds: number;
}

let pulumi: Pulumi;
const builds = {} as Record<StageName, StageBuild>;

beforeAll(async () => {
  pulumi = await import("@pulumi/pulumi");
  for (const s of STAGES) builds[s] = await buildStage(pulumi, s);
}, 60_000);

const chart = (b: Build, name: string) => named(b, K8S.chart, name);
const values = (r: Registration) => r.inputs.values as Values;
const component = (b: Build, type: string, name: string) => named(b, type, name);

describe.each(STAGES)("app tier of stage %s", (stage) => {
  const b = () => builds[stage];
  const spec = (): Spec => builds[stage].loaded.spec;

  it("renders every app workload from charts/service into the stage's namespace", () => {
    const charts = ofType(b(), K8S.chart);
    const expected = spec().services.length + spec().workers.length + (spec().beat ? 1 : 0) + (spec().push?.kind === "tormq" ? 1 : 0);
    expect(charts).toHaveLength(expected + (spec().shortUrl ? 1 : 0));
    for (const c of charts) {
      expect(c.inputs.chart).toBe(path.join(ROOT, "charts", "service"));
      expect(c.inputs.namespace).toBe(b().loaded.target.namespace);
    }
  });

  it("passes every chart plain data: no Output, Promise or resource anywhere in the values tree", () => {
    for (const c of ofType(b(), K8S.chart)) {
      const raw = rawOf(b(), K8S.chart, c.name);
      expect({ chart: c.name, nonPlain: nonPlainPaths(pulumi, raw.values) }).toEqual({ chart: c.name, nonPlain: [] });
      // What reached the monitor carries no secret marker either (a secret would blank the preview).
      expect(JSON.stringify(c.inputs.values)).not.toContain(pulumi.runtime.specialSigKey);
    }
  });

  it("hands credentials to every app container by secretKeyRef, never as a literal", () => {
    const creds = ofType(b(), K8S.chart).flatMap((c) =>
      containersOf(c).flatMap((k) => credentialEnv(k).map((e) => ({ at: `${c.name}/${k.name}`, e }))),
    );
    expect(creds.length).toBeGreaterThan(0);
    for (const { at, e } of creds)
      expect({ at, literal: e.value, ref: e.valueFrom?.secretKeyRef?.key }).toEqual({ at, literal: undefined, ref: "password" });
  });

  describe("services", () => {
    const services = (): ServiceSpec[] => spec().services;

    it("one chart per service, under its AppService, with the service's replicas as a Deployment", () => {
      for (const s of services()) {
        const c = chart(b(), `${s.name}-chart`);
        expect(c.parent).toBe(component(b(), "stagecraft:app:AppService", s.name).urn);
        expect({ s: s.name, workload: values(c).workload }).toEqual({ s: s.name, workload: { kind: "Deployment", replicas: s.replicas } });
      }
    });

    it("tells every container where rpc.json is iff the service has one (servers and RPC callers alike)", () => {
      for (const s of services()) {
        const v = values(chart(b(), `${s.name}-chart`));
        const hasRpc = "rpc.json" in v.configMap;
        for (const k of v.containers) {
          const rpc = (k.env ?? []).find((e) => e.name === "STAGECRAFT_RPC");
          expect({ s: s.name, k: k.name, rpc: rpc?.value }).toEqual({
            s: s.name,
            k: k.name,
            rpc: hasRpc ? "/etc/stagecraft/rpc.json" : undefined,
          });
        }
      }
    });

    it("carries a content hash of its config files on the pod template", () => {
      for (const s of services()) {
        const v = values(chart(b(), `${s.name}-chart`));
        expect(v.podAnnotations[HASH]).toMatch(HASH_VALUE);
        expect(Object.keys(v.configMap)).toContain("settings.json");
        expect({ s: s.name, uwsgi: "uwsgi.ini" in v.configMap }).toEqual({ s: s.name, uwsgi: s.kind === "web" });
      }
    });

    it("gets a PDB iff more than one replica is guaranteed, and an HPA iff the spec has one", () => {
      for (const s of services()) {
        const v = values(chart(b(), `${s.name}-chart`));
        const floor = s.hpa?.minReplicas ?? s.replicas;
        expect({ s: s.name, pdb: v.pdb.enabled }).toEqual({ s: s.name, pdb: floor > 1 });
        expect({ s: s.name, hpa: v.hpa }).toEqual({ s: s.name, hpa: s.hpa ? { enabled: true, ...s.hpa } : { enabled: false } });
      }
    });

    // Never headless: a Service's clusterIP is immutable, and a service that turns from HTTP into RPC
    // (account and feed, split -> micro) must keep its Service in place.
    it("is reached through a ClusterIP Service on its protocol's port, whatever its kind", () => {
      for (const s of services()) {
        const v = values(chart(b(), `${s.name}-chart`));
        const port = s.kind === "web" ? "http" : "rpc";
        expect({ s: s.name, service: v.service }).toEqual({
          s: s.name,
          service: { enabled: true, headless: false, ports: [{ name: port, port: s.port, targetPort: port }] },
        });
      }
    });

    it("runs a migration Job iff `migrate`, which the chart waits for, and pods wait for the schema", () => {
      for (const s of services()) {
        const c = chart(b(), `${s.name}-chart`);
        const jobs = childrenOf(b(), component(b(), "stagecraft:app:AppService", s.name)).filter((r) => r.type === K8S.job);
        const waits = values(c).initContainers.map((k) => k.name);
        expect({ s: s.name, jobs: jobs.length, waits }).toEqual({
          s: s.name,
          jobs: s.migrate ? 1 : 0,
          waits: s.migrate ? ["wait-for-migrations"] : [],
        });
        if (s.migrate) {
          expect(c.dependencies).toContain(jobs[0].urn);
          expect((jobs[0].inputs.metadata as { name: string }).name).toBe(`${s.name}-migrate`);
          expect(jobs[0].deleteBeforeReplace).toBe(true);
        }
      }
    });
  });

  /** The ConfigMap a chart's pods mount as `config`, and that ConfigMap's settings.json. */
  const mountedSettings = (v: Values) => {
    const volume = v.volumes.find((x) => x.name === "config");
    return {
      configMap: volume?.configMap?.name,
      ownChart: volume?.configMap?.name === `${v.name}-config`,
      settings: v.configMap["settings.json"],
    };
  };

  it("runs one Celery worker chart per worker, on its service's image and settings, in a ConfigMap of its own", () => {
    const images = new Map(spec().services.map((s) => [s.name, s.image]));
    for (const w of spec().workers) {
      const v = values(chart(b(), `celery-${w.name}-chart`));
      expect(v.workload).toEqual({ kind: "Deployment", replicas: w.replicas });
      expect(v.containers.map((k) => k.image)).toEqual([images.get(w.service)]);
      // Its own ConfigMap (it need not wait for the service's chart), with the service's settings.
      const own = mountedSettings(v);
      expect(own.ownChart).toBe(true);
      expect(own.settings).toBe(values(chart(b(), `${w.service}-chart`)).configMap["settings.json"]);
    }
  });

  it("runs Celery beat as a one-replica StatefulSet, never autoscaled or disrupted into two", () => {
    const beat = spec().beat;
    if (!beat) throw new Error("every stage file has beat");
    const v = values(chart(b(), "celery-beat-chart"));
    expect(v.workload).toEqual({ kind: "StatefulSet", replicas: 1 });
    expect(v.hpa.enabled).toBe(false);
    expect(v.pdb.enabled).toBe(false);
    expect(v.containers.map((k) => k.image)).toEqual([spec().services.find((s) => s.name === beat.service)?.image]);
    const own = mountedSettings(v);
    expect(own.ownChart).toBe(true);
    expect(own.settings).toBe(values(chart(b(), `${beat.service}-chart`)).configMap["settings.json"]);
    // Its governing Service (serviceName is the chart's name): headless, no ports (nothing calls beat).
    expect(v.service).toEqual({ enabled: true, headless: true, ports: [] });
  });

  it("runs the tormq push service iff push is tormq: headless, websocket and ZeroMQ ports from the spec", () => {
    const push = spec().push;
    const charts = ofType(b(), K8S.chart).filter((c) => c.name === "push-chart");
    expect(charts).toHaveLength(push?.kind === "tormq" ? 1 : 0);
    if (push?.kind !== "tormq") return;
    const v = values(charts[0]);
    expect(v.workload.replicas).toBe(push.replicas);
    expect(v.service).toEqual({
      enabled: true,
      headless: true,
      ports: [
        { name: "ws", port: push.port, targetPort: "ws" },
        { name: "zmq", port: push.zmqPort, targetPort: "zmq" },
      ],
    });
    // tormq talks to no store: it gets no credential at all (it once got Redis's, unused).
    expect(v.containers.map((k) => ({ name: k.name, env: k.env ?? [] }))).toEqual([{ name: "tormq", env: [] }]);
  });

  it("runs the short-URL service iff shortUrl, its nginx.conf hashed onto the pods", () => {
    const su = spec().shortUrl;
    const charts = ofType(b(), K8S.chart).filter((c) => c.name === "shorturl-chart");
    expect(charts).toHaveLength(su ? 1 : 0);
    if (!su) return;
    const v = values(charts[0]);
    expect(v.workload.replicas).toBe(su.replicas);
    expect(Object.keys(v.configMap)).toEqual(["nginx.conf"]);
    expect(v.podAnnotations[HASH]).toMatch(HASH_VALUE);
    expect(v.service.headless).toBe(false);
  });
});

describe("the config hash of an AppService (mvc's web, built alone twice)", () => {
  type Change = (s: ServiceSpec) => ServiceSpec;
  async function hashOf(change: Change): Promise<{ hash: string; pdb: boolean }> {
    const { AppService } = await import("../../../../components/app/AppService");
    const { appSettings } = await import("../../../../components/app/appSettings");
    const base = builds.mvc.loaded.spec;
    const web = base.services.find((s) => s.name === "web");
    if (!web) throw new Error("mvc has web");
    const service = change(web);
    const spec: Spec = { ...base, services: base.services.map((s) => (s.name === "web" ? service : s)) };
    const b = await build(
      pulumi,
      () =>
        new AppService("web", {
          service,
          namespace: "stagecraft",
          settings: appSettings(service, stageModel(spec), "stagecraft"),
          etcdAuth: false,
          rolloutAfter: [],
        }),
    );
    expect(b.error).toBeUndefined();
    const v = values(chart(b, "web-chart"));
    return { hash: v.podAnnotations[HASH], pdb: v.pdb.enabled };
  }
  const uwsgi = (s: ServiceSpec) => {
    if (!s.uwsgi) throw new Error("web has uwsgi");
    return s.uwsgi;
  };
  let baseline: string;
  beforeAll(async () => {
    baseline = (await hashOf((s) => s)).hash;
  });

  it.each<[string, Change, boolean]>([
    ["nothing (a rebuild)", (s) => ({ ...s }), false],
    ["uwsgi processes", (s) => ({ ...s, uwsgi: { ...uwsgi(s), processes: uwsgi(s).processes + 1 } }), true],
    ["uwsgi harakiri", (s) => ({ ...s, uwsgi: { ...uwsgi(s), harakiri: uwsgi(s).harakiri + 5 } }), true],
    ["the redis pool (settings.json)", (s) => ({ ...s, redis: s.redis && { ...s.redis, pool: s.redis.pool + 1 } }), true],
    [
      "replicas and the HPA (not config)",
      (s) => ({ ...s, replicas: 5, hpa: s.hpa && { ...s.hpa, minReplicas: 5, maxReplicas: 9 } }),
      false,
    ],
    ["the image (rolls by itself, not config)", (s) => ({ ...s, image: "ghcr.io/stagecraft-demo/django-monolith:1.0.1" }), false],
  ])("changing %s changes the hash: %s", async (_what, change, changes) => {
    const { hash } = await hashOf(change);
    expect(hash).toMatch(HASH_VALUE);
    expect(hash !== baseline).toBe(changes);
  });

  it("drops the PDB for a single guaranteed replica", async () => {
    expect((await hashOf((s) => ({ ...s, replicas: 1, hpa: undefined }))).pdb).toBe(false);
    expect((await hashOf((s) => ({ ...s, replicas: 2, hpa: undefined }))).pdb).toBe(true);
  });
});

it("the plain-data check finds an Output, a Promise and a resource where they are (it can fail)", async () => {
  const b = await build(pulumi, () => undefined);
  expect(b.registrations).toEqual([]);
  const tree = { a: [1, { b: pulumi.output("x") }], c: Promise.resolve(1), d: { e: "ok" } };
  expect(nonPlainPaths(pulumi, tree)).toEqual(["$.a[1].b", "$.c"]);
});

it("refuses a StatefulSet whose Service would not be headless (it governs the pods' DNS names)", async () => {
  const { serviceValues } = await import("../../../../components/app/serviceValues");
  const base = { name: "beat", role: "scheduler" as const, kind: "StatefulSet" as const, replicas: 1, uid: 10001, containers: [] };
  expect(() => serviceValues({ ...base, service: { headless: false, ports: [] } })).toThrow(
    "workload beat: a StatefulSet's Service governs its pods' DNS names and must be headless",
  );
  expect(serviceValues({ ...base, service: { headless: true, ports: [{ name: "http", port: 80, targetPort: "http" }] } }).service).toEqual({
    enabled: true,
    headless: true,
    ports: [{ name: "http", port: 80, targetPort: "http" }],
  });
});
