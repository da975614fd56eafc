/**
 * An EKS cluster that Stagecraft creates when a stack's target is `kind: eks`: a VPC over two or
 * more zones, the control plane at a pinned version, one managed node group per target entry, the
 * EBS CSI driver with a default gp3 StorageClass, the AWS Load Balancer Controller for the NLB
 * annotations, IRSA, and the Kubernetes provider every other component of the stack must use.
 *
 * Teardown order (why `pulumi destroy` ends without DependencyViolation). Pulumi deletes a resource
 * only after everything that depends on it is gone, so the dependency chain is the teardown plan:
 *
 *   Kubernetes objects of the stage (Services of type LoadBalancer among them)
 *     -> `provider` (dependsOn node groups, EBS CSI add-on, gp3 StorageClass, load balancer controller)
 *     -> load balancer controller, StorageClass (on an internal provider) -> that provider
 *     -> node groups, EBS CSI add-on -> cluster (dependsOn NAT gateways, routes, the internet gateway)
 *     -> routes, NAT gateways, EIPs, internet gateway -> subnets -> VPC
 *
 * A LoadBalancer Service carries the controller's finalizer, so its deletion returns only after the
 * controller has deleted the NLB, its target groups, its security groups and its rules on the node
 * security group. The controller is still running then (it is deleted after the provider, which is
 * deleted after the Service), its IRSA role still exists, and it still reaches the AWS APIs through
 * the NAT gateways (the cluster depends on them, so they outlive the nodes). The NLB's ENIs and
 * public IPs leave with the NLB, the nodes' ENIs with the node groups, the control plane's ENIs and
 * its security group with the cluster, all before the subnets, the internet gateway and the VPC are
 * touched. What Pulumi does not own (the NLB, its SGs) is thus gone before what contains it.
 */
import * as aws from "@pulumi/aws";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { EksTargetSpec } from "../spec/target";
import { amiTypeFor, DATA_TAINT_EKS, WORKLOAD_CLASS_LABEL } from "./eksDefaults";
import { irsaTrustPolicy, loadBalancerControllerPolicy, MANAGED_POLICY, serviceTrustPolicy, STS_AUDIENCE } from "./eksIam";
import { eksKubeconfig } from "./eksKubeconfig";
import { pickZones, subnetPlan, subnetTags } from "./eksNetwork";
import { EBS_CSI_SERVICE_ACCOUNT, LOAD_BALANCER_CONTROLLER_CHART as LBC } from "./eksSupport";

export type EksNodeGroupSpec = EksTargetSpec["nodeGroups"][number];

export interface EksClusterArgs {
  /** Physical cluster name (see eksClusterName); also the value subnets are tagged for. */
  readonly clusterName: string;
  /** AWS region; the component brings its own AWS provider for it, whatever `aws:region` says. */
  readonly region: string;
  /** Kubernetes minor version, e.g. '1.35'; validated against the window in eksSupport.ts. */
  readonly kubernetesVersion: string;
  /** Zones the VPC, the control plane and the node groups span (2..6). */
  readonly availabilityZones: number;
  /** The VPC's CIDR, cut into subnets by subnetPlan(). */
  readonly vpcCidr: string;
  /** One managed node group each; `data` groups are tainted for the data tier. */
  readonly nodeGroups: readonly EksNodeGroupSpec[];
  /** Extra tags on every AWS resource (the AWS provider's default tags). */
  readonly tags?: Readonly<Record<string, string>>;
}

/** An IAM role for one ServiceAccount. `arn` resolves only once its policies are attached. */
export interface IrsaRole {
  readonly role: aws.iam.Role;
  readonly arn: pulumi.Output<string>;
}

/** The VPC pieces the cluster is built on. */
interface Network {
  readonly vpc: aws.ec2.Vpc;
  readonly privateSubnetIds: pulumi.Output<string>[];
  /** Everything nodes need to reach the internet: created before the cluster, deleted after it. */
  readonly egress: pulumi.Resource[];
}

/** What every zone's subnets share. */
interface SharedNetwork {
  readonly vpc: aws.ec2.Vpc;
  readonly igw: aws.ec2.InternetGateway;
  readonly publicRoutes: aws.ec2.RouteTable;
  readonly plan: ReturnType<typeof subnetPlan>;
  readonly zones: pulumi.Output<string[]>;
}

