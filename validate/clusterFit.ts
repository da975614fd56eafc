/**
 * Does the stage fit the cluster it targets? A live-cluster twin of the EKS capacity check
 * (targetRules.ts): the model's requests (after overrides and `target.fit`, exactly as validateStack
 * derives them) against what the target's schedulable nodes can still give. Pure: the nodes are
 * read by the pre-flight (scripts/preflight) and passed in, problems with their fix come out, before
 * `pulumi up` or a preview touches anything.
 *
 * Where each workload's pods may go is the same data the Stage places them with: Kong by
 * `target.placement.kong`, the data tier by the data placement, the rest anywhere untainted. A node
 * set gets a problem when the pods that can land only there ask more than it has free: a necessary
 * condition (pods that cannot fit in sum cannot fit packed), so it never refuses a stage that fits.
 * Requests at rest are checked, not an HPA's peak nor a rolling update's surge.
 */
import { dataPlacement } from "../aws/eksDefaults";
import { setCommand, type SpecProblem } from "../spec/errors";
import type { RawStack } from "../spec/config";
import type { FitSpec } from "../spec/fit";
import type { PlacementSpec, Target } from "../spec/target";
import type { PodRequest, Workload } from "../model/workloads";
import { validateStack } from "./validateStack";

export interface Taint {
  readonly key: string;
  readonly value?: string;
  readonly effect: string;
}

/** What the pre-flight knows of one node of the target cluster. */
export interface ClusterNode {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly taints: readonly Taint[];
  /** Ready and not cordoned: new pods may land there. */
  readonly schedulable: boolean;
  /** A KWOK node: its pods run no container (no image is pulled, no real CPU is used). */
  readonly fake: boolean;
  readonly allocatable: PodRequest;
  /** Requests of the pods already there that are not the stack's own (CoreDNS, another stack). */
  readonly used: PodRequest;
}

/** Which placement rule a workload (or a Job) follows: the Stage's wiring, as data. */
export type PlacementKey = "kong" | "data" | "default";

export function placementKeyOf(w: Pick<Workload, "role" | "tier">): PlacementKey {
  return w.role === "gateway" ? "kong" : w.tier === "data" ? "data" : "default";
}

/** The nodeSelector and tolerations the Stage gives a workload under this target (index.ts). */
export function placementFor(key: PlacementKey, target: Target): PlacementSpec {
  if (key === "kong") return target.kind === "kubeconfig" && target.placement.kong ? target.placement.kong : NO_PLACEMENT;
  if (key === "data") {
    const p = dataPlacement(target);
    return { nodeSelector: { ...(p.nodeSelector ?? {}) }, tolerations: p.tolerations.map((t) => ({ ...t })) };
  }
  return NO_PLACEMENT;
}
const NO_PLACEMENT: PlacementSpec = { nodeSelector: {}, tolerations: [] };

/** Kubernetes' toleration match (an empty key with Exists tolerates every taint). */
export function tolerates(p: PlacementSpec, t: Taint): boolean {
  return p.tolerations.some(
    (tol) =>
      (tol.effect === undefined || tol.effect === t.effect) &&
      (tol.operator === "Exists" ? tol.key === "" || tol.key === t.key : tol.key === t.key && (tol.value ?? "") === (t.value ?? "")),
  );
}

/** The nodes a pod with this placement may be scheduled on. */
export function eligibleNodes(p: PlacementSpec, nodes: readonly ClusterNode[]): ClusterNode[] {
  return nodes.filter(
    (n) =>
      n.schedulable &&
      Object.entries(p.nodeSelector).every(([k, v]) => n.labels[k] === v) &&
      n.taints.every((t) => t.effect === "PreferNoSchedule" || tolerates(p, t)),
  );
}

export type Resource = "cpu" | "memory";
const RESOURCES: readonly Resource[] = ["cpu", "memory"];
const amount = (r: PodRequest, res: Resource) => (res === "cpu" ? r.cpuMilli : r.memoryMi);
export const show = (n: number, res: Resource) => (res === "cpu" ? `${Math.round(n)}m CPU` : `${Math.round(n)}Mi memory`);
const free = (n: ClusterNode, res: Resource) => amount(n.allocatable, res) - amount(n.used, res);

