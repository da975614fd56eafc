/**
 * The data tier (MySqlCluster, RedisCache, EtcdCluster) under Pulumi mocks, built from each stage
 * file's data section with passwords derived from a known seed, so the test can look for the
 * password strings themselves: they may live only in Secrets, as Pulumi secrets, and every pod
 * gets them by secretKeyRef. Also what keeps data through a mistake or a move: retention options,
 * PVC retention, and the replica and quorum arithmetic.
 */
import type { EtcdSpec, MySqlSpec, Spec } from "../../../../spec/schema";
import {
  build,
  containersOf,
  credentialEnv,
  isWireSecret,
  K8S,
  loadStage,
  meta,
  object,
  ofType,
  reveal,
  SEED,
  STAGES,
  type Build,
  type Pulumi,
  type Registration,
  type StageName,
} from "../../../lib/mocks";

let pulumi: Pulumi;
const specs = {} as Record<StageName, Spec>;
const builds = {} as Record<StageName, Build>;

/** The data tier as Stage wires it, with overridable store specs for the variant cases. */
async function buildData(spec: Spec, data: { mysql?: MySqlSpec; etcd?: EtcdSpec | null } = {}): Promise<Build> {
  const { RedisCache } = await import("../../../../components/data/RedisCache");
  const { MySqlCluster } = await import("../../../../components/data/MySqlCluster");
  const { EtcdCluster } = await import("../../../../components/data/EtcdCluster");
  const { derivedSecret } = await import("../../../../components/lib/secrets");
  return build(pulumi, () => {
    const seed = pulumi.secret(SEED);
    const secret = (purpose: string) => derivedSecret(seed, purpose);
    const namespace = "stagecraft";
    new RedisCache("redis", { redis: spec.data.redis, namespace, password: secret("redis/password") });
    new MySqlCluster("mysql", {
      mysql: data.mysql ?? spec.data.mysql,
      namespace,
      services: spec.services,
      rootPassword: secret("mysql/root"),
      replicationPassword: secret("mysql/replication"),
      userPassword: (u) => secret(`mysql/user/${u}`),
    });
    const etcd = data.etcd === null ? undefined : (data.etcd ?? spec.data.etcd);
    if (etcd)
      new EtcdCluster("etcd", {
        etcd,
        namespace,
        services: spec.services,
        rootPassword: secret("etcd/root"),
        userPasswords: (u) => secret(`etcd/user/${u}`),
      });
  });
}

beforeAll(async () => {
  pulumi = await import("@pulumi/pulumi");
  for (const s of STAGES) {
    specs[s] = (await loadStage(s)).spec;
    builds[s] = await buildData(specs[s]);
  }
}, 60_000);

interface StatefulSetSpecLike {
  replicas: number;
  serviceName: string;
  podManagementPolicy: string;
  selector: { matchLabels: Record<string, string> };
  persistentVolumeClaimRetentionPolicy?: { whenDeleted?: string; whenScaled?: string };
  volumeClaimTemplates: { spec: { resources: { requests: { storage: string } } } }[];
  template: { metadata: { labels: Record<string, string> } };
}
const stsSpec = (r: Registration) => r.inputs.spec as StatefulSetSpecLike;
const selectorOf = (r: Registration) => (r.inputs.spec as { selector: Record<string, string> }).selector;
const stringData = (r: Registration) => reveal(pulumi, r.inputs.stringData) as Record<string, string>;
const workloads = (b: Build) => [...ofType(b, K8S.statefulSet), ...ofType(b, K8S.job)];

