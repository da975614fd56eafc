/**
 * NetworkPolicies from the call graph. Reachability is computed by a small evaluator of Kubernetes
 * NetworkPolicy semantics (below) over the generated objects, never by looking for strings in them:
 * a flow is open only if the sender's egress and the receiver's ingress both admit it.
 */
import type * as k8s from "@pulumi/kubernetes";
import { NetworkPolicy } from "kubernetes-models/networking.k8s.io/v1/NetworkPolicy";
import * as path from "path";
import { migrateJobName, NAMES, PORTS, workerName } from "../../../../model/names";
import {
  networkPolicies,
  type LabelSelector,
  type NetworkPolicyManifest,
  type NetworkPolicyPeer,
} from "../../../../components/platform/networkPolicies";
import { stageModel } from "../../../../model/stage";
import { validateStack } from "../../../../validate/validateStack";
import type { Spec } from "../../../../spec/schema";
import { ROOT } from "../../../lib/paths";
import { readStackFile } from "../../../../spec/stackFile";

/** The policies of a spec, through its model's flows as the Stage builds them. */
const policiesOf = (spec: Spec, namespace: string) => networkPolicies(stageModel(spec).flows, namespace);

// Compile-time check: the manifests can be handed to the Pulumi provider as they are.
const _assignable: (p: NetworkPolicyManifest) => k8s.types.input.networking.v1.NetworkPolicy = (p) => p;
void _assignable;

const NS = "stagecraft";
const STAGES = ["mvc", "split", "micro", "ddd"] as const;

// ---------------------------------------------------------------------------------------------
// The evaluator.

interface Pod {
  readonly namespace: string;
  readonly labels: Readonly<Record<string, string>>;
}
/** A client outside the cluster (the internet, the cloud load balancer). */
const WORLD = "world" as const;
type Endpoint = Pod | typeof WORLD;
type Protocol = "TCP" | "UDP";

const namespaceLabels = (ns: string): Record<string, string> => ({ "kubernetes.io/metadata.name": ns });

function matches(selector: LabelSelector | undefined, labels: Readonly<Record<string, string>>): boolean {
  if (selector === undefined) return true;
  const extra = Object.keys(selector).filter((k) => k !== "matchLabels");
  // Anything the evaluator does not model fails loudly instead of passing by accident.
  if (extra.length > 0) throw new Error(`evaluator does not support selector fields ${extra.join(", ")}`);
  return Object.entries(selector.matchLabels ?? {}).every(([k, v]) => labels[k] === v);
}

function peerMatches(peer: NetworkPolicyPeer, policyNamespace: string, other: Endpoint): boolean {
  const extra = Object.keys(peer).filter((k) => k !== "podSelector" && k !== "namespaceSelector");
  if (extra.length > 0) throw new Error(`evaluator does not support peer fields ${extra.join(", ")}`);
  if (other === WORLD) return false; // pod and namespace selectors never match traffic from outside the cluster
  const nsOk = peer.namespaceSelector
    ? matches(peer.namespaceSelector, namespaceLabels(other.namespace))
    : other.namespace === policyNamespace;
  return nsOk && matches(peer.podSelector ?? {}, other.labels);
}

function portMatches(ports: readonly { protocol?: string; port?: number | string }[] | undefined, port: number, protocol: Protocol) {
  if (!ports || ports.length === 0) return true;
  return ports.some((p) => {
    if (typeof p.port === "string") throw new Error("evaluator does not support named ports");
    return (p.protocol ?? "TCP") === protocol && (p.port === undefined || p.port === port);
  });
}

function types(p: NetworkPolicyManifest): string[] {
  return p.spec.policyTypes ?? ["Ingress", ...(p.spec.egress ? ["Egress"] : [])];
}

