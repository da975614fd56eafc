/**
 * The EKS component under Pulumi mocks: no AWS account and no AWS provider binary exist here, so
 * this asserts what the component asks AWS and Kubernetes for (every resource's type, inputs,
 * provider and dependencies), which is as far as a program can be proven without a real run.
 */
import type * as k8sTypes from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { EksCluster as EksClusterType, EksNodeGroupSpec } from "../../../aws/EksCluster";

interface Captured {
  readonly type: string;
  readonly name: string;
  readonly inputs: Record<string, unknown>;
  readonly provider?: string;
}

const captured: Captured[] = [];
/** Direct dependencies (URNs) of each registration, by `type::name`: what Pulumi orders deletion by. */
const dependencies = new Map<string, readonly string[]>();

const ENDPOINT = "https://0123456789ABCDEF.gr7.eu-west-1.eks.amazonaws.com";
const CA = "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCm1vY2sKLS0tLS1FTkQgQ0VSVElGSUNBVEUtLS0tLQo=";
const ISSUER = "https://oidc.eks.eu-west-1.amazonaws.com/id/0123456789ABCDEF";
const OIDC_ARN = "arn:aws:iam::111122223333:oidc-provider/oidc.eks.eu-west-1.amazonaws.com/id/0123456789ABCDEF";
const ZONES = { names: ["eu-west-1a", "eu-west-1b", "eu-west-1c"], zoneIds: ["euw1-az3", "euw1-az1", "euw1-az2"] };

const NODE_GROUPS: readonly EksNodeGroupSpec[] = [
  { name: "general", instanceType: "m6i.xlarge", minSize: 3, desiredSize: 3, maxSize: 5, workloadClass: "general" },
  { name: "data", instanceType: "r6i.large", minSize: 3, desiredSize: 3, maxSize: 4, workloadClass: "data" },
];

interface RegisterRequest {
  getType(): string;
  getName(): string;
  getDependenciesList(): string[];
}
interface MonitorLike {
  registerResource(req: RegisterRequest, callback: (err: Error | null, res?: unknown) => void): void;
}

let eks: EksClusterType;
let probe: k8sTypes.core.v1.ConfigMap;
let k8sModule: typeof k8sTypes;

beforeAll(async () => {
  await pulumi.runtime.setMocks(
    {
      newResource(args) {
        const state: Record<string, unknown> = { ...args.inputs };
        if (args.type === "aws:eks/cluster:Cluster")
          Object.assign(state, {
            endpoint: ENDPOINT,
            certificateAuthority: { data: CA },
            identities: [{ oidcs: [{ issuer: ISSUER }] }],
          });
        if (args.type === "aws:iam/role:Role")
          Object.assign(state, { arn: `arn:aws:iam::111122223333:role/${args.name}`, name: args.name });
        if (args.type === "aws:iam/openIdConnectProvider:OpenIdConnectProvider") state.arn = OIDC_ARN;
        if (args.type === "aws:ec2/eip:Eip") state.allocationId = `eipalloc-${args.name}`;
        captured.push({ type: args.type, name: args.name, inputs: args.inputs as Record<string, unknown>, provider: args.provider });
        return { id: `${args.name}-id`, state };
      },
      call(args) {
        if (args.token === "aws:index/getAvailabilityZones:getAvailabilityZones") return ZONES;
        throw new Error(`unexpected invoke ${args.token}`);
      },
    },
    "stagecraft",
    "eks-test",
    false,
  );
  const monitor = pulumi.runtime.getMonitor() as unknown as MonitorLike;
  const register = monitor.registerResource.bind(monitor);
  monitor.registerResource = (req, callback) => {
    dependencies.set(`${req.getType()}::${req.getName()}`, req.getDependenciesList());
    register(req, callback);
  };

  // Imported only now: resources register against the mock monitor set above.
  const { EksCluster } = await import("../../../aws/EksCluster");
  k8sModule = await import("@pulumi/kubernetes");
  eks = new EksCluster("eks", {
    clusterName: "stagecraft-micro",
    region: "eu-west-1",
    kubernetesVersion: "1.35",
    availabilityZones: 3,
    vpcCidr: "10.40.0.0/16",
    nodeGroups: NODE_GROUPS,
  });
  // What any other component of an EKS stack does: pass the component's provider.
  probe = new k8sModule.core.v1.ConfigMap("probe", { metadata: { name: "probe" }, data: { a: "b" } }, { provider: eks.provider });
  await new Promise<void>((resolve) => pulumi.all([probe.urn, eks.kubeconfig, eks.oidcProviderArn, eks.vpcId]).apply(() => resolve()));
  // Let registrations that nothing awaits (none should exist, but a late one must still be seen) settle.
  for (let n = -1; n !== captured.length;) {
    n = captured.length;
    await new Promise((r) => setTimeout(r, 50));
  }
  // Loading @pulumi/aws and building the whole component takes seconds, more on a loaded machine
  // (a full npm test beside other work timed out at jest's 5 s default); nothing here races.
}, 60_000);

