/**
 * What the pre-flight reads from a cluster, parsed: `kubectl get nodes -o json` and `kubectl get
 * pods -A -o json` into the nodes validate/clusterFit.ts judges, and `ctr images ls -q` into the
 * images a node's containerd holds. Pure (text in, values out), so each is tested on recorded output.
 */
import type { ClusterNode, Taint } from "../../validate/clusterFit";

const DECIMAL: Record<string, number> = { n: 1e-9, u: 1e-6, m: 1e-3, "": 1, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18 };
const BINARY: Record<string, number> = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60 };

/** A Kubernetes quantity ('1500m', '2', '24335232Ki', '1G', '1e3') in base units (cores, bytes). */
export function quantity(q: string): number {
  const m = /^([+-]?(?:\d+\.?\d*|\.\d+))(?:([eE][+-]?\d+)|(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE])?)$/.exec(q.trim());
  if (!m) throw new Error(`'${q}' is not a Kubernetes quantity`);
  const n = Number(m[1]);
  if (m[2]) return n * 10 ** Number(m[2].slice(1));
  const suffix = m[3] ?? "";
  return n * (BINARY[suffix] ?? DECIMAL[suffix]);
}

const milli = (q: string | undefined) => (q === undefined ? 0 : Math.round(quantity(q) * 1000));
const mebi = (q: string | undefined) => (q === undefined ? 0 : quantity(q) / 2 ** 20);

interface K8sNode {
  metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec?: { unschedulable?: boolean; taints?: { key: string; value?: string; effect: string }[] };
  status?: { allocatable?: Record<string, string>; conditions?: { type: string; status: string }[] };
}
interface Requests {
  resources?: { requests?: Record<string, string> };
}
interface K8sPod {
  metadata: { namespace: string; name: string };
  spec: { nodeName?: string; containers: Requests[]; initContainers?: Requests[]; overhead?: Record<string, string> };
  status?: { phase?: string };
}

/** A pod's effective requests as the scheduler counts them: its containers' sum or its largest init container, plus overhead. */
export function podRequests(p: K8sPod): { cpuMilli: number; memoryMi: number } {
  const of = (cs: Requests[] | undefined, f: (q: string | undefined) => number, k: string) =>
    (cs ?? []).map((c) => f(c.resources?.requests?.[k]));
  const eff = (f: (q: string | undefined) => number, k: string) =>
    Math.max(
      of(p.spec.containers, f, k).reduce((a, b) => a + b, 0),
      ...of(p.spec.initContainers, f, k),
    ) + f(p.spec.overhead?.[k]);
  return { cpuMilli: eff(milli, "cpu"), memoryMi: eff(mebi, "memory") };
}

/**
 * The cluster's nodes as the fit check sees them. `namespace` is the stack's own: its pods are the
 * ones the `up` replaces, so only other namespaces' running pods count as taken.
 */
export function parseNodes(nodesJson: string, podsJson: string, namespace: string): ClusterNode[] {
  const nodes = (JSON.parse(nodesJson) as { items: K8sNode[] }).items;
  const pods = (JSON.parse(podsJson) as { items: K8sPod[] }).items.filter(
    (p) => p.spec.nodeName && p.metadata.namespace !== namespace && p.status?.phase !== "Succeeded" && p.status?.phase !== "Failed",
  );
  return nodes.map((n) => {
    const here = pods.filter((p) => p.spec.nodeName === n.metadata.name).map(podRequests);
    const ready = (n.status?.conditions ?? []).some((c) => c.type === "Ready" && c.status === "True");
    const taints: Taint[] = (n.spec?.taints ?? []).map((t) => ({ key: t.key, value: t.value, effect: t.effect }));
    return {
      name: n.metadata.name,
      labels: n.metadata.labels ?? {},
      taints,
      schedulable: ready && !n.spec?.unschedulable,
      fake: n.metadata.annotations?.["kwok.x-k8s.io/node"] === "fake",
      allocatable: { cpuMilli: milli(n.status?.allocatable?.cpu), memoryMi: mebi(n.status?.allocatable?.memory) },
      used: {
        cpuMilli: here.reduce((s, r) => s + r.cpuMilli, 0),
        memoryMi: here.reduce((s, r) => s + r.memoryMi, 0),
      },
    };
  });
}

/** `ctr images ls -q`: one reference per line; content digests (sha256:…) are not names a pod uses. */
export function parseCtrImages(text: string): string[] {
  return text
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith("sha256:"));
}