/** IAM role names are at most 64 characters; Pulumi adds 8 to the resource name (`-` and 7 hex). */
const MAX_ROLE_RESOURCE_NAME = 56;

export class EksCluster extends pulumi.ComponentResource {
  /** The Kubernetes provider for every object of the stack: it waits for nodes, storage and the NLB controller. */
  readonly provider: k8s.Provider;
  /** Kubeconfig (exec `aws eks get-token`, no stored token); secret so it stays out of logs. */
  readonly kubeconfig: pulumi.Output<string>;
  readonly clusterName: pulumi.Output<string>;
  readonly vpcId: pulumi.Output<string>;
  readonly oidcProviderArn: pulumi.Output<string>;

  private readonly baseName: string;
  private readonly awsProvider: aws.Provider;
  private readonly oidcIssuer: pulumi.Output<string>;

  constructor(name: string, args: EksClusterArgs, opts?: pulumi.ComponentResourceOptions) {
    super("stagecraft:platform:EksCluster", name, {}, opts);
    this.baseName = name;
    // Own provider: the region comes from the target, so a stage file alone decides where the cluster is.
    this.awsProvider = new aws.Provider(
      `${name}-aws`,
      { region: args.region, defaultTags: { tags: { "stagecraft.dev/cluster": args.clusterName, ...args.tags } } },
      { parent: this },
    );
    const net = this.network(args);
    const cluster = this.controlPlane(args, net);
    this.clusterName = cluster.name;
    this.vpcId = net.vpc.id;
    const nodeGroups = this.nodeGroups(args, cluster, net.privateSubnetIds);

    // IRSA: the cluster's OIDC issuer as an IAM identity provider. Its URL is unique per account, so a
    // replacement must delete the old one first.
    this.oidcIssuer = cluster.identities.apply((ids) => ids[0]?.oidcs[0]?.issuer ?? "");
    const oidc = new aws.iam.OpenIdConnectProvider(
      `${name}-oidc`,
      { url: this.oidcIssuer, clientIdLists: [STS_AUDIENCE] },
      { parent: this, provider: this.awsProvider, deleteBeforeReplace: true },
    );
    this.oidcProviderArn = oidc.arn;

    const ebsCsi = this.ebsCsiDriver(cluster, nodeGroups);
    this.kubeconfig = pulumi.secret(
      pulumi
        .all([cluster.name, cluster.endpoint, cluster.certificateAuthority])
        .apply(([clusterName, endpoint, ca]) =>
          eksKubeconfig({ clusterName, endpoint, certificateAuthorityData: ca.data, region: args.region }),
        ),
    );
    // The component's own Kubernetes objects use an internal provider: the public one depends on them.
    const system = new k8s.Provider(`${name}-k8s-system`, { kubeconfig: this.kubeconfig }, { parent: this, dependsOn: nodeGroups });

    const gp3 = this.defaultStorageClass(system, ebsCsi);
    const lbc = this.loadBalancerController(args, net.vpc, system);

    this.provider = new k8s.Provider(
      `${name}-k8s`,
      { kubeconfig: this.kubeconfig },
      { parent: this, dependsOn: [...nodeGroups, ebsCsi, gp3, lbc] },
    );

    this.registerOutputs({
      kubeconfig: this.kubeconfig,
      clusterName: this.clusterName,
      vpcId: this.vpcId,
      oidcProviderArn: this.oidcProviderArn,
    });
  }