/** Is a connection from `src` to `dst` on port/protocol allowed by the policies? */
function allowed(policies: readonly NetworkPolicyManifest[], src: Endpoint, dst: Pod, port: number, protocol: Protocol = "TCP"): boolean {
  const selecting = (pod: Pod, type: string) =>
    policies.filter((p) => p.metadata.namespace === pod.namespace && types(p).includes(type) && matches(p.spec.podSelector, pod.labels));

  let egressOk = true;
  if (src !== WORLD) {
    const ps = selecting(src, "Egress");
    // A pod no Egress policy selects is not isolated for egress.
    if (ps.length > 0)
      egressOk = ps.some((p) =>
        (p.spec.egress ?? []).some(
          (r) =>
            portMatches(r.ports, port, protocol) &&
            (r.to === undefined || r.to.some((peer) => peerMatches(peer, p.metadata.namespace, dst))),
        ),
      );
  }
  const ps = selecting(dst, "Ingress");
  const ingressOk =
    ps.length === 0 ||
    ps.some((p) =>
      (p.spec.ingress ?? []).some(
        (r) =>
          portMatches(r.ports, port, protocol) &&
          (r.from === undefined || r.from.some((peer) => peerMatches(peer, p.metadata.namespace, src))),
      ),
    );
  return egressOk && ingressOk;
}

// ---------------------------------------------------------------------------------------------
// The pods of a stage, named the way names.ts names them (independently of the function under test).

const pod = (name: string, namespace = NS): Pod => ({
  namespace,
  labels: { "app.kubernetes.io/name": name, "app.kubernetes.io/part-of": "stagecraft" },
});
/** The data tier's Jobs, as MySqlCluster and EtcdCluster name them. */
const MYSQL_BOOTSTRAP = "mysql-bootstrap";
const ETCD_AUTH = "etcd-auth";
/** nginx's cluster-internal server, where nchan's publisher location lives. */
const NGINX_INTERNAL = 8081;
const kubeDns: Pod = { namespace: "kube-system", labels: { "k8s-app": "kube-dns" } };
const otherNamespacePod = pod("web", "other");
/** A pod nobody declared (e.g. `kubectl run` in the namespace). */
const intruder = pod("intruder");

function podsOf(spec: Spec): Map<string, Pod> {
  const names = [
    ...spec.services.map((s) => s.name),
    ...spec.services.filter((s) => s.migrate).map((s) => migrateJobName(s.name)),
    ...spec.workers.map((w) => workerName(w.name)),
    ...(spec.beat ? [NAMES.beat] : []),
    ...(spec.edge.nginx ? [NAMES.nginx] : []),
    ...(spec.edge.kong ? [NAMES.kong] : []),
    NAMES.mysql,
    MYSQL_BOOTSTRAP,
    ...(spec.data.mysql.readReplicas > 0 ? [NAMES.mysqlReplica] : []),
    NAMES.redis,
    ...(spec.data.etcd ? [NAMES.etcd, ETCD_AUTH] : []),
    ...(spec.push?.kind === "tormq" ? [NAMES.push] : []),
    ...(spec.shortUrl ? [NAMES.shortUrl] : []),
  ];
  return new Map(names.map((n) => [n, pod(n)]));
}

function load(stage: string): Spec {
  const { stack, raw } = readStackFile(path.join(ROOT, "stacks", `Pulumi.${stage}.yaml`));
  return validateStack(stack, raw).spec;
}

/** Every port some pod of the stage listens on, to prove a closed pair is closed on all of them. */
function allPorts(spec: Spec): number[] {
  return [
    ...new Set([
      ...spec.services.map((s) => s.port),
      ...Object.values(PORTS),
      NGINX_INTERNAL,
      ...(spec.push?.kind === "tormq" ? [spec.push.port, spec.push.zmqPort] : []),
    ]),
  ];
}

// ---------------------------------------------------------------------------------------------

describe("the evaluator itself", () => {
  const spec = load("split");
  const web = pod("web");
  const account = pod("account");
  it("treats pods as open when no policy selects them", () => {
    expect(allowed([], web, account, 8000)).toBe(true);
  });
  it("closes everything under default-deny alone", () => {
    const [deny] = policiesOf(spec, NS);
    expect(deny.metadata.name).toBe("default-deny");
    expect(allowed([deny], web, account, 8000)).toBe(false);
    expect(allowed([deny], web, kubeDns, 53, "UDP")).toBe(false);
  });
  it("needs both ends: an egress rule without the matching ingress rule opens nothing", () => {
    const all = policiesOf(spec, NS);
    expect(allowed(all, web, account, 8000)).toBe(true);
    expect(
      allowed(
        all.filter((p) => !p.metadata.name.startsWith("allow-account-")),
        web,
        account,
        8000,
      ),
    ).toBe(false);
    expect(
      allowed(
        all.filter((p) => !p.metadata.name.startsWith("allow-web-")),
        web,
        account,
        8000,
      ),
    ).toBe(false);
  });
  it("refuses selector features it does not model", () => {
    const odd: NetworkPolicyManifest = {
      ...policiesOf(spec, NS)[0],
      spec: { podSelector: { matchExpressions: [] } as unknown as LabelSelector, policyTypes: ["Ingress"], ingress: [], egress: [] },
    };
    expect(() => allowed([odd], web, account, 8000)).toThrow(/does not support/);
  });
});

