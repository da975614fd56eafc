/**
 * The Stage under Pulumi mocks, for each of the four stage files: which components it builds, that
 * every Kubernetes object goes through the stage's provider into the stage's namespace, and what a
 * stage move needs (stage-moves.md): one live stack switched between stage files keeps the URN of
 * everything that survives, and never changes a StatefulSet's immutable fields.
 */
import type { Spec } from "../../../../spec/schema";
import {
  buildStage,
  childrenOf,
  containersOf,
  K8S,
  meta,
  object,
  ofType,
  STAGES,
  type Pulumi,
  type Registration,
  type StageBuild,
  type StageName,
} from "../../../lib/mocks";

const STAGE_TYPE = "stagecraft:stage:Stage";
const CELERY = ["stagecraft:app:CeleryWorker", "stagecraft:app:CeleryBeat"];

let pulumi: Pulumi;
const builds = {} as Record<StageName, StageBuild>;

beforeAll(async () => {
  pulumi = await import("@pulumi/pulumi");
  for (const stage of STAGES) builds[stage] = await buildStage(pulumi, stage);
}, 60_000);

/** `<type>::<name>` of the components the spec asks for: the rule, written from the spec's fields. */
function expectedComponents(spec: Spec): string[] {
  return [
    "stagecraft:platform:Namespace::namespace",
    "stagecraft:platform:CallGraphPolicies::network-policies",
    "stagecraft:data:RedisCache::redis",
    "stagecraft:data:MySqlCluster::mysql",
    ...(spec.data.etcd ? ["stagecraft:data:EtcdCluster::etcd"] : []),
    ...spec.services.map((s) => `stagecraft:app:AppService::${s.name}`),
    ...spec.services
      .filter((s) => s.migrate && (s.mysql?.adopt.length ?? 0) > 0)
      .map((s) => `stagecraft:app:AdoptionCatchUp::${s.name}-adopt-late`),
    ...spec.workers.map((w) => `stagecraft:app:CeleryWorker::celery-${w.name}`),
    ...(spec.beat ? ["stagecraft:app:CeleryBeat::celery-beat"] : []),
    ...(spec.push?.kind === "tormq" ? ["stagecraft:app:PushService::push"] : []),
    ...(spec.shortUrl ? ["stagecraft:app:ShortUrl::shorturl"] : []),
    ...(spec.edge.nginx ? ["stagecraft:edge:NginxLoadBalancer::nginx"] : []),
    ...(spec.edge.kong ? ["stagecraft:edge:KongGateway::kong"] : []),
  ].sort();
}

const stageOf = (b: StageBuild) => b.registrations.find((r) => r.type === STAGE_TYPE);
const children = (b: StageBuild) => b.registrations.filter((r) => r.parent === stageOf(b)?.urn);
const kubernetesObjects = (b: StageBuild) => b.registrations.filter((r) => r.custom && r.type.startsWith("kubernetes:"));
/** A Kubernetes object's identity in the cluster: kind and name (one namespace per stage). */
const k8sKey = (r: Registration) => `${r.type}::${meta(r).name ?? "?"}`;

