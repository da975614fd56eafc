/**
 * What AWS offers that Stagecraft relies on, kept as data with the date it was checked, so a stale
 * entry is an edit here rather than a hunt through code: regions, the Kubernetes version window,
 * zones the EKS control plane refuses, and the pinned AWS Load Balancer Controller chart.
 */

/** When the lists below were last checked against AWS's published pages (no live AWS access here). */
export const EKS_SUPPORT_CHECKED = "2026-11-24";

/**
 * Commercial-partition regions with EKS. GovCloud and China are left out on purpose: the component
 * builds `arn:aws:` ARNs and uses the `sts.amazonaws.com` audience, which differ in those partitions.
 */
export const EKS_REGIONS: readonly string[] = [
  "us-east-1",
  "us-east-2",
  "us-west-1",
  "us-west-2",
  "ca-central-1",
  "ca-west-1",
  "mx-central-1",
  "sa-east-1",
  "eu-central-1",
  "eu-central-2",
  "eu-west-1",
  "eu-west-2",
  "eu-west-3",
  "eu-south-1",
  "eu-south-2",
  "eu-north-1",
  "il-central-1",
  "me-south-1",
  "me-central-1",
  "af-south-1",
  "ap-east-1",
  "ap-east-2",
  "ap-south-1",
  "ap-south-2",
  "ap-northeast-1",
  "ap-northeast-2",
  "ap-northeast-3",
  "ap-southeast-1",
  "ap-southeast-2",
  "ap-southeast-3",
  "ap-southeast-4",
  "ap-southeast-5",
  "ap-southeast-6",
  "ap-southeast-7",
];

/**
 * Kubernetes minor versions a new cluster may pin, inclusive. Checked on EKS_SUPPORT_CHECKED against
 * the EKS release calendar: 1.31's extended support ends 2026-11-26 (a new cluster would be force-
 * upgraded within days), 1.32 and 1.33 are in paid extended support until 2027-03-23 and 2027-07-29,
 * 1.34 leaves standard support on 2026-12-02, 1.35 and 1.36 are in standard support. Newer minors
 * are out until someone checks that the EBS CSI add-on and the controller chart below support them.
 */
export const EKS_VERSION_WINDOW = { oldest: "1.32", newest: "1.36" } as const;

/** Minor number of '1.33' (33), for comparing versions as numbers rather than strings. */
export function minorOf(version: string): number {
  const m = /^1\.(\d+)$/.exec(version);
  if (!m) throw new Error(`not a Kubernetes 1.x minor version: ${version}`);
  return Number(m[1]);
}

export function versionInWindow(version: string): boolean {
  const v = minorOf(version);
  return v >= minorOf(EKS_VERSION_WINDOW.oldest) && v <= minorOf(EKS_VERSION_WINDOW.newest);
}

/**
 * Zone IDs whose capacity EKS refuses for a control plane (UnsupportedAvailabilityZoneException).
 * IDs, not names: `us-east-1e` maps to a different physical zone in each account.
 */
export const EKS_UNSUPPORTED_ZONE_IDS: readonly string[] = ["use1-az3", "usw1-az2", "cac1-az3"];

/**
 * The AWS Load Balancer Controller, which reconciles the `external` NLB annotations. Pinned to chart
 * 1.16.0 (controller v2.16.0, November 2025); v2.17 and the v3 line exist and are adopted after
 * reading their upgrade notes, never by a floating version.
 */
export const LOAD_BALANCER_CONTROLLER_CHART = {
  repo: "https://aws.github.io/eks-charts",
  chart: "aws-load-balancer-controller",
  version: "1.16.0",
  namespace: "kube-system",
  serviceAccount: "aws-load-balancer-controller",
  /** Two replicas (leader election): Services still reconcile while one node drains. */
  replicas: 2,
  /** Requests set in the chart values (its default sets none) and counted by the node-group capacity check. */
  requests: { cpuMilli: 100, memoryMi: 128 },
} as const;

/** The EBS CSI driver's controller ServiceAccount, which the add-on creates and the IRSA role trusts. */
export const EBS_CSI_SERVICE_ACCOUNT = { namespace: "kube-system", name: "ebs-csi-controller-sa" } as const;