  /**
   * The VPC. One NAT gateway per zone, not one shared: with a shared one, losing its zone cuts every
   * node's egress (image pulls, STS for IRSA, the controller's AWS calls), and cross-zone NAT traffic
   * is billed. The extra gateways cost ~$33/month each; a stage that cannot survive a zone is not HA.
   */
  private network(args: EksClusterArgs): Network {
    const name = this.baseName;
    const onAws = { parent: this, provider: this.awsProvider };
    const plan = subnetPlan(args.vpcCidr, args.availabilityZones);
    const zones = aws
      .getAvailabilityZonesOutput({ state: "available", filters: [{ name: "opt-in-status", values: ["opt-in-not-required"] }] }, onAws)
      .apply((z) => pickZones(z.names, z.zoneIds, args.availabilityZones, args.region));
    const vpc = new aws.ec2.Vpc(
      `${name}-vpc`,
      { cidrBlock: args.vpcCidr, enableDnsSupport: true, enableDnsHostnames: true, tags: { Name: args.clusterName } },
      onAws,
    );
    const igw = new aws.ec2.InternetGateway(`${name}-igw`, { vpcId: vpc.id, tags: { Name: args.clusterName } }, onAws);
    const publicRoutes = new aws.ec2.RouteTable(
      `${name}-public`,
      { vpcId: vpc.id, routes: [{ cidrBlock: "0.0.0.0/0", gatewayId: igw.id }], tags: { Name: `${args.clusterName}-public` } },
      onAws,
    );
    // Zone i keeps index i for good (subnetPlan never moves a zone's block), so names never shift.
    const shared = { vpc, igw, publicRoutes, plan, zones };
    const perZone = Array.from({ length: args.availabilityZones }, (_, i) => this.zoneNetwork(args, shared, i));
    return {
      vpc,
      privateSubnetIds: perZone.map((z) => z.privateSubnet.id),
      egress: [igw, publicRoutes, ...perZone.flatMap((z) => z.egress)],
    };
  }

  /** One zone: a public subnet with its NAT gateway, a private subnet routed through it. */
  private zoneNetwork(
    args: EksClusterArgs,
    shared: SharedNetwork,
    i: number,
  ): { privateSubnet: aws.ec2.Subnet; egress: pulumi.Resource[] } {
    const name = this.baseName;
    const onAws = { parent: this, provider: this.awsProvider };
    const { vpc, igw, publicRoutes, plan, zones } = shared;
    const zone = `z${i + 1}`;
    const availabilityZone = zones.apply((z) => z[i]);
    const publicSubnet = new aws.ec2.Subnet(
      `${name}-public-${zone}`,
      {
        vpcId: vpc.id,
        cidrBlock: plan.public[i],
        availabilityZone,
        // Only NAT gateways and NLBs live here; nothing should get a public IP by accident.
        mapPublicIpOnLaunch: false,
        tags: { Name: `${args.clusterName}-public-${zone}`, ...subnetTags(args.clusterName, "public") },
      },
      onAws,
    );
    const publicAssoc = new aws.ec2.RouteTableAssociation(
      `${name}-public-${zone}`,
      { subnetId: publicSubnet.id, routeTableId: publicRoutes.id },
      onAws,
    );
    const eip = new aws.ec2.Eip(`${name}-nat-${zone}`, { domain: "vpc", tags: { Name: `${args.clusterName}-nat-${zone}` } }, onAws);
    const nat = new aws.ec2.NatGateway(
      `${name}-nat-${zone}`,
      { allocationId: eip.allocationId, subnetId: publicSubnet.id, tags: { Name: `${args.clusterName}-${zone}` } },
      // The gateway needs the internet gateway to route; and must go before it is detached.
      { ...onAws, dependsOn: [igw] },
    );
    const privateRoutes = new aws.ec2.RouteTable(
      `${name}-private-${zone}`,
      {
        vpcId: vpc.id,
        routes: [{ cidrBlock: "0.0.0.0/0", natGatewayId: nat.id }],
        tags: { Name: `${args.clusterName}-private-${zone}` },
      },
      onAws,
    );
    const privateSubnet = new aws.ec2.Subnet(
      `${name}-private-${zone}`,
      {
        vpcId: vpc.id,
        cidrBlock: plan.private[i],
        availabilityZone,
        tags: { Name: `${args.clusterName}-private-${zone}`, ...subnetTags(args.clusterName, "private") },
      },
      onAws,
    );
    const privateAssoc = new aws.ec2.RouteTableAssociation(
      `${name}-private-${zone}`,
      { subnetId: privateSubnet.id, routeTableId: privateRoutes.id },
      onAws,
    );
    return { privateSubnet, egress: [publicAssoc, nat, privateRoutes, privateAssoc] };
  }