const ofType = (type: string) => captured.filter((r) => r.type === type);
const one = (type: string, name: string) => {
  const found = captured.find((r) => r.type === type && r.name === name);
  if (!found) throw new Error(`no ${type} named ${name}; have ${captured.map((r) => `${r.type}::${r.name}`).join(", ")}`);
  return found;
};
const depsOf = (type: string, name: string) => dependencies.get(`${type}::${name}`) ?? [];
const urnNamed = (urns: readonly string[], name: string) => urns.some((u) => u.endsWith(`::${name}`));
/** The value under a secret wrapper if the mock hands one over, else the value. */
const reveal = (v: unknown): unknown =>
  v !== null && typeof v === "object" && "value" in v && Object.keys(v).some((k) => k.length === 32) ? (v as { value: unknown }).value : v;

describe("network", () => {
  it("spans the requested zones with one public and one private subnet in each", () => {
    const subnets = ofType("aws:ec2/subnet:Subnet");
    const zonesOf = (tier: string) => subnets.filter((s) => s.name.includes(`-${tier}-`)).map((s) => s.inputs.availabilityZone);
    expect(zonesOf("public")).toEqual(ZONES.names);
    expect(zonesOf("private")).toEqual(ZONES.names);
    expect(new Set(zonesOf("private")).size).toBeGreaterThanOrEqual(2);
  });

  it("tags public subnets for internet-facing and private ones for internal load balancers, both for this cluster", () => {
    for (const s of ofType("aws:ec2/subnet:Subnet")) {
      const tags = s.inputs.tags as Record<string, string>;
      expect(tags["kubernetes.io/cluster/stagecraft-micro"]).toBe("shared");
      if (s.name.includes("-public-")) {
        expect(tags["kubernetes.io/role/elb"]).toBe("1");
        expect(tags["kubernetes.io/role/internal-elb"]).toBeUndefined();
        expect(s.inputs.mapPublicIpOnLaunch).toBe(false);
      } else {
        expect(tags["kubernetes.io/role/internal-elb"]).toBe("1");
        expect(tags["kubernetes.io/role/elb"]).toBeUndefined();
      }
    }
  });

  it("gives each zone its own NAT gateway, and each private route table a default route through its zone's", () => {
    const nats = ofType("aws:ec2/natGateway:NatGateway");
    expect(nats).toHaveLength(3);
    expect(new Set(nats.map((n) => n.inputs.subnetId))).toEqual(new Set(["eks-public-z1-id", "eks-public-z2-id", "eks-public-z3-id"]));
    for (const z of ["z1", "z2", "z3"]) {
      const routes = one("aws:ec2/routeTable:RouteTable", `eks-private-${z}`).inputs.routes as Record<string, unknown>[];
      expect(routes).toEqual([expect.objectContaining({ cidrBlock: "0.0.0.0/0", natGatewayId: `eks-nat-${z}-id` })]);
      expect(one("aws:ec2/routeTableAssociation:RouteTableAssociation", `eks-private-${z}`).inputs).toMatchObject({
        subnetId: `eks-private-${z}-id`,
        routeTableId: `eks-private-${z}-id`,
      });
    }
    const publicRoutes = one("aws:ec2/routeTable:RouteTable", "eks-public").inputs.routes as Record<string, unknown>[];
    expect(publicRoutes).toEqual([expect.objectContaining({ cidrBlock: "0.0.0.0/0", gatewayId: "eks-igw-id" })]);
  });

  it("creates every AWS resource with the component's own provider for the target's region", () => {
    expect(one("pulumi:providers:aws", "eks-aws").inputs.region).toBe("eu-west-1");
    const aws = captured.filter((r) => r.type.startsWith("aws:"));
    expect(aws.length).toBeGreaterThan(20);
    for (const r of aws) expect(r.provider).toMatch(/::eks-aws::/);
  });
});

