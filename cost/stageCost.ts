/**
 * Estimated monthly cost of a stage on EKS: nodes from bin-packing, EBS gp3 for the data volumes and
 * the nodes' root disks, one NLB per LoadBalancer Service, and the EKS control plane. On-demand list
 * prices from prices.json; the pods at rest set the node count (the HPA peak is shown apart).
 */
import type { StageModel } from "../model/stage";
import { stageNodes } from "./binpack";
import { instanceSpec, PRICES, type Prices } from "./priceList";

export interface StageCost {
  readonly stage: string;
  readonly instanceType: string;
  readonly nodes: number;
  readonly nodesAtPeak: number;
  /** EBS GiB billed: data volumes plus one root volume per node. */
  readonly ebsGiB: number;
  readonly loadBalancers: number;
  /** Monthly USD, by line, each rounded to cents. */
  readonly nodesMonthly: number;
  readonly ebsMonthly: number;
  readonly loadBalancersMonthly: number;
  readonly controlPlaneMonthly: number;
  readonly totalMonthly: number;
  /** Monthly USD with every HPA at its maximum for the whole month: an upper bound. */
  readonly totalMonthlyAtPeak: number;
}

const cents = (x: number) => Math.round(x * 100) / 100;

export function stageCost(model: StageModel, instanceType: string, prices: Prices = PRICES): StageCost {
  const instance = instanceSpec(instanceType, prices);
  const nodes = stageNodes(model.workloads, instanceType, prices);
  const n = model.totals;
  const h = prices.hoursPerMonth;
  const nodeMonthly = (count: number) => count * instance.perHour * h;
  const ebsMonthly = (count: number) => (n.volumeGiB + count * prices.nodeRootVolumeGiB) * prices.ebsGp3PerGiBMonth;
  const lbMonthly = n.loadBalancers * (prices.nlbPerHour + prices.assumedNlbLcusPerLoadBalancer * prices.nlbLcuPerHour) * h;
  const controlPlane = prices.eksControlPlanePerHour * h;
  const total = (count: number) => nodeMonthly(count) + ebsMonthly(count) + lbMonthly + controlPlane;
  return {
    stage: model.spec.stage,
    instanceType,
    nodes: nodes.atRest,
    nodesAtPeak: nodes.atPeak,
    ebsGiB: n.volumeGiB + nodes.atRest * prices.nodeRootVolumeGiB,
    loadBalancers: n.loadBalancers,
    nodesMonthly: cents(nodeMonthly(nodes.atRest)),
    ebsMonthly: cents(ebsMonthly(nodes.atRest)),
    loadBalancersMonthly: cents(lbMonthly),
    controlPlaneMonthly: cents(controlPlane),
    totalMonthly: cents(total(nodes.atRest)),
    totalMonthlyAtPeak: cents(total(nodes.atPeak)),
  };
}