describe.each(STAGES)("stage %s", (stage) => {
  it("builds exactly the components its spec asks for, each directly under the Stage", () => {
    const b = builds[stage];
    expect(b.error).toBeUndefined();
    const got = children(b)
      .map((r) => `${r.type}::${r.name}`)
      .sort();
    expect(got).toEqual(expectedComponents(b.loaded.spec));
    // Only components hang off the Stage: every object belongs to a tier's component.
    expect(children(b).every((r) => !r.custom)).toBe(true);
  });

  /** Every URN in the subtree rooted at `root` (the SDK records a dependency on a component as one on each resource under it). */
  const under = (b: StageBuild, root: string): string[] => {
    const kids = b.registrations.filter((r) => r.parent === root).map((r) => r.urn);
    return [root, ...kids.flatMap((k) => under(b, k))];
  };
  /**
   * What a registration waits for before the engine sees it: its dependencies and its parent (the
   * SDK registers a child only once its parent's URN is known, and a component only once what it
   * depends on is created: a component's dependsOn holds every child back), and what they wait for.
   */
  const waitsFor = (b: StageBuild, r: Registration | undefined, seen = new Map<string, Set<string>>()): Set<string> => {
    if (!r) return new Set();
    const known = seen.get(r.urn);
    if (known) return known;
    const waits = new Set<string>();
    seen.set(r.urn, waits);
    const direct = [...r.dependencies, r.parent].filter((u) => u !== "");
    for (const u of direct) {
      const next = b.registrations.find((x) => x.urn === u);
      for (const w of [u, ...waitsFor(b, next, seen)]) waits.add(w);
    }
    return waits;
  };
  const service = (b: StageBuild, name: string) => {
    const found = children(b).find((r) => r.type === "stagecraft:app:AppService" && r.name === name);
    if (!found) throw new Error(`no AppService ${name}`);
    return found;
  };
  const dataComponents = (b: StageBuild) => children(b).filter((r) => r.type.startsWith("stagecraft:data:"));
  const appComponents = (b: StageBuild) =>
    children(b).filter((r) => r.type.startsWith("stagecraft:app:") && r.type !== "stagecraft:app:AdoptionCatchUp");
  /** The app tier's objects: its charts (which render the services' Deployments) and the rest. */
  const appWorkloads = (b: StageBuild) =>
    appComponents(b).flatMap((c) =>
      under(b, c.urn).filter((u) => {
        const r = b.registrations.find((x) => x.urn === u);
        return r?.custom || r?.type === K8S.chart;
      }),
    );

  it("rolls each service's pods out after the services it calls (a moved caller never goes live before its callees)", () => {
    const b = builds[stage];
    for (const s of b.loaded.spec.services) {
      const chart = childrenOf(b, service(b, s.name)).find((r) => r.type === K8S.chart);
      const waits = waitsFor(b, chart);
      // The callee's Deployment is rendered by its chart: waiting for the chart is waiting for it.
      const waitsForCallee = s.calls.filter((c) => {
        const calleeChart = childrenOf(b, service(b, c)).find((r) => r.type === K8S.chart);
        return !!calleeChart && waits.has(calleeChart.urn);
      });
      expect({ service: s.name, waitsFor: waitsForCallee }).toEqual({ service: s.name, waitsFor: s.calls });
    }
  });

  it("runs a caller's migration without waiting for its callees, and only after the data tier", () => {
    const b = builds[stage];
    const data = dataComponents(b).flatMap((d) => under(b, d.urn).filter((u) => b.registrations.find((r) => r.urn === u)?.custom));
    expect(data.length).toBeGreaterThan(0);
    for (const s of b.loaded.spec.services) {
      const own = childrenOf(b, service(b, s.name)).filter((r) => r.type !== K8S.chart);
      expect(own.map((r) => r.type).includes(K8S.job)).toBe(!!s.migrate);
      const callees = new Set(s.calls.flatMap((c) => under(b, service(b, c).urn)));
      for (const r of own) {
        const waits = waitsFor(b, r);
        expect({ object: r.name, callees: [...waits].filter((u) => callees.has(u)) }).toEqual({ object: r.name, callees: [] });
        expect({ object: r.name, missingData: data.filter((u) => !waits.has(u)) }).toEqual({ object: r.name, missingData: [] });
      }
    }
  });

  it("rolls the edge's Deployments out after every app component it routes to (not Celery), and creates the rest of the edge without waiting", () => {
    const b = builds[stage];
    const appTier = appComponents(b);
    const appUrns = new Set(appTier.flatMap((c) => under(b, c.urn)));
    const celery = new Set(appTier.filter((c) => CELERY.includes(c.type)).flatMap((c) => under(b, c.urn)));
    const routed = appWorkloads(b).filter((u) => !celery.has(u));
    expect(routed.length).toBeGreaterThan(0);
    const edges = children(b).filter((r) => r.type.startsWith("stagecraft:edge:"));
    expect(edges).toHaveLength(1);
    const objects = childrenOf(b, edges[0]);
    const deployment = objects.find((r) => r.type === K8S.deployment);
    const waits = waitsFor(b, deployment);
    expect(routed.filter((u) => !waits.has(u))).toEqual([]);
    // Celery has no Service to route to; waiting for it only made the edge late.
    expect([...celery].filter((u) => waits.has(u))).toEqual([]);
    const rest = objects.filter((r) => r !== deployment);
    expect(rest.map((r) => r.type)).toEqual(expect.arrayContaining([K8S.serviceAccount, K8S.pdb, K8S.service]));
    expect(rest.some((r) => r.type === K8S.secret || r.type === K8S.configMap)).toBe(true);
    for (const r of rest) {
      const early = waitsFor(b, r);
      // The LoadBalancer Service gets its address whether or not pods exist yet.
      expect({ object: r.name, waitsFor: [...early].filter((u) => appUrns.has(u) || u === deployment?.urn) }).toEqual({
        object: r.name,
        waitsFor: [],
      });
    }
  });

  it("starts each Celery worker and beat once its service's schema is migrated, not after its service's chart", () => {
    const b = builds[stage];
    const { workers, beat } = b.loaded.spec;
    const owners = new Map<string, string>([
      ...workers.map((w): [string, string] => [`celery-${w.name}`, w.service]),
      ...(beat ? [["celery-beat", beat.service] as [string, string]] : []),
    ]);
    const celery = children(b).filter((r) => CELERY.includes(r.type));
    expect(celery.map((r) => r.name).sort()).toEqual([...owners.keys()].sort());
    const data = ["redis", "mysql"].flatMap((n) => children(b).filter((r) => r.type.startsWith("stagecraft:data:") && r.name === n));
    expect(data).toHaveLength(2);
    for (const c of celery) {
      const name = owners.get(c.name) as string;
      const ownerSpec = b.loaded.spec.services.find((s) => s.name === name);
      const owner = childrenOf(b, service(b, name));
      const migration = owner.filter((r) => r.type === K8S.job);
      expect(migration).toHaveLength(ownerSpec?.migrate ? 1 : 0);
      const ownerChart = owner.find((r) => r.type === K8S.chart);
      for (const r of childrenOf(b, c)) {
        const waits = waitsFor(b, r);
        const needed = [...migration.map((j) => j.urn), ...data.flatMap((d) => under(b, d.urn))];
        expect({ object: r.name, missing: needed.filter((u) => !waits.has(u)) }).toEqual({ object: r.name, missing: [] });
        // Its pods mount a ConfigMap of their own: the service's chart (and its callees) is no reason to wait.
        expect({ object: r.name, waitsForChart: !!ownerChart && waits.has(ownerChart.urn) }).toEqual({
          object: r.name,
          waitsForChart: false,
        });
      }
    }
  });

  it("copies an old owner's late rows after every caller has moved, as the owner's migration pod group", () => {
    const b = builds[stage];
    const catchUps = children(b).filter((r) => r.type === "stagecraft:app:AdoptionCatchUp");
    const adopting = b.loaded.spec.services.filter((s) => (s.mysql?.adopt.length ?? 0) > 0);
    expect(catchUps.map((r) => r.name).sort()).toEqual(adopting.map((s) => `${s.name}-adopt-late`).sort());
    // The app tier (callers, workers: their Deployments are in their charts); the edge routes, it writes nothing.
    const workloads = appWorkloads(b);
    expect(workloads.length).toBeGreaterThan(0);
    for (const c of catchUps) {
      const job = childrenOf(b, c).find((r) => r.type === K8S.job);
      const service = c.name.replace(/-adopt-late$/, "");
      expect(job && meta(job).name).toBe(`${service}-adopt-late`);
      // Every one of them is rolled before the Job starts.
      const waits = waitsFor(b, job);
      expect(workloads.filter((u) => !waits.has(u))).toEqual([]);
      const pod = (job?.inputs.spec as { template: { metadata: { labels: Record<string, string> } } }).template;
      expect(pod.metadata.labels["app.kubernetes.io/name"]).toBe(`${service}-migrate`);
      expect(containersOf(job as Registration)[0].command).toEqual(["python", "manage.py", "adopt", "--late"]);
    }
  });

  it("puts every Kubernetes object, and every chart, on the stage's provider", () => {
    const b = builds[stage];
    const objects = kubernetesObjects(b);
    expect(objects.length).toBeGreaterThan(20);
    expect(objects.filter((r) => r.provider !== b.providerRef).map((r) => `${r.urn} -> ${r.provider || "default"}`)).toEqual([]);
    const charts = ofType(b, K8S.chart);
    expect(charts.length).toBeGreaterThan(0);
    expect(charts.filter((r) => r.providers.kubernetes !== b.providerRef).map((r) => r.urn)).toEqual([]);
    expect(ofType(b, "pulumi:providers:kubernetes")).toHaveLength(1);
  });

  it("puts every namespaced object in the target's namespace", () => {
    const b = builds[stage];
    const ns = b.loaded.target.namespace;
    expect(object(b, K8S.namespace, ns)).toBeDefined();
    const namespaced = kubernetesObjects(b).filter((r) => r.type !== K8S.namespace);
    expect(namespaced.filter((r) => meta(r).namespace !== ns).map((r) => r.urn)).toEqual([]);
    expect(ofType(b, K8S.chart).filter((r) => r.inputs.namespace !== ns)).toEqual([]);
  });

  it("protects the namespace and keeps it if dropped (deleting it deletes everything in it)", () => {
    const ns = object(builds[stage], K8S.namespace, builds[stage].loaded.target.namespace);
    expect({ protect: ns.protect, retainOnDelete: ns.retainOnDelete }).toEqual({ protect: true, retainOnDelete: true });
  });

  it("states the stage's call-graph law on the namespace, for the policy pack", () => {
    const b = builds[stage];
    const ns = object(b, K8S.namespace, b.loaded.target.namespace);
    expect(meta(ns).annotations).toEqual({ "stagecraft.dev/call-rules": b.loaded.spec.callRules });
  });

  it("names every object `<component>-<role>`, never after the stage", () => {
    const b = builds[stage];
    const byUrn = new Map(b.registrations.map((r) => [r.urn, r]));
    const misnamed = kubernetesObjects(b)
      .concat(ofType(b, K8S.chart))
      .filter((r) => !r.name.startsWith(`${byUrn.get(r.parent)?.name ?? "?"}-`));
    expect(misnamed.map((r) => r.urn)).toEqual([]);
    for (const s of STAGES) expect(b.registrations.filter((r) => r.name.includes(s)).map((r) => r.urn)).toEqual([]);
  });
});

