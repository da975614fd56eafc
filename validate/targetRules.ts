/**
 * Cross-field rules for a stack's target: what the schema cannot say about one field alone, and
 * what needs the stage too (do the stage's pods fit the node groups?). Pure: stage model and target
 * in, problems with their fix out, before any resource is registered.
 */
import type { PodRequest } from "../cost/binpack";
import { classDemands, KNOWN_INSTANCE_TYPES, nodeCapacityOf, nodesNeeded, weakestNode } from "../aws/eksCapacity";
import type { WorkloadClass } from "../aws/eksDefaults";
import { formatCidr, isNetworkAddress, isPrivateRange, MAX_ZONES, parseCidr, VPC_PREFIX } from "../aws/eksNetwork";
import { EKS_REGIONS, EKS_SUPPORT_CHECKED, EKS_VERSION_WINDOW, versionInWindow } from "../aws/eksSupport";
import { setCommand, type SpecProblem } from "../spec/errors";
import { nearest } from "./nearest";
import type { Workload } from "../model/workloads";
import type { StageModel } from "../model/stage";
import type { EksTargetSpec, Target } from "../spec/target";

type Path = (string | number)[];

/** Rules for an EKS target; other targets have none here (they create no cloud resources). */
export function checkEksTarget(stack: string, model: StageModel, target: Target): SpecProblem[] {
  if (target.kind !== "eks") return [];
  const problems: SpecProblem[] = [];
  const add = (path: Path, message: string, fix: string) => problems.push({ key: "target", path, message, fix });
  const set = (path: Path, value: string | number) => setCommand(stack, "target", path, String(value));

  if (!EKS_REGIONS.includes(target.region))
    add(
      ["region"],
      `'${target.region}' is not a region Stagecraft knows to offer EKS (list checked ${EKS_SUPPORT_CHECKED}; ` +
        "GovCloud and China are left out: their ARNs differ)",
      `${set(["region"], nearest(target.region, EKS_REGIONS))}, or add the region to EKS_REGIONS in aws/eksSupport.ts`,
    );

  if (!versionInWindow(target.kubernetesVersion))
    add(
      ["kubernetesVersion"],
      `'${target.kubernetesVersion}' is outside the supported window ${EKS_VERSION_WINDOW.oldest}–${EKS_VERSION_WINDOW.newest} ` +
        `(checked ${EKS_SUPPORT_CHECKED}): older versions are past EKS support (forced upgrades, extended-support fees), ` +
        "newer ones are untested with the pinned add-ons",
      set(["kubernetesVersion"], EKS_VERSION_WINDOW.newest),
    );

  checkVpc(target, add, set);
  const groupsOk = checkNodeGroups(model.workloads, target, add, set);
  if (groupsOk) checkCapacity(model.workloads, target, add, set);
  return problems;
}

/** The type a missing general group is suggested with: 4 vCPU, 16 GiB holds every stage's largest pod. */
const SUGGESTED_GENERAL_TYPE = "m6i.xlarge";

/** Nodes a new general group of SUGGESTED_GENERAL_TYPE needs beside data groups (2 and 4 if a pod cannot fit it). */
function generalGroupSize(ws: readonly Workload[]): { rest: number; peak: number } {
  const demand = classDemands(ws, true).general;
  const node = nodeCapacityOf(SUGGESTED_GENERAL_TYPE);
  try {
    return { rest: nodesNeeded(demand.rest, node, demand.minimumNodes), peak: nodesNeeded(demand.peak, node, demand.minimumNodes) };
  } catch {
    return { rest: 2, peak: 4 };
  }
}

type Add = (path: Path, message: string, fix: string) => void;
type Set = (path: Path, value: string | number) => string;

