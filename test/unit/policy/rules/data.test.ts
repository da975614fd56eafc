import { allowedDisruptions, claimsRetained, etcdQuorum, holdsData, noDeleteBeforeReplace, quorum } from "../../../../policy/rules/data";
import { deployment, goodContainer, labels, resource, store } from "../resources";

const ETCD = "quay.io/coreos/etcd:v3.5.17";
const etcdPdb = (spec: Record<string, unknown>) =>
  resource("PodDisruptionBudget", {
    metadata: { name: "etcd", namespace: "stagecraft" },
    spec: { selector: { matchLabels: { "app.kubernetes.io/name": "etcd" } }, ...spec },
  });

describe("data protection rules", () => {
  test("holdsData: stores' StatefulSets, claims, data-tier Secrets; not app Secrets or a claimless app StatefulSet", () => {
    expect(holdsData(store("mysql", "database", "docker.io/library/mariadb:11.4.4", 1))).toBe(true);
    expect(holdsData(resource("PersistentVolumeClaim", { metadata: { name: "backup" } }))).toBe(true);
    expect(holdsData(resource("Secret", { metadata: { name: "mysql-admin", labels: labels("mysql", "database", "data") } }))).toBe(true);
    expect(holdsData(resource("Secret", { metadata: { name: "kong-secrets", labels: labels("kong", "gateway", "edge") } }))).toBe(false);
    const beat = resource("StatefulSet", {
      metadata: { name: "celery-beat", labels: labels("celery-beat", "scheduler", "app") },
      spec: { template: { spec: { containers: [goodContainer()] } } },
    });
    expect(holdsData(beat)).toBe(false);
    expect(holdsData(deployment("web", [goodContainer()]))).toBe(false);
  });

  test("data-claims-retained: a store that would lose its volumes fails; one that keeps them passes", () => {
    const bad = store("redis", "cache", "docker.io/library/redis:7.2.6", 1, {
      persistentVolumeClaimRetentionPolicy: { whenDeleted: "Delete", whenScaled: "Retain" },
    });
    expect(claimsRetained.check(bad)).toEqual([
      'StatefulSet stagecraft/redis has persistentVolumeClaimRetentionPolicy {"whenDeleted":"Delete","whenScaled":"Retain"}, so deleting or scaling it could delete its volumes. Fix: set whenDeleted: Retain and whenScaled: Retain',
    ]);
    const noClaims = store("redis", "cache", "docker.io/library/redis:7.2.6", 1, { volumeClaimTemplates: undefined });
    expect(claimsRetained.check(noClaims)[0]).toBe(
      "StatefulSet stagecraft/redis is a data store without volumeClaimTemplates, so its data dies with its pods. Fix: add a volumeClaimTemplate for its data directory",
    );
    expect(claimsRetained.check(store("redis", "cache", "docker.io/library/redis:7.2.6", 1))).toEqual([]);
  });

  test("data-no-delete-before-replace", () => {
    const secret = (dbr: boolean) =>
      resource(
        "Secret",
        { metadata: { name: "redis-credentials", namespace: "stagecraft", labels: labels("redis", "cache", "data") } },
        { deleteBeforeReplace: dbr },
      );
    expect(noDeleteBeforeReplace.check(secret(true))).toEqual([
      "Secret stagecraft/redis-credentials holds data and sets deleteBeforeReplace, so any replacement deletes it first. Fix: remove the deleteBeforeReplace option",
    ]);
    expect(noDeleteBeforeReplace.check(secret(false))).toEqual([]);
    // Not data: a ConfigMap may be deleted first.
    expect(noDeleteBeforeReplace.check(resource("ConfigMap", { metadata: { name: "web-config" } }, { deleteBeforeReplace: true }))).toEqual(
      [],
    );
  });

  test("quorum and allowed disruptions", () => {
    expect([1, 3, 5, 7].map(quorum)).toEqual([1, 2, 3, 4]);
    expect(allowedDisruptions({ minAvailable: 2 }, 3)).toBe(1);
    expect(allowedDisruptions({ maxUnavailable: 1 }, 3)).toBe(1);
    expect(allowedDisruptions({ minAvailable: "50%" }, 3)).toBe(1); // ceil(1.5) = 2 must stay
    expect(allowedDisruptions({ maxUnavailable: "50%" }, 5)).toBe(2);
    expect(allowedDisruptions({}, 3)).toBe(3);
  });

  test("etcd-quorum: 3 members with a PDB keeping 2 pass", () => {
    expect(etcdQuorum.checkStack([store("etcd", "registry", ETCD, 3), etcdPdb({ minAvailable: 2 })])).toEqual([]);
  });

  test("etcd-quorum: too few, even, no PDB, or a PDB that allows losing quorum fail, with the fix", () => {
    const two = store("etcd", "registry", ETCD, 2);
    expect(etcdQuorum.checkStack([two, etcdPdb({ minAvailable: 2 })]).map((f) => f.message)).toEqual([
      "StatefulSet stagecraft/etcd runs 2 member(s): fewer than 3 cannot lose one and keep quorum. Fix: set replicas to 3 (Stagecraft: spec.data.etcd.members)",
    ]);
    expect(etcdQuorum.checkStack([store("etcd", "registry", ETCD, 4), etcdPdb({ minAvailable: 3 })]).map((f) => f.message)).toEqual([
      "StatefulSet stagecraft/etcd runs 4 member(s): an even count adds no fault tolerance and can split votes. Fix: set replicas to 5 (Stagecraft: spec.data.etcd.members)",
    ]);
    expect(etcdQuorum.checkStack([store("etcd", "registry", ETCD, 3)]).map((f) => f.message)).toEqual([
      "StatefulSet stagecraft/etcd has no PodDisruptionBudget, so a node drain may evict members below quorum. Fix: add one with minAvailable: 2",
    ]);
    const loose = etcdQuorum.checkStack([store("etcd", "registry", ETCD, 3), etcdPdb({ maxUnavailable: 2 })]);
    expect(loose.map((f) => f.message)).toEqual([
      "StatefulSet stagecraft/etcd is covered by PodDisruptionBudget stagecraft/etcd, which lets evictions take 2 of 3 members, below quorum (2). Fix: set its minAvailable to 2",
    ]);
    expect(loose[0].urn).toBe(store("etcd", "registry", ETCD, 3).urn);
  });

  test("etcd-quorum: found by its image, whatever it is called; other stores are not etcd", () => {
    expect(etcdQuorum.checkStack([store("registry", "registry", "registry.local:5000/etcd@sha256:" + "b".repeat(64), 1)])).toHaveLength(2);
    expect(etcdQuorum.checkStack([store("redis", "cache", "docker.io/library/redis:7.2.6", 1)])).toEqual([]);
  });
});
