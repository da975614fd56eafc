/**
 * Do a stage's pods fit on an EKS target's node groups? The packing itself is the cost model's
 * (cost/binpack.ts, first-fit decreasing after kubelet reservations and EKS DaemonSets), so the cost
 * report and this check count nodes the same way; this module only splits pods by workload class.
 */
import { binPack, EKS_SYSTEM_PODS, nodeCapacity, type NodeCapacity, type PodRequest } from "../cost/binpack";
import { instanceSpec, PRICES } from "../cost/priceList";
import type { Workload } from "../model/workloads";
import type { WorkloadClass } from "./eksDefaults";
import { LOAD_BALANCER_CONTROLLER_CHART } from "./eksSupport";

/** Instance types with known sizes: the price list's, so sizing and cost never disagree on a type. */
export const KNOWN_INSTANCE_TYPES: readonly string[] = Object.keys(PRICES.instances);

export function nodeCapacityOf(instanceType: string): NodeCapacity {
  return nodeCapacity(instanceSpec(instanceType));
}

/**
 * A node no larger than any of the given ones in any dimension: packing onto it never claims a fit
 * that mixed instance types could not deliver.
 */
export function weakestNode(capacities: readonly NodeCapacity[]): NodeCapacity {
  return {
    cpuMilli: Math.min(...capacities.map((c) => c.cpuMilli)),
    memoryMi: Math.min(...capacities.map((c) => c.memoryMi)),
    maxPods: Math.min(...capacities.map((c) => c.maxPods)),
  };
}

/** What one workload class must hold. */
export interface ClassDemand {
  /** Pods at rest (HPA minimums): what desiredSize must hold. */
  readonly rest: readonly PodRequest[];
  /** Pods at peak (HPA maximums): what maxSize must hold. */
  readonly peak: readonly PodRequest[];
  /** Nodes needed whatever the packing says: replicas of one thing belong on distinct nodes. */
  readonly minimumNodes: number;
  /** Names of the workloads counted, for the message. */
  readonly workloads: readonly string[];
}

const LBC_PODS: readonly PodRequest[] = Array.from({ length: LOAD_BALANCER_CONTROLLER_CHART.replicas }, () => ({
  ...LOAD_BALANCER_CONTROLLER_CHART.requests,
}));

/**
 * Splits the stage's pods by the class of node they run on. With `data` nodes the data tier goes there
 * (dataPlacement pins it); everything else, and the cluster's own add-ons (CoreDNS, the EBS CSI
 * controller, the load balancer controller), runs on `general` nodes because they do not tolerate
 * the data taint. Without `data` nodes, all of it is general.
 */
export function classDemands(ws: readonly Workload[], withDataNodes: boolean): Record<WorkloadClass, ClassDemand> {
  const empty = () => ({ rest: [] as PodRequest[], peak: [] as PodRequest[], minimumNodes: 0, workloads: [] as string[] });
  const out = { general: empty(), data: empty() };
  for (const w of ws) {
    const cls: WorkloadClass = withDataNodes && w.tier === "data" ? "data" : "general";
    const pod = w.request;
    out[cls].rest.push(...Array.from({ length: w.replicas }, () => pod));
    out[cls].peak.push(...Array.from({ length: w.peakReplicas }, () => pod));
    out[cls].workloads.push(w.name);
    // Members of a StatefulSet (etcd, replicas of MySQL) on one node would fall together.
    if (w.kind === "StatefulSet") out[cls].minimumNodes = Math.max(out[cls].minimumNodes, w.replicas);
  }
  const system = [...EKS_SYSTEM_PODS, ...LBC_PODS];
  out.general.rest.push(...system);
  out.general.peak.push(...system);
  // Two general nodes at least: one node loss must not take the edge, the app and CoreDNS down together.
  out.general.minimumNodes = Math.max(2, out.general.minimumNodes);
  return out;
}

/** Nodes of `node`'s size that hold `pods` (at least `minimum`). Throws when one pod fits no empty node. */
export function nodesNeeded(pods: readonly PodRequest[], node: NodeCapacity, minimum: number): number {
  return Math.max(minimum, pods.length === 0 ? 0 : binPack(pods, node));
}
