/**
 * NetworkPolicies derived from the spec: the call graph on paper becomes the call graph at run time.
 *
 * The namespace is closed first (default-deny ingress and egress, DNS the only exception), then each
 * pod group (selected by `app.kubernetes.io/name`) gets one policy opening exactly the flows the spec
 * implies: declared calls, the edge's routes, the data stores a workload uses, replication and peer
 * traffic. Every flow is opened on both ends (egress of the sender, ingress of the receiver), because
 * with default-deny on both directions a one-sided rule opens nothing.
 *
 * Pure: a validated spec in, plain manifests out, in a deterministic order (sorted by name), so a
 * reordering of services in the stack file changes nothing in a preview.
 */
import { migrateJobName, NAMES, PART_OF, PORTS, TIER_LABEL, workerName } from "../../model/names";
import type { ServiceSpec, Spec } from "../../spec/schema";

/** `matchLabels` absent: every pod (of the namespace, for a podSelector). */
export interface LabelSelector {
  matchLabels?: Record<string, string>;
}

export interface NetworkPolicyPort {
  protocol: "TCP" | "UDP";
  port: number;
}

export interface NetworkPolicyPeer {
  podSelector?: LabelSelector;
  namespaceSelector?: LabelSelector;
}

/** `from` absent: any source (the edge's public port). */
export interface NetworkPolicyIngressRule {
  from?: NetworkPolicyPeer[];
  ports: NetworkPolicyPort[];
}

export interface NetworkPolicyEgressRule {
  to: NetworkPolicyPeer[];
  ports: NetworkPolicyPort[];
}

/** Arrays are mutable on purpose: the objects are assignable to @pulumi/kubernetes input types. */
export interface NetworkPolicyManifest {
  apiVersion: "networking.k8s.io/v1";
  kind: "NetworkPolicy";
  metadata: { name: string; namespace: string; labels: Record<string, string> };
  spec: {
    podSelector: LabelSelector;
    policyTypes: ("Ingress" | "Egress")[];
    ingress: NetworkPolicyIngressRule[];
    egress: NetworkPolicyEgressRule[];
  };
}

/** The label every Stagecraft pod is selected by. */
export const POD_NAME_LABEL = "app.kubernetes.io/name";

/** Where cluster DNS runs: the same labels on kind, k3s and EKS (CoreDNS keeps the kube-dns label). */
const DNS_NAMESPACE = "kube-system";
const DNS_POD_LABELS = { "k8s-app": "kube-dns" };

/** Jobs the data tier runs (named as MySqlCluster and EtcdCluster name them): users and schemas, etcd roles. */
export const MYSQL_BOOTSTRAP_JOB = NAMES.mysqlBootstrap;
export const ETCD_AUTH_JOB = NAMES.etcdAuth;

/** A source outside the namespace's pods: clients of the edge. */
const ANYWHERE = "*";

/** One allowed TCP flow between pod groups (by `app.kubernetes.io/name`). */
export interface Flow {
  /** Sending pod group, or `*` for any source (only the edge's public ports). */
  readonly from: string;
  readonly to: string;
  readonly port: number;
}