interface Group {
  readonly nodes: readonly ClusterNode[];
  /** Workloads whose every eligible node is in `nodes`: they cannot go anywhere else. */
  readonly workloads: readonly Workload[];
}

/** Workloads grouped by their node set, each group with every workload confined to it. */
function groups(ws: readonly Workload[], target: Target, nodes: readonly ClusterNode[]): { groups: Group[]; nowhere: Workload[] } {
  const sets = new Map<string, ClusterNode[]>();
  const setOf = new Map<Workload, Set<string>>();
  const nowhere: Workload[] = [];
  for (const w of ws) {
    const el = eligibleNodes(placementFor(placementKeyOf(w), target), nodes);
    if (el.length === 0) {
      nowhere.push(w);
      continue;
    }
    sets.set(
      el
        .map((n) => n.name)
        .sort()
        .join(","),
      el,
    );
    setOf.set(w, new Set(el.map((n) => n.name)));
  }
  return {
    nowhere,
    groups: [...sets.values()].map((set) => ({
      nodes: set,
      workloads: ws.filter((w) => {
        const s = setOf.get(w);
        return s !== undefined && [...s].every((name) => set.some((n) => n.name === name));
      }),
    })),
  };
}

/** What the pods confined to each node set ask, and what those nodes have free, per resource. */
export interface Demand {
  readonly nodes: readonly ClusterNode[];
  readonly workloads: readonly Workload[];
  readonly resource: Resource;
  readonly asked: number;
  readonly free: number;
}

export function demands(ws: readonly Workload[], target: Target, nodes: readonly ClusterNode[]): Demand[] {
  return groups(ws, target, nodes).groups.flatMap((grp) =>
    RESOURCES.map((resource) => ({
      nodes: grp.nodes,
      workloads: grp.workloads,
      resource,
      asked: grp.workloads.reduce((s, w) => s + w.replicas * amount(w.request, resource), 0),
      free: grp.nodes.reduce((s, n) => s + free(n, resource), 0),
    })),
  );
}

/** Per group and resource: only the overfull ones; pods too big for any of their nodes; pods with no node. */
function overfull(ws: readonly Workload[], target: Target, nodes: readonly ClusterNode[]) {
  const g = groups(ws, target, nodes);
  const over = demands(ws, target, nodes)
    .filter((d) => d.asked > d.free)
    .map((d) => ({ grp: d, res: d.resource, asked: d.asked, have: d.free }));
  // One pod bigger than every node it may use stays Pending whatever the sum says.
  const tooBig = g.groups.flatMap((grp) =>
    RESOURCES.flatMap((res) => {
      const biggest = Math.max(...grp.nodes.map((n) => free(n, res)));
      return grp.workloads.filter((w) => amount(w.request, res) > biggest).map((w) => ({ w, res, biggest }));
    }),
  );
  return { over, tooBig, nowhere: g.nowhere };
}

/** The largest value in (0, start] on a 0.01 grid for which `fits` holds (monotone), or undefined. */
function largestFitting(start: number, fits: (v: number) => boolean): number | undefined {
  if (!fits(0.01)) return undefined;
  let lo = 1;
  let hi = Math.round(start * 100);
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (fits(mid / 100)) lo = mid;
    else hi = mid - 1;
  }
  return lo / 100;
}

/**
 * Problems of a stack whose stage does not fit its cluster's nodes, each naming the nodes, what the
 * pods ask and what is free, with the fixes: the smallest change of `target.fit` (cpu, memory or
 * maxReplicas) that makes it fit, or a bigger node. `raw` must already validate (validateStack).
 */