describe.each(STAGES)("stage %s", (stage) => {
  const spec = load(stage);
  const policies = policiesOf(spec, NS);
  const pods = podsOf(spec);
  const get = (name: string): Pod => {
    const p = pods.get(name);
    if (!p) throw new Error(`no pod ${name} in stage ${stage}`);
    return p;
  };
  const service = (name: string) => {
    const s = spec.services.find((x) => x.name === name);
    if (!s) throw new Error(`no service ${name} in stage ${stage}`);
    return s;
  };
  const edgePods: string[] = [...(spec.edge.nginx ? [NAMES.nginx] : []), ...(spec.edge.kong ? [NAMES.kong] : [])];
  /** The one port open to any source: the edge's public port. */
  const isPublic = (name: string, port: number) =>
    (name === NAMES.nginx && port === PORTS.nginx) || (name === NAMES.kong && port === PORTS.kongProxy);
  const ports = allPorts(spec);

  it("produces valid NetworkPolicy objects in the namespace, default-deny first", () => {
    expect(policies[0].metadata.name).toBe("default-deny");
    expect(policies[0].spec.policyTypes).toEqual(["Ingress", "Egress"]);
    for (const p of policies) {
      expect(p.metadata.namespace).toBe(NS);
      expect(() => new NetworkPolicy(p).validate()).not.toThrow();
    }
    expect(new Set(policies.map((p) => p.metadata.name)).size).toBe(policies.length);
  });

  it("is deterministic and independent of the order of services and workers", () => {
    const shuffled: Spec = { ...spec, services: [...spec.services].reverse(), workers: [...spec.workers].reverse() };
    expect(policiesOf(shuffled, NS)).toEqual(policies);
    expect(JSON.stringify(policiesOf(spec, NS))).toBe(JSON.stringify(policies));
  });

  it("opens every declared call on the callee's port", () => {
    const declared = spec.services.flatMap((s) => s.calls.map((to) => [s.name, to] as const));
    // The monolith calls nobody; every later stage must exercise this test.
    if (stage !== "mvc") expect(declared.length).toBeGreaterThan(0);
    for (const [from, to] of declared)
      expect([from, to, allowed(policies, get(from), get(to), service(to).port)]).toEqual([from, to, true]);
  });

  it("closes every undeclared service-to-service pair, on every port", () => {
    for (const a of spec.services)
      for (const b of spec.services) {
        if (a.name === b.name || a.calls.includes(b.name)) continue;
        for (const port of ports)
          expect([a.name, b.name, port, allowed(policies, get(a.name), get(b.name), port)]).toEqual([a.name, b.name, port, false]);
      }
  });

  it("lets the edge reach exactly the routed services, and the world reach only the edge", () => {
    for (const s of spec.services)
      for (const e of edgePods)
        expect([e, s.name, allowed(policies, get(e), get(s.name), s.port)]).toEqual([e, s.name, s.routes.length > 0]);
    expect(edgePods.length).toBeGreaterThan(0);
    for (const [name, p] of pods)
      for (const port of ports) expect([name, port, allowed(policies, WORLD, p, port)]).toEqual([name, port, isPublic(name, port)]);
  });

  it("lets every pod resolve names in kube-system (UDP and TCP 53), and nothing else there", () => {
    for (const [name, p] of pods) {
      expect([name, allowed(policies, p, kubeDns, 53, "UDP"), allowed(policies, p, kubeDns, 53, "TCP")]).toEqual([name, true, true]);
      expect([name, allowed(policies, p, kubeDns, 443)]).toEqual([name, false]);
      expect([name, allowed(policies, p, pod("web", "other"), 8000)]).toEqual([name, false]);
    }
  });

  it("keeps other namespaces out but for the public port, and undeclared pods of the namespace out and in", () => {
    for (const [name, p] of pods)
      for (const port of ports) {
        const open = isPublic(name, port);
        expect([name, port, allowed(policies, otherNamespacePod, p, port)]).toEqual([name, port, open]);
        expect([name, port, allowed(policies, intruder, p, port), allowed(policies, p, intruder, port)]).toEqual([
          name,
          port,
          false,
          false,
        ]);
      }
  });

  /** Who may open connections to a store, derived from the spec here (not from the policies). */
  const users = (uses: (s: (typeof spec.services)[number]) => boolean): Set<string> => {
    const out = new Set<string>();
    for (const s of spec.services) if (uses(s)) out.add(s.name);
    for (const w of spec.workers) if (uses(service(w.service))) out.add(workerName(w.name));
    if (spec.beat && uses(service(spec.beat.service))) out.add(NAMES.beat);
    return out;
  };

  it("opens MySQL (primary and replicas) only to their users, migrations and each other", () => {
    const primaryUsers = users((s) => !!s.mysql);
    for (const s of spec.services) if (s.migrate && s.mysql) primaryUsers.add(migrateJobName(s.name));
    const hasReplicas = spec.data.mysql.readReplicas > 0;
    primaryUsers.add(MYSQL_BOOTSTRAP);
    if (hasReplicas) primaryUsers.add(NAMES.mysqlReplica);
    for (const [name, p] of pods)
      if (name !== NAMES.mysql) expect([name, allowed(policies, p, get(NAMES.mysql), PORTS.mysql)]).toEqual([name, primaryUsers.has(name)]);
    if (hasReplicas) {
      const readers = users((s) => !!s.mysql?.readFromReplicas);
      readers.add(NAMES.mysql);
      for (const [name, p] of pods)
        if (name !== NAMES.mysqlReplica)
          expect([name, allowed(policies, p, get(NAMES.mysqlReplica), PORTS.mysql)]).toEqual([name, readers.has(name)]);
    }
  });

  it("opens Redis only to its users (services, their workers and beat, Kong's counters, short URLs)", () => {
    const redisUsers = users((s) => !!s.redis);
    // Celery's broker: the enqueuing service, its workers and the beat.
    for (const w of spec.workers) redisUsers.add(w.service).add(workerName(w.name));
    if (spec.beat) redisUsers.add(spec.beat.service).add(NAMES.beat);
    if (spec.edge.kong?.rateLimit.policy === "redis") redisUsers.add(NAMES.kong);
    if (spec.shortUrl) redisUsers.add(NAMES.shortUrl);
    if (spec.push?.kind === "tormq") redisUsers.add(NAMES.push);
    // nchan's channel store, shared by the nginx replicas.
    if (spec.push?.kind === "nchan" && spec.edge.nginx) redisUsers.add(NAMES.nginx);
    for (const [name, p] of pods) expect([name, allowed(policies, p, get(NAMES.redis), PORTS.redis)]).toEqual([name, redisUsers.has(name)]);
  });

  it("opens etcd to rpc services and their callers, and peer traffic among members only", () => {
    if (!spec.data.etcd) return expect(pods.has(NAMES.etcd)).toBe(false);
    const rpc = new Set(spec.services.filter((s) => s.kind === "rpc").map((s) => s.name));
    const etcdUsers = new Set(spec.services.filter((s) => rpc.has(s.name) || s.calls.some((c) => rpc.has(c))).map((s) => s.name));
    if (spec.data.etcd.auth) etcdUsers.add(ETCD_AUTH);
    const etcd = get(NAMES.etcd);
    for (const [name, p] of pods)
      if (name !== NAMES.etcd) {
        expect([name, allowed(policies, p, etcd, PORTS.etcdClient)]).toEqual([name, etcdUsers.has(name)]);
        expect([name, allowed(policies, p, etcd, PORTS.etcdPeer)]).toEqual([name, false]);
      }
    expect(allowed(policies, etcd, etcd, PORTS.etcdPeer)).toBe(true);
  });

  it("gives workers, beat and migrations no way into any service", () => {
    const batch = [...spec.workers.map((w) => workerName(w.name)), ...(spec.beat ? [NAMES.beat] : [])];
    batch.push(...spec.services.filter((s) => s.migrate).map((s) => migrateJobName(s.name)));
    for (const b of batch)
      for (const s of spec.services) expect([b, s.name, allowed(policies, get(b), get(s.name), s.port)]).toEqual([b, s.name, false]);
  });

  it("routes push through the edge and lets every service and worker publish, nobody else", () => {
    const publishers = new Set([...spec.services.map((s) => s.name), ...spec.workers.map((w) => workerName(w.name))]);
    if (spec.push?.kind === "tormq") {
      const push = get(NAMES.push);
      const { port, zmqPort } = spec.push;
      for (const [name, p] of pods) {
        expect([name, "ws", allowed(policies, p, push, port)]).toEqual([name, "ws", edgePods.includes(name)]);
        expect([name, "zmq", allowed(policies, p, push, zmqPort)]).toEqual([name, "zmq", publishers.has(name)]);
      }
    }
    if (spec.push?.kind === "nchan") {
      const nginx = get(NAMES.nginx);
      for (const [name, p] of pods) expect([name, allowed(policies, p, nginx, NGINX_INTERNAL)]).toEqual([name, publishers.has(name)]);
      expect(allowed(policies, WORLD, nginx, NGINX_INTERNAL)).toBe(false);
    }
  });

  it("routes short URLs through the edge only", () => {
    if (!spec.shortUrl) return;
    const short = get(NAMES.shortUrl);
    for (const [name, p] of pods) expect([name, allowed(policies, p, short, PORTS.shortUrl)]).toEqual([name, edgePods.includes(name)]);
  });
});