describe("cluster and nodes", () => {
  it("pins the Kubernetes version and puts the control plane in the private subnets", () => {
    const cluster = one("aws:eks/cluster:Cluster", "eks-cluster").inputs;
    expect(cluster.name).toBe("stagecraft-micro");
    expect(cluster.version).toBe("1.35");
    expect((cluster.vpcConfig as { subnetIds: string[] }).subnetIds).toEqual([
      "eks-private-z1-id",
      "eks-private-z2-id",
      "eks-private-z3-id",
    ]);
    expect(cluster.accessConfig).toMatchObject({ authenticationMode: "API", bootstrapClusterCreatorAdminPermissions: true });
    expect(cluster.roleArn).toBe("arn:aws:iam::111122223333:role/eks-cluster");
  });

  it("makes one managed node group per target entry, with its sizes, class label and (for data) the taint", () => {
    const groups = ofType("aws:eks/nodeGroup:NodeGroup");
    expect(groups.map((g) => g.name)).toEqual(["eks-nodes-general", "eks-nodes-data"]);
    const general = one("aws:eks/nodeGroup:NodeGroup", "eks-nodes-general").inputs;
    expect(general.scalingConfig).toEqual({ minSize: 3, desiredSize: 3, maxSize: 5 });
    expect(general.instanceTypes).toEqual(["m6i.xlarge"]);
    expect(general.labels).toEqual({ "stagecraft.dev/workload-class": "general" });
    expect(general.taints ?? []).toEqual([]);
    expect(general.version).toBe("1.35");
    const data = one("aws:eks/nodeGroup:NodeGroup", "eks-nodes-data").inputs;
    expect(data.scalingConfig).toEqual({ minSize: 3, desiredSize: 3, maxSize: 4 });
    expect(data.labels).toEqual({ "stagecraft.dev/workload-class": "data" });
    expect(data.taints).toEqual([{ key: "stagecraft.dev/workload-class", value: "data", effect: "NO_SCHEDULE" }]);
    for (const g of groups) {
      expect(g.inputs.subnetIds).toEqual(["eks-private-z1-id", "eks-private-z2-id", "eks-private-z3-id"]);
      expect(g.inputs.amiType).toBe("AL2023_x86_64_STANDARD");
      expect(g.inputs.nodeGroupName).toBeUndefined();
    }
  });

  it("gives nodes the worker, CNI and ECR policies", () => {
    const policies = ofType("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
      .filter((a) => a.inputs.role === "eks-nodes")
      .map((a) => a.inputs.policyArn);
    expect(policies.sort()).toEqual([
      "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly",
      "arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy",
      "arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy",
    ]);
    const trust = JSON.parse(one("aws:iam/role:Role", "eks-nodes").inputs.assumeRolePolicy as string);
    expect(trust.Statement[0].Principal).toEqual({ Service: "ec2.amazonaws.com" });
  });
});

describe("storage and IRSA", () => {
  it("registers the cluster's OIDC issuer for STS", () => {
    expect(one("aws:iam/openIdConnectProvider:OpenIdConnectProvider", "eks-oidc").inputs).toMatchObject({
      url: ISSUER,
      clientIdLists: ["sts.amazonaws.com"],
    });
  });

  it("lets only the EBS CSI controller's ServiceAccount assume the driver's role", () => {
    const role = one("aws:iam/role:Role", "eks-irsa-kube-system-ebs-csi-controller-sa");
    const trust = JSON.parse(role.inputs.assumeRolePolicy as string);
    expect(trust.Statement).toEqual([
      {
        Effect: "Allow",
        Principal: { Federated: OIDC_ARN },
        Action: "sts:AssumeRoleWithWebIdentity",
        Condition: {
          StringEquals: {
            "oidc.eks.eu-west-1.amazonaws.com/id/0123456789ABCDEF:sub": "system:serviceaccount:kube-system:ebs-csi-controller-sa",
            "oidc.eks.eu-west-1.amazonaws.com/id/0123456789ABCDEF:aud": "sts.amazonaws.com",
          },
        },
      },
    ]);
    const attached = ofType("aws:iam/rolePolicyAttachment:RolePolicyAttachment").filter((a) => a.inputs.role === role.name);
    expect(attached.map((a) => a.inputs.policyArn)).toEqual(["arn:aws:iam::aws:policy/service-role/AmazonEBSCSIDriverPolicy"]);
  });

  it("installs the EBS CSI driver as an add-on on that role, with its node plugin allowed onto data nodes", () => {
    const addon = one("aws:eks/addon:Addon", "eks-ebs-csi").inputs;
    expect(addon.addonName).toBe("aws-ebs-csi-driver");
    expect(addon.clusterName).toBe("stagecraft-micro");
    expect(addon.serviceAccountRoleArn).toBe("arn:aws:iam::111122223333:role/eks-irsa-kube-system-ebs-csi-controller-sa");
    expect(JSON.parse(addon.configurationValues as string)).toEqual({ node: { tolerateAllTaints: true } });
  });

  it("makes gp3 on the EBS CSI driver the only default StorageClass, bound where the pod lands", () => {
    const classes = ofType("kubernetes:storage.k8s.io/v1:StorageClass");
    const defaults = classes.filter(
      (c) =>
        (c.inputs.metadata as { annotations?: Record<string, string> }).annotations?.["storageclass.kubernetes.io/is-default-class"] ===
        "true",
    );
    expect(defaults).toHaveLength(1);
    expect(defaults[0].inputs).toMatchObject({
      metadata: { name: "gp3" },
      provisioner: "ebs.csi.aws.com",
      parameters: { type: "gp3", encrypted: "true" },
      volumeBindingMode: "WaitForFirstConsumer",
      allowVolumeExpansion: true,
    });
    expect(urnNamed(depsOf("kubernetes:storage.k8s.io/v1:StorageClass", "eks-gp3"), "eks-ebs-csi")).toBe(true);
  });

  it("runs the load balancer controller on IRSA, its policy limited to this cluster's resources", () => {
    const release = one("kubernetes:helm.sh/v3:Release", "eks-lbc").inputs;
    expect(release).toMatchObject({
      chart: "aws-load-balancer-controller",
      namespace: "kube-system",
      repositoryOpts: { repo: "https://aws.github.io/eks-charts" },
    });
    expect(release.version).toMatch(/^\d+\.\d+\.\d+$/);
    const values = release.values as Record<string, unknown>;
    expect(values).toMatchObject({ clusterName: "stagecraft-micro", region: "eu-west-1", vpcId: "eks-vpc-id" });
    expect(values.serviceAccount).toEqual({
      create: true,
      name: "aws-load-balancer-controller",
      annotations: { "eks.amazonaws.com/role-arn": "arn:aws:iam::111122223333:role/eks-irsa-kube-system-aws-load-balancer-controller" },
    });
    const trust = JSON.parse(
      one("aws:iam/role:Role", "eks-irsa-kube-system-aws-load-balancer-controller").inputs.assumeRolePolicy as string,
    );
    expect(Object.values(trust.Statement[0].Condition.StringEquals)).toContain(
      "system:serviceaccount:kube-system:aws-load-balancer-controller",
    );
    const inline = JSON.parse(
      one("aws:iam/rolePolicy:RolePolicy", "eks-irsa-kube-system-aws-load-balancer-controller-inline").inputs.policy as string,
    );
    const deletes = inline.Statement.find((s: { Action: string | string[] }) =>
      [s.Action].flat().includes("elasticloadbalancing:DeleteLoadBalancer"),
    );
    expect(deletes.Condition).toEqual({ StringEquals: { "aws:ResourceTag/elbv2.k8s.aws/cluster": "stagecraft-micro" } });
  });
});

describe("the Kubernetes provider", () => {
  it("is built from a kubeconfig with the cluster's endpoint and CA and an aws eks get-token exec", () => {
    const kubeconfig = JSON.parse(reveal(one("pulumi:providers:kubernetes", "eks-k8s").inputs.kubeconfig) as string);
    expect(kubeconfig.clusters[0].cluster).toEqual({ server: ENDPOINT, "certificate-authority-data": CA });
    expect(kubeconfig.users[0].user.exec.command).toBe("aws");
    expect(kubeconfig.users[0].user.exec.args).toEqual([
      "eks",
      "get-token",
      "--cluster-name",
      "stagecraft-micro",
      "--region",
      "eu-west-1",
      "--output",
      "json",
    ]);
  });

  it("exports the kubeconfig as a secret", async () => {
    expect(await pulumi.isSecret(eks.kubeconfig)).toBe(true);
  });

  it("is the provider of a Kubernetes object registered with it", async () => {
    const providerUrn = await new Promise<string>((resolve) => eks.provider.urn.apply(resolve));
    const ref = one("kubernetes:core/v1:ConfigMap", "probe").provider;
    expect(ref).toBe(`${providerUrn}::eks-k8s-id`);
  });

  it("and only it: the component's own objects use an internal provider the public one waits for", () => {
    for (const r of captured.filter((c) => c.type.startsWith("kubernetes:") && c.name !== "probe"))
      expect(r.provider).toMatch(/::eks-k8s-system::/);
  });
});

describe("teardown order", () => {
  it("the public provider depends on nodes, storage and the load balancer controller, so stage objects go first", () => {
    const deps = depsOf("pulumi:providers:kubernetes", "eks-k8s");
    for (const name of ["eks-nodes-general", "eks-nodes-data", "eks-ebs-csi", "eks-gp3", "eks-lbc"])
      expect(urnNamed(deps, name)).toBe(true);
  });

  it("the cluster depends on every NAT gateway, route and association, so egress outlives the nodes", () => {
    const deps = depsOf("aws:eks/cluster:Cluster", "eks-cluster");
    for (const z of ["z1", "z2", "z3"]) {
      expect(urnNamed(deps, `eks-nat-${z}`)).toBe(true);
      expect(
        urnNamed(
          deps.filter((u) => u.includes("RouteTableAssociation")),
          `eks-private-${z}`,
        ),
      ).toBe(true);
      expect(
        urnNamed(
          deps.filter((u) => u.includes("RouteTableAssociation")),
          `eks-public-${z}`,
        ),
      ).toBe(true);
    }
    expect(urnNamed(deps, "eks-igw")).toBe(true);
  });

  it("NAT gateways depend on the internet gateway; node groups on their role's policies", () => {
    for (const z of ["z1", "z2", "z3"]) expect(urnNamed(depsOf("aws:ec2/natGateway:NatGateway", `eks-nat-${z}`), "eks-igw")).toBe(true);
    for (const g of ["general", "data"]) {
      const deps = depsOf("aws:eks/nodeGroup:NodeGroup", `eks-nodes-${g}`);
      for (const p of ["workerNode", "cni", "ecrRead"]) expect(urnNamed(deps, `eks-nodes-${p}`)).toBe(true);
    }
  });

  it("the load balancer controller waits for its role's policy (it must outlive the NLBs it deletes)", () => {
    expect(urnNamed(depsOf("kubernetes:helm.sh/v3:Release", "eks-lbc"), "eks-irsa-kube-system-aws-load-balancer-controller-inline")).toBe(
      true,
    );
  });
});