  /** The control plane, in the private subnets, after its role's policy and every egress route. */
  private controlPlane(args: EksClusterArgs, net: Network): aws.eks.Cluster {
    const name = this.baseName;
    const onAws = { parent: this, provider: this.awsProvider };
    const { privateSubnetIds, egress } = net;
    const clusterRole = new aws.iam.Role(`${name}-cluster`, { assumeRolePolicy: serviceTrustPolicy("eks.amazonaws.com") }, onAws);
    const clusterPolicy = new aws.iam.RolePolicyAttachment(
      `${name}-cluster-policy`,
      { role: clusterRole.name, policyArn: MANAGED_POLICY.cluster },
      onAws,
    );
    return new aws.eks.Cluster(
      `${name}-cluster`,
      {
        name: args.clusterName,
        version: args.kubernetesVersion,
        roleArn: clusterRole.arn,
        // Control-plane ENIs go in the private subnets; NLBs find the public ones by their tags.
        vpcConfig: { subnetIds: privateSubnetIds, endpointPrivateAccess: true, endpointPublicAccess: true },
        // Access entries (not the aws-auth ConfigMap); whoever runs the first `pulumi up` is cluster admin,
        // which is what lets this program's own Kubernetes provider in.
        accessConfig: { authenticationMode: "API", bootstrapClusterCreatorAdminPermissions: true },
      },
      // Egress first so nodes can join on creation, and last to go on deletion (see the header).
      // deleteBeforeReplace: the name is fixed, two clusters of one name cannot coexist.
      { ...onAws, dependsOn: [clusterPolicy, ...egress], deleteBeforeReplace: true },
    );
  }

  /** One managed node group per target entry; `data` groups carry the taint. */
  private nodeGroups(args: EksClusterArgs, cluster: aws.eks.Cluster, privateSubnetIds: pulumi.Output<string>[]): aws.eks.NodeGroup[] {
    const name = this.baseName;
    const onAws = { parent: this, provider: this.awsProvider };
    const nodeRole = new aws.iam.Role(`${name}-nodes`, { assumeRolePolicy: serviceTrustPolicy("ec2.amazonaws.com") }, onAws);
    const nodePolicies = (["workerNode", "cni", "ecrRead"] as const).map(
      (p) => new aws.iam.RolePolicyAttachment(`${name}-nodes-${p}`, { role: nodeRole.name, policyArn: MANAGED_POLICY[p] }, onAws),
    );
    return args.nodeGroups.map(
      (g) =>
        new aws.eks.NodeGroup(
          `${name}-nodes-${g.name}`,
          {
            clusterName: cluster.name,
            version: args.kubernetesVersion,
            nodeRoleArn: nodeRole.arn,
            subnetIds: privateSubnetIds,
            instanceTypes: [g.instanceType],
            amiType: amiTypeFor(g.instanceType),
            capacityType: "ON_DEMAND",
            scalingConfig: { minSize: g.minSize, desiredSize: g.desiredSize, maxSize: g.maxSize },
            updateConfig: { maxUnavailable: 1 },
            labels: { [WORKLOAD_CLASS_LABEL]: g.workloadClass },
            taints: g.workloadClass === "data" ? [{ ...DATA_TAINT_EKS }] : [],
            tags: { Name: `${args.clusterName}-${g.name}` },
          },
          // No fixed nodeGroupName: a replacement (new instance type) is auto-named, so the new group
          // comes up before the old one drains. The role's policies must outlive the nodes.
          { ...onAws, dependsOn: nodePolicies },
        ),
    );
  }

  /**
   * Storage: the EBS CSI driver as an EKS add-on, its controller on IRSA. Its node plugin must run on
   * the tainted data nodes, which is where the volumes are mounted.
   */
  private ebsCsiDriver(cluster: aws.eks.Cluster, nodeGroups: aws.eks.NodeGroup[]): aws.eks.Addon {
    const name = this.baseName;
    const onAws = { parent: this, provider: this.awsProvider };
    const ebsRole = this.irsaRole(EBS_CSI_SERVICE_ACCOUNT.name, EBS_CSI_SERVICE_ACCOUNT.namespace, [MANAGED_POLICY.ebsCsi]);
    return new aws.eks.Addon(
      `${name}-ebs-csi`,
      {
        clusterName: cluster.name,
        addonName: "aws-ebs-csi-driver",
        serviceAccountRoleArn: ebsRole.arn,
        configurationValues: JSON.stringify({ node: { tolerateAllTaints: true } }),
        resolveConflictsOnCreate: "OVERWRITE",
        resolveConflictsOnUpdate: "PRESERVE",
        // Removed with the add-on, so nothing of it is left running against a deleted role.
        preserve: false,
      },
      // Its controller pods need nodes to become ACTIVE.
      { ...onAws, dependsOn: nodeGroups },
    );
  }

