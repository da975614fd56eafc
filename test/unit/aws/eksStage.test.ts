/**
 * Every Kubernetes object of an EKS stack goes through the EKS component's provider. Each stage is
 * built under Pulumi mocks as an EKS stack would build it (EksCluster, then the Stage with the
 * cluster's provider and the target's annotations and data placement), and every registration is
 * checked: custom resources by their provider reference, remote components (helm.v4.Chart) by their
 * providers map. A Kubernetes object on any other provider would land in whatever cluster the
 * ambient kubeconfig names.
 */
import * as fs from "fs";
import * as path from "path";
import { ROOT } from "../../lib/paths";
import { parse } from "yaml";

const STAGES = ["mvc", "split", "micro", "ddd"] as const;

interface Registration {
  readonly type: string;
  readonly name: string;
  readonly custom: boolean;
  readonly provider: string;
  readonly providers: Readonly<Record<string, string>>;
  readonly inputs: Record<string, unknown>;
}

interface RegisterRequest {
  getType(): string;
  getName(): string;
  getCustom(): boolean;
  getProvider(): string;
  getProvidersMap(): { toObject(): [string, string][] };
}
interface MonitorLike {
  registerResource(req: RegisterRequest, callback: (err: Error | null, res?: unknown) => void): void;
}

/** The EKS component's own objects, which use its internal provider (the public one depends on them). */
const INTERNAL = new Set(["eks-gp3", "eks-lbc"]);

async function buildEksStack(stage: string): Promise<{ registrations: Registration[]; eksProvider: string }> {
  jest.resetModules();
  const pulumi = await import("@pulumi/pulumi");
  const inputs = new Map<string, Record<string, unknown>>();
  await pulumi.runtime.setMocks(
    {
      newResource(args) {
        const state: Record<string, unknown> = { ...args.inputs };
        if (args.type === "aws:eks/cluster:Cluster")
          Object.assign(state, {
            endpoint: "https://example.eks.amazonaws.com",
            certificateAuthority: { data: "Q0E=" },
            identities: [{ oidcs: [{ issuer: "https://oidc.eks.eu-west-1.amazonaws.com/id/X" }] }],
          });
        if (args.type === "aws:iam/role:Role") Object.assign(state, { arn: `arn:aws:iam::1:role/${args.name}`, name: args.name });
        if (args.type === "aws:iam/openIdConnectProvider:OpenIdConnectProvider") state.arn = "arn:aws:iam::1:oidc-provider/x";
        inputs.set(`${args.type}::${args.name}`, args.inputs as Record<string, unknown>);
        return { id: `${args.name}-id`, state };
      },
      call(args) {
        if (args.token === "aws:index/getAvailabilityZones:getAvailabilityZones")
          return { names: ["eu-west-1a", "eu-west-1b", "eu-west-1c"], zoneIds: ["euw1-az1", "euw1-az2", "euw1-az3"] };
        return {};
      },
    },
    "stagecraft",
    stage,
    false,
  );
  const seen: Omit<Registration, "inputs">[] = [];
  const monitor = pulumi.runtime.getMonitor() as unknown as MonitorLike;
  const register = monitor.registerResource.bind(monitor);
  monitor.registerResource = (req, callback) => {
    seen.push({
      type: req.getType(),
      name: req.getName(),
      custom: req.getCustom(),
      provider: req.getProvider(),
      providers: Object.fromEntries(req.getProvidersMap().toObject()),
    });
    register(req, callback);
  };

  const { EksCluster } = await import("../../../aws/EksCluster");
  const { dataPlacement, eksClusterName } = await import("../../../aws/eksDefaults");
  const { Stage } = await import("../../../components/stage/Stage");
  const { validateStack } = await import("../../../validate/validateStack");
  const { readStackFile } = await import("../../../spec/stackFile");

  // The stage file with its target swapped for the example EKS block: the "only the target differs".
  const { raw } = readStackFile(path.join(ROOT, "stacks", `Pulumi.${stage}.yaml`));
  const example = parse(fs.readFileSync(path.join(ROOT, "test", "fixtures", "eks-target.yaml"), "utf8")) as {
    config: Record<string, unknown>;
  };
  const secrets = Object.fromEntries(Object.keys(raw.secrets).map((k) => [k, "secret" as const]));
  const { model, target } = validateStack(stage, { ...raw, target: example.config["stagecraft:target"], secrets });
  if (target.kind !== "eks") throw new Error("the fixture is an eks target");

  const eks = new EksCluster("eks", { clusterName: eksClusterName(stage), ...target });
  const placement = dataPlacement(target);
  const credentials = Object.fromEntries(
    Object.keys(raw.secrets)
      .filter((k) => k !== "secretSeed")
      .map((k) => [k, pulumi.secret(`mock-${k}`)]),
  );
  const built = new Stage(
    "stagecraft",
    {
      model,
      namespace: target.namespace,
      secretSeed: pulumi.secret("mock-seed"),
      credentials,
      loadBalancerAnnotations: target.loadBalancerAnnotations,
      dataPlacement: {
        nodeSelector: placement.nodeSelector && { ...placement.nodeSelector },
        tolerations: placement.tolerations.map((t) => ({ ...t })),
      },
    },
    { providers: [eks.provider] },
  );
  const eksUrn = await new Promise<string>((resolve) => eks.provider.urn.apply(resolve));
  await new Promise<void>((resolve) => built.urn.apply(() => resolve()));
  for (let n = -1; n !== seen.length;) {
    n = seen.length;
    await new Promise((r) => setTimeout(r, 100));
  }
  const registrations = seen.map((r) => ({ ...r, inputs: inputs.get(`${r.type}::${r.name}`) ?? {} }));
  return { registrations, eksProvider: `${eksUrn}::eks-k8s-id` };
}