it("the stage files exercise both sides of every optional part (the 'iff' checks above are not vacuous)", () => {
  const parts = Object.fromEntries(
    STAGES.map((s) => {
      const spec = builds[s].loaded.spec;
      return [
        s,
        {
          etcd: !!spec.data.etcd,
          tormq: spec.push?.kind === "tormq",
          shortUrl: !!spec.shortUrl,
          nginx: !!spec.edge.nginx,
          kong: !!spec.edge.kong,
          beat: !!spec.beat,
        },
      ];
    }),
  );
  expect(parts).toEqual({
    mvc: { etcd: false, tormq: false, shortUrl: false, nginx: true, kong: false, beat: true },
    split: { etcd: false, tormq: true, shortUrl: false, nginx: true, kong: false, beat: true },
    micro: { etcd: true, tormq: true, shortUrl: true, nginx: false, kong: true, beat: true },
    ddd: { etcd: true, tormq: true, shortUrl: true, nginx: false, kong: true, beat: true },
  });
});

describe("stage moves: one live stack switched between the stage files", () => {
  /** The URN of a Kubernetes object in each stage that has it. */
  const urnsOf = (type: string, name: string, stages: readonly StageName[] = STAGES) =>
    Object.fromEntries(stages.map((s) => [s, object(builds[s], type, name).urn]));
  const same = <T>(stages: readonly StageName[], value: T) => Object.fromEntries(stages.map((s) => [s, value]));

  it.each([
    [K8S.namespace, "stagecraft"],
    [K8S.statefulSet, "mysql"],
    [K8S.statefulSet, "redis"],
    [K8S.secret, "mysql-admin"],
    [K8S.secret, "redis-credentials"],
    [K8S.service, "mysql"],
    [K8S.service, "redis"],
  ])("%s %s keeps one URN in all four stages", (type, name) => {
    const urns = urnsOf(type, name);
    expect(urns).toEqual(same(STAGES, urns.mvc));
  });

  it.each([
    // A user's Secret lives while a stage's service logs in as it: ddd's owners are account and feed.
    [K8S.secret, "mysql-user-app", ["mvc", "split", "micro"]],
    [K8S.secret, "mysql-user-account", ["split", "micro", "ddd"]],
    [K8S.secret, "mysql-user-feed", ["split", "micro", "ddd"]],
    [K8S.statefulSet, "mysql-replica", ["split", "micro", "ddd"]],
    [K8S.service, "mysql-read", ["split", "micro", "ddd"]],
    [K8S.statefulSet, "etcd", ["micro", "ddd"]],
    [K8S.secret, "etcd-root", ["micro", "ddd"]],
    [K8S.service, "etcd-client", ["micro", "ddd"]],
  ] as const)("%s %s keeps one URN in every stage that has it (%j)", (type, name, stages) => {
    const urns = urnsOf(type, name, stages);
    expect(urns).toEqual(same(stages, urns[stages[0]]));
  });

  it("any Kubernetes object present in several stages has the same URN in each", () => {
    const urns = new Map<string, Set<string>>();
    for (const s of STAGES)
      for (const r of kubernetesObjects(builds[s])) urns.set(k8sKey(r), (urns.get(k8sKey(r)) ?? new Set()).add(r.urn));
    const shared = [...urns.keys()].filter(
      (k) => STAGES.filter((s) => kubernetesObjects(builds[s]).some((r) => k8sKey(r) === k)).length > 1,
    );
    expect(shared.length).toBeGreaterThan(20);
    expect(shared.filter((k) => urns.get(k)!.size > 1).map((k) => [k, [...urns.get(k)!]])).toEqual([]);
  });

  it("a component keeps its URN wherever its name recurs (a service's name is its identity)", () => {
    const urns = new Map<string, Set<string>>();
    for (const s of STAGES) for (const r of children(builds[s])) urns.set(r.name, (urns.get(r.name) ?? new Set()).add(r.urn));
    expect([...urns].filter(([, u]) => u.size > 1).map(([n, u]) => [n, [...u]])).toEqual([]);
  });

  it("account changes protocol (web in split, rpc in micro) under the same AppService and chart URNs", () => {
    const account = (s: StageName) => builds[s].loaded.spec.services.find((x) => x.name === "account");
    expect([account("split")?.kind, account("micro")?.kind]).toEqual(["web", "rpc"]);
    const urns = (s: StageName) =>
      builds[s].registrations
        .filter((r) => r.name === "account" || r.name === "account-chart")
        .map((r) => r.urn)
        .sort();
    expect(urns("split")).toHaveLength(2);
    expect(urns("micro")).toEqual(urns("split"));
  });

  /** The fields a StatefulSet can never change in place. */
  const immutable = (r: Registration) => {
    const spec = r.inputs.spec as Record<string, unknown>;
    return {
      selector: spec.selector,
      serviceName: spec.serviceName,
      volumeClaimTemplates: spec.volumeClaimTemplates,
      podManagementPolicy: spec.podManagementPolicy,
    };
  };
  it.each([
    ["mysql", STAGES],
    ["redis", STAGES],
    ["mysql-replica", ["split", "micro", "ddd"]],
    ["etcd", ["micro", "ddd"]],
  ] as const)("StatefulSet %s has identical immutable fields in %j", (name, stages) => {
    const fields = Object.fromEntries(stages.map((s) => [s, immutable(object(builds[s], K8S.statefulSet, name))]));
    const first = fields[stages[0]];
    expect(first.serviceName).toEqual(expect.any(String));
    expect(first.volumeClaimTemplates).toHaveLength(1);
    expect(fields).toEqual(same(stages, first));
  });

  /**
   * A protected object that the next stage no longer declares makes `pulumi up` stop: the engine
   * refuses to delete a protected resource (retainOnDelete does not lift that). So every adjacent
   * move, either way, must keep every protected URN, or those objects must not be protected.
   */
  const moves: [StageName, StageName][] = STAGES.slice(1).flatMap((to, i): [StageName, StageName][] => [
    [STAGES[i], to],
    [to, STAGES[i]],
  ]);
  it.each(moves)("moving %s -> %s deletes no protected object", (from, to) => {
    const kept = new Set(builds[to].registrations.map((r) => r.urn));
    const dropped = builds[from].registrations.filter((r) => r.protect && !kept.has(r.urn)).map((r) => r.urn);
    expect(dropped).toEqual([]);
  });
});

