/**
 * EKS facts the rest of Stagecraft reads as data: the node label and taint that keep the data tier
 * on its own nodes, and how a data-tier pod is placed. Pure and free of @pulumi/aws. (The NLB
 * annotations are the target schema's default: spec/target.ts.)
 */
import type { Target } from "../spec/target";

/** Node label that names a node's workload class (`general` or `data`); set on every managed node group. */
export const WORKLOAD_CLASS_LABEL = "stagecraft.dev/workload-class";

export type WorkloadClass = "general" | "data";

/** The taint on `data` nodes, in Kubernetes' spelling. Only pods that tolerate it (the data tier) land there. */
export const DATA_TAINT = Object.freeze({ key: WORKLOAD_CLASS_LABEL, value: "data", effect: "NoSchedule" } as const);

/** The same taint as the EKS API spells it on a managed node group. */
export const DATA_TAINT_EKS = Object.freeze({ key: DATA_TAINT.key, value: DATA_TAINT.value, effect: "NO_SCHEDULE" } as const);

/** The toleration a data-tier pod (MySQL, Redis, etcd) carries so it may run on `data` nodes. */
export const DATA_TOLERATION = Object.freeze({
  key: DATA_TAINT.key,
  operator: "Equal",
  value: DATA_TAINT.value,
  effect: DATA_TAINT.effect,
} as const);

/** Where a data-tier pod goes: a node selector (only when `data` nodes exist) and the toleration. */
export interface DataPlacement {
  readonly nodeSelector?: Readonly<Record<string, string>>;
  readonly tolerations: readonly (typeof DATA_TOLERATION)[];
}

/** True when the target runs EKS with at least one `data` node group (tainted nodes for the data tier). */
export function hasDataNodes(target: Target): boolean {
  return target.kind === "eks" && target.nodeGroups.some((g) => g.workloadClass === "data");
}

/**
 * Scheduling for the data tier. With `data` node groups the pods are pinned there (the selector) and
 * allowed in (the toleration); the capacity check in targetRules counts them there. Elsewhere the
 * toleration alone is harmless: no node carries the taint, so the pods go anywhere.
 */
export function dataPlacement(target: Target): DataPlacement {
  return hasDataNodes(target)
    ? { nodeSelector: { [WORKLOAD_CLASS_LABEL]: "data" }, tolerations: [DATA_TOLERATION] }
    : { tolerations: [DATA_TOLERATION] };
}

/** The EKS cluster's name for a stack: also the value of the subnets' `kubernetes.io/cluster/<name>` tag. */
export const eksClusterName = (stack: string) => `stagecraft-${stack}`;

/**
 * Namespace label that makes the load balancer controller add a readiness gate to pods behind an
 * `ip`-target NLB: a rolling update then waits until the NLB reports the new pod healthy, so no
 * request goes to a target still registering. The namespace owner sets it on EKS.
 */
export const LBC_READINESS_GATE_LABEL = { "elbv2.k8s.aws/pod-readiness-gate-inject": "enabled" } as const;

/**
 * The EKS-optimised AMI for an instance type: Graviton families (a `g` after the generation digit:
 * m7g, c6gn, r8g, t4g, x2gd) need the ARM image; g4dn and the like are x86 GPUs and do not match.
 */
export function amiTypeFor(instanceType: string): "AL2023_ARM_64_STANDARD" | "AL2023_x86_64_STANDARD" {
  return /^[a-z]+\d+[a-z]*g[a-z]*\./.test(instanceType) ? "AL2023_ARM_64_STANDARD" : "AL2023_x86_64_STANDARD";
}