describe("stage moves: a group whose rules change gets a new policy name (created first, the old one deleted last)", () => {
  const group = (p: NetworkPolicyManifest) => p.spec.podSelector.matchLabels?.["app.kubernetes.io/name"] ?? p.metadata.name;
  test.each([
    ["mvc", "split"],
    ["split", "micro"],
    ["micro", "ddd"],
    ["ddd", "micro"],
  ] as const)("%s -> %s: same rules, same name; other rules, other name", (from, to) => {
    const before = new Map(policiesOf(load(from), NS).map((p) => [group(p), p]));
    let renamed = 0;
    for (const p of policiesOf(load(to), NS)) {
      const old = before.get(group(p));
      if (!old) continue;
      const same = JSON.stringify(old.spec) === JSON.stringify(p.spec);
      expect({ group: group(p), sameName: old.metadata.name === p.metadata.name }).toEqual({ group: group(p), sameName: same });
      if (!same) renamed++;
    }
    // Every one of these moves changes some group's flows: the rule above is exercised both ways.
    expect(renamed).toBeGreaterThan(0);
  });
});

describe("edges of the spec beyond the four stages", () => {
  const base = load("micro");
  it("opens both edges to routed services when nginx and kong both exist", () => {
    const nginx = load("split").edge.nginx;
    const spec: Spec = { ...base, edge: { ...base.edge, nginx } };
    const ps = policiesOf(spec, NS);
    for (const e of [NAMES.nginx, NAMES.kong]) expect(allowed(ps, pod(e), pod("web"), 8000)).toBe(true);
  });
  it("follows a change of the call graph: a removed call is closed", () => {
    const spec: Spec = { ...base, services: base.services.map((s) => (s.name === "web" ? { ...s, calls: ["account"] } : s)) };
    const ps = policiesOf(spec, NS);
    expect(allowed(ps, pod("web"), pod("account"), 9000)).toBe(true);
    expect(allowed(ps, pod("web"), pod("feed"), 9000)).toBe(false);
  });
  it("does not open Kong to Redis when counters are local", () => {
    const micro = base.edge.kong;
    if (!micro) throw new Error("stage micro has Kong");
    const kong = { ...micro, replicas: 1, rateLimit: { ...micro.rateLimit, policy: "local" as const } };
    const ps = policiesOf({ ...base, edge: { kong } }, NS);
    expect(allowed(ps, pod(NAMES.kong), pod(NAMES.redis), PORTS.redis)).toBe(false);
  });
  it("uses the namespace it is given", () => {
    expect(policiesOf(base, "prod").every((p) => p.metadata.namespace === "prod")).toBe(true);
  });
});
