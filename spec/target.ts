/**
 * Where a stack runs: the environment half of a stack's config (`stagecraft:target`).
 * A stage move swaps `stagecraft:spec` and keeps this untouched.
 */
import { z } from "zod";
import { DNS_LABEL } from "./schema";
import { Fit } from "./fit";

/**
 * What an EKS target gives every LoadBalancer Service (nginx, kong) when the stack names none:
 * `external` hands the Service to the AWS Load Balancer Controller (the in-tree controller skips it),
 * `ip` targets register pod IPs directly (no NodePort hop, and nodes can drain without the NLB
 * noticing), `internet-facing` places the NLB in the public subnets.
 */
export const NLB_ANNOTATIONS: Readonly<Record<string, string>> = Object.freeze({
  "service.beta.kubernetes.io/aws-load-balancer-type": "external",
  "service.beta.kubernetes.io/aws-load-balancer-nlb-target-type": "ip",
  "service.beta.kubernetes.io/aws-load-balancer-scheme": "internet-facing",
});

const namespace = z.string().regex(DNS_LABEL, "must be a DNS label").default("stagecraft");
/** Annotations every LoadBalancer Service gets (e.g. AWS NLB ones on EKS, none locally). */
const lbAnnotations = z.record(z.string()).default({});

const RenderTarget = z
  .object({
    kind: z.literal("render"),
    namespace,
    /** Folder the provider writes manifests to; the stage's name is appended. */
    directory: z.string().default("rendered"),
    loadBalancerAnnotations: lbAnnotations,
  })
  .strict();

const Toleration = z
  .object({
    key: z.string().min(1),
    operator: z.enum(["Equal", "Exists"]).default("Equal"),
    value: z.string().optional(),
    effect: z.enum(["NoSchedule", "PreferNoSchedule", "NoExecute"]).optional(),
  })
  .strict();

/** Where a workload's pods go: node labels they need and taints they accept. */
export const Placement = z
  .object({
    nodeSelector: z.record(z.string()).default({}),
    tolerations: z.array(Toleration).default([]),
  })
  .strict();
export type PlacementSpec = z.infer<typeof Placement>;

/**
 * Per-workload placement a cluster needs. `kong`: Kong Gateway has no image that runs on the local
 * cluster's real node (not in Debian, not a Go module), so local stacks place it on the nodes that
 * run no containers (KWOK: `type: kwok`, tainted `stagecraft.local/fake`); never faked by another image.
 */
const Placements = z.object({ kong: Placement.optional() }).strict().default({});

const KubeconfigTarget = z
  .object({
    kind: z.literal("kubeconfig"),
    namespace,
    /** Path of a kubeconfig file; empty means the ambient one ($KUBECONFIG or ~/.kube/config). */
    kubeconfig: z.string().optional(),
    context: z.string().optional(),
    loadBalancerAnnotations: lbAnnotations,
    /** Shrinks any stage onto a small cluster (spec/fit.ts): kept by every stage move. */
    fit: Fit.optional(),
    placement: Placements,
  })
  .strict();

const NodeGroup = z
  .object({
    name: z.string().regex(DNS_LABEL, "must be a DNS label"),
    instanceType: z
      .string()
      .regex(
        /^[a-z][a-z0-9-]*\d[a-z0-9-]*\.(nano|micro|small|medium|large|\d*xlarge|metal)$/,
        "must be an EC2 instance type such as 'm6i.large'",
      ),
    minSize: z.number().int().min(1),
    desiredSize: z.number().int().min(1),
    maxSize: z.number().int().min(1),
    /** Workload class: `data` nodes are tainted so only the data tier lands there. */
    workloadClass: z.enum(["general", "data"]).default("general"),
  })
  .strict()
  .refine((g) => g.minSize <= g.desiredSize && g.desiredSize <= g.maxSize, {
    message: "needs minSize <= desiredSize <= maxSize",
  });

const EksTarget = z
  .object({
    kind: z.literal("eks"),
    namespace,
    region: z.string().regex(/^[a-z]{2}(-gov)?-[a-z]+-\d$/, "must be an AWS region such as 'eu-west-1'"),
    kubernetesVersion: z.string().regex(/^1\.\d{2}$/, "must be a Kubernetes minor version such as '1.33'"),
    availabilityZones: z.number().int().min(2, "needs at least 2 availability zones").max(6).default(2),
    vpcCidr: z
      .string()
      .regex(/^\d+\.\d+\.\d+\.\d+\/\d+$/, "must be a CIDR")
      .default("10.40.0.0/16"),
    nodeGroups: z.array(NodeGroup).min(1),
    /** Absent means the AWS NLB set (the load balancer controller's); given means exactly those, `{}` included. */
    loadBalancerAnnotations: z.record(z.string()).default(() => ({ ...NLB_ANNOTATIONS })),
  })
  .strict();

export const Target = z.discriminatedUnion("kind", [RenderTarget, KubeconfigTarget, EksTarget]);
export type Target = z.infer<typeof Target>;
export type EksTargetSpec = z.infer<typeof EksTarget>;