describe.each(STAGES)("EKS stack of stage %s", (stage) => {
  let built: { registrations: Registration[]; eksProvider: string };
  beforeAll(async () => {
    built = await buildEksStack(stage);
  }, 60_000);

  it("registers Kubernetes objects at all (the check below is not vacuous)", () => {
    const objects = built.registrations.filter((r) => r.type.startsWith("kubernetes:") && !INTERNAL.has(r.name));
    expect(objects.length).toBeGreaterThan(10);
    expect(objects.some((r) => r.type === "kubernetes:apps/v1:StatefulSet")).toBe(true);
  });

  it("puts every Kubernetes object on the EKS component's provider", () => {
    const wrong = built.registrations
      .filter((r) => r.type.startsWith("kubernetes:") && !INTERNAL.has(r.name))
      .filter((r) => (r.custom ? r.provider !== built.eksProvider : r.providers["kubernetes"] !== built.eksProvider))
      .map((r) => `${r.type}::${r.name} -> ${r.custom ? r.provider : JSON.stringify(r.providers)}`);
    expect(wrong).toEqual([]);
  });

  it("gives every LoadBalancer Service the NLB annotations", () => {
    const lbs = built.registrations.filter(
      (r) => r.type === "kubernetes:core/v1:Service" && (r.inputs.spec as { type?: string } | undefined)?.type === "LoadBalancer",
    );
    expect(lbs.length).toBeGreaterThan(0);
    for (const s of lbs)
      expect((s.inputs.metadata as { annotations?: Record<string, string> }).annotations).toMatchObject({
        "service.beta.kubernetes.io/aws-load-balancer-type": "external",
        "service.beta.kubernetes.io/aws-load-balancer-nlb-target-type": "ip",
        "service.beta.kubernetes.io/aws-load-balancer-scheme": "internet-facing",
      });
  });

  it("pins the data tier's StatefulSets to the tainted data nodes", () => {
    const sets = built.registrations.filter((r) => r.type === "kubernetes:apps/v1:StatefulSet");
    for (const s of sets) {
      const pod = (s.inputs.spec as { template: { spec: { nodeSelector?: Record<string, string>; tolerations?: unknown[] } } }).template
        .spec;
      expect({ name: s.name, nodeSelector: pod.nodeSelector }).toEqual({
        name: s.name,
        nodeSelector: { "stagecraft.dev/workload-class": "data" },
      });
      expect(pod.tolerations).toContainEqual({
        key: "stagecraft.dev/workload-class",
        operator: "Equal",
        value: "data",
        effect: "NoSchedule",
      });
    }
  });
});
