/**
 * IAM documents for the EKS component, as pure functions returning JSON text: who may assume each
 * role, and what the AWS Load Balancer Controller may do. Kept apart so tests read them as data.
 */

/** AWS-managed policies by name. ARNs are for the `aws` partition (see EKS_REGIONS for why only that one). */
export const MANAGED_POLICY = {
  cluster: "arn:aws:iam::aws:policy/AmazonEKSClusterPolicy",
  workerNode: "arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy",
  cni: "arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy",
  ecrRead: "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly",
  ebsCsi: "arn:aws:iam::aws:policy/service-role/AmazonEBSCSIDriverPolicy",
} as const;

/** Audience the EKS pod identity webhook puts in projected ServiceAccount tokens. */
export const STS_AUDIENCE = "sts.amazonaws.com";

interface Statement {
  Sid?: string;
  Effect: "Allow";
  Principal?: Record<string, string>;
  Action: string | string[];
  Resource?: string | string[];
  Condition?: Record<string, Record<string, string | string[]>>;
}

const doc = (Statement: Statement[]) => JSON.stringify({ Version: "2012-10-17", Statement });

/** A role an AWS service assumes (EKS for the control plane, EC2 for nodes). */
export function serviceTrustPolicy(service: "eks.amazonaws.com" | "ec2.amazonaws.com"): string {
  return doc([{ Effect: "Allow", Principal: { Service: service }, Action: "sts:AssumeRole" }]);
}

/** `system:serviceaccount:<namespace>:<name>`: the subject Kubernetes writes into a ServiceAccount token. */
export const serviceAccountSubject = (namespace: string, serviceAccount: string) => `system:serviceaccount:${namespace}:${serviceAccount}`;

/**
 * IRSA trust: only tokens the cluster's OIDC issuer signed for exactly this ServiceAccount, and meant
 * for STS, may assume the role. Both conditions use StringEquals: a wildcard subject would let any
 * pod in the namespace (or cluster) borrow the role.
 */
export function irsaTrustPolicy(oidcProviderArn: string, issuerUrl: string, namespace: string, serviceAccount: string): string {
  const issuer = issuerUrl.replace(/^https:\/\//, "");
  return doc([
    {
      Effect: "Allow",
      Principal: { Federated: oidcProviderArn },
      Action: "sts:AssumeRoleWithWebIdentity",
      Condition: {
        StringEquals: { [`${issuer}:sub`]: serviceAccountSubject(namespace, serviceAccount), [`${issuer}:aud`]: STS_AUDIENCE },
      },
    },
  ]);
}

/** Tag the controller puts on every ELB, target group and security group it creates; the value is the cluster name. */
export const LBC_CLUSTER_TAG = "elbv2.k8s.aws/cluster";

/**
 * What the AWS Load Balancer Controller needs to run NLBs for Services, written for this project
 * (no ALB/Ingress, WAF, Shield or ACM actions, since Stagecraft only creates NLBs). Mutations are
 * limited to resources tagged with this cluster's name, so two clusters in one account cannot touch
 * each other's load balancers. Read actions stay `*`: Describe calls take no resource ARNs.
 * Proven against mocks only; a first real run should watch the controller log for AccessDenied.
 */
export function loadBalancerControllerPolicy(clusterName: string): string {
  const ownedBy = { StringEquals: { [`aws:ResourceTag/${LBC_CLUSTER_TAG}`]: clusterName } };
  const requestedFor = { StringEquals: { [`aws:RequestTag/${LBC_CLUSTER_TAG}`]: clusterName } };
  const elb = (kind: string) => `arn:aws:elasticloadbalancing:*:*:${kind}`;
  return doc([
    {
      Sid: "ElbServiceLinkedRole",
      Effect: "Allow",
      Action: "iam:CreateServiceLinkedRole",
      Resource: "*",
      Condition: { StringEquals: { "iam:AWSServiceName": "elasticloadbalancing.amazonaws.com" } },
    },
    {
      Sid: "Read",
      Effect: "Allow",
      Action: ["ec2:Describe*", "ec2:GetSecurityGroupsForVpc", "elasticloadbalancing:Describe*"],
      Resource: "*",
    },
    {
      Sid: "CreateSecurityGroups",
      Effect: "Allow",
      Action: "ec2:CreateSecurityGroup",
      Resource: "*",
    },
    {
      Sid: "TagSecurityGroupsOnCreate",
      Effect: "Allow",
      Action: "ec2:CreateTags",
      Resource: "arn:aws:ec2:*:*:security-group/*",
      Condition: { StringEquals: { "ec2:CreateAction": "CreateSecurityGroup", [`aws:RequestTag/${LBC_CLUSTER_TAG}`]: clusterName } },
    },
    {
      Sid: "ManageOwnSecurityGroups",
      Effect: "Allow",
      Action: ["ec2:DeleteSecurityGroup", "ec2:CreateTags", "ec2:DeleteTags"],
      Resource: "arn:aws:ec2:*:*:security-group/*",
      Condition: ownedBy,
    },
    {
      // The node/cluster security group is EKS's, not the controller's: it gains and loses the rule that
      // lets the NLB reach pod IPs, so these two cannot be limited by the controller's tag.
      Sid: "OpenNodesToLoadBalancers",
      Effect: "Allow",
      Action: ["ec2:AuthorizeSecurityGroupIngress", "ec2:RevokeSecurityGroupIngress"],
      Resource: "*",
    },
    {
      Sid: "CreateLoadBalancers",
      Effect: "Allow",
      Action: ["elasticloadbalancing:CreateLoadBalancer", "elasticloadbalancing:CreateTargetGroup"],
      Resource: "*",
      Condition: requestedFor,
    },
    {
      Sid: "TagOnCreate",
      Effect: "Allow",
      Action: "elasticloadbalancing:AddTags",
      Resource: [elb("loadbalancer/net/*/*"), elb("targetgroup/*/*"), elb("listener/net/*/*/*")],
      Condition: { StringEquals: { "elasticloadbalancing:CreateAction": ["CreateLoadBalancer", "CreateTargetGroup", "CreateListener"] } },
    },
    {
      Sid: "ManageOwnLoadBalancers",
      Effect: "Allow",
      Action: [
        "elasticloadbalancing:ModifyLoadBalancerAttributes",
        "elasticloadbalancing:SetIpAddressType",
        "elasticloadbalancing:SetSecurityGroups",
        "elasticloadbalancing:SetSubnets",
        "elasticloadbalancing:DeleteLoadBalancer",
        "elasticloadbalancing:ModifyTargetGroup",
        "elasticloadbalancing:ModifyTargetGroupAttributes",
        "elasticloadbalancing:DeleteTargetGroup",
        "elasticloadbalancing:AddTags",
        "elasticloadbalancing:RemoveTags",
      ],
      Resource: "*",
      Condition: ownedBy,
    },
    {
      Sid: "Listeners",
      Effect: "Allow",
      Action: [
        "elasticloadbalancing:CreateListener",
        "elasticloadbalancing:DeleteListener",
        "elasticloadbalancing:ModifyListener",
        "elasticloadbalancing:ModifyListenerAttributes",
      ],
      Resource: [elb("loadbalancer/net/*/*"), elb("listener/net/*/*/*")],
    },
    {
      Sid: "Targets",
      Effect: "Allow",
      Action: ["elasticloadbalancing:RegisterTargets", "elasticloadbalancing:DeregisterTargets"],
      Resource: elb("targetgroup/*/*"),
    },
  ]);
}