describe.each(STAGES)("data tier of stage %s", (stage) => {
  const b = () => builds[stage];

  it("builds without error", () => {
    expect(b().error).toBeUndefined();
    expect(ofType(b(), K8S.statefulSet).length).toBeGreaterThanOrEqual(2);
  });

  it("keeps every StatefulSet and Secret in the cluster if the program drops it (retainOnDelete)", () => {
    const kept = [...ofType(b(), K8S.statefulSet), ...ofType(b(), K8S.secret)];
    expect(kept.filter((r) => !r.retainOnDelete).map((r) => `${r.type} ${meta(r).name}`)).toEqual([]);
  });

  it("protects the primary, the cache and their Secrets as well (they exist in every stage)", () => {
    for (const [type, name] of [
      [K8S.statefulSet, "mysql"],
      [K8S.statefulSet, "redis"],
      [K8S.secret, "mysql-admin"],
      [K8S.secret, "redis-credentials"],
    ])
      expect({ name, protect: object(b(), type, name).protect, retain: object(b(), type, name).retainOnDelete }).toEqual({
        name,
        protect: true,
        retain: true,
      });
  });

  it("lets every claim outlive its StatefulSet, sized from the spec", () => {
    for (const r of ofType(b(), K8S.statefulSet)) {
      const spec = stsSpec(r);
      expect({ name: meta(r).name, policy: spec.persistentVolumeClaimRetentionPolicy }).toEqual({
        name: meta(r).name,
        policy: { whenDeleted: "Retain", whenScaled: "Retain" },
      });
      const store =
        meta(r).name === "redis" ? specs[stage].data.redis : meta(r).name === "etcd" ? specs[stage].data.etcd : specs[stage].data.mysql;
      expect(spec.volumeClaimTemplates.map((t) => t.spec.resources.requests.storage)).toEqual([store?.storage]);
    }
  });

  it("stores every password as a Pulumi secret, in stringData only", () => {
    const secrets = ofType(b(), K8S.secret);
    expect(secrets.length).toBeGreaterThanOrEqual(3);
    for (const s of secrets) {
      expect({ name: meta(s).name, secret: isWireSecret(pulumi, s.inputs.stringData), data: s.inputs.data }).toEqual({
        name: meta(s).name,
        secret: true,
        data: undefined,
      });
      for (const v of Object.values(stringData(s))) expect(v).toMatch(/^[A-Za-z0-9_-]{32}$/);
    }
  });

  it("never writes a password anywhere but its Secret (no env literal, no annotation, no script)", () => {
    const passwords = ofType(b(), K8S.secret).flatMap((s) => Object.values(stringData(s)));
    const elsewhere = b().registrations.filter((r) => r.type !== K8S.secret);
    const leaks = elsewhere.flatMap((r) => passwords.filter((p) => JSON.stringify(r.inputs).includes(p)).map(() => r.urn));
    expect(leaks).toEqual([]);
  });

  it("hands every password to pods by secretKeyRef to a Secret and key this tier creates", () => {
    const keys = new Map(ofType(b(), K8S.secret).map((s) => [meta(s).name, Object.keys(stringData(s))]));
    const refs = workloads(b()).flatMap((w) =>
      containersOf(w).flatMap((c) => credentialEnv(c).map((e) => ({ at: `${meta(w).name}/${c.name}`, e }))),
    );
    expect(refs.length).toBeGreaterThan(0);
    for (const { at, e } of refs) {
      expect({ at, env: e.name, literal: e.value }).toEqual({ at, env: e.name, literal: undefined });
      const ref = e.valueFrom?.secretKeyRef;
      expect({ at, env: e.name, known: !!ref && (keys.get(ref.name) ?? []).includes(ref.key) }).toEqual({ at, env: e.name, known: true });
    }
  });

  it("runs read replicas as their own StatefulSet only when readReplicas > 0, read through mysql-read", () => {
    const n = specs[stage].data.mysql.readReplicas;
    const replicaSets = ofType(b(), K8S.statefulSet).filter((r) => meta(r).name === "mysql-replica");
    const readServices = ofType(b(), K8S.service).filter((r) => meta(r).name === "mysql-read");
    expect(replicaSets).toHaveLength(n > 0 ? 1 : 0);
    expect(readServices).toHaveLength(n > 0 ? 1 : 0);
    const primary = stsSpec(object(b(), K8S.statefulSet, "mysql"));
    expect(primary.replicas).toBe(1);
    expect(selectorOf(object(b(), K8S.service, "mysql"))).toEqual(primary.selector.matchLabels);
    if (n > 0) {
      const replicas = stsSpec(replicaSets[0]);
      expect(replicas.replicas).toBe(n);
      expect(selectorOf(readServices[0])).toEqual(replicas.selector.matchLabels);
      expect(replicas.template.metadata.labels).toMatchObject(replicas.selector.matchLabels);
      // The read Service must not also match the primary's pods.
      expect(primary.template.metadata.labels).not.toMatchObject(selectorOf(readServices[0]));
    }
  });

  it("governs every StatefulSet by a headless Service of its name that selects exactly its pods", () => {
    const services = ofType(b(), K8S.service);
    const sets = ofType(b(), K8S.statefulSet);
    expect(sets.length).toBeGreaterThan(0);
    for (const set of sets) {
      const sts = stsSpec(set);
      const governing = services.filter((s) => meta(s).name === sts.serviceName);
      const spec = governing.map((s) => s.inputs.spec as { clusterIP?: string; selector: Record<string, string> });
      expect({ set: meta(set).name, governing: spec.map((g) => ({ clusterIP: g.clusterIP, selector: g.selector })) }).toEqual({
        set: meta(set).name,
        governing: [{ clusterIP: "None", selector: sts.selector.matchLabels }],
      });
    }
  });

  it("gives clients a ClusterIP beside each governing Service, selecting the same pods (a stable address through restarts)", () => {
    const services = ofType(b(), K8S.service);
    const pairs = [
      ["mysql", "mysql-client"],
      ["redis", "redis-client"],
      ...(specs[stage].data.mysql.readReplicas > 0 ? [["mysql-read", "mysql-read-client"]] : []),
    ];
    for (const [governing, client] of pairs) {
      const g = object(b(), K8S.service, governing).inputs.spec as { selector: Record<string, string> };
      const c = services.filter((s) => meta(s).name === client).map((s) => s.inputs.spec as { clusterIP?: string; selector: unknown });
      expect({ client, specs: c.map((x) => ({ clusterIP: x.clusterIP, selector: x.selector })) }).toEqual({
        client,
        specs: [{ clusterIP: undefined, selector: g.selector }],
      });
    }
  });

  it("bootstraps MySQL after the primary and every Secret it reads, replaced (not patched) when its SQL changes", () => {
    const job = object(b(), K8S.job, "mysql-bootstrap");
    const needed = [object(b(), K8S.statefulSet, "mysql"), ...ofType(b(), K8S.secret).filter((s) => meta(s).name?.startsWith("mysql-"))];
    expect(needed.filter((r) => !job.dependencies.includes(r.urn)).map((r) => r.urn)).toEqual([]);
    expect(job.deleteBeforeReplace).toBe(true);
    expect(job.replaceOnChanges).toEqual(["metadata.annotations"]);
  });
});