function checkVpc(target: EksTargetSpec, add: Add, set: Set): void {
  const cidr = parseCidr(target.vpcCidr);
  if (!cidr) {
    add(["vpcCidr"], `'${target.vpcCidr}' is not an IPv4 CIDR (octets 0-255)`, set(["vpcCidr"], "10.40.0.0/16"));
    return;
  }
  if (cidr.prefix < VPC_PREFIX.largest || cidr.prefix > VPC_PREFIX.smallest)
    add(
      ["vpcCidr"],
      `has prefix /${cidr.prefix}, outside /${VPC_PREFIX.largest}../${VPC_PREFIX.smallest}: AWS allows no VPC larger than /16, and ` +
        `below /${VPC_PREFIX.smallest} each zone's private subnet runs out of pod addresses (every pod takes a VPC IP)`,
      set(["vpcCidr"], "10.40.0.0/16"),
    );
  else if (!isNetworkAddress(cidr))
    add(
      ["vpcCidr"],
      `'${target.vpcCidr}' has host bits set below the /${cidr.prefix} prefix`,
      set(["vpcCidr"], formatCidr({ base: cidr.base - (cidr.base % 2 ** (32 - cidr.prefix)), prefix: cidr.prefix })),
    );
  if (!isPrivateRange(cidr))
    add(
      ["vpcCidr"],
      `'${target.vpcCidr}' is not in a private range (10/8, 172.16/12, 192.168/16): a public range inside the VPC ` +
        "hides the real internet addresses it overlaps from every pod behind the NAT",
      set(["vpcCidr"], "10.40.0.0/16"),
    );
  if (target.availabilityZones > MAX_ZONES)
    add(["availabilityZones"], `must be at most ${MAX_ZONES} (the address plan)`, set(["availabilityZones"], MAX_ZONES));
}

/** Checks names, types and classes; false when sizing them would be meaningless. */
function checkNodeGroups(ws: readonly Workload[], target: EksTargetSpec, add: Add, set: Set): boolean {
  let ok = true;
  const seen = new Map<string, number>();
  target.nodeGroups.forEach((g, i) => {
    const prior = seen.get(g.name);
    if (prior !== undefined)
      add(
        ["nodeGroups", i, "name"],
        `'${g.name}' is already the name of nodeGroups[${prior}]: each group becomes its own Pulumi resource named from it`,
        set(["nodeGroups", i, "name"], `${g.name}-2`),
      );
    else seen.set(g.name, i);
    if (!KNOWN_INSTANCE_TYPES.includes(g.instanceType)) {
      ok = false;
      add(
        ["nodeGroups", i, "instanceType"],
        `'${g.instanceType}' has no known vCPU, memory and pod limit, so the stage's pods cannot be sized against it ` +
          `(known: ${KNOWN_INSTANCE_TYPES.join(", ")})`,
        `${set(["nodeGroups", i, "instanceType"], nearest(g.instanceType, KNOWN_INSTANCE_TYPES))}, or add the type to cost/prices.json`,
      );
    }
    if (g.workloadClass === "data" && g.minSize < target.availabilityZones)
      add(
        ["nodeGroups", i, "minSize"],
        `is ${g.minSize} for a 'data' group over ${target.availabilityZones} zones: an EBS volume lives in one zone, so a ` +
          "data node must stay in every zone or a replaced node can leave MySQL or Redis unschedulable",
        set(["nodeGroups", i, "minSize"], target.availabilityZones) +
          (g.desiredSize < target.availabilityZones ? ` && ${set(["nodeGroups", i, "desiredSize"], target.availabilityZones)}` : "") +
          (g.maxSize < target.availabilityZones ? ` && ${set(["nodeGroups", i, "maxSize"], target.availabilityZones)}` : ""),
      );
  });
  if (!target.nodeGroups.some((g) => g.workloadClass === "general")) {
    ok = false;
    const at = target.nodeGroups.length;
    const size = generalGroupSize(ws);
    add(
      ["nodeGroups"],
      "has no 'general' group: 'data' nodes are tainted, so the edge, the app tier and the cluster's add-ons (CoreDNS, " +
        "the EBS CSI controller, the load balancer controller) would have nowhere to run",
      [
        set(["nodeGroups", at, "name"], "general"),
        set(["nodeGroups", at, "instanceType"], SUGGESTED_GENERAL_TYPE),
        set(["nodeGroups", at, "minSize"], size.rest),
        set(["nodeGroups", at, "desiredSize"], size.rest),
        set(["nodeGroups", at, "maxSize"], size.peak),
      ].join(" && "),
    );
  }
  return ok;
}