describe("placement and spread on a cluster with tainted nodes (the local real node beside KWOK nodes)", () => {
  const kongPlacement = {
    nodeSelector: { type: "kwok" },
    tolerations: [{ key: "stagecraft.local/fake", operator: "Equal", value: "true", effect: "NoSchedule" }],
  };
  let placed: StageBuild;
  beforeAll(async () => {
    placed = await buildStage(pulumi, "micro", { kongPlacement });
  }, 60_000);
  const podSpec = (r: Registration) =>
    (r.inputs as { spec?: { template?: { spec?: Record<string, unknown> } } }).spec?.template?.spec ?? {};

  it("only Kong gets the target's placement", () => {
    expect(placed.error).toBeUndefined();
    const deployments = ofType(placed, K8S.deployment);
    const kong = deployments.find((r) => meta(r).name === "kong")!;
    expect(podSpec(kong)).toMatchObject(kongPlacement);
    for (const d of deployments.filter((r) => meta(r).name !== "kong"))
      expect(podSpec(d).tolerations ?? []).not.toContainEqual(kongPlacement.tolerations[0]);
  });

  it("every spread constraint honours taints, so an untolerated node is no empty domain", () => {
    const constraints = kubernetesObjects(placed).flatMap(
      (r) => (podSpec(r).topologySpreadConstraints as Record<string, unknown>[] | undefined) ?? [],
    );
    expect(constraints.length).toBeGreaterThan(0);
    for (const c of constraints) expect(c.nodeTaintsPolicy).toBe("Honor");
  });
});
