/**
 * How many EKS nodes a stage needs: its pods' requests packed onto one instance type, first-fit
 * decreasing, after what the kubelet reserves and what EKS itself runs on every node.
 * Pure: the EKS capacity check (aws/eksCapacity.ts) packs with `binPack` too, so the cost report
 * and the node-group sizing count nodes the same way.
 */
import type { PodRequest, Workload } from "../model/workloads";
import { instanceSpec, PRICES, type InstanceSpec, type Prices } from "./priceList";

export type { PodRequest };

/** What one node offers to pods. */
export interface NodeCapacity {
  readonly cpuMilli: number;
  readonly memoryMi: number;
  readonly maxPods: number;
}

/** DaemonSets EKS runs on every node (their default requests): VPC CNI, kube-proxy, EBS CSI node plugin. */
export const EKS_DAEMONSETS: readonly (PodRequest & { name: string })[] = [
  { name: "aws-node", cpuMilli: 25, memoryMi: 0 },
  { name: "kube-proxy", cpuMilli: 100, memoryMi: 0 },
  { name: "ebs-csi-node", cpuMilli: 30, memoryMi: 120 },
];

/** Cluster add-on pods that need a place like any workload: CoreDNS and the EBS CSI controller, two each. */
export const EKS_SYSTEM_PODS: readonly (PodRequest & { name: string })[] = [
  { name: "coredns", cpuMilli: 100, memoryMi: 70 },
  { name: "coredns", cpuMilli: 100, memoryMi: 70 },
  { name: "ebs-csi-controller", cpuMilli: 60, memoryMi: 240 },
  { name: "ebs-csi-controller", cpuMilli: 60, memoryMi: 240 },
];

/** Hard eviction threshold the EKS AMI sets (memory.available<100Mi): memory pods can never use. */
export const EVICTION_MEMORY_MI = 100;

/** kube-reserved CPU as the EKS AMI computes it: 6% of the first core, 1% of the second, 0.5% of the next two, 0.25% above. */
export function kubeReservedCpuMilli(vcpu: number): number {
  const tiers: [number, number][] = [
    [1, 0.06],
    [1, 0.01],
    [2, 0.005],
    [Infinity, 0.0025],
  ];
  let left = vcpu;
  let reserved = 0;
  for (const [cores, share] of tiers) {
    const n = Math.min(left, cores);
    reserved += n * 1000 * share;
    left -= n;
  }
  return Math.round(reserved);
}

/** kube-reserved memory as the EKS AMI computes it: 255Mi plus 11Mi per pod the node may run. */
export function kubeReservedMemoryMi(maxPods: number): number {
  return 255 + 11 * maxPods;
}

/** What a node of this type offers to the stage's pods: allocatable minus the per-node DaemonSets. */
export function nodeCapacity(instance: InstanceSpec): NodeCapacity {
  const ds = EKS_DAEMONSETS.reduce((a, d) => ({ cpu: a.cpu + d.cpuMilli, mem: a.mem + d.memoryMi }), { cpu: 0, mem: 0 });
  return {
    cpuMilli: instance.vcpu * 1000 - kubeReservedCpuMilli(instance.vcpu) - ds.cpu,
    memoryMi: instance.memoryGiB * 1024 - kubeReservedMemoryMi(instance.maxPods) - EVICTION_MEMORY_MI - ds.mem,
    maxPods: instance.maxPods - EKS_DAEMONSETS.length,
  };
}

/**
 * First-fit decreasing: pods sorted by their largest share of a node (CPU or memory), each put on
 * the first node with room for it. Returns each node's pods (indexes into `pods`). Throws for a pod
 * no empty node can hold, since no node count would place it.
 */
export function packNodes(pods: readonly PodRequest[], node: NodeCapacity): number[][] {
  if (node.maxPods < 1 || node.cpuMilli <= 0 || node.memoryMi <= 0) throw new Error("a node with no room for pods cannot place any");
  const share = (p: PodRequest) => Math.max(p.cpuMilli / node.cpuMilli, p.memoryMi / node.memoryMi);
  const order = pods
    .map((_p, i) => i)
    .sort((a, b) => share(pods[b]) - share(pods[a]) || pods[b].cpuMilli - pods[a].cpuMilli || pods[b].memoryMi - pods[a].memoryMi || a - b);
  const nodes: { cpu: number; mem: number; pods: number[] }[] = [];
  for (const i of order) {
    const p = pods[i];
    if (p.cpuMilli > node.cpuMilli || p.memoryMi > node.memoryMi)
      throw new Error(
        `a pod requesting ${p.cpuMilli}m CPU and ${p.memoryMi}Mi memory does not fit on an empty node ` +
          `(${node.cpuMilli}m, ${node.memoryMi}Mi allocatable): choose a larger instance type`,
      );
    const fit = nodes.find(
      (n) => n.cpu + p.cpuMilli <= node.cpuMilli && n.mem + p.memoryMi <= node.memoryMi && n.pods.length < node.maxPods,
    );
    if (fit) {
      fit.cpu += p.cpuMilli;
      fit.mem += p.memoryMi;
      fit.pods.push(i);
    } else nodes.push({ cpu: p.cpuMilli, mem: p.memoryMi, pods: [i] });
  }
  return nodes.map((n) => n.pods);
}

/** Nodes needed to place every pod (first-fit decreasing, see packNodes). */
export function binPack(pods: readonly PodRequest[], node: NodeCapacity): number {
  return packNodes(pods, node).length;
}

/** One request per pod the stage runs, at rest or at peak (every HPA at its maximum). */
export function stagePods(ws: readonly Workload[], at: "rest" | "peak"): PodRequest[] {
  return ws.flatMap((w) => Array.from({ length: at === "rest" ? w.replicas : w.peakReplicas }, () => w.request));
}

export interface StageNodes {
  readonly instanceType: string;
  readonly capacity: NodeCapacity;
  /** Nodes for the pods at rest (what the node group's desired size should be). */
  readonly atRest: number;
  /** Nodes for the pods at peak, every HPA at its maximum (what the node group's max size should be). */
  readonly atPeak: number;
  /** The floor applied to both: see `minimumNodes`. */
  readonly minimum: number;
}

/**
 * Never fewer than two nodes (one node loss must not stop the stage), nor fewer than the members of
 * the largest StatefulSet: replicas of a database or of etcd belong on distinct nodes, or one node
 * loss takes several of them (etcd loses quorum).
 */
export function minimumNodes(ws: readonly Workload[]): number {
  return Math.max(2, ...ws.map((w) => (w.kind === "StatefulSet" ? w.replicas : 0)));
}

export function stageNodes(ws: readonly Workload[], instanceType: string, prices: Prices = PRICES): StageNodes {
  const capacity = nodeCapacity(instanceSpec(instanceType, prices));
  const minimum = minimumNodes(ws);
  const count = (at: "rest" | "peak") => Math.max(minimum, binPack([...stagePods(ws, at), ...EKS_SYSTEM_PODS], capacity));
  return { instanceType, capacity, atRest: count("rest"), atPeak: count("peak"), minimum };
}