/** Every TCP flow the spec allows inside the namespace (DNS aside), deduplicated and sorted. */
export function allowedFlows(spec: Spec): Flow[] {
  const flows = new Map<string, Flow>();
  const allow = (from: string, to: string, port: number) => flows.set(`${from}|${to}|${port}`, { from, to, port });

  const byName = new Map(spec.services.map((s) => [s.name, s]));
  const { nginx, kong } = spec.edge;
  const edgeApps = [...(nginx ? [NAMES.nginx] : []), ...(kong ? [NAMES.kong] : [])];
  const replicas = spec.data.mysql.readReplicas > 0;

  // Stores a service's code opens: the same for the service, its Celery workers and its beat.
  const stores = (app: string, s: ServiceSpec) => {
    if (s.mysql) allow(app, NAMES.mysql, PORTS.mysql);
    if (s.mysql?.readReplicas && replicas) allow(app, NAMES.mysqlReplica, PORTS.mysql);
    if (s.redis) allow(app, NAMES.redis, PORTS.redis);
  };

  // Who publishes to push: every service's code gets the publish URL (appSettings), in requests and in Celery tasks.
  const publishers = [...spec.services.map((s) => s.name), ...spec.workers.map((w) => workerName(w.name))];

  // Celery's broker is Redis: the service that enqueues, its workers and the beat reach it even without a cache.
  const brokerUsers = [
    ...spec.services.filter((s) => spec.workers.some((w) => w.service === s.name) || spec.beat?.service === s.name).map((s) => s.name),
    ...spec.workers.map((w) => workerName(w.name)),
    ...(spec.beat ? [NAMES.beat] : []),
  ];
  for (const b of brokerUsers) allow(b, NAMES.redis, PORTS.redis);

  for (const s of spec.services) {
    for (const to of s.calls) {
      const callee = byName.get(to);
      if (callee && to !== s.name) allow(s.name, to, callee.port);
    }
    if (s.routes.length > 0) for (const e of edgeApps) allow(e, s.name, s.port);
    stores(s.name, s);
    // RPC services register in etcd; their callers discover them there.
    if (spec.data.etcd && (s.kind === "rpc" || s.calls.some((c) => byName.get(c)?.kind === "rpc")))
      allow(s.name, NAMES.etcd, PORTS.etcdClient);
    if (s.migrate && s.mysql) allow(migrateJobName(s.name), NAMES.mysql, PORTS.mysql);
  }
  for (const w of spec.workers) {
    const s = byName.get(w.service);
    if (s) stores(workerName(w.name), s);
  }
  if (spec.beat) {
    const s = byName.get(spec.beat.service);
    if (s) stores(NAMES.beat, s);
  }

  if (nginx) allow(ANYWHERE, NAMES.nginx, PORTS.nginx);
  if (kong) {
    allow(ANYWHERE, NAMES.kong, PORTS.kongProxy);
    // Rate-limit counters shared between Kong nodes.
    if (kong.rateLimit.policy === "redis") allow(NAMES.kong, NAMES.redis, PORTS.redis);
  }

  const push = spec.push;
  // nchan publishes on nginx's internal server, never on the public port's location.
  if (push?.kind === "nchan" && nginx) {
    for (const p of publishers) allow(p, NAMES.nginx, PORTS.nginxInternal);
    // nchan keeps channels in Redis so every nginx replica delivers every message.
    allow(NAMES.nginx, NAMES.redis, PORTS.redis);
  }
  if (push?.kind === "tormq") {
    for (const e of edgeApps) allow(e, NAMES.push, push.port);
    // Backends publish over ZeroMQ to every replica (headless Service): no replica-to-replica traffic.
    for (const p of publishers) allow(p, NAMES.push, push.zmqPort);
    allow(NAMES.push, NAMES.redis, PORTS.redis);
  }

  if (spec.shortUrl) {
    for (const e of edgeApps) allow(e, NAMES.shortUrl, PORTS.shortUrl);
    allow(NAMES.shortUrl, NAMES.redis, PORTS.redis);
  }

  // Replication: replicas clone from and follow the primary; the primary reaches replicas for checks and failover.
  if (replicas) {
    allow(NAMES.mysqlReplica, NAMES.mysql, PORTS.mysql);
    allow(NAMES.mysql, NAMES.mysqlReplica, PORTS.mysql);
  }
  if (spec.data.etcd) allow(NAMES.etcd, NAMES.etcd, PORTS.etcdPeer);
  if (spec.data.etcd?.auth) allow(ETCD_AUTH_JOB, NAMES.etcd, PORTS.etcdClient);
  allow(MYSQL_BOOTSTRAP_JOB, NAMES.mysql, PORTS.mysql);

  return [...flows.values()].sort((a, b) => cmp(a.from, b.from) || cmp(a.to, b.to) || a.port - b.port);
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

const podPeer = (app: string): NetworkPolicyPeer => ({ podSelector: { matchLabels: { [POD_NAME_LABEL]: app } } });
const tcp = (port: number): NetworkPolicyPort => ({ protocol: "TCP", port });

/** Groups flows by port, in port order, each with its sorted peers. */
function byPort(flows: readonly Flow[], peerOf: (f: Flow) => string): [number, string[]][] {
  const ports = new Map<number, Set<string>>();
  for (const f of flows) ports.set(f.port, (ports.get(f.port) ?? new Set()).add(peerOf(f)));
  return [...ports.entries()].sort((a, b) => a[0] - b[0]).map(([port, peers]) => [port, [...peers].sort(cmp)]);
}

export function networkPolicies(spec: Spec, namespace: string): NetworkPolicyManifest[] {
  const metadata = (name: string) => ({
    name,
    namespace,
    labels: { "app.kubernetes.io/part-of": PART_OF, "app.kubernetes.io/managed-by": "pulumi", [TIER_LABEL]: "platform" },
  });

  const defaultDeny: NetworkPolicyManifest = {
    apiVersion: "networking.k8s.io/v1",
    kind: "NetworkPolicy",
    metadata: metadata("default-deny"),
    spec: { podSelector: {}, policyTypes: ["Ingress", "Egress"], ingress: [], egress: [] },
  };
  const dns: NetworkPolicyManifest = {
    apiVersion: "networking.k8s.io/v1",
    kind: "NetworkPolicy",
    metadata: metadata("dns-egress"),
    spec: {
      podSelector: {},
      policyTypes: ["Egress"],
      ingress: [],
      egress: [
        {
          to: [
            {
              namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": DNS_NAMESPACE } },
              podSelector: { matchLabels: DNS_POD_LABELS },
            },
          ],
          ports: [
            { protocol: "UDP", port: PORTS.dns },
            { protocol: "TCP", port: PORTS.dns },
          ],
        },
      ],
    },
  };

  const flows = allowedFlows(spec);
  const apps = [...new Set(flows.flatMap((f) => [f.from, f.to]).filter((a) => a !== ANYWHERE))].sort(cmp);
  const perApp = apps.map((app): NetworkPolicyManifest => {
    const ingress = byPort(
      flows.filter((f) => f.to === app),
      (f) => f.from,
    ).map(([port, peers]): NetworkPolicyIngressRule =>
      // Any source on a public port: listing the callers too would change nothing.
      peers.includes(ANYWHERE) ? { ports: [tcp(port)] } : { from: peers.map(podPeer), ports: [tcp(port)] },
    );
    const egress = byPort(
      flows.filter((f) => f.from === app),
      (f) => f.to,
    ).map(([port, peers]): NetworkPolicyEgressRule => ({ to: peers.map(podPeer), ports: [tcp(port)] }));
    return {
      apiVersion: "networking.k8s.io/v1",
      kind: "NetworkPolicy",
      // `allow-` keeps these apart from the two fixed names, whatever a service is called.
      metadata: metadata(`allow-${app}`),
      spec: { podSelector: { matchLabels: { [POD_NAME_LABEL]: app } }, policyTypes: ["Ingress", "Egress"], ingress, egress },
    };
  });

  return [defaultDeny, dns, ...perApp];
}