  /**
   * The default StorageClass. WaitForFirstConsumer creates each volume in the zone its pod landed in.
   * EKS stopped marking its gp2 class default at 1.30 (below the window), so this is the only default.
   */
  private defaultStorageClass(system: k8s.Provider, ebsCsi: aws.eks.Addon): k8s.storage.v1.StorageClass {
    const name = this.baseName;
    return new k8s.storage.v1.StorageClass(
      `${name}-gp3`,
      {
        metadata: { name: "gp3", annotations: { "storageclass.kubernetes.io/is-default-class": "true" } },
        provisioner: "ebs.csi.aws.com",
        parameters: { type: "gp3", encrypted: "true", "csi.storage.k8s.io/fstype": "ext4" },
        volumeBindingMode: "WaitForFirstConsumer",
        allowVolumeExpansion: true,
        reclaimPolicy: "Delete",
      },
      // Parameters are immutable and the name is fixed: a change replaces it, old one first.
      { parent: this, provider: system, dependsOn: [ebsCsi], deleteBeforeReplace: true },
    );
  }

  /** The AWS Load Balancer Controller: it turns the `external` NLB annotations into NLBs. */
  private loadBalancerController(args: EksClusterArgs, vpc: aws.ec2.Vpc, system: k8s.Provider): k8s.helm.v3.Release {
    const name = this.baseName;
    const lbcRole = this.irsaRole(LBC.serviceAccount, LBC.namespace, [], loadBalancerControllerPolicy(args.clusterName));
    return new k8s.helm.v3.Release(
      `${name}-lbc`,
      {
        name: LBC.chart,
        chart: LBC.chart,
        version: LBC.version,
        repositoryOpts: { repo: LBC.repo },
        namespace: LBC.namespace,
        values: {
          clusterName: args.clusterName,
          // Given, not discovered through the instance metadata service, which pods may not reach.
          region: args.region,
          vpcId: vpc.id,
          replicaCount: LBC.replicas,
          resources: { requests: { cpu: `${LBC.requests.cpuMilli}m`, memory: `${LBC.requests.memoryMi}Mi` } },
          serviceAccount: { create: true, name: LBC.serviceAccount, annotations: { "eks.amazonaws.com/role-arn": lbcRole.arn } },
          // Services here name their controller by annotation; a webhook in every Service's admission
          // path would only add a way for Service updates (and deletes) to fail when it is down.
          enableServiceMutatorWebhook: false,
        },
      },
      { parent: this, provider: system },
    );
  }

  /**
   * An IAM role that exactly one ServiceAccount may assume (IRSA), with managed policies and, if
   * given, an inline policy document. Annotate the ServiceAccount with
   * `eks.amazonaws.com/role-arn: <arn>`; the returned `arn` waits for the policies to be attached,
   * so a pod never starts with a role that cannot yet do its job.
   */
  irsaRole(serviceAccount: string, namespace: string, policyArns: readonly string[], inlinePolicy?: pulumi.Input<string>): IrsaRole {
    const base = `${this.baseName}-irsa-${namespace}-${serviceAccount}`;
    if (base.length > MAX_ROLE_RESOURCE_NAME)
      throw new Error(`IRSA role name '${base}' is longer than ${MAX_ROLE_RESOURCE_NAME} characters; IAM allows 64 with Pulumi's suffix`);
    const onAws = { parent: this, provider: this.awsProvider };
    const role = new aws.iam.Role(
      base,
      {
        assumeRolePolicy: pulumi
          .all([this.oidcProviderArn, this.oidcIssuer])
          .apply(([arn, issuer]) => irsaTrustPolicy(arn, issuer, namespace, serviceAccount)),
      },
      onAws,
    );
    // Named after the policy, not its position, so reordering the list changes nothing.
    const attached: pulumi.Resource[] = policyArns.map(
      (arn) => new aws.iam.RolePolicyAttachment(`${base}-${arn.split("/").pop()}`, { role: role.name, policyArn: arn }, onAws),
    );
    if (inlinePolicy !== undefined) attached.push(new aws.iam.RolePolicy(`${base}-inline`, { role: role.id, policy: inlinePolicy }, onAws));
    const arn = pulumi.all([role.arn, ...attached.map((a) => a.urn)]).apply(([roleArn]) => roleArn);
    return { role, arn };
  }
}