describe.each(["micro", "ddd"] as const)("etcd of stage %s", (stage) => {
  const b = () => builds[stage];

  it("starts every member at once (Parallel) and keeps quorum through evictions", () => {
    const members = specs[stage].data.etcd?.members ?? 0;
    const sts = stsSpec(object(b(), K8S.statefulSet, "etcd"));
    expect({ replicas: sts.replicas, policy: sts.podManagementPolicy }).toEqual({ replicas: members, policy: "Parallel" });
    const pdb = object(b(), K8S.pdb, "etcd").inputs.spec as { minAvailable: number; selector: { matchLabels: unknown } };
    expect(pdb.minAvailable).toBe(Math.floor(members / 2) + 1);
    expect(pdb.selector.matchLabels).toEqual(sts.selector.matchLabels);
  });

  it("applies auth with a Job that reads passwords only by secretKeyRef, after the members and Secrets exist", () => {
    const job = object(b(), K8S.job, "etcd-auth");
    const env = containersOf(job).flatMap((c) => c.env ?? []);
    expect(env.length).toBeGreaterThan(1);
    expect(env.filter((e) => e.value !== undefined || !e.valueFrom?.secretKeyRef).map((e) => e.name)).toEqual([]);
    const needed = [object(b(), K8S.statefulSet, "etcd"), ...ofType(b(), K8S.secret).filter((s) => meta(s).name?.startsWith("etcd-"))];
    expect(needed.filter((r) => !job.dependencies.includes(r.urn)).map((r) => r.urn)).toEqual([]);
  });
});

describe("variants of the stores (the micro stage with one store changed)", () => {
  it.each([
    [1, 1],
    [3, 2],
    [5, 3],
    [7, 4],
  ])("etcd with %i members keeps %i available", async (members, quorum) => {
    const etcd = specs.micro.data.etcd;
    if (!etcd) throw new Error("micro has etcd");
    const b = await buildData(specs.micro, { etcd: { ...etcd, members } });
    expect((object(b, K8S.pdb, "etcd").inputs.spec as { minAvailable: number }).minAvailable).toBe(quorum);
    expect(stsSpec(object(b, K8S.statefulSet, "etcd")).replicas).toBe(members);
  });

  it("etcd without auth makes no root or user Secrets and no auth Job", async () => {
    const etcd = specs.micro.data.etcd;
    if (!etcd) throw new Error("micro has etcd");
    const b = await buildData(specs.micro, { etcd: { ...etcd, auth: false } });
    expect(ofType(b, K8S.secret).filter((s) => meta(s).name?.startsWith("etcd-"))).toEqual([]);
    expect(ofType(b, K8S.job).filter((j) => meta(j).name === "etcd-auth")).toEqual([]);
    expect(object(b, K8S.statefulSet, "etcd")).toBeDefined();
  });

  it.each([
    [0, false, false],
    [1, true, false],
    [3, true, true],
  ])("MySQL with %i read replicas: replica StatefulSet %s, replica PDB %s", async (readReplicas, sts, pdb) => {
    const b = await buildData(specs.micro, { mysql: { ...specs.micro.data.mysql, readReplicas }, etcd: null });
    expect(ofType(b, K8S.statefulSet).some((r) => meta(r).name === "mysql-replica")).toBe(sts);
    expect(ofType(b, K8S.pdb).some((r) => meta(r).name === "mysql-replica")).toBe(pdb);
    if (sts) expect(stsSpec(object(b, K8S.statefulSet, "mysql-replica")).replicas).toBe(readReplicas);
  });
});