export function checkClusterFit(stack: string, raw: RawStack, nodes: readonly ClusterNode[]): SpecProblem[] {
  const { model, target } = validateStack(stack, raw);
  if (target.kind !== "kubeconfig") return [];
  const fit: FitSpec = target.fit ?? { cpu: 1, memory: 1 };
  const { over, tooBig, nowhere } = overfull(model.workloads, target, nodes);
  const problems: SpecProblem[] = [];
  const fitNow = target.fit
    ? `(${Object.entries(target.fit)
        .map(([k, v]) => `${k}: ${v}`)
        .join(", ")}) leaves`
    : "is not set, so";
  const set = (path: (string | number)[], v: string | number) => setCommand(stack, "target", path, String(v));

  /** Whether `res` fits with another fit rule, derived by validateStack like the stack's own. */
  const fitsWith = (f: FitSpec, res: Resource) => {
    let ws: readonly Workload[];
    try {
      ws = validateStack(stack, { ...raw, target: { ...(raw.target as Record<string, unknown>), fit: f } }).model.workloads;
    } catch {
      return false; // that fit breaks another rule: not a fix to offer
    }
    const o = overfull(ws, target, nodes);
    return o.over.every((x) => x.res !== res) && o.tooBig.every((x) => x.res !== res);
  };

  for (const w of nowhere) {
    const p = placementFor(placementKeyOf(w), target);
    problems.push({
      key: "target",
      path: placementKeyOf(w) === "kong" ? ["placement", "kong"] : [],
      message:
        `leaves no schedulable node for ${w.name}'s pods (nodeSelector ${JSON.stringify(p.nodeSelector)}, ` +
        `tolerations ${JSON.stringify(p.tolerations.map((t) => t.key))}; nodes: ${describeNodes(nodes)}): they would stay Pending`,
      fix: "make the placement match a Ready node's labels and taints (kubectl get nodes --show-labels), or uncordon a node",
    });
  }

  for (const { grp, res, asked, have } of over) {
    const top = [...grp.workloads]
      .sort((a, b) => b.replicas * amount(b.request, res) - a.replicas * amount(a.request, res))
      .map((w) => `${w.name} ${w.replicas}×${show(amount(w.request, res), res).split(" ")[0]}`);
    const alloc = grp.nodes.reduce((s, n) => s + amount(n.allocatable, res), 0);
    const used = grp.nodes.reduce((s, n) => s + amount(n.used, res), 0);
    problems.push({
      key: "target",
      path: ["fit"],
      message:
        `${fitNow} stage ${model.spec.stage}'s pods ask${target.fit ? "ing" : ""} ${show(asked, res)} on ${nodeList(grp.nodes)}, which ` +
        `${grp.nodes.length > 1 ? "have" : "has"} ${show(have, res)} free (${show(alloc, res)} allocatable` +
        `${used > 0 ? `, ${show(used, res)} taken by pods of other namespaces` : ""}): ` +
        `some pods would stay Pending (${top.join(", ")})`,
      fix: fixes(res, grp.nodes, asked - have),
    });
  }
  for (const { w, res, biggest } of tooBig) {
    problems.push({
      key: "target",
      path: ["fit"],
      message: `${fitNow} one ${w.name} pod ${target.fit ? "asking" : "asks"} ${show(amount(w.request, res), res)}, more than any node it may use has free (${show(biggest, res)}): it would stay Pending`,
      fix: fixes(res, [], amount(w.request, res) - biggest),
    });
  }
  return problems;

  function fixes(res: Resource, on: readonly ClusterNode[], short: number): string {
    const out: string[] = [];
    const factor = largestFitting(fit[res], (v) => fitsWith({ ...fit, [res]: v }, res));
    if (factor !== undefined && factor < fit[res]) out.push(`lower the ${res} requests: ${set(["fit", res], factor)}`);
    const most = Math.max(1, ...model.workloads.map((w) => w.replicas));
    for (let m = Math.min(most, fit.maxReplicas ?? most) - 1; m >= 1; m--) {
      if (fitsWith({ ...fit, maxReplicas: m }, res)) {
        out.push(`cap the replicas: ${set(["fit", "maxReplicas"], m)}`);
        break;
      }
    }
    out.push(
      on.length
        ? `or a bigger node: ${show(short, res)} more allocatable on ${nodeList(on)}`
        : `or a node with at least ${show(short, res)} more allocatable`,
    );
    return out.join("; ");
  }
}

const nodeList = (ns: readonly ClusterNode[]) => (ns.length === 1 ? `node ${ns[0].name}` : `nodes ${ns.map((n) => n.name).join(", ")}`);

function describeNodes(nodes: readonly ClusterNode[]): string {
  if (nodes.length === 0) return "none";
  return nodes
    .map(
      (n) =>
        `${n.name}${n.schedulable ? "" : " (not schedulable)"}${n.taints.length ? ` tainted ${n.taints.map((t) => t.key).join(",")}` : ""}`,
    )
    .join("; ");
}