/**
 * Each class's node groups must hold its pods: at rest on desiredSize nodes, at peak (every HPA at its
 * maximum) on maxSize nodes. Mixed instance types in one class are sized as their weakest member.
 */
function checkCapacity(ws: readonly Workload[], target: EksTargetSpec, add: Add, set: Set): void {
  const withData = target.nodeGroups.some((g) => g.workloadClass === "data");
  const demands = classDemands(ws, withData);
  const classes: WorkloadClass[] = withData ? ["general", "data"] : ["general"];
  for (const cls of classes) {
    const groups = target.nodeGroups.map((g, index) => ({ ...g, index })).filter((g) => g.workloadClass === cls);
    const demand = demands[cls];
    const node = weakestNode(groups.map((g) => nodeCapacityOf(g.instanceType)));
    const first = groups[0];
    let need: { rest: number; peak: number };
    try {
      need = { rest: nodesNeeded(demand.rest, node, demand.minimumNodes), peak: nodesNeeded(demand.peak, node, demand.minimumNodes) };
    } catch (e) {
      add(
        ["nodeGroups", first.index, "instanceType"],
        `is too small for the '${cls}' pods: ${(e as Error).message}`,
        set(["nodeGroups", first.index, "instanceType"], smallestTypeFor(demand.peak) ?? "<a larger instance type>"),
      );
      continue;
    }
    const have = { rest: sum(groups.map((g) => g.desiredSize)), peak: sum(groups.map((g) => g.maxSize)) };
    const names = cls === "general" ? [...demand.workloads, "cluster add-ons"] : demand.workloads;
    const what = `the '${cls}' pods (${names.join(", ")})`;
    const size = `${node.cpuMilli}m CPU, ${node.memoryMi}Mi memory and ${node.maxPods} pods allocatable per node`;
    // One target size per field, so the two fixes agree whichever is applied first.
    const desired = first.desiredSize + Math.max(0, need.rest - have.rest);
    const max = Math.max(desired, first.maxSize + Math.max(0, need.peak - have.peak));
    const setMax = max > first.maxSize ? ` && ${set(["nodeGroups", first.index, "maxSize"], max)}` : "";
    if (have.rest < need.rest)
      add(
        ["nodeGroups", first.index, "desiredSize"],
        `gives ${have.rest} '${cls}' nodes at rest, but ${what} need ${need.rest} at ${size}`,
        set(["nodeGroups", first.index, "desiredSize"], desired) + setMax,
      );
    if (have.peak < need.peak)
      add(
        ["nodeGroups", first.index, "maxSize"],
        `gives ${have.peak} '${cls}' nodes at peak (every HPA at its maximum), but ${what} need ${need.peak} at ${size}`,
        set(["nodeGroups", first.index, "maxSize"], max),
      );
  }
}

/** The smallest known instance type on which every one of the pods fits an empty node. */
function smallestTypeFor(pods: readonly PodRequest[]): string | undefined {
  const fits = KNOWN_INSTANCE_TYPES.map((t) => ({ t, c: nodeCapacityOf(t) })).filter(({ c }) =>
    pods.every((p) => p.cpuMilli <= c.cpuMilli && p.memoryMi <= c.memoryMi),
  );
  return fits.sort((a, b) => a.c.cpuMilli - b.c.cpuMilli || a.c.memoryMi - b.c.memoryMi)[0]?.t;
}

const sum = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0);
